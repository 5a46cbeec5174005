//! How one area asks for a notification without knowing how notifications are kept
//! or delivered (the notification service implements it).

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

use crate::domain::error::DomainResult;

/// Notification types of PROTOCOL.md §8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    Like,
    Comment,
    Reply,
    Mention,
    Follow,
    Message,
    Gift,
    EventRsvp,
    System,
    Custom,
}

impl NotificationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Like => "like",
            Self::Comment => "comment",
            Self::Reply => "reply",
            Self::Mention => "mention",
            Self::Follow => "follow",
            Self::Message => "message",
            Self::Gift => "gift",
            Self::EventRsvp => "event_rsvp",
            Self::System => "system",
            Self::Custom => "custom",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(Value::String(s.to_owned())).ok()
    }
}

/// What a notification is about: `{kind: "content"|"comment"|"chat"|"user"|..., id}`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Subject {
    pub kind: String,
    pub id: String,
}

/// A notification to create.
#[derive(Debug, Clone)]
pub struct NotificationDraft {
    pub recipient: String,
    pub kind: NotificationKind,
    /// Who caused it; a draft whose actor is the recipient is dropped.
    pub actor: Option<String>,
    pub subject: Option<Subject>,
    /// Text for people; for grouped notifications the service rewrites it.
    pub text: String,
    pub data: Value,
    /// Drafts with the same key for the same recipient within the grouping window
    /// update one notification ("alice and 3 others liked your video").
    pub group_key: Option<String>,
}

/// Creates notifications: stored first, then delivered live.
#[async_trait]
pub trait Notifier: Send + Sync {
    async fn notify(&self, draft: NotificationDraft) -> DomainResult<()>;
    /// Sends a draft without making the caller wait; failures are logged. Graceful
    /// shutdown waits for these before the store closes.
    fn notify_later(self: Arc<Self>, draft: NotificationDraft);
}
