-- availability: an agent's availability changed. It lives in the summary, offline too, so
-- every later change carries it; not stored when there is no summary.
-- Loaded after prelude.lua.
--
-- KEYS[1]  workspace base; ARGV[1] workspace id; ARGV[2] summary TTL (ms) (see prelude.lua)
-- ARGV[3]  user id
-- ARGV[4]  availability
--
-- Returns { changes, seen, now }.

local user, a = ARGV[3], ARGV[4]
-- No summary (Redis lost it, or the person's connections are not registered again yet): a
-- change built from nothing would say offline, a flicker for every viewer. The agent's next
-- stream gives it again, and reads take Postgres's value meanwhile.
if redis.call('EXISTS', BASE .. 's:' .. user) == 0 then return { OUT, SEEN, NOW } end
local s = load(user)
if s.a ~= a then
  s.a = a
  emit(user, s)
end
return { OUT, SEEN, NOW }
