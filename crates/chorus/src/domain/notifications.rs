//! Notifications (PROTOCOL.md §8): stored first, then delivered live to every socket
//! of the user; grouped when the same thing keeps happening ("alice and 3 others
//! liked your video"); never for one's own actions.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use tokio_util::task::TaskTracker;

use super::error::{DomainError, DomainResult};
use super::events::SocialEvent;
use super::model::UserSummary;
use super::text::{MAX_ID_LEN, valid_id};
use super::time::Timestamp;
use crate::ports::events::EventSink;
use crate::ports::outbox::{Tells, Told};
use crate::domain::notification_draft::{NotificationDraft, NotificationKind};
use crate::ports::publisher::{Audience, ConnectionId, Room};
use crate::ports::social_store::{InboxCursor, NewNotification, NotificationRecord, NotificationStore};

/// Largest page of the inbox.
pub const MAX_PAGE: u32 = 100;
/// Most ids one `notifications:read` may name.
pub const MAX_READ_IDS: usize = 500;

/// A notification as clients see it.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotificationView {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub actor: Option<UserSummary>,
    pub actor_count: i64,
    pub subject: Option<NotificationSubject>,
    pub text: String,
    pub data: Value,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub read: bool,
}

impl NotificationView {
    fn from_record(r: NotificationRecord) -> Self {
        let text = match &r.actor {
            None => r.phrase.clone(),
            Some(actor) if r.actor_count > 1 => {
                let others = r.actor_count - 1;
                let noun = if others == 1 { "other" } else { "others" };
                format!("{} and {others} {noun} {}", actor.username, r.phrase)
            }
            Some(actor) => format!("{} {}", actor.username, r.phrase),
        };
        let subject = match (&r.subject_kind, &r.subject_id) {
            (Some(kind), Some(id)) => Some(NotificationSubject { kind: kind.clone(), id: id.clone() }),
            _ => None,
        };
        Self {
            id: r.id,
            kind: r.kind,
            actor: r.actor,
            actor_count: r.actor_count,
            subject,
            text,
            data: r.data,
            created_at: r.created_at,
            updated_at: r.updated_at,
            read: r.read,
        }
    }
}

/// What a notification is about: `{kind, id}` (a content item, a chat room, a user…).
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct NotificationSubject {
    pub kind: String,
    pub id: String,
}

/// An operator's message to everyone online (`system:announcement`).
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Announcement {
    pub id: String,
    pub message: String,
    /// `info`, `warning` or `critical`.
    pub level: String,
    pub created_at: Timestamp,
}

/// A page of the inbox.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InboxPage {
    pub notifications: Vec<NotificationView>,
    pub has_more: bool,
    pub unread_count: i64,
    /// Pass as `before` for the next page.
    pub next_cursor: Option<String>,
}

/// The notification service.
pub struct NotificationService {
    store: Arc<dyn NotificationStore>,
    /// Where new notifications, unread counts and announcements go.
    events: Arc<dyn EventSink>,
    /// Repeats within this window fold into one notification.
    group_window: Duration,
    /// Notifications on their way after the command that caused them was acked.
    pending: TaskTracker,
}

impl NotificationService {
    pub fn new(store: Arc<dyn NotificationStore>, events: Arc<dyn EventSink>, group_window: Duration) -> Self {
        Self { store, events, group_window, pending: TaskTracker::new() }
    }

    /// Stores the drafts `drafting` comes to, without making the caller wait (the
    /// drafts of one event, which may have to look things up first); failures are
    /// logged. A shutdown waits for them (`finish_pending`).
    pub fn draft_later(self: &Arc<Self>, drafting: impl Future<Output = Vec<NotificationDraft>> + Send + 'static) {
        let service = self.clone();
        self.pending.spawn(async move {
            for draft in drafting.await {
                let kind = draft.kind;
                if let Err(e) = service.notify(draft).await {
                    tracing::warn!(kind = kind.as_str(), error = %e.chain(), "notification not stored");
                }
            }
        });
    }

    /// Graceful shutdown: waits (at most `limit`) for notifications still on their way,
    /// so those of writes committed just before the signal are stored too. Returns how
    /// many were still running when the wait ended.
    pub async fn finish_pending(&self, limit: Duration) -> usize {
        self.pending.close();
        if tokio::time::timeout(limit, self.pending.wait()).await.is_err() {
            return self.pending.len();
        }
        0
    }

    /// `notifications:list` and `GET /api/notifications`.
    pub async fn list(&self, user_id: &str, before: Option<&str>, limit: Option<i64>, unread_only: bool) -> DomainResult<InboxPage> {
        let limit = match limit {
            None => 20,
            Some(l) if (1..=i64::from(MAX_PAGE)).contains(&l) => l as u32,
            Some(_) => return Err(DomainError::bad_request(format!("limit must be 1-{MAX_PAGE}"))),
        };
        let before = match before {
            None => None,
            Some(b) => Some(self.inbox_cursor(user_id, b).await?),
        };
        let (records, has_more) = self.store.notifications(user_id, before.as_ref(), limit, unread_only).await?;
        let next_cursor = if has_more { records.last().map(|r| format!("{}:{}", r.updated_at.millis(), r.id)) } else { None };
        let unread_count = self.store.unread_count(user_id).await?;
        Ok(InboxPage {
            notifications: records.into_iter().map(NotificationView::from_record).collect(),
            has_more,
            unread_count,
            next_cursor,
        })
    }

    /// Reads `before`: the id of the oldest notification the client holds (as `before`
    /// means everywhere else), or a `nextCursor` from an earlier page.
    async fn inbox_cursor(&self, user_id: &str, before: &str) -> DomainResult<InboxCursor> {
        if let Some((at, id)) = before.split_once(':') {
            return match at.parse::<i64>() {
                Ok(at) if !id.is_empty() && id.len() <= MAX_ID_LEN => Ok(InboxCursor { updated_at: Timestamp(at), id: id.to_owned() }),
                _ => Err(DomainError::bad_request("before must be a notification id or a nextCursor from an earlier page")),
            };
        }
        let id = valid_id("before", before)?;
        self.store
            .inbox_position(user_id, id)
            .await?
            .ok_or_else(|| DomainError::not_found(format!("before: no notification {id} in this inbox")))
    }

    /// `notifications:read`: some ids, or all. The user's other sockets learn the new
    /// unread count through `notifications:unread`.
    pub async fn mark_read(&self, user_id: &str, ids: Option<Vec<String>>, all: bool, from: Option<&ConnectionId>) -> DomainResult<i64> {
        let ids = match (ids, all) {
            (_, true) => None,
            (Some(ids), false) if !ids.is_empty() && ids.len() <= MAX_READ_IDS => {
                if ids.iter().any(|i| i.is_empty() || i.len() > 64) {
                    return Err(DomainError::bad_request("ids must be notification ids"));
                }
                Some(ids)
            }
            _ => return Err(DomainError::bad_request(format!("send ids (1-{MAX_READ_IDS}) or all: true"))),
        };
        let unread = self.store.mark_read(user_id, ids.as_deref(), Timestamp::now()).await?;
        let room = Room::User(user_id.to_owned());
        let audience = match from {
            Some(conn) => Audience::RoomExcept(room, conn.clone()),
            None => Audience::Room(room),
        };
        self.events.emit(audience, SocialEvent::UnreadCounted { unread_count: unread }.into()).await;
        Ok(unread)
    }

    pub async fn unread_count(&self, user_id: &str) -> DomainResult<i64> {
        Ok(self.store.unread_count(user_id).await?)
    }

    /// `system:announcement` to everyone online.
    pub async fn announce(&self, message: &str, level: &str) -> DomainResult<Announcement> {
        let message = super::text::trimmed_text("message", message, 2000)?;
        if !["info", "warning", "critical"].contains(&level) {
            return Err(DomainError::bad_request("level must be info, warning or critical"));
        }
        let announcement =
            Announcement { id: uuid::Uuid::now_v7().to_string(), message, level: level.to_owned(), created_at: Timestamp::now() };
        self.events.emit(Audience::Everyone, SocialEvent::Announced { announcement: announcement.clone() }.into()).await;
        Ok(announcement)
    }

    /// Stores a notification, then tells the recipient's sockets; a draft whose actor
    /// is its recipient is dropped.
    pub async fn notify(&self, draft: NotificationDraft) -> DomainResult<()> {
        if draft.actor.as_deref() == Some(draft.recipient.as_str()) {
            return Ok(());
        }
        let now = Timestamp::now();
        let recipient = draft.recipient.clone();
        let to = recipient.clone();
        let tells: Tells<(NotificationRecord, i64)> = Box::new(move |(record, unread)| {
            let notification = NotificationView::from_record(record.clone());
            Some(SocialEvent::NotificationStored { recipient: to, notification, unread_count: *unread }.into())
        });
        let new = NewNotification {
            id: uuid::Uuid::now_v7().to_string(),
            user_id: draft.recipient,
            kind: draft.kind.as_str().to_owned(),
            actor_id: draft.actor,
            subject_kind: draft.subject.as_ref().map(|s| s.kind.clone()),
            subject_id: draft.subject.map(|s| s.id),
            phrase: draft.text,
            data: draft.data,
            group_key: draft.group_key,
            window_start: now.plus_millis(-(self.group_window.as_millis() as i64)),
            at: now,
        };
        let Told { event, .. } = self.store.store_notification(&new, tells).await?;
        if let Some(stored) = event {
            self.events.emit(Audience::Room(Room::User(recipient)), stored).await;
        }
        Ok(())
    }
}

/// The `@username` mentions of a text, without duplicates, at most 20.
pub fn mentions(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (i, _) in text.match_indices('@') {
        // A mention starts a word: "mail@host" is not one.
        if text[..i].chars().next_back().is_some_and(|c| c.is_alphanumeric()) {
            continue;
        }
        let name: String = text[i + 1..].chars().take_while(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '-')).take(64).collect();
        let name = name.trim_end_matches(['.', '-']).to_owned();
        if !name.is_empty() && !out.contains(&name) {
            out.push(name);
        }
        if out.len() == 20 {
            break;
        }
    }
    out
}

/// Kind for the server API (`type` field); `None` for unknown names.
pub fn parse_kind(s: &str) -> Option<NotificationKind> {
    NotificationKind::parse(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_are_words_starting_with_at() {
        assert_eq!(mentions("hi @bob and @alice.smith, not mail@host; @bob again."), ["bob", "alice.smith"]);
        assert!(mentions("no mentions @ all").is_empty());
    }

    #[test]
    fn grouped_text_names_the_latest_actor_and_counts_the_others() {
        let record = |count| NotificationRecord {
            id: "n".into(),
            kind: "like".into(),
            actor: Some(UserSummary::unknown("alice")),
            actor_count: count,
            subject_kind: Some("content".into()),
            subject_id: Some("v".into()),
            phrase: "liked your video".into(),
            data: Value::Null,
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
            read: false,
        };
        assert_eq!(NotificationView::from_record(record(1)).text, "alice liked your video");
        assert_eq!(NotificationView::from_record(record(2)).text, "alice and 1 other liked your video");
        assert_eq!(NotificationView::from_record(record(4)).text, "alice and 3 others liked your video");
    }
}
