//! The webhook types: which domain events the app's backend can be told of, under which
//! type, ordered per which subject, and with which `data`. `data` is the native event's
//! payload (docs/protocol.md, the same field names a socket hears), with what the
//! backend needs besides (the recipient of a notification, the members of a message's
//! room, the creator and the sender's balance of a gift); an event no socket hears (a follow, a ban, a refused text) gets
//! its own small payload here, in the same style.

use serde_json::{Value, json};

use crate::adapters::wire::native;
use crate::domain::events::{AccountEvent, ChatEvent, ContentEvent, DomainEvent, LiveEvent, SocialEvent};
use crate::domain::moderation::Surface;

/// Every webhook type Chorus sends, in the order docs/protocol.md lists them.
pub const TYPES: &[&str] = &[
    "content.liked",
    "content.unliked",
    "comment.created",
    "comment.deleted",
    "content.shared",
    "follow.created",
    "message.created",
    "message.deleted",
    "notification.created",
    "gift.sent",
    "stream.status_changed",
    "battle.ended",
    "moderation.blocked",
    "user.banned",
];

/// What an event is told as: its type, the subject its order is kept per, and `data`.
#[derive(Debug, Clone, PartialEq)]
pub struct Webhook {
    pub event_type: &'static str,
    pub subject: String,
    pub data: Value,
}

/// The webhook of `event`, if it has one.
pub fn webhook_of(event: &DomainEvent) -> Option<Webhook> {
    let (event_type, subject) = type_and_subject(event)?;
    let data = match event {
        DomainEvent::Social(SocialEvent::Followed { follower, followee, at }) => {
            json!({ "followerId": follower, "followeeId": followee, "timestamp": at })
        }
        DomainEvent::Social(SocialEvent::NotificationStored { recipient, .. }) => with(native::encode(event)?.1, [("userId", json!(recipient))])?,
        DomainEvent::Chat(ChatEvent::MessageSent { members, .. }) => with(native::encode(event)?.1, [("memberIds", json!(members))])?,
        DomainEvent::Live(LiveEvent::GiftSent { creator_id, sender_balance, .. }) => {
            with(native::encode(event)?.1, [("creatorId", json!(creator_id)), ("balance", json!(sender_balance))])?
        }
        DomainEvent::Account(AccountEvent::Banned { user_id, stream_id, by, until, reason, at }) => json!({
            "userId": user_id, "streamId": stream_id, "by": by, "until": until, "reason": reason, "timestamp": at,
        }),
        DomainEvent::Account(AccountEvent::TextBlocked { surface, place, author_id, reason, severity, at }) => json!({
            "surface": surface, place_field(*surface): place, "userId": author_id, "reason": reason, "severity": severity, "timestamp": at,
        }),
        _ => native::encode(event)?.1,
    };
    Some(Webhook { event_type, subject, data })
}

/// `data` with more fields.
fn with<const N: usize>(mut data: Value, more: [(&str, Value); N]) -> Option<Value> {
    let fields = data.as_object_mut()?;
    for (name, value) in more {
        fields.insert(name.to_owned(), value);
    }
    Some(data)
}

/// The native field that names where a text was posted.
fn place_field(surface: Surface) -> &'static str {
    match surface {
        Surface::Comment => "contentId",
        Surface::Chat => "roomId",
        Surface::StreamChat => "streamId",
    }
}

/// The subject a text posted on `surface` at `place` is ordered with: the comments of
/// a content, the messages of a room or a stream.
fn place_subject(surface: Surface, place: &str) -> String {
    match surface {
        Surface::Comment => format!("content:{place}"),
        Surface::Chat => format!("chat:{place}"),
        Surface::StreamChat => format!("stream:{place}"),
    }
}

/// The type and ordering subject of the events that are told.
fn type_and_subject(event: &DomainEvent) -> Option<(&'static str, String)> {
    let content = |id: &str| format!("content:{id}");
    Some(match event {
        DomainEvent::Content(e) => match e {
            ContentEvent::LikeToggled { content_id, is_liked: true, .. } => ("content.liked", content(content_id)),
            ContentEvent::LikeToggled { content_id, is_liked: false, .. } => ("content.unliked", content(content_id)),
            ContentEvent::CommentCreated { comment, .. } => ("comment.created", content(&comment.content_id)),
            ContentEvent::CommentDeleted { content_id, .. } => ("comment.deleted", content(content_id)),
            ContentEvent::ContentShared { content_id, .. } => ("content.shared", content(content_id)),
            _ => return None,
        },
        DomainEvent::Social(SocialEvent::Followed { followee, .. }) => ("follow.created", format!("user:{followee}")),
        DomainEvent::Social(SocialEvent::NotificationStored { recipient, .. }) => ("notification.created", format!("user:{recipient}")),
        DomainEvent::Live(e) => match e {
            LiveEvent::GiftSent { stream_id, .. } => ("gift.sent", format!("stream:{stream_id}")),
            LiveEvent::StatusChanged { stream_id, .. } => ("stream.status_changed", format!("stream:{stream_id}")),
            LiveEvent::BattleEnded { battle } => ("battle.ended", format!("battle:{}", battle.id)),
            _ => return None,
        },
        DomainEvent::Account(e) => match e {
            AccountEvent::Banned { user_id, .. } => ("user.banned", format!("user:{user_id}")),
            AccountEvent::TextBlocked { surface, place, .. } => ("moderation.blocked", place_subject(*surface, place)),
        },
        DomainEvent::Chat(e) => match e {
            ChatEvent::MessageSent { message, .. } => ("message.created", format!("chat:{}", message.room_id)),
            ChatEvent::MessageDeleted { room_id, .. } => ("message.deleted", format!("chat:{room_id}")),
            _ => return None,
        },
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::events::content::ItemOwner;
    use crate::domain::live::model::{CatalogItem, ItemKind};
    use crate::domain::model::UserSummary;
    use crate::domain::moderation::Severity;
    use crate::domain::notifications::NotificationView;
    use crate::domain::time::Timestamp;

    #[test]
    fn a_like_and_an_unlike_are_two_types_of_one_subject_with_the_native_payload() {
        let at = Timestamp(1_700_000_000_000);
        let like = |is_liked| -> DomainEvent {
            ContentEvent::LikeToggled {
                content_id: "v1".into(),
                user_id: "ann".into(),
                is_liked,
                likes_count: 3,
                at,
                item: ItemOwner { owner_id: Some("bob".into()), content_type: "video".into() },
            }
            .into()
        };
        let liked = webhook_of(&like(true)).expect("a like is told");
        assert_eq!((liked.event_type, liked.subject.as_str()), ("content.liked", "content:v1"));
        assert_eq!(liked.data["contentId"], "v1");
        assert_eq!(liked.data["userId"], "ann");
        assert_eq!(liked.data["likesCount"], 3);
        assert_eq!(liked.data, native::encode(&like(true)).expect("native").1, "the native payload, field for field");
        assert_eq!(webhook_of(&like(false)).map(|w| w.event_type), Some("content.unliked"));
    }

    #[test]
    fn a_follow_names_both_users_and_snapshots_are_not_told() {
        let at = Timestamp(1_700_000_000_000);
        let follow = webhook_of(&SocialEvent::Followed { follower: "ann".into(), followee: "bob".into(), at }.into()).expect("told");
        assert_eq!(follow.event_type, "follow.created");
        assert_eq!(follow.subject, "user:bob");
        assert_eq!(follow.data, json!({ "followerId": "ann", "followeeId": "bob", "timestamp": at }));
        let counts = ContentEvent::CountsChanged { content_id: "v1".into(), content_type: None, counts: Default::default() };
        assert_eq!(webhook_of(&counts.into()), None);
    }

    #[test]
    fn a_notification_is_ordered_per_recipient_and_names_them() {
        let at = Timestamp(1_700_000_000_000);
        let notification = NotificationView {
            id: "n1".into(),
            kind: "like".into(),
            actor: None,
            actor_count: 1,
            subject: None,
            text: "someone liked your video".into(),
            data: json!({}),
            created_at: at,
            updated_at: at,
            read: false,
        };
        let event: DomainEvent = SocialEvent::NotificationStored { recipient: "bob".into(), notification, unread_count: 4 }.into();
        let told = webhook_of(&event).expect("told");
        assert_eq!((told.event_type, told.subject.as_str()), ("notification.created", "user:bob"));
        assert_eq!(told.data["userId"], "bob");
        assert_eq!(told.data["unreadCount"], 4);
        assert_eq!(told.data["notification"]["id"], "n1");
        let mut without = told.data.clone();
        without.as_object_mut().expect("an object").remove("userId");
        assert_eq!(without, native::encode(&event).expect("native").1, "otherwise the native payload");
    }

    #[test]
    fn a_gift_adds_the_creator_and_the_senders_balance_to_the_native_payload() {
        let gift = CatalogItem { id: "rose".into(), name: "Rose".into(), coins: 5, kind: ItemKind::Gift, points: None };
        let event: DomainEvent = LiveEvent::GiftSent {
            stream_id: "s1".into(),
            creator_id: "cara".into(),
            sender: UserSummary::unknown("ann"),
            gift,
            count: 2,
            coins: 10,
            transaction_id: "tx1".into(),
            sender_balance: 90,
        }
        .into();
        let told = webhook_of(&event).expect("told");
        assert_eq!((told.event_type, told.subject.as_str()), ("gift.sent", "stream:s1"));
        assert_eq!((told.data["creatorId"].as_str(), told.data["balance"].as_i64()), (Some("cara"), Some(90)));
        assert_eq!((told.data["coins"].as_i64(), told.data["transactionId"].as_str()), (Some(10), Some("tx1")));
        assert_eq!(told.data["sender"]["id"], "ann");
        let native = native::encode(&event).expect("native").1;
        assert_eq!(native.get("balance"), None, "the stream does not hear the sender's balance");
    }

    #[test]
    fn bans_and_refused_texts_are_told_with_their_place() {
        let at = Timestamp(1_700_000_000_000);
        let ban = AccountEvent::Banned { user_id: "eve".into(), stream_id: Some("s1".into()), by: Some("cara".into()), until: None, reason: Some("spam".into()), at };
        let told = webhook_of(&ban.into()).expect("told");
        assert_eq!((told.event_type, told.subject.as_str()), ("user.banned", "user:eve"));
        assert_eq!(told.data, json!({ "userId": "eve", "streamId": "s1", "by": "cara", "until": null, "reason": "spam", "timestamp": at }));
        let blocked = |surface| -> DomainEvent {
            AccountEvent::TextBlocked { surface, place: "p1".into(), author_id: "eve".into(), reason: "contains a blocked word".into(), severity: Severity::High, at }.into()
        };
        let comment = webhook_of(&blocked(Surface::Comment)).expect("told");
        assert_eq!((comment.event_type, comment.subject.as_str()), ("moderation.blocked", "content:p1"));
        assert_eq!(comment.data["contentId"], "p1");
        assert_eq!((comment.data["surface"].as_str(), comment.data["severity"].as_str()), (Some("comment"), Some("high")));
        assert_eq!(webhook_of(&blocked(Surface::Chat)).map(|w| (w.subject, w.data["roomId"].clone())), Some(("chat:p1".into(), json!("p1"))));
        assert_eq!(webhook_of(&blocked(Surface::StreamChat)).map(|w| w.subject), Some("stream:p1".into()));
    }

    #[test]
    fn every_listed_type_is_distinct() {
        let mut seen = std::collections::HashSet::new();
        assert!(TYPES.iter().all(|t| seen.insert(*t)));
    }
}
