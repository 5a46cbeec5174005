//! Content events in the native protocol (docs/protocol.md §4).

use serde::Serialize;
use serde_json::Value;

use super::wire;
use crate::domain::events::ContentEvent;
use crate::domain::model::{Comment, RankedItem, UserSummary};
use crate::domain::time::Timestamp;

native_events! {
    /// A user liked or unliked the item.
    "content:like" => ContentLike<'a> [to "content:{contentId}"],
    /// A comment or reply was posted.
    "content:comment" => ContentComment<'a> [to "content:{contentId}"],
    /// A comment was edited.
    "comment:edited" => CommentEdited<'a> [to "content:{contentId}"],
    /// A comment was deleted.
    "comment:deleted" => CommentDeleted<'a> [to "content:{contentId}"],
    /// A reaction on a comment was added or removed.
    "comment:reaction" => CommentReaction<'a> [to "content:{contentId}"],
    /// The item was shared.
    "content:share" => ContentShare<'a> [to "content:{contentId}"],
    /// Someone started or stopped typing a comment (not sent to the typing socket).
    "comment:typing" => CommentTyping<'a> [to "content:{contentId}"],
    /// The number of distinct users in the room changed (at most once per tick).
    "content:viewers" => ContentViewers<'a> [to "content:{contentId}"; coalesced],
    /// Counted views changed (at most once per tick).
    "content:view" => ContentView<'a> [to "content:{contentId}"; coalesced],
    /// The item's counters changed (at most once per tick).
    "content:counts" => ContentCounts<'a> [to "content:{contentId}"; coalesced],
    /// A subscribed ranking changed (at most once per tick).
    "ranking:update" => RankingUpdate<'a> [to "ranking:{scope}:{limit}"; coalesced],
}

/// `content:like`.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContentLike<'a> {
    pub content_id: &'a str,
    /// The item's stored type (`null` for an item not stored yet).
    pub content_type: Option<&'a str>,
    pub user_id: &'a str,
    pub is_liked: bool,
    pub likes_count: i64,
    pub timestamp: Timestamp,
}

/// `content:comment`.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContentComment<'a> {
    pub content_id: &'a str,
    /// The item's stored type (`null` for an item not stored yet).
    pub content_type: Option<&'a str>,
    pub comment: &'a Comment,
    pub comments_count: i64,
    pub timestamp: Timestamp,
}

/// `comment:edited`.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommentEdited<'a> {
    pub content_id: &'a str,
    pub comment: &'a Comment,
}

/// `comment:deleted`.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommentDeleted<'a> {
    pub content_id: &'a str,
    pub comment_id: &'a str,
    pub comments_count: i64,
}

/// `comment:reaction`: `count` users now have `emoji` on the comment.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommentReaction<'a> {
    pub content_id: &'a str,
    /// The item's stored type (`null` for an item not stored yet).
    pub content_type: Option<&'a str>,
    pub comment_id: &'a str,
    pub emoji: &'a str,
    pub user_id: &'a str,
    pub count: i64,
}

/// `content:share`.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContentShare<'a> {
    pub content_id: &'a str,
    pub user_id: &'a str,
    pub shares_count: i64,
    pub timestamp: Timestamp,
}

/// `comment:typing`.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommentTyping<'a> {
    pub content_id: &'a str,
    /// The item's stored type (`null` for an item not stored yet).
    pub content_type: Option<&'a str>,
    pub user: &'a UserSummary,
    pub typing: bool,
}

/// `content:viewers`.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContentViewers<'a> {
    pub content_id: &'a str,
    /// The item's stored type (`null` for an item not stored yet).
    pub content_type: Option<&'a str>,
    pub viewer_count: u64,
}

/// `content:view`.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContentView<'a> {
    pub content_id: &'a str,
    pub views_count: i64,
    pub timestamp: Timestamp,
}

/// `content:counts`.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContentCounts<'a> {
    pub content_id: &'a str,
    /// The item's stored type (`null` for an item not stored yet).
    pub content_type: Option<&'a str>,
    pub likes: i64,
    pub comments: i64,
    pub views: i64,
    pub shares: i64,
}

/// `ranking:update`: the list of one scope, best first.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RankingUpdate<'a> {
    pub scope: &'a str,
    pub items: &'a [RankedItem],
}

/// The event name and payload of a content event.
pub fn encode(event: &ContentEvent) -> (&'static str, Value) {
    match event {
        ContentEvent::LikeToggled { content_id, user_id, is_liked, likes_count, at, item } => wire(&ContentLike {
            content_id,
            content_type: Some(&item.content_type),
            user_id,
            is_liked: *is_liked,
            likes_count: *likes_count,
            timestamp: *at,
        }),
        ContentEvent::CommentCreated { comment, comments_count, at, item, .. } => wire(&ContentComment {
            content_id: &comment.content_id,
            content_type: Some(&item.content_type),
            comment,
            comments_count: *comments_count,
            timestamp: *at,
        }),
        ContentEvent::CommentEdited { comment } => wire(&CommentEdited { content_id: &comment.content_id, comment }),
        ContentEvent::CommentDeleted { content_id, comment_id, comments_count } => {
            wire(&CommentDeleted { content_id, comment_id, comments_count: *comments_count })
        }
        ContentEvent::CommentReacted { content_id, content_type, comment_id, emoji, user_id, count } => {
            wire(&CommentReaction { content_id, content_type: content_type.as_deref(), comment_id, emoji, user_id, count: *count })
        }
        ContentEvent::ContentShared { content_id, user_id, shares_count, at } => {
            wire(&ContentShare { content_id, user_id, shares_count: *shares_count, timestamp: *at })
        }
        ContentEvent::CommentTyping { content_id, content_type, user, typing } => {
            wire(&CommentTyping { content_id, content_type: content_type.as_deref(), user, typing: *typing })
        }
        ContentEvent::ViewersCounted { content_id, content_type, viewer_count } => {
            wire(&ContentViewers { content_id, content_type: content_type.as_deref(), viewer_count: *viewer_count })
        }
        ContentEvent::ViewsCounted { content_id, views_count, at } => {
            wire(&ContentView { content_id, views_count: *views_count, timestamp: *at })
        }
        ContentEvent::CountsChanged { content_id, content_type, counts } => wire(&ContentCounts {
            content_id,
            content_type: content_type.as_deref(),
            likes: counts.likes,
            comments: counts.comments,
            views: counts.views,
            shares: counts.shares,
        }),
        ContentEvent::RankingChanged { scope, items } => wire(&RankingUpdate { scope, items }),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::events::content::ItemOwner;
    use crate::domain::model::{Counts, UserSummary};
    use crate::domain::time::Timestamp;

    fn owner() -> ItemOwner {
        ItemOwner { owner_id: Some("o".into()), content_type: "video".into() }
    }

    #[test]
    fn events_keep_their_documented_names_and_fields() {
        let at = Timestamp(1_700_000_000_000);
        let (name, payload) =
            encode(&ContentEvent::LikeToggled { content_id: "c".into(), user_id: "u".into(), is_liked: true, likes_count: 3, at, item: owner() });
        assert_eq!(name, "content:like");
        assert_eq!(payload, json!({ "contentId": "c", "contentType": "video", "userId": "u", "isLiked": true, "likesCount": 3, "timestamp": at }));
        let counts = Counts { likes: 1, comments: 2, views: 3, shares: 4 };
        let (name, payload) = encode(&ContentEvent::CountsChanged { content_id: "c".into(), content_type: Some("post".into()), counts });
        assert_eq!((name, payload), ("content:counts", json!({ "contentId": "c", "contentType": "post", "likes": 1, "comments": 2, "views": 3, "shares": 4 })));
        let user = UserSummary::unknown("u");
        let (name, payload) = encode(&ContentEvent::CommentTyping { content_id: "c".into(), content_type: None, user: user.clone(), typing: false });
        assert_eq!((name, payload), ("comment:typing", json!({ "contentId": "c", "contentType": null, "user": user, "typing": false })));
    }

    #[test]
    fn snapshots_are_the_coalesced_updates() {
        assert!(ContentEvent::ViewersCounted { content_id: "c".into(), content_type: None, viewer_count: 1 }.is_snapshot());
        assert!(ContentEvent::RankingChanged { scope: "global".into(), items: vec![] }.is_snapshot());
        let shared = ContentEvent::ContentShared { content_id: "c".into(), user_id: "u".into(), shares_count: 1, at: Timestamp(0) };
        assert!(!shared.is_snapshot());
    }
}
