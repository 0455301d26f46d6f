-- settle-due: global. After a sweep of a claimed workspace: if the marker is untouched the
-- sweep's answer stands (set the next due time, or remove the workspace); if someone noted a
-- deadline meanwhile, only lower it.
-- Loaded after lower-due.lua.
--
-- KEYS[1]  the due index (zset workspace -> earliest deadline, ms)
-- ARGV[1]  workspace id
-- ARGV[2]  the marker it was claimed with (as claim-due.lua returned it)
-- ARGV[3]  next due time (ms; '' = nothing left)
--
-- Returns 1.

local s = redis.call('ZSCORE', KEYS[1], ARGV[1])
local nx = (ARGV[3] ~= '') and tonumber(ARGV[3]) or false
if s and tonumber(s) == tonumber(ARGV[2]) then
  if nx then redis.call('ZADD', KEYS[1], nx, ARGV[1]) else redis.call('ZREM', KEYS[1], ARGV[1]) end
elseif nx then
  note(ARGV[1], nx)
end
return 1
