//! Content events in the native protocol (docs/protocol.md §4).

use serde_json::{Value, json};

use crate::domain::events::ContentEvent;

/// The event name and payload of a content event.
pub fn encode(event: &ContentEvent) -> (&'static str, Value) {
    match event {
        ContentEvent::LikeToggled { content_id, user_id, is_liked, likes_count, at } => (
            "content:like",
            json!({ "contentId": content_id, "userId": user_id, "isLiked": is_liked, "likesCount": likes_count, "timestamp": at }),
        ),
        ContentEvent::CommentCreated { comment, comments_count, at } => (
            "content:comment",
            json!({ "contentId": comment.content_id, "comment": comment, "commentsCount": comments_count, "timestamp": at }),
        ),
        ContentEvent::CommentEdited { comment } => ("comment:edited", json!({ "contentId": comment.content_id, "comment": comment })),
        ContentEvent::CommentDeleted { content_id, comment_id, comments_count } => (
            "comment:deleted",
            json!({ "contentId": content_id, "commentId": comment_id, "commentsCount": comments_count }),
        ),
        ContentEvent::CommentReacted { content_id, comment_id, emoji, user_id, count } => (
            "comment:reaction",
            json!({ "contentId": content_id, "commentId": comment_id, "emoji": emoji, "userId": user_id, "count": count }),
        ),
        ContentEvent::ContentShared { content_id, user_id, shares_count, at } => (
            "content:share",
            json!({ "contentId": content_id, "userId": user_id, "sharesCount": shares_count, "timestamp": at }),
        ),
        ContentEvent::CommentTyping { content_id, user, typing } => {
            ("comment:typing", json!({ "contentId": content_id, "user": user, "typing": typing }))
        }
        ContentEvent::ViewersCounted { content_id, viewer_count } => {
            ("content:viewers", json!({ "contentId": content_id, "viewerCount": viewer_count }))
        }
        ContentEvent::ViewsCounted { content_id, views_count, at } => {
            ("content:view", json!({ "contentId": content_id, "viewsCount": views_count, "timestamp": at }))
        }
        ContentEvent::CountsChanged { content_id, counts } => (
            "content:counts",
            json!({ "contentId": content_id, "likes": counts.likes, "comments": counts.comments, "views": counts.views, "shares": counts.shares }),
        ),
        ContentEvent::RankingChanged { scope, items } => ("ranking:update", json!({ "scope": scope, "items": items })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::{Counts, UserSummary};
    use crate::domain::time::Timestamp;

    #[test]
    fn events_keep_their_documented_names_and_fields() {
        let at = Timestamp(1_700_000_000_000);
        let (name, payload) =
            encode(&ContentEvent::LikeToggled { content_id: "c".into(), user_id: "u".into(), is_liked: true, likes_count: 3, at });
        assert_eq!(name, "content:like");
        assert_eq!(payload, json!({ "contentId": "c", "userId": "u", "isLiked": true, "likesCount": 3, "timestamp": at }));
        let counts = Counts { likes: 1, comments: 2, views: 3, shares: 4 };
        let (name, payload) = encode(&ContentEvent::CountsChanged { content_id: "c".into(), counts });
        assert_eq!((name, payload), ("content:counts", json!({ "contentId": "c", "likes": 1, "comments": 2, "views": 3, "shares": 4 })));
        let user = UserSummary::unknown("u");
        let (name, payload) = encode(&ContentEvent::CommentTyping { content_id: "c".into(), user: user.clone(), typing: false });
        assert_eq!((name, payload), ("comment:typing", json!({ "contentId": "c", "user": user, "typing": false })));
    }

    #[test]
    fn snapshots_are_the_coalesced_updates() {
        assert!(ContentEvent::ViewersCounted { content_id: "c".into(), viewer_count: 1 }.is_snapshot());
        assert!(ContentEvent::RankingChanged { scope: "global".into(), items: vec![] }.is_snapshot());
        let shared = ContentEvent::ContentShared { content_id: "c".into(), user_id: "u".into(), shares_count: 1, at: Timestamp(0) };
        assert!(!shared.is_snapshot());
    }
}
