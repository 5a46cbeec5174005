//! Live location in chat rooms (PROTOCOL.md §10).

use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use crate::support::spawn_app_with;

#[tokio::test]
async fn positions_reach_room_members_only_throttled_and_validated_until_live_sharing_ends() {
    let app = spawn_app_with(|s| s.presence.location_min_interval = Duration::from_millis(300)).await;
    let (status, room) = app.rest(Method::POST, "/api/chat/rooms", Some(&app.token("walker")), Some(json!({"otherUserId": "friend"}))).await;
    assert!(status == 200 || status == 201, "{room}");
    let room_id = room["data"]["room"]["id"].as_str().or(room["data"]["id"].as_str()).expect("room id").to_owned();
    let walker = app.socket("walker").await;
    let mut friend = app.socket("friend").await;
    let mut outsider = app.socket("outsider").await;

    let live_until = time::OffsetDateTime::now_utc() + time::Duration::milliseconds(900);
    let live_until = live_until.format(&time::format_description::well_known::Rfc3339).unwrap();
    let ack = walker.ok("location:share", json!({"roomId": room_id, "lat": 48.8566, "lng": 2.3522, "accuracy": 12.5, "liveUntil": live_until})).await;
    assert!(ack["liveUntil"].is_string());
    let update = friend.expect("location:update", |_| true).await;
    assert_eq!((update["userId"].clone(), update["lat"].clone(), update["lng"].clone()), (json!("walker"), json!(48.8566), json!(2.3522)));

    let fast = walker.call("location:share", json!({"roomId": room_id, "lat": 48.0, "lng": 2.0})).await;
    assert_eq!(fast["error"]["code"], "rate_limited", "{fast}");
    assert!(fast["error"]["retryAfterMs"].as_u64().is_some());
    for bad in [json!({"roomId": room_id, "lat": 91.0, "lng": 0.0}), json!({"roomId": room_id, "lat": 0.0, "lng": -181.0}), json!({"roomId": room_id, "lat": "x", "lng": 0.0})] {
        assert_eq!(walker.err("location:share", bad).await, "bad_request");
    }
    assert_eq!(outsider.err("location:share", json!({"roomId": room_id, "lat": 1.0, "lng": 1.0})).await, "forbidden");
    assert_eq!(outsider.err("location:share", json!({"roomId": "no-such-room", "lat": 1.0, "lng": 1.0})).await, "not_found");

    let stopped = friend.expect("location:stopped", |v| v["userId"] == "walker").await;
    assert_eq!(stopped["roomId"], json!(room_id));
    outsider.expect_none("location:update", Duration::from_millis(100)).await;
    app.stop().await;
}
