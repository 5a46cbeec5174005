//! Commands of chat rooms (PROTOCOL.md §7): `chat:*`.

use serde::Deserialize;

use crate::domain::chat::model::SendInput;

command_table! {
    /// A command of chat rooms.
    pub enum ChatCommand, kind ChatKind {
        /// Enter a room one is a member of.
        "chat:join" => Join(RoomRef) [Joins, joins_room],
        /// Leave a room's live channel.
        "chat:leave" => Leave(RoomRef) [Commands],
        /// Send a message (text or a location).
        "chat:send" => Send(SendInput) [Chat, posts_text],
        /// A page of a room's messages.
        "chat:history" => History(History) [Commands],
        /// Say one is typing.
        "chat:typing" => Typing(Typing) [Typing],
        /// Mark a room read up to a message.
        "chat:read" => Read(Read) [Commands],
        /// React to a message.
        "chat:react" => React(React) [Likes],
        /// Edit one's message.
        "chat:edit" => Edit(Edit) [Comments, posts_text],
        /// Delete a message.
        "chat:delete" => Delete(MessageRef) [Comments],
    }
}

/// A chat room.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoomRef {
    pub room_id: String,
}

/// `chat:history`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct History {
    pub room_id: String,
    /// The cursor: messages older than this one.
    pub before: Option<String>,
    pub limit: Option<i64>,
}

/// `chat:typing`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Typing {
    pub room_id: String,
    pub typing: bool,
}

/// `chat:read`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Read {
    pub room_id: String,
    pub message_id: String,
}

/// `chat:react`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct React {
    pub message_id: String,
    pub emoji: String,
    pub on: Option<bool>,
}

/// `chat:edit`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Edit {
    pub message_id: String,
    pub text: String,
}

/// A chat message.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageRef {
    pub message_id: String,
}
