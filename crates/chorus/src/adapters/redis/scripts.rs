//! Lua scripts for state where several keys must change together: Redis runs each
//! one atomically, so two nodes never see half an update. Key layouts are in `keys.rs`.
//! Some scripts build key names from a prefix argument (the set of rooms a
//! connection left is only known inside the script); that is fine on one Redis
//! server and is why cluster state needs a single Redis, not Redis Cluster.

use std::sync::LazyLock;

use redis::Script;

/// KEYS: connection rooms, room viewers, node viewing. ARGV: room, user, connection.
/// Returns the room's viewer count.
pub static ADD_VIEWER: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 1 then
  redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
end
redis.call('SADD', KEYS[3], ARGV[3])
return redis.call('HLEN', KEYS[2])
",
    )
});

/// KEYS: connection rooms, room viewers, node viewing. ARGV: room, connection.
/// Returns the viewer count, or -1 when the connection did not watch the room.
pub static REMOVE_VIEWER: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local user = redis.call('HGET', KEYS[1], ARGV[1])
if not user then return -1 end
redis.call('HDEL', KEYS[1], ARGV[1])
if redis.call('HLEN', KEYS[1]) == 0 then redis.call('SREM', KEYS[3], ARGV[2]) end
if redis.call('HINCRBY', KEYS[2], user, -1) <= 0 then redis.call('HDEL', KEYS[2], user) end
return redis.call('HLEN', KEYS[2])
",
    )
});

/// KEYS: connection rooms, node viewing. ARGV: state prefix, connection.
/// Returns a flat list room, count, room, count…
pub static REMOVE_CONNECTION: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local held = redis.call('HGETALL', KEYS[1])
local out = {}
for i = 1, #held, 2 do
  local key = ARGV[1] .. 'v:' .. held[i]
  if redis.call('HINCRBY', key, held[i + 1], -1) <= 0 then redis.call('HDEL', key, held[i + 1]) end
  out[#out + 1] = held[i]
  out[#out + 1] = redis.call('HLEN', key)
end
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[2])
return out
",
    )
});

/// KEYS: user sockets, online set, node sessions. ARGV: connection, node, user,
/// node-session member. Returns the user's socket count.
pub static SESSION_OPENED: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
redis.call('SADD', KEYS[3], ARGV[4])
return redis.call('HLEN', KEYS[1])
",
    )
});

/// KEYS: user sockets, online set, node sessions, presence, grace. ARGV: connection,
/// user, node-session member, grace deadline ('' for none). Returns the user's socket
/// count. With a deadline, a user left with no socket enters grace (used when this
/// node re-registers and finds a socket that closed while Redis was away).
pub static SESSION_CLOSED: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('SREM', KEYS[3], ARGV[3])
local n = redis.call('HLEN', KEYS[1])
if n == 0 then
  redis.call('SREM', KEYS[2], ARGV[2])
  if ARGV[4] ~= '' and redis.call('HEXISTS', KEYS[4], ARGV[2]) == 1 then
    redis.call('ZADD', KEYS[5], 'NX', ARGV[4], ARGV[2])
  end
end
return n
",
    )
});

/// KEYS: address, node addresses. ARGV: node, ip. Returns the sockets the address
/// holds on every node.
pub static ADDRESS_OPENED: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
redis.call('SADD', KEYS[2], ARGV[2])
local total = 0
for _, v in ipairs(redis.call('HVALS', KEYS[1])) do total = total + tonumber(v) end
return total
",
    )
});

/// KEYS: address. ARGV: node.
pub static ADDRESS_CLOSED: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('HINCRBY', KEYS[1], ARGV[1], -1) <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]) end
return 0
",
    )
});

/// KEYS: presence, grace. ARGV: user, status. Returns 1 when the user was offline.
pub static CAME_ONLINE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
redis.call('ZREM', KEYS[2], ARGV[1])
return redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])
",
    )
});

/// KEYS: presence, grace, user sockets. ARGV: user, deadline. A user who still has a
/// socket on some node (they reconnected there meanwhile) does not enter grace.
pub static START_GRACE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
if redis.call('HLEN', KEYS[3]) > 0 then return 0 end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
return 1
",
    )
});

/// KEYS: presence, grace. ARGV: now (ms), batch size. Takes the users whose grace
/// ended: each is returned to exactly one caller.
pub static DUE_OFFLINE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, u in ipairs(due) do
  redis.call('ZREM', KEYS[2], u)
  redis.call('HDEL', KEYS[1], u)
end
return due
",
    )
});

/// KEYS: presence. ARGV: user, status. Returns the previous status, nil when offline.
pub static SET_STATUS: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local prev = redis.call('HGET', KEYS[1], ARGV[1])
if not prev then return false end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return prev
",
    )
});

/// GCRA token bucket on the Redis clock (one clock for every node). KEYS: bucket.
/// ARGV: emission interval (ms), burst. Returns 0 when a token was taken, else the
/// milliseconds until one is. The key expires when the bucket is full again, which is
/// what "forget idle subjects" means here.
pub static TAKE_TOKEN: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now) or now
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - interval * burst
if allow_at > now then
  local wait = math.ceil(allow_at - now)
  if wait < 1 then wait = 1 end
  return wait
end
redis.call('SET', KEYS[1], string.format('%.3f', new_tat), 'PX', math.max(1, math.ceil(new_tat - now)))
return 0
",
    )
});

/// KEYS: node alive, nodes. ARGV: node, ttl (ms). Returns 1 when the node was still
/// registered as alive, 0 when it (re)appears: then it must re-register its state.
pub static HEARTBEAT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local existed = redis.call('EXISTS', KEYS[1])
redis.call('SET', KEYS[1], '1', 'PX', ARGV[2])
redis.call('SADD', KEYS[2], ARGV[1])
return existed
",
    )
});

/// One batch of cleanup after a dead node. KEYS: its alive key, sessions, viewing,
/// addresses. ARGV: state prefix, node, grace deadline, batch size. Returns
/// {work done, rooms whose viewers changed}, or {-1, {}} if the node came back.
pub static SWEEP_DEAD_NODE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('EXISTS', KEYS[1]) == 1 then return {-1, {}} end
local P, batch = ARGV[1], tonumber(ARGV[4])
local work, rooms = 0, {}
for _, m in ipairs(redis.call('SPOP', KEYS[2], batch)) do
  work = work + 1
  local tab = string.find(m, '\t', 1, true)
  if tab then
    local conn, user = string.sub(m, 1, tab - 1), string.sub(m, tab + 1)
    local skey = P .. 's:' .. user
    redis.call('HDEL', skey, conn)
    if redis.call('HLEN', skey) == 0 then
      redis.call('SREM', P .. 'online', user)
      if redis.call('HEXISTS', P .. 'presence', user) == 1 then
        redis.call('ZADD', P .. 'grace', 'NX', ARGV[3], user)
      end
    end
  end
end
for _, conn in ipairs(redis.call('SPOP', KEYS[3], batch)) do
  work = work + 1
  local ckey = P .. 'vc:' .. conn
  local held = redis.call('HGETALL', ckey)
  for i = 1, #held, 2 do
    local key = P .. 'v:' .. held[i]
    if redis.call('HINCRBY', key, held[i + 1], -1) <= 0 then redis.call('HDEL', key, held[i + 1]) end
    rooms[#rooms + 1] = held[i]
  end
  redis.call('DEL', ckey)
end
for _, ip in ipairs(redis.call('SPOP', KEYS[4], batch)) do
  work = work + 1
  redis.call('HDEL', P .. 'ip:' .. ip, ARGV[2])
end
return {work, rooms}
",
    )
});

/// KEYS: alive, nodes, claim. ARGV: node. Forgets a dead node once swept.
pub static FORGET_NODE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SREM', KEYS[2], ARGV[1])
redis.call('DEL', KEYS[3])
return 1
",
    )
});
