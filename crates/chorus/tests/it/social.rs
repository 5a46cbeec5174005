//! Notifications, follows, feeds and presence (PROTOCOL.md §5, §6, §8).

use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use crate::support::{SERVER_KEY, spawn_app, spawn_app_with};

#[tokio::test]
async fn likes_comments_replies_mentions_and_follows_notify_the_right_people_never_oneself() {
    let app = spawn_app().await;
    app.rest(Method::PUT, "/api/server/content/clip-n", Some(SERVER_KEY), Some(json!({"type": "video", "ownerId": "creator"}))).await;
    app.rest(Method::PUT, "/api/server/users/mentioned", Some(SERVER_KEY), Some(json!({"username": "mentioned_one"}))).await;
    let mut creator = app.socket("creator").await;
    let mut mentioned = app.socket("mentioned").await;
    let fan = app.socket("fan").await;

    // The owner's own like notifies nobody.
    creator.ok("content:like", json!({"contentId": "clip-n"})).await;
    fan.ok("content:like", json!({"contentId": "clip-n"})).await;
    let like = creator.expect("notification:new", |v| v["notification"]["type"] == "like").await;
    assert_eq!(like["notification"]["actor"]["id"], "fan");
    assert_eq!(like["notification"]["subject"], json!({"kind": "content", "id": "clip-n"}));
    assert_eq!(like["unreadCount"], 1);

    let top = fan.ok("content:comment", json!({"contentId": "clip-n", "text": "nice @mentioned_one"})).await;
    let comment = creator.expect("notification:new", |v| v["notification"]["type"] == "comment").await;
    assert_eq!(comment["notification"]["text"], "fan name commented on your video");
    let mention = mentioned.expect("notification:new", |v| v["notification"]["type"] == "mention").await;
    assert_eq!(mention["notification"]["actor"]["id"], "fan");

    creator.ok("content:comment", json!({"contentId": "clip-n", "text": "thanks", "parentId": top["comment"]["id"]})).await;
    let mut fan = fan;
    let reply = fan.expect("notification:new", |v| v["notification"]["type"] == "reply").await;
    assert_eq!(reply["notification"]["actor"]["id"], "creator");

    let token = app.token("fan");
    let (status, _) = app.rest(Method::POST, "/api/users/creator/follow", Some(&token), None).await;
    assert_eq!(status, 200);
    creator.expect("notification:new", |v| v["notification"]["type"] == "follow").await;
    let (status, body) = app.rest(Method::POST, "/api/users/fan/follow", Some(&token), None).await;
    assert_eq!((status, body["error"]["code"].clone()), (400, json!("bad_request")), "following oneself");

    // Nothing was ever addressed to the actor themself: the fan's inbox holds the reply only.
    let (_, inbox) = app.rest(Method::GET, "/api/notifications", Some(&token), None).await;
    let kinds: Vec<_> = inbox["data"]["notifications"].as_array().unwrap().iter().map(|n| n["type"].clone()).collect();
    assert_eq!(kinds, [json!("reply")]);
    creator.expect_none("notification:new", Duration::from_millis(200)).await;
    app.stop().await;
}

#[tokio::test]
async fn repeated_likes_fold_into_one_updated_notification() {
    let app = spawn_app().await;
    app.rest(Method::PUT, "/api/server/content/viral-n", Some(SERVER_KEY), Some(json!({"type": "video", "ownerId": "star"}))).await;
    let mut star = app.socket("star").await;
    for i in 0..4 {
        app.socket(&format!("liker{i}")).await.ok("content:like", json!({"contentId": "viral-n"})).await;
        star.expect("notification:new", |v| v["notification"]["actorCount"] == i + 1).await;
    }
    let (_, inbox) = app.rest(Method::GET, "/api/notifications", Some(&app.token("star")), None).await;
    let list = inbox["data"]["notifications"].as_array().unwrap();
    assert_eq!(list.len(), 1, "one notification for four likes: {inbox}");
    assert_eq!(list[0]["text"], "liker3 name and 3 others liked your video");
    assert_eq!(inbox["data"]["unreadCount"], 1);
    app.stop().await;
}

#[tokio::test]
async fn reading_notifications_keeps_every_device_in_step_and_counts_survive_reconnect() {
    let app = spawn_app().await;
    for n in 0..3 {
        let (status, _) = app
            .rest(Method::POST, "/api/server/notifications", Some(SERVER_KEY), Some(json!({"userId": "reader", "type": "system", "text": format!("note {n}")})))
            .await;
        assert_eq!(status, 200);
    }
    let (status, _) = app.rest(Method::POST, "/api/server/notifications", Some(SERVER_KEY), Some(json!({"userId": "reader", "type": "nonsense", "text": "x"}))).await;
    assert_eq!(status, 400);
    let mut phone = app.socket("reader").await;
    let ready = phone.expect("session:ready", |_| true).await;
    assert_eq!(ready["unreadNotifications"], 3, "offline notifications wait in the inbox");
    let mut laptop = app.socket("reader").await;
    let page = phone.ok("notifications:list", json!({"limit": 2})).await;
    assert_eq!(page["notifications"].as_array().unwrap().len(), 2);
    assert_eq!(page["hasMore"], true);
    let first = page["notifications"][0]["id"].clone();
    let read = phone.ok("notifications:read", json!({"ids": [first]})).await;
    assert_eq!(read["unreadCount"], 2);
    laptop.expect("notifications:unread", |v| v["unreadCount"] == 2).await;
    assert_eq!(phone.err("notifications:read", json!({})).await, "bad_request");
    assert_eq!(phone.err("notifications:list", json!({"limit": 1000})).await, "bad_request");
    // Another user's ids change nothing in this inbox, and their inbox is not readable here.
    let other = app.socket("someone-else").await;
    assert_eq!(other.ok("notifications:read", json!({"all": true})).await["unreadCount"], 0);
    assert_eq!(phone.ok("notifications:list", json!({"unreadOnly": true})).await["unreadCount"], 2);
    let (_, rest) = app.rest(Method::POST, "/api/notifications/read", Some(&app.token("reader")), Some(json!({"all": true}))).await;
    assert_eq!(rest["data"]["unreadCount"], 0);
    laptop.expect("notifications:unread", |v| v["unreadCount"] == 0).await;
    app.stop().await;
}

#[tokio::test]
async fn announcements_reach_everyone_online() {
    let app = spawn_app().await;
    let mut a = app.socket("ann-a").await;
    let mut b = app.socket("ann-b").await;
    let (status, _) = app.rest(Method::POST, "/api/server/announcements", Some(SERVER_KEY), Some(json!({"message": "maintenance at noon", "level": "warning"}))).await;
    assert_eq!(status, 200);
    assert_eq!(a.expect("system:announcement", |_| true).await["level"], "warning");
    assert_eq!(b.expect("system:announcement", |_| true).await["message"], "maintenance at noon");
    let (status, _) = app.rest(Method::POST, "/api/server/announcements", Some(SERVER_KEY), Some(json!({"message": "x", "level": "shouting"}))).await;
    assert_eq!(status, 400);
    app.stop().await;
}

#[tokio::test]
async fn new_content_refreshes_the_feeds_of_subscribed_followers_only() {
    let app = spawn_app().await;
    let mut follower = app.socket("follower").await;
    let mut stranger = app.socket("stranger").await;
    let creator = app.socket("maker").await;
    app.rest(Method::POST, "/api/users/maker/follow", Some(&app.token("follower")), None).await;
    app.rest(Method::POST, "/api/users/maker/follow", Some(&app.token("offline-follower")), None).await;
    follower.ok("feed:subscribe", json!({})).await;
    stranger.ok("feed:subscribe", json!({})).await;
    let ack = creator.ok("feed:new_content", json!({"contentId": "maker-vid", "contentType": "video", "title": "New!"})).await;
    assert_eq!(ack["followersNotified"], 2);
    let refresh = follower.expect("feed:refresh", |_| true).await;
    assert_eq!((refresh["type"].clone(), refresh["contentId"].clone(), refresh["creator"]["id"].clone()), (json!("new_content"), json!("maker-vid"), json!("maker")));
    stranger.expect_none("feed:refresh", Duration::from_millis(200)).await;
    // The backend can announce too.
    let (status, body) = app
        .rest(Method::PUT, "/api/server/content/maker-vid-2", Some(SERVER_KEY), Some(json!({"type": "video", "ownerId": "maker", "notifyFollowers": true})))
        .await;
    assert_eq!((status, body["data"]["followersNotified"].clone()), (200, json!(2)));
    follower.expect("feed:refresh", |v| v["contentId"] == "maker-vid-2").await;
    // Someone else's item cannot be announced as one's own.
    assert_eq!(app.socket("thief").await.err("feed:new_content", json!({"contentId": "maker-vid", "contentType": "video"})).await, "conflict");
    let (_, list) = app.rest(Method::GET, "/api/users/maker/followers", Some(&app.token("x")), None).await;
    assert_eq!(list["data"]["users"].as_array().unwrap().len(), 2);
    let (_, unf) = app.rest(Method::DELETE, "/api/users/maker/follow", Some(&app.token("follower")), None).await;
    assert_eq!(unf["data"]["removed"], true);
    let (_, list) = app.rest(Method::GET, "/api/users/follower/following", Some(&app.token("x")), None).await;
    assert_eq!(list["data"]["users"].as_array().unwrap().len(), 0);
    app.stop().await;
}

#[tokio::test]
async fn presence_goes_offline_only_after_the_grace_period_and_hides_from_strangers() {
    let app = spawn_app_with(|s| s.presence.grace = Duration::from_millis(400)).await;
    let mut watcher = app.socket("watcher").await;
    app.rest(Method::POST, "/api/users/watched/follow", Some(&app.token("watcher")), None).await;
    let first = app.socket("watched").await;
    let sub = watcher.ok("presence:subscribe", json!({"userIds": ["watched", "nobody-follows"]})).await;
    assert_eq!(sub["statuses"]["watched"]["status"], "online");
    assert_eq!(sub["statuses"]["nobody-follows"]["status"], "offline");
    let stranger = app.socket("stranger-p").await;
    let hidden = stranger.ok("presence:subscribe", json!({"userIds": ["watched"]})).await;
    assert_eq!(hidden["statuses"]["watched"]["status"], "offline", "not a follower: reads offline");
    let too_many: Vec<String> = (0..501).map(|i| format!("u{i}")).collect();
    assert_eq!(watcher.err("presence:subscribe", json!({"userIds": too_many})).await, "bad_request");

    first.ok("presence:set", json!({"status": "away"})).await;
    watcher.expect("presence:update", |v| v["status"] == "away").await;
    assert_eq!(first.err("presence:set", json!({"status": "asleep"})).await, "bad_request");
    first.ok("presence:set", json!({"status": "invisible"})).await;
    watcher.expect("presence:update", |v| v["status"] == "offline").await;
    first.ok("presence:set", json!({"status": "online"})).await;
    watcher.expect("presence:update", |v| v["status"] == "online").await;

    // A reconnect inside the grace period is no transition at all.
    first.close();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let second = app.socket("watched").await;
    watcher.expect_none("presence:update", Duration::from_millis(600)).await;
    second.close();
    let offline = watcher.expect("presence:update", |v| v["status"] == "offline").await;
    assert!(offline["lastSeen"].is_string());
    let again = watcher.ok("presence:subscribe", json!({"userIds": ["watched"]})).await;
    assert!(again["statuses"]["watched"]["lastSeen"].is_string(), "lastSeen is stored");
    let (_, stats) = app.rest(Method::GET, "/api/server/stats", Some(SERVER_KEY), None).await;
    assert_eq!(stats["data"]["onlineUsers"], 2, "watcher and stranger");
    app.stop().await;
}
