//! A notification to be: who gets it, of what kind, about what, saying what, with the
//! ids a client opens it by (`data`). The triggers write drafts from domain events, the
//! server API from a backend's request; the notification service stores and delivers
//! them.

use serde_json::Value;

/// The ids a client needs to open the right screen for a notification: its `data`,
/// stored with it and sent as a JSON object.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
#[serde(untagged, rename_all_fields = "camelCase")]
pub enum NotificationData {
    /// A like of an item, and the item's type.
    Content { content_id: String, content_type: String },
    /// A comment, reply or mention: the item, its type, the comment and its text.
    Comment { content_id: String, content_type: String, comment_id: String, text: String },
    /// A new follower.
    Follow { follower_id: String },
    /// A chat message to an offline member.
    Message { room_id: String, message_id: String, preview: String },
    /// A call nobody answered (`missed` is always true; `room_id` is null for a direct call).
    MissedCall { call_id: String, media: crate::domain::calls::model::Media, missed: bool, room_id: Option<String> },
    /// Gifts to a stream's owner.
    Gift { stream_id: String, gift_id: String, count: i64, coins: i64 },
    /// What the app backend sent with a server-API notification, as it sent it.
    Custom(Value),
}

/// Notification types of PROTOCOL.md §8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
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
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
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
    pub data: NotificationData,
    /// Drafts with the same key for the same recipient within the grouping window
    /// update one notification ("alice and 3 others liked your video").
    pub group_key: Option<String>,
}
