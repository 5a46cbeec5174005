//! Chat events in the native protocol (docs/protocol.md §7).

use serde_json::{Value, json};

use crate::domain::events::ChatEvent;

/// The event name and payload of a chat event.
pub fn encode(event: &ChatEvent) -> (&'static str, Value) {
    match event {
        ChatEvent::MemberJoined { room_id, user } => ("chat:user_joined", json!({ "roomId": room_id, "user": user })),
        ChatEvent::MemberLeft { room_id, user_id } => ("chat:user_left", json!({ "roomId": room_id, "userId": user_id })),
        ChatEvent::MessageSent { message } => ("chat:message", json!({ "roomId": message.room_id, "message": message })),
        ChatEvent::MessageEdited { message } => ("chat:edited", json!({ "roomId": message.room_id, "message": message })),
        ChatEvent::MessageDeleted { room_id, message_id } => ("chat:deleted", json!({ "roomId": room_id, "messageId": message_id })),
        ChatEvent::MessageReacted { room_id, message_id, emoji, user_id, count } => (
            "chat:reaction",
            json!({ "roomId": room_id, "messageId": message_id, "emoji": emoji, "userId": user_id, "count": count }),
        ),
        ChatEvent::ReadMoved { room_id, user_id, message_id, read_at } => (
            "chat:read",
            json!({ "roomId": room_id, "userId": user_id, "messageId": message_id, "readAt": read_at }),
        ),
        ChatEvent::Typing { room_id, user, typing } => ("chat:typing", json!({ "roomId": room_id, "user": user, "typing": typing })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::UserSummary;
    use crate::domain::time::Timestamp;

    #[test]
    fn events_keep_their_documented_names_and_fields() {
        let user = UserSummary::unknown("u");
        let (name, payload) = encode(&ChatEvent::MemberJoined { room_id: "r".into(), user: user.clone() });
        assert_eq!((name, payload), ("chat:user_joined", json!({ "roomId": "r", "user": user })));
        let (name, payload) = encode(&ChatEvent::MemberLeft { room_id: "r".into(), user_id: "u".into() });
        assert_eq!((name, payload), ("chat:user_left", json!({ "roomId": "r", "userId": "u" })));
        let at = Timestamp(1_700_000_000_000);
        let read = ChatEvent::ReadMoved { room_id: "r".into(), user_id: "u".into(), message_id: "m".into(), read_at: at };
        assert_eq!(encode(&read), ("chat:read", json!({ "roomId": "r", "userId": "u", "messageId": "m", "readAt": at })));
        let typing = ChatEvent::Typing { room_id: "r".into(), user: user.clone(), typing: false };
        assert_eq!(encode(&typing), ("chat:typing", json!({ "roomId": "r", "user": user, "typing": false })));
        assert!(!typing.is_snapshot());
    }
}
