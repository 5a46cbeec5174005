//! Which domain events leave a notification in someone's inbox (PROTOCOL.md §8), and
//! what it says: a like or a comment for the item's owner, a reply for the parent's
//! author, a mention for each `@username`, a follow, a chat message for members who are
//! offline, a missed call, a gift for the stream's creator. The notification service
//! watches the stream of domain events through this observer; no service calls it.
//! Nobody hears of their own action (the service drops those drafts).

use std::future::Future;
use std::sync::{Arc, Weak};

use super::calls::model::Media;
use super::chat::model::{ChatMessage, MessageKind};
use super::events::{CallEvent, ChatEvent, ContentEvent, DomainEvent, LiveEvent, SocialEvent};
use super::events::content::ItemOwner;
use super::live::model::CatalogItem;
use super::model::{Comment, UserId};
use super::notifications::{NotificationService, mentions};
use super::users::UserDirectory;
use crate::ports::cluster::SessionRegistry;
use crate::ports::events::EventObserver;
use crate::domain::notification_draft::{NotificationData, NotificationDraft, NotificationKind, Subject};
use crate::ports::publisher::Audience;

/// Characters of a message quoted in a notification.
const PREVIEW_CHARS: usize = 100;

/// Turns domain events into notification drafts for the notification service.
pub struct NotificationTriggers {
    /// Weak: the service sends its own events through the stream this observer is on.
    notifications: Weak<NotificationService>,
    /// Resolves `@username` mentions.
    users: Arc<UserDirectory>,
    /// Who is online: a chat message notifies only members with no socket.
    sessions: Arc<dyn SessionRegistry>,
}

impl NotificationTriggers {
    pub fn new(notifications: Weak<NotificationService>, users: Arc<UserDirectory>, sessions: Arc<dyn SessionRegistry>) -> Self {
        Self { notifications, users, sessions }
    }
}

impl NotificationTriggers {
    /// Hands `drafting` to the notification service (while it is there).
    fn later(&self, drafting: impl Future<Output = Vec<NotificationDraft>> + Send + 'static) {
        if let Some(notifications) = self.notifications.upgrade() {
            notifications.draft_later(drafting);
        }
    }
}

impl EventObserver for NotificationTriggers {
    fn observe(&self, _to: &Audience, event: &DomainEvent) {
        match event {
            DomainEvent::Content(ContentEvent::LikeToggled { content_id, user_id, is_liked: true, item, .. }) => {
                if let Some(draft) = like(content_id, user_id, item) {
                    self.later(async move { vec![draft] });
                }
            }
            DomainEvent::Content(ContentEvent::CommentCreated { comment, item, parent_author, .. }) => {
                let (users, comment, item, parent_author) = (self.users.clone(), comment.clone(), item.clone(), parent_author.clone());
                self.later(async move { comment_drafts(&users, &comment, &item, parent_author).await });
            }
            DomainEvent::Chat(ChatEvent::MessageSent { message, members, private: true }) => {
                let (sessions, message, members) = (self.sessions.clone(), message.clone(), members.clone());
                self.later(async move {
                    let online = sessions.online_among(&members).await;
                    let offline = members.into_iter().zip(online).filter(|(_, on)| !on).map(|(member, _)| member);
                    offline.map(|member| message_draft(member, &message)).collect()
                });
            }
            DomainEvent::Social(SocialEvent::Followed { follower, followee, .. }) => {
                let draft = follow(follower, followee);
                self.later(async move { vec![draft] });
            }
            DomainEvent::Calls(CallEvent::Missed { call_id, user_id, caller_id, media, room_id }) => {
                let draft = missed_call(call_id, user_id, caller_id, *media, room_id.clone());
                self.later(async move { vec![draft] });
            }
            DomainEvent::Live(LiveEvent::GiftSent { stream_id, creator_id, sender, gift, count, coins, .. }) => {
                let draft = gift_draft(stream_id, creator_id, &sender.id, gift, *count, *coins);
                self.later(async move { vec![draft] });
            }
            _ => {}
        }
    }
}

/// The owner hears of a like; likes of one item fold into one notification.
fn like(content_id: &str, liker: &UserId, item: &ItemOwner) -> Option<NotificationDraft> {
    let owner = item.owner_id.clone()?;
    Some(NotificationDraft {
        recipient: owner,
        kind: NotificationKind::Like,
        actor: Some(liker.clone()),
        subject: Some(Subject { kind: "content".into(), id: content_id.to_owned() }),
        text: format!("liked your {}", item.content_type),
        data: NotificationData::Content { content_id: content_id.to_owned(), content_type: item.content_type.clone() },
        group_key: Some(format!("like:{content_id}")),
    })
}

/// The parent's author hears of a reply, the owner of a comment, and each `@username`
/// of a mention; nobody twice for one comment.
async fn comment_drafts(users: &UserDirectory, comment: &Comment, item: &ItemOwner, parent_author: Option<UserId>) -> Vec<NotificationDraft> {
    let author = &comment.user.id;
    let mut told: Vec<UserId> = vec![author.clone()];
    let mut drafts = Vec::new();
    let mut tell = |recipient: UserId, kind: NotificationKind, text: String| {
        if told.contains(&recipient) {
            return;
        }
        told.push(recipient.clone());
        drafts.push(NotificationDraft {
            recipient,
            kind,
            actor: Some(author.clone()),
            subject: Some(Subject { kind: "comment".into(), id: comment.id.clone() }),
            text,
            data: NotificationData::Comment {
                content_id: comment.content_id.clone(),
                content_type: item.content_type.clone(),
                comment_id: comment.id.clone(),
                text: comment.text.clone(),
            },
            group_key: None,
        });
    };
    if let Some(parent_author) = parent_author {
        tell(parent_author, NotificationKind::Reply, "replied to your comment".into());
    }
    if let Some(owner) = &item.owner_id {
        tell(owner.clone(), NotificationKind::Comment, format!("commented on your {}", item.content_type));
    }
    for name in mentions(&comment.text) {
        match users.by_username(&name).await {
            Ok(Some(user)) => tell(user.id, NotificationKind::Mention, "mentioned you in a comment".into()),
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e.chain(), "mention lookup failed"),
        }
    }
    drafts
}

/// An offline member finds a message in their inbox; a burst in one room folds into one
/// notification.
fn message_draft(member: UserId, message: &ChatMessage) -> NotificationDraft {
    let room_id = &message.room_id;
    let preview: String = match message.kind {
        MessageKind::Text => message.text.chars().take(PREVIEW_CHARS).collect(),
        MessageKind::Location => "shared a location".to_owned(),
    };
    NotificationDraft {
        recipient: member,
        kind: NotificationKind::Message,
        actor: Some(message.sender.id.clone()),
        subject: Some(Subject { kind: "chat".into(), id: room_id.clone() }),
        text: "sent you a message".into(),
        data: NotificationData::Message { room_id: room_id.clone(), message_id: message.id.clone(), preview },
        group_key: Some(format!("chat:{room_id}")),
    }
}

/// Gifts to one stream fold into one notification for its creator.
fn gift_draft(stream_id: &str, creator_id: &UserId, sender_id: &UserId, gift: &CatalogItem, count: i64, coins: i64) -> NotificationDraft {
    let noun = if count == 1 { gift.name.clone() } else { format!("{count} × {}", gift.name) };
    NotificationDraft {
        recipient: creator_id.clone(),
        kind: NotificationKind::Gift,
        actor: Some(sender_id.clone()),
        subject: Some(Subject { kind: "stream".into(), id: stream_id.to_owned() }),
        text: format!("sent you {noun}"),
        data: NotificationData::Gift { stream_id: stream_id.to_owned(), gift_id: gift.id.clone(), count, coins },
        group_key: Some(format!("gift:{stream_id}")),
    }
}

fn follow(follower: &UserId, followee: &UserId) -> NotificationDraft {
    NotificationDraft {
        recipient: followee.clone(),
        kind: NotificationKind::Follow,
        actor: Some(follower.clone()),
        subject: Some(Subject { kind: "user".into(), id: follower.clone() }),
        text: "started following you".into(),
        data: NotificationData::Follow { follower_id: follower.clone() },
        group_key: None,
    }
}

fn missed_call(call_id: &str, user_id: &UserId, caller_id: &UserId, media: Media, room_id: Option<String>) -> NotificationDraft {
    let text = match media {
        Media::Audio => "tried to call you",
        Media::Video => "tried to video call you",
    };
    NotificationDraft {
        recipient: user_id.clone(),
        kind: NotificationKind::Message,
        actor: Some(caller_id.clone()),
        subject: Some(Subject { kind: "call".into(), id: call_id.to_owned() }),
        text: text.into(),
        data: NotificationData::MissedCall { call_id: call_id.to_owned(), media, missed: true, room_id },
        group_key: None,
    }
}
