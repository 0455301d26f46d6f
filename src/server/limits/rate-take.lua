-- rate-take: one call counted against a fixed-window rate limit (rate-limiter.ts).
--
-- KEYS[1]  the window's counter `<prefix>rate:<key>:<window>`
-- ARGV[1]  window length (ms): the counter's expiry, set on the window's first call
--
-- Returns the number of calls in the window, this one included.

local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n
