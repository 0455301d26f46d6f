-- register: a new connection, or a node registering again one it holds (after Redis lost it,
-- or after the node's lease lapsed). A reconnect within the person's grace inherits the
-- person's focus and page, so a reload shows nothing at all. The focus is only lent: the tab's
-- own first focus report replaces it, and if none comes within the inherited focus time the
-- sweep drops it (no tab is known to show that conversation any more).
-- Loaded after prelude.lua.
--
-- KEYS[1]  workspace base; ARGV[1] workspace id; ARGV[2] summary TTL (ms) (see prelude.lua)
-- ARGV[3]  connection id
-- ARGV[4]  user id
-- ARGV[5]  holder: the registering node incarnation
-- ARGV[6]  heartbeat timeout (ms)
-- ARGV[7]  focus ('' = none)
-- ARGV[8]  focus report time (µs, decimal string; '0' = never confirmed)
-- ARGV[9]  page JSON ('' = none)
-- ARGV[10] page report time (µs, decimal string)
-- ARGV[11] inherited focus time (ms)
-- ARGV[12…] people of the workspace whose summaries to answer as well (none = no read)
--
-- Returns { changes, seen, now, due } or, with people to read, { changes, seen, now, due,
-- summaries }: due is the connection's next due time (its heartbeat deadline, or the lapse of an
-- inherited focus if sooner); summaries are those people's `s:` values after this registration,
-- in ARGV order (nil where none), as a batch read would MGET them. An error when the connection
-- is known as another person's.

local conn, user, holder, hb = ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6])
local key = BASE .. 'c:' .. conn
local deadline = NOW + hb
local existing = redis.call('HMGET', key, 'u', 'n')
if existing[1] then
  if existing[1] ~= user then return redis.error_reply('ERR presence: connection belongs to another person') end
  if existing[2] ~= holder then
    if existing[2] then redis.call('SREM', BASE .. 'n:' .. existing[2], conn) end
    redis.call('HSET', key, 'n', holder)
    redis.call('SADD', BASE .. 'n:' .. holder, conn)
  end
  redis.call('ZADD', BASE .. 'dl', 'GT', deadline, conn)
  return { OUT, SEEN, NOW, deadline }
end
local pc = BASE .. 'pc:' .. user
local had = redis.call('SCARD', pc)
local graced = redis.call('ZSCORE', BASE .. 'gr', user)
local s = load(user)
local f, ft, p, pt = ARGV[7], ARGV[8], ARGV[9], ARGV[10]
local lend = tonumber(ARGV[11] or '0')
local inherited = false
if graced and had == 0 then
  if f == '' and s.f then f, ft, inherited = s.f, fmt(s.r), true end
  if p == '' and s.p then p, pt = s.p, fmt(s.r) end
end
redis.call('HSET', key, 'u', user, 'n', holder)
if f ~= '' then redis.call('HSET', key, 'f', f, 'ft', ft) end
local due = deadline
if inherited then
  redis.call('HSET', key, 'fi', '1')
  redis.call('ZADD', BASE .. 'ih', NOW + lend, conn)
  due = math.min(due, NOW + lend)
end
if p ~= '' then redis.call('HSET', key, 'p', p, 'pt', pt) end
redis.call('SADD', pc, conn)
redis.call('SADD', BASE .. 'n:' .. holder, conn)
redis.call('ZADD', BASE .. 'dl', deadline, conn)
if graced then redis.call('ZREM', BASE .. 'gr', user) end
if had == 0 and not graced and s.o == 0 then
  -- Its first connection, not inherited (no grace): what derive would read back is f and p.
  go_online(user, s, { f ~= '' and f, p ~= '' and p })
else
  refresh(user, s)
end
if #ARGV < 12 then return { OUT, SEEN, NOW, due } end
local summaries = {}
for i = 12, #ARGV do summaries[#summaries + 1] = BASE .. 's:' .. ARGV[i] end
return { OUT, SEEN, NOW, due, redis.call('MGET', unpack(summaries)) }
