-- report: the focus or page of one connection. A report through another node than the holder
-- is also published as an internal 'r' message, so the holder's in-memory copy stays right for
-- re-registration.
-- Loaded after prelude.lua.
--
-- KEYS[1]  workspace base; ARGV[1] workspace id; ARGV[2] summary TTL (ms) (see prelude.lua)
-- ARGV[3]  connection id
-- ARGV[4]  field: 'f' (focus) or 'p' (page)
-- ARGV[5]  value: conversation id or page JSON ('' = blur / none)
-- ARGV[6]  via: the calling node incarnation's holder id
--
-- Returns nil when the connection is unknown, else { changes, seen, now, reportTime } (µs,
-- decimal string).

local conn, field, value, via = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local key = BASE .. 'c:' .. conn
local h = redis.call('HMGET', key, 'u', 'n')
if not h[1] then return false end
local user = h[1]
local s = load(user)
local rt = math.max(NOW_US, s.r + 1)
s.r = rt
if value == '' then redis.call('HDEL', key, field) else redis.call('HSET', key, field, value) end
redis.call('HSET', key, field .. 't', fmt(rt))
if field == 'p' and value ~= '' then s.n = s.n + 1 end
if field == 'f' then
  -- The tab said what it shows: nothing it holds is inherited any more.
  redis.call('HDEL', key, 'fi')
  redis.call('ZREM', BASE .. 'ih', conn)
end
if not refresh(user, s) then save(user, s) end
if h[2] and h[2] ~= via then
  local msg = { k = 'r', c = conn, t = fmt(rt) }
  msg[field] = value
  redis.call('PUBLISH', CHANNEL, cjson.encode(msg))
end
return { OUT, SEEN, NOW, fmt(rt) }
