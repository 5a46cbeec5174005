//! Contract gaps a new user meets (issue 11, items 1–3): what the seed apps send and
//! what every other list and HTTP API does, held over the wire.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{SERVER_KEY, spawn_app};

#[tokio::test]
async fn a_quality_change_with_buffering_as_a_boolean_is_stored_for_analytics() {
    let app = spawn_app().await;
    app.rest(Method::PUT, "/api/server/content/clip", Some(SERVER_KEY), Some(json!({"type": "video", "ownerId": "maker"}))).await;
    let s = app.socket("watcher").await;
    // What the video app sends on a quality change, and its progress report.
    assert_eq!(s.ok("content:progress", json!({"contentId": "clip", "quality": "720p", "buffering": false})).await, json!({}));
    assert_eq!(s.ok("content:progress", json!({"contentId": "clip", "watchTime": 45.5, "completed": false})).await, json!({}));
    assert_eq!(s.ok("content:progress", json!({"contentId": "clip", "quality": "480p", "buffering": true})).await, json!({}));
    for bad in [json!({"buffering": "no"}), json!({"buffering": {}}), json!({"completed": true, "quality": "720p"}), json!({"buffering": -1, "watchTime": 3})] {
        let mut payload = bad.clone();
        payload["contentId"] = json!("clip");
        assert_eq!(s.err("content:progress", payload).await, "bad_request", "{bad}");
    }
    let (status, body) = app.rest(Method::GET, "/api/server/content/clip/analytics", Some(SERVER_KEY), None).await;
    assert_eq!(status, 200, "{body}");
    let a = &body["data"];
    assert_eq!(a["totalWatchTimeSec"], 45.5, "a quality change keeps the furthest position: {a}");
    assert_eq!(a["qualityDistribution"], json!({"480p": 1}));
    assert_eq!((a["bufferingReports"].clone(), a["bufferingViewers"].clone(), a["bufferingRatio"].clone()), (json!(1), json!(1), json!(0.0)));
    app.stop().await;
}

#[tokio::test]
async fn the_inbox_pages_before_a_notification_id_on_the_socket_and_on_rest() {
    let app = spawn_app().await;
    for n in 0..5 {
        let body = json!({"userId": "reader", "type": "system", "text": format!("note {n}")});
        let (status, reply) = app.rest(Method::POST, "/api/server/notifications", Some(SERVER_KEY), Some(body)).await;
        assert_eq!(status, 200, "{reply}");
    }
    let s = app.socket("reader").await;
    let texts = |page: &Value| page["notifications"].as_array().unwrap().iter().map(|n| n["text"].as_str().unwrap().to_owned()).collect::<Vec<_>>();
    let first = s.ok("notifications:list", json!({"limit": 2})).await;
    assert_eq!((texts(&first), first["hasMore"].clone()), (vec!["note 4".to_owned(), "note 3".to_owned()], json!(true)));
    let oldest_held = first["notifications"][1]["id"].clone();
    let second = s.ok("notifications:list", json!({"limit": 2, "before": oldest_held})).await;
    assert_eq!((texts(&second), second["hasMore"].clone()), (vec!["note 2".to_owned(), "note 1".to_owned()], json!(true)));
    // The cursor of the same page leads to the same place.
    let by_cursor = s.ok("notifications:list", json!({"limit": 2, "before": first["nextCursor"]})).await;
    assert_eq!(texts(&by_cursor), texts(&second));
    let id = second["notifications"][1]["id"].as_str().unwrap().to_owned();
    let (status, last) = app.rest(Method::GET, &format!("/api/notifications?limit=2&before={id}"), Some(&app.token("reader")), None).await;
    assert_eq!(status, 200, "{last}");
    assert_eq!((texts(&last["data"]), last["data"]["hasMore"].clone()), (vec!["note 0".to_owned()], json!(false)));

    // Another user's notification id is not a place in this inbox.
    let stranger = app.socket("stranger").await;
    assert_eq!(stranger.err("notifications:list", json!({"before": id})).await, "not_found");
    let (status, body) = app.rest(Method::GET, "/api/notifications?before=nope", Some(&app.token("reader")), None).await;
    assert_eq!((status, body["error"]["code"].clone()), (404, json!("not_found")));
    assert_eq!(s.err("notifications:list", json!({"before": "12x:abc"})).await, "bad_request", "a malformed cursor");
    app.stop().await;
}

#[tokio::test]
async fn missing_or_wrong_credentials_are_401_with_a_bearer_challenge() {
    let app = spawn_app().await;
    let http = reqwest::Client::new();
    let get = |bearer: Option<String>| {
        let mut req = http.get(app.url("/api/server/stats"));
        if let Some(b) = bearer {
            req = req.bearer_auth(b);
        }
        req.send()
    };
    for (bearer, status) in [(None, 401), (Some("wrong-key".to_owned()), 401), (Some(app.token("user")), 403), (Some(SERVER_KEY.to_owned()), 200)] {
        let res = get(bearer.clone()).await.unwrap();
        assert_eq!(res.status().as_u16(), status, "{bearer:?}");
        let challenge = res.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(challenge.as_deref(), (status == 401).then_some("Bearer"), "{bearer:?}");
    }
    // User routes challenge too.
    let res = http.post(app.url("/api/content/x/like")).send().await.unwrap();
    assert_eq!((res.status().as_u16(), res.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_owned())), (401, Some("Bearer".to_owned())));
    app.stop().await;
}
