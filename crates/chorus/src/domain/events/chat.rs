//! Events of chat rooms: messages, edits, deletes, reactions, reads, typing, members.

use crate::domain::chat::model::ChatMessage;
use crate::domain::model::{UserId, UserSummary};
use crate::domain::time::Timestamp;

/// Something that happened in a chat room.
#[derive(Debug, Clone, PartialEq)]
pub enum ChatEvent {
    /// Someone started watching a room (joining a public one makes them a member).
    MemberJoined { room_id: String, user: UserSummary },
    /// Someone stopped watching a room, or left it for good.
    MemberLeft { room_id: String, user_id: UserId },
    /// A message was stored (its `room_id` names the room). `members` are the room's
    /// members when it was sent; `private` is false for a public room (a channel).
    MessageSent { message: ChatMessage, members: Vec<UserId>, private: bool },
    /// Its sender edited a message.
    MessageEdited { message: ChatMessage },
    /// A message was deleted (soft: it keeps its place).
    MessageDeleted { room_id: String, message_id: String },
    /// Someone set or took back an emoji reaction on a message; `count` is how many
    /// users now have that emoji on it.
    MessageReacted { room_id: String, message_id: String, emoji: String, user_id: UserId, count: i64 },
    /// A member's read position moved forward to `message_id`.
    ReadMoved { room_id: String, user_id: UserId, message_id: String, read_at: Timestamp },
    /// Someone started or stopped writing in a room.
    Typing { room_id: String, user: UserSummary, typing: bool },
}

impl ChatEvent {
    /// Whether the event is a coalesced snapshot (see `DomainEvent::is_snapshot`):
    /// none of chat's are.
    pub fn is_snapshot(&self) -> bool {
        false
    }
}
