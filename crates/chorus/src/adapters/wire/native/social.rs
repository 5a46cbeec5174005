//! Notification, feed, presence and location events in the native protocol
//! (docs/protocol.md §5, §6, §8, §10).

use serde_json::{Value, json};

use crate::domain::events::SocialEvent;

/// The event name and payload of a social event.
pub fn encode(event: &SocialEvent) -> (&'static str, Value) {
    match event {
        SocialEvent::NotificationStored { notification, unread_count } => {
            ("notification:new", json!({ "notification": notification, "unreadCount": unread_count }))
        }
        SocialEvent::UnreadCounted { unread_count } => ("notifications:unread", json!({ "unreadCount": unread_count })),
        SocialEvent::Announced { announcement } => (
            "system:announcement",
            json!({
                "id": announcement.id,
                "message": announcement.message,
                "level": announcement.level,
                "createdAt": announcement.created_at,
            }),
        ),
        SocialEvent::NewContentPublished { content_id, content_type, title, creator, at } => (
            "feed:refresh",
            json!({
                "type": "new_content",
                "contentId": content_id,
                "contentType": content_type,
                "title": title,
                "creator": creator,
                "timestamp": at,
            }),
        ),
        SocialEvent::PresenceChanged { user_id, presence } => {
            ("presence:update", json!({ "userId": user_id, "status": presence.status, "lastSeen": presence.last_seen }))
        }
        SocialEvent::LocationShared { room_id, user_id, location, accuracy, at, live_until } => (
            "location:update",
            json!({
                "roomId": room_id,
                "userId": user_id,
                "lat": location.lat,
                "lng": location.lng,
                "accuracy": accuracy,
                "timestamp": at,
                "liveUntil": live_until,
            }),
        ),
        SocialEvent::LocationStopped { room_id, user_id, at } => {
            ("location:stopped", json!({ "roomId": room_id, "userId": user_id, "timestamp": at }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::chat::model::Location;
    use crate::domain::notifications::Announcement;
    use crate::domain::presence::{PresenceView, ShownStatus};
    use crate::domain::time::Timestamp;

    #[test]
    fn events_keep_their_documented_names_and_fields() {
        let at = Timestamp(1_700_000_000_000);
        let presence = PresenceView { status: ShownStatus::Offline, last_seen: None };
        let (name, payload) = encode(&SocialEvent::PresenceChanged { user_id: "u".into(), presence });
        assert_eq!((name, payload), ("presence:update", json!({ "userId": "u", "status": "offline", "lastSeen": null })));
        let announcement = Announcement { id: "a".into(), message: "hi".into(), level: "info".into(), created_at: at };
        let (name, payload) = encode(&SocialEvent::Announced { announcement: announcement.clone() });
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
        assert_eq!(encode(&shared), ("location:update", expected));
        assert!(!shared.is_snapshot());
    }
}
