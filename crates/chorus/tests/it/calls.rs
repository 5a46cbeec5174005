//! Call signalling (PROTOCOL.md §10): ringing every device, the first accept winning,
//! signals between parties only, rejects, hang-ups, busy callees, ring timeouts with a
//! missed-call notification, room calls and dropped connections.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{TestApp, spawn_app, spawn_app_with};

fn call_id(ack: &Value) -> String {
    ack["callId"].as_str().expect("callId").to_owned()
}

async fn group_room(app: &TestApp, owner: &str, members: &[&str]) -> String {
    let (status, body) = app
        .rest(Method::POST, "/api/chat/rooms", Some(&app.token(owner)), Some(json!({"kind": "group", "title": "Team", "memberIds": members})))
        .await;
    assert_eq!(status, 201, "{body}");
    body["data"]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_call_rings_every_device_the_first_accept_wins_and_signals_flow_between_parties_only() {
    let app = spawn_app().await;
    let mut ann = app.socket("ann").await;
    let mut bob_phone = app.socket("bob").await;
    let mut bob_laptop = app.socket("bob").await;
    let eve = app.socket("eve").await;

    let id = call_id(&ann.ok("call:invite", json!({"toUserId": "bob", "media": "video"})).await);
    for device in [&mut bob_phone, &mut bob_laptop] {
        let incoming = device.expect("call:incoming", |v| v["callId"] == id.as_str()).await;
        assert_eq!((incoming["from"]["id"].clone(), incoming["media"].clone()), (json!("ann"), json!("video")));
    }
    ann.expect_none("call:incoming", Duration::from_millis(100)).await;
    assert_eq!(ann.err("call:signal", json!({"callId": id, "toUserId": "bob", "signal": {"type": "offer"}})).await, "forbidden", "bob only rings");

    let joined = bob_laptop.ok("call:accept", json!({"callId": id})).await;
    assert_eq!(joined, json!({"callId": id, "partyIds": ["ann"]}));
    assert_eq!(ann.expect("call:accepted", |v| v["callId"] == id.as_str()).await["userId"], "bob");
    let elsewhere = bob_phone.expect("call:ended", |v| v["callId"] == id.as_str()).await;
    assert_eq!(elsewhere["reason"], "answered_elsewhere");
    bob_laptop.expect_none("call:ended", Duration::from_millis(100)).await;
    assert_eq!(bob_phone.err("call:accept", json!({"callId": id})).await, "conflict", "the second accept");
    assert_eq!(bob_laptop.err("call:accept", json!({"callId": id})).await, "conflict", "accepting twice");

    let offer = json!({"type": "offer", "sdp": "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"});
    ann.ok("call:signal", json!({"callId": id, "toUserId": "bob", "signal": offer})).await;
    let got = bob_laptop.expect("call:signal", |v| v["callId"] == id.as_str()).await;
    assert_eq!(crate::support::checked_seq(&got), json!({"callId": id, "fromUserId": "ann", "signal": offer}));
    let candidate = json!({"candidate": "candidate:1 1 udp 2122260223 10.0.0.1 54321 typ host", "sdpMid": "0"});
    bob_laptop.ok("call:signal", json!({"callId": id, "toUserId": "ann", "signal": candidate})).await;
    assert_eq!(ann.expect("call:signal", |v| v["callId"] == id.as_str()).await["signal"], candidate);

    // Signals go nowhere else.
    assert_eq!(eve.err("call:signal", json!({"callId": id, "toUserId": "bob", "signal": offer})).await, "forbidden", "a stranger");
    assert_eq!(ann.err("call:signal", json!({"callId": id, "toUserId": "eve", "signal": offer})).await, "forbidden", "to a non-party");
    assert_eq!(bob_phone.err("call:signal", json!({"callId": id, "toUserId": "ann", "signal": offer})).await, "forbidden", "the other device");
    assert_eq!(ann.err("call:signal", json!({"callId": "no-such-call", "toUserId": "bob", "signal": offer})).await, "not_found");
    assert_eq!(eve.err("call:accept", json!({"callId": id})).await, "forbidden");
    let big = json!({"callId": id, "toUserId": "bob", "signal": {"sdp": "x".repeat(70_000)}});
    assert_eq!(ann.err("call:signal", big).await, "payload_too_large");
    bob_phone.expect_none("call:signal", Duration::from_millis(100)).await;

    ann.ok("call:end", json!({"callId": id})).await;
    assert_eq!(bob_laptop.expect("call:ended", |v| v["callId"] == id.as_str()).await["reason"], "ended");
    assert_eq!(ann.err("call:signal", json!({"callId": id, "toUserId": "bob", "signal": offer})).await, "not_found");
    assert_eq!(ann.err("call:end", json!({"callId": id})).await, "not_found");
    app.stop().await;
}

#[tokio::test]
async fn an_unanswered_call_times_out_into_a_missed_call_notification() {
    let app = spawn_app_with(|s| s.calls.ring_timeout = Duration::from_millis(300)).await;
    let mut ann = app.socket("ann").await;
    let mut bob = app.socket("bob").await;
    let id = call_id(&ann.ok("call:invite", json!({"toUserId": "bob", "media": "audio"})).await);
    bob.expect("call:incoming", |v| v["callId"] == id.as_str()).await;
    assert_eq!(bob.expect("call:ended", |v| v["callId"] == id.as_str()).await["reason"], "timeout");
    assert_eq!(ann.expect("call:ended", |v| v["callId"] == id.as_str()).await["reason"], "timeout");
    let note = bob.expect("notification:new", |v| v["notification"]["type"] == "message").await;
    assert_eq!(note["notification"]["subject"], json!({"kind": "call", "id": id}));
    assert_eq!(note["notification"]["actor"]["id"], "ann");
    assert_eq!(note["notification"]["data"]["missed"], true);
    assert_eq!(bob.err("call:accept", json!({"callId": id})).await, "not_found", "too late");
    // Ann is free again.
    ann.ok("call:invite", json!({"toUserId": "bob", "media": "audio"})).await;
    app.stop().await;
}

#[tokio::test]
async fn busy_callees_are_refused_rejects_end_the_call_and_cancels_stop_the_ringing() {
    let app = spawn_app().await;
    let ann = app.socket("ann").await;
    let mut bob = app.socket("bob").await;
    let mut cat = app.socket("cat").await;

    let id = call_id(&ann.ok("call:invite", json!({"toUserId": "bob", "media": "audio"})).await);
    // Being rung does not make bob busy; being in a call does.
    let ringing = call_id(&cat.ok("call:invite", json!({"toUserId": "bob", "media": "audio"})).await);
    cat.ok("call:end", json!({"callId": ringing})).await;
    assert_eq!(bob.expect("call:ended", |v| v["callId"] == ringing.as_str()).await["reason"], "cancelled");
    bob.ok("call:accept", json!({"callId": id})).await;
    assert_eq!(cat.err("call:invite", json!({"toUserId": "bob", "media": "audio"})).await, "conflict");
    assert_eq!(cat.err("call:invite", json!({"toUserId": "ann", "media": "video"})).await, "conflict");
    assert_eq!(ann.err("call:invite", json!({"toUserId": "cat", "media": "video"})).await, "conflict", "the caller is busy too");
    bob.ok("call:end", json!({"callId": id})).await;

    let id = call_id(&cat.ok("call:invite", json!({"toUserId": "bob", "media": "video"})).await);
    bob.expect("call:incoming", |v| v["callId"] == id.as_str()).await;
    bob.ok("call:reject", json!({"callId": id})).await;
    assert_eq!(cat.expect("call:ended", |v| v["callId"] == id.as_str()).await["reason"], "rejected");
    assert_eq!(bob.err("call:reject", json!({"callId": id})).await, "not_found");

    for bad in [
        json!({"toUserId": "bob"}),
        json!({"toUserId": "bob", "media": "hologram"}),
        json!({"media": "audio"}),
        json!({"toUserId": "bob", "roomId": "r", "media": "audio"}),
        json!({"toUserId": "cat", "media": "audio"}),
    ] {
        assert_eq!(cat.err("call:invite", bad.clone()).await, "bad_request", "{bad}");
    }
    app.stop().await;
}

#[tokio::test]
async fn a_room_call_rings_the_members_except_the_caller() {
    let app = spawn_app().await;
    let room = group_room(&app, "ann", &["bob", "cat"]).await;
    let mut ann = app.socket("ann").await;
    let mut bob = app.socket("bob").await;
    let mut cat = app.socket("cat").await;
    let eve = app.socket("eve").await;

    assert_eq!(eve.err("call:invite", json!({"roomId": room, "media": "audio"})).await, "forbidden");
    assert_eq!(eve.err("call:invite", json!({"roomId": "no-such-room", "media": "audio"})).await, "not_found");
    let id = call_id(&ann.ok("call:invite", json!({"roomId": room, "media": "audio"})).await);
    for callee in [&mut bob, &mut cat] {
        let incoming = callee.expect("call:incoming", |v| v["callId"] == id.as_str()).await;
        assert_eq!((incoming["roomId"].clone(), incoming["from"]["id"].clone()), (json!(room), json!("ann")));
    }
    ann.expect_none("call:incoming", Duration::from_millis(100)).await;

    bob.ok("call:accept", json!({"callId": id})).await;
    ann.expect("call:accepted", |v| v["userId"] == "bob").await;
    let joined = cat.ok("call:accept", json!({"callId": id})).await;
    assert_eq!(joined["partyIds"], json!(["ann", "bob"]));
    ann.expect("call:accepted", |v| v["userId"] == "cat").await;
    bob.expect("call:accepted", |v| v["userId"] == "cat").await;
    cat.ok("call:signal", json!({"callId": id, "toUserId": "bob", "signal": {"type": "offer"}})).await;
    bob.expect("call:signal", |v| v["fromUserId"] == "cat").await;

    // Ann hangs up: the call goes on between bob and cat, then ends with the next one.
    ann.ok("call:end", json!({"callId": id})).await;
    bob.expect("call:left", |v| v["userId"] == "ann").await;
    cat.expect("call:left", |v| v["userId"] == "ann").await;
    bob.ok("call:end", json!({"callId": id})).await;
    assert_eq!(cat.expect("call:ended", |v| v["callId"] == id.as_str()).await["reason"], "ended");
    app.stop().await;
}

#[tokio::test]
async fn a_dropped_connection_leaves_its_call() {
    let app = spawn_app().await;
    let mut ann = app.socket("ann").await;
    let bob = app.socket("bob").await;
    let id = call_id(&ann.ok("call:invite", json!({"toUserId": "bob", "media": "video"})).await);
    bob.ok("call:accept", json!({"callId": id})).await;
    bob.close();
    assert_eq!(ann.expect("call:ended", |v| v["callId"] == id.as_str()).await["reason"], "disconnected");
    // Both are free again.
    let bob = app.socket("bob").await;
    bob.ok("call:invite", json!({"toUserId": "ann", "media": "audio"})).await;
    app.stop().await;
}
