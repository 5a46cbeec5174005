//! Content interactions over the socket and REST (PROTOCOL.md §4, §12).

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{SERVER_KEY, spawn_app};

#[tokio::test]
async fn a_second_viewer_sees_every_interaction_and_the_coalesced_counts() {
    let app = spawn_app().await;
    let (status, _) = app
        .rest(Method::PUT, "/api/server/content/vid-1", Some(SERVER_KEY), Some(json!({"type": "video", "ownerId": "creator"})))
        .await;
    assert_eq!(status, 200);
    let a = app.socket("viewer-a").await;
    let mut b = app.socket("viewer-b").await;
    let joined = a.ok("content:join", json!({"contentId": "vid-1"})).await;
    assert_eq!(joined["contentType"], "video");
    assert_eq!(joined["likedByMe"], false);
    let joined_b = b.ok("content:join", json!({"contentId": "vid-1"})).await;
    assert_eq!(joined_b["viewerCount"], 2);
    b.expect("content:viewers", |v| v["viewerCount"] == 2).await;

    let like = a.ok("content:like", json!({"contentId": "vid-1"})).await;
    assert_eq!(like, json!({"isLiked": true, "likesCount": 1}));
    let seen = b.expect("content:like", |_| true).await;
    assert_eq!((seen["userId"].clone(), seen["isLiked"].clone(), seen["likesCount"].clone()), (json!("viewer-a"), json!(true), json!(1)));

    let posted = a.ok("content:comment", json!({"contentId": "vid-1", "text": "  first!  "})).await;
    assert_eq!(posted["comment"]["text"], "first!");
    assert_eq!(posted["commentsCount"], 1);
    let seen = b.expect("content:comment", |_| true).await;
    assert_eq!(seen["comment"]["user"]["id"], "viewer-a");

    let viewed = a.ok("content:view", json!({"contentId": "vid-1"})).await;
    assert_eq!(viewed, json!({"viewsCount": 1, "counted": true}));
    b.expect("content:view", |v| v["viewsCount"] == 1).await;

    let shared = a.ok("content:share", json!({"contentId": "vid-1", "channel": "whatsapp"})).await;
    assert_eq!(shared["sharesCount"], 1);
    b.expect("content:share", |v| v["sharesCount"] == 1).await;

    let counts = b
        .expect("content:counts", |v| v["likes"] == 1 && v["comments"] == 1 && v["views"] == 1 && v["shares"] == 1)
        .await;
    assert_eq!(counts["contentId"], "vid-1");

    a.ok("content:leave", json!({"contentId": "vid-1"})).await;
    b.expect("content:viewers", |v| v["viewerCount"] == 1).await;
    app.stop().await;
}

#[tokio::test]
async fn rest_actions_have_the_same_effects_and_broadcasts() {
    let app = spawn_app().await;
    let mut watcher = app.socket("watcher").await;
    watcher.ok("content:join", json!({"contentId": "post-9"})).await;
    let token = app.token("writer");
    let (status, body) = app.rest(Method::POST, "/api/content/post-9/like", Some(&token), None).await;
    assert_eq!((status, body["success"].clone(), body["data"]["likesCount"].clone()), (200, json!(true), json!(1)));
    watcher.expect("content:like", |v| v["userId"] == "writer" && v["isLiked"] == true).await;
    let (status, body) = app.rest(Method::POST, "/api/content/post-9/comments", Some(&token), Some(json!({"text": "via rest"}))).await;
    assert_eq!(status, 201);
    let comment_id = body["data"]["comment"]["id"].as_str().unwrap().to_owned();
    watcher.expect("content:comment", |v| v["comment"]["text"] == "via rest").await;
    let (status, _) = app.rest(Method::POST, "/api/content/post-9/view", None, None).await;
    assert_eq!(status, 200, "guests may record views");
    watcher.expect("content:view", |v| v["viewsCount"] == 1).await;
    let (status, _) = app.rest(Method::POST, "/api/content/post-9/share", Some(&token), None).await;
    assert_eq!(status, 200);
    watcher.expect("content:share", |_| true).await;
    let (status, body) = app.rest(Method::PATCH, &format!("/api/comments/{comment_id}"), Some(&token), Some(json!({"text": "edited"}))).await;
    assert_eq!((status, body["data"]["comment"]["text"].clone()), (200, json!("edited")));
    watcher.expect("comment:edited", |v| v["comment"]["text"] == "edited").await;
    let (status, _) = app.rest(Method::POST, &format!("/api/comments/{comment_id}/reactions"), Some(&token), Some(json!({"emoji": "🔥"}))).await;
    assert_eq!(status, 200);
    watcher.expect("comment:reaction", |v| v["emoji"] == "🔥" && v["count"] == 1).await;
    let (status, _) = app.rest(Method::DELETE, &format!("/api/comments/{comment_id}"), Some(&token), None).await;
    assert_eq!(status, 200);
    watcher.expect("comment:deleted", |v| v["commentsCount"] == 0).await;
    let (status, _) = app.rest(Method::DELETE, "/api/content/post-9/like", Some(&token), None).await;
    assert_eq!(status, 200);
    watcher.expect("content:like", |v| v["isLiked"] == false && v["likesCount"] == 0).await;
    let (status, body) = app.rest(Method::GET, "/api/content/post-9", None, None).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["counts"], json!({"likes": 0, "comments": 0, "views": 1, "shares": 1}));
    app.stop().await;
}

#[tokio::test]
async fn likes_are_idempotent_and_exact_under_concurrency() {
    let app = spawn_app().await;
    let mut sockets = Vec::new();
    for i in 0..40 {
        sockets.push(app.socket(&format!("fan-{i}")).await);
    }
    let first = &sockets[0];
    first.ok("content:like", json!({"contentId": "hot", "like": true})).await;
    let again = first.ok("content:like", json!({"contentId": "hot", "like": true})).await;
    assert_eq!(again, json!({"isLiked": true, "likesCount": 1}), "a second like is a no-op");
    let likes = futures_util::future::join_all(sockets[1..].iter().map(|s| s.call("content:like", json!({"contentId": "hot", "like": true})))).await;
    assert!(likes.iter().all(|a| a["ok"] == true));
    let (_, body) = app.rest(Method::GET, "/api/content/hot", None, None).await;
    assert_eq!(body["data"]["counts"]["likes"], 40);
    let unlikes = futures_util::future::join_all(sockets.iter().map(|s| s.call("content:like", json!({"contentId": "hot", "like": false})))).await;
    assert!(unlikes.iter().all(|a| a["ok"] == true));
    let (_, body) = app.rest(Method::GET, "/api/content/hot", None, None).await;
    assert_eq!(body["data"]["counts"]["likes"], 0);
    // Toggle (no `like` field) flips the state.
    assert_eq!(first.ok("content:like", json!({"contentId": "hot"})).await["isLiked"], true);
    assert_eq!(first.ok("content:like", json!({"contentId": "hot"})).await["isLiked"], false);
    app.stop().await;
}

#[tokio::test]
async fn comments_thread_and_only_their_authors_edit_them() {
    let app = spawn_app().await;
    let mut author = app.socket("author").await;
    let stranger = app.socket("stranger").await;
    author.ok("content:join", json!({"contentId": "thread"})).await;
    let top = author.ok("content:comment", json!({"contentId": "thread", "text": "top"})).await;
    let top_id = top["comment"]["id"].as_str().unwrap().to_owned();
    let reply = stranger.ok("content:comment", json!({"contentId": "thread", "text": "a reply", "parentId": top_id})).await;
    assert_eq!(reply["comment"]["parentId"], json!(top_id));
    assert_eq!(stranger.err("content:comment", json!({"contentId": "other", "text": "x", "parentId": top_id})).await, "bad_request");
    assert_eq!(stranger.err("content:comment", json!({"contentId": "thread", "text": "x", "parentId": "nope"})).await, "not_found");
    assert_eq!(stranger.err("comment:edit", json!({"commentId": top_id, "text": "hijack"})).await, "forbidden");
    assert_eq!(stranger.err("comment:delete", json!({"commentId": top_id})).await, "forbidden");
    let edited = author.ok("comment:edit", json!({"commentId": top_id, "text": "top (edited)"})).await;
    assert!(edited["comment"]["editedAt"].is_string());
    let r = stranger.ok("comment:react", json!({"commentId": top_id, "emoji": "❤️"})).await;
    assert_eq!(r, json!({"emoji": "❤️", "count": 1, "reacted": true}));
    author.expect("comment:reaction", |v| v["count"] == 1).await;
    let r = stranger.ok("comment:react", json!({"commentId": top_id, "emoji": "❤️"})).await;
    assert_eq!(r["reacted"], false, "react without `on` toggles");
    let (_, page) = app.rest(Method::GET, &format!("/api/content/thread/comments?parentId={top_id}"), None, None).await;
    assert_eq!(page["data"]["comments"][0]["text"], "a reply");
    author.ok("comment:delete", json!({"commentId": top_id})).await;
    let gone = author.expect("comment:deleted", |_| true).await;
    assert_eq!(gone["commentsCount"], 1);
    assert_eq!(author.err("comment:edit", json!({"commentId": top_id, "text": "back"})).await, "not_found");
    app.stop().await;
}

#[tokio::test]
async fn typing_reaches_the_others_and_expires_by_itself() {
    let app = spawn_app().await;
    let mut typist = app.socket("typist").await;
    let mut reader = app.socket("reader").await;
    typist.ok("content:join", json!({"contentId": "chatty"})).await;
    reader.ok("content:join", json!({"contentId": "chatty"})).await;
    typist.ok("comment:typing", json!({"contentId": "chatty", "typing": true})).await;
    let on = reader.expect("comment:typing", |v| v["typing"] == true).await;
    assert_eq!(on["user"]["id"], "typist");
    // Test nodes expire typing after 300 ms.
    reader.expect("comment:typing", |v| v["typing"] == false).await;
    typist.expect_none("comment:typing", Duration::from_millis(200)).await;
    app.stop().await;
}

#[tokio::test]
async fn views_count_once_per_viewer_per_window_and_progress_is_accepted() {
    let app = spawn_app().await;
    let s = app.socket("watcher").await;
    assert_eq!(s.ok("content:view", json!({"contentId": "clip"})).await, json!({"viewsCount": 1, "counted": true}));
    assert_eq!(s.ok("content:view", json!({"contentId": "clip"})).await, json!({"viewsCount": 1, "counted": false}));
    let other = app.socket("other").await;
    assert_eq!(other.ok("content:view", json!({"contentId": "clip"})).await["viewsCount"], 2);
    let done = s.ok("content:progress", json!({"contentId": "clip", "watchTime": 12.5, "completed": true, "quality": "720p", "buffering": 0.4})).await;
    assert_eq!(done, json!({}));
    app.stop().await;
}

#[tokio::test]
async fn comments_page_by_number_and_by_cursor() {
    let app = spawn_app().await;
    let s = app.socket("pager").await;
    for i in 0..7 {
        s.ok("content:comment", json!({"contentId": "paged", "text": format!("c{i}")})).await;
    }
    let texts = |v: &Value| v["data"]["comments"].as_array().unwrap().iter().map(|c| c["text"].as_str().unwrap().to_owned()).collect::<Vec<_>>();
    let (_, p1) = app.rest(Method::GET, "/api/content/paged/comments?page=1&limit=3", None, None).await;
    assert_eq!(texts(&p1), ["c6", "c5", "c4"]);
    assert_eq!((p1["data"]["hasMore"].clone(), p1["data"]["total"].clone()), (json!(true), json!(7)));
    let (_, p3) = app.rest(Method::GET, "/api/content/paged/comments?page=3&limit=3", None, None).await;
    assert_eq!(texts(&p3), ["c0"]);
    let cursor = p1["data"]["nextCursor"].as_str().unwrap().to_owned();
    let (_, c2) = app.rest(Method::GET, &format!("/api/content/paged/comments?before={cursor}&limit=3"), None, None).await;
    assert_eq!(texts(&c2), ["c3", "c2", "c1"]);
    for bad in ["limit=-1", "limit=100000", "page=0", "page=-5", "limit=abc", "page=1&before=x"] {
        let (status, body) = app.rest(Method::GET, &format!("/api/content/paged/comments?{bad}"), None, None).await;
        assert_eq!((status, body["error"]["code"].clone()), (400, json!("bad_request")), "{bad}");
    }
    app.stop().await;
}

#[tokio::test]
async fn ranking_subscribers_get_the_new_top_list_when_likes_change_it() {
    let app = spawn_app().await;
    let mut fan = app.socket("ranker").await;
    for (id, likers) in [("r-a", 2), ("r-b", 1)] {
        for n in 0..likers {
            app.socket(&format!("{id}-liker-{n}")).await.ok("content:like", json!({"contentId": id})).await;
        }
    }
    let sub = fan.ok("ranking:subscribe", json!({"scope": "type:video", "limit": 2})).await;
    assert_eq!(sub["items"][0]["contentId"], "r-a");
    assert_eq!(sub["items"][0]["rank"], 1);
    for n in 0..2 {
        app.socket(&format!("late-{n}")).await.ok("content:like", json!({"contentId": "r-b"})).await;
    }
    let update = fan.expect("ranking:update", |v| v["items"][0]["contentId"] == "r-b").await;
    assert_eq!(update["scope"], "type:video");
    assert_eq!(update["items"][0]["likes"], 3);
    fan.ok("ranking:unsubscribe", json!({"scope": "type:video"})).await;
    app.stop().await;
}

#[tokio::test]
async fn analytics_are_for_the_owner_and_the_backend_only() {
    let app = spawn_app().await;
    app.rest(Method::PUT, "/api/server/content/stats-v", Some(SERVER_KEY), Some(json!({"type": "video", "ownerId": "analyst"}))).await;
    let viewer = app.socket("viewer-x").await;
    viewer.ok("content:view", json!({"contentId": "stats-v"})).await;
    viewer.ok("content:progress", json!({"contentId": "stats-v", "watchTime": 42.0, "completed": true, "quality": "480p", "buffering": 1.5})).await;
    viewer.ok("content:progress", json!({"contentId": "stats-v", "watchTime": 12.0})).await;
    let (status, body) = app.rest(Method::GET, "/api/content/stats-v/analytics", Some(&app.token("analyst")), None).await;
    assert_eq!(status, 200, "{body}");
    let a = &body["data"];
    assert_eq!((a["views"].clone(), a["uniqueViewers"].clone(), a["reportingViewers"].clone()), (json!(1), json!(1), json!(1)));
    assert_eq!(a["totalWatchTimeSec"], 42.0);
    assert_eq!(a["completionRate"], 1.0);
    assert_eq!(a["qualityDistribution"], json!({"480p": 1}));
    let (status, _) = app.rest(Method::GET, "/api/content/stats-v/analytics", Some(&app.token("viewer-x")), None).await;
    assert_eq!(status, 403);
    let (status, body) = app.rest(Method::GET, "/api/server/content/stats-v/analytics", Some(SERVER_KEY), None).await;
    assert_eq!((status, body["data"]["totalWatchTimeSec"].clone()), (200, json!(42.0)));
    app.stop().await;
}
