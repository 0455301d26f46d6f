/**
 * The Lua scripts of the Redis backend. Each transition is ONE script, so it is atomic: the
 * registry, the person's summary, the deadline sets and the PUBLISH of the resulting change all
 * happen together, and publish order equals script order (listeners see versions increase).
 *
 * Workspace scripts get KEYS[1] = `<prefix>{<ws>}:` (every key they touch starts with it, so
 * they stay inside one Cluster slot), ARGV[1] = workspace id, ARGV[2] = summary TTL (ms).
 * Global scripts (the due-workspace index) touch one key each, never a workspace key.
 *
 * Clock: Redis TIME, read once per script, so nodes with skewed clocks agree.
 * Versions: max(stored + 1, TIME in microseconds): they only grow, also after a flush
 * (the clock has moved past every version issued before), and stay below 2^53.
 * Numbers that may exceed 14 significant digits are stored as strings (cjson would round them).
 *
 * Layout (see keys.ts and README.md):
 *   c:<conn>   hash  u=user n=holder f=focus ft=focus report time p=page json pt=page report time
 *              fi=1 while the focus is inherited (a reload within the grace) and not yet confirmed
 *   pc:<user>  set   the person's live connections
 *   n:<holder> set   connections held by that node incarnation
 *   dl         zset  connection -> heartbeat deadline (ms)
 *   gr         zset  person -> end of grace (ms)
 *   ih         zset  connection -> time its inherited focus lapses unless the tab confirms it (ms)
 *   ty         zset  '<conversation>|<user>' -> typing deadline (ms); tyc hash member -> connection;
 *   ct:<conn>  set   the typing members a connection holds (ended with it)
 *              d=idle since (ms) while the tab reports no input
 *   s:<user>   string JSON summary {o, v, l, f, i, p, r, d, a, n}; what batch reads MGET (i=1: f is
 *              inherited; d = idle since, only while every connection is idle; a = an agent's
 *              availability, kept offline too; n = pages reported since the visit began)
 *   presence   the workspace's pub/sub channel
 */

const PRELUDE = `
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

local function go_online(user, s)
  s.o = 1
  s.n = 0
  s.l = NOW
  s.f, s.p, s.i, s.d = derive(user)
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
`;

/**
 * register: a new connection (or a node re-registering one it holds, after Redis lost it or
 * after the node's lease lapsed). ARGV[3..11] = conn, user, holder, heartbeatTimeoutMs,
 * focus, focusTime, page, pageTime ('' = none), inheritedFocusMs. A reconnect within the
 * person's grace inherits the person's focus and page, so a reload shows nothing at all. The
 * focus is only lent: the tab's own first focus report replaces it, and if none comes within
 * inheritedFocusMs the sweep drops it (no tab is known to show that conversation any more).
 * Returns { changes, seen, now, next due time (heartbeat deadline or inherited focus lapse) }.
 */
const REGISTER = `
local conn, user, holder, hb = ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6])
local key = BASE .. 'c:' .. conn
local deadline = NOW + hb
local existing = redis.call('HMGET', key, 'u', 'n')
if existing[1] then
  if existing[1] ~= user then return redis.error_reply('ERR presence: connection belongs to another person') end
  if existing[2] ~= holder then
    if existing[2] then redis.call('SREM', BASE .. 'n:' .. existing[2], conn) end
    redis.call('HSET', key, 'n', holder)
    redis.call('SADD', BASE .. 'n:' .. holder, conn)
  end
  redis.call('ZADD', BASE .. 'dl', 'GT', deadline, conn)
  return { OUT, SEEN, NOW, deadline }
end
local pc = BASE .. 'pc:' .. user
local had = redis.call('SCARD', pc)
local graced = redis.call('ZSCORE', BASE .. 'gr', user)
local s = load(user)
local f, ft, p, pt = ARGV[7], ARGV[8], ARGV[9], ARGV[10]
local lend = tonumber(ARGV[11] or '0')
local inherited = false
if graced and had == 0 then
  if f == '' and s.f then f, ft, inherited = s.f, fmt(s.r), true end
  if p == '' and s.p then p, pt = s.p, fmt(s.r) end
end
redis.call('HSET', key, 'u', user, 'n', holder)
if f ~= '' then redis.call('HSET', key, 'f', f, 'ft', ft) end
local due = deadline
if inherited then
  redis.call('HSET', key, 'fi', '1')
  redis.call('ZADD', BASE .. 'ih', NOW + lend, conn)
  due = math.min(due, NOW + lend)
end
if p ~= '' then redis.call('HSET', key, 'p', p, 'pt', pt) end
redis.call('SADD', pc, conn)
redis.call('SADD', BASE .. 'n:' .. holder, conn)
redis.call('ZADD', BASE .. 'dl', deadline, conn)
if graced then redis.call('ZREM', BASE .. 'gr', user) end
if had == 0 and not graced and s.o == 0 then
  go_online(user, s)
else
  refresh(user, s)
end
return { OUT, SEEN, NOW, due }
`;

/**
 * heartbeat: ARGV[3..5] = conn, heartbeatTimeoutMs, expected owner ('' = any); ARGV[6..7] = the
 * owner's rate limit (calls per window, 0 = none) and window (ms). The limit counts the caller's
 * attempts in \`rh:<user>:<window>\`, in the same round trip; nothing else is written for an
 * unknown connection or someone else's. Returns 1, 0 when the connection is unknown or not the
 * expected owner's, -1 when the caller is over the limit (nothing extended).
 */
const HEARTBEAT = `
local conn, hb, expected = ARGV[3], tonumber(ARGV[4]), ARGV[5]
local limit, window = tonumber(ARGV[6] or '0'), tonumber(ARGV[7] or '0')
if limit > 0 and expected ~= '' then
  local rk = BASE .. 'rh:' .. expected .. ':' .. math.floor(NOW / window)
  local n = redis.call('INCR', rk)
  if n == 1 then redis.call('PEXPIRE', rk, window) end
  if n > limit then return -1 end
end
local user = redis.call('HGET', BASE .. 'c:' .. conn, 'u')
if not user then return 0 end
if expected ~= '' and user ~= expected then return 0 end
redis.call('ZADD', BASE .. 'dl', 'XX', 'GT', NOW + hb, conn)
redis.call('PEXPIRE', BASE .. 's:' .. user, SUMMARY_TTL)
return 1
`;

/**
 * disconnect: ARGV[3..4] = conn, graceMs. Returns { changes, seen, now, graceEnd|nil, user|nil }.
 */
const DISCONNECT = `
local conn, grace = ARGV[3], tonumber(ARGV[4])
local user = remove_conn(conn)
if not user then return { OUT, SEEN, NOW, false, false } end
local at = after_removal(user, grace)
return { OUT, SEEN, NOW, at, user }
`;

/**
 * report: focus or page of one connection. ARGV[3..6] = conn, field ('f' | 'p'), value ('' = blur),
 * via (the calling node's holder id). A report through another node than the holder is also
 * published as an internal 'r' message, so the holder's in-memory copy stays right for
 * re-registration. Returns nil when the connection is unknown, else { changes, seen, now, reportTime }.
 */
const REPORT = `
local conn, field, value, via = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local key = BASE .. 'c:' .. conn
local h = redis.call('HMGET', key, 'u', 'n')
if not h[1] then return false end
local user = h[1]
local s = load(user)
local rt = math.max(NOW_US, s.r + 1)
s.r = rt
if value == '' then redis.call('HDEL', key, field) else redis.call('HSET', key, field, value) end
redis.call('HSET', key, field .. 't', fmt(rt))
if field == 'p' and value ~= '' then s.n = s.n + 1 end
if field == 'f' then
  -- The tab said what it shows: nothing it holds is inherited any more.
  redis.call('HDEL', key, 'fi')
  redis.call('ZREM', BASE .. 'ih', conn)
end
if not refresh(user, s) then save(user, s) end
if h[2] and h[2] ~= via then
  local msg = { k = 'r', c = conn, t = fmt(rt) }
  msg[field] = value
  redis.call('PUBLISH', CHANNEL, cjson.encode(msg))
end
return { OUT, SEEN, NOW, fmt(rt) }
`;

/**
 * sweep: claims what is due in the workspace, atomically, so each expired connection and each
 * ended grace is handled by exactly one node. Connections past their heartbeat deadline expire
 * (an 'x' notice names them; their person goes offline at once if it was the last one: the
 * timeout already was the wait). Inherited focus that no tab confirmed in time is dropped.
 * ARGV[3] = max items per kind.
 * Returns { changes, seen, now, nextDeadline|nil }.
 */
const SWEEP = `
local limit = tonumber(ARGV[3])
local expired = redis.call('ZRANGEBYSCORE', BASE .. 'dl', '-inf', NOW, 'LIMIT', 0, limit)
local dead, users, seen_user = {}, {}, {}
for i = 1, #expired do
  local user = remove_conn(expired[i])
  if user then
    dead[#dead + 1] = expired[i]
    if not seen_user[user] then seen_user[user] = true; users[#users + 1] = user end
  end
end
notify_expired(dead)
for i = 1, #users do after_removal(users[i], 0) end
local ended = redis.call('ZRANGEBYSCORE', BASE .. 'gr', '-inf', NOW, 'LIMIT', 0, limit)
for i = 1, #ended do
  redis.call('ZREM', BASE .. 'gr', ended[i])
  if redis.call('SCARD', BASE .. 'pc:' .. ended[i]) == 0 then go_offline(ended[i], load(ended[i])) end
end
local lapsed = redis.call('ZRANGEBYSCORE', BASE .. 'ih', '-inf', NOW, 'LIMIT', 0, limit)
local lent, lent_user = {}, {}
for i = 1, #lapsed do
  redis.call('ZREM', BASE .. 'ih', lapsed[i])
  local key = BASE .. 'c:' .. lapsed[i]
  local h = redis.call('HMGET', key, 'u', 'fi')
  if h[1] and h[2] then
    redis.call('HDEL', key, 'f', 'ft', 'fi')
    if not lent_user[h[1]] then lent_user[h[1]] = true; lent[#lent + 1] = h[1] end
  end
end
for i = 1, #lent do refresh(lent[i], load(lent[i])) end
local typed = redis.call('ZRANGEBYSCORE', BASE .. 'ty', '-inf', NOW, 'LIMIT', 0, limit)
for i = 1, #typed do typing_end(typed[i]) end
local nxt = false
if #expired >= limit or #ended >= limit or #lapsed >= limit or #typed >= limit then
  nxt = NOW
else
  local a = redis.call('ZRANGE', BASE .. 'dl', 0, 0, 'WITHSCORES')
  local b = redis.call('ZRANGE', BASE .. 'gr', 0, 0, 'WITHSCORES')
  local c = redis.call('ZRANGE', BASE .. 'ih', 0, 0, 'WITHSCORES')
  if a[2] then nxt = tonumber(a[2]) end
  if b[2] and (not nxt or tonumber(b[2]) < nxt) then nxt = tonumber(b[2]) end
  if c[2] and (not nxt or tonumber(c[2]) < nxt) then nxt = tonumber(c[2]) end
  local d = redis.call('ZRANGE', BASE .. 'ty', 0, 0, 'WITHSCORES')
  if d[2] and (not nxt or tonumber(d[2]) < nxt) then nxt = tonumber(d[2]) end
end
return { OUT, SEEN, NOW, nxt }
`;

/**
 * idle: the connection's tab had no input for the client's idle time (ARGV[4] = '1'), or has
 * input again ('0'). ARGV[3] = conn. The person is idle only when all their connections are.
 * Nil when the connection is unknown. Returns { changes, seen, now }.
 */
const IDLE = `
local conn, on = ARGV[3], ARGV[4] == '1'
local key = BASE .. 'c:' .. conn
local user = redis.call('HGET', key, 'u')
if not user then return false end
local had = redis.call('HGET', key, 'd')
if on and not had then
  redis.call('HSET', key, 'd', fmt(NOW))
elseif not on and had then
  redis.call('HDEL', key, 'd')
end
refresh(user, load(user))
return { OUT, SEEN, NOW }
`;

/**
 * availability: an agent's availability changed (ARGV[3] = user, ARGV[4] = value). It lives in
 * the summary, offline too, so every later change carries it; not stored when there is no
 * summary. Returns { changes, seen, now }.
 */
const AVAILABILITY = `
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
`;

/**
 * typing: the connection's person types in a conversation until ARGV[5] ms from now (Redis clock);
 * a repeat only moves the deadline. ARGV[3..5] = conn, conversation, ttlMs. Nil when the
 * connection is unknown. Returns { changes, seen, now, deadline, 1 if it started, user }.
 */
const TYPING = `
local conn, conv, ttl = ARGV[3], ARGV[4], tonumber(ARGV[5])
local user = redis.call('HGET', BASE .. 'c:' .. conn, 'u')
if not user then return false end
local member = conv .. '|' .. user
local started = not redis.call('ZSCORE', BASE .. 'ty', member)
local at = NOW + ttl
redis.call('ZADD', BASE .. 'ty', at, member)
local before = redis.call('HGET', BASE .. 'tyc', member)
if before and before ~= conn then redis.call('SREM', BASE .. 'ct:' .. before, member) end
redis.call('HSET', BASE .. 'tyc', member, conn)
redis.call('SADD', BASE .. 'ct:' .. conn, member)
if started then typing_publish(member, 1) end
return { OUT, SEEN, NOW, at, started and 1 or 0, user }
`;

/**
 * stop_typing: the person sent a message. ARGV[3..4] = conversation, user.
 * Returns { changes, seen, now, 1 if typing ended }.
 */
const STOP_TYPING = `
local ended = typing_end(ARGV[3] .. '|' .. ARGV[4])
return { OUT, SEEN, NOW, ended and 1 or 0 }
`;

/**
 * expire_holder: every connection a dead node incarnation held in this workspace, at once.
 * ARGV[3] = holder. A connection that another incarnation re-registered since (its 'n' moved)
 * is left alone. Returns { changes, seen, now, count }.
 */
const EXPIRE_HOLDER = `
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
`;

/**
 * reconcile: after Redis lost data or this node missed pub/sub messages. ARGV[3..] = pairs
 * (user, version the local listeners hold) of people local listeners believe online. Someone
 * with nothing live behind them (no connection, no grace) goes offline with a version above the
 * held one (published: every node converges). For the others a newer summary is returned so
 * this node can replay it to its own listeners.
 * Returns { changes, seen, now, {user, summaryJson, ...} }.
 */
const RECONCILE = `
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
`;

/** Global: claims up to ARGV[1] due workspaces, marking each "being swept until now + ARGV[2]". */
const CLAIM_DUE = `
local T = redis.call('TIME')
local NOW = tonumber(T[1]) * 1000 + math.floor(tonumber(T[2]) / 1000)
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', NOW, 'LIMIT', 0, tonumber(ARGV[1]))
local out = {}
for i = 1, #due do
  -- A marker has a .5 fraction; real deadlines are whole milliseconds.
  local marker = NOW + tonumber(ARGV[2]) + 0.5
  redis.call('ZADD', KEYS[1], marker, due[i])
  out[#out + 1] = due[i]
  out[#out + 1] = string.format('%.1f', marker)
end
return out
`;

/** Lowers the workspace's due time to ARGV[2] (replaces a sweeper's marker by min(marker, d)). */
const NOTE_DUE_BODY = `
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
`;

const NOTE_DUE = `${NOTE_DUE_BODY}
note(ARGV[1], tonumber(ARGV[2]))
return 1
`;

/**
 * After a sweep: ARGV = ws, the marker it claimed with, next deadline ('' = nothing left).
 * If the marker is untouched the sweep's answer stands (set, or remove the workspace);
 * if someone noted a deadline meanwhile, only lower it.
 */
const SETTLE_DUE = `${NOTE_DUE_BODY}
local s = redis.call('ZSCORE', KEYS[1], ARGV[1])
local nx = (ARGV[3] ~= '') and tonumber(ARGV[3]) or false
if s and tonumber(s) == tonumber(ARGV[2]) then
  if nx then redis.call('ZADD', KEYS[1], nx, ARGV[1]) else redis.call('ZREM', KEYS[1], ARGV[1]) end
elseif nx then
  note(ARGV[1], nx)
end
return 1
`;

export const WORKSPACE_SCRIPTS = {
	presenceRegister: PRELUDE + REGISTER,
	presenceHeartbeat: PRELUDE + HEARTBEAT,
	presenceDisconnect: PRELUDE + DISCONNECT,
	presenceReport: PRELUDE + REPORT,
	presenceSweep: PRELUDE + SWEEP,
	presenceExpireHolder: PRELUDE + EXPIRE_HOLDER,
	presenceReconcile: PRELUDE + RECONCILE,
	presenceTyping: PRELUDE + TYPING,
	presenceIdle: PRELUDE + IDLE,
	presenceAvailability: PRELUDE + AVAILABILITY,
	presenceStopTyping: PRELUDE + STOP_TYPING
} as const;

/**
 * online: read only. KEYS[1] = the workspace base; ARGV[1..2] = most people to return, most
 * connections to look at. The people behind live connections (dl) and those within their grace
 * (gr), each with their summary: { user, summary, ... }. One script so that the whole list is
 * one round trip (a pipeline would need one trip for the connections, another for the people).
 */
const ONLINE = `
local BASE = KEYS[1]
local limit, scan = tonumber(ARGV[1]), tonumber(ARGV[2])
local out, seen, n = {}, {}, 0
local function add(user)
  if not user or seen[user] or n >= limit then return end
  seen[user] = true
  local raw = redis.call('GET', BASE .. 's:' .. user)
  if raw then
    n = n + 1
    out[#out + 1] = user
    out[#out + 1] = raw
  end
end
local conns = redis.call('ZRANGE', BASE .. 'dl', 0, scan - 1)
for i = 1, #conns do add(redis.call('HGET', BASE .. 'c:' .. conns[i], 'u')) end
local graced = redis.call('ZRANGE', BASE .. 'gr', 0, scan - 1)
for i = 1, #graced do add(graced[i]) end
return out
`;

export const READ_SCRIPTS = { presenceOnline: ONLINE } as const;

export const GLOBAL_SCRIPTS = {
	presenceClaimDue: CLAIM_DUE,
	presenceNoteDue: NOTE_DUE,
	presenceSettleDue: SETTLE_DUE
} as const;
