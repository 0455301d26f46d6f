-- stop-typing: the person sent a message: their typing in the conversation ends now.
-- Loaded after prelude.lua.
--
-- KEYS[1]  workspace base; ARGV[1] workspace id; ARGV[2] summary TTL (ms) (see prelude.lua)
-- ARGV[3]  conversation id
-- ARGV[4]  user id
--
-- Returns { changes, seen, now, 1 if typing ended (0 if there was none) }.

local ended = typing_end(ARGV[3] .. '|' .. ARGV[4])
return { OUT, SEEN, NOW, ended and 1 or 0 }
