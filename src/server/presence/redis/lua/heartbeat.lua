-- heartbeat: extends a connection's heartbeat deadline (never shortens it) and its person's
-- summary TTL. The rate limit counts the caller's attempts in `rh:<user>:<window>`, in the same
-- round trip; nothing else is written for an unknown connection or someone else's.
-- Loaded after prelude.lua.
--
-- KEYS[1]  workspace base; ARGV[1] workspace id; ARGV[2] summary TTL (ms) (see prelude.lua)
-- ARGV[3]  connection id
-- ARGV[4]  heartbeat timeout (ms)
-- ARGV[5]  expected owner's user id ('' = any)
-- ARGV[6]  the owner's rate limit: calls per window (0 = none; only with an expected owner)
-- ARGV[7]  rate-limit window (ms)
--
-- Returns 1; 0 when the connection is unknown or not the expected owner's; -1 when the caller
-- is over the limit (nothing extended). Never a change.

local conn, hb, expected = ARGV[3], tonumber(ARGV[4]), ARGV[5]
local limit, window = tonumber(ARGV[6] or '0'), tonumber(ARGV[7] or '0')
if limit > 0 and expected ~= '' then
  local rk = BASE .. 'rh:' .. expected .. ':' .. math.floor(NOW / window)
  local n = redis.call('INCR', rk)
  if n == 1 then redis.call('PEXPIRE', rk, window) end
  if n > limit then return -1 end
end
local user = redis.call('HGET', BASE .. 'c:' .. conn, 'u')
if not user then return 0 end
if expected ~= '' and user ~= expected then return 0 end
redis.call('ZADD', BASE .. 'dl', 'XX', 'GT', NOW + hb, conn)
redis.call('PEXPIRE', BASE .. 's:' .. user, SUMMARY_TTL)
return 1
