-- expire-holder: every connection a dead node incarnation held in this workspace, at once. A
-- connection that another incarnation registered since (its 'n' moved) is left alone.
-- Loaded after prelude.lua.
--
-- KEYS[1]  workspace base; ARGV[1] workspace id; ARGV[2] summary TTL (ms) (see prelude.lua)
-- ARGV[3]  holder: the dead incarnation
--
-- Returns { changes, seen, now, number of connections expired }.

local holder = ARGV[3]
local set = BASE .. 'n:' .. holder
local conns = redis.call('SMEMBERS', set)
local dead, users, seen_user = {}, {}, {}
for i = 1, #conns do
  if redis.call('HGET', BASE .. 'c:' .. conns[i], 'n') == holder then
    local user = remove_conn(conns[i])
    if user then
      dead[#dead + 1] = conns[i]
      if not seen_user[user] then seen_user[user] = true; users[#users + 1] = user end
    end
  end
end
redis.call('DEL', set)
notify_expired(dead)
for i = 1, #users do after_removal(users[i], 0) end
return { OUT, SEEN, NOW, #dead }
