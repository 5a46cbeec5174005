//! Server-wide bans, mutes and token revocation through the server API, with the
//! moderation audit log.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use crate::support::{SERVER_KEY, TestSocket, spawn_app, token_for};

async fn moderate(app: &crate::support::TestApp, action: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
    app.rest(Method::POST, &format!("/api/server/moderation/{action}"), Some(SERVER_KEY), Some(body)).await
}

#[tokio::test]
async fn a_ban_closes_every_socket_of_the_user_and_refuses_new_ones_until_lifted() {
    let app = spawn_app().await;
    let phone = app.socket("troll").await;
    let laptop = app.socket("troll").await;
    let bystander = app.socket("bystander").await;
    let (status, body) = moderate(&app, "ban", json!({"userId": "troll", "reason": "abuse"})).await;
    assert_eq!(status, 200, "{body}");
    assert!(phone.closed_within(Duration::from_secs(3)).await);
    assert!(laptop.closed_within(Duration::from_secs(3)).await);
    let refused = TestSocket::connect(app.addr, Some(json!({"token": token_for("troll", 600)})), "", None).await.err().expect("refused");
    assert_eq!(refused.data["code"], "banned");
    let (status, _) = app.rest(Method::POST, "/api/content/x/like", Some(&token_for("troll", 600)), None).await;
    assert_eq!(status, 403);
    bystander.ok("content:like", json!({"contentId": "x"})).await;
    assert_eq!(moderate(&app, "unban", json!({"userId": "troll"})).await.0, 200);
    TestSocket::connect(app.addr, Some(json!({"token": token_for("troll", 600)})), "", None).await.expect("unbanned");
    // A timed ban lifts by itself.
    assert_eq!(moderate(&app, "ban", json!({"userId": "brief", "durationSec": 1})).await.0, 200);
    assert!(TestSocket::connect(app.addr, Some(json!({"token": token_for("brief", 600)})), "", None).await.is_err());
    tokio::time::sleep(Duration::from_millis(1100)).await;
    TestSocket::connect(app.addr, Some(json!({"token": token_for("brief", 600)})), "", None).await.expect("ban expired");
    for bad in [json!({"userId": ""}), json!({"userId": "x", "durationSec": 0}), json!({"userId": "x", "durationSec": -5})] {
        assert_eq!(moderate(&app, "ban", bad).await.0, 400);
    }
    assert_eq!(moderate(&app, "smite", json!({"userId": "x"})).await.0, 400);
    app.stop().await;
}

#[tokio::test]
async fn a_muted_user_reads_but_posts_nothing() {
    let app = spawn_app().await;
    let muted = app.socket("loud").await;
    assert_eq!(moderate(&app, "mute", json!({"userId": "loud", "durationSec": 600})).await.0, 200);
    assert_eq!(muted.err("content:comment", json!({"contentId": "calm", "text": "shout"})).await, "forbidden");
    let (status, _) = app.rest(Method::POST, "/api/content/calm/comments", Some(&app.token("loud")), Some(json!({"text": "shout"}))).await;
    assert_eq!(status, 403);
    muted.ok("content:like", json!({"contentId": "calm"})).await;
    let (_, page) = app.rest(Method::GET, "/api/content/calm/comments", None, None).await;
    assert_eq!(page["data"]["total"], 0, "nothing was stored");
    assert_eq!(moderate(&app, "unmute", json!({"userId": "loud"})).await.0, 200);
    muted.ok("content:comment", json!({"contentId": "calm", "text": "sorry"})).await;
    app.stop().await;
}

/// The mute is the posting services' own rule, so it holds for every command that
/// posts text (the contract marks them) whichever door it comes through.
#[tokio::test]
async fn a_server_wide_mute_refuses_every_posting_command() {
    let app = spawn_app().await;
    let loud = app.socket("loud").await;
    // Something of each kind to post on, or to edit, before the mute.
    let (status, room) = app.rest(Method::POST, "/api/chat/rooms", Some(&app.token("loud")), Some(json!({"otherUserId": "quiet"}))).await;
    assert_eq!(status, 201, "{room}");
    let room_id = room["data"]["id"].as_str().expect("room id").to_owned();
    let sent = loud.ok("chat:send", json!({"roomId": room_id, "clientMsgId": "m1", "text": "hello"})).await;
    let message_id = sent["message"]["id"].as_str().expect("message id").to_owned();
    let posted = loud.ok("content:comment", json!({"contentId": "calm", "text": "first"})).await;
    let comment_id = posted["comment"]["id"].as_str().expect("comment id").to_owned();
    let (status, stream) = app.rest(Method::POST, "/api/streams", Some(&app.token("host")), Some(json!({"title": "show"}))).await;
    assert_eq!(status, 201, "{stream}");
    let stream_id = stream["data"]["id"].as_str().expect("stream id").to_owned();
    let (status, _) = app.rest(Method::POST, &format!("/api/streams/{stream_id}/status"), Some(&app.token("host")), Some(json!({"status": "live"}))).await;
    assert_eq!(status, 200);
    loud.ok("stream:join", json!({"streamId": stream_id})).await;

    assert_eq!(moderate(&app, "mute", json!({"userId": "loud", "durationSec": 600})).await.0, 200);
    let posting = [
        ("content:comment", json!({"contentId": "calm", "text": "shout"})),
        ("comment:edit", json!({"commentId": comment_id, "text": "shout"})),
        ("chat:send", json!({"roomId": room_id, "clientMsgId": "m2", "text": "shout"})),
        ("chat:edit", json!({"messageId": message_id, "text": "shout"})),
        ("stream:chat", json!({"streamId": stream_id, "text": "shout"})),
    ];
    let contract = chorus::transport::contract::Contract::build();
    let marked: Vec<&str> = contract.commands.iter().filter(|c| c.posts_text).map(|c| c.name).collect();
    assert_eq!(marked, posting.iter().map(|(event, _)| *event).collect::<Vec<_>>(), "every command the contract marks as posting is tried here");
    for (event, payload) in posting {
        assert_eq!(loud.err(event, payload).await, "forbidden", "{event} by a muted user");
    }
    let (status, body) = app.rest(Method::PATCH, &format!("/api/comments/{comment_id}"), Some(&app.token("loud")), Some(json!({"text": "shout"}))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("forbidden")), "the REST door refuses alike");
    let (_, page) = app.rest(Method::GET, "/api/content/calm/comments", None, None).await;
    assert_eq!((page["data"]["total"].as_i64(), page["data"]["comments"][0]["text"].as_str()), (Some(1), Some("first")), "nothing changed: {page}");
    app.stop().await;
}

#[tokio::test]
async fn revoking_tokens_closes_sockets_and_refuses_older_tokens_only() {
    let app = spawn_app().await;
    let old_token = token_for("leaked", 3600);
    let s = TestSocket::connect(app.addr, Some(json!({"token": old_token})), "", None).await.expect("connect");
    let (status, _) = app.rest(Method::POST, "/api/server/users/leaked/revoke-tokens", Some(SERVER_KEY), Some(json!({"reason": "token leaked"}))).await;
    assert_eq!(status, 200);
    assert!(s.closed_within(Duration::from_secs(3)).await);
    let refused = TestSocket::connect(app.addr, Some(json!({"token": old_token})), "", None).await.err().expect("old token refused");
    assert_eq!(refused.data["code"], "auth_invalid");
    let (status, _) = app.rest(Method::POST, "/api/content/y/like", Some(&old_token), None).await;
    assert_eq!(status, 401);
    // Tokens issued after the revocation's second are accepted.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    TestSocket::connect(app.addr, Some(json!({"token": token_for("leaked", 3600)})), "", None).await.expect("fresh token accepted");

    let (status, log) = app.rest(Method::GET, "/api/server/moderation-audit?limit=10", Some(SERVER_KEY), None).await;
    assert_eq!(status, 200);
    let entry = &log["data"]["entries"][0];
    assert_eq!((entry["action"].clone(), entry["userId"].clone(), entry["actor"].clone()), (json!("revoke_tokens"), json!("leaked"), json!("backend")));
    assert_eq!(entry["reason"], "token leaked");
    let (status, _) = app.rest(Method::GET, "/api/server/moderation-audit", Some(&app.token("leaked")), None).await;
    assert_eq!(status, 403, "a user token never reads the audit log");
    app.stop().await;
}

#[tokio::test]
async fn comments_and_chat_pass_the_moderation_pipeline_when_their_surfaces_are_guarded() {
    let app = crate::support::spawn_app_with(|s| {
        s.moderation.blocklist = "badword".into();
        s.moderation.surfaces = "comment,chat".into();
    })
    .await;
    let writer = app.socket("writer").await;
    let blocked = writer.call("content:comment", json!({"contentId": "clean", "text": "you b a d w o r d"})).await;
    assert_eq!(blocked["error"]["code"], "blocked", "{blocked}");
    let (status, _) = app.rest(Method::POST, "/api/content/clean/comments", Some(&app.token("writer")), Some(json!({"text": "badword!"}))).await;
    assert_eq!(status, 422);
    let (_, page) = app.rest(Method::GET, "/api/content/clean/comments", None, None).await;
    assert_eq!(page["data"]["total"], 0, "a blocked comment is stored nowhere");
    writer.ok("content:comment", json!({"contentId": "clean", "text": "lovely"})).await;
    let (_, room) = app.rest(Method::POST, "/api/chat/rooms", Some(&app.token("writer")), Some(json!({"otherUserId": "reader"}))).await;
    let room_id = room["data"]["room"]["id"].as_str().or(room["data"]["id"].as_str()).unwrap().to_owned();
    let chat = writer.call("chat:send", json!({"roomId": room_id, "clientMsgId": "m1", "text": "B4DW0RD"})).await;
    assert_eq!(chat["error"]["code"], "blocked");
    writer.ok("chat:send", json!({"roomId": room_id, "clientMsgId": "m2", "text": "hello"})).await;
    app.stop().await;

    // Unguarded surfaces (the default) are not moderated.
    let app = crate::support::spawn_app_with(|s| s.moderation.blocklist = "badword".into()).await;
    app.socket("writer").await.ok("content:comment", json!({"contentId": "free", "text": "badword"})).await;
    app.stop().await;
}
