-- prelude: not a script on its own. script-sources.ts puts it in front of every workspace
-- script (register.lua, heartbeat.lua, disconnect.lua, report.lua, sweep.lua, idle.lua,
-- availability.lua, typing.lua, stop-typing.lua, expire-holder.lua, reconcile.lua) when it
-- loads them, so each of them is still ONE atomic script.
--
-- KEYS[1]  the workspace base `<prefix>{<ws>}:`: every key a workspace script touches starts
--          with it, so the script stays inside one Cluster slot
-- ARGV[1]  workspace id (goes into every published change)
-- ARGV[2]  summary TTL (ms): how long a person's summary outlives its last change
-- ARGV[3…] the script's own arguments (see its header)
--
-- Defines BASE, WS, SUMMARY_TTL, CHANNEL, NOW_US / NOW (Redis TIME, read once, so nodes with
-- skewed clocks agree), OUT (published changes) and SEEN (people who came online or went
-- offline, for last_seen_at), and the person-level rules below. A transition script returns
-- { OUT, SEEN, NOW, …its own results }.
--
-- Versions: max(stored + 1, TIME in microseconds): they only grow, also after a flush (the
-- clock has moved past every version issued before), and stay below 2^53. Numbers that may
-- exceed 14 significant digits are stored as strings (cjson would round them).
--
-- Layout (see keys.ts and README.md):
--   c:<conn>   hash  u=user n=holder f=focus ft=focus report time p=page json pt=page report time
--                    fi=1 while the focus is inherited (a reload within the grace) and not yet
--                    confirmed; d=idle since (ms) while the tab reports no input
--   pc:<user>  set   the person's live connections
--   n:<holder> set   connections held by that node incarnation
--   dl         zset  connection -> heartbeat deadline (ms)
--   gr         zset  person -> end of grace (ms)
--   ih         zset  connection -> time its inherited focus lapses unless the tab confirms it (ms)
--   ty         zset  '<conversation>|<user>' -> typing deadline (ms); tyc hash member -> connection
--   ct:<conn>  set   the typing members a connection holds (ended with it)
--   rh:<user>:<window>  string  heartbeat attempts of the person in one rate-limit window
--   s:<user>   string JSON summary {o, v, l, f, i, p, r, d, a, n}; what batch reads MGET (o=1
--              online; v = version; l = last seen; f = focus, i=1: f is inherited; p = page;
--              r = the latest report time (µs); d = idle since, only while every connection is
--              idle; a = an agent's availability, kept offline too; n = pages reported since the
--              visit began)
--   presence   the workspace's pub/sub channel

local BASE = KEYS[1]
local WS = ARGV[1]
local SUMMARY_TTL = tonumber(ARGV[2])
local CHANNEL = BASE .. 'presence'
local T = redis.call('TIME')
local NOW_US = tonumber(T[1]) * 1000000 + tonumber(T[2])
local NOW = math.floor(NOW_US / 1000)
local OUT = {}
local SEEN = {}

local function fmt(n) return string.format('%.0f', n) end

local function load(user)
  local raw = redis.call('GET', BASE .. 's:' .. user)
  if not raw then return { o = 0, v = 0, l = false, f = false, i = false, p = false, r = 0, d = false, a = false, n = 0 } end
  local s = cjson.decode(raw)
  return {
    o = tonumber(s.o) or 0, v = tonumber(s.v) or 0,
    l = (type(s.l) == 'string') and tonumber(s.l) or false,
    f = (type(s.f) == 'string') and s.f or false,
    i = (s.i == 1),
    p = (type(s.p) == 'string') and s.p or false,
    r = tonumber(s.r) or 0,
    d = (type(s.d) == 'string') and s.d or false,
    a = (type(s.a) == 'string') and s.a or false,
    n = tonumber(s.n) or 0
  }
end

local function save(user, s)
  local t = { o = s.o, v = fmt(s.v), r = fmt(s.r) }
  if s.l then t.l = fmt(s.l) end
  if s.f then t.f = s.f end
  if s.f and s.i then t.i = 1 end
  if s.p then t.p = s.p end
  if s.d then t.d = s.d end
  if s.a then t.a = s.a end
  if s.n and s.n > 0 then t.n = s.n end
  redis.call('SET', BASE .. 's:' .. user, cjson.encode(t), 'PX', SUMMARY_TTL)
end

-- A viewer-visible change: new version, stored, published, returned.
local function emit(user, s)
  s.v = math.max(s.v + 1, NOW_US)
  save(user, s)
  local msg = cjson.encode({
    k = 'c', w = WS, u = user, o = s.o, v = fmt(s.v),
    l = s.l and fmt(s.l) or nil, f = s.f or nil, i = (s.f and s.i) and 1 or nil, p = s.p or nil,
    d = s.d or nil, a = s.a or nil
  })
  redis.call('PUBLISH', CHANNEL, msg)
  OUT[#OUT + 1] = msg
end

-- Person-level focus: the most recently reported non-null focus among live connections
-- (and whether it is only inherited: no tab has confirmed it since the reload).
-- Person-level page: the most recently reported page among live connections.
-- Idle since: only when every live connection reports idle; the latest of their idle times.
local function derive(user)
  local conns = redis.call('SMEMBERS', BASE .. 'pc:' .. user)
  local f, ft, fi, p, pt = false, -1, false, false, -1
  local d, all_idle = false, #conns > 0
  for i = 1, #conns do
    local h = redis.call('HMGET', BASE .. 'c:' .. conns[i], 'f', 'ft', 'p', 'pt', 'fi', 'd')
    if h[6] then
      if not d or tonumber(h[6]) > tonumber(d) then d = h[6] end
    else
      all_idle = false
    end
    if h[1] then
      local t = tonumber(h[2]) or 0
      if t > ft then f, ft, fi = h[1], t, (h[5] and true or false) end
    end
    if h[3] then
      local t = tonumber(h[4]) or 0
      if t > pt then p, pt = h[3], t end
    end
  end
  if not all_idle then d = false end
  return f, p, fi, d
end

-- After the person's connections changed (some remain): emit if focus/page moved. Whether the
-- focus is inherited is not visible to viewers (no event), but delivery reads it: it is saved.
local function refresh(user, s)
  local f, p, fi, d = derive(user)
  local was = s.i
  s.i = fi
  if f ~= s.f or p ~= s.p or d ~= s.d then
    s.f, s.p, s.d = f, p, d
    emit(user, s)
    return true
  end
  if was ~= fi then save(user, s) end
  return false
end

-- own: { focus, page } of the person's only connection when the caller just wrote it (a first
-- connection): nothing to read back. Otherwise focus and page are derived from the connections.
local function go_online(user, s, own)
  s.o = 1
  s.n = 0
  s.l = NOW
  if own then
    s.f, s.p, s.i, s.d = own[1], own[2], false, false
  else
    s.f, s.p, s.i, s.d = derive(user)
  end
  emit(user, s)
  SEEN[#SEEN + 1] = user
end

local function go_offline(user, s)
  if s.o == 0 then return end
  s.o = 0
  s.l = NOW
  s.f, s.p, s.i, s.d = false, false, false, false
  emit(user, s)
  SEEN[#SEEN + 1] = user
end

-- Typing: ty zset '<conv>|<user>' -> deadline (ms); tyc hash member -> the connection that last
-- typed it; ct:<conn> set of the members a connection typed. Only starts and ends are published.
local function typing_publish(member, on)
  local sep = string.find(member, '|', 1, true)
  if not sep then return end
  redis.call('PUBLISH', CHANNEL, cjson.encode({
    k = 't', w = WS, cv = string.sub(member, 1, sep - 1), u = string.sub(member, sep + 1), t = on
  }))
end

local function typing_end(member)
  if redis.call('ZREM', BASE .. 'ty', member) == 0 then return false end
  local c = redis.call('HGET', BASE .. 'tyc', member)
  redis.call('HDEL', BASE .. 'tyc', member)
  if c then redis.call('SREM', BASE .. 'ct:' .. c, member) end
  typing_publish(member, 0)
  return true
end

-- A connection that goes takes its typing with it, unless another tab of the person typed since.
local function typing_end_conn(c)
  local members = redis.call('SMEMBERS', BASE .. 'ct:' .. c)
  redis.call('DEL', BASE .. 'ct:' .. c)
  for i = 1, #members do
    if redis.call('HGET', BASE .. 'tyc', members[i]) == c then typing_end(members[i]) end
  end
end

-- Removes a connection from every set; returns its person, or false if it was unknown.
local function remove_conn(c)
  typing_end_conn(c)
  local key = BASE .. 'c:' .. c
  local h = redis.call('HMGET', key, 'u', 'n')
  redis.call('ZREM', BASE .. 'dl', c)
  redis.call('ZREM', BASE .. 'ih', c)
  if not h[1] then return false end
  redis.call('DEL', key)
  redis.call('SREM', BASE .. 'pc:' .. h[1], c)
  if h[2] then redis.call('SREM', BASE .. 'n:' .. h[2], c) end
  return h[1]
end

-- After removing one of the person's connections. grace > 0: the last one starts the grace
-- (nothing visible changes now; returns its end). Otherwise offline at once.
local function after_removal(user, grace)
  local s = load(user)
  if redis.call('SCARD', BASE .. 'pc:' .. user) > 0 then
    refresh(user, s)
    return false
  end
  if grace > 0 and s.o == 1 then
    local at = NOW + grace
    redis.call('ZADD', BASE .. 'gr', at, user)
    return at
  end
  redis.call('ZREM', BASE .. 'gr', user)
  go_offline(user, s)
  return false
end

local function notify_expired(conns)
  if #conns > 0 then
    redis.call('PUBLISH', CHANNEL, cjson.encode({ k = 'x', c = conns }))
  end
end
