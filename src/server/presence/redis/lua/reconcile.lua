-- reconcile: after Redis lost data or this node missed pub/sub messages. Someone local
-- listeners believe online with nothing live behind them (no connection, no grace) goes
-- offline with a version above the held one (published: every node converges). For the others
-- a newer summary is returned so this node can replay it to its own listeners.
-- Loaded after prelude.lua.
--
-- KEYS[1]  workspace base; ARGV[1] workspace id; ARGV[2] summary TTL (ms) (see prelude.lua)
-- ARGV[3…] pairs: user id, version the local listeners hold
--
-- Returns { changes, seen, now, { user, summary JSON, … } }.

local newer = {}
for i = 3, #ARGV, 2 do
  local user, held = ARGV[i], tonumber(ARGV[i + 1])
  local s = load(user)
  local live = redis.call('SCARD', BASE .. 'pc:' .. user) > 0 or redis.call('ZSCORE', BASE .. 'gr', user)
  if not live then
    if s.o == 1 or s.v <= held then
      if s.v < held then s.v = held end
      s.o = 1
      go_offline(user, s)
    elseif s.v > held then
      newer[#newer + 1] = user
      newer[#newer + 1] = redis.call('GET', BASE .. 's:' .. user)
    end
  elseif s.v > held then
    newer[#newer + 1] = user
    newer[#newer + 1] = redis.call('GET', BASE .. 's:' .. user)
  end
end
return { OUT, SEEN, NOW, newer }
