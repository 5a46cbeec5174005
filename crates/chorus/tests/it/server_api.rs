//! The server API (PROTOCOL.md §11) and the REST envelope on bad input.

use reqwest::Method;
use serde_json::json;

use crate::support::{SERVER_KEY, spawn_app};

#[tokio::test]
async fn a_user_token_never_opens_the_server_api() {
    let app = spawn_app().await;
    let user = app.token("sneaky");
    for (method, path) in [(Method::GET, "/api/server/stats"), (Method::POST, "/api/server/emit"), (Method::PUT, "/api/server/users/x")] {
        let (status, body) = app.rest(method.clone(), path, Some(&user), Some(json!({}))).await;
        assert_eq!(status, 403, "{method} {path}");
        assert_eq!(body["success"], false);
        assert_eq!(body["error"]["code"], "forbidden");
        let (status, body) = app.rest(method.clone(), path, Some("not-the-key"), Some(json!({}))).await;
        assert_eq!((status, body["error"]["code"].clone()), (401, json!("unauthorized")), "a wrong key is no credential: {method} {path}");
        let (status, body) = app.rest(method, path, None, Some(json!({}))).await;
        assert_eq!((status, body["error"]["code"].clone()), (401, json!("unauthorized")));
    }
    app.stop().await;
}

#[tokio::test]
async fn emit_reaches_a_user_a_room_or_everyone_and_stats_count_them() {
    let app = spawn_app().await;
    let mut a = app.socket("emit-a").await;
    let mut b = app.socket("emit-b").await;
    b.ok("content:join", json!({"contentId": "room-1"})).await;
    let post = |to: serde_json::Value, event: &str| {
        let body = json!({"to": to, "event": event, "data": {"via": event}});
        app.rest(Method::POST, "/api/server/emit", Some(SERVER_KEY), Some(body))
    };
    assert_eq!(post(json!({"userId": "emit-a"}), "to-user").await.0, 200);
    assert_eq!(a.expect("to-user", |_| true).await["via"], "to-user");
    assert_eq!(post(json!({"room": "content:room-1"}), "to-room").await.0, 200);
    b.expect("to-room", |_| true).await;
    assert_eq!(post(json!({"all": true}), "to-all").await.0, 200);
    a.expect("to-all", |_| true).await;
    b.expect("to-all", |_| true).await;
    a.expect_none("to-room", std::time::Duration::from_millis(100)).await;
    assert_eq!(post(json!({"room": "nonsense"}), "x").await.0, 400);
    assert_eq!(post(json!({"userId": "a", "all": true}), "x").await.0, 400);
    assert_eq!(post(json!({"all": true}), "disconnect").await.0, 400);

    let (status, stats) = app.rest(Method::GET, "/api/server/stats", Some(SERVER_KEY), None).await;
    assert_eq!(status, 200);
    assert_eq!(stats["data"]["connectedSockets"], 2);
    assert_eq!(stats["data"]["onlineUsers"], 2);
    let (_, room) = app.rest(Method::GET, "/api/server/rooms/content:room-1", Some(SERVER_KEY), None).await;
    assert_eq!(room["data"]["size"], 1);
    app.stop().await;
}

#[tokio::test]
async fn profiles_from_the_server_api_show_in_user_summaries() {
    let app = spawn_app().await;
    let (status, body) = app
        .rest(Method::PUT, "/api/server/users/prof", Some(SERVER_KEY), Some(json!({"username": "Professor", "avatar": "https://a/p.png", "verified": true})))
        .await;
    assert_eq!(status, 200, "{body}");
    let s = app.socket("prof").await;
    // The token's `name` claim differs; the stored profile is what comments show
    // until the token's claims change again.
    let posted = s.ok("content:comment", json!({"contentId": "lecture", "text": "hello"})).await;
    assert_eq!(posted["comment"]["user"]["id"], "prof");
    assert_eq!(posted["comment"]["user"]["avatar"], "https://a/p.png");
    assert_eq!(posted["comment"]["user"]["verified"], true);
    app.stop().await;
}

#[tokio::test]
async fn bad_rest_input_gets_an_enveloped_error() {
    let app = spawn_app().await;
    let token = app.token("rest-user");
    let res = app
        .http
        .post(app.url("/api/content/x/comments"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 400);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "bad_request");
    let (status, body) = app.rest(Method::POST, "/api/content/x/comments", Some(&token), Some(json!({"text": 5}))).await;
    assert_eq!((status, body["error"]["code"].clone()), (400, json!("bad_request")));
    let (status, _) = app.rest(Method::POST, "/api/content/x/like", Some("garbage"), None).await;
    assert_eq!(status, 401);
    let (status, body) = app.rest(Method::GET, "/api/content/never-seen", None, None).await;
    assert_eq!((status, body["error"]["code"].clone()), (404, json!("not_found")));
    let (status, body) = app.rest(Method::GET, "/api/nowhere", None, None).await;
    assert_eq!((status, body["success"].clone()), (404, json!(false)));
    let (status, _) = app.rest(Method::GET, "/healthz", None, None).await;
    assert_eq!(status, 200);
    app.stop().await;
}
