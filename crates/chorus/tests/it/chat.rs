//! Chat over the socket and REST (PROTOCOL.md §7): rooms, delivery to every device,
//! idempotent sends, membership rules, replies, locations, edits, deletes, reactions,
//! read positions, typing and offline notifications; and the same flow on PostgreSQL.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{TestApp, WAIT, spawn_app, spawn_app_with};

/// Creates (or gets) the direct room of `a` and `b` over REST; returns its id.
async fn direct_room(app: &TestApp, a: &str, b: &str) -> String {
    let (status, body) = app.rest(Method::POST, "/api/chat/rooms", Some(&app.token(a)), Some(json!({"otherUserId": b}))).await;
    assert!(status == 200 || status == 201, "direct room: {status} {body}");
    body["data"]["id"].as_str().unwrap().to_owned()
}

async fn group_room(app: &TestApp, owner: &str, kind: &str, members: &[&str]) -> String {
    let (status, body) = app
        .rest(Method::POST, "/api/chat/rooms", Some(&app.token(owner)), Some(json!({"kind": kind, "title": "Team", "memberIds": members})))
        .await;
    assert_eq!(status, 201, "{body}");
    body["data"]["id"].as_str().unwrap().to_owned()
}

fn texts(page: &Value) -> Vec<String> {
    page["messages"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap().to_owned()).collect()
}

fn room_in<'a>(rooms: &'a Value, id: &str) -> &'a Value {
    rooms["data"]["rooms"].as_array().unwrap().iter().find(|r| r["id"] == id).unwrap_or_else(|| panic!("room {id} not in {rooms}"))
}

#[tokio::test]
async fn a_direct_room_is_one_per_pair_and_every_device_gets_each_message_once() {
    let app = spawn_app().await;
    let (status, created) = app.rest(Method::POST, "/api/chat/rooms", Some(&app.token("alice")), Some(json!({"otherUserId": "bob"}))).await;
    assert_eq!(status, 201);
    let room = created["data"].clone();
    assert_eq!((room["kind"].clone(), room["title"].clone()), (json!("direct"), Value::Null));
    assert_eq!(room["memberIds"], json!(["alice", "bob"]));
    assert_eq!((room["lastMessage"].clone(), room["unreadCount"].clone()), (Value::Null, json!(0)));
    let room_id = room["id"].as_str().unwrap().to_owned();
    let (status, again) = app.rest(Method::POST, "/api/chat/rooms", Some(&app.token("bob")), Some(json!({"otherUserId": "alice"}))).await;
    assert_eq!((status, again["data"]["id"].clone()), (200, json!(room_id)), "the pair's room is returned, not a second one");

    let mut alice_phone = app.socket("alice").await;
    let mut alice_laptop = app.socket("alice").await;
    let mut bob = app.socket("bob").await;
    let joined = alice_phone.ok("chat:join", json!({"roomId": room_id})).await;
    assert_eq!(joined["room"]["id"], json!(room_id));
    let mut online = joined["onlineMemberIds"].as_array().unwrap().clone();
    online.sort_by_key(|v| v.to_string());
    assert_eq!(online, [json!("alice"), json!("bob")]);
    bob.ok("chat:join", json!({"roomId": room_id})).await;
    let seen = alice_phone.expect("chat:user_joined", |_| true).await;
    assert_eq!(seen["user"]["id"], "bob");

    let sent = alice_phone.ok("chat:send", json!({"roomId": room_id, "clientMsgId": "c-1", "text": "  hello bob  "})).await;
    assert_eq!(sent["duplicate"], false);
    let message = sent["message"].clone();
    assert_eq!((message["text"].clone(), message["kind"].clone(), message["roomId"].clone()), (json!("hello bob"), json!("text"), json!(room_id)));
    assert_eq!(message["sender"], json!({"id": "alice", "username": "alice name", "avatar": null, "verified": false}));
    assert_eq!((message["clientMsgId"].clone(), message["deleted"].clone(), message["editedAt"].clone()), (json!("c-1"), json!(false), Value::Null));
    assert_eq!(message["reactions"], json!({}));
    assert!(message["createdAt"].is_string() && message.get("location").is_none() && message.get("replyTo").is_none());

    // Bob joined the room; Alice's laptop did not: both get it through their user rooms.
    for socket in [&mut bob, &mut alice_laptop, &mut alice_phone] {
        let got = socket.expect("chat:message", |_| true).await;
        assert_eq!((got["roomId"].clone(), got["message"].clone()), (json!(room_id), message.clone()));
    }
    // A socket in both its user room and the chat room gets one copy.
    alice_phone.expect_none("chat:message", Duration::from_millis(200)).await;
    bob.expect_none("chat:message", Duration::from_millis(10)).await;

    let reply = bob.ok("chat:send", json!({"roomId": room_id, "clientMsgId": "c-1", "text": "hi alice", "replyTo": message["id"]})).await;
    assert_eq!((reply["duplicate"].clone(), reply["message"]["replyTo"].clone()), (json!(false), message["id"].clone()), "clientMsgId is per sender");
    alice_laptop.expect("chat:message", |v| v["message"]["text"] == "hi alice").await;

    let history = bob.ok("chat:history", json!({"roomId": room_id})).await;
    assert_eq!(texts(&history), ["hi alice", "hello bob"]);
    assert_eq!(history["hasMore"], false);
    let (status, rest) = app.rest(Method::GET, &format!("/api/chat/rooms/{room_id}/messages"), Some(&app.token("alice")), None).await;
    assert_eq!(status, 200);
    assert_eq!(texts(&rest["data"]), ["hi alice", "hello bob"]);

    alice_phone.ok("chat:leave", json!({"roomId": room_id})).await;
    let left = bob.expect("chat:user_left", |_| true).await;
    assert_eq!(left["userId"], "alice");
    app.stop().await;
}

#[tokio::test]
async fn a_resent_client_msg_id_returns_the_stored_message_and_stores_nothing_new() {
    let app = spawn_app().await;
    let room_id = direct_room(&app, "sender", "receiver").await;
    let sender = app.socket("sender").await;
    let mut receiver = app.socket("receiver").await;
    let first = sender.ok("chat:send", json!({"roomId": room_id, "clientMsgId": "retry-1", "text": "original"})).await;
    let same = sender.ok("chat:send", json!({"roomId": room_id, "clientMsgId": "retry-1", "text": "original"})).await;
    assert_eq!((same["duplicate"].clone(), same["message"].clone()), (json!(true), first["message"].clone()));
    let changed = sender.ok("chat:send", json!({"roomId": room_id, "clientMsgId": "retry-1", "text": "something else"})).await;
    assert_eq!(changed["duplicate"], true);
    assert_eq!(changed["message"]["text"], "original", "the stored message wins");
    receiver.expect("chat:message", |v| v["message"]["text"] == "original").await;
    receiver.expect_none("chat:message", Duration::from_millis(200)).await;
    let history = sender.ok("chat:history", json!({"roomId": room_id})).await;
    assert_eq!(texts(&history), ["original"]);

    // Concurrent resends of one new message store it once.
    let acks = futures_util::future::join_all(
        (0..10).map(|_| sender.call("chat:send", json!({"roomId": room_id, "clientMsgId": "burst", "text": "once"}))),
    )
    .await;
    assert!(acks.iter().all(|a| a["ok"] == true), "{acks:?}");
    assert_eq!(acks.iter().filter(|a| a["data"]["duplicate"] == false).count(), 1);
    let ids: Vec<_> = acks.iter().map(|a| a["data"]["message"]["id"].clone()).collect();
    assert!(ids.iter().all(|id| *id == ids[0]));
    assert_eq!(texts(&sender.ok("chat:history", json!({"roomId": room_id})).await), ["once", "original"]);
    app.stop().await;
}

#[tokio::test]
async fn non_members_cannot_join_read_or_send_to_direct_and_group_rooms() {
    let app = spawn_app().await;
    let direct = direct_room(&app, "ann", "ben").await;
    let group = group_room(&app, "ann", "group", &["ben"]).await;
    let mut ben = app.socket("ben").await;
    let eve = app.socket("eve").await;
    for room in [&direct, &group] {
        assert_eq!(eve.err("chat:join", json!({"roomId": room})).await, "forbidden");
        assert_eq!(eve.err("chat:send", json!({"roomId": room, "clientMsgId": "x", "text": "let me in"})).await, "forbidden");
        assert_eq!(eve.err("chat:history", json!({"roomId": room})).await, "forbidden");
        assert_eq!(eve.err("chat:typing", json!({"roomId": room, "typing": true})).await, "forbidden");
        let (status, body) = app.rest(Method::GET, &format!("/api/chat/rooms/{room}/messages"), Some(&app.token("eve")), None).await;
        assert_eq!((status, body["error"]["code"].clone()), (403, json!("forbidden")));
    }
    ben.expect_none("chat:message", Duration::from_millis(100)).await;
    let sent = ben.ok("chat:send", json!({"roomId": group, "clientMsgId": "g1", "text": "members only"})).await;
    let id = sent["message"]["id"].clone();
    assert_eq!(eve.err("chat:react", json!({"messageId": id, "emoji": "👍"})).await, "forbidden");
    assert_eq!(eve.err("chat:read", json!({"roomId": group, "messageId": id})).await, "forbidden");
    assert_eq!(eve.err("chat:join", json!({"roomId": "no-such-room"})).await, "not_found");
    assert_eq!(eve.err("chat:send", json!({"roomId": "no-such-room", "clientMsgId": "x", "text": "?"})).await, "not_found");

    let (status, body) = app.rest(Method::POST, "/api/chat/rooms", Some(&app.token("ann")), Some(json!({"otherUserId": "ann"}))).await;
    assert_eq!((status, body["error"]["code"].clone()), (400, json!("bad_request")), "a direct room with oneself");
    let (_, rooms) = app.rest(Method::GET, "/api/chat/rooms", Some(&app.token("eve")), None).await;
    assert_eq!(rooms["data"]["rooms"], json!([]), "eve is in no room");
    let (status, _) = app.rest(Method::GET, "/api/chat/rooms", None, None).await;
    assert_eq!(status, 401);
    app.stop().await;
}

#[tokio::test]
async fn group_members_add_people_and_a_member_who_leaves_is_out() {
    let app = spawn_app().await;
    let group = group_room(&app, "owner", "group", &["m1", "m1", "owner"]).await;
    let (_, rooms) = app.rest(Method::GET, "/api/chat/rooms", Some(&app.token("owner")), None).await;
    let room = room_in(&rooms, &group);
    assert_eq!((room["kind"].clone(), room["title"].clone(), room["memberIds"].clone()), (json!("group"), json!("Team"), json!(["m1", "owner"])));

    let (status, body) = app.rest(Method::POST, &format!("/api/chat/rooms/{group}/members"), Some(&app.token("m1")), Some(json!({"userIds": ["m2"]}))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["memberIds"], json!(["m1", "m2", "owner"]));
    let (status, _) = app.rest(Method::POST, &format!("/api/chat/rooms/{group}/members"), Some(&app.token("outsider")), Some(json!({"userIds": ["outsider"]}))).await;
    assert_eq!(status, 403);

    let mut m2 = app.socket("m2").await;
    let owner = app.socket("owner").await;
    owner.ok("chat:send", json!({"roomId": group, "clientMsgId": "welcome", "text": "welcome m2"})).await;
    m2.expect("chat:message", |v| v["message"]["text"] == "welcome m2").await;
    let (status, _) = app.rest(Method::DELETE, &format!("/api/chat/rooms/{group}/members/me"), Some(&app.token("m2")), None).await;
    assert_eq!(status, 200);
    assert_eq!(m2.err("chat:send", json!({"roomId": group, "clientMsgId": "back", "text": "still here?"})).await, "forbidden");
    owner.ok("chat:send", json!({"roomId": group, "clientMsgId": "bye", "text": "after m2 left"})).await;
    m2.expect_none("chat:message", Duration::from_millis(200)).await;
    let (status, _) = app.rest(Method::DELETE, &format!("/api/chat/rooms/{group}/members/me"), Some(&app.token("m2")), None).await;
    assert_eq!(status, 403, "no longer a member");

    let direct = direct_room(&app, "owner", "m1").await;
    let (status, _) = app.rest(Method::POST, &format!("/api/chat/rooms/{direct}/members"), Some(&app.token("owner")), Some(json!({"userIds": ["m2"]}))).await;
    assert_eq!(status, 400, "a direct room keeps its pair");
    let (status, _) = app.rest(Method::DELETE, &format!("/api/chat/rooms/{direct}/members/me"), Some(&app.token("owner")), None).await;
    assert_eq!(status, 400);
    for bad in [json!({"kind": "group", "memberIds": ["a b"]}), json!({"kind": "public"}), json!({"kind": "direct"}), json!({"kind": "party"}), json!({})] {
        let (status, body) = app.rest(Method::POST, "/api/chat/rooms", Some(&app.token("owner")), Some(bad.clone())).await;
        assert_eq!((status, body["error"]["code"].clone()), (400, json!("bad_request")), "{bad}");
    }
    app.stop().await;
}

#[tokio::test]
async fn a_public_room_is_open_to_all_and_joining_or_sending_makes_a_member() {
    let app = spawn_app().await;
    let public = group_room(&app, "host", "public", &[]).await;
    let host = app.socket("host").await;
    let mut visitor = app.socket("visitor").await;
    host.ok("chat:send", json!({"roomId": public, "clientMsgId": "p1", "text": "welcome all"})).await;
    let history = visitor.ok("chat:history", json!({"roomId": public})).await;
    assert_eq!(texts(&history), ["welcome all"], "anyone reads a public room");
    let joined = visitor.ok("chat:join", json!({"roomId": public})).await;
    assert_eq!(joined["room"]["memberIds"], json!(["host", "visitor"]));
    host.ok("chat:send", json!({"roomId": public, "clientMsgId": "p2", "text": "hi visitor"})).await;
    visitor.expect("chat:message", |v| v["message"]["text"] == "hi visitor").await;

    let passer = app.socket("passer").await;
    passer.ok("chat:send", json!({"roomId": public, "clientMsgId": "p3", "text": "drive-by"})).await;
    let (_, rooms) = app.rest(Method::GET, "/api/chat/rooms", Some(&app.token("passer")), None).await;
    assert_eq!(room_in(&rooms, &public)["memberIds"], json!(["host", "passer", "visitor"]));
    app.stop().await;
}

#[tokio::test]
async fn replies_and_location_messages_are_validated() {
    let app = spawn_app().await;
    let room = direct_room(&app, "walker", "friend").await;
    let other = direct_room(&app, "walker", "stranger").await;
    let walker = app.socket("walker").await;
    let mut friend = app.socket("friend").await;
    let located = walker
        .ok("chat:send", json!({"roomId": room, "clientMsgId": "loc-1", "kind": "location", "location": {"lat": 48.8584, "lng": 2.2945}, "text": "here"}))
        .await;
    assert_eq!(located["message"]["kind"], "location");
    assert_eq!(located["message"]["location"], json!({"lat": 48.8584, "lng": 2.2945}));
    assert_eq!(located["message"]["text"], "here");
    let seen = friend.expect("chat:message", |_| true).await;
    assert_eq!(seen["message"]["location"]["lat"], 48.8584);
    let inferred = walker.ok("chat:send", json!({"roomId": room, "clientMsgId": "loc-2", "location": {"lat": -90, "lng": 180}})).await;
    assert_eq!(inferred["message"]["kind"], "location", "a location without kind is a location message");

    let bad = [
        json!({"kind": "location", "location": {"lat": 91, "lng": 0}}),
        json!({"kind": "location", "location": {"lat": 0, "lng": -180.5}}),
        json!({"kind": "location", "location": {"lat": "north", "lng": 0}}),
        json!({"kind": "location"}),
        json!({"kind": "text", "text": "x", "location": {"lat": 1, "lng": 1}}),
        json!({"kind": "sticker", "text": "x"}),
        json!({"text": "   "}),
        json!({"text": "x".repeat(4001)}),
        json!({"text": "x", "replyTo": "has space"}),
    ];
    for (i, extra) in bad.iter().enumerate() {
        let mut payload = json!({"roomId": room, "clientMsgId": format!("bad-{i}")});
        payload.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        assert_eq!(walker.err("chat:send", payload).await, "bad_request", "{extra}");
    }
    assert_eq!(walker.err("chat:send", json!({"roomId": room, "text": "no client id"})).await, "bad_request");
    assert_eq!(walker.err("chat:send", json!({"roomId": room, "clientMsgId": "r1", "text": "re", "replyTo": "nope"})).await, "not_found");
    let elsewhere = walker.ok("chat:send", json!({"roomId": other, "clientMsgId": "o1", "text": "other room"})).await;
    let code = walker.err("chat:send", json!({"roomId": room, "clientMsgId": "r2", "text": "re", "replyTo": elsewhere["message"]["id"]})).await;
    assert_eq!(code, "bad_request", "a reply stays in its room");
    assert_eq!(texts(&walker.ok("chat:history", json!({"roomId": room})).await).len(), 2, "nothing invalid was stored");
    friend.expect("chat:message", |v| v["message"]["clientMsgId"] == "loc-2").await;
    friend.expect_none("chat:message", Duration::from_millis(200)).await;
    app.stop().await;
}

#[tokio::test]
async fn only_the_sender_edits_and_deletes_and_a_deleted_message_keeps_its_place() {
    let app = spawn_app().await;
    let room = direct_room(&app, "writer", "reader").await;
    let writer = app.socket("writer").await;
    let mut reader = app.socket("reader").await;
    let first = writer.ok("chat:send", json!({"roomId": room, "clientMsgId": "e1", "text": "teh typo"})).await["message"].clone();
    writer.ok("chat:send", json!({"roomId": room, "clientMsgId": "e2", "text": "second"})).await;
    let id = first["id"].clone();
    assert_eq!(reader.err("chat:edit", json!({"messageId": id, "text": "hijacked"})).await, "forbidden");
    assert_eq!(reader.err("chat:delete", json!({"messageId": id})).await, "forbidden");
    assert_eq!(writer.err("chat:edit", json!({"messageId": id, "text": "  "})).await, "bad_request");
    assert_eq!(writer.err("chat:edit", json!({"messageId": "unknown", "text": "x"})).await, "not_found");

    let edited = writer.ok("chat:edit", json!({"messageId": id, "text": "the typo"})).await;
    assert_eq!((edited["message"]["text"].clone(), edited["message"]["id"].clone()), (json!("the typo"), id.clone()));
    assert!(edited["message"]["editedAt"].is_string());
    let seen = reader.expect("chat:edited", |_| true).await;
    assert_eq!((seen["roomId"].clone(), seen["message"]["text"].clone()), (json!(room), json!("the typo")));

    assert_eq!(writer.ok("chat:delete", json!({"messageId": id})).await, json!({}));
    let gone = reader.expect("chat:deleted", |_| true).await;
    assert_eq!(crate::support::checked_seq(&gone), json!({"roomId": room, "messageId": id}));
    assert_eq!(writer.ok("chat:delete", json!({"messageId": id})).await, json!({}), "deleting again is a no-op");
    reader.expect_none("chat:deleted", Duration::from_millis(200)).await;
    assert_eq!(writer.err("chat:edit", json!({"messageId": id, "text": "undo"})).await, "conflict");
    assert_eq!(reader.err("chat:react", json!({"messageId": id, "emoji": "👍"})).await, "conflict");

    let history = reader.ok("chat:history", json!({"roomId": room})).await;
    let messages = history["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2, "the deleted message keeps its place");
    assert_eq!((messages[1]["id"].clone(), messages[1]["deleted"].clone(), messages[1]["text"].clone()), (id, json!(true), json!("")));
    app.stop().await;
}

#[tokio::test]
async fn editing_after_the_window_is_a_conflict() {
    let app = spawn_app_with(|s| s.chat.edit_window = Duration::ZERO).await;
    let room = direct_room(&app, "slow", "peer").await;
    let slow = app.socket("slow").await;
    let sent = slow.ok("chat:send", json!({"roomId": room, "clientMsgId": "w1", "text": "first draft"})).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(slow.err("chat:edit", json!({"messageId": sent["message"]["id"], "text": "too late"})).await, "conflict");
    assert_eq!(texts(&slow.ok("chat:history", json!({"roomId": room})).await), ["first draft"]);
    slow.ok("chat:delete", json!({"messageId": sent["message"]["id"]})).await;
    app.stop().await;
}

#[tokio::test]
async fn reactions_toggle_and_reach_every_member() {
    let app = spawn_app().await;
    let group = group_room(&app, "r1", "group", &["r2", "r3"]).await;
    let r1 = app.socket("r1").await;
    let r2 = app.socket("r2").await;
    let mut r3 = app.socket("r3").await;
    let id = r1.ok("chat:send", json!({"roomId": group, "clientMsgId": "m", "text": "react!"})).await["message"]["id"].clone();
    assert_eq!(r2.ok("chat:react", json!({"messageId": id, "emoji": "🔥"})).await, json!({"emoji": "🔥", "count": 1, "reacted": true}));
    let seen = r3.expect("chat:reaction", |_| true).await;
    assert_eq!(crate::support::checked_seq(&seen), json!({"roomId": group, "messageId": id, "emoji": "🔥", "userId": "r2", "count": 1}));
    assert_eq!(r3.ok("chat:react", json!({"messageId": id, "emoji": "🔥", "on": true})).await["count"], 2);
    assert_eq!(r3.ok("chat:react", json!({"messageId": id, "emoji": "🔥", "on": true})).await["count"], 2, "on: true twice is one reaction");
    assert_eq!(r2.ok("chat:react", json!({"messageId": id, "emoji": "🔥"})).await, json!({"emoji": "🔥", "count": 1, "reacted": false}));
    assert_eq!(r2.err("chat:react", json!({"messageId": id, "emoji": "two words"})).await, "bad_request");
    let history = r1.ok("chat:history", json!({"roomId": group})).await;
    assert_eq!(history["messages"][0]["reactions"], json!({"🔥": 1}));
    app.stop().await;
}

#[tokio::test]
async fn read_positions_give_unread_counts_and_the_room_list_shows_the_last_message() {
    let app = spawn_app().await;
    let room = direct_room(&app, "talker", "away").await;
    let mut talker = app.socket("talker").await;
    let mut ids = Vec::new();
    for i in 1..=3 {
        ids.push(talker.ok("chat:send", json!({"roomId": room, "clientMsgId": format!("u{i}"), "text": format!("m{i}")})).await["message"]["id"].clone());
    }
    let away = app.token("away");
    let (_, rooms) = app.rest(Method::GET, "/api/chat/rooms", Some(&away), None).await;
    let listed = room_in(&rooms, &room);
    assert_eq!((listed["unreadCount"].clone(), listed["lastMessage"]["text"].clone()), (json!(3), json!("m3")));
    let (_, mine) = app.rest(Method::GET, "/api/chat/rooms", Some(&app.token("talker")), None).await;
    assert_eq!(room_in(&mine, &room)["unreadCount"], 0, "one's own messages are never unread");

    let mut away_socket = app.socket("away").await;
    assert_eq!(away_socket.ok("chat:read", json!({"roomId": room, "messageId": ids[1]})).await, json!({"unreadCount": 1}));
    let receipt = talker.expect("chat:read", |_| true).await;
    assert_eq!((receipt["userId"].clone(), receipt["messageId"].clone()), (json!("away"), ids[1].clone()));
    assert!(receipt["readAt"].is_string());
    away_socket.expect("chat:read", |_| true).await;
    assert_eq!(away_socket.ok("chat:read", json!({"roomId": room, "messageId": ids[0]})).await, json!({"unreadCount": 1}), "never backwards");
    talker.expect_none("chat:read", Duration::from_millis(200)).await;
    // Deleting an unread message takes it out of the count.
    talker.ok("chat:delete", json!({"messageId": ids[2]})).await;
    let (_, rooms) = app.rest(Method::GET, "/api/chat/rooms", Some(&away), None).await;
    assert_eq!(room_in(&rooms, &room)["unreadCount"], 0);
    assert_eq!(room_in(&rooms, &room)["lastMessage"]["deleted"], true);
    assert_eq!(away_socket.err("chat:read", json!({"roomId": room, "messageId": "nope"})).await, "not_found");

    // The most recently active room comes first.
    let newer = direct_room(&app, "away", "third").await;
    let (_, rooms) = app.rest(Method::GET, "/api/chat/rooms", Some(&away), None).await;
    assert_eq!(rooms["data"]["rooms"][0]["id"], json!(newer));
    talker.ok("chat:send", json!({"roomId": room, "clientMsgId": "u4", "text": "m4"})).await;
    let (_, rooms) = app.rest(Method::GET, "/api/chat/rooms", Some(&away), None).await;
    assert_eq!(rooms["data"]["rooms"][0]["id"], json!(room));
    app.stop().await;
}

#[tokio::test]
async fn history_pages_newest_first_by_cursor() {
    let app = spawn_app().await;
    let room = direct_room(&app, "pager", "peer").await;
    let pager = app.socket("pager").await;
    for i in 0..7 {
        pager.ok("chat:send", json!({"roomId": room, "clientMsgId": format!("h{i}"), "text": format!("h{i}")})).await;
    }
    let first = pager.ok("chat:history", json!({"roomId": room, "limit": 3})).await;
    assert_eq!(texts(&first), ["h6", "h5", "h4"]);
    assert_eq!(first["hasMore"], true);
    let cursor = first["nextCursor"].as_str().unwrap().to_owned();
    let (_, second) = app.rest(Method::GET, &format!("/api/chat/rooms/{room}/messages?before={cursor}&limit=3"), Some(&app.token("peer")), None).await;
    assert_eq!(texts(&second["data"]), ["h3", "h2", "h1"]);
    let last = pager.ok("chat:history", json!({"roomId": room, "before": second["data"]["nextCursor"], "limit": 3})).await;
    assert_eq!((texts(&last), last["hasMore"].clone(), last["nextCursor"].clone()), (vec!["h0".to_owned()], json!(false), Value::Null));
    assert_eq!(texts(&pager.ok("chat:history", json!({"roomId": room})).await).len(), 7, "default limit 50");
    for limit in [0, 101, -1] {
        assert_eq!(pager.err("chat:history", json!({"roomId": room, "limit": limit})).await, "bad_request");
    }
    let (status, _) = app.rest(Method::GET, &format!("/api/chat/rooms/{room}/messages?limit=abc"), Some(&app.token("peer")), None).await;
    assert_eq!(status, 400);
    app.stop().await;
}

#[tokio::test]
async fn typing_reaches_the_others_watching_the_room_but_not_the_sender() {
    let app = spawn_app().await;
    let room = direct_room(&app, "typist", "watcher").await;
    let mut typist = app.socket("typist").await;
    let mut watcher = app.socket("watcher").await;
    typist.ok("chat:join", json!({"roomId": room})).await;
    watcher.ok("chat:join", json!({"roomId": room})).await;
    assert_eq!(typist.ok("chat:typing", json!({"roomId": room, "typing": true})).await, json!({}));
    let on = watcher.expect("chat:typing", |v| v["typing"] == true).await;
    assert_eq!((on["roomId"].clone(), on["user"]["id"].clone(), on["user"]["username"].clone()), (json!(room), json!("typist"), json!("typist name")));
    typist.ok("chat:typing", json!({"roomId": room, "typing": false})).await;
    watcher.expect("chat:typing", |v| v["typing"] == false).await;
    // Sending a message ends an indicator too.
    typist.ok("chat:typing", json!({"roomId": room, "typing": true})).await;
    watcher.expect("chat:typing", |v| v["typing"] == true).await;
    typist.ok("chat:send", json!({"roomId": room, "clientMsgId": "t1", "text": "done typing"})).await;
    watcher.expect("chat:typing", |v| v["typing"] == false).await;
    typist.expect_none("chat:typing", Duration::from_millis(200)).await;
    app.stop().await;
}

#[tokio::test]
async fn an_offline_member_gets_one_message_notification_for_a_burst_and_online_ones_get_none() {
    let app = spawn_app().await;
    let room = direct_room(&app, "chatty", "offline").await;
    let group = group_room(&app, "chatty", "group", &["online"]).await;
    let chatty = app.socket("chatty").await;
    let mut online = app.socket("online").await;
    for i in 0..3 {
        chatty.ok("chat:send", json!({"roomId": room, "clientMsgId": format!("b{i}"), "text": format!("burst {i}")})).await;
    }
    chatty.ok("chat:send", json!({"roomId": group, "clientMsgId": "g", "text": "you are online"})).await;
    online.expect("chat:message", |_| true).await;
    online.expect_none("notification:new", Duration::from_millis(300)).await;

    // Notifications are stored after the ack: wait for the inbox to settle.
    let token = app.token("offline");
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (_, inbox) = app.rest(Method::GET, "/api/notifications", Some(&token), None).await;
        if inbox["data"]["notifications"].as_array().is_some_and(|l| !l.is_empty()) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no message notification: {inbox}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (_, inbox) = app.rest(Method::GET, "/api/notifications", Some(&token), None).await;
    let inbox = inbox["data"]["notifications"].as_array().unwrap().clone();
    assert_eq!(inbox.len(), 1, "a burst is one notification: {inbox:?}");
    let n = &inbox[0];
    assert_eq!((n["type"].clone(), n["actor"]["id"].clone()), (json!("message"), json!("chatty")));
    assert_eq!(n["subject"], json!({"kind": "chat", "id": room}));
    assert_eq!(n["data"]["roomId"], json!(room));

    // Back online: the room list and history hold what was missed.
    let back = app.socket("offline").await;
    let (_, rooms) = app.rest(Method::GET, "/api/chat/rooms", Some(&token), None).await;
    assert_eq!(room_in(&rooms, &room)["unreadCount"], 3);
    assert_eq!(texts(&back.ok("chat:history", json!({"roomId": room})).await), ["burst 2", "burst 1", "burst 0"]);
    app.stop().await;
}


#[tokio::test]
async fn the_chat_flow_works_on_postgres() {
    let db = crate::support::PgDatabase::create().await;
    let url = db.url.clone();
    let app = spawn_app_with(|s| s.store.database_url = url.clone().into()).await;
    let room = direct_room(&app, "pg-a", "pg-b").await;
    assert_eq!(direct_room(&app, "pg-b", "pg-a").await, room);
    let a = app.socket("pg-a").await;
    let mut b = app.socket("pg-b").await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let sent = a.ok("chat:send", json!({"roomId": room, "clientMsgId": format!("pg{i}"), "text": format!("pg {i}")})).await;
        ids.push(sent["message"]["id"].clone());
        b.expect("chat:message", |v| v["message"]["text"] == format!("pg {i}")).await;
    }
    let dup = a.ok("chat:send", json!({"roomId": room, "clientMsgId": "pg0", "text": "changed"})).await;
    assert_eq!((dup["duplicate"].clone(), dup["message"]["text"].clone()), (json!(true), json!("pg 0")));
    let loc = a.ok("chat:send", json!({"roomId": room, "clientMsgId": "pg-loc", "location": {"lat": 1.5, "lng": -2.25}})).await;
    assert_eq!(loc["message"]["location"], json!({"lat": 1.5, "lng": -2.25}));
    let page = b.ok("chat:history", json!({"roomId": room, "limit": 2})).await;
    assert_eq!(texts(&page), ["", "pg 4"]);
    let older = b.ok("chat:history", json!({"roomId": room, "before": page["nextCursor"], "limit": 10})).await;
    assert_eq!(texts(&older), ["pg 3", "pg 2", "pg 1", "pg 0"]);
    assert_eq!(b.ok("chat:read", json!({"roomId": room, "messageId": ids[2]})).await, json!({"unreadCount": 3}));
    assert_eq!(b.ok("chat:read", json!({"roomId": room, "messageId": ids[1]})).await, json!({"unreadCount": 3}));
    assert_eq!(b.ok("chat:react", json!({"messageId": ids[0], "emoji": "👍"})).await["count"], 1);
    a.ok("chat:edit", json!({"messageId": ids[0], "text": "pg 0 edited"})).await;
    a.ok("chat:delete", json!({"messageId": ids[4]})).await;
    let (_, rooms) = app.rest(Method::GET, "/api/chat/rooms", Some(&app.token("pg-b")), None).await;
    let listed = room_in(&rooms, &room);
    assert_eq!((listed["unreadCount"].clone(), listed["lastMessage"]["kind"].clone()), (json!(2), json!("location")));
    let all = b.ok("chat:history", json!({"roomId": room})).await;
    assert_eq!(all["messages"][5]["reactions"], json!({"👍": 1}));
    assert_eq!(all["messages"][5]["text"], "pg 0 edited");
    drop((a, b));
    app.stop().await;
    db.drop_now().await;
}
