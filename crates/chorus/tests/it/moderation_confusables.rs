//! Moderation over the wire sees through cross-script look-alikes: a blocked word
//! written with Cyrillic or Greek letters that copy Latin ones is refused like the
//! word itself, on stream chat and on guarded comments, and nothing is kept or sent.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use crate::support::{TestApp, spawn_app_with};

/// A live stream owned by `owner`, created over REST.
async fn live_stream_of(app: &TestApp, owner: &str) -> String {
    let token = app.token(owner);
    let (status, body) = app.rest(Method::POST, "/api/streams", Some(&token), Some(json!({"title": "look-alikes"}))).await;
    assert_eq!(status, 201, "{body}");
    let id = body["data"]["id"].as_str().expect("stream id").to_owned();
    let (status, body) = app.rest(Method::POST, &format!("/api/streams/{id}/status"), Some(&token), Some(json!({"status": "live"}))).await;
    assert_eq!(status, 200, "{body}");
    id
}

#[tokio::test]
async fn stream_chat_refuses_a_blocked_word_disguised_with_cyrillic_and_greek_letters() {
    let app = spawn_app_with(|s| {
        s.moderation.blocklist = "spam, badword".into();
        // Every refusal is a strike and a message; keep the troll unmuted and unthrottled.
        s.moderation.strike_limit = 100;
        s.live.chat_burst = 100;
    })
    .await;
    let id = live_stream_of(&app, "lookalike-host").await;
    let mut host = app.socket("lookalike-host").await;
    host.ok("stream:join", json!({"streamId": id})).await;
    let troll = app.socket("lookalike-troll").await;
    troll.ok("stream:join", json!({"streamId": id})).await;

    let plain = troll.err("stream:chat", json!({"streamId": id, "text": "spam"})).await;
    assert_eq!(plain, "blocked");
    for text in [
        "ѕраm",          // Cyrillic ѕ р а
        "buy my ЅРАМ",   // Cyrillic capitals
        "ｓｐаｍ",       // full-width with a Cyrillic а
        "bαdwοrd",       // Greek α ο
        "b а d w о r d", // spaced out, Cyrillic а о
    ] {
        assert_eq!(troll.err("stream:chat", json!({"streamId": id, "text": text})).await, plain, "{text} is refused like the plain word");
    }
    host.expect_none("stream:chat", Duration::from_millis(300)).await;

    // Ordinary Russian and Greek pass and are broadcast.
    for text in ["Привет всем, отличный стрим!", "Καλησπέρα σε όλους"] {
        troll.ok("stream:chat", json!({"streamId": id, "text": text})).await;
        host.expect("stream:chat", |v| v["message"]["text"] == text).await;
    }
    app.stop().await;
}

#[tokio::test]
async fn a_guarded_comment_with_a_look_alike_blocked_word_is_refused_and_stored_nowhere() {
    let app = spawn_app_with(|s| {
        s.moderation.blocklist = "badword".into();
        s.moderation.surfaces = "comment".into();
    })
    .await;
    let writer = app.socket("lookalike-writer").await;
    let plain = writer.call("content:comment", json!({"contentId": "lookalikes", "text": "badword"})).await;
    assert_eq!(plain["error"]["code"], "blocked", "{plain}");
    let disguised = writer.call("content:comment", json!({"contentId": "lookalikes", "text": "what a bаdwоrd"})).await;
    assert_eq!(disguised["error"]["code"], plain["error"]["code"], "{disguised}");
    let (status, _) = app
        .rest(Method::POST, "/api/content/lookalikes/comments", Some(&app.token("lookalike-writer")), Some(json!({"text": "ΒΑDWΟRD"})))
        .await;
    assert_eq!(status, 422, "Greek capitals over REST too");
    let (_, page) = app.rest(Method::GET, "/api/content/lookalikes/comments", None, None).await;
    assert_eq!(page["data"]["total"], 0, "a refused comment is stored nowhere");

    writer.ok("content:comment", json!({"contentId": "lookalikes", "text": "Хорошая работа"})).await;
    let (_, page) = app.rest(Method::GET, "/api/content/lookalikes/comments", None, None).await;
    assert_eq!(page["data"]["total"], 1, "ordinary Russian is a comment like any other");
    app.stop().await;
}
