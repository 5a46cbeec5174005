//! The webhook types: which domain events the app's backend can be told of, under which
//! type, ordered per which subject, and with which `data`. `data` is the native event's
//! payload (docs/protocol.md, the same field names a socket hears); an event no socket
//! hears (a follow) gets its own small payload here.

use serde_json::{Value, json};

use crate::adapters::wire::native;
use crate::domain::events::{ChatEvent, ContentEvent, DomainEvent, SocialEvent};

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
        _ => native::encode(event)?.1,
    };
    Some(Webhook { event_type, subject, data })
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
    fn every_listed_type_is_distinct() {
        let mut seen = std::collections::HashSet::new();
        assert!(TYPES.iter().all(|t| seen.insert(*t)));
    }
}
