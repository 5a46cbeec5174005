//! Notification, feed, presence and location events in the native protocol
//! (docs/protocol.md §5, §6, §8, §10).

use serde::Serialize;
use serde_json::Value;

use super::wire;
use crate::domain::events::SocialEvent;
use crate::domain::model::UserSummary;
use crate::domain::notifications::NotificationView;
use crate::domain::presence::ShownStatus;
use crate::domain::time::Timestamp;

native_events! {
    /// A notification was stored, or an unread one was folded into (same id: replace it).
    "notification:new" => NotificationNew<'a> [to "user:{userId}"],
    /// The unread count changed on another device of the user.
    "notifications:unread" => NotificationsUnread [to "user:{userId}"],
    /// The backend announced something to every connected socket (not stored).
    "system:announcement" => SystemAnnouncement<'a> [to "everyone"],
    /// Someone the subscriber follows published content.
    "feed:refresh" => FeedRefresh<'a> [to "feed:{userId}"],
    /// A watched user's status changed.
    "presence:update" => PresenceUpdate<'a> [to "presence:{userId}"],
    /// A member shared their position in a chat room.
    "location:update" => LocationUpdate<'a> [to "user:{userId}"],
    /// A member's live location share ended.
    "location:stopped" => LocationStopped<'a> [to "user:{userId}"],
}

/// `notification:new`.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotificationNew<'a> {
    pub notification: &'a NotificationView,
    pub unread_count: i64,
}

/// `notifications:unread`.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotificationsUnread {
    pub unread_count: i64,
}

/// `system:announcement`.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SystemAnnouncement<'a> {
    pub id: &'a str,
    pub message: &'a str,
    /// `info`, `warning` or `critical`.
    pub level: &'a str,
    pub created_at: Timestamp,
}

/// `feed:refresh`.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FeedRefresh<'a> {
    /// Always `new_content`.
    #[serde(rename = "type")]
    pub kind: FeedRefreshKind,
    pub content_id: &'a str,
    pub content_type: &'a str,
    pub title: Option<&'a str>,
    pub creator: &'a UserSummary,
    pub timestamp: Timestamp,
}

/// What a `feed:refresh` announces.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FeedRefreshKind {
    NewContent,
}

/// `presence:update`.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PresenceUpdate<'a> {
    pub user_id: &'a str,
    pub status: ShownStatus,
    /// When `status` is `offline` after a disconnect, else null.
    pub last_seen: Option<Timestamp>,
}

/// `location:update`.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LocationUpdate<'a> {
    pub room_id: &'a str,
    pub user_id: &'a str,
    pub lat: f64,
    pub lng: f64,
    pub accuracy: Option<f64>,
    pub timestamp: Timestamp,
    pub live_until: Option<Timestamp>,
}

/// `location:stopped`.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LocationStopped<'a> {
    pub room_id: &'a str,
    pub user_id: &'a str,
    pub timestamp: Timestamp,
}

/// The event name and payload of a social event; `None` for what only the server's own
/// consumers hear of (a new follow reaches the followee as a notification).
pub fn encode(event: &SocialEvent) -> Option<(&'static str, Value)> {
    let encoded = match event {
        SocialEvent::Followed { .. } => return None,
        SocialEvent::NotificationStored { notification, unread_count, .. } => {
            wire(&NotificationNew { notification, unread_count: *unread_count })
        }
        SocialEvent::UnreadCounted { unread_count } => wire(&NotificationsUnread { unread_count: *unread_count }),
        SocialEvent::Announced { announcement } => wire(&SystemAnnouncement {
            id: &announcement.id,
            message: &announcement.message,
            level: &announcement.level,
            created_at: announcement.created_at,
        }),
        SocialEvent::NewContentPublished { content_id, content_type, title, creator, at } => wire(&FeedRefresh {
            kind: FeedRefreshKind::NewContent,
            content_id,
            content_type,
            title: title.as_deref(),
            creator,
            timestamp: *at,
        }),
        SocialEvent::PresenceChanged { user_id, presence } => {
            wire(&PresenceUpdate { user_id, status: presence.status, last_seen: presence.last_seen })
        }
        SocialEvent::LocationShared { room_id, user_id, location, accuracy, at, live_until } => wire(&LocationUpdate {
            room_id,
            user_id,
            lat: location.lat,
            lng: location.lng,
            accuracy: *accuracy,
            timestamp: *at,
            live_until: *live_until,
        }),
        SocialEvent::LocationStopped { room_id, user_id, at } => wire(&LocationStopped { room_id, user_id, timestamp: *at }),
    };
    Some(encoded)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::calls::model::Media;
    use crate::domain::chat::model::Location;
    use crate::domain::notification_draft::NotificationData;
    use crate::domain::notifications::Announcement;
    use crate::domain::presence::{PresenceView, ShownStatus};
    use crate::domain::time::Timestamp;

    #[test]
    fn events_keep_their_documented_names_and_fields() {
        let at = Timestamp(1_700_000_000_000);
        let presence = PresenceView { status: ShownStatus::Offline, last_seen: None };
        let (name, payload) = encode(&SocialEvent::PresenceChanged { user_id: "u".into(), presence }).expect("a wire event");
        assert_eq!((name, payload), ("presence:update", json!({ "userId": "u", "status": "offline", "lastSeen": null })));
        let announcement = Announcement { id: "a".into(), message: "hi".into(), level: "info".into(), created_at: at };
        let (name, payload) = encode(&SocialEvent::Announced { announcement: announcement.clone() }).expect("a wire event");
        assert_eq!(name, "system:announcement");
        assert_eq!(payload, serde_json::to_value(&announcement).unwrap());
        assert_eq!(payload, json!({ "id": "a", "message": "hi", "level": "info", "createdAt": at }));
        let shared = SocialEvent::LocationShared {
            room_id: "r".into(),
            user_id: "u".into(),
            location: Location { lat: 1.5, lng: -2.0 },
            accuracy: None,
            at,
            live_until: None,
        };
        let expected = json!({ "roomId": "r", "userId": "u", "lat": 1.5, "lng": -2.0, "accuracy": null, "timestamp": at, "liveUntil": null });
        assert_eq!(encode(&shared), Some(("location:update", expected)));
        assert!(!shared.is_snapshot());
        // A follow has no wire event: the followee's notification tells it.
        assert_eq!(encode(&SocialEvent::Followed { follower: "a".into(), followee: "b".into(), at }), None);
    }

    /// Each kind of `data` keeps the shape clients read (docs/protocol.md §8).
    #[test]
    fn notification_data_keeps_its_documented_shapes() {
        let shape = |d: NotificationData| serde_json::to_value(d).unwrap();
        let like = NotificationData::Content { content_id: "v".into(), content_type: "video".into() };
        assert_eq!(shape(like), json!({ "contentId": "v", "contentType": "video" }));
        let comment = NotificationData::Comment { content_id: "v".into(), content_type: "post".into(), comment_id: "c".into(), text: "hi".into() };
        assert_eq!(shape(comment), json!({ "contentId": "v", "contentType": "post", "commentId": "c", "text": "hi" }));
        assert_eq!(shape(NotificationData::Follow { follower_id: "f".into() }), json!({ "followerId": "f" }));
        assert_eq!(
            shape(NotificationData::Message { room_id: "r".into(), message_id: "m".into(), preview: "hi".into() }),
            json!({ "roomId": "r", "messageId": "m", "preview": "hi" })
        );
        assert_eq!(
            shape(NotificationData::MissedCall { call_id: "k".into(), media: Media::Video, missed: true, room_id: None }),
            json!({ "callId": "k", "media": "video", "missed": true, "roomId": null })
        );
        assert_eq!(
            shape(NotificationData::Gift { stream_id: "s".into(), gift_id: "rose".into(), count: 2, coins: 10 }),
            json!({ "streamId": "s", "giftId": "rose", "count": 2, "coins": 10 })
        );
        assert_eq!(shape(NotificationData::Custom(json!({ "any": [1, 2] }))), json!({ "any": [1, 2] }));
    }
}
