//! Every event published to NATS JetStream from the outbox (`events_nats_url`), read
//! back from the stream with a NATS client as a backend would: subjects per type, the
//! webhook body, `Nats-Msg-Id` and order per subject; and a NATS server that is down
//! when Chorus starts only delays the events.

use std::time::Duration;

use async_nats::jetstream::{self, stream::Stream};
use chorus::config::NatsEvents;
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{TestApp, spawn_app_with};

/// The shared NATS server of the machine (scripts/ensure-services.sh starts it).
const NATS: &str = "nats://127.0.0.1:4222";

/// A subject and stream of this test alone.
fn fresh(url: &str) -> NatsEvents {
    let tag = uuid::Uuid::now_v7().simple().to_string();
    NatsEvents { url: url.to_owned(), subject: format!("chorus.test.{tag}"), stream: format!("CHORUS_TEST_{tag}") }
}

async fn nats(url: &str) -> jetstream::Context {
    let client = async_nats::connect(url).await.unwrap_or_else(|e| panic!("the NATS server at {url} is needed (scripts/ensure-services.sh starts it): {e}"));
    jetstream::new(client)
}

/// The stream, once Chorus has made it and it holds at least `count` messages.
async fn stream_with(js: &jetstream::Context, name: &str, count: u64, within: Duration) -> Stream {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Ok(mut stream) = js.get_stream(name).await
            && stream.info().await.is_ok_and(|info| info.state.messages >= count)
        {
            return stream;
        }
        assert!(tokio::time::Instant::now() < deadline, "stream {name} did not get {count} messages within {within:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The message at `seq`: its subject, headers and JSON body.
async fn message(stream: &Stream, seq: u64) -> (String, async_nats::HeaderMap, Value) {
    let raw = stream.get_raw_message(seq).await.expect("message");
    let body = serde_json::from_slice(&raw.payload).expect("a JSON body");
    (raw.subject.to_string(), raw.headers, body)
}

async fn like(app: &TestApp, user: &str, content: &str, on: bool) {
    let method = if on { Method::POST } else { Method::DELETE };
    let (status, body) = app.rest(method, &format!("/api/content/{content}/like"), Some(&app.token(user)), None).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn each_event_is_published_to_its_types_subject_with_its_id_in_order() {
    let events = fresh(NATS);
    let js = nats(NATS).await;
    let app = spawn_app_with(|s| s.webhooks.nats = Some(events.clone())).await;
    like(&app, "ann", "clip1", true).await;
    let (status, posted) = app.rest(Method::POST, "/api/content/clip1/comments", Some(&app.token("bob")), Some(json!({"text": "nice"}))).await;
    assert_eq!(status, 201, "{posted}");
    like(&app, "ann", "clip1", false).await;
    app.rest(Method::POST, "/api/users/bob/follow", Some(&app.token("ann")), None).await;

    // A like, a comment, an unlike, a follow and the follow's notification.
    let stream = stream_with(&js, &events.stream, 5, Duration::from_secs(10)).await;
    let mut seen = Vec::new();
    for seq in 1..=5 {
        seen.push(message(&stream, seq).await);
    }
    let of_clip: Vec<&(String, async_nats::HeaderMap, Value)> = seen.iter().filter(|(_, _, b)| b["data"]["contentId"] == "clip1" || b["data"]["comment"]["contentId"] == "clip1").collect();
    let types: Vec<&str> = of_clip.iter().map(|(_, _, b)| b["type"].as_str().unwrap_or("?")).collect();
    assert_eq!(types, ["content.liked", "comment.created", "content.unliked"], "order is kept per content");
    for (subject, headers, body) in &seen {
        let event_type = body["type"].as_str().expect("a type");
        assert_eq!(subject, &format!("{}.{event_type}", events.subject));
        let id = headers.get(async_nats::header::NATS_MESSAGE_ID).expect("Nats-Msg-Id").as_str();
        assert!(id.starts_with("msg_"), "{id}");
        assert!(headers.get("Chorus-Subject").is_some());
        assert!(body["timestamp"].is_string());
    }
    let (_, liked_headers, liked) = of_clip[0];
    assert_eq!(liked["data"]["userId"], "ann");
    assert_eq!(liked["data"]["likesCount"], 1);
    assert_eq!(liked_headers.get("Chorus-Subject").map(|v| v.as_str()), Some("content:clip1"));
    assert_eq!(of_clip[1].2["data"]["comment"]["text"], "nice");
    let follow = seen.iter().find(|(_, _, b)| b["type"] == "follow.created").expect("the follow");
    assert_eq!(follow.2["data"], json!({"followerId": "ann", "followeeId": "bob", "timestamp": follow.2["data"]["timestamp"]}));

    // Published once: nothing more arrives, and the outbox owes nothing.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let mut stream = stream;
    assert_eq!(stream.info().await.expect("info").state.messages, 5);
    let (_, failed) = app.rest(Method::GET, "/api/server/webhooks/failed", Some(crate::support::SERVER_KEY), None).await;
    assert_eq!(failed["data"]["failed"], json!([]));
    app.stop().await;
    js.delete_stream(&events.stream).await.expect("stream deleted");
}

/// A private `nats-server` with JetStream on `port`, its data in `dir`.
fn start_nats_server(port: u16, dir: &std::path::Path) -> std::process::Child {
    std::process::Command::new("nats-server")
        .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
        .arg(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("nats-server is needed (Debian package nats-server; scripts/ensure-services.sh installs it)")
}

#[tokio::test]
async fn events_written_while_nats_is_down_are_published_once_it_is_up() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("addr").port();
    let url = format!("nats://127.0.0.1:{port}");
    let events = fresh(&url);
    let app = spawn_app_with(|s| {
        s.webhooks.nats = Some(events.clone());
        s.webhooks.retry_min = Duration::from_millis(100);
        s.webhooks.retry_max = Duration::from_millis(300);
        s.webhooks.timeout = Duration::from_millis(500);
    })
    .await;
    // Nothing listens yet: the writes are acknowledged all the same.
    like(&app, "ann", "early", true).await;
    like(&app, "bob", "early", true).await;
    tokio::time::sleep(Duration::from_millis(800)).await;

    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = start_nats_server(port, dir.path());
    let js = {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(client) = async_nats::connect(&url).await {
                break jetstream::new(client);
            }
            assert!(tokio::time::Instant::now() < deadline, "the private nats-server did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let stream = stream_with(&js, &events.stream, 2, Duration::from_secs(15)).await;
    let (_, _, first) = message(&stream, 1).await;
    let (_, _, second) = message(&stream, 2).await;
    assert_eq!((first["data"]["userId"].as_str(), first["data"]["likesCount"].as_i64()), (Some("ann"), Some(1)));
    assert_eq!((second["data"]["userId"].as_str(), second["data"]["likesCount"].as_i64()), (Some("bob"), Some(2)), "in order");
    app.stop().await;
    let _ = server.kill();
    let _ = server.wait();
}
