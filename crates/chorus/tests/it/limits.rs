//! Rate limits and connection caps.

use std::time::Duration;

use serde_json::json;

use crate::support::{TestSocket, spawn_app_with, token_for};
use chorus::ports::limits::Rate;

#[tokio::test]
async fn a_user_over_the_like_rate_gets_rate_limited_with_retry_after_and_nothing_changes() {
    let app = spawn_app_with(|s| {
        s.limits.rates_enabled = true;
        s.limits.rates.likes = Rate { per_second: 1, burst: 3 };
    })
    .await;
    let s = app.socket("clicker").await;
    for (i, like) in [true, false, true].into_iter().enumerate() {
        s.ok("content:like", json!({"contentId": "fast", "like": like})).await;
        assert!(i < 3);
    }
    let ack = s.call("content:like", json!({"contentId": "fast", "like": false})).await;
    assert_eq!(ack["ok"], false);
    assert_eq!(ack["error"]["code"], "rate_limited");
    let wait = ack["error"]["retryAfterMs"].as_u64().expect("retryAfterMs");
    assert!(wait > 0 && wait <= 1000, "{wait}");
    let (_, body) = app.rest(reqwest::Method::GET, "/api/content/fast", None, None).await;
    assert_eq!(body["data"]["counts"]["likes"], 1, "the refused unlike changed nothing");
    // Other users have their own buckets.
    app.socket("other-clicker").await.ok("content:like", json!({"contentId": "fast"})).await;
    tokio::time::sleep(Duration::from_millis(wait + 50)).await;
    s.ok("content:like", json!({"contentId": "fast", "like": false})).await;
    app.stop().await;
}

#[tokio::test]
async fn sustained_abuse_disconnects_the_socket() {
    let app = spawn_app_with(|s| {
        s.limits.rates_enabled = true;
        s.limits.rates.likes = Rate { per_second: 1, burst: 1 };
        s.limits.abuse_disconnect_after = 5;
    })
    .await;
    let s = app.socket("flooder").await;
    let mut refused = 0;
    for _ in 0..10 {
        let ack = s.call("content:like", json!({"contentId": "flood"})).await;
        if ack["error"]["code"] == "rate_limited" {
            refused += 1;
        }
        if refused >= 5 {
            break;
        }
    }
    assert_eq!(refused, 5);
    assert!(s.closed_within(Duration::from_secs(2)).await, "abuser still connected");
    let bystander = app.socket("bystander").await;
    bystander.ok("content:like", json!({"contentId": "flood"})).await;
    app.stop().await;
}

#[tokio::test]
async fn sockets_per_user_and_per_address_are_capped() {
    let app = spawn_app_with(|s| {
        s.limits.max_sockets_per_user = 2;
        s.limits.max_sockets_per_ip = 3;
    })
    .await;
    let auth = |user: &str| Some(json!({"token": token_for(user, 600)}));
    let a1 = TestSocket::connect(app.addr, auth("capped"), "", None).await.expect("first");
    let _a2 = TestSocket::connect(app.addr, auth("capped"), "", None).await.expect("second");
    let refused = TestSocket::connect(app.addr, auth("capped"), "", None).await.err().expect("third refused");
    assert_eq!((refused.message.as_str(), refused.data["code"].as_str()), ("unauthorized", Some("too_many_connections")));
    let _b = TestSocket::connect(app.addr, auth("other"), "", None).await.expect("third socket of the address");
    let refused = TestSocket::connect(app.addr, auth("fourth"), "", None).await.err().expect("fourth from the address refused");
    assert_eq!(refused.data["code"], "too_many_connections");
    // Closing one frees a place.
    a1.close();
    assert!(a1.closed_within(Duration::from_secs(2)).await);
    let mut freed = false;
    for _ in 0..40 {
        if TestSocket::connect(app.addr, auth("capped"), "", None).await.is_ok() {
            freed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(freed, "a closed socket's place was not released");
    app.stop().await;
}

#[tokio::test]
async fn connection_floods_from_one_user_are_refused() {
    let app = spawn_app_with(|s| {
        s.limits.rates_enabled = true;
        s.limits.rates.connect_user = Rate { per_second: 1, burst: 3 };
    })
    .await;
    let mut outcomes = Vec::new();
    for _ in 0..5 {
        let r = TestSocket::connect(app.addr, Some(json!({"token": token_for("reconnector", 600)})), "", None).await;
        outcomes.push(r.map(|s| s.close()).map_err(|e| e.data["code"].as_str().unwrap_or_default().to_owned()));
    }
    assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 3, "{outcomes:?}");
    assert!(outcomes.iter().filter_map(|o| o.as_ref().err()).all(|c| c == "too_many_connections"));
    app.stop().await;
}

#[tokio::test]
async fn new_connections_from_one_address_are_refused_at_the_handshake_with_a_retry_hint() {
    let app = spawn_app_with(|s| {
        s.limits.rates_enabled = true;
        s.limits.rates.connect_ip = Rate { per_second: 1, burst: 2 };
    })
    .await;
    let http = reqwest::Client::new();
    let handshake = |query: &str| http.get(format!("http://{}/socket.io/?EIO=4&transport=polling{query}", app.addr)).send();
    let first = handshake("").await.expect("first handshake");
    assert_eq!(first.status(), 200);
    // The session's own requests carry its sid and take no token.
    let open = first.text().await.expect("open packet");
    let sid = open.split("\"sid\":\"").nth(1).and_then(|r| r.split('"').next()).expect("sid in the open packet").to_owned();
    let session = format!("http://{}/socket.io/?EIO=4&transport=polling&sid={sid}", app.addr);
    let post = http.post(&session).body(format!("40{}", json!({"token": token_for("gated", 600)}))).send().await.expect("post");
    assert_eq!(post.status(), 200, "a request of an open session is not a new connection");
    let mut packets = String::new();
    for _ in 0..5 {
        let poll = http.get(&session).send().await.expect("poll");
        assert_eq!(poll.status(), 200, "nor are its polls");
        packets.push_str(&poll.text().await.expect("packets"));
        if packets.contains("40{") {
            break;
        }
        // a ping came first: answer it as a client would
        http.post(&session).body("3").send().await.expect("pong");
    }
    assert!(packets.contains("40{"), "the CONNECT went through: {packets}");
    assert_eq!(handshake("").await.expect("second handshake").status(), 200);
    let refused = handshake("").await.expect("third handshake");
    assert_eq!(refused.status(), 429, "the third new session of the address within the burst");
    let retry_after: u64 = refused.headers()["retry-after"].to_str().expect("ascii").parse().expect("seconds");
    assert!((1..=1).contains(&retry_after), "Retry-After {retry_after}");
    let body: serde_json::Value = refused.json().await.expect("envelope");
    assert_eq!(body["error"]["code"], "rate_limited");
    let wait = body["error"]["retryAfterMs"].as_u64().expect("retryAfterMs");
    assert!(wait > 0 && wait <= 1000, "{wait}");
    // The same refusal on the WebSocket handshake; then, after the hint, a place again.
    let ws = tokio_tungstenite::connect_async(format!("ws://{}/socket.io/?EIO=4&transport=websocket", app.addr)).await;
    match ws {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => assert_eq!(response.status(), 429),
        other => panic!("a WebSocket handshake over the rate was not refused: {:?}", other.map(|_| ())),
    }
    tokio::time::sleep(Duration::from_millis(wait + 50)).await;
    assert_eq!(handshake("").await.expect("after the wait").status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn a_socket_joins_at_most_the_configured_number_of_rooms_in_any_area() {
    let app = crate::support::spawn_app_with(|s| s.limits.max_rooms_per_socket = 3).await;
    let s = app.socket("collector").await;
    for id in ["r1", "r2", "r3"] {
        s.ok("content:join", json!({"contentId": id})).await;
    }
    assert_eq!(s.err("content:join", json!({"contentId": "r4"})).await, "conflict");
    assert_eq!(s.err("ranking:subscribe", json!({"scope": "type:video"})).await, "conflict");
    s.ok("content:leave", json!({"contentId": "r1"})).await;
    s.ok("ranking:subscribe", json!({"scope": "type:video"})).await;
    app.stop().await;
}

#[tokio::test]
async fn rest_calls_are_rate_limited_per_user_with_retry_after_and_change_nothing() {
    let app = spawn_app_with(|s| {
        s.limits.rates_enabled = true;
        s.limits.rates.rest_user = Rate { per_second: 1, burst: 2 };
    })
    .await;
    let alice = app.token("rest-alice");
    for _ in 0..2 {
        let (status, _) = app.rest(reqwest::Method::POST, "/api/content/rest-item/like", Some(&alice), Some(json!({}))).await;
        assert_eq!(status, 200);
    }
    let (status, body) = app.rest(reqwest::Method::DELETE, "/api/content/rest-item/like", Some(&alice), None).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"]["code"], "rate_limited");
    let wait = body["error"]["retryAfterMs"].as_u64().expect("retryAfterMs");
    assert!(wait > 0 && wait <= 1000, "{wait}");
    let (_, item) = app.rest(reqwest::Method::GET, "/api/content/rest-item", None, None).await;
    assert_eq!(item["data"]["counts"]["likes"], 1, "the refused unlike changed nothing");
    // Another user has a bucket of their own.
    let bob = app.token("rest-bob");
    let (status, _) = app.rest(reqwest::Method::POST, "/api/content/rest-item/like", Some(&bob), Some(json!({}))).await;
    assert_eq!(status, 200);
    app.stop().await;
}
