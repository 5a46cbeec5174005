//! The ack envelope and error model (PROTOCOL.md §2) and payload limits.

use std::time::Duration;

use serde_json::json;

use crate::support::{TestSocket, spawn_app, spawn_app_with};

#[tokio::test]
async fn payloads_of_the_wrong_shape_get_bad_request_and_change_nothing() {
    let app = spawn_app().await;
    let s = app.socket("shape").await;
    for bad in [json!(5), json!("x"), json!({}), json!({"contentId": 5}), json!({"contentId": ""}), json!({"contentId": "a b"}), json!(null), json!([1, 2])] {
        assert_eq!(s.err("content:like", bad).await, "bad_request");
    }
    assert_eq!(s.err("content:comment", json!({"contentId": "v", "text": "   "})).await, "bad_request");
    assert_eq!(s.err("content:comment", json!({"contentId": "v", "text": "x".repeat(100_000)})).await, "bad_request");
    assert_eq!(s.err("content:comment", json!({"contentId": "v", "text": 12})).await, "bad_request");
    assert_eq!(s.err("content:progress", json!({"contentId": "v", "watchTime": -1})).await, "bad_request");
    assert_eq!(s.err("content:progress", json!({"contentId": "v", "watchTime": 1e12})).await, "bad_request");
    assert_eq!(s.err("ranking:subscribe", json!({"scope": "type:video", "limit": 100000})).await, "bad_request");
    assert_eq!(s.err("ranking:subscribe", json!({"scope": "nonsense"})).await, "bad_request");
    // Nothing was written: the item has no comments and no likes.
    let joined = s.ok("content:join", json!({"contentId": "v"})).await;
    assert_eq!(joined["counts"], json!({"likes": 0, "comments": 0, "views": 0, "shares": 0}));
    // Unknown fields are ignored.
    s.ok("content:like", json!({"contentId": "v", "extra": {"deep": true}})).await;
    app.stop().await;
}

#[tokio::test]
async fn unknown_events_and_failed_commands_without_ack_emit_error() {
    let app = spawn_app().await;
    let mut s = app.socket("noack").await;
    s.emit("no:such:event", json!({"x": 1}));
    let e = s.expect("error", |v| v["event"] == "no:such:event").await;
    assert_eq!(e["code"], "bad_request");
    s.emit("content:like", json!({"contentId": 42}));
    let e = s.expect("error", |v| v["event"] == "content:like").await;
    assert_eq!(e["code"], "bad_request");
    assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert_eq!(s.err("comment:edit", json!({"commentId": "missing", "text": "x"})).await, "not_found");
    app.stop().await;
}

#[tokio::test]
async fn an_oversized_packet_closes_only_its_sender() {
    let app = spawn_app_with(|s| s.server.max_payload_bytes = 16 * 1024).await;
    let mut watcher = app.socket("watcher").await;
    watcher.ok("content:join", json!({"contentId": "big"})).await;
    let flooder = app.socket("flooder").await;
    flooder.emit("content:comment", json!({"contentId": "big", "text": "y".repeat(64 * 1024)}));
    assert!(flooder.closed_within(Duration::from_secs(5)).await, "oversized sender still connected");
    let other = app.socket("other").await;
    other.ok("content:like", json!({"contentId": "big"})).await;
    let like = watcher.expect("content:like", |v| v["userId"] == "other").await;
    assert_eq!(like["likesCount"], 1);
    app.stop().await;
}

#[tokio::test]
async fn commands_sent_right_behind_connect_are_never_lost() {
    // socketioxide acks CONNECT before a connect handler runs; Chorus installs its
    // router in the connect middleware, so an event sent in the same burst as
    // CONNECT (before the client saw the answer) must still be handled.
    let app = spawn_app().await;
    let token = app.token("eager");
    for i in 0..1000 {
        // Ack ids the client's own counter never reaches.
        let early = vec![format!("42900{}", json!(["content:join", {"contentId": format!("eager-{}", i % 7)}]))];
        let s = TestSocket::connect_with_early(app.addr, Some(json!({"token": token})), "", None, early).await.expect("connect");
        let ack = s.ack_for(900).await;
        assert_eq!(ack["ok"], true, "iteration {i}: {ack}");
        s.close();
    }
    app.stop().await;
}

#[tokio::test]
async fn an_oversized_polling_post_is_refused_and_the_server_keeps_serving() {
    let app = spawn_app_with(|s| s.server.max_payload_bytes = 16 * 1024).await;
    let mut watcher = app.socket("poll-watcher").await;
    watcher.ok("content:join", json!({"contentId": "poll"})).await;
    // Engine.IO polling handshake: "0{...sid...}".
    let open = app.http.get(app.url("/socket.io/?EIO=4&transport=polling")).send().await.unwrap().text().await.unwrap();
    let open: serde_json::Value = serde_json::from_str(open.trim_start_matches('0')).expect("open packet");
    let sid = open["sid"].as_str().unwrap().to_owned();
    let big = format!("42{}", json!(["content:comment", {"contentId": "poll", "text": "z".repeat(64 * 1024)}]));
    let res = app
        .http
        .post(app.url(&format!("/socket.io/?EIO=4&transport=polling&sid={sid}")))
        .body(big)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_client_error(), "oversized polling body accepted: {}", res.status());
    let other = app.socket("poll-other").await;
    other.ok("content:like", json!({"contentId": "poll"})).await;
    watcher.expect("content:like", |v| v["likesCount"] == 1).await;
    app.stop().await;
}
