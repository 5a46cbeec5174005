//! Chat events in the native protocol (docs/protocol.md §7).

use serde::Serialize;
use serde_json::Value;

use super::wire;
use crate::domain::chat::model::ChatMessage;
use crate::domain::events::ChatEvent;
use crate::domain::model::UserSummary;
use crate::domain::time::Timestamp;

native_events! {
    /// A user joined the room's watchers (not sent to the joiner).
    "chat:user_joined" => ChatUserJoined<'a> [to "chat:{roomId}"],
    /// A member stopped watching the room, or left it.
    "chat:user_left" => ChatUserLeft<'a> [to "chat:{roomId}"],
    /// A message was stored.
    "chat:message" => ChatMessageSent<'a> [to "user:{userId}"],
    /// A message was edited.
    "chat:edited" => ChatEdited<'a> [to "user:{userId}"],
    /// A message was deleted.
    "chat:deleted" => ChatDeleted<'a> [to "user:{userId}"],
    /// A reaction on a message was added or removed.
    "chat:reaction" => ChatReaction<'a> [to "user:{userId}"],
    /// A member's read position moved (in public rooms only to the reader's devices).
    "chat:read" => ChatRead<'a> [to "user:{userId}"],
    /// Someone started or stopped typing (not sent to the typing socket).
    "chat:typing" => ChatTyping<'a> [to "chat:{roomId}"],
}

/// `chat:user_joined`.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChatUserJoined<'a> {
    pub room_id: &'a str,
    pub user: &'a UserSummary,
}

/// `chat:user_left`.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChatUserLeft<'a> {
    pub room_id: &'a str,
    pub user_id: &'a str,
}

/// `chat:message`.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChatMessageSent<'a> {
    pub room_id: &'a str,
    pub message: &'a ChatMessage,
}

/// `chat:edited`.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChatEdited<'a> {
    pub room_id: &'a str,
    pub message: &'a ChatMessage,
}

/// `chat:deleted`.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChatDeleted<'a> {
    pub room_id: &'a str,
    pub message_id: &'a str,
}

/// `chat:reaction`: `count` users now have `emoji` on the message.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChatReaction<'a> {
    pub room_id: &'a str,
    pub message_id: &'a str,
    pub emoji: &'a str,
    pub user_id: &'a str,
    pub count: i64,
}

/// `chat:read`.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChatRead<'a> {
    pub room_id: &'a str,
    pub user_id: &'a str,
    pub message_id: &'a str,
    pub read_at: Timestamp,
}

/// `chat:typing`.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChatTyping<'a> {
    pub room_id: &'a str,
    pub user: &'a UserSummary,
    pub typing: bool,
}

/// The event name and payload of a chat event.
pub fn encode(event: &ChatEvent) -> (&'static str, Value) {
    match event {
        ChatEvent::MemberJoined { room_id, user } => wire(&ChatUserJoined { room_id, user }),
        ChatEvent::MemberLeft { room_id, user_id } => wire(&ChatUserLeft { room_id, user_id }),
        ChatEvent::MessageSent { message, .. } => wire(&ChatMessageSent { room_id: &message.room_id, message }),
        ChatEvent::MessageEdited { message } => wire(&ChatEdited { room_id: &message.room_id, message }),
        ChatEvent::MessageDeleted { room_id, message_id } => wire(&ChatDeleted { room_id, message_id }),
        ChatEvent::MessageReacted { room_id, message_id, emoji, user_id, count } => {
            wire(&ChatReaction { room_id, message_id, emoji, user_id, count: *count })
        }
        ChatEvent::ReadMoved { room_id, user_id, message_id, read_at } => {
            wire(&ChatRead { room_id, user_id, message_id, read_at: *read_at })
        }
        ChatEvent::Typing { room_id, user, typing } => wire(&ChatTyping { room_id, user, typing: *typing }),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

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
