//! The Redis cluster-state adapters against a real Redis (`CHORUS_TEST_REDIS_URL`,
//! default redis://127.0.0.1:6379). Two adapter sets with different node ids share
//! one Redis, as two nodes do. Each test uses its own random key prefix. A Redis that
//! cannot be reached fails the tests: they are never skipped.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use chorus::ports::limits::{buckets, Rate};
use chorus::adapters::redis::janitor::sweep_dead_nodes;
use chorus::adapters::redis::limits::RedisRateLimiter;
use chorus::adapters::redis::link::RedisLink;
use chorus::adapters::redis::node::{ClusterNode, NodeTiming};
use chorus::adapters::redis::presence::RedisPresence;
use chorus::adapters::redis::sessions::RedisSessions;
use chorus::adapters::redis::viewers::RedisViewers;
use chorus::domain::time::Timestamp;
use chorus::ports::cluster::{PresenceState, PresenceStatus, SessionRegistry, ViewerRegistry};
use chorus::ports::limits::{LimitClass, RateLimiter};
use chorus::ports::publisher::ConnectionId;
use tokio::net::{TcpListener, TcpStream};

fn redis_url() -> String {
    std::env::var("CHORUS_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

async fn link_to(url: &str) -> RedisLink {
    RedisLink::connect(url, &chorus::lifecycle::Tasks::new())
        .await
        .unwrap_or_else(|e| panic!("Redis must be reachable at {url} (set CHORUS_TEST_REDIS_URL): {e}"))
}

fn prefix() -> String {
    format!("chorus-test-{}", uuid::Uuid::now_v7())
}

fn timing() -> NodeTiming {
    NodeTiming {
        heartbeat_every: Duration::from_millis(100),
        alive_ttl: Duration::from_millis(300),
        grace: Duration::from_millis(200),
        reconcile_every: Duration::from_secs(60),
    }
}

/// One node's adapters.
struct Node {
    node: Arc<ClusterNode>,
    viewers: RedisViewers,
    sessions: RedisSessions,
    presence: RedisPresence,
}

fn node(link: &RedisLink, prefix: &str) -> Node {
    let node = ClusterNode::new(link.clone(), prefix, timing());
    Node {
        viewers: RedisViewers::new(node.clone()),
        sessions: RedisSessions::new(node.clone()),
        presence: RedisPresence::new(node.clone()),
        node,
    }
}

fn conn(id: &str) -> ConnectionId {
    ConnectionId(id.to_owned())
}

/// Deletes every key of a test prefix.
async fn cleanup(link: &RedisLink, prefix: &str) {
    let mut c = link.conn();
    let keys: Vec<String> = redis::cmd("KEYS").arg(format!("{prefix}:*")).query_async(&mut c).await.unwrap();
    if !keys.is_empty() {
        let _: () = redis::cmd("DEL").arg(keys).query_async(&mut c).await.unwrap();
    }
}

#[tokio::test]
async fn viewers_are_distinct_users_across_nodes() {
    let link = link_to(&redis_url()).await;
    let p = prefix();
    let (a, b) = (node(&link, &p), node(&link, &p));
    assert_eq!(a.viewers.add_viewer("v1", "alice", &conn("a1")).await, 1);
    assert_eq!(b.viewers.add_viewer("v1", "alice", &conn("b1")).await, 1, "the same user on another node");
    assert_eq!(b.viewers.add_viewer("v1", "bob", &conn("b2")).await, 2);
    assert_eq!(b.viewers.add_viewer("v1", "bob", &conn("b2")).await, 2, "joining twice is one viewer");
    assert_eq!(a.viewers.viewer_count("v1").await, 2);
    assert_eq!(a.viewers.viewer_counts(&["v1".to_owned(), "nobody".to_owned()]).await, vec![2, 0]);
    assert_eq!(a.viewers.rooms_of(&conn("a1")), 1);
    assert_eq!(a.viewers.remove_viewer("v1", &conn("a1")).await, Some(2), "alice still watches on b");
    assert_eq!(a.viewers.remove_viewer("v1", &conn("a1")).await, None);
    assert_eq!(b.viewers.remove_connection(&conn("b1")).await, vec![("v1".to_owned(), 1)]);
    assert_eq!(a.viewers.viewer_count("v1").await, 1);
    cleanup(&link, &p).await;
}

#[tokio::test]
async fn socket_counts_per_user_and_address_hold_across_nodes() {
    let link = link_to(&redis_url()).await;
    let p = prefix();
    let (a, b) = (node(&link, &p), node(&link, &p));
    assert_eq!(a.sessions.session_opened("alice", &conn("a1")).await, 1);
    assert_eq!(b.sessions.session_opened("alice", &conn("b1")).await, 2);
    assert_eq!(b.sessions.session_opened("bob", &conn("b2")).await, 1);
    assert_eq!(a.sessions.sessions_of("alice").await, 2);
    assert_eq!(a.sessions.online_users().await, 2);
    assert_eq!(a.sessions.online_among(&["bob".to_owned(), "carol".to_owned()]).await, vec![true, false]);
    assert_eq!(a.sessions.session_closed("alice", &conn("a1")).await, 1);
    assert_eq!(b.sessions.session_closed("alice", &conn("b1")).await, 0);
    assert_eq!(a.sessions.online_users().await, 1);

    assert_eq!(a.sessions.address_opened("10.0.0.1").await, 1);
    assert_eq!(b.sessions.address_opened("10.0.0.1").await, 2, "the per-address cap counts every node");
    a.sessions.address_closed("10.0.0.1").await;
    assert_eq!(b.sessions.address_opened("10.0.0.1").await, 2);
    cleanup(&link, &p).await;
}

#[tokio::test]
async fn presence_grace_is_claimed_by_exactly_one_node() {
    let link = link_to(&redis_url()).await;
    let p = prefix();
    let (a, b) = (node(&link, &p), node(&link, &p));
    a.sessions.session_opened("alice", &conn("a1")).await;
    assert!(a.presence.came_online("alice").await);
    assert!(!b.presence.came_online("alice").await, "already online on another node");
    assert_eq!(b.presence.set_status("alice", PresenceStatus::Away).await, Some(PresenceStatus::Online));
    assert_eq!(a.presence.status("alice").await, Some(PresenceStatus::Away));
    assert_eq!(a.presence.set_status("nobody", PresenceStatus::Busy).await, None);

    // Bob leaves node a and comes back on node b during grace: never offline.
    a.sessions.session_opened("bob", &conn("a2")).await;
    a.presence.came_online("bob").await;
    assert_eq!(a.sessions.session_closed("bob", &conn("a2")).await, 0);
    let soon = Timestamp::now().millis() + 50;
    a.presence.start_grace("bob", soon).await;
    b.sessions.session_opened("bob", &conn("b2")).await;
    assert!(!b.presence.came_online("bob").await, "in grace is still online");

    // Alice leaves; her grace ends; both nodes look at once.
    assert_eq!(a.sessions.session_closed("alice", &conn("a1")).await, 0);
    a.presence.start_grace("alice", soon).await;
    assert_eq!(b.presence.online_count().await, 2);
    tokio::time::sleep(Duration::from_millis(80)).await;
    let now = Timestamp::now().millis();
    let (from_a, from_b) = tokio::join!(a.presence.due_offline(now), b.presence.due_offline(now));
    let mut all: Vec<String> = from_a.into_iter().chain(from_b).collect();
    all.sort();
    assert_eq!(all, ["alice"], "alice handed to one node, bob not at all");
    assert_eq!(a.presence.status("alice").await, None);
    assert_eq!(a.presence.status("bob").await, Some(PresenceStatus::Online));

    // A user with a socket on another node does not enter grace.
    b.presence.start_grace("bob", now).await;
    assert!(a.presence.due_offline(Timestamp::now().millis() + 1000).await.is_empty());
    cleanup(&link, &p).await;
}

#[tokio::test]
async fn a_dead_nodes_connections_are_removed_by_one_janitor() {
    let link = link_to(&redis_url()).await;
    let p = prefix();
    let (a, b, c) = (node(&link, &p), node(&link, &p), node(&link, &p));
    for n in [&a, &b, &c] {
        assert!(n.node.beat().await.is_some());
    }
    // Dave is on a and b; carol only on b.
    a.sessions.session_opened("dave", &conn("a1")).await;
    a.presence.came_online("dave").await;
    a.viewers.add_viewer("v1", "dave", &conn("a1")).await;
    b.sessions.session_opened("dave", &conn("b1")).await;
    b.viewers.add_viewer("v1", "dave", &conn("b1")).await;
    b.sessions.session_opened("carol", &conn("b2")).await;
    b.presence.came_online("carol").await;
    b.viewers.add_viewer("v1", "carol", &conn("b2")).await;
    b.viewers.add_viewer("v2", "carol", &conn("b2")).await;
    a.sessions.address_opened("10.0.0.9").await;
    b.sessions.address_opened("10.0.0.9").await;
    assert_eq!(a.viewers.viewer_count("v1").await, 2);

    // b is killed: no more heartbeats. a and c stay alive.
    let dead = b.node.id().to_owned();
    drop(b);
    let nothing_yet = sweep_dead_nodes(&a.node).await;
    assert!(nothing_yet.is_empty(), "b's heartbeat has not expired yet");
    tokio::time::sleep(Duration::from_millis(400)).await;
    a.node.beat().await;
    c.node.beat().await;
    let (rooms_a, rooms_c) = tokio::join!(sweep_dead_nodes(&a.node), sweep_dead_nodes(&c.node));
    let mut rooms: Vec<String> = rooms_a.iter().chain(&rooms_c).cloned().collect();
    rooms.sort();
    assert_eq!(rooms, ["v1", "v2"], "one janitor swept b (a: {rooms_a:?}, c: {rooms_c:?})");

    assert_eq!(a.viewers.viewer_count("v1").await, 1, "only dave on a still watches");
    assert_eq!(a.viewers.viewer_count("v2").await, 0);
    assert_eq!(a.sessions.sessions_of("dave").await, 1);
    assert_eq!(a.sessions.sessions_of("carol").await, 0);
    assert_eq!(a.sessions.online_users().await, 1);
    assert_eq!(a.sessions.address_opened("10.0.0.9").await, 2, "b's socket from the address no longer counts");

    // Carol is in grace now and goes offline after it, through one node; dave never.
    assert_eq!(a.presence.status("carol").await, Some(PresenceStatus::Online));
    assert!(a.presence.due_offline(Timestamp::now().millis()).await.is_empty(), "grace first");
    tokio::time::sleep(Duration::from_millis(250)).await;
    let now = Timestamp::now().millis();
    let (from_a, from_c) = tokio::join!(a.presence.due_offline(now), c.presence.due_offline(now));
    let all: Vec<String> = from_a.into_iter().chain(from_c).collect();
    assert_eq!(all, ["carol"]);
    a.node.beat().await;
    c.node.beat().await;
    assert!(sweep_dead_nodes(&a.node).await.is_empty(), "the dead node is forgotten");
    let mut redis = link.conn();
    let nodes: Vec<String> = redis::cmd("SMEMBERS").arg(format!("{p}:cs:nodes")).query_async(&mut redis).await.unwrap();
    assert!(!nodes.contains(&dead));
    cleanup(&link, &p).await;
}

#[tokio::test]
async fn a_node_re_registers_its_connections_when_redis_lost_them() {
    let link = link_to(&redis_url()).await;
    let p = prefix();
    let (a, b) = (node(&link, &p), node(&link, &p));
    assert_eq!(a.node.beat().await, Some(false), "first heartbeat registers");
    assert_eq!(a.node.beat().await, Some(true));
    a.sessions.session_opened("erin", &conn("a1")).await;
    a.presence.came_online("erin").await;
    a.presence.set_status("erin", PresenceStatus::Busy).await;
    a.viewers.add_viewer("v1", "erin", &conn("a1")).await;
    a.sessions.address_opened("10.1.1.1").await;

    // Redis restarted empty.
    cleanup(&link, &p).await;
    assert_eq!(b.viewers.viewer_count("v1").await, 0);
    assert_eq!(a.node.beat().await, Some(false), "the node notices it was forgotten");
    let rooms = a.node.reconcile().await.expect("reconciled");
    assert_eq!(rooms, ["v1"]);
    assert_eq!(b.viewers.viewer_count("v1").await, 1);
    assert_eq!(b.sessions.sessions_of("erin").await, 1);
    assert_eq!(b.presence.status("erin").await, Some(PresenceStatus::Busy));
    assert_eq!(b.sessions.address_opened("10.1.1.1").await, 2);
    cleanup(&link, &p).await;
}

#[tokio::test]
async fn rate_limit_buckets_are_shared_by_every_node() {
    let link = link_to(&redis_url()).await;
    let p = prefix();
    let rates = buckets(&[(LimitClass::Chat, Rate { per_second: 1, burst: 3 })]);
    let (a, b) = (RedisRateLimiter::new(link.clone(), &p, &rates), RedisRateLimiter::new(link.clone(), &p, &rates));
    assert!(a.check(LimitClass::Chat, "alice").await.is_ok());
    assert!(b.check(LimitClass::Chat, "alice").await.is_ok());
    assert!(a.check(LimitClass::Chat, "alice").await.is_ok());
    let wait = b.check(LimitClass::Chat, "alice").await.unwrap_err();
    assert!(wait > 0 && wait <= 1000, "retry after {wait} ms");
    assert!(a.check(LimitClass::Chat, "alice").await.is_err(), "the bucket is empty on every node");
    assert!(a.check(LimitClass::Chat, "bob").await.is_ok(), "buckets are per subject");
    assert!(a.check(LimitClass::Likes, "alice").await.is_ok(), "unconfigured classes are unlimited");
    tokio::time::sleep(Duration::from_millis(wait + 20)).await;
    assert!(b.check(LimitClass::Chat, "alice").await.is_ok(), "a token came back");
    let mut c = link.conn();
    let ttl: i64 = redis::cmd("PTTL").arg(format!("{p}:rl:chat:alice")).query_async(&mut c).await.unwrap();
    assert!(ttl > 0 && ttl <= 3000, "idle buckets expire once full again (pttl {ttl})");
    cleanup(&link, &p).await;
}

/// A TCP relay in front of Redis that can be cut, as when Redis goes away.
struct Relay {
    addr: std::net::SocketAddr,
    tasks: Arc<parking_lot::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
    accept: tokio::task::JoinHandle<()>,
}

impl Relay {
    async fn start(target: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let tasks: Arc<parking_lot::Mutex<Vec<tokio::task::JoinHandle<()>>>> = Arc::default();
        let held = tasks.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let target = target.clone();
                held.lock().push(tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                }));
            }
        });
        Self { addr, tasks, accept }
    }

    fn cut(&self) {
        self.accept.abort();
        for t in self.tasks.lock().drain(..) {
            t.abort();
        }
    }
}

#[tokio::test]
async fn adapters_answer_promptly_from_this_node_when_redis_is_unreachable() {
    let url = redis_url();
    let target = url.trim_start_matches("redis://").split(['/', '?']).next().unwrap().to_owned();
    let direct = link_to(&url).await;
    let relay = Relay::start(target).await;
    let link = link_to(&format!("redis://{}", relay.addr)).await;
    let p = prefix();
    let a = node(&link, &p);
    let limiter = RedisRateLimiter::new(link.clone(), &p, &buckets(&[(LimitClass::Chat, Rate { per_second: 1, burst: 2 })]));
    a.sessions.session_opened("frank", &conn("a1")).await;
    a.viewers.add_viewer("v1", "frank", &conn("a1")).await;
    relay.cut();

    let bounded = |started: Instant, what: &str| {
        let took = started.elapsed();
        assert!(took < Duration::from_secs(2), "{what} took {took:?} with Redis away");
    };
    for round in 0..2 {
        let t = Instant::now();
        let joined = a.viewers.add_viewer("v1", "gina", &conn("a2")).await;
        bounded(t, "add_viewer");
        let t = Instant::now();
        let count = a.viewers.viewer_count("v1").await;
        bounded(t, "viewer_count");
        let t = Instant::now();
        let sockets = a.sessions.sessions_of("frank").await;
        bounded(t, "sessions_of");
        let t = Instant::now();
        let opened = a.sessions.session_opened("gina", &conn("a2")).await;
        bounded(t, "session_opened");
        let t = Instant::now();
        let first = a.presence.came_online("gina").await;
        bounded(t, "came_online");
        let t = Instant::now();
        let _ = a.presence.due_offline(Timestamp::now().millis()).await;
        bounded(t, "due_offline");
        let t = Instant::now();
        let limited = limiter.check(LimitClass::Chat, "frank").await;
        bounded(t, "rate limit");
        assert_eq!((joined, count, sockets, opened), (2, 2, 1, 1), "round {round}: this node's own view");
        assert!(first || round == 1);
        assert!(limited.is_ok() || round == 1, "the local bucket allows");
    }
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(!link.is_healthy(), "the probe noticed");
    cleanup(&direct, &p).await;
}

/// Records what a node publishes.
#[derive(Default)]
struct Recorder {
    sent: parking_lot::Mutex<Vec<(String, serde_json::Value)>>,
}

#[async_trait::async_trait]
impl chorus::ports::publisher::EventPublisher for Recorder {
    async fn publish(&self, _to: chorus::ports::publisher::Audience, event: &str, payload: serde_json::Value) {
        self.sent.lock().push((event.to_owned(), payload));
    }
    fn join(&self, _: &ConnectionId, _: chorus::ports::publisher::Room) {}
    fn leave(&self, _: &ConnectionId, _: chorus::ports::publisher::Room) {}
    async fn room_size(&self, _: &chorus::ports::publisher::Room) -> usize {
        0
    }
    fn disconnect(&self, _: &ConnectionId) {}
    async fn disconnect_room(&self, _: &chorus::ports::publisher::Room) {}
    async fn connection_count(&self) -> usize {
        0
    }
    async fn room_count(&self) -> usize {
        0
    }
    async fn close_all(&self) {}
}

impl Recorder {
    fn offline_of(&self, user: &str) -> usize {
        self.sent.lock().iter().filter(|(e, p)| e == "presence:update" && p["userId"] == user && p["status"] == "offline").count()
    }
}

#[tokio::test]
async fn users_of_a_killed_node_go_offline_once_through_the_presence_service() {
    use chorus::domain::presence::PresenceService;
    let link = link_to(&redis_url()).await;
    let p = prefix();
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(chorus::adapters::sql::SqlStore::connect(&format!("sqlite://{}", dir.path().join("p.db").display()), &chorus::lifecycle::Tasks::new()).await.unwrap());
    let service = |n: &Node, out: &Arc<Recorder>| {
        PresenceService::new(
            Arc::new(RedisPresence::new(n.node.clone())),
            Arc::new(RedisSessions::new(n.node.clone())),
            store.clone(),
            store.clone(),
            out.clone(),
            Arc::new(chorus::adapters::wire::native::NativeEvents::new(out.clone())),
            Duration::from_millis(200),
        )
    };
    let (a, b) = (node(&link, &p), node(&link, &p));
    let (out_a, out_b) = (Arc::new(Recorder::default()), Arc::new(Recorder::default()));
    let (pa, pb) = (service(&a, &out_a), service(&b, &out_b));
    a.node.beat().await;
    b.node.beat().await;
    pa.connected("hana", &conn("a1")).await;
    pb.connected("hana", &conn("b1")).await;
    pb.connected("ivan", &conn("b2")).await;
    assert_eq!(pa.online_count().await, 2);

    // b is killed; after its heartbeat expires a's janitor cleans up.
    drop((pb, b));
    tokio::time::sleep(Duration::from_millis(400)).await;
    a.node.beat().await;
    sweep_dead_nodes(&a.node).await;
    pa.expire_grace().await;
    assert_eq!(out_a.offline_of("ivan"), 0, "not before the grace period");
    tokio::time::sleep(Duration::from_millis(250)).await;
    pa.expire_grace().await;
    pa.expire_grace().await;
    assert_eq!(out_a.offline_of("ivan"), 1, "ivan offline, once");
    assert_eq!(out_a.offline_of("hana"), 0, "hana still has a socket on a");
    assert_eq!(pa.online_count().await, 1);
    cleanup(&link, &p).await;
}
