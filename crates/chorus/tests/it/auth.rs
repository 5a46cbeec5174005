//! Authentication at connect time (PROTOCOL.md §1).

use std::time::Duration;

use serde_json::json;

use crate::support::{SECRET, TestSocket, spawn_app, spawn_app_with, token_for};

#[tokio::test]
async fn a_token_in_auth_connects_joins_the_user_room_and_gets_session_ready() {
    let app = spawn_app().await;
    let mut alice = app.socket("alice").await;
    let ready = alice.expect("session:ready", |_| true).await;
    assert_eq!(ready["userId"], "alice");
    assert_eq!(ready["sid"], json!(alice.sid));
    assert_eq!(ready["recovered"], json!(false));
    assert_eq!(ready["unreadNotifications"], json!(0));
    assert!(ready["serverTime"].as_str().is_some_and(|t| t.ends_with('Z')));
    // The user room: the server API reaches the socket through user:alice.
    let (status, _) = app
        .rest(reqwest::Method::POST, "/api/server/emit", Some(crate::support::SERVER_KEY), Some(json!({"to": {"userId": "alice"}, "event": "hello", "data": {"n": 1}})))
        .await;
    assert_eq!(status, 200);
    assert_eq!(crate::support::checked_seq(&alice.expect("hello", |_| true).await), json!({"n": 1}));
    app.stop().await;
}

#[tokio::test]
async fn a_bearer_header_or_a_query_token_also_authenticates() {
    let app = spawn_app().await;
    let header = TestSocket::connect(app.addr, None, "", Some(("authorization", format!("Bearer {}", token_for("hdr", 60))))).await;
    assert!(header.is_ok(), "bearer header refused: {:?}", header.err());
    let query = TestSocket::connect(app.addr, None, &format!("&token={}", token_for("qry", 60)), None).await;
    let mut query = query.expect("query token accepted");
    assert_eq!(query.expect("session:ready", |_| true).await["userId"], "qry");
    app.stop().await;
}

async fn refusal_code(app: &crate::support::TestApp, auth: serde_json::Value) -> String {
    let refused = TestSocket::connect(app.addr, Some(auth), "", None).await.err().expect("connection should be refused");
    assert_eq!(refused.message, "unauthorized");
    refused.data["code"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn refusals_carry_the_protocol_codes() {
    let app = spawn_app().await;
    assert_eq!(refusal_code(&app, json!({})).await, "auth_missing");
    assert_eq!(refusal_code(&app, json!({"token": "not-a-jwt"})).await, "auth_invalid");
    let wrong_key = chorus::auth::jwt::issue_token(&chorus::auth::secret::Secret::new("other-secret"), "mallory", None, 60, &Default::default()).unwrap();
    assert_eq!(refusal_code(&app, json!({"token": wrong_key})).await, "auth_invalid");
    // {"alg":"none"} with a valid-looking body and no signature.
    let none = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6OTk5OTk5OTk5OX0.";
    assert_eq!(refusal_code(&app, json!({"token": none})).await, "auth_invalid");
    assert_eq!(refusal_code(&app, json!({"token": token_for("late", -60)})).await, "auth_expired");
    assert_ne!(SECRET, "other-secret");
    app.stop().await;
}

#[tokio::test]
async fn a_socket_is_closed_when_its_token_expires_unless_refreshed() {
    let app = spawn_app().await;
    let short = TestSocket::connect(app.addr, Some(json!({"token": token_for("brief", 2)})), "", None).await.expect("connect");
    let kept = TestSocket::connect(app.addr, Some(json!({"token": token_for("kept", 2)})), "", None).await.expect("connect");
    let ack = kept.ok("auth:refresh", json!({"token": token_for("kept", 3600)})).await;
    assert!(ack["expiresAt"].is_string());
    // A refresh token for another user is refused.
    assert_eq!(kept.err("auth:refresh", json!({"token": token_for("someone-else", 3600)})).await, "forbidden");
    assert!(short.closed_within(Duration::from_secs(6)).await, "expired socket still open");
    assert!(!kept.closed_within(Duration::from_millis(500)).await, "refreshed socket was closed");
    kept.ok("content:join", json!({"contentId": "still-here"})).await;
    app.stop().await;
}

/// A token signed with the test secret, with whatever claims an existing app writes.
fn signed(claims: serde_json::Value) -> String {
    let key = jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes());
    jsonwebtoken::encode(&jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256), &claims, &key).expect("token")
}

#[tokio::test]
async fn an_existing_apps_token_is_read_through_the_configured_user_and_name_claims() {
    let app = spawn_app_with(|s| {
        s.auth.jwt_user_claim = "userId".to_owned();
        s.auth.jwt_name_claim = Some("displayName".to_owned());
    })
    .await;
    let exp = time::OffsetDateTime::now_utc().unix_timestamp() + 3600;
    let ann = signed(json!({"userId": 7, "displayName": "Ann", "exp": exp}));

    // Socket connect: the numeric id is the user id "7".
    let mut socket = TestSocket::connect(app.addr, Some(json!({"token": ann})), "", None).await.expect("connect with userId");
    assert_eq!(socket.expect("session:ready", |_| true).await["userId"], "7");
    // auth:refresh reads the same claims: a fresh token for user 7 is the same user.
    let later = signed(json!({"userId": 7, "displayName": "Ann", "exp": exp + 60}));
    assert!(socket.ok("auth:refresh", json!({"token": later})).await["expiresAt"].is_string());

    // REST: user 7 follows someone, and the follower list shows the display name.
    let (status, body) = app.rest(reqwest::Method::POST, "/api/users/creator/follow", Some(&ann), None).await;
    assert_eq!(status, 200, "{body}");
    let (_, followers) = app.rest(reqwest::Method::GET, "/api/users/creator/followers", Some(&ann), None).await;
    let users = followers["data"]["users"].as_array().cloned().unwrap_or_default();
    assert_eq!(users.iter().map(|u| (u["id"].clone(), u["username"].clone())).collect::<Vec<_>>(), [(json!("7"), json!("Ann"))]);

    // Without userId (a `sub` does not stand in for it), the token is refused on both doors.
    let no_user = signed(json!({"sub": "ann", "displayName": "Ann", "exp": exp}));
    assert_eq!(refusal_code(&app, json!({"token": no_user})).await, "auth_invalid");
    let (status, body) = app.rest(reqwest::Method::POST, "/api/users/creator/follow", Some(&no_user), None).await;
    assert_eq!(status, 401, "{body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| m.starts_with("auth_invalid")), "{body}");
    app.stop().await;
}
