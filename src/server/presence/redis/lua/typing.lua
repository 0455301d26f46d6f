-- typing: the connection's person types in a conversation until ttl ms from now (Redis
-- clock); a repeat only moves the deadline. Only the start is published.
-- Loaded after prelude.lua.
--
-- KEYS[1]  workspace base; ARGV[1] workspace id; ARGV[2] summary TTL (ms) (see prelude.lua)
-- ARGV[3]  connection id
-- ARGV[4]  conversation id
-- ARGV[5]  ttl (ms)
--
-- Returns nil when the connection is unknown, else { changes, seen, now, deadline (ms),
-- 1 if typing started (0 for a repeat), user }.

local conn, conv, ttl = ARGV[3], ARGV[4], tonumber(ARGV[5])
local user = redis.call('HGET', BASE .. 'c:' .. conn, 'u')
if not user then return false end
local member = conv .. '|' .. user
local started = not redis.call('ZSCORE', BASE .. 'ty', member)
local at = NOW + ttl
redis.call('ZADD', BASE .. 'ty', at, member)
local before = redis.call('HGET', BASE .. 'tyc', member)
if before and before ~= conn then redis.call('SREM', BASE .. 'ct:' .. before, member) end
redis.call('HSET', BASE .. 'tyc', member, conn)
redis.call('SADD', BASE .. 'ct:' .. conn, member)
if started then typing_publish(member, 1) end
return { OUT, SEEN, NOW, at, started and 1 or 0, user }
