//! Commands of chat rooms (PROTOCOL.md §7): `chat:*`.

use serde::Deserialize;

use super::acks::{ChatMessageAck, Done};
use crate::domain::chat::model::{JoinedRoom, MessagePage, ReadState, RoomCreated, Sent};
use crate::domain::content::ReactionState;

use crate::domain::chat::model::SendInput;

command_table! {
    /// A command of chat rooms.
    pub enum ChatCommand, kind ChatKind, reply ChatReply {
        /// Open (create or get) one's direct room with another user.
        "chat:open" => Open(OpenDirect) -> RoomCreated [Commands],
        /// Enter a room one is a member of.
        "chat:join" => Join(RoomRef) -> JoinedRoom [Joins, joins_room],
        /// Leave a room's live channel.
        "chat:leave" => Leave(RoomRef) -> Done [Commands],
        /// Send a message (text or a location).
        "chat:send" => Send(SendInput) -> Sent [Chat, posts_text],
        /// A page of a room's messages.
        "chat:history" => History(History) -> MessagePage [Commands],
        /// Say one is typing.
        "chat:typing" => Typing(Typing) -> Done [Typing],
        /// Mark a room read up to a message.
        "chat:read" => Read(Read) -> ReadState [Commands],
        /// React to a message.
        "chat:react" => React(React) -> ReactionState [Likes],
        /// Edit one's message.
        "chat:edit" => Edit(Edit) -> ChatMessageAck [Comments, posts_text],
        /// Delete a message.
        "chat:delete" => Delete(MessageRef) -> Done [Comments],
    }
}

/// `chat:open`: the other user of a direct room.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OpenDirect {
    pub other_user_id: String,
}

/// A chat room.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoomRef {
    pub room_id: String,
}

/// `chat:history`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct History {
    pub room_id: String,
    /// The cursor: messages older than this one.
    pub before: Option<String>,
    pub limit: Option<i64>,
    /// Messages to pass over first, newest first (0 to 10,000): paging by offset.
    pub skip: Option<i64>,
}

/// `chat:typing`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "TypingInRoom")]
pub struct Typing {
    pub room_id: String,
    pub typing: bool,
}

/// `chat:read`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Read {
    pub room_id: String,
    pub message_id: String,
}

/// `chat:react`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "ReactToMessage")]
pub struct React {
    pub message_id: String,
    pub emoji: String,
    pub on: Option<bool>,
}

/// `chat:edit`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Edit {
    pub message_id: String,
    pub text: String,
}

/// A chat message.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessageRef {
    pub message_id: String,
}
