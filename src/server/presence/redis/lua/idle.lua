-- idle: the connection's tab had no input for the client's idle time, or has input again. The
-- person is idle only when all their connections are.
-- Loaded after prelude.lua.
--
-- KEYS[1]  workspace base; ARGV[1] workspace id; ARGV[2] summary TTL (ms) (see prelude.lua)
-- ARGV[3]  connection id
-- ARGV[4]  '1' idle, '0' active again
--
-- Returns nil when the connection is unknown, else { changes, seen, now }.

local conn, on = ARGV[3], ARGV[4] == '1'
local key = BASE .. 'c:' .. conn
local user = redis.call('HGET', key, 'u')
if not user then return false end
local had = redis.call('HGET', key, 'd')
if on and not had then
  redis.call('HSET', key, 'd', fmt(NOW))
elseif not on and had then
  redis.call('HDEL', key, 'd')
end
refresh(user, load(user))
return { OUT, SEEN, NOW }
