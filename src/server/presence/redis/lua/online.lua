-- online: read only, no prelude. The people behind live connections (dl) and those within
-- their grace (gr), each with their summary. One script so that the whole list is one round
-- trip (a pipeline would need one trip for the connections, another for the people).
--
-- KEYS[1]  workspace base `<prefix>{<ws>}:`
-- ARGV[1]  most people to return
-- ARGV[2]  most connections (and most graced people) to look at
--
-- Returns { user, summary JSON, user, summary JSON, … }.

local BASE = KEYS[1]
local limit, scan = tonumber(ARGV[1]), tonumber(ARGV[2])
local out, seen, n = {}, {}, 0
local function add(user)
  if not user or seen[user] or n >= limit then return end
  seen[user] = true
  local raw = redis.call('GET', BASE .. 's:' .. user)
  if raw then
    n = n + 1
    out[#out + 1] = user
    out[#out + 1] = raw
  end
end
local conns = redis.call('ZRANGE', BASE .. 'dl', 0, scan - 1)
for i = 1, #conns do add(redis.call('HGET', BASE .. 'c:' .. conns[i], 'u')) end
local graced = redis.call('ZRANGE', BASE .. 'gr', 0, scan - 1)
for i = 1, #graced do add(graced[i]) end
return out
