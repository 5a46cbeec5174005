//! The REST routes of the seed dialects (docs/dialects.md §3.6, §5.6) on a server whose
//! `dialect` is theirs: the video content routes (toggling like, `message`, seed
//! comments, `pagination`) and the chatnotify chat routes (`_id`, `participants`, JSON
//! without a content type, `GET /api/chat/messages/{id}`); and the native answers kept
//! on a server without a dialect.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{TestApp, TestSocket, spawn_app, spawn_app_with};

async fn video_server() -> TestApp {
    spawn_app_with(|s| s.server.dialect = Some("video".into())).await
}

async fn chatnotify_server() -> TestApp {
    spawn_app_with(|s| s.server.dialect = Some("chatnotify".into())).await
}

#[tokio::test]
async fn on_a_video_server_post_like_toggles_and_says_what_it_did() {
    let app = video_server().await;
    let tok = app.token("ann");
    let (status, first) = app.rest(Method::POST, "/api/content/123/like", Some(&tok), None).await;
    assert_eq!(status, 200);
    assert_eq!(first, json!({ "success": true, "data": { "isLiked": true, "likesCount": 1 }, "message": "Content liked" }));
    let (_, second) = app.rest(Method::POST, "/api/content/123/like", Some(&tok), None).await;
    assert_eq!(second, json!({ "success": true, "data": { "isLiked": false, "likesCount": 0 }, "message": "Content unliked" }));
    let (_, third) = app.rest(Method::POST, "/api/content/123/like", Some(&tok), None).await;
    assert_eq!(third["data"], json!({ "isLiked": true, "likesCount": 1 }));

    let (status, unliked) = app.rest(Method::DELETE, "/api/content/123/like", Some(&tok), None).await;
    assert_eq!(status, 200);
    assert_eq!(unliked["data"], json!({ "isLiked": false, "likesCount": 0 }), "DELETE still unlikes");

    let (status, shared) = app.rest(Method::POST, "/api/content/123/share", Some(&tok), None).await;
    assert_eq!(status, 200);
    assert_eq!(shared["message"], "Share recorded");
    assert_eq!(shared["data"]["sharesCount"], 1);

    let (status, viewed) = app.rest(Method::POST, "/api/content/123/view", Some(&tok), None).await;
    assert_eq!(status, 200);
    assert!(viewed.get("message").is_none(), "the seed's view answer has no message: {viewed}");
    app.stop().await;
}

#[tokio::test]
async fn on_a_video_server_comments_carry_the_seed_id_author_and_pagination() {
    let app = video_server().await;
    let tok = app.token("ann");
    let (status, posted) =
        app.rest(Method::POST, "/api/content/123/comments", Some(&tok), Some(json!({ "text": "Great video!", "parentId": null }))).await;
    assert_eq!(status, 201, "{posted}");
    assert_eq!(posted["message"], "Comment created");
    let comment = &posted["data"]["comment"];
    assert_eq!(comment["_id"], comment["id"]);
    assert!(comment["_id"].as_str().is_some_and(|id| !id.is_empty()));
    assert_eq!(comment["text"], "Great video!");
    let author = &comment["userId"];
    assert_eq!(author["_id"], "ann");
    assert_eq!(author["username"], comment["user"]["username"]);
    assert_eq!(author["isVerified"], false);
    assert!(author.as_object().is_some_and(|a| a.contains_key("avatar")));
    assert_eq!(posted["data"]["commentsCount"], 1);

    for n in 2..=5 {
        let (status, _) = app.rest(Method::POST, "/api/content/123/comments", Some(&tok), Some(json!({ "text": format!("comment {n}") }))).await;
        assert_eq!(status, 201);
    }
    let (status, page) = app.rest(Method::GET, "/api/content/123/comments?limit=2&page=2", None, None).await;
    assert_eq!(status, 200);
    assert_eq!(page["data"]["pagination"], json!({ "total": 5, "page": 2, "limit": 2, "pages": 3 }));
    let comments = page["data"]["comments"].as_array().cloned().unwrap_or_default();
    assert_eq!(comments.iter().map(|c| c["text"].clone()).collect::<Vec<_>>(), vec![json!("comment 3"), json!("comment 2")]);
    assert!(comments.iter().all(|c| c["_id"] == c["id"] && c["userId"]["_id"] == "ann"));
    let (_, seed_query) = app.rest(Method::GET, "/api/content/123/comments?limit=20&page=1", None, None).await;
    assert_eq!(seed_query["data"]["pagination"], json!({ "total": 5, "page": 1, "limit": 20, "pages": 1 }));
    assert_eq!(seed_query["data"]["total"], 5, "the native fields stay");
    app.stop().await;
}

#[tokio::test]
async fn a_native_server_keeps_post_like_idempotent_and_sends_no_message() {
    let app = spawn_app().await;
    let tok = app.token("ann");
    let (_, first) = app.rest(Method::POST, "/api/content/123/like", Some(&tok), None).await;
    let (_, second) = app.rest(Method::POST, "/api/content/123/like", Some(&tok), None).await;
    assert_eq!(first, json!({ "success": true, "data": { "isLiked": true, "likesCount": 1 } }));
    assert_eq!(second, first, "a second POST stays liked");
    let (_, shared) = app.rest(Method::POST, "/api/content/123/share", Some(&tok), None).await;
    assert!(shared.get("message").is_none());
    let (_, posted) = app.rest(Method::POST, "/api/content/123/comments", Some(&tok), Some(json!({ "text": "hi" }))).await;
    assert!(posted.get("message").is_none());
    assert!(posted["data"]["comment"].get("_id").is_none() && posted["data"]["comment"].get("userId").is_none());
    let (_, page) = app.rest(Method::GET, "/api/content/123/comments?limit=20&page=1", None, None).await;
    assert!(page["data"].get("pagination").is_none());
    let (_, rooms) = app.rest(Method::POST, "/api/chat/rooms", Some(&tok), Some(json!({ "otherUserId": "bob" }))).await;
    assert!(rooms["data"].get("_id").is_none() && rooms["data"].get("participants").is_none());
    let (status, _) = app.rest(Method::GET, "/api/chat/messages/whatever", Some(&tok), None).await;
    assert_eq!(status, 404, "the seed's history route is the chatnotify dialect's");
    app.stop().await;
}

/// `POST /api/chat/rooms` as the seed's curl sends it: JSON with curl's default
/// content type, `application/x-www-form-urlencoded`.
async fn seed_curl_room(app: &TestApp, user: &str, other: &str) -> (u16, Value) {
    let res = app
        .http
        .post(app.url("/api/chat/rooms"))
        .bearer_auth(app.token(user))
        .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(json!({ "otherUserId": other }).to_string())
        .send()
        .await
        .expect("request sent");
    (res.status().as_u16(), res.json::<Value>().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn on_a_chatnotify_server_rooms_carry_the_seed_fields_and_take_json_of_any_content_type() {
    let app = chatnotify_server().await;
    let (status, created) = seed_curl_room(&app, "ann", "bob").await;
    assert_eq!(status, 201, "{created}");
    let room = &created["data"];
    assert_eq!(room["_id"], room["id"]);
    assert_eq!(room["participants"], json!(["ann", "bob"]));
    assert_eq!(room["memberIds"], room["participants"], "the native fields stay");
    let (status, again) = app.rest(Method::POST, "/api/chat/rooms", Some(&app.token("bob")), Some(json!({ "otherUserId": "ann" }))).await;
    assert_eq!(status, 200, "the pair's room already exists");
    assert_eq!(again["data"]["_id"], room["id"]);

    let (status, listed) = app.rest(Method::GET, "/api/chat/rooms", Some(&app.token("ann")), None).await;
    assert_eq!(status, 200);
    let rooms = listed["data"]["rooms"].as_array().cloned().unwrap_or_default();
    assert_eq!(rooms.len(), 1);
    assert_eq!((&rooms[0]["_id"], &rooms[0]["participants"]), (&room["id"], &json!(["ann", "bob"])));

    let res = app
        .http
        .post(app.url("/api/chat/rooms"))
        .bearer_auth(app.token("ann"))
        .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body("otherUserId=bob")
        .send()
        .await
        .expect("request sent");
    assert_eq!(res.status().as_u16(), 400, "a body that is not JSON is still refused");
    app.stop().await;
}

#[tokio::test]
async fn a_native_server_still_refuses_a_json_body_without_its_content_type() {
    let app = spawn_app().await;
    let (status, body) = seed_curl_room(&app, "ann", "bob").await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "bad_request");
    app.stop().await;
}

#[tokio::test]
async fn on_a_chatnotify_server_the_seed_history_route_pages_by_skip() {
    let app = chatnotify_server().await;
    let (_, created) = seed_curl_room(&app, "ann", "bob").await;
    let room_id = created["data"]["id"].as_str().unwrap_or_default().to_owned();
    let auth = json!({ "token": app.token("ann"), "dialect": "native" });
    let ann = TestSocket::connect(app.addr, Some(auth), "", None).await.expect("native socket");
    for n in 1..=5 {
        ann.ok("chat:send", json!({ "roomId": room_id, "clientMsgId": format!("m{n}"), "text": format!("message {n}") })).await;
    }
    let path = format!("/api/chat/messages/{room_id}?limit=2&skip=1");
    let (status, page) = app.rest(Method::GET, &path, Some(&app.token("bob")), None).await;
    assert_eq!(status, 200, "{page}");
    let data = &page["data"];
    assert_eq!(data["chatRoomId"], json!(room_id));
    assert_eq!(data["hasMore"], true);
    let messages = data["messages"].as_array().cloned().unwrap_or_default();
    assert_eq!(messages.iter().map(|m| m["text"].clone()).collect::<Vec<_>>(), vec![json!("message 4"), json!("message 3")], "newest first, past one");
    for m in &messages {
        assert_eq!(m["_id"], m["id"]);
        assert_eq!(m["chatRoomId"], json!(room_id));
        assert_eq!(m["senderId"], "ann");
        assert_eq!(m["updatedAt"], m["createdAt"]);
    }
    let (_, rest) = app.rest(Method::GET, &format!("/api/chat/messages/{room_id}?limit=2&skip=4"), Some(&app.token("bob")), None).await;
    assert_eq!(rest["data"]["hasMore"], false);
    assert_eq!(rest["data"]["messages"].as_array().map(Vec::len), Some(1));
    let (status, _) = app.rest(Method::GET, &format!("/api/chat/messages/{room_id}"), Some(&app.token("eve")), None).await;
    assert_eq!(status, 403, "only members read the history");
    let (status, _) = app.rest(Method::GET, &format!("/api/chat/messages/{room_id}?skip=x"), Some(&app.token("bob")), None).await;
    assert_eq!(status, 400);
    let (_, listed) = app.rest(Method::GET, "/api/chat/rooms", Some(&app.token("bob")), None).await;
    let last = &listed["data"]["rooms"][0]["lastMessage"];
    assert_eq!((&last["text"], &last["senderId"]), (&json!("message 5"), &json!("ann")));
    ann.close();
    app.stop().await;
}

/// The status and error code of a refused call.
async fn refusal(app: &TestApp, method: Method, path: &str, bearer: Option<&str>, body: Option<Value>) -> (u16, String) {
    let (status, body) = app.rest(method, path, bearer, body).await;
    assert_eq!(body["success"], false, "{path}: {body}");
    (status, body["error"]["code"].as_str().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn without_a_dialect_the_native_answers_are_byte_for_byte_the_native_ones() {
    let app = spawn_app().await;
    let tok = app.token("ann");
    // Video's like route: the exact bytes of the native envelope.
    let res = app.http.post(app.url("/api/content/123/like")).bearer_auth(&tok).send().await.expect("sent");
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.text().await.expect("body"), r#"{"data":{"isLiked":true,"likesCount":1},"success":true}"#);
    let res = app.http.post(app.url("/api/content/123/share")).bearer_auth(&tok).send().await.expect("sent");
    assert_eq!(res.text().await.expect("body"), r#"{"data":{"sharesCount":1},"success":true}"#);
    // Chatnotify's rooms route: the exact bytes of an empty list, then exactly the native
    // room fields.
    let res = app.http.get(app.url("/api/chat/rooms")).bearer_auth(&tok).send().await.expect("sent");
    assert_eq!(res.text().await.expect("body"), r#"{"data":{"rooms":[]},"success":true}"#);
    let (status, created) = app.rest(Method::POST, "/api/chat/rooms", Some(&tok), Some(json!({ "otherUserId": "bob" }))).await;
    assert_eq!(status, 201);
    let keys = |v: &Value| v.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>()).unwrap_or_default();
    assert_eq!(keys(&created), ["data", "success"]);
    assert_eq!(keys(&created["data"]), ["createdAt", "id", "kind", "lastMessage", "memberIds", "title", "unreadCount"]);
    let (_, listed) = app.rest(Method::GET, "/api/chat/rooms", Some(&tok), None).await;
    assert_eq!(keys(&listed["data"]["rooms"][0]), keys(&created["data"]));
    let (_, page) = app.rest(Method::GET, "/api/content/123/comments?limit=20&page=1", None, None).await;
    assert_eq!(keys(&page), ["data", "success"]);
    assert_eq!(keys(&page["data"]), ["comments", "hasMore", "nextCursor", "total"]);
    app.stop().await;
}

#[tokio::test]
async fn bad_input_on_the_video_routes_gets_the_native_refusals_and_changes_nothing() {
    let video = video_server().await;
    let native = spawn_app().await;
    let long = "x".repeat(300);
    let cases: Vec<(Method, String, bool, Option<Value>)> = vec![
        (Method::POST, "/api/content/123/like".into(), false, None),
        (Method::POST, format!("/api/content/{long}/like"), true, None),
        (Method::POST, "/api/content/123/share".into(), false, None),
        (Method::POST, "/api/content/123/share".into(), true, Some(json!({ "channel": 5 }))),
        (Method::POST, "/api/content/123/comments".into(), false, Some(json!({ "text": "hi" }))),
        (Method::POST, "/api/content/123/comments".into(), true, Some(json!({ "text": 5 }))),
        (Method::POST, "/api/content/123/comments".into(), true, Some(json!({ "text": "   " }))),
        (Method::POST, "/api/content/123/comments".into(), true, Some(json!({}))),
        (Method::POST, "/api/content/123/comments".into(), true, Some(json!({ "text": "hi", "parentId": "nope" }))),
        (Method::GET, "/api/content/123/comments?limit=0&page=1".into(), false, None),
        (Method::GET, "/api/content/123/comments?limit=20&page=0".into(), false, None),
        (Method::GET, "/api/content/123/comments?limit=x".into(), false, None),
        (Method::GET, "/api/content/123/comments?page=1&before=c1".into(), false, None),
    ];
    for (method, path, authed, body) in cases {
        let on_video = refusal(&video, method.clone(), &path, authed.then(|| video.token("ann")).as_deref(), body.clone()).await;
        let on_native = refusal(&native, method.clone(), &path, authed.then(|| native.token("ann")).as_deref(), body).await;
        assert_eq!(on_video, on_native, "{method} {path}");
        assert!(on_video.0 >= 400, "{method} {path}: {on_video:?}");
    }
    // A body that is not JSON: both refuse it, as natively.
    for app in [&video, &native] {
        let res = app
            .http
            .post(app.url("/api/content/123/comments"))
            .bearer_auth(app.token("ann"))
            .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(json!({ "text": "hi" }).to_string())
            .send()
            .await
            .expect("sent");
        assert_eq!(res.status().as_u16(), 400, "the video comment route still wants application/json");
    }
    let (status, item) = video.rest(Method::GET, "/api/content/123", None, None).await;
    assert_eq!(status, 404, "no refused call so much as registered the item: {item}");
    video.stop().await;
    native.stop().await;
}

#[tokio::test]
async fn bad_input_on_the_chatnotify_routes_gets_the_native_refusals() {
    let chat = chatnotify_server().await;
    let native = spawn_app().await;
    let (_, made) = seed_curl_room(&chat, "ann", "bob").await;
    let chat_room = made["data"]["id"].as_str().unwrap_or_default().to_owned();
    let (_, made) = native.rest(Method::POST, "/api/chat/rooms", Some(&native.token("ann")), Some(json!({ "otherUserId": "bob" }))).await;
    let native_room = made["data"]["id"].as_str().unwrap_or_default().to_owned();
    let long = "x".repeat(300);
    // (user, query or room, ): the seed history route against the native one.
    let history_cases: Vec<(Option<&str>, String, &str)> = vec![
        (None, String::new(), ""),
        (Some("eve"), String::new(), ""),
        (Some("ann"), String::new(), "?skip=x"),
        (Some("ann"), String::new(), "?skip=-1"),
        (Some("ann"), String::new(), "?skip=10001"),
        (Some("ann"), String::new(), "?limit=0"),
        (Some("ann"), String::new(), "?limit=1000"),
        (Some("ann"), "unknown-room".into(), ""),
        (Some("ann"), long.clone(), ""),
    ];
    for (user, room, query) in history_cases {
        let (chat_id, native_id) = if room.is_empty() { (chat_room.clone(), native_room.clone()) } else { (room.clone(), room) };
        let on_chat = refusal(&chat, Method::GET, &format!("/api/chat/messages/{chat_id}{query}"), user.map(|u| chat.token(u)).as_deref(), None).await;
        let path = format!("/api/chat/rooms/{native_id}/messages{query}");
        let on_native = refusal(&native, Method::GET, &path, user.map(|u| native.token(u)).as_deref(), None).await;
        assert_eq!(on_chat, on_native, "{user:?} {query}");
        let expected = match (user, query, chat_id.as_str()) {
            (None, _, _) => 401,
            (Some("eve"), _, _) => 403,
            (_, _, "unknown-room") => 404,
            _ => 400,
        };
        assert_eq!(on_chat.0, expected, "{user:?} {chat_id} {query}");
    }
    for body in [json!({ "otherUserId": 5 }), json!({}), json!({ "otherUserId": "ann" }), json!({ "otherUserId": long })] {
        let on_chat = refusal(&chat, Method::POST, "/api/chat/rooms", Some(&chat.token("ann")), Some(body.clone())).await;
        let on_native = refusal(&native, Method::POST, "/api/chat/rooms", Some(&native.token("ann")), Some(body.clone())).await;
        assert_eq!(on_chat, on_native, "{body}");
    }
    let (status, _) = chat.rest(Method::POST, "/api/chat/rooms", None, Some(json!({ "otherUserId": "bob" }))).await;
    assert_eq!(status, 401);
    let (_, listed) = chat.rest(Method::GET, "/api/chat/rooms", Some(&chat.token("ann")), None).await;
    assert_eq!(listed["data"]["rooms"].as_array().map(Vec::len), Some(1), "no bad request made a room");
    chat.stop().await;
    native.stop().await;
}
