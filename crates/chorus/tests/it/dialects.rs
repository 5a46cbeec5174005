//! Seed dialects over the wire (docs/dialects.md §0): selection at connect, and bad
//! input in a dialect refused as natively, with nothing changed and the server serving.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{SERVER_KEY, TestSocket, spawn_app_with, token_for};

/// Payloads no dialect command accepts: wrong types, empty, over-long and hostile ids.
fn hostile_payloads() -> Vec<Value> {
    let long = "x".repeat(129);
    vec![
        json!("bare string"),
        json!(42),
        json!([1, 2, 3]),
        json!({ "contentId": null, "chatRoomId": null }),
        json!({ "contentId": "", "chatRoomId": "" }),
        json!({ "contentId": long, "chatRoomId": long }),
        json!({ "contentId": "a b", "chatRoomId": "a\u{0}b" }),
        json!({ "contentId": -1, "chatRoomId": 1.5 }),
        json!({ "contentId": { "$gt": "" }, "chatRoomId": ["r"] }),
    ]
    .into_iter()
    .map(with_the_other_id_fields)
    .collect()
}

/// The same bad values under the id fields of the `interactions` and `chatblog`
/// dialects, so each of their events meets them in the field it reads.
fn with_the_other_id_fields(payload: Value) -> Value {
    let Value::Object(mut map) = payload else { return payload };
    if let Some(bad) = map.get("contentId").cloned() {
        for field in ["mediaId", "streamId", "commentId", "postId", "messageId"] {
            map.insert(field.into(), bad.clone());
        }
    }
    if let Some(bad) = map.get("chatRoomId").cloned() {
        map.insert("chatId".into(), bad.clone());
        map.insert("roomId".into(), bad);
    }
    Value::Object(map)
}

#[tokio::test]
async fn bad_input_in_every_dialect_command_is_refused_as_natively_and_changes_nothing() {
    let app = spawn_app_with(|s| s.server.dialect = Some("video".into())).await;
    let (status, _) = app.rest(Method::PUT, "/api/server/content/target", Some(SERVER_KEY), Some(json!({ "type": "video", "ownerId": "owner" }))).await;
    assert_eq!(status, 200);
    let video = app.socket("mallory").await;
    let chat = TestSocket::connect(app.addr, Some(json!({ "token": token_for("mallory", 3600), "dialect": "chatnotify" })), "", None)
        .await
        .expect("chatnotify socket");
    let content = TestSocket::connect(app.addr, Some(json!({ "token": token_for("mallory", 3600), "dialect": "interactions" })), "", None)
        .await
        .expect("interactions socket");
    let blog = TestSocket::connect(app.addr, Some(json!({ "token": token_for("mallory", 3600), "dialect": "chatblog" })), "", None)
        .await
        .expect("chatblog socket");
    let cases: &[(&TestSocket, &[&str])] = &[
        // `leave-room` takes a bare id, and a number is one (B-R1): leaving a room one
        // is not in acks, as natively; its bad ids are tried below.
        (&blog, &["join-room", "send-message", "typing-start", "typing-stop", "send-reaction", "share-location", "initiate-call", "like-post"]),
        (&content, &[
            "join-content", "leave-content", "join-media", "leave-media", "content-reaction", "content-comment", "media-reaction",
            "new-comment", "comment-reaction", "join-stream", "leave-stream", "stream-chat", "live-chat-message", "stream-status",
            "stream-update", "typing-start", "typing-stop", "typing-indicator", "send-message", "join-chat", "leave-chat",
            "chat-typing-start", "chat-typing-stop",
        ]),
        (&video, &["video:join", "video:leave", "feed:new_content", "video:comment_typing", "video:watch_progress", "video:quality_change"]),
        (&chat, &["join_room", "leave_room", "send_message", "get_history", "typing", "mark_read"]),
    ];
    for (socket, events) in cases {
        for event in *events {
            for payload in hostile_payloads() {
                let ack = socket.call(event, payload.clone()).await;
                assert_eq!(ack["ok"], json!(false), "{event} {payload} was accepted: {ack}");
                let code = ack["error"]["code"].as_str().unwrap_or_default();
                assert!(["bad_request", "not_found", "forbidden"].contains(&code), "{event} {payload}: {ack}");
            }
        }
    }
    // The same refusal as the native command behind it, word for word.
    let native = TestSocket::connect(app.addr, Some(json!({ "token": token_for("nat", 3600), "dialect": "native" })), "", None)
        .await
        .expect("native socket");
    let natively = native.call("content:join", json!({ "contentId": "" })).await;
    let in_video = video.call("video:join", json!({ "contentId": "" })).await;
    assert_eq!(in_video["error"], natively["error"]);

    // Nothing changed: the item's counts, and no room holds the attacker.
    let (_, item) = app.rest(Method::GET, "/api/content/target", Some(&token_for("viewer", 3600)), None).await;
    assert_eq!(item["data"]["counts"], json!({ "likes": 0, "comments": 0, "views": 0, "shares": 0 }), "{item}");
    let (_, room) = app.rest(Method::GET, "/api/server/rooms/video_target", Some(SERVER_KEY), None).await;
    assert_eq!(room["data"]["size"], json!(0));
    // And both sockets still work.
    assert_eq!(video.ok("video:join", json!({ "contentId": "target" })).await["contentId"], json!("target"));
    assert_eq!(chat.ok("subscribe_notifications", json!({})).await, json!({}));
    for bad in [json!(["r"]), json!({ "roomId": { "$gt": "" } }), json!("a b"), json!({})] {
        assert_eq!(blog.err("leave-room", bad.clone()).await, "bad_request", "leave-room {bad}");
    }
    assert_eq!(blog.ok("join-room", json!("blog-room")).await, json!({}));
    assert_eq!(content.ok("join-content", json!({ "contentId": "target", "contentType": "video" })).await["contentId"], json!("target"));
    app.stop().await;
}

#[tokio::test]
async fn the_dialect_comes_from_auth_then_the_query_then_the_setting_and_unknown_names_are_refused() {
    let app = spawn_app_with(|s| s.server.dialect = Some("chatnotify".into())).await;
    let token = token_for("ann", 3600);
    // The setting: an unchanged client speaks chatnotify (`get_history` is its event).
    let by_default = TestSocket::connect(app.addr, Some(json!({ "token": token })), "", None).await.expect("default");
    assert_eq!(by_default.err("video:join", json!({ "contentId": "c" })).await, "bad_request");
    assert_eq!(by_default.ok("subscribe_notifications", json!({})).await, json!({}));
    // The query beats the setting, and auth beats the query.
    let by_query = TestSocket::connect(app.addr, Some(json!({ "token": token })), "&dialect=video", None).await.expect("query");
    assert_eq!(by_query.ok("video:join", json!({ "contentId": "c" })).await["contentId"], json!("c"));
    let by_auth = TestSocket::connect(app.addr, Some(json!({ "token": token, "dialect": "native" })), "&dialect=video", None).await.expect("auth");
    assert_eq!(by_auth.err("video:join", json!({ "contentId": "c" })).await, "bad_request");
    assert_eq!(by_auth.ok("content:join", json!({ "contentId": "c" })).await["contentId"], json!("c"));
    for (auth, query) in [(json!({ "token": token, "dialect": "klingon" }), ""), (json!({ "token": token }), "&dialect=%00")] {
        let refused = TestSocket::connect(app.addr, Some(auth), query, None).await.err().expect("refused");
        assert_eq!(refused.data["code"], json!("bad_request"), "{refused:?}");
        assert!(refused.message.contains("unknown dialect"), "{refused:?}");
    }
    app.stop().await;
}

/// Livestream payloads whose ids are hostile (the other fields are valid), and bare values.
fn hostile_livestream_payloads() -> Vec<Value> {
    let long = "x".repeat(129);
    let with_ids = |id: Value| {
        json!({ "streamId": id, "sessionId": id, "battleId": id, "side": id, "message": "hi", "giftId": "rose", "count": 1, "update": "AAA=" })
    };
    let mut payloads = vec![json!("bare string"), json!(42), json!([1, 2, 3])];
    for id in [json!(null), json!(""), json!(long), json!("a b"), json!("a\u{0}b"), json!(-1), json!(1.5), json!({ "$gt": "" }), json!(["s"])] {
        payloads.push(with_ids(id));
    }
    payloads
}

#[tokio::test]
async fn bad_input_in_every_livestream_event_is_refused_as_natively_and_changes_nothing() {
    let app = spawn_app_with(|s| s.server.dialect = Some("livestream".into())).await;
    let owner = app.token("host");
    let (status, created) = app.rest(Method::POST, "/api/streams", Some(&owner), Some(json!({ "title": "show" }))).await;
    assert_eq!(status, 201, "{created}");
    let stream_id = created["data"]["id"].as_str().unwrap_or_default().to_owned();
    let (status, _) = app.rest(Method::POST, &format!("/api/streams/{stream_id}/status"), Some(&owner), Some(json!({ "status": "live" }))).await;
    assert_eq!(status, 200);
    let credit = json!({ "amount": 100, "reference": "top-up" });
    let (status, _) = app.rest(Method::POST, "/api/server/wallets/mallory/credit", Some(SERVER_KEY), Some(credit)).await;
    assert_eq!(status, 200);

    let live = app.socket("mallory").await;
    let events = ["stream:join", "stream:leave", "chat:new", "gift:sent", "throne:claimed", "battle:boost", "content_updated", "collab:join", "collab:leave"];
    for event in events {
        for payload in hostile_livestream_payloads() {
            let ack = live.call(event, payload.clone()).await;
            assert_eq!(ack["ok"], json!(false), "{event} {payload} was accepted: {ack}");
            let code = ack["error"]["code"].as_str().unwrap_or_default();
            assert!(["bad_request", "not_found", "forbidden"].contains(&code), "{event} {payload}: {ack}");
        }
    }
    // A valid claim of the throne is refused too: it follows gifts.
    assert_eq!(live.err("throne:claimed", json!({ "streamId": stream_id })).await, "bad_request");
    // The same refusal as the native command behind it, word for word.
    let native = TestSocket::connect(app.addr, Some(json!({ "token": token_for("nat", 3600), "dialect": "native" })), "", None)
        .await
        .expect("native socket");
    for (native_event, event, payload) in [
        ("stream:join", "stream:join", json!({ "streamId": "" })),
        ("stream:chat", "chat:new", json!({ "streamId": "a b", "text": "hi", "message": "hi" })),
        ("gift:send", "gift:sent", json!({ "streamId": stream_id, "giftId": "unicorn", "clientTxId": "tx-1" })),
    ] {
        let natively = native.call(native_event, payload.clone()).await;
        let in_dialect = live.call(event, payload).await;
        assert_eq!(in_dialect["error"], natively["error"], "{event}");
    }

    // Nothing changed: no coin spent, no viewer, no chat; and the socket still works.
    assert_eq!(live.ok("wallet:balance", json!({})).await["balance"], json!(100));
    let (_, room) = app.rest(Method::GET, &format!("/api/server/rooms/throne:{stream_id}"), Some(SERVER_KEY), None).await;
    assert_eq!(room["data"]["size"], json!(0), "{room}");
    let joined = live.ok("stream:join", json!({ "streamId": stream_id })).await;
    assert_eq!((&joined["stream"]["id"], &joined["viewerCount"]), (&json!(stream_id), &json!(1)), "{joined}");
    let (_, room) = app.rest(Method::GET, &format!("/api/server/rooms/throne:{stream_id}"), Some(SERVER_KEY), None).await;
    assert_eq!(room["data"]["size"], json!(1), "the throne room is the stream room: {room}");
    app.stop().await;
}
