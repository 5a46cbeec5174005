//! A REST route and its socket command are two doors onto one service call: driven with
//! the same inputs (allowed, forbidden, muted, bad payload, unknown), they give the same
//! outcome and the same error code.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{SERVER_KEY, TestApp, TestSocket, spawn_app};

/// One input, sent through both doors.
struct Case {
    what: &'static str,
    /// Who sends it.
    user: &'static str,
    event: &'static str,
    payload: Value,
    method: Method,
    path: String,
    body: Option<Value>,
    /// `None` for success, else the error code both doors must give.
    expect: Option<&'static str>,
}

/// The error code of a REST answer, or `None` for a 2xx with `{success: true}`; the
/// status must be the code's.
fn rest_outcome(status: u16, body: &Value, what: &str) -> Option<String> {
    if (200..300).contains(&status) {
        assert_eq!(body["success"], true, "{what}: {body}");
        return None;
    }
    let code = body["error"]["code"].as_str().unwrap_or_else(|| panic!("{what}: no error code in {body}")).to_owned();
    let expected_status = match code.as_str() {
        "bad_request" => 400,
        "unauthorized" => 401,
        "forbidden" => 403,
        "not_found" => 404,
        "conflict" => 409,
        "blocked" => 422,
        other => panic!("{what}: unexpected code {other}"),
    };
    assert_eq!(status, expected_status, "{what}: {body}");
    Some(code)
}

fn socket_outcome(ack: &Value, what: &str) -> Option<String> {
    match ack["ok"].as_bool() {
        Some(true) => None,
        Some(false) => Some(ack["error"]["code"].as_str().unwrap_or_else(|| panic!("{what}: no error code in {ack}")).to_owned()),
        None => panic!("{what}: not an ack: {ack}"),
    }
}

async fn run(app: &TestApp, sockets: &[(&str, &TestSocket)], cases: Vec<Case>) {
    for case in cases {
        let socket = sockets.iter().find(|(u, _)| *u == case.user).map(|(_, s)| *s).unwrap_or_else(|| panic!("no socket for {}", case.user));
        let ack = socket.call(case.event, case.payload.clone()).await;
        let by_socket = socket_outcome(&ack, case.what);
        let (status, body) = app.rest(case.method.clone(), &case.path, Some(&app.token(case.user)), case.body.clone()).await;
        let by_rest = rest_outcome(status, &body, case.what);
        assert_eq!(by_socket.as_deref(), case.expect, "{} over the socket: {ack}", case.what);
        assert_eq!(by_rest.as_deref(), case.expect, "{} over REST ({} {}): {body}", case.what, case.method, case.path);
    }
}

fn case(what: &'static str, user: &'static str, event: &'static str, payload: Value, rest: (Method, String, Option<Value>), expect: Option<&'static str>) -> Case {
    let (method, path, body) = rest;
    Case { what, user, event, payload, method, path, body, expect }
}

#[tokio::test]
async fn content_commands_and_their_rest_routes_give_the_same_outcomes() {
    let app = spawn_app().await;
    let (status, _) = app.rest(Method::PUT, "/api/server/content/twin", Some(SERVER_KEY), Some(json!({"type": "video", "ownerId": "owner"}))).await;
    assert_eq!(status, 200);
    let author = app.socket("author").await;
    let stranger = app.socket("stranger").await;
    let muted = app.socket("muted").await;
    let owner = app.socket("owner").await;
    let (status, _) = app.rest(Method::POST, "/api/server/moderation/mute", Some(SERVER_KEY), Some(json!({"userId": "muted", "durationSec": 600}))).await;
    assert_eq!(status, 200);
    // Two comments by the author: one for each door to edit, react to and delete.
    let mut comments = Vec::new();
    for n in 0..4 {
        let posted = author.ok("content:comment", json!({"contentId": "twin", "text": format!("first {n}")})).await;
        comments.push(posted["comment"]["id"].as_str().unwrap().to_owned());
    }
    let long_id = "x".repeat(129);
    let sockets = [("author", &author), ("stranger", &stranger), ("muted", &muted), ("owner", &owner)];
    let post = |path: String, body: Option<Value>| (Method::POST, path, body);
    let cases = vec![
        case("a like", "stranger", "content:like", json!({"contentId": "twin", "like": true}), post("/api/content/twin/like".into(), None), None),
        case("a like by a muted user", "muted", "content:like", json!({"contentId": "twin", "like": true}), post("/api/content/twin/like".into(), None), None),
        case("a like of a malformed id", "stranger", "content:like", json!({"contentId": long_id, "like": true}), post(format!("/api/content/{long_id}/like"), None), Some("bad_request")),
        case("a comment", "stranger", "content:comment", json!({"contentId": "twin", "text": "hello"}), post("/api/content/twin/comments".into(), Some(json!({"text": "hello"}))), None),
        case("an empty comment", "stranger", "content:comment", json!({"contentId": "twin", "text": "  "}), post("/api/content/twin/comments".into(), Some(json!({"text": "  "}))), Some("bad_request")),
        case("a comment with a mistyped text", "stranger", "content:comment", json!({"contentId": "twin", "text": 5}), post("/api/content/twin/comments".into(), Some(json!({"text": 5}))), Some("bad_request")),
        case("a comment by a muted user", "muted", "content:comment", json!({"contentId": "twin", "text": "shout"}), post("/api/content/twin/comments".into(), Some(json!({"text": "shout"}))), Some("forbidden")),
        case("a reply to an unknown comment", "stranger", "content:comment", json!({"contentId": "twin", "text": "re", "parentId": "nope"}), post("/api/content/twin/comments".into(), Some(json!({"text": "re", "parentId": "nope"}))), Some("not_found")),
        case("a view", "stranger", "content:view", json!({"contentId": "twin"}), post("/api/content/twin/view".into(), None), None),
        case("a share", "stranger", "content:share", json!({"contentId": "twin", "channel": "sms"}), post("/api/content/twin/share".into(), Some(json!({"channel": "sms"}))), None),
        case("a share on an over-long channel", "stranger", "content:share", json!({"contentId": "twin", "channel": "c".repeat(65)}), post("/api/content/twin/share".into(), Some(json!({"channel": "c".repeat(65)}))), Some("bad_request")),
        case("the author's edit", "author", "comment:edit", json!({"commentId": comments[0], "text": "edited"}), (Method::PATCH, format!("/api/comments/{}", comments[1]), Some(json!({"text": "edited"}))), None),
        case("a stranger's edit", "stranger", "comment:edit", json!({"commentId": comments[0], "text": "mine now"}), (Method::PATCH, format!("/api/comments/{}", comments[1]), Some(json!({"text": "mine now"}))), Some("forbidden")),
        case("an edit by the muted author of nothing", "muted", "comment:edit", json!({"commentId": comments[0], "text": "x"}), (Method::PATCH, format!("/api/comments/{}", comments[1]), Some(json!({"text": "x"}))), Some("forbidden")),
        case("an empty edit", "author", "comment:edit", json!({"commentId": comments[0], "text": ""}), (Method::PATCH, format!("/api/comments/{}", comments[1]), Some(json!({"text": ""}))), Some("bad_request")),
        case("an edit of an unknown comment", "author", "comment:edit", json!({"commentId": "nope", "text": "x"}), (Method::PATCH, "/api/comments/nope".into(), Some(json!({"text": "x"}))), Some("not_found")),
        case("a reaction", "stranger", "comment:react", json!({"commentId": comments[0], "emoji": "🔥", "on": true}), post(format!("/api/comments/{}/reactions", comments[1]), Some(json!({"emoji": "🔥", "on": true}))), None),
        case("a reaction with a spaced emoji", "stranger", "comment:react", json!({"commentId": comments[0], "emoji": "a b", "on": true}), post(format!("/api/comments/{}/reactions", comments[1]), Some(json!({"emoji": "a b", "on": true}))), Some("bad_request")),
        case("a stranger's delete", "stranger", "comment:delete", json!({"commentId": comments[0]}), (Method::DELETE, format!("/api/comments/{}", comments[1]), None), Some("forbidden")),
        case("the owner's delete", "owner", "comment:delete", json!({"commentId": comments[0]}), (Method::DELETE, format!("/api/comments/{}", comments[1]), None), None),
        case("the author's delete", "author", "comment:delete", json!({"commentId": comments[2]}), (Method::DELETE, format!("/api/comments/{}", comments[3]), None), None),
        case("a delete of a deleted comment", "author", "comment:delete", json!({"commentId": comments[2]}), (Method::DELETE, format!("/api/comments/{}", comments[3]), None), Some("not_found")),
    ];
    run(&app, &sockets, cases).await;
    app.stop().await;
}

#[tokio::test]
async fn inbox_and_stream_commands_and_their_rest_routes_give_the_same_outcomes() {
    let app = spawn_app().await;
    let host = app.socket("host").await;
    let viewer = app.socket("viewer").await;
    let (status, created) = app.rest(Method::POST, "/api/streams", Some(&app.token("host")), Some(json!({"title": "twin stream"}))).await;
    assert_eq!(status, 201, "{created}");
    let stream = created["data"]["id"].as_str().unwrap_or_else(|| panic!("no stream id in {created}")).to_owned();
    let sockets = [("host", &host), ("viewer", &viewer)];
    let status_path = format!("/api/streams/{stream}/status");
    let cases = vec![
        case("the inbox", "viewer", "notifications:list", json!({"limit": 5}), (Method::GET, "/api/notifications?limit=5".into(), None), None),
        case("an inbox page of 0", "viewer", "notifications:list", json!({"limit": 0}), (Method::GET, "/api/notifications?limit=0".into(), None), Some("bad_request")),
        case("an inbox below an unknown id", "viewer", "notifications:list", json!({"before": "nope"}), (Method::GET, "/api/notifications?before=nope".into(), None), Some("not_found")),
        case("reading nothing", "viewer", "notifications:read", json!({}), (Method::POST, "/api/notifications/read".into(), Some(json!({}))), Some("bad_request")),
        case("reading everything", "viewer", "notifications:read", json!({"all": true}), (Method::POST, "/api/notifications/read".into(), Some(json!({"all": true}))), None),
        case("a viewer going live with another's stream", "viewer", "stream:status", json!({"streamId": stream, "status": "live"}), (Method::POST, status_path.clone(), Some(json!({"status": "live"}))), Some("forbidden")),
        case("an unknown status", "host", "stream:status", json!({"streamId": stream, "status": "asleep"}), (Method::POST, status_path.clone(), Some(json!({"status": "asleep"}))), Some("bad_request")),
        case("an unknown stream", "host", "stream:status", json!({"streamId": "nope", "status": "live"}), (Method::POST, "/api/streams/nope/status".into(), Some(json!({"status": "live"}))), Some("not_found")),
    ];
    run(&app, &sockets, cases).await;
    app.stop().await;
}
