//! Hostile tokens (issue 11, items 7–9): correctly signed tokens whose claims lie. A
//! token that is not valid yet (`nbf`), one that claims to be issued in the future
//! (`iat`, which would escape every revocation), and subjects carrying control or
//! invisible characters are refused alike at connect, on REST and by `auth:refresh`.

use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{SECRET, SERVER_KEY, TestApp, TestSocket, spawn_app, spawn_app_with, token_for};

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// A token signed with the test secret, whatever its claims say.
fn signed(claims: Value) -> String {
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(SECRET.as_bytes())).unwrap()
}

/// Asserts that `token` opens neither a socket nor a REST call, and that the refusal is
/// `auth_invalid` on both doors.
async fn refused_everywhere(app: &TestApp, token: &str, what: &str) {
    let refused = TestSocket::connect(app.addr, Some(json!({"token": token})), "", None).await.err();
    let refused = refused.unwrap_or_else(|| panic!("{what}: the socket connected"));
    assert_eq!((refused.message.as_str(), refused.data["code"].clone()), ("unauthorized", json!("auth_invalid")), "{what}");
    let (status, body) = app.rest(Method::POST, "/api/content/victim/like", Some(token), None).await;
    assert_eq!(status, 401, "{what}: REST {body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| m.starts_with("auth_invalid")), "{what}: {body}");
}

/// Nothing a refused token tried was written: an accepted like would have created the
/// item it names.
async fn nothing_written(app: &TestApp) {
    let (status, content) = app.rest(Method::GET, "/api/content/victim", None, None).await;
    assert_eq!(status, 404, "a refused like created its item: {content}");
}

#[tokio::test]
async fn a_token_not_valid_yet_is_refused_at_connect_and_on_rest() {
    let app = spawn_app_with(|s| s.auth.jwt_leeway = Duration::from_secs(10)).await;
    let in_an_hour = signed(json!({"sub": "early", "exp": now() + 7200, "nbf": now() + 3600}));
    refused_everywhere(&app, &in_an_hour, "nbf an hour ahead").await;
    // Within the leeway a clock skew passes.
    let skewed = signed(json!({"sub": "early", "exp": now() + 7200, "nbf": now() + 2}));
    TestSocket::connect(app.addr, Some(json!({"token": skewed})), "", None).await.expect("a 2 s skew is within the leeway");
    nothing_written(&app).await;
    app.stop().await;
}

#[tokio::test]
async fn a_token_issued_in_the_future_cannot_escape_revocation() {
    let app = spawn_app().await;
    let future = signed(json!({"sub": "forger", "exp": now() + 7200, "iat": now() + 10 * 365 * 86_400}));
    refused_everywhere(&app, &future, "iat ten years ahead").await;

    // Nor can a socket swap it in by auth:refresh.
    let s = TestSocket::connect(app.addr, Some(json!({"token": token_for("forger", 3600)})), "", None).await.expect("connect");
    let ack = s.call("auth:refresh", json!({"token": future})).await;
    assert_eq!(ack["error"]["code"], "unauthorized", "{ack}");
    assert!(ack["error"]["message"].as_str().is_some_and(|m| m.contains("auth_invalid")), "{ack}");

    // The revocation the forged token was made to outlive closes the socket, and the
    // forged token still cannot come back.
    let (status, _) = app.rest(Method::POST, "/api/server/users/forger/revoke-tokens", Some(SERVER_KEY), Some(json!({}))).await;
    assert_eq!(status, 200);
    assert!(s.closed_within(Duration::from_secs(3)).await, "the revoked socket closes");
    refused_everywhere(&app, &future, "iat ten years ahead, after a revocation").await;
    nothing_written(&app).await;
    app.stop().await;
}

#[tokio::test]
async fn a_subject_with_control_or_invisible_characters_is_refused() {
    let app = spawn_app().await;
    for sub in ["nul\0byte", "bell\u{7}", "\u{1b}[2J\u{1b}[31mroot", "del\u{7f}", "c1\u{85}line", "csi\u{9b}31m", "new\nline", "\u{202e}nimda", "zero\u{200b}width"] {
        let token = signed(json!({"sub": sub, "exp": now() + 3600, "iat": now()}));
        refused_everywhere(&app, &token, &format!("sub {sub:?}")).await;
    }
    nothing_written(&app).await;
    // An ordinary id, with letters of any script, still connects.
    let token = signed(json!({"sub": "zoë-ユーザー", "exp": now() + 3600}));
    let mut s = TestSocket::connect(app.addr, Some(json!({"token": token})), "", None).await.expect("connect");
    assert_eq!(s.expect("session:ready", |_| true).await["userId"], "zoë-ユーザー");
    app.stop().await;
}
