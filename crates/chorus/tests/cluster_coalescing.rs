//! Two nodes on one PostgreSQL database and one Redis: coalesced updates (counts,
//! viewer numbers, rankings, battle scores) reach each receiver once per tick whatever
//! node it is on and show cluster-wide values; stream gifts and battles work across
//! nodes, and a battle ends once. Redis and PostgreSQL are required: the suite fails
//! when they are unreachable (scripts/ensure-services.sh starts them).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
#[path = "it/support.rs"]
mod support;

use std::time::Duration;

use chorus::Settings;
use reqwest::Method;
use serde_json::json;

use support::{PgDatabase, SERVER_KEY, TestApp, spawn_app_with};

const REDIS_DEFAULT: &str = "redis://127.0.0.1:6379";
/// Long enough for several ticks (50 ms) on both nodes: a duplicate would show.
const QUIET: Duration = Duration::from_millis(700);

/// The Redis of the suite, checked before any node starts so a missing server fails
/// with a clear message.
async fn redis_url() -> String {
    let url = std::env::var("CHORUS_TEST_REDIS_URL").unwrap_or_else(|_| REDIS_DEFAULT.to_owned());
    let client = redis::Client::open(url.as_str()).unwrap_or_else(|e| panic!("bad CHORUS_TEST_REDIS_URL {url}: {e}"));
    let mut conn = tokio::time::timeout(Duration::from_secs(3), client.get_multiplexed_async_connection())
        .await
        .unwrap_or_else(|_| panic!("Redis is required for the cluster suite: no answer from {url}. Run scripts/ensure-services.sh"))
        .unwrap_or_else(|e| panic!("Redis is required for the cluster suite and is not reachable at {url}: {e}. Run scripts/ensure-services.sh"));
    let pong: String = redis::cmd("PING").query_async(&mut conn).await.expect("redis ping");
    assert_eq!(pong, "PONG");
    url
}

/// Two nodes sharing a fresh database and a Redis prefix of their own.
struct Cluster {
    a: TestApp,
    b: TestApp,
    db: PgDatabase,
}

impl Cluster {
    async fn start() -> Self {
        let redis = redis_url().await;
        let db = PgDatabase::create().await;
        let prefix = format!("chorus-test-{}", uuid::Uuid::now_v7().simple());
        let settings = |s: &mut Settings| {
            s.store.database_url = db.url.clone().into();
            s.cluster.redis_url = Some(redis.clone().into());
            s.cluster.redis_prefix = prefix.clone();
            s.live.metrics_interval = Duration::from_millis(200);
            s.live.battle_min = Duration::from_secs(1);
        };
        let a = spawn_app_with(settings).await;
        let b = spawn_app_with(settings).await;
        Self { a, b, db }
    }

    async fn stop(self) {
        self.a.stop().await;
        self.b.stop().await;
        self.db.drop_now().await;
    }
}

/// A live stream of `owner`, made over REST on `app`.
async fn live_stream(app: &TestApp, owner: &str) -> String {
    let token = app.token(owner);
    let (status, body) = app.rest(Method::POST, "/api/streams", Some(&token), Some(json!({"title": format!("{owner}'s show")}))).await;
    assert_eq!(status, 201, "{body}");
    let id = body["data"]["id"].as_str().expect("stream id").to_owned();
    let (status, body) = app.rest(Method::POST, &format!("/api/streams/{id}/status"), Some(&token), Some(json!({"status": "live"}))).await;
    assert_eq!(status, 200, "{body}");
    id
}

async fn credit(app: &TestApp, user: &str, amount: i64) {
    let (status, body) = app
        .rest(Method::POST, &format!("/api/server/wallets/{user}/credit"), Some(SERVER_KEY), Some(json!({"amount": amount, "reference": format!("{user}-topup")})))
        .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_like_on_one_node_reaches_content_viewers_on_both_nodes_once() {
    let cluster = Cluster::start().await;
    let mut here = cluster.a.socket("cc-here").await;
    let mut there = cluster.b.socket("cc-there").await;
    here.ok("content:join", json!({"contentId": "cc-1"})).await;
    there.ok("content:join", json!({"contentId": "cc-1"})).await;

    let liker = cluster.a.socket("cc-liker").await;
    liker.ok("content:like", json!({"contentId": "cc-1"})).await;
    for viewer in [&mut here, &mut there] {
        let counts = viewer.expect("content:counts", |v| v["contentId"] == "cc-1" && v["likes"] == 1).await;
        assert_eq!(counts["views"], 0);
        viewer.expect_none("content:counts", QUIET).await;
    }

    // The other way round: a like on node B reaches the viewer on node A.
    let liker_b = cluster.b.socket("cc-liker-b").await;
    liker_b.ok("content:like", json!({"contentId": "cc-1"})).await;
    for viewer in [&mut here, &mut there] {
        viewer.expect("content:counts", |v| v["contentId"] == "cc-1" && v["likes"] == 2).await;
        viewer.expect_none("content:counts", QUIET).await;
    }
    cluster.stop().await;
}

#[tokio::test]
async fn viewer_counts_are_cluster_wide() {
    let cluster = Cluster::start().await;
    let mut here = cluster.a.socket("vc-here").await;
    let joined = here.ok("content:join", json!({"contentId": "vc-1"})).await;
    assert_eq!(joined["viewerCount"], 1);
    here.expect("content:viewers", |v| v["contentId"] == "vc-1" && v["viewerCount"] == 1).await;
    let there = cluster.b.socket("vc-there").await;
    let joined = there.ok("content:join", json!({"contentId": "vc-1"})).await;
    assert_eq!(joined["viewerCount"], 2, "the join on node B counts the viewer on node A");
    here.expect("content:viewers", |v| v["contentId"] == "vc-1" && v["viewerCount"] == 2).await;
    here.expect_none("content:viewers", QUIET).await;

    let stream = live_stream(&cluster.a, "vc-host").await;
    let mut watcher = cluster.a.socket("vc-watcher").await;
    watcher.ok("stream:join", json!({"streamId": stream})).await;
    watcher.expect("stream:viewers", |v| v["viewerCount"] == 1).await;
    let other = cluster.b.socket("vc-other").await;
    let joined = other.ok("stream:join", json!({"streamId": stream})).await;
    assert_eq!(joined["viewerCount"], 2);
    watcher.expect("stream:viewers", |v| v["viewerCount"] == 2).await;
    watcher.expect_none("stream:viewers", QUIET).await;
    cluster.stop().await;
}

#[tokio::test]
async fn rankings_reach_subscribers_on_every_node_once() {
    let cluster = Cluster::start().await;
    let mut fan_a = cluster.a.socket("rk-fan-a").await;
    let mut fan_b = cluster.b.socket("rk-fan-b").await;
    cluster.a.socket("rk-first").await.ok("content:like", json!({"contentId": "rk-a"})).await;
    for fan in [&fan_a, &fan_b] {
        let sub = fan.ok("ranking:subscribe", json!({"scope": "type:video", "limit": 2})).await;
        assert_eq!(sub["items"][0]["contentId"], "rk-a");
    }
    // One like on node A changes the list: each subscriber, on either node, gets it once.
    cluster.a.socket("rk-liker").await.ok("content:like", json!({"contentId": "rk-b"})).await;
    for fan in [&mut fan_a, &mut fan_b] {
        let update = fan.expect("ranking:update", |v| v["items"][1]["contentId"] == "rk-b").await;
        assert_eq!(update["items"][1]["likes"], 1);
        fan.expect_none("ranking:update", QUIET).await;
    }
    // And one on node B.
    cluster.b.socket("rk-liker-b").await.ok("content:like", json!({"contentId": "rk-b"})).await;
    for fan in [&mut fan_a, &mut fan_b] {
        let update = fan.expect("ranking:update", |v| v["items"][0]["contentId"] == "rk-b").await;
        assert_eq!(update["items"][0]["likes"], 2);
        fan.expect_none("ranking:update", QUIET).await;
    }
    cluster.stop().await;
}

#[tokio::test]
async fn a_gift_on_another_node_scores_in_the_battle_and_the_battle_ends_once() {
    let cluster = Cluster::start().await;
    let (a, b) = (live_stream(&cluster.a, "cb-host-a").await, live_stream(&cluster.a, "cb-host-b").await);
    let host_a = cluster.a.socket("cb-host-a").await;
    let host_b = cluster.b.socket("cb-host-b").await;
    let mut viewer_a = cluster.a.socket("cb-viewer-a").await;
    let mut viewer_b = cluster.b.socket("cb-viewer-b").await;
    viewer_a.ok("stream:join", json!({"streamId": a})).await;
    viewer_b.ok("stream:join", json!({"streamId": b})).await;
    credit(&cluster.a, "cb-fan", 1000).await;
    let fan = cluster.b.socket("cb-fan").await;

    // Invited on node A, accepted on node B.
    let battle = host_a.ok("battle:start", json!({"streamId": a, "opponentStreamId": b, "durationSec": 2})).await;
    let battle_id = battle["battle"]["id"].as_str().unwrap().to_owned();
    host_b.ok("battle:accept", json!({"battleId": battle_id})).await;
    for viewer in [&mut viewer_a, &mut viewer_b] {
        viewer.expect("battle:started", |v| v["battle"]["id"] == battle_id.as_str()).await;
        // The opening scores, once.
        viewer.expect("battle:update", |v| v["battleId"] == battle_id.as_str() && v["scores"][&a] == 0).await;
    }

    // A gift on node B to stream a scores for a; both nodes' viewers see it once.
    fan.ok("gift:send", json!({"streamId": a, "giftId": "crown", "count": 1, "clientTxId": "cb-gift"})).await;
    let throne = viewer_a.expect("throne:claimed", |v| v["streamId"] == a.as_str()).await;
    assert_eq!(throne["user"]["id"], "cb-fan");
    for viewer in [&mut viewer_a, &mut viewer_b] {
        let update = viewer.expect("battle:update", |v| v["battleId"] == battle_id.as_str() && v["scores"][&a] == 100).await;
        assert_eq!(update["scores"][&b], 0);
        viewer.expect_none("battle:update", QUIET).await;
    }

    // Both nodes time the battle; exactly one ends it.
    for viewer in [&mut viewer_a, &mut viewer_b] {
        let ended = viewer.expect("battle:ended", |v| v["battleId"] == battle_id.as_str()).await;
        assert_eq!(ended["winner"], a.as_str());
        assert_eq!(ended["scores"][&a], 100);
        viewer.expect_none("battle:ended", Duration::from_millis(1500)).await;
    }
    viewer_a.expect_none("throne:claimed", Duration::ZERO).await;
    cluster.stop().await;
}

#[tokio::test]
async fn a_battle_started_on_a_node_that_stops_is_ended_by_another() {
    let cluster = Cluster::start().await;
    let (a, b) = (live_stream(&cluster.a, "cs-host-a").await, live_stream(&cluster.a, "cs-host-b").await);
    let host_a = cluster.a.socket("cs-host-a").await;
    let host_b = cluster.a.socket("cs-host-b").await;
    let mut viewer = cluster.b.socket("cs-viewer").await;
    viewer.ok("stream:join", json!({"streamId": b})).await;
    let battle = host_a.ok("battle:start", json!({"streamId": a, "opponentStreamId": b, "durationSec": 2})).await;
    let battle_id = battle["battle"]["id"].as_str().unwrap().to_owned();
    host_b.ok("battle:accept", json!({"battleId": battle_id})).await;
    viewer.expect("battle:started", |v| v["battle"]["id"] == battle_id.as_str()).await;
    // Give node B a tick to learn of the battle, then take node A away.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let Cluster { a: node_a, b: node_b, db } = cluster;
    node_a.stop().await;
    let ended = viewer.expect("battle:ended", |v| v["battleId"] == battle_id.as_str()).await;
    assert_eq!(ended["winner"], "tie");
    viewer.expect_none("battle:ended", QUIET).await;
    node_b.stop().await;
    db.drop_now().await;
}

#[tokio::test]
async fn a_ban_on_one_node_takes_the_viewer_out_of_the_room_on_the_other() {
    let cluster = Cluster::start().await;
    let stream = live_stream(&cluster.a, "cx-host").await;
    let host = cluster.a.socket("cx-host").await;
    let mut banned = cluster.b.socket("cx-troll").await;
    let mut bystander = cluster.b.socket("cx-bystander").await;
    banned.ok("stream:join", json!({"streamId": stream})).await;
    bystander.ok("stream:join", json!({"streamId": stream})).await;
    host.ok("stream:moderate", json!({"streamId": stream, "userId": "cx-troll", "action": "ban"})).await;
    // After a tick the banned viewer's socket on node B has left the room.
    tokio::time::sleep(Duration::from_millis(400)).await;
    host.ok("stream:chat", json!({"streamId": stream, "text": "hello everyone"})).await;
    bystander.expect("stream:chat", |v| v["message"]["text"] == "hello everyone").await;
    banned.expect_none("stream:chat", QUIET).await;
    cluster.stop().await;
}

#[tokio::test]
async fn slow_mode_holds_for_a_viewer_writing_from_two_nodes() {
    let cluster = Cluster::start().await;
    let stream = live_stream(&cluster.a, "sm-host").await;
    let host = cluster.a.socket("sm-host").await;
    host.ok("stream:slow_mode", json!({"streamId": stream, "seconds": 60})).await;
    let on_a = cluster.a.socket("sm-viewer").await;
    let on_b = cluster.b.socket("sm-viewer").await;
    on_a.ok("stream:join", json!({"streamId": stream})).await;
    on_b.ok("stream:join", json!({"streamId": stream})).await;
    on_a.ok("stream:chat", json!({"streamId": stream, "text": "first"})).await;
    assert_eq!(on_b.err("stream:chat", json!({"streamId": stream, "text": "second, from the other node"})).await, "rate_limited");
    cluster.stop().await;
}
