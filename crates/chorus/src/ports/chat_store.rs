//! Durable storage of chat rooms, members, read positions, messages and reactions.

use async_trait::async_trait;

use crate::domain::chat::model::{ChatMessage, ChatRoom, Location, MessageKind, RoomKind};
use crate::domain::model::UserSummary;
use crate::domain::time::Timestamp;
use crate::ports::outbox::{Tells, Told};
use crate::ports::store::{ReactionOutcome, StoreResult};

/// A room to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRoom {
    pub id: String,
    pub kind: RoomKind,
    pub title: Option<String>,
    pub created_by: String,
    /// Every member, the creator included, without duplicates.
    pub member_ids: Vec<String>,
    /// For direct rooms: the key of the pair (see `domain::chat::direct_key`); a second
    /// room with the same key is never created.
    pub direct_key: Option<String>,
    pub at: Timestamp,
}

/// A room and its members, without per-member state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomRecord {
    pub id: String,
    pub kind: RoomKind,
    pub title: Option<String>,
    pub created_at: Timestamp,
    pub member_ids: Vec<String>,
}

/// Whether one user may act in a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoomAccess {
    pub kind: RoomKind,
    pub is_member: bool,
}

/// Everything `chat:send` needs before its write, read in one query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendContext {
    pub kind: RoomKind,
    pub member_ids: Vec<String>,
    /// The sender's summary, for the message as it is published.
    pub sender: UserSummary,
}

/// A message to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMessage {
    pub id: String,
    pub room_id: String,
    pub sender_id: String,
    pub client_msg_id: String,
    pub kind: MessageKind,
    pub text: String,
    pub location: Option<Location>,
    pub reply_to: Option<String>,
    pub at: Timestamp,
    /// Also make the sender a member (a first message in a public room).
    pub join_sender: bool,
}

/// The outcome of storing a message.
#[derive(Debug, Clone, PartialEq)]
pub enum MessageStored {
    /// Stored as given.
    New,
    /// `(sender, clientMsgId)` was already stored: nothing was written; the stored
    /// message wins.
    Duplicate(Box<ChatMessage>),
}

/// The outcome of moving a read position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadOutcome {
    /// False when the position was already at or past the message.
    pub moved: bool,
    pub unread_count: i64,
}

/// Chat rooms, members and messages.
#[async_trait]
pub trait ChatStore: Send + Sync {
    /// Creates a room with its members. A direct room whose pair already has one is not
    /// created again: the existing room is returned with `false`.
    async fn create_room(&self, room: &NewRoom) -> StoreResult<(RoomRecord, bool)>;
    /// A room with its members; `None` for an unknown room.
    async fn room(&self, room_id: &str) -> StoreResult<Option<RoomRecord>>;
    /// The room's kind and whether `user_id` is a member; `None` for an unknown room.
    async fn access(&self, room_id: &str, user_id: &str) -> StoreResult<Option<RoomAccess>>;
    /// Kind, members and sender summary in one read; `None` for an unknown room. An
    /// implementation may serve it from memory only if it sees every write of members
    /// and profiles (the SQLite store does; see `adapters::sql::chat_cache`).
    async fn send_context(&self, room_id: &str, sender_id: &str) -> StoreResult<Option<SendContext>>;
    /// The rooms `user_id` is a member of (only `room_id` when given), each with its last
    /// message and that member's unread count, most recently active first.
    async fn rooms_of(&self, user_id: &str, room_id: Option<&str>) -> StoreResult<Vec<ChatRoom>>;
    /// Adds members; returns the ones who were not members before.
    async fn add_members(&self, room_id: &str, user_ids: &[String], at: Timestamp) -> StoreResult<Vec<String>>;
    /// Removes a member; false when they were not one.
    async fn remove_member(&self, room_id: &str, user_id: &str) -> StoreResult<bool>;
    /// Stores a message unless `(sender, clientMsgId)` exists: one write, with the
    /// deliveries its event owes.
    async fn insert_message(&self, message: &NewMessage, tells: Tells<MessageStored>) -> StoreResult<Told<MessageStored>>;
    /// A message, deleted ones included.
    async fn message(&self, id: &str) -> StoreResult<Option<ChatMessage>>;
    /// Messages of a room older than `before` (a message id), newest first; `limit`
    /// of them and whether there are more.
    async fn history(&self, room_id: &str, before: Option<&str>, limit: u32) -> StoreResult<(Vec<ChatMessage>, bool)>;
    /// Moves a member's read position forward to `message_id` (never back).
    async fn mark_read(&self, room_id: &str, user_id: &str, message_id: &str, at: Timestamp) -> StoreResult<ReadOutcome>;
    /// Replaces the text of a message that is not deleted; `None` otherwise.
    async fn edit_message(&self, id: &str, text: &str, at: Timestamp) -> StoreResult<Option<ChatMessage>>;
    /// Soft-deletes: text, location and reactions go, the row stays. False when it was
    /// already deleted or unknown.
    async fn delete_message(&self, id: &str, at: Timestamp, tells: Tells<bool>) -> StoreResult<Told<bool>>;
    /// Sets a user's reaction (`on = None` toggles); returns the emoji's new count.
    async fn set_reaction(&self, message_id: &str, user_id: &str, emoji: &str, on: Option<bool>, at: Timestamp)
    -> StoreResult<ReactionOutcome>;
}
