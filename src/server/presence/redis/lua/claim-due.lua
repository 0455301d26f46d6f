-- claim-due: global (the due-workspace index, never a workspace key). Claims due workspaces,
-- marking each "being swept until now + marker time" so that one node sweeps it at a time.
--
-- KEYS[1]  the due index: zset workspace -> earliest deadline (ms) or a sweeper's marker
-- ARGV[1]  most workspaces to claim
-- ARGV[2]  marker time (ms): how long the claim holds if the sweeper never settles it
--
-- Returns { workspace, marker, … }: marker as the decimal string settle-due.lua expects.

local T = redis.call('TIME')
local NOW = tonumber(T[1]) * 1000 + math.floor(tonumber(T[2]) / 1000)
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', NOW, 'LIMIT', 0, tonumber(ARGV[1]))
local out = {}
for i = 1, #due do
  -- A marker has a .5 fraction; real deadlines are whole milliseconds.
  local marker = NOW + tonumber(ARGV[2]) + 0.5
  redis.call('ZADD', KEYS[1], marker, due[i])
  out[#out + 1] = due[i]
  out[#out + 1] = string.format('%.1f', marker)
end
return out
