//! This node's identity in the cluster state: a node id (UUID v7), a heartbeat key
//! that expires when the node stops (so the janitor of another node can clean up
//! after it), and the node's own mirror of what its connections hold. The mirror
//! answers while Redis is away, and the node re-registers it when Redis is back
//! (or when it finds its heartbeat gone), so counts heal by themselves.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use redis::RedisResult;

use super::keys::{Keys, session_member};
use super::link::RedisLink;
use super::scripts;
use crate::adapters::memory_cluster::{MemoryPresence, MemorySessions, MemoryViewers};
use crate::domain::time::Timestamp;
use crate::ports::publisher::ConnectionId;

/// Longest wait for one Redis call: past it the answer comes from this node alone.
const CALL_TIMEOUT: Duration = Duration::from_millis(1500);
/// At most one warning per this period about Redis failures (the rest go to debug).
const WARN_EVERY_MS: i64 = 10_000;

/// How often the node proves it is alive, and how long the cluster waits for it.
#[derive(Debug, Clone, Copy)]
pub struct NodeTiming {
    pub heartbeat_every: Duration,
    /// Past this without a heartbeat the node counts as dead (a few heartbeats).
    pub alive_ttl: Duration,
    /// Presence grace given to the users of a dead node.
    pub grace: Duration,
    /// How often the node re-asserts its whole state even when nothing seemed lost.
    pub reconcile_every: Duration,
}

impl NodeTiming {
    pub fn with_grace(grace: Duration) -> Self {
        Self {
            heartbeat_every: Duration::from_secs(2),
            alive_ttl: Duration::from_secs(6),
            grace,
            reconcile_every: Duration::from_secs(60),
        }
    }
}

/// Called with the viewer rooms whose counts changed behind the services' back
/// (a dead node's viewers left, or re-registration fixed a count).
pub type RoomsChanged = Arc<dyn Fn(Vec<String>) + Send + Sync>;

/// One node of the cluster state; the Redis adapters of the ports share it.
pub struct ClusterNode {
    id: String,
    pub(crate) link: RedisLink,
    pub(crate) keys: Keys,
    pub(crate) timing: NodeTiming,
    /// What this node's connections hold (a node-local copy of the cluster state).
    pub(crate) viewers: MemoryViewers,
    pub(crate) sessions: MemorySessions,
    pub(crate) presence: MemoryPresence,
    /// Set when a write may not have reached Redis: the next heartbeat re-registers.
    needs_reconcile: AtomicBool,
    last_warn_ms: AtomicI64,
}

impl ClusterNode {
    /// A node with a fresh id, keys under `prefix`.
    pub fn new(link: RedisLink, prefix: &str, timing: NodeTiming) -> Arc<Self> {
        Arc::new(Self {
            id: uuid::Uuid::now_v7().to_string(),
            link,
            keys: Keys::new(prefix),
            timing,
            viewers: MemoryViewers::default(),
            sessions: MemorySessions::default(),
            presence: MemoryPresence::default(),
            needs_reconcile: AtomicBool::new(true),
            last_warn_ms: AtomicI64::new(i64::MIN / 2),
        })
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// The heartbeat task (to be started through the task registry): heartbeat,
    /// re-registration when needed, and the janitor pass over dead nodes. It ends when
    /// the node is dropped.
    pub fn heartbeat(self: &Arc<Self>, on_rooms_changed: RoomsChanged) -> impl std::future::Future<Output = ()> + Send + 'static {
        heartbeat_loop(Arc::downgrade(self), on_rooms_changed)
    }

    /// Runs one Redis call, bounded in time. `None` (and a later re-registration) when
    /// Redis is known to be down, fails or is too slow: callers answer locally.
    pub(crate) async fn call<T>(&self, what: &'static str, fut: impl Future<Output = RedisResult<T>>) -> Option<T> {
        if !self.link.is_healthy() {
            self.needs_reconcile.store(true, Ordering::Release);
            return None;
        }
        let failure = match tokio::time::timeout(CALL_TIMEOUT, fut).await {
            Ok(Ok(v)) => return Some(v),
            Ok(Err(e)) => {
                if e.is_io_error() || e.is_timeout() || e.is_connection_dropped() || e.is_connection_refusal() {
                    self.link.mark_unhealthy();
                }
                e.to_string()
            }
            Err(_) => {
                self.link.mark_unhealthy();
                "timed out".to_owned()
            }
        };
        self.needs_reconcile.store(true, Ordering::Release);
        self.warn_throttled(what, &failure);
        None
    }

    fn warn_throttled(&self, what: &str, error: &str) {
        let now = Timestamp::now().millis();
        let last = self.last_warn_ms.load(Ordering::Acquire);
        if now - last >= WARN_EVERY_MS
            && self.last_warn_ms.compare_exchange(last, now, Ordering::AcqRel, Ordering::Acquire).is_ok()
        {
            tracing::warn!(op = what, error, "redis cluster state unavailable: answering from this node");
        } else {
            tracing::debug!(op = what, error, "redis cluster state call failed");
        }
    }

    /// Refreshes the heartbeat. `Some(true)` when the node was still registered,
    /// `Some(false)` when it (re)appears and must re-register, `None` on failure.
    pub async fn beat(&self) -> Option<bool> {
        let mut inv = scripts::HEARTBEAT.prepare_invoke();
        inv.key(self.keys.node_alive(&self.id))
            .key(self.keys.nodes())
            .arg(&self.id)
            .arg(self.timing.alive_ttl.as_millis() as u64);
        let mut conn = self.link.conn();
        self.call("heartbeat", async move { inv.invoke_async::<i64>(&mut conn).await }).await.map(|n| n == 1)
    }

    /// Makes Redis hold exactly what this node's connections hold: sockets, addresses,
    /// viewers and the presence of its users. Returns the viewer rooms it changed, or
    /// `None` if Redis failed midway (then it runs again on the next heartbeat).
    pub async fn reconcile(&self) -> Option<Vec<String>> {
        let mut changed = Vec::new();
        self.reconcile_sessions().await?;
        self.reconcile_addresses().await?;
        self.reconcile_viewers(&mut changed).await?;
        self.reconcile_presence().await?;
        Some(changed)
    }

    async fn members(&self, key: String) -> Option<HashSet<String>> {
        let mut conn = self.link.conn();
        self.call("reconcile", async move { redis::cmd("SMEMBERS").arg(key).query_async(&mut conn).await }).await
    }

    async fn reconcile_sessions(&self) -> Option<()> {
        let held = self.members(self.keys.node_sessions(&self.id)).await?;
        let local: HashMap<String, (String, ConnectionId)> = self
            .sessions
            .snapshot()
            .into_iter()
            .map(|(user, c)| (session_member(&c.0, &user), (user, c)))
            .collect();
        for (member, (user, connection)) in &local {
            if !held.contains(member) {
                self.session_opened(user, connection).await?;
            }
        }
        let deadline = Timestamp::now().plus_millis(self.timing.grace.as_millis() as i64).millis();
        for member in held.iter().filter(|m| !local.contains_key(*m)) {
            let Some((connection, user)) = member.split_once('\t') else { continue };
            self.session_closed(user, connection, Some(deadline)).await?;
        }
        Some(())
    }

    async fn reconcile_addresses(&self) -> Option<()> {
        let held = self.members(self.keys.node_addresses(&self.id)).await?;
        let local: HashMap<String, usize> = self.sessions.addresses().into_iter().collect();
        let mut pipe = redis::pipe();
        for (ip, n) in &local {
            pipe.cmd("HSET").arg(self.keys.address(ip)).arg(&self.id).arg(*n).ignore();
            pipe.cmd("SADD").arg(self.keys.node_addresses(&self.id)).arg(ip).ignore();
        }
        for ip in held.iter().filter(|ip| !local.contains_key(*ip)) {
            pipe.cmd("HDEL").arg(self.keys.address(ip)).arg(&self.id).ignore();
            pipe.cmd("SREM").arg(self.keys.node_addresses(&self.id)).arg(ip).ignore();
        }
        // Redis refuses an empty pipeline ("empty command"): a node that holds no
        // addresses yet, as every node does at startup, has nothing to send.
        if pipe.is_empty() {
            return Some(());
        }
        let mut conn = self.link.conn();
        self.call("reconcile", async move { pipe.query_async::<()>(&mut conn).await }).await
    }

    async fn reconcile_viewers(&self, changed: &mut Vec<String>) -> Option<()> {
        let held = self.members(self.keys.node_viewing(&self.id)).await?;
        let mut local: HashMap<ConnectionId, Vec<(String, String)>> = HashMap::new();
        for (c, room, user) in self.viewers.snapshot() {
            local.entry(c).or_default().push((room, user));
        }
        for gone in held.iter().filter(|c| !local.contains_key(&ConnectionId((*c).clone()))) {
            let left = self.remove_connection(&ConnectionId(gone.clone())).await?;
            changed.extend(left.into_iter().map(|(room, _)| room));
        }
        for (connection, rooms) in &local {
            let key = self.keys.connection_rooms(&connection.0);
            let mut conn = self.link.conn();
            let in_redis: HashSet<String> =
                self.call("reconcile", async move { redis::cmd("HKEYS").arg(key).query_async(&mut conn).await }).await?;
            for (room, user) in rooms {
                if !in_redis.contains(room) {
                    self.add_viewer(room, user, connection).await?;
                    changed.push(room.clone());
                }
            }
            for room in in_redis.iter().filter(|r| !rooms.iter().any(|(l, _)| l == *r)) {
                self.remove_viewer(room, connection).await?;
                changed.push(room.clone());
            }
        }
        Some(())
    }

    async fn reconcile_presence(&self) -> Option<()> {
        let users: HashSet<String> = self.sessions.snapshot().into_iter().map(|(u, _)| u).collect();
        for user in users {
            let status = self.presence.status_of(&user).unwrap_or(crate::ports::cluster::PresenceStatus::Online);
            self.came_online(&user, status).await?;
        }
        Some(())
    }

    // The Redis halves of the port operations, shared by the adapters and re-registration.

    pub(crate) async fn add_viewer(&self, room: &str, user: &str, connection: &ConnectionId) -> Option<u64> {
        let mut inv = scripts::ADD_VIEWER.prepare_invoke();
        inv.key(self.keys.connection_rooms(&connection.0))
            .key(self.keys.viewers(room))
            .key(self.keys.node_viewing(&self.id))
            .arg(room)
            .arg(user)
            .arg(&connection.0);
        let mut conn = self.link.conn();
        self.call("add_viewer", async move { inv.invoke_async::<u64>(&mut conn).await }).await
    }

    /// `Some(None)` when the connection did not watch the room.
    pub(crate) async fn remove_viewer(&self, room: &str, connection: &ConnectionId) -> Option<Option<u64>> {
        let mut inv = scripts::REMOVE_VIEWER.prepare_invoke();
        inv.key(self.keys.connection_rooms(&connection.0))
            .key(self.keys.viewers(room))
            .key(self.keys.node_viewing(&self.id))
            .arg(room)
            .arg(&connection.0);
        let mut conn = self.link.conn();
        let n = self.call("remove_viewer", async move { inv.invoke_async::<i64>(&mut conn).await }).await?;
        Some(u64::try_from(n).ok())
    }

    pub(crate) async fn remove_connection(&self, connection: &ConnectionId) -> Option<Vec<(String, u64)>> {
        let mut inv = scripts::REMOVE_CONNECTION.prepare_invoke();
        inv.key(self.keys.connection_rooms(&connection.0))
            .key(self.keys.node_viewing(&self.id))
            .arg(self.keys.state_prefix())
            .arg(&connection.0);
        let mut conn = self.link.conn();
        let flat: Vec<redis::Value> =
            self.call("remove_connection", async move { inv.invoke_async(&mut conn).await }).await?;
        let mut out = Vec::with_capacity(flat.len() / 2);
        let mut it = flat.into_iter();
        while let (Some(room), Some(n)) = (it.next(), it.next()) {
            if let (Ok(room), Ok(n)) = (redis::from_redis_value::<String>(room), redis::from_redis_value::<u64>(n)) {
                out.push((room, n));
            }
        }
        Some(out)
    }

    pub(crate) async fn session_opened(&self, user: &str, connection: &ConnectionId) -> Option<usize> {
        let mut inv = scripts::SESSION_OPENED.prepare_invoke();
        inv.key(self.keys.user_sockets(user))
            .key(self.keys.online())
            .key(self.keys.node_sessions(&self.id))
            .arg(&connection.0)
            .arg(&self.id)
            .arg(user)
            .arg(session_member(&connection.0, user));
        let mut conn = self.link.conn();
        self.call("session_opened", async move { inv.invoke_async::<usize>(&mut conn).await }).await
    }

    pub(crate) async fn session_closed(&self, user: &str, connection: &str, grace_deadline: Option<i64>) -> Option<usize> {
        let mut inv = scripts::SESSION_CLOSED.prepare_invoke();
        inv.key(self.keys.user_sockets(user))
            .key(self.keys.online())
            .key(self.keys.node_sessions(&self.id))
            .key(self.keys.presence())
            .key(self.keys.grace())
            .arg(connection)
            .arg(user)
            .arg(session_member(connection, user))
            .arg(grace_deadline.map(|d| d.to_string()).unwrap_or_default());
        let mut conn = self.link.conn();
        self.call("session_closed", async move { inv.invoke_async::<usize>(&mut conn).await }).await
    }

    pub(crate) async fn came_online(&self, user: &str, status: crate::ports::cluster::PresenceStatus) -> Option<bool> {
        let mut inv = scripts::CAME_ONLINE.prepare_invoke();
        inv.key(self.keys.presence()).key(self.keys.grace()).arg(user).arg(status_text(status));
        let mut conn = self.link.conn();
        self.call("came_online", async move { inv.invoke_async::<i64>(&mut conn).await }).await.map(|n| n == 1)
    }
}

/// The stored form of a status.
pub(crate) fn status_text(status: crate::ports::cluster::PresenceStatus) -> &'static str {
    use crate::ports::cluster::PresenceStatus::*;
    match status {
        Online => "online",
        Away => "away",
        Busy => "busy",
        Invisible => "invisible",
    }
}

/// The status of its stored form.
pub(crate) fn parse_status(text: &str) -> Option<crate::ports::cluster::PresenceStatus> {
    use crate::ports::cluster::PresenceStatus::*;
    Some(match text {
        "online" => Online,
        "away" => Away,
        "busy" => Busy,
        "invisible" => Invisible,
        _ => return None,
    })
}

async fn heartbeat_loop(node: Weak<ClusterNode>, on_rooms_changed: RoomsChanged) {
    let every = match node.upgrade() {
        Some(n) => n.timing.heartbeat_every,
        None => return,
    };
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_reconcile = Instant::now();
    loop {
        tick.tick().await;
        let Some(node) = node.upgrade() else { return };
        if !node.link.is_healthy() {
            node.needs_reconcile.store(true, Ordering::Release);
            continue;
        }
        match node.beat().await {
            Some(true) => {}
            Some(false) => {
                tracing::info!(node = %node.id, "registering this node's connections in the cluster state");
                node.needs_reconcile.store(true, Ordering::Release);
            }
            None => continue,
        }
        let due = last_reconcile.elapsed() >= node.timing.reconcile_every;
        if node.needs_reconcile.swap(false, Ordering::AcqRel) || due {
            last_reconcile = Instant::now();
            match node.reconcile().await {
                Some(rooms) if !rooms.is_empty() => on_rooms_changed(rooms),
                Some(_) => {}
                None => node.needs_reconcile.store(true, Ordering::Release),
            }
        }
        let rooms = super::janitor::sweep_dead_nodes(&node).await;
        if !rooms.is_empty() {
            on_rooms_changed(rooms);
        }
    }
}
