//! The nouns of chat and their wire shapes (PROTOCOL.md §7): rooms, messages, pages and
//! the acks of the chat commands.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::domain::model::UserSummary;
use crate::domain::time::Timestamp;

/// The three kinds of room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RoomKind {
    /// Exactly two members; one room per pair, created on first use.
    Direct,
    /// Named members only.
    Group,
    /// Open to all: anyone reads its history, and joining or sending makes one a member.
    Public,
}

impl RoomKind {
    /// The wire and storage spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Direct => "direct",
            Self::Group => "group",
            Self::Public => "public",
        }
    }

    /// Parses the storage spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "direct" => Some(Self::Direct),
            "group" => Some(Self::Group),
            "public" => Some(Self::Public),
            _ => None,
        }
    }
}

/// What a message carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum MessageKind {
    Text,
    /// A shared position; `text` is an optional label.
    Location,
}

impl MessageKind {
    /// The wire and storage spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Location => "location",
        }
    }

    /// Parses the wire and storage spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "text" => Some(Self::Text),
            "location" => Some(Self::Location),
            _ => None,
        }
    }
}

/// A point on Earth in degrees (WGS 84).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Location {
    pub lat: f64,
    pub lng: f64,
}

/// A chat message as clients see it. A deleted message keeps its place (id, sender,
/// time) and loses its text, location and reactions.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChatMessage {
    pub id: String,
    pub room_id: String,
    pub sender: UserSummary,
    pub kind: MessageKind,
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// Id of the message this one answers (same room).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    /// The sender's idempotency key: a resend with the same key stores nothing new.
    pub client_msg_id: String,
    pub created_at: Timestamp,
    pub edited_at: Option<Timestamp>,
    pub deleted: bool,
    /// Emoji → number of users who reacted with it.
    pub reactions: BTreeMap<String, i64>,
}

/// A room as one member sees it: `{id, kind, title, memberIds, createdAt, lastMessage,
/// unreadCount}`.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChatRoom {
    pub id: String,
    pub kind: RoomKind,
    pub title: Option<String>,
    /// Ordered by user id.
    pub member_ids: Vec<String>,
    pub created_at: Timestamp,
    pub last_message: Option<ChatMessage>,
    /// Messages of others after this member's read position (deleted ones not counted).
    pub unread_count: i64,
}

/// What `chat:send` asks for, as the client sent it (validated by the service).
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendInput {
    pub room_id: String,
    pub client_msg_id: String,
    /// `text` or `location`; absent means `location` when a location is given, else `text`.
    pub kind: Option<String>,
    pub text: Option<String>,
    pub location: Option<Location>,
    pub reply_to: Option<String>,
}

/// What `POST /api/chat/rooms` asks for.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoomRequest {
    /// A direct room with this user (create-or-get).
    pub other_user_id: Option<String>,
    /// `group` or `public` (when `otherUserId` is absent).
    pub kind: Option<String>,
    pub title: Option<String>,
    #[serde(default)]
    pub member_ids: Vec<String>,
}

/// The result of creating a room: the room, and whether it is new (a direct room that
/// already existed is returned as it is). Also the ack of `chat:open`.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct RoomCreated {
    pub room: ChatRoom,
    pub created: bool,
}

/// Ack of `chat:send`.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Sent {
    pub message: ChatMessage,
    /// True when `(sender, clientMsgId)` was already stored: `message` is the stored one
    /// and nothing new was stored or sent.
    pub duplicate: bool,
}

/// Ack of `chat:join`.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JoinedRoom {
    pub room: ChatRoom,
    /// Members with at least one connected socket.
    pub online_member_ids: Vec<String>,
}

/// Ack of `chat:history` and `GET /api/chat/rooms/{id}/messages`: newest first.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessagePage {
    pub messages: Vec<ChatMessage>,
    pub has_more: bool,
    /// Pass as `before` for the next (older) page.
    pub next_cursor: Option<String>,
}

/// Ack of `chat:read`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReadState {
    pub unread_count: i64,
}
