-- disconnect: a connection's stream closed. The person's last connection starts the grace
-- (nothing visible changes now); otherwise focus and page are derived again from the others.
-- Loaded after prelude.lua.
--
-- KEYS[1]  workspace base; ARGV[1] workspace id; ARGV[2] summary TTL (ms) (see prelude.lua)
-- ARGV[3]  connection id
-- ARGV[4]  grace (ms); 0 = offline at once
--
-- Returns { changes, seen, now, graceEnd, user }: graceEnd (ms) nil unless a grace started;
-- user nil when the connection was unknown.

local conn, grace = ARGV[3], tonumber(ARGV[4])
local user = remove_conn(conn)
if not user then return { OUT, SEEN, NOW, false, false } end
local at = after_removal(user, grace)
return { OUT, SEEN, NOW, at, user }
