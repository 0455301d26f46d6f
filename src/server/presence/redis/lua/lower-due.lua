-- lower-due: not a script on its own. script-sources.ts puts it in front of note-due.lua
-- and settle-due.lua when it loads them. Defines note(ws, d): lowers the workspace's due time
-- in KEYS[1] (the due index) to d (ms); a sweeper's marker (a .5 score) is replaced by
-- min(marker, d), so the claim ends and the deadline stands.

local function note(ws, d)
  local s = redis.call('ZSCORE', KEYS[1], ws)
  if not s then redis.call('ZADD', KEYS[1], d, ws); return end
  s = tonumber(s)
  if s % 1 ~= 0 then
    redis.call('ZADD', KEYS[1], math.min(math.floor(s), d), ws)
  elseif d < s then
    redis.call('ZADD', KEYS[1], d, ws)
  end
end
