-- note-due: global. A transition set a deadline (heartbeat, grace, inherited focus, typing):
-- the workspace must be swept by then, whichever node survives. Only ever lowers the due time.
-- Loaded after lower-due.lua.
--
-- KEYS[1]  the due index (zset workspace -> earliest deadline, ms)
-- ARGV[1]  workspace id
-- ARGV[2]  deadline (ms)
--
-- Returns 1.

note(ARGV[1], tonumber(ARGV[2]))
return 1
