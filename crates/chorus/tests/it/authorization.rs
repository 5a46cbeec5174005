//! Object-level authorization (docs/security.md): for each area, a stranger (or a
//! caller without the right: a guest, an anonymous REST caller, a user token on the
//! server API) walks the commands and routes that touch someone else's object, is
//! refused with `unauthorized`, `forbidden`, `not_found` or `conflict`, and nothing
//! changed. The rows of the table in docs/security.md name these tests.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{SECRET, SERVER_KEY, TestApp, TestSocket, spawn_app, spawn_app_with};

/// A token for `user` carrying `roles` (e.g. `moderator`).
fn token_with_roles(user: &str, roles: &[&str]) -> String {
    let exp = time::OffsetDateTime::now_utc().unix_timestamp() + 3600;
    let claims = json!({ "sub": user, "exp": exp, "name": user, "roles": roles });
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .expect("token")
}

async fn group_room(app: &TestApp, owner: &str, kind: &str, members: &[&str]) -> String {
    let body = json!({"kind": kind, "title": "Room", "memberIds": members});
    let (status, body) = app.rest(Method::POST, "/api/chat/rooms", Some(&app.token(owner)), Some(body)).await;
    assert_eq!(status, 201, "{body}");
    body["data"]["id"].as_str().unwrap().to_owned()
}

async fn direct_room(app: &TestApp, a: &str, b: &str) -> String {
    let (status, body) = app.rest(Method::POST, "/api/chat/rooms", Some(&app.token(a)), Some(json!({"otherUserId": b}))).await;
    assert!(status == 200 || status == 201, "{status} {body}");
    body["data"]["id"].as_str().unwrap().to_owned()
}

/// A stream of `owner`, put live when `live`.
async fn stream_of(app: &TestApp, owner: &str, live: bool) -> String {
    let token = app.token(owner);
    let (status, body) = app.rest(Method::POST, "/api/streams", Some(&token), Some(json!({"title": format!("{owner}'s show")}))).await;
    assert_eq!(status, 201, "{body}");
    let id = body["data"]["id"].as_str().unwrap().to_owned();
    if live {
        let (status, body) = app.rest(Method::POST, &format!("/api/streams/{id}/status"), Some(&token), Some(json!({"status": "live"}))).await;
        assert_eq!(status, 200, "{body}");
    }
    id
}

async fn credit(app: &TestApp, user: &str, amount: i64, reference: &str) {
    let body = json!({"amount": amount, "reference": reference});
    let (status, body) = app.rest(Method::POST, &format!("/api/server/wallets/{user}/credit"), Some(SERVER_KEY), Some(body)).await;
    assert_eq!(status, 200, "{body}");
}

/// Asserts a REST call is refused with `status` and `code` in the envelope.
async fn refused(app: &TestApp, method: Method, path: &str, bearer: Option<&str>, body: Option<Value>, status: u16, code: &str) {
    let (got, reply) = app.rest(method.clone(), path, bearer, body).await;
    assert_eq!((got, reply["error"]["code"].as_str()), (status, Some(code)), "{method} {path}: {reply}");
    assert_eq!(reply["success"], false, "{method} {path}");
}

/// Every command a guest may not send, each with a payload of the right shape.
fn member_commands(stream: &str) -> Vec<(&'static str, Value)> {
    let id = "x1";
    vec![
        ("content:like", json!({"contentId": "open", "like": true})),
        ("content:comment", json!({"contentId": "open", "text": "hi"})),
        ("content:share", json!({"contentId": "open", "channel": "sms"})),
        ("content:progress", json!({"contentId": "open", "watchTime": 3.5})),
        ("comment:react", json!({"commentId": id, "emoji": "+1"})),
        ("comment:edit", json!({"commentId": id, "text": "hi"})),
        ("comment:delete", json!({"commentId": id})),
        ("comment:typing", json!({"contentId": "open", "typing": true})),
        ("ranking:subscribe", json!({"scope": "type:video"})),
        ("ranking:unsubscribe", json!({"scope": "type:video"})),
        ("auth:refresh", json!({"token": "t"})),
        ("notifications:list", json!({})),
        ("notifications:read", json!({"all": true})),
        ("feed:subscribe", json!({})),
        ("feed:unsubscribe", json!({})),
        ("feed:new_content", json!({"contentId": "guest-post", "contentType": "video"})),
        ("presence:set", json!({"status": "away"})),
        ("presence:subscribe", json!({"userIds": [id]})),
        ("presence:unsubscribe", json!({"userIds": [id]})),
        ("location:share", json!({"roomId": id, "lat": 1.0, "lng": 2.0})),
        ("location:stop", json!({"roomId": id})),
        ("chat:open", json!({"otherUserId": "someone"})),
        ("chat:join", json!({"roomId": id})),
        ("chat:leave", json!({"roomId": id})),
        ("chat:send", json!({"roomId": id, "clientMsgId": "m1", "text": "hi"})),
        ("chat:history", json!({"roomId": id})),
        ("chat:typing", json!({"roomId": id, "typing": true})),
        ("chat:read", json!({"roomId": id, "messageId": id})),
        ("chat:react", json!({"messageId": id, "emoji": "+1"})),
        ("chat:edit", json!({"messageId": id, "text": "hi"})),
        ("chat:delete", json!({"messageId": id})),
        ("collab:join", json!({"docId": id})),
        ("collab:leave", json!({"docId": id})),
        ("collab:update", json!({"docId": id, "update": "AA=="})),
        ("collab:awareness", json!({"docId": id, "state": {"cursor": 1}})),
        ("call:invite", json!({"toUserId": "someone", "media": "audio"})),
        ("call:accept", json!({"callId": id})),
        ("call:reject", json!({"callId": id})),
        ("call:end", json!({"callId": id})),
        ("call:signal", json!({"callId": id, "toUserId": id, "signal": {"sdp": "v=0"}})),
        ("stream:status", json!({"streamId": stream, "status": "ended"})),
        ("stream:chat", json!({"streamId": stream, "text": "hi"})),
        ("stream:chat_delete", json!({"streamId": stream, "messageId": id})),
        ("stream:like", json!({"streamId": stream, "count": 3})),
        ("stream:slow_mode", json!({"streamId": stream, "seconds": 5})),
        ("stream:moderate", json!({"streamId": stream, "userId": id, "action": "mute"})),
        ("gift:send", json!({"streamId": stream, "giftId": "rose", "count": 1, "clientTxId": "t1"})),
        ("gift:catalog", json!({})),
        ("wallet:balance", json!({})),
        ("battle:start", json!({"streamId": stream, "opponentStreamId": id, "durationSec": 60})),
        ("battle:accept", json!({"battleId": id})),
        ("battle:decline", json!({"battleId": id})),
        ("battle:get", json!({"battleId": id})),
        ("battle:boost", json!({"battleId": id, "side": stream, "boostId": "boost", "clientTxId": "t2"})),
    ]
}

#[tokio::test]
async fn guests_may_only_watch_public_rooms_and_record_views() {
    let app = spawn_app_with(|s| s.auth.allow_guests = true).await;
    let stream = stream_of(&app, "guest-host", true).await;
    let guest = TestSocket::connect(app.addr, None, "", None).await.expect("a guest connects when guests are allowed");
    guest.ok("content:join", json!({"contentId": "open"})).await;
    assert_eq!(guest.ok("content:view", json!({"contentId": "open"})).await["counted"], true);
    guest.ok("stream:join", json!({"streamId": stream})).await;
    guest.ok("channel:join", json!({"name": "blog-room"})).await;
    guest.ok("channel:leave", json!({"name": "blog-room"})).await;

    let commands = member_commands(&stream);
    let guest_events = chorus::transport::commands::guest_events();
    assert_eq!(commands.len() + guest_events.len(), 61, "every command of the router");
    for (event, payload) in commands {
        assert!(!guest_events.contains(&event));
        assert_eq!(guest.err(event, payload).await, "unauthorized", "a guest sent {event}");
    }
    guest.ok("stream:leave", json!({"streamId": stream})).await;
    guest.ok("content:leave", json!({"contentId": "open"})).await;

    // Nothing the guest was refused changed anything.
    let (_, item) = app.rest(Method::GET, "/api/content/open", None, None).await;
    assert_eq!(item["data"]["counts"], json!({"likes": 0, "comments": 0, "views": 1, "shares": 0}));
    assert_eq!(item["data"]["ownerId"], Value::Null);
    let (_, shown) = app.rest(Method::GET, &format!("/api/streams/{stream}"), None, None).await;
    assert_eq!((shown["data"]["stream"]["status"].clone(), shown["data"]["stream"]["likes"].clone()), (json!("live"), json!(0)));
    assert_eq!(shown["data"]["stream"]["slowModeSec"], 0);
    let (status, _) = app.rest(Method::GET, "/api/content/guest-post", None, None).await;
    assert_eq!(status, 404, "feed:new_content registered nothing");

    // REST: views take no token, everything that writes does.
    let (status, _) = app.rest(Method::POST, "/api/content/open/view", None, None).await;
    assert_eq!(status, 200);
    refused(&app, Method::POST, "/api/content/open/like", None, None, 401, "unauthorized").await;
    app.stop().await;

    // Without allow_guests (the default) a socket without a token is refused outright.
    let app = spawn_app().await;
    let refusal = TestSocket::connect(app.addr, None, "", None).await.err().expect("no guests by default");
    assert_eq!((refusal.message.as_str(), refusal.data["code"].as_str()), ("unauthorized", Some("auth_missing")));
    app.stop().await;
}

#[tokio::test]
async fn strangers_cannot_edit_delete_or_claim_content_and_anonymous_rest_calls_are_refused() {
    let app = spawn_app().await;
    let (status, _) = app.rest(Method::PUT, "/api/server/content/owned", Some(SERVER_KEY), Some(json!({"type": "video", "ownerId": "creator"}))).await;
    assert_eq!(status, 200);
    let author = app.socket("author").await;
    let first = author.ok("content:comment", json!({"contentId": "owned", "text": "original"})).await;
    let first_id = first["comment"]["id"].as_str().unwrap().to_owned();
    let second = author.ok("content:comment", json!({"contentId": "owned", "text": "second"})).await;
    let second_id = second["comment"]["id"].as_str().unwrap().to_owned();

    // A stranger, on both doors.
    let eve = app.token("eve");
    let eve_socket = app.socket("eve").await;
    refused(&app, Method::PATCH, &format!("/api/comments/{first_id}"), Some(&eve), Some(json!({"text": "hijacked"})), 403, "forbidden").await;
    refused(&app, Method::DELETE, &format!("/api/comments/{first_id}"), Some(&eve), None, 403, "forbidden").await;
    assert_eq!(eve_socket.err("comment:edit", json!({"commentId": first_id, "text": "hijacked"})).await, "forbidden");
    assert_eq!(eve_socket.err("comment:delete", json!({"commentId": first_id})).await, "forbidden");
    refused(&app, Method::GET, "/api/content/owned/analytics", Some(&eve), None, 403, "forbidden").await;
    let claim = json!({"id": "owned", "type": "video", "title": "mine now"});
    refused(&app, Method::POST, "/api/content", Some(&eve), Some(claim), 409, "conflict").await;
    assert_eq!(eve_socket.err("feed:new_content", json!({"contentId": "owned", "contentType": "video", "title": "mine"})).await, "conflict");
    refused(&app, Method::PATCH, "/api/comments/no-such-comment", Some(&eve), Some(json!({"text": "x"})), 404, "not_found").await;
    refused(&app, Method::GET, "/api/content/no-such-item/analytics", Some(&eve), None, 404, "not_found").await;

    // No token (or a bad one): every route that acts as a user.
    let anonymous = [
        (Method::POST, "/api/content".to_owned(), Some(json!({"type": "video"}))),
        (Method::POST, "/api/content/owned/like".to_owned(), None),
        (Method::DELETE, "/api/content/owned/like".to_owned(), None),
        (Method::POST, "/api/content/owned/share".to_owned(), None),
        (Method::POST, "/api/content/owned/comments".to_owned(), Some(json!({"text": "anon"}))),
        (Method::GET, "/api/content/owned/analytics".to_owned(), None),
        (Method::PATCH, format!("/api/comments/{first_id}"), Some(json!({"text": "anon"}))),
        (Method::DELETE, format!("/api/comments/{first_id}"), None),
        (Method::POST, format!("/api/comments/{first_id}/reactions"), Some(json!({"emoji": "x"}))),
    ];
    for (method, path, body) in anonymous {
        refused(&app, method.clone(), &path, None, body.clone(), 401, "unauthorized").await;
        refused(&app, method, &path, Some("not-a-token"), body, 401, "unauthorized").await;
    }

    // Nothing changed.
    let (_, item) = app.rest(Method::GET, "/api/content/owned", None, None).await;
    assert_eq!((item["data"]["ownerId"].clone(), item["data"]["title"].clone()), (json!("creator"), Value::Null));
    assert_eq!(item["data"]["counts"], json!({"likes": 0, "comments": 2, "views": 0, "shares": 0}));
    let (_, page) = app.rest(Method::GET, "/api/content/owned/comments", None, None).await;
    let texts: Vec<_> = page["data"]["comments"].as_array().unwrap().iter().map(|c| c["text"].clone()).collect();
    assert_eq!(texts, [json!("second"), json!("original")]);
    assert!(page["data"]["comments"].as_array().unwrap().iter().all(|c| c["reactions"] == json!({}) || c["reactions"].is_null()));

    // Those with the right: the item's owner and a moderator delete comments on it.
    let (status, _) = app.rest(Method::DELETE, &format!("/api/comments/{first_id}"), Some(&app.token("creator")), None).await;
    assert_eq!(status, 200, "the content's owner deletes a comment on it");
    let (status, _) = app.rest(Method::DELETE, &format!("/api/comments/{second_id}"), Some(&token_with_roles("site-mod", &["moderator"])), None).await;
    assert_eq!(status, 200, "a moderator deletes any comment");
    app.stop().await;
}

#[tokio::test]
async fn strangers_cannot_act_in_private_chat_rooms_or_speak_for_their_members() {
    let app = spawn_app().await;
    let group = group_room(&app, "ann", "group", &["ben"]).await;
    let public = group_room(&app, "ann", "public", &[]).await;
    let mut ben = app.socket("ben").await;
    ben.ok("chat:join", json!({"roomId": group})).await;
    let ann = app.socket("ann").await;
    let sent = ann.ok("chat:send", json!({"roomId": group, "clientMsgId": "m1", "text": "members only"})).await;
    let id = sent["message"]["id"].as_str().unwrap().to_owned();
    ben.expect("chat:message", |v| v["message"]["id"] == id.as_str()).await;

    let eve = app.socket("eve").await;
    assert_eq!(eve.err("chat:edit", json!({"messageId": id, "text": "hijacked"})).await, "forbidden");
    assert_eq!(eve.err("chat:delete", json!({"messageId": id})).await, "forbidden");
    assert_eq!(eve.err("chat:react", json!({"messageId": id, "emoji": "👎"})).await, "forbidden");
    assert_eq!(eve.err("chat:read", json!({"roomId": group, "messageId": id})).await, "forbidden");
    assert_eq!(eve.err("chat:edit", json!({"messageId": "no-such-message", "text": "x"})).await, "not_found");
    // Leaving a room one never watched announces nothing to its members.
    eve.ok("chat:leave", json!({"roomId": group})).await;
    ben.expect_none("chat:user_left", Duration::from_millis(300)).await;

    let eve_token = app.token("eve");
    refused(&app, Method::DELETE, &format!("/api/chat/rooms/{group}/members/me"), Some(&eve_token), None, 403, "forbidden").await;
    refused(&app, Method::POST, &format!("/api/chat/rooms/{group}/members"), Some(&eve_token), Some(json!({"userIds": ["eve"]})), 403, "forbidden").await;
    let others = json!({"userIds": ["mallory"]});
    refused(&app, Method::POST, &format!("/api/chat/rooms/{public}/members"), Some(&eve_token), Some(others), 403, "forbidden").await;
    refused(&app, Method::POST, "/api/chat/rooms/no-such-room/members", Some(&eve_token), Some(json!({"userIds": ["eve"]})), 404, "not_found").await;
    for (method, path, body) in [
        (Method::POST, "/api/chat/rooms".to_owned(), Some(json!({"otherUserId": "ann"}))),
        (Method::GET, "/api/chat/rooms".to_owned(), None),
        (Method::GET, format!("/api/chat/rooms/{group}/messages"), None),
        (Method::POST, format!("/api/chat/rooms/{group}/members"), Some(json!({"userIds": ["eve"]}))),
        (Method::DELETE, format!("/api/chat/rooms/{group}/members/me"), None),
    ] {
        refused(&app, method, &path, None, body, 401, "unauthorized").await;
    }

    // Nothing changed: the message, its reactions and both rooms' members.
    let history = ann.ok("chat:history", json!({"roomId": group})).await;
    let message = &history["messages"][0];
    assert_eq!((message["text"].clone(), message["deleted"].clone(), message["reactions"].clone()), (json!("members only"), json!(false), json!({})));
    assert_eq!(message["editedAt"], Value::Null);
    let (_, rooms) = app.rest(Method::GET, "/api/chat/rooms", Some(&app.token("ann")), None).await;
    let members = |room: &str| rooms["data"]["rooms"].as_array().unwrap().iter().find(|r| r["id"] == room).unwrap()["memberIds"].clone();
    assert_eq!(members(&group), json!(["ann", "ben"]));
    assert_eq!(members(&public), json!(["ann"]));
    // A public room: anyone may add themself (and only themself).
    let (status, body) = app.rest(Method::POST, &format!("/api/chat/rooms/{public}/members"), Some(&eve_token), Some(json!({"userIds": ["eve"]}))).await;
    assert_eq!((status, body["data"]["memberIds"].clone()), (200, json!(["ann", "eve"])));
    app.stop().await;
}

#[tokio::test]
async fn strangers_cannot_read_join_or_manage_collaborative_documents() {
    let app = spawn_app().await;
    let (status, body) = app
        .rest(Method::POST, "/api/docs", Some(&app.token("owner")), Some(json!({"title": "Plans", "editorIds": ["ed"], "viewerIds": ["vi"]})))
        .await;
    assert_eq!(status, 201, "{body}");
    let doc = body["data"]["id"].as_str().unwrap().to_owned();
    let mut owner = app.socket("owner").await;
    owner.ok("collab:join", json!({"docId": doc})).await;

    let eve = app.socket("eve").await;
    assert_eq!(eve.err("collab:join", json!({"docId": doc})).await, "forbidden");
    assert_eq!(eve.err("collab:awareness", json!({"docId": doc, "state": {"name": "owner"}})).await, "forbidden");
    // Leaving a document one never joined tells its members nothing.
    eve.ok("collab:leave", json!({"docId": doc})).await;
    owner.expect_none("collab:awareness", Duration::from_millis(200)).await;

    let eve_token = app.token("eve");
    refused(&app, Method::GET, &format!("/api/docs/{doc}"), Some(&eve_token), None, 403, "forbidden").await;
    refused(&app, Method::POST, &format!("/api/docs/{doc}/members"), Some(&eve_token), Some(json!({"editorIds": ["eve"]})), 403, "forbidden").await;
    refused(&app, Method::POST, &format!("/api/docs/{doc}/members"), Some(&app.token("vi")), Some(json!({"editorIds": ["vi"]})), 403, "forbidden").await;
    refused(&app, Method::POST, "/api/docs/no-such-doc/members", Some(&eve_token), Some(json!({"editorIds": ["eve"]})), 404, "not_found").await;
    for (method, path, body) in [
        (Method::POST, "/api/docs".to_owned(), Some(json!({"title": "T"}))),
        (Method::GET, format!("/api/docs/{doc}"), None),
        (Method::POST, format!("/api/docs/{doc}/members"), Some(json!({"editorIds": ["eve"]}))),
    ] {
        refused(&app, method, &path, None, body, 401, "unauthorized").await;
    }

    // Nothing changed.
    let (_, shown) = app.rest(Method::GET, &format!("/api/docs/{doc}"), Some(&app.token("owner")), None).await;
    assert_eq!((shown["data"]["editorIds"].clone(), shown["data"]["viewerIds"].clone()), (json!(["ed"]), json!(["vi"])));
    app.stop().await;
}

#[tokio::test]
async fn strangers_cannot_answer_end_or_signal_other_peoples_calls() {
    let app = spawn_app().await;
    let mut ann = app.socket("ann").await;
    let mut bob = app.socket("bob").await;
    let eve = app.socket("eve").await;
    let id = ann.ok("call:invite", json!({"toUserId": "bob", "media": "audio"})).await["callId"].as_str().unwrap().to_owned();
    bob.expect("call:incoming", |v| v["callId"] == id.as_str()).await;

    for event in ["call:accept", "call:reject", "call:end"] {
        assert_eq!(eve.err(event, json!({"callId": id})).await, "forbidden", "{event} while ringing");
        assert_eq!(eve.err(event, json!({"callId": "no-such-call"})).await, "not_found", "{event} of an unknown call");
    }
    assert_eq!(eve.err("call:signal", json!({"callId": id, "toUserId": "ann", "signal": {"type": "offer"}})).await, "forbidden");

    // Nothing changed: the call still rings bob, who answers it.
    ann.expect_none("call:ended", Duration::from_millis(150)).await;
    assert_eq!(bob.ok("call:accept", json!({"callId": id})).await["partyIds"], json!(["ann"]));
    ann.expect("call:accepted", |v| v["userId"] == "bob").await;

    // A running call: the stranger can neither end it nor reach its parties.
    for event in ["call:accept", "call:reject", "call:end"] {
        assert_eq!(eve.err(event, json!({"callId": id})).await, "forbidden", "{event} while running");
    }
    assert_eq!(eve.err("call:signal", json!({"callId": id, "toUserId": "bob", "signal": {"type": "offer"}})).await, "forbidden");
    ann.expect_none("call:ended", Duration::from_millis(150)).await;
    bob.expect_none("call:signal", Duration::from_millis(10)).await;
    ann.ok("call:signal", json!({"callId": id, "toUserId": "bob", "signal": {"type": "offer"}})).await;
    bob.expect("call:signal", |v| v["fromUserId"] == "ann").await;
    app.stop().await;
}

#[tokio::test]
async fn strangers_cannot_steer_streams_battles_or_other_peoples_wallets() {
    let app = spawn_app_with(|s| s.live.metrics_interval = Duration::from_millis(200)).await;
    let a = stream_of(&app, "host-a", true).await;
    let b = stream_of(&app, "host-b", true).await;
    let host_a = app.socket("host-a").await;
    let mut host_b = app.socket("host-b").await;
    let eve = app.socket("eve").await;
    let eve_token = app.token("eve");

    // Streams: status, slow mode, chat deletion and moderation belong to the owner (and moderators).
    refused(&app, Method::POST, &format!("/api/streams/{a}/status"), Some(&eve_token), Some(json!({"status": "ended"})), 403, "forbidden").await;
    assert_eq!(eve.err("stream:status", json!({"streamId": a, "status": "paused"})).await, "forbidden");
    assert_eq!(eve.err("stream:slow_mode", json!({"streamId": a, "seconds": 60})).await, "forbidden");
    assert_eq!(eve.err("stream:moderate", json!({"streamId": a, "userId": "host-b", "action": "ban"})).await, "forbidden");
    assert_eq!(eve.err("stream:status", json!({"streamId": "no-such-stream", "status": "live"})).await, "not_found");

    // Battles: only the owner of a stream starts one for it, only the two streamers answer.
    assert_eq!(eve.err("battle:start", json!({"streamId": a, "opponentStreamId": b, "durationSec": 60})).await, "forbidden");
    let pending = host_a.ok("battle:start", json!({"streamId": a, "opponentStreamId": b, "durationSec": 60})).await;
    let battle = pending["battle"]["id"].as_str().unwrap().to_owned();
    host_b.expect("battle:invite", |_| true).await;
    assert_eq!(eve.err("battle:decline", json!({"battleId": battle})).await, "forbidden");
    assert_eq!(eve.err("battle:accept", json!({"battleId": battle})).await, "forbidden");
    assert_eq!(eve.err("battle:decline", json!({"battleId": "no-such-battle"})).await, "not_found");
    assert_eq!(eve.ok("battle:get", json!({"battleId": battle})).await["battle"]["status"], "pending", "battles are public to read");
    host_b.expect_none("battle:declined", Duration::from_millis(100)).await;
    assert_eq!(host_b.ok("battle:accept", json!({"battleId": battle})).await["battle"]["status"], "active", "still pending for the invited streamer");

    // Wallets: each reads their own; the server API is the backend's.
    credit(&app, "host-a", 300, "victim-topup").await;
    assert_eq!(eve.ok("wallet:balance", json!({})).await, json!({"balance": 0, "earnings": 0}));
    let (_, mine) = app.rest(Method::GET, "/api/wallet", Some(&eve_token), None).await;
    assert_eq!(mine["data"], json!({"balance": 0, "earnings": 0}));
    refused(&app, Method::GET, "/api/server/wallets/host-a", Some(&eve_token), None, 403, "forbidden").await;
    refused(&app, Method::POST, "/api/server/wallets/eve/credit", Some(&eve_token), Some(json!({"amount": 5, "reference": "self"})), 403, "forbidden").await;

    // A viewer banned from a stream cannot show up in it through gifts either.
    credit(&app, "eve", 100, "eve-topup").await;
    host_a.ok("stream:moderate", json!({"streamId": a, "userId": "eve", "action": "ban"})).await;
    assert_eq!(eve.err("gift:send", json!({"streamId": a, "giftId": "rose", "count": 1, "clientTxId": "banned-gift"})).await, "forbidden");
    let gift = json!({"giftId": "rose", "count": 1, "clientTxId": "banned-gift-rest"});
    refused(&app, Method::POST, &format!("/api/streams/{a}/gifts"), Some(&eve_token), Some(gift), 403, "forbidden").await;
    assert_eq!(eve.err("stream:join", json!({"streamId": a})).await, "forbidden");
    assert_eq!(eve.err("stream:chat", json!({"streamId": a, "text": "hello?"})).await, "forbidden");

    for (method, path, body) in [
        (Method::POST, "/api/streams".to_owned(), Some(json!({"title": "anon"}))),
        (Method::POST, format!("/api/streams/{a}/status"), Some(json!({"status": "ended"}))),
        (Method::POST, format!("/api/streams/{a}/gifts"), Some(json!({"giftId": "rose", "count": 1, "clientTxId": "anon"}))),
        (Method::GET, "/api/wallet".to_owned(), None),
    ] {
        refused(&app, method, &path, None, body, 401, "unauthorized").await;
    }

    // Nothing changed: both streams live, no slow mode, no gifts, wallets as credited.
    for id in [&a, &b] {
        let (_, shown) = app.rest(Method::GET, &format!("/api/streams/{id}"), None, None).await;
        let s = &shown["data"]["stream"];
        assert_eq!((s["status"].clone(), s["slowModeSec"].clone(), s["gifts"].clone(), s["coins"].clone()), (json!("live"), json!(0), json!(0), json!(0)));
    }
    let (_, victim) = app.rest(Method::GET, "/api/wallet", Some(&app.token("host-a")), None).await;
    assert_eq!(victim["data"], json!({"balance": 300, "earnings": 0}));
    let (_, eve_wallet) = app.rest(Method::GET, "/api/wallet", Some(&eve_token), None).await;
    assert_eq!(eve_wallet["data"], json!({"balance": 100, "earnings": 0}), "a refused gift costs nothing");
    app.stop().await;
}

#[tokio::test]
async fn users_read_and_change_only_their_own_inbox_location_shares_and_follows() {
    let app = spawn_app().await;
    let note = json!({"userId": "victim", "type": "system", "text": "private note"});
    let (status, _) = app.rest(Method::POST, "/api/server/notifications", Some(SERVER_KEY), Some(note)).await;
    assert_eq!(status, 200);
    let victim = app.socket("victim").await;
    let inbox = victim.ok("notifications:list", json!({})).await;
    let note_id = inbox["notifications"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(inbox["unreadCount"], 1);

    // Another user's notification ids mark nothing, and their inbox shows nothing of it.
    let eve = app.socket("eve").await;
    assert_eq!(eve.ok("notifications:read", json!({"ids": [note_id]})).await["unreadCount"], 0);
    let (status, _) = app.rest(Method::POST, "/api/notifications/read", Some(&app.token("eve")), Some(json!({"ids": [note_id]}))).await;
    assert_eq!(status, 200);
    assert_eq!(eve.ok("notifications:list", json!({})).await["notifications"], json!([]));
    let (_, rest_inbox) = app.rest(Method::GET, "/api/notifications", Some(&app.token("eve")), None).await;
    assert_eq!(rest_inbox["data"]["notifications"], json!([]));
    let after = victim.ok("notifications:list", json!({"unreadOnly": true})).await;
    assert_eq!((after["unreadCount"].clone(), after["notifications"][0]["id"].clone()), (json!(1), json!(note_id)));

    // Live location: a stranger neither shares into a room nor stops someone else's sharing.
    let room = direct_room(&app, "walker", "friend").await;
    let walker = app.socket("walker").await;
    let mut friend = app.socket("friend").await;
    let until = (time::OffsetDateTime::now_utc() + time::Duration::seconds(60)).format(&time::format_description::well_known::Rfc3339).unwrap();
    walker.ok("location:share", json!({"roomId": room, "lat": 1.0, "lng": 2.0, "liveUntil": until})).await;
    friend.expect("location:update", |v| v["userId"] == "walker").await;
    assert_eq!(eve.err("location:share", json!({"roomId": room, "lat": 3.0, "lng": 4.0})).await, "forbidden");
    eve.ok("location:stop", json!({"roomId": room})).await;
    friend.expect_none("location:stopped", Duration::from_millis(300)).await;
    friend.expect_none("location:update", Duration::from_millis(10)).await;
    walker.ok("location:stop", json!({"roomId": room})).await;
    friend.expect("location:stopped", |v| v["userId"] == "walker").await;

    // Following is always the caller's own; anonymous calls are refused.
    for (method, path, body) in [
        (Method::GET, "/api/notifications", None),
        (Method::POST, "/api/notifications/read", Some(json!({"all": true}))),
        (Method::POST, "/api/users/victim/follow", None),
        (Method::DELETE, "/api/users/victim/follow", None),
        (Method::GET, "/api/users/victim/followers", None),
        (Method::GET, "/api/users/victim/following", None),
    ] {
        refused(&app, method, path, None, body, 401, "unauthorized").await;
    }
    let (_, followers) = app.rest(Method::GET, "/api/users/victim/followers", Some(&app.token("eve")), None).await;
    assert_eq!(followers["data"]["users"], json!([]), "no anonymous follow was stored");
    app.stop().await;
}

/// Every route of the server API, with a body it would accept from the backend.
fn server_routes() -> Vec<(Method, &'static str, Option<Value>)> {
    vec![
        (Method::PUT, "/api/server/users/victim", Some(json!({"username": "pwned"}))),
        (Method::PUT, "/api/server/content/victim-post", Some(json!({"type": "video", "ownerId": "eve"}))),
        (Method::GET, "/api/server/content/victim-post/analytics", None),
        (Method::POST, "/api/server/emit", Some(json!({"to": {"all": true}, "event": "spoof", "data": {}}))),
        (Method::POST, "/api/server/notifications", Some(json!({"userId": "victim", "type": "system", "text": "spoof"}))),
        (Method::POST, "/api/server/announcements", Some(json!({"message": "spoof"}))),
        (Method::POST, "/api/server/users/victim/revoke-tokens", None),
        (Method::GET, "/api/server/moderation-audit", None),
        (Method::GET, "/api/server/stats", None),
        (Method::GET, "/api/server/rooms/content:victim-post", None),
        (Method::POST, "/api/server/wallets/eve/credit", Some(json!({"amount": 1000, "reference": "free-money"}))),
        (Method::GET, "/api/server/wallets/victim", None),
        (Method::POST, "/api/server/moderation/ban", Some(json!({"userId": "victim"}))),
    ]
}

#[tokio::test]
async fn every_server_route_refuses_user_tokens_wrong_keys_and_anonymous_callers() {
    let app = spawn_app().await;
    let mut victim = app.socket("victim").await;
    let user_token = app.token("eve");
    let moderator = token_with_roles("site-mod", &["moderator", "admin"]);
    for (method, path, body) in server_routes() {
        // Valid credentials that may not do this are forbidden; a wrong key is none at all.
        for bearer in [user_token.as_str(), moderator.as_str()] {
            refused(&app, method.clone(), path, Some(bearer), body.clone(), 403, "forbidden").await;
        }
        refused(&app, method.clone(), path, Some("integration-server-key-but-wrong"), body.clone(), 401, "unauthorized").await;
        refused(&app, method, path, None, body, 401, "unauthorized").await;
    }

    // Nothing changed: no ban, revocation, announcement, emit, notification, credit or item.
    victim.expect_none("spoof", Duration::from_millis(100)).await;
    victim.expect_none("system:announcement", Duration::from_millis(10)).await;
    victim.expect_none("notification:new", Duration::from_millis(10)).await;
    assert!(!victim.closed_within(Duration::from_millis(100)).await, "the victim was neither banned nor revoked");
    victim.ok("content:like", json!({"contentId": "still-in"})).await;
    let (_, audit) = app.rest(Method::GET, "/api/server/moderation-audit", Some(SERVER_KEY), None).await;
    assert_eq!(audit["data"]["entries"], json!([]));
    let (_, wallet) = app.rest(Method::GET, "/api/server/wallets/eve", Some(SERVER_KEY), None).await;
    assert_eq!(wallet["data"]["balance"], 0);
    let (status, _) = app.rest(Method::GET, "/api/content/victim-post", None, None).await;
    assert_eq!(status, 404);
    app.stop().await;

    // Without a configured server key the server API is off, whatever is presented.
    let app = spawn_app_with(|s| s.auth.server_key = None).await;
    for (method, path, body) in server_routes() {
        refused(&app, method.clone(), path, Some(SERVER_KEY), body.clone(), 503, "unavailable").await;
        refused(&app, method, path, None, body, 503, "unavailable").await;
    }
    app.stop().await;
}

#[tokio::test]
async fn operational_routes_are_public_and_carry_no_user_data_or_tokens() {
    let app = spawn_app().await;
    let token = app.token("private-person");
    let s = TestSocket::connect(app.addr, None, &format!("&token={token}"), None).await.expect("query token");
    s.ok("content:like", json!({"contentId": "secret-item"})).await;
    for path in ["/healthz", "/readyz", "/metrics", "/openapi.json", "/api/gifts", "/api/streams", "/api/content/secret-item", "/api/content/secret-item/comments"] {
        let res = app.http.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status().as_u16(), 200, "{path} is public");
        let body = res.text().await.unwrap();
        assert!(!body.contains(&token), "{path} shows a token");
        assert!(!body.contains("private-person"), "{path} shows a user id");
    }
    // Unknown routes and methods get the envelope, not a stack trace.
    refused(&app, Method::GET, "/api/server", None, None, 404, "not_found").await;
    let (status, body) = app.rest(Method::PUT, "/api/content/secret-item", Some(&token), Some(json!({}))).await;
    assert_eq!((status, body["success"].clone()), (405, json!(false)));
    app.stop().await;
}
