//! Durable storage of notifications, follows and last-seen times.

use async_trait::async_trait;
use serde_json::Value;

use crate::domain::model::UserSummary;
use crate::domain::notification_draft::NotificationData;
use crate::domain::time::Timestamp;
use crate::ports::outbox::{Tells, Told};
use crate::ports::store::StoreResult;

/// A notification to store. For a grouped one, `group_key` and `window_start` say
/// which earlier unread notification it joins.
#[derive(Debug, Clone)]
pub struct NewNotification {
    pub id: String,
    pub user_id: String,
    pub kind: String,
    pub actor_id: Option<String>,
    pub subject_kind: Option<String>,
    pub subject_id: Option<String>,
    /// The text after the actor's name ("liked your video"), or the whole text.
    pub phrase: String,
    pub data: NotificationData,
    pub group_key: Option<String>,
    pub window_start: Timestamp,
    pub at: Timestamp,
}

/// A stored notification.
#[derive(Debug, Clone, PartialEq)]
pub struct NotificationRecord {
    pub id: String,
    pub kind: String,
    pub actor: Option<UserSummary>,
    /// Distinct actors grouped into this notification.
    pub actor_count: i64,
    pub subject_kind: Option<String>,
    pub subject_id: Option<String>,
    pub phrase: String,
    pub data: Value,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub read: bool,
}

/// A place in an inbox, newest first: the page goes on strictly below it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxCursor {
    pub updated_at: Timestamp,
    pub id: String,
}

/// Notification inboxes.
#[async_trait]
pub trait NotificationStore: Send + Sync {
    /// Stores a notification, or folds it into the matching unread group; with the
    /// recipient's unread count after it.
    async fn store_notification(&self, n: &NewNotification, tells: Tells<(NotificationRecord, i64)>) -> StoreResult<Told<(NotificationRecord, i64)>>;
    /// Newest first (by last update), strictly below `before` when given.
    async fn notifications(&self, user_id: &str, before: Option<&InboxCursor>, limit: u32, unread_only: bool) -> StoreResult<(Vec<NotificationRecord>, bool)>;
    /// Where one of the user's notifications sits in their inbox; `None` when the user
    /// has no notification with this id.
    async fn inbox_position(&self, user_id: &str, notification_id: &str) -> StoreResult<Option<InboxCursor>>;
    /// Marks some (or, with `None`, all) notifications read; returns the unread count.
    async fn mark_read(&self, user_id: &str, ids: Option<&[String]>, at: Timestamp) -> StoreResult<i64>;
    async fn unread_count(&self, user_id: &str) -> StoreResult<i64>;
}

/// The follow graph.
#[async_trait]
pub trait FollowStore: Send + Sync {
    /// Returns false when the follow already existed.
    async fn follow(&self, follower: &str, followee: &str, at: Timestamp, tells: Tells<bool>) -> StoreResult<Told<bool>>;
    /// Returns false when there was no follow.
    async fn unfollow(&self, follower: &str, followee: &str) -> StoreResult<bool>;
    async fn is_following(&self, follower: &str, followee: &str) -> StoreResult<bool>;
    /// Followers (or followees) of a user ordered by id, after the cursor id.
    async fn followers(&self, user_id: &str, after: Option<&str>, limit: u32) -> StoreResult<Vec<UserSummary>>;
    async fn following(&self, user_id: &str, after: Option<&str>, limit: u32) -> StoreResult<Vec<UserSummary>>;
    /// Follower ids only, for fan-out, ordered by id after the cursor.
    async fn follower_ids(&self, user_id: &str, after: Option<&str>, limit: u32) -> StoreResult<Vec<String>>;
    async fn follower_count(&self, user_id: &str) -> StoreResult<i64>;
}

/// When users were last seen online.
#[async_trait]
pub trait LastSeenStore: Send + Sync {
    async fn set_last_seen(&self, user_id: &str, at: Timestamp) -> StoreResult<()>;
    async fn last_seen(&self, user_id: &str) -> StoreResult<Option<Timestamp>>;
}

/// Relationships that decide who may watch whom (PROTOCOL.md §6).
#[async_trait]
pub trait Relationships: Send + Sync {
    /// True when `watcher` follows `target` or shares a chat room with them.
    async fn may_watch(&self, watcher: &str, target: &str) -> StoreResult<bool>;
}
