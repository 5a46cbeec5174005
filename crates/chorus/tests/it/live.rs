//! Live streams (PROTOCOL.md §9): streams and viewers, moderated stream chat, wallets
//! and gifts, the throne and OG tiers, battles and metrics, over the wire; and the
//! wallet store's concurrency guarantees on SQLite and on PostgreSQL.

use std::sync::Arc;
use std::time::Duration;

use chorus::Settings;
use chorus::adapters::sql::SqlStore;
use chorus::domain::live::model::StreamStatus;
use chorus::domain::time::Timestamp;
use chorus::ports::live_store::{CreditOrder, GiftOrder, GiftOutcome, NewStream, StreamStore, WalletStore};
use crate::support::silent;
use futures_util::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{PgDatabase, SECRET, SERVER_KEY, TestApp, TestSocket, spawn_app_with};

/// Short periods so tests see metrics and battle ends quickly.
fn live_settings(s: &mut Settings) {
    s.live.metrics_interval = Duration::from_millis(200);
    s.live.battle_min = Duration::from_secs(1);
}

/// Creates a stream for `owner` over REST and, when `live`, puts it live.
async fn stream_of(app: &TestApp, owner: &str, live: bool) -> String {
    let token = app.token(owner);
    let (status, body) = app.rest(Method::POST, "/api/streams", Some(&token), Some(json!({"title": format!("{owner}'s show")}))).await;
    assert_eq!(status, 201, "{body}");
    let id = body["data"]["id"].as_str().expect("stream id").to_owned();
    if live {
        let (status, body) = app.rest(Method::POST, &format!("/api/streams/{id}/status"), Some(&token), Some(json!({"status": "live"}))).await;
        assert_eq!(status, 200, "{body}");
    }
    id
}

async fn credit(app: &TestApp, user: &str, amount: i64, reference: &str) -> (u16, Value) {
    app.rest(Method::POST, &format!("/api/server/wallets/{user}/credit"), Some(SERVER_KEY), Some(json!({"amount": amount, "reference": reference})))
        .await
}

async fn wallet(app: &TestApp, user: &str) -> Value {
    let (status, body) = app.rest(Method::GET, "/api/wallet", Some(&app.token(user)), None).await;
    assert_eq!(status, 200, "{body}");
    body["data"].clone()
}

/// A socket whose token carries `roles`.
async fn socket_with_roles(app: &TestApp, user: &str, roles: &[&str]) -> TestSocket {
    let exp = time::OffsetDateTime::now_utc().unix_timestamp() + 3600;
    let claims = json!({ "sub": user, "exp": exp, "name": user, "roles": roles });
    let token = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .expect("token");
    TestSocket::connect(app.addr, Some(json!({ "token": token })), "", None).await.expect("connect with roles")
}

#[tokio::test]
async fn a_creator_goes_live_and_viewers_see_the_count_the_peak_and_the_metrics() {
    let app = spawn_app_with(live_settings).await;
    let token = app.token("show-host");
    let (status, body) = app.rest(Method::POST, "/api/streams", Some(&token), Some(json!({"title": "  Morning show  "}))).await;
    assert_eq!(status, 201);
    assert_eq!(body["data"]["status"], "idle");
    assert_eq!(body["data"]["title"], "Morning show");
    assert_eq!(body["data"]["ownerId"], "show-host");
    let id = body["data"]["id"].as_str().unwrap().to_owned();
    let (status, _) = app.rest(Method::POST, "/api/streams", Some(&token), Some(json!({"title": "  "}))).await;
    assert_eq!(status, 400, "an empty title is refused");

    let mut host = app.socket("show-host").await;
    let outsider = app.socket("show-outsider").await;
    assert_eq!(outsider.err("stream:status", json!({"streamId": id, "status": "live"})).await, "forbidden");
    assert_eq!(host.err("stream:status", json!({"streamId": id, "status": "idle"})).await, "bad_request");
    assert_eq!(host.err("stream:status", json!({"streamId": "no-such-stream", "status": "live"})).await, "not_found");
    assert_eq!(host.ok("stream:join", json!({"streamId": id})).await["viewerCount"], 1);
    let live = host.ok("stream:status", json!({"streamId": id, "status": "live"})).await;
    assert_eq!(live["stream"]["status"], "live");
    assert!(live["stream"]["startedAt"].is_string());
    host.expect("stream:status", |v| v["status"] == "live" && v["streamId"] == id.as_str()).await;

    let mut viewers = Vec::new();
    for i in 0..3 {
        let s = app.socket(&format!("show-viewer-{i}")).await;
        let joined = s.ok("stream:join", json!({"streamId": id})).await;
        assert_eq!(joined["stream"]["id"], id.as_str());
        assert_eq!(joined["viewerCount"], i + 2);
        assert_eq!(joined["throne"], Value::Null);
        assert_eq!(joined["battle"], Value::Null);
        assert_eq!(joined["og"], json!({"tier": null, "coins": 0}));
        let gifts: Vec<_> = joined["gifts"].as_array().unwrap().iter().map(|g| g["id"].clone()).collect();
        assert_eq!(gifts, [json!("rose"), json!("heart"), json!("crown"), json!("rocket"), json!("boost")]);
        viewers.push(s);
    }
    host.expect("stream:viewers", |v| v["viewerCount"] == 4).await;
    viewers[0].ok("stream:leave", json!({"streamId": id})).await;
    host.expect("stream:viewers", |v| v["viewerCount"] == 3).await;
    viewers.pop().unwrap().close();
    host.expect("stream:viewers", |v| v["viewerCount"] == 2).await;

    assert_eq!(viewers[1].ok("stream:like", json!({"streamId": id, "count": 5})).await["likes"], 5);
    assert_eq!(viewers[1].ok("stream:like", json!({"streamId": id})).await["likes"], 6);
    for bad in [json!(0), json!(-3), json!(101), json!("many")] {
        assert_eq!(viewers[1].err("stream:like", json!({"streamId": id, "count": bad})).await, "bad_request", "count {bad}");
    }
    let m = host.expect("metrics:update", |v| v["likes"] == 6 && v["viewers"] == 2).await;
    assert_eq!(m["peakViewers"], 4);
    assert_eq!(m["streamId"], id.as_str());
    assert_eq!((m["gifts"].clone(), m["coins"].clone(), m["chatPerMin"].clone()), (json!(0), json!(0), json!(0)));

    let (status, shown) = app.rest(Method::GET, &format!("/api/streams/{id}"), None, None).await;
    assert_eq!(status, 200);
    assert_eq!(shown["data"]["viewerCount"], 2);
    assert_eq!(shown["data"]["stream"]["likes"], 6);
    let (_, listed) = app.rest(Method::GET, "/api/streams", None, None).await;
    assert!(listed["data"]["streams"].as_array().unwrap().iter().any(|s| s["id"] == id.as_str()));

    // Ending is final: chat, likes, gifts, joins and status changes are refused.
    assert_eq!(host.ok("stream:status", json!({"streamId": id, "status": "ended"})).await["stream"]["status"], "ended");
    let mut viewer = viewers.pop().unwrap();
    viewer.expect("stream:status", |v| v["status"] == "ended").await;
    credit(&app, "show-viewer-1", 100, "ended-check").await;
    assert_eq!(viewer.err("stream:chat", json!({"streamId": id, "text": "still here?"})).await, "conflict");
    assert_eq!(viewer.err("stream:like", json!({"streamId": id})).await, "conflict");
    assert_eq!(viewer.err("gift:send", json!({"streamId": id, "giftId": "rose", "count": 1, "clientTxId": "late"})).await, "conflict");
    assert_eq!(wallet(&app, "show-viewer-1").await["balance"], 100, "a refused gift costs nothing");
    assert_eq!(app.socket("late-viewer").await.err("stream:join", json!({"streamId": id})).await, "conflict");
    assert_eq!(host.err("stream:status", json!({"streamId": id, "status": "live"})).await, "conflict");
    let (_, listed) = app.rest(Method::GET, "/api/streams", None, None).await;
    assert!(!listed["data"]["streams"].as_array().unwrap().iter().any(|s| s["id"] == id.as_str()), "ended streams leave the list");
    app.stop().await;
}

#[tokio::test]
async fn each_viewer_coming_and_going_is_told_once_whatever_their_tabs() {
    let app = spawn_app_with(live_settings).await;
    let id = stream_of(&app, "tv-host", true).await;
    let mut host = app.socket("tv-host").await;
    host.ok("stream:join", json!({"streamId": id})).await;
    let me = host.expect("stream:viewer_joined", |v| v["user"]["id"] == "tv-host").await;
    assert_eq!((&me["streamId"], &me["viewerCount"]), (&json!(id), &json!(1)), "the joiner hears their own join: {me}");

    let tab1 = app.socket("tv-ann").await;
    tab1.ok("stream:join", json!({"streamId": id})).await;
    let ann = host.expect("stream:viewer_joined", |v| v["user"]["id"] == "tv-ann").await;
    assert_eq!(ann["viewerCount"], 2, "{ann}");
    assert!(ann["seq"].as_u64().is_some_and(|s| s > 0), "sequenced: {ann}");
    // A second tab, or the same socket joining again, tells nobody; nor does leaving one of two.
    let tab2 = app.socket("tv-ann").await;
    tab2.ok("stream:join", json!({"streamId": id})).await;
    tab1.ok("stream:join", json!({"streamId": id})).await;
    host.expect_none("stream:viewer_joined", Duration::from_millis(300)).await;
    tab2.ok("stream:leave", json!({"streamId": id})).await;
    host.expect_none("stream:viewer_left", Duration::from_millis(300)).await;
    // Her last tab closing is her leaving.
    tab1.close();
    let left = host.expect("stream:viewer_left", |v| v["userId"] == "tv-ann").await;
    assert_eq!(left, json!({"streamId": id, "userId": "tv-ann", "viewerCount": 1, "seq": left["seq"]}));

    // A viewer banned out leaves too.
    let bob = app.socket("tv-bob").await;
    bob.ok("stream:join", json!({"streamId": id})).await;
    host.expect("stream:viewer_joined", |v| v["user"]["id"] == "tv-bob").await;
    host.ok("stream:moderate", json!({"streamId": id, "userId": "tv-bob", "action": "ban"})).await;
    let banned = host.expect("stream:viewer_left", |v| v["userId"] == "tv-bob").await;
    assert_eq!(banned["viewerCount"], 1, "{banned}");
    app.stop().await;
}

#[tokio::test]
async fn stream_chat_is_rate_limited_per_viewer_and_slow_mode_spaces_messages() {
    let app = spawn_app_with(live_settings).await;
    let id = stream_of(&app, "chat-host", true).await;
    let mut host = app.socket("chat-host").await;
    host.ok("stream:join", json!({"streamId": id})).await;
    let fast = app.socket("fast-typer").await;
    fast.ok("stream:join", json!({"streamId": id})).await;

    for i in 0..5 {
        let sent = fast.ok("stream:chat", json!({"streamId": id, "text": format!("message {i}")})).await;
        assert_eq!(sent["message"]["text"], format!("message {i}"));
        assert_eq!(sent["message"]["user"]["id"], "fast-typer");
    }
    let refused = fast.call("stream:chat", json!({"streamId": id, "text": "one too many"})).await;
    assert_eq!(refused["error"]["code"], "rate_limited");
    assert!(refused["error"]["retryAfterMs"].as_u64().is_some_and(|ms| ms > 0 && ms <= 1000), "{refused}");
    for i in 0..5 {
        host.expect("stream:chat", |v| v["message"]["text"] == format!("message {i}").as_str()).await;
    }
    host.expect_none("stream:chat", Duration::from_millis(300)).await;
    assert_eq!(fast.err("stream:chat", json!({"streamId": id, "text": "x".repeat(501)})).await, "bad_request");
    assert_eq!(fast.err("stream:chat", json!({"streamId": id, "text": "   "})).await, "bad_request");

    // Slow mode: the owner (or a moderator) sets it; each viewer then waits between messages.
    assert_eq!(fast.err("stream:slow_mode", json!({"streamId": id, "seconds": 10})).await, "forbidden");
    assert_eq!(host.err("stream:slow_mode", json!({"streamId": id, "seconds": 100_000})).await, "bad_request");
    host.ok("stream:slow_mode", json!({"streamId": id, "seconds": 30})).await;
    host.expect("stream:slow_mode", |v| v["seconds"] == 30).await;
    let calm = app.socket("calm-viewer").await;
    calm.ok("stream:chat", json!({"streamId": id, "text": "first"})).await;
    let slowed = calm.call("stream:chat", json!({"streamId": id, "text": "second"})).await;
    assert_eq!(slowed["error"]["code"], "rate_limited");
    assert!(slowed["error"]["retryAfterMs"].as_u64().is_some_and(|ms| ms > 25_000), "{slowed}");
    host.ok("stream:chat", json!({"streamId": id, "text": "owner one"})).await;
    host.ok("stream:chat", json!({"streamId": id, "text": "owner two"})).await;
    app.stop().await;
}

#[tokio::test]
async fn blocked_messages_warn_their_author_and_strikes_mute_them_in_that_stream() {
    let app = spawn_app_with(|s| {
        live_settings(s);
        s.moderation.blocklist = "darn, scam".into();
        s.moderation.strike_limit = 2;
    })
    .await;
    let id = stream_of(&app, "mod-host", true).await;
    let other = stream_of(&app, "other-host", true).await;
    let mut host = app.socket("mod-host").await;
    host.ok("stream:join", json!({"streamId": id})).await;
    let mut troll = app.socket("troll").await;
    troll.ok("stream:join", json!({"streamId": id})).await;

    assert_eq!(troll.err("stream:chat", json!({"streamId": id, "text": "what the D4RN"})).await, "blocked");
    let warning = troll.expect("moderation:warning", |_| true).await;
    assert_eq!((warning["strikes"].clone(), warning["severity"].clone()), (json!(1), json!("high")));
    assert_eq!(warning["mutedUntil"], Value::Null);
    let ai = troll.expect("ai:warning", |_| true).await;
    assert_eq!(crate::support::checked_seq(&ai), crate::support::checked_seq(&warning), "ai:warning carries the same payload");
    host.expect_none("stream:chat", Duration::from_millis(200)).await;

    assert_eq!(troll.err("stream:chat", json!({"streamId": id, "text": "cheap coins at coins.xyz"})).await, "blocked");
    let warning = troll.expect("moderation:warning", |v| v["strikes"] == 2).await;
    assert_eq!(warning["severity"], "medium");
    assert!(warning["mutedUntil"].is_string(), "the strike limit mutes: {warning}");
    assert_eq!(troll.err("stream:chat", json!({"streamId": id, "text": "hello friends"})).await, "forbidden", "muted");
    // The mute holds in that stream only.
    troll.ok("stream:chat", json!({"streamId": other, "text": "hello elsewhere"})).await;
    host.expect_none("stream:chat", Duration::from_millis(200)).await;
    app.stop().await;
}

#[tokio::test]
async fn owners_and_moderators_delete_messages_mute_and_ban_viewers() {
    let app = spawn_app_with(live_settings).await;
    let id = stream_of(&app, "ban-host", true).await;
    let mut host = app.socket("ban-host").await;
    host.ok("stream:join", json!({"streamId": id})).await;
    let mut chatty = app.socket("chatty").await;
    chatty.ok("stream:join", json!({"streamId": id})).await;
    let mut pest = app.socket("pest").await;
    pest.ok("stream:join", json!({"streamId": id})).await;
    let moderator = socket_with_roles(&app, "site-mod", &["moderator"]).await;

    let sent = chatty.ok("stream:chat", json!({"streamId": id, "text": "oops"})).await;
    let message_id = sent["message"]["id"].as_str().unwrap().to_owned();
    assert_eq!(pest.err("stream:chat_delete", json!({"streamId": id, "messageId": message_id})).await, "forbidden");
    host.ok("stream:chat_delete", json!({"streamId": id, "messageId": message_id})).await;
    chatty.expect("stream:chat_deleted", |v| v["messageId"] == message_id.as_str()).await;
    assert_eq!(host.err("stream:chat_delete", json!({"streamId": id, "messageId": message_id})).await, "not_found");

    // A moderator (roles claim) mutes and unmutes.
    assert_eq!(pest.err("stream:moderate", json!({"streamId": id, "userId": "chatty", "action": "mute"})).await, "forbidden");
    assert_eq!(moderator.err("stream:moderate", json!({"streamId": id, "userId": "chatty", "action": "gag"})).await, "bad_request");
    assert_eq!(moderator.err("stream:moderate", json!({"streamId": id, "userId": "ban-host", "action": "ban"})).await, "bad_request");
    let muted = moderator.ok("stream:moderate", json!({"streamId": id, "userId": "chatty", "action": "mute", "durationSec": 60})).await;
    assert!(muted["until"].is_string());
    chatty.expect("stream:moderated", |v| v["action"] == "mute").await;
    assert_eq!(chatty.err("stream:chat", json!({"streamId": id, "text": "can I talk?"})).await, "forbidden");
    moderator.ok("stream:moderate", json!({"streamId": id, "userId": "chatty", "action": "unmute"})).await;
    chatty.ok("stream:chat", json!({"streamId": id, "text": "I can talk"})).await;

    // A ban takes the viewer out of the room and keeps them out.
    host.expect("stream:viewers", |v| v["viewerCount"] == 3).await;
    host.ok("stream:moderate", json!({"streamId": id, "userId": "pest", "action": "ban", "reason": "spam"})).await;
    let notice = pest.expect("stream:moderated", |v| v["action"] == "ban").await;
    assert_eq!(notice["reason"], "spam");
    host.expect("stream:viewers", |v| v["viewerCount"] == 2).await;
    assert_eq!(pest.err("stream:join", json!({"streamId": id})).await, "forbidden");
    assert_eq!(pest.err("stream:chat", json!({"streamId": id, "text": "let me in"})).await, "forbidden");
    assert_eq!(pest.err("stream:like", json!({"streamId": id, "count": 5})).await, "forbidden", "no taps from a banned viewer");

    // The app backend lifts it through the server API.
    let path = "/api/server/moderation/unban";
    let (status, _) = app.rest(Method::POST, path, Some(SERVER_KEY), Some(json!({"userId": "pest", "scope": "elsewhere"}))).await;
    assert_eq!(status, 400, "a scope is global or stream:{{id}}");
    let (status, _) = app.rest(Method::POST, path, Some(&app.token("pest")), Some(json!({"userId": "pest", "scope": format!("stream:{id}")}))).await;
    assert_eq!(status, 403, "a user token is not the server key");
    let (status, body) = app.rest(Method::POST, path, Some(SERVER_KEY), Some(json!({"userId": "pest", "scope": format!("stream:{id}")}))).await;
    assert_eq!((status, body["data"]["changed"].clone()), (200, json!(true)));
    pest.ok("stream:join", json!({"streamId": id})).await;
    app.stop().await;
}

#[tokio::test]
async fn wallet_credits_are_idempotent_by_reference_and_balances_show_on_both_doors() {
    let app = spawn_app_with(live_settings).await;
    let mut saver = app.socket("saver").await;
    assert_eq!(saver.ok("wallet:balance", json!({})).await, json!({"balance": 0, "earnings": 0}));
    let (status, first) = credit(&app, "saver", 500, "order-1").await;
    assert_eq!(status, 200, "{first}");
    assert_eq!((first["data"]["balance"].clone(), first["data"]["replayed"].clone()), (json!(500), json!(false)));
    saver.expect("wallet:updated", |v| v["balance"] == 500).await;
    let (status, again) = credit(&app, "saver", 500, "order-1").await;
    assert_eq!(status, 200);
    assert_eq!(again["data"]["transaction"]["id"], first["data"]["transaction"]["id"], "the same reference is the same credit");
    assert_eq!(again["data"]["replayed"], true);
    let (status, body) = credit(&app, "saver", 900, "order-1").await;
    assert_eq!((status, body["error"]["code"].clone()), (409, json!("conflict")));
    for bad in [json!(0), json!(-5), json!(1.5), json!(10_000_000_000i64)] {
        let (status, _) = app
            .rest(Method::POST, "/api/server/wallets/saver/credit", Some(SERVER_KEY), Some(json!({"amount": bad, "reference": "bad"})))
            .await;
        assert_eq!(status, 400, "amount {bad}");
    }
    let (status, _) = app.rest(Method::POST, "/api/server/wallets/saver/credit", Some(&app.token("saver")), Some(json!({"amount": 5, "reference": "self"}))).await;
    assert_eq!(status, 403, "users cannot credit themselves");
    assert_eq!(wallet(&app, "saver").await, json!({"balance": 500, "earnings": 0}));
    assert_eq!(saver.ok("wallet:balance", json!({})).await["balance"], 500);
    app.stop().await;
}

#[tokio::test]
async fn gifts_pay_the_creator_move_the_throne_and_raise_og_tiers() {
    let app = spawn_app_with(live_settings).await;
    let id = stream_of(&app, "gift-host", true).await;
    let mut host = app.socket("gift-host").await;
    host.ok("stream:join", json!({"streamId": id})).await;
    let mut fan1 = app.socket("fan-one").await;
    fan1.ok("stream:join", json!({"streamId": id})).await;
    let fan2 = app.socket("fan-two").await;
    fan2.ok("stream:join", json!({"streamId": id})).await;
    credit(&app, "fan-one", 2000, "fan-one-topup").await;
    credit(&app, "fan-two", 2000, "fan-two-topup").await;

    // Bad input changes nothing.
    let gift = |gift_id: &str, count: Value, tx: &str| json!({"streamId": id, "giftId": gift_id, "count": count, "clientTxId": tx});
    assert_eq!(fan1.err("gift:send", gift("diamond", json!(1), "bad-1")).await, "bad_request");
    assert_eq!(fan1.err("gift:send", gift("boost", json!(1), "bad-2")).await, "bad_request", "a boost is not a gift");
    for count in [json!(0), json!(-1), json!(1_000_000), json!(2.5)] {
        assert_eq!(fan1.err("gift:send", gift("rose", count.clone(), "bad-3")).await, "bad_request", "count {count}");
    }
    assert_eq!(fan1.err("gift:send", json!({"streamId": id, "giftId": "rose", "count": 1})).await, "bad_request", "clientTxId is required");
    assert_eq!(fan1.err("gift:send", json!({"streamId": "nope", "giftId": "rose", "count": 1, "clientTxId": "bad-4"})).await, "not_found");
    credit(&app, "gift-host", 100, "host-topup").await;
    assert_eq!(host.err("gift:send", gift("rose", json!(1), "self")).await, "bad_request", "no gifts to one's own stream");
    assert_eq!(wallet(&app, "fan-one").await["balance"], 2000);

    let sent = fan1.ok("gift:send", gift("rose", json!(5), "t1")).await;
    assert_eq!(sent["balance"], 1995);
    assert_eq!(sent["transaction"]["amount"], 5);
    assert_eq!(sent["transaction"]["kind"], "gift");
    let shown = host.expect("gift:sent", |_| true).await;
    assert_eq!((shown["sender"]["id"].clone(), shown["gift"]["id"].clone(), shown["count"].clone(), shown["coins"].clone()), (json!("fan-one"), json!("rose"), json!(5), json!(5)));
    let throne = host.expect("throne:claimed", |_| true).await;
    assert_eq!((throne["user"]["id"].clone(), throne["coins"].clone(), throne["previous"].clone()), (json!("fan-one"), json!(5), Value::Null));

    fan2.ok("gift:send", gift("heart", json!(1), "t1")).await;
    let throne = host.expect("throne:claimed", |v| v["user"]["id"] == "fan-two").await;
    assert_eq!(throne["coins"], 10);
    assert_eq!(throne["previous"]["user"]["id"], "fan-one");
    assert_eq!(throne["previous"]["coins"], 5);

    fan1.ok("gift:send", gift("rose", json!(5), "t2")).await;
    let crown = fan1.ok("gift:send", gift("crown", json!(1), "t3")).await;
    assert_eq!(crown["balance"], 1890);
    let throne = host.expect("throne:claimed", |v| v["user"]["id"] == "fan-one").await;
    assert_eq!((throne["coins"].clone(), throne["previous"]["user"]["id"].clone()), (json!(110), json!("fan-two")), "a tie does not take the throne; passing it does");
    let og = fan1.expect("og:changed", |_| true).await;
    assert_eq!((og["creatorId"].clone(), og["tier"].clone(), og["previousTier"].clone()), (json!("gift-host"), json!("bronze"), Value::Null));
    host.expect("og:changed", |v| v["userId"] == "fan-one").await;

    // Retries are safe; a different transaction under the same clientTxId is not.
    let replay = fan1.ok("gift:send", gift("crown", json!(1), "t3")).await;
    assert_eq!((replay["replayed"].clone(), replay["balance"].clone()), (json!(true), json!(1890)));
    assert_eq!(replay["transaction"]["id"], crown["transaction"]["id"]);
    assert_eq!(fan1.err("gift:send", gift("crown", json!(2), "t3")).await, "conflict");
    assert_eq!(fan1.err("gift:send", gift("rocket", json!(1), "t3")).await, "conflict");
    assert_eq!(wallet(&app, "fan-one").await["balance"], 1890);

    // Too few coins.
    let broke = app.socket("broke-fan").await;
    credit(&app, "broke-fan", 5, "broke-topup").await;
    assert_eq!(broke.err("gift:send", json!({"streamId": id, "giftId": "rocket", "count": 1, "clientTxId": "r1"})).await, "conflict");
    assert_eq!(wallet(&app, "broke-fan").await["balance"], 5);

    let note = host.expect("notification:new", |v| v["notification"]["type"] == "gift").await;
    assert_eq!(note["notification"]["subject"], json!({"kind": "stream", "id": id}));
    let earned = wallet(&app, "gift-host").await;
    assert_eq!(earned, json!({"balance": 100, "earnings": 120}));
    let m = host.expect("metrics:update", |v| v["coins"] == 120).await;
    assert_eq!(m["gifts"], 12, "gifts count units: 5 + 1 + 5 + 1");

    // REST door: the same service.
    let (status, body) = app
        .rest(Method::POST, &format!("/api/streams/{id}/gifts"), Some(&app.token("fan-two")), Some(json!({"giftId": "rose", "count": 1, "clientTxId": "rest-1"})))
        .await;
    assert_eq!((status, body["data"]["balance"].clone()), (200, json!(1989)));
    let joined = fan2.ok("stream:join", json!({"streamId": id})).await;
    assert_eq!(joined["throne"]["user"]["id"], "fan-one");
    assert_eq!(joined["og"]["coins"], 11);
    app.stop().await;
}

#[tokio::test]
async fn concurrent_gifts_never_overdraw_a_wallet() {
    let app = spawn_app_with(live_settings).await;
    let id = stream_of(&app, "rush-host", true).await;
    let buyer = app.socket("rush-buyer").await;
    credit(&app, "rush-buyer", 10, "rush").await;
    let acks = join_all((0..20).map(|i| {
        buyer.call("gift:send", json!({"streamId": id, "giftId": "rose", "count": 1, "clientTxId": format!("rush-{i}")}))
    }))
    .await;
    let ok = acks.iter().filter(|a| a["ok"] == true).count();
    let refused = acks.iter().filter(|a| a["error"]["code"] == "conflict").count();
    assert_eq!((ok, refused), (10, 10), "{acks:?}");
    assert_eq!(wallet(&app, "rush-buyer").await["balance"], 0);
    assert_eq!(wallet(&app, "rush-host").await["earnings"], 10);
    let (_, shown) = app.rest(Method::GET, &format!("/api/streams/{id}"), None, None).await;
    assert_eq!((shown["data"]["stream"]["coins"].clone(), shown["data"]["stream"]["gifts"].clone()), (json!(10), json!(10)));
    app.stop().await;
}

#[tokio::test]
async fn a_battle_runs_from_invitation_to_a_winner() {
    let app = spawn_app_with(live_settings).await;
    let a = stream_of(&app, "host-a", true).await;
    let b = stream_of(&app, "host-b", true).await;
    let a_second = stream_of(&app, "host-a", true).await;
    let idle = stream_of(&app, "host-c", false).await;
    let host_a = app.socket("host-a").await;
    host_a.ok("stream:join", json!({"streamId": a})).await;
    let mut host_b = app.socket("host-b").await;
    host_b.ok("stream:join", json!({"streamId": b})).await;
    let mut fan = app.socket("battle-fan").await;
    fan.ok("stream:join", json!({"streamId": a})).await;
    credit(&app, "battle-fan", 1000, "battle-topup").await;

    let start = |from: &str, to: &str, secs: i64| json!({"streamId": from, "opponentStreamId": to, "durationSec": secs});
    assert_eq!(host_a.err("battle:start", start(&a, &a, 2)).await, "bad_request");
    assert_eq!(host_a.err("battle:start", start(&a, &a_second, 2)).await, "bad_request", "one's own other stream");
    assert_eq!(host_b.err("battle:start", start(&a, &b, 2)).await, "forbidden");
    assert_eq!(host_a.err("battle:start", start(&a, &idle, 2)).await, "conflict");
    assert_eq!(host_a.err("battle:start", start(&a, &b, 0)).await, "bad_request");
    assert_eq!(host_a.err("battle:start", start(&a, &b, 10_000)).await, "bad_request");

    let pending = host_a.ok("battle:start", start(&a, &b, 2)).await;
    assert_eq!(pending["battle"]["status"], "pending");
    let battle_id = pending["battle"]["id"].as_str().unwrap().to_owned();
    let invite = host_b.expect("battle:invite", |_| true).await;
    assert_eq!(invite["battle"]["id"], battle_id.as_str());
    assert_eq!(invite["from"]["id"], "host-a");
    assert_eq!(host_a.err("battle:start", start(&a, &b, 2)).await, "conflict", "already in a battle");
    let boost = |side: &str, boost_id: &str, tx: &str| json!({"battleId": battle_id, "side": side, "boostId": boost_id, "clientTxId": tx});
    assert_eq!(fan.err("battle:boost", boost(&b, "boost", "early")).await, "conflict", "not started yet");
    assert_eq!(fan.err("battle:accept", json!({"battleId": battle_id})).await, "forbidden");

    let started = host_b.ok("battle:accept", json!({"battleId": battle_id})).await;
    assert_eq!(started["battle"]["status"], "active");
    let shown = fan.expect("battle:started", |_| true).await;
    assert!(shown["endsAt"].is_string());

    // A gift to stream a scores for a; boosts bought for b score for b.
    fan.ok("gift:send", json!({"streamId": a, "giftId": "crown", "count": 1, "clientTxId": "battle-gift"})).await;
    let boosted = fan.ok("battle:boost", boost(&b, "boost", "boost-1")).await;
    assert_eq!(boosted["balance"], 850);
    assert_eq!(boosted["scores"], json!({ a.clone(): 100, b.clone(): 100 }));
    fan.ok("battle:boost", boost(&b, "boost", "boost-2")).await;
    assert_eq!(fan.err("battle:boost", boost("elsewhere", "boost", "boost-3")).await, "bad_request");
    assert_eq!(fan.err("battle:boost", boost(&b, "rose", "boost-4")).await, "bad_request");
    assert_eq!(host_b.err("battle:boost", boost(&b, "boost", "boost-5")).await, "bad_request", "no boosting one's own side");
    fan.expect("battle:update", |v| v["scores"][&b] == 200 && v["scores"][&a] == 100).await;

    let ended = fan.expect("battle:ended", |_| true).await;
    assert_eq!(ended["battleId"], battle_id.as_str());
    assert_eq!(ended["winner"], b.as_str());
    assert_eq!(ended["scores"], json!({ a.clone(): 100, b.clone(): 200 }));
    host_b.expect("battle:ended", |_| true).await;
    assert_eq!(fan.err("battle:boost", boost(&b, "boost", "boost-late")).await, "conflict", "the battle is over");
    let replay = fan.ok("battle:boost", boost(&b, "boost", "boost-1")).await;
    assert_eq!((replay["replayed"].clone(), replay["balance"].clone()), (json!(true), json!(850)));
    assert_eq!(wallet(&app, "battle-fan").await["balance"], 800);
    assert_eq!(wallet(&app, "host-b").await["earnings"], 100);

    // Both streams are free again; a challenger may withdraw an invitation.
    let again = host_a.ok("battle:start", start(&a, &b, 2)).await;
    let again_id = again["battle"]["id"].as_str().unwrap().to_owned();
    host_a.ok("battle:decline", json!({"battleId": again_id})).await;
    host_b.expect("battle:cancelled", |v| v["battleId"] == again_id.as_str()).await;
    assert_eq!(host_b.err("battle:accept", json!({"battleId": again_id})).await, "conflict");
    app.stop().await;
}

#[tokio::test]
async fn battle_invitations_expire_or_are_declined_and_an_ending_stream_ends_its_battle() {
    let app = spawn_app_with(|s| {
        live_settings(s);
        s.live.battle_invite_ttl = Duration::from_secs(1);
    })
    .await;
    let a = stream_of(&app, "ttl-a", true).await;
    let b = stream_of(&app, "ttl-b", true).await;
    let mut host_a = app.socket("ttl-a").await;
    let mut host_b = app.socket("ttl-b").await;
    let start = json!({"streamId": a, "opponentStreamId": b, "durationSec": 60});

    let first = host_a.ok("battle:start", start.clone()).await["battle"]["id"].as_str().unwrap().to_owned();
    host_a.expect("battle:expired", |v| v["battleId"] == first.as_str()).await;
    host_b.expect("battle:expired", |v| v["battleId"] == first.as_str()).await;
    assert_eq!(host_b.err("battle:accept", json!({"battleId": first})).await, "conflict");

    let second = host_a.ok("battle:start", start.clone()).await["battle"]["id"].as_str().unwrap().to_owned();
    assert_eq!(host_b.ok("battle:decline", json!({"battleId": second})).await["battle"]["status"], "declined");
    host_a.expect("battle:declined", |v| v["battleId"] == second.as_str()).await;

    let third = host_a.ok("battle:start", start).await["battle"]["id"].as_str().unwrap().to_owned();
    host_b.ok("battle:accept", json!({"battleId": third})).await;
    host_b.ok("stream:status", json!({"streamId": b, "status": "ended"})).await;
    let ended = host_a.expect("battle:ended", |v| v["battleId"] == third.as_str()).await;
    assert_eq!(ended["winner"], "tie");
    app.stop().await;
}

// ------------------------------------------------------------------ store level



fn gift_order(sender: &str, stream: &str, client_tx_id: &str, coins: i64) -> GiftOrder {
    GiftOrder {
        tx_id: uuid::Uuid::now_v7().to_string(),
        sender_id: sender.into(),
        stream_id: stream.into(),
        gift_id: "heart".into(),
        count: 1,
        coins,
        client_tx_id: client_tx_id.into(),
        at: Timestamp::now(),
    }
}

/// N concurrent gifts against a balance that covers N/2: exactly N/2 are paid, the
/// balance ends at zero, and every total agrees. A clientTxId sent many times at once
/// is paid once.
async fn wallet_store_concurrency(store: SqlStore) {
    let store = Arc::new(store);
    let now = Timestamp::now();
    store.create_stream(&NewStream { id: "conc-stream".into(), owner_id: "conc-creator".into(), title: "t".into(), at: now }).await.unwrap();
    StreamStore::set_status(store.as_ref(), "conc-stream", StreamStatus::Live, now, silent()).await.unwrap().outcome.expect("live");
    let n = 40;
    let price = 5;
    let order = |amount, reference: &str| CreditOrder { tx_id: uuid::Uuid::now_v7().to_string(), user_id: "conc-fan".into(), amount, reference: reference.into(), at: now };
    store.credit(&order(price * n / 2, "conc-1")).await.unwrap();
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let s = store.clone();
            tokio::spawn(async move { s.send_gift(&gift_order("conc-fan", "conc-stream", &format!("c{i}"), price), silent()).await.unwrap().outcome })
        })
        .collect();
    let outcomes: Vec<GiftOutcome> = join_all(tasks).await.into_iter().map(|r| r.unwrap()).collect();
    let paid = outcomes.iter().filter(|o| matches!(o, GiftOutcome::Applied(_))).count();
    let refused = outcomes.iter().filter(|o| matches!(o, GiftOutcome::Insufficient)).count();
    assert_eq!((paid, refused), (n as usize / 2, n as usize / 2));
    assert_eq!(store.wallet("conc-fan").await.unwrap().balance, 0);
    assert_eq!(store.wallet("conc-creator").await.unwrap().earnings, price * n / 2);
    let stream = store.stream("conc-stream").await.unwrap().unwrap();
    assert_eq!((stream.coins, stream.gifts), (price * n / 2, n / 2));
    assert_eq!(stream.throne, Some(("conc-fan".to_owned(), price * n / 2)));
    assert_eq!(store.supporter_coins("conc-creator", "conc-fan").await.unwrap(), price * n / 2);

    store.credit(&order(50, "conc-2")).await.unwrap();
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let s = store.clone();
            tokio::spawn(async move { s.send_gift(&gift_order("conc-fan", "conc-stream", "same-tx", price), silent()).await.unwrap().outcome })
        })
        .collect();
    let outcomes: Vec<GiftOutcome> = join_all(tasks).await.into_iter().map(|r| r.unwrap()).collect();
    let paid = outcomes.iter().filter(|o| matches!(o, GiftOutcome::Applied(_))).count();
    let replays = outcomes.iter().filter(|o| matches!(o, GiftOutcome::Replay(_))).count();
    assert_eq!((paid, replays), (1, 9));
    assert_eq!(store.wallet("conc-fan").await.unwrap().balance, 50 - price);
    // A replayed credit reference adds nothing.
    store.credit(&order(50, "conc-2")).await.unwrap();
    assert_eq!(store.wallet("conc-fan").await.unwrap().balance, 50 - price);
    store.close().await;
}

#[tokio::test]
async fn wallet_store_never_overdraws_under_concurrency_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("wallet.db").display());
    wallet_store_concurrency(SqlStore::connect(&url, &chorus::lifecycle::Tasks::new()).await.expect("sqlite store")).await;
}

#[tokio::test]
async fn wallet_store_never_overdraws_under_concurrency_on_postgres() {
    let db = PgDatabase::create().await;
    let url = db.url.clone();
    wallet_store_concurrency(SqlStore::connect(&url, &chorus::lifecycle::Tasks::new()).await.expect("postgres store")).await;
    db.drop_now().await;
}

/// Every live-stream statement on PostgreSQL: streams, likes, chat and its deletion,
/// strikes and mutes, bans, credits, gifts, the throne and a whole battle.
#[tokio::test]
async fn a_node_on_postgres_runs_streams_chat_gifts_and_battles() {
    let db = PgDatabase::create().await;
    let url = db.url.clone();
    let app = spawn_app_with(|s| {
        live_settings(s);
        s.store.database_url = url.clone().into();
        s.moderation.blocklist = "darn".into();
        s.moderation.strike_limit = 1;
    })
    .await;
    let a = stream_of(&app, "pg-host-a", true).await;
    let b = stream_of(&app, "pg-host-b", true).await;
    let mut host_a = app.socket("pg-host-a").await;
    host_a.ok("stream:join", json!({"streamId": a})).await;
    let host_b = app.socket("pg-host-b").await;
    let mut fan = app.socket("pg-fan").await;
    fan.ok("stream:join", json!({"streamId": a})).await;
    let troll = app.socket("pg-troll").await;

    assert_eq!(fan.ok("stream:like", json!({"streamId": a, "count": 2})).await["likes"], 2);
    let sent = fan.ok("stream:chat", json!({"streamId": a, "text": "hi from postgres"})).await;
    host_a.ok("stream:chat_delete", json!({"streamId": a, "messageId": sent["message"]["id"]})).await;
    assert_eq!(troll.err("stream:chat", json!({"streamId": a, "text": "darn"})).await, "blocked");
    assert_eq!(troll.err("stream:chat", json!({"streamId": a, "text": "fine words"})).await, "forbidden", "muted at one strike");
    host_a.ok("stream:moderate", json!({"streamId": a, "userId": "pg-troll", "action": "ban"})).await;
    assert_eq!(troll.err("stream:join", json!({"streamId": a})).await, "forbidden");
    host_a.ok("stream:moderate", json!({"streamId": a, "userId": "pg-troll", "action": "unban"})).await;
    troll.ok("stream:join", json!({"streamId": a})).await;

    credit(&app, "pg-fan", 1000, "pg-topup").await;
    let (status, _) = credit(&app, "pg-fan", 1000, "pg-topup").await;
    assert_eq!(status, 200);
    fan.ok("gift:send", json!({"streamId": a, "giftId": "crown", "count": 1, "clientTxId": "pg-1"})).await;
    host_a.expect("throne:claimed", |v| v["user"]["id"] == "pg-fan").await;
    fan.expect("og:changed", |v| v["tier"] == "bronze").await;
    assert_eq!(fan.ok("gift:send", json!({"streamId": a, "giftId": "crown", "count": 1, "clientTxId": "pg-1"})).await["replayed"], true);

    let battle = host_a.ok("battle:start", json!({"streamId": a, "opponentStreamId": b, "durationSec": 1})).await;
    let battle_id = battle["battle"]["id"].as_str().unwrap().to_owned();
    host_b.ok("battle:accept", json!({"battleId": battle_id})).await;
    fan.ok("gift:send", json!({"streamId": a, "giftId": "heart", "count": 1, "clientTxId": "pg-2"})).await;
    let boosted = fan.ok("battle:boost", json!({"battleId": battle_id, "side": b, "boostId": "boost", "clientTxId": "pg-3"})).await;
    assert_eq!(boosted["scores"], json!({ a.clone(): 10, b.clone(): 100 }));
    let ended = fan.expect("battle:ended", |_| true).await;
    assert_eq!(ended["winner"], b.as_str());
    assert_eq!(wallet(&app, "pg-fan").await["balance"], 1000 - 100 - 10 - 50);
    assert_eq!(wallet(&app, "pg-host-a").await["earnings"], 110);
    fan.expect("metrics:update", |v| v["coins"] == 110 && v["likes"] == 2).await;
    host_a.ok("stream:status", json!({"streamId": a, "status": "ended"})).await;
    assert_eq!(fan.err("stream:chat", json!({"streamId": a, "text": "bye"})).await, "conflict");
    drop((host_a, host_b, fan, troll));
    app.stop().await;
    db.drop_now().await;
}
