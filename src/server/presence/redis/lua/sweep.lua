-- sweep: claims what is due in the workspace, atomically, so each expired connection and each
-- ended grace is handled by exactly one node. Connections past their heartbeat deadline expire
-- (an 'x' notice names them; their person goes offline at once if it was the last one: the
-- timeout already was the wait). Inherited focus that no tab confirmed in time is dropped.
-- Typing past its deadline ends.
-- Loaded after prelude.lua.
--
-- KEYS[1]  workspace base; ARGV[1] workspace id; ARGV[2] summary TTL (ms) (see prelude.lua)
-- ARGV[3]  most items claimed per kind (expiries, graces, inherited focus, typing)
--
-- Returns { changes, seen, now, next }: next is the workspace's next due time (ms), now when a
-- kind had more than the batch, nil when nothing is left.

local limit = tonumber(ARGV[3])
local expired = redis.call('ZRANGEBYSCORE', BASE .. 'dl', '-inf', NOW, 'LIMIT', 0, limit)
local dead, users, seen_user = {}, {}, {}
for i = 1, #expired do
  local user = remove_conn(expired[i])
  if user then
    dead[#dead + 1] = expired[i]
    if not seen_user[user] then seen_user[user] = true; users[#users + 1] = user end
  end
end
notify_expired(dead)
for i = 1, #users do after_removal(users[i], 0) end
local ended = redis.call('ZRANGEBYSCORE', BASE .. 'gr', '-inf', NOW, 'LIMIT', 0, limit)
for i = 1, #ended do
  redis.call('ZREM', BASE .. 'gr', ended[i])
  if redis.call('SCARD', BASE .. 'pc:' .. ended[i]) == 0 then go_offline(ended[i], load(ended[i])) end
end
local lapsed = redis.call('ZRANGEBYSCORE', BASE .. 'ih', '-inf', NOW, 'LIMIT', 0, limit)
local lent, lent_user = {}, {}
for i = 1, #lapsed do
  redis.call('ZREM', BASE .. 'ih', lapsed[i])
  local key = BASE .. 'c:' .. lapsed[i]
  local h = redis.call('HMGET', key, 'u', 'fi')
  if h[1] and h[2] then
    redis.call('HDEL', key, 'f', 'ft', 'fi')
    if not lent_user[h[1]] then lent_user[h[1]] = true; lent[#lent + 1] = h[1] end
  end
end
for i = 1, #lent do refresh(lent[i], load(lent[i])) end
local typed = redis.call('ZRANGEBYSCORE', BASE .. 'ty', '-inf', NOW, 'LIMIT', 0, limit)
for i = 1, #typed do typing_end(typed[i]) end
local nxt = false
if #expired >= limit or #ended >= limit or #lapsed >= limit or #typed >= limit then
  nxt = NOW
else
  local a = redis.call('ZRANGE', BASE .. 'dl', 0, 0, 'WITHSCORES')
  local b = redis.call('ZRANGE', BASE .. 'gr', 0, 0, 'WITHSCORES')
  local c = redis.call('ZRANGE', BASE .. 'ih', 0, 0, 'WITHSCORES')
  if a[2] then nxt = tonumber(a[2]) end
  if b[2] and (not nxt or tonumber(b[2]) < nxt) then nxt = tonumber(b[2]) end
  if c[2] and (not nxt or tonumber(c[2]) < nxt) then nxt = tonumber(c[2]) end
  local d = redis.call('ZRANGE', BASE .. 'ty', 0, 0, 'WITHSCORES')
  if d[2] and (not nxt or tonumber(d[2]) < nxt) then nxt = tonumber(d[2]) end
end
return { OUT, SEEN, NOW, nxt }
