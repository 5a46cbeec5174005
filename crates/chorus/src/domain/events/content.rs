//! Events of content rooms: likes, comments, reactions, shares, typing, and the
//! coalesced counts and rankings.

use crate::domain::model::{Comment, ContentId, Counts, RankedItem, UserId, UserSummary};
use crate::domain::time::Timestamp;

/// Whose an item is, and what kind of item: what a notification of a like or a comment
/// says ("liked your video").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemOwner {
    pub owner_id: Option<UserId>,
    pub content_type: String,
}

/// Something that happened in a content room. `content_type` is the item's stored
/// type where a client of the `interactions` dialect needs it to name its room
/// (`content:${contentType}:${contentId}`); `None` for an item not stored yet.
#[derive(Debug, Clone, PartialEq)]
pub enum ContentEvent {
    /// A like was added or removed (a repeated like changes nothing and is not told).
    /// `item` is whose it is (its owner hears of a like).
    LikeToggled { content_id: ContentId, user_id: UserId, is_liked: bool, likes_count: i64, at: Timestamp, item: ItemOwner },
    /// A comment or a reply was stored. `item` is whose the item is and
    /// `parent_author` who wrote the comment replied to: they hear of it.
    CommentCreated { comment: Comment, comments_count: i64, at: Timestamp, item: ItemOwner, parent_author: Option<UserId> },
    /// Its author edited a comment.
    CommentEdited { comment: Comment },
    /// A comment was deleted (by its author, the item's owner or a moderator).
    CommentDeleted { content_id: ContentId, comment_id: String, comments_count: i64 },
    /// Someone set or took back an emoji reaction on a comment; `count` is how many
    /// users now have that emoji on it.
    CommentReacted { content_id: ContentId, content_type: Option<String>, comment_id: String, emoji: String, user_id: UserId, count: i64 },
    /// An item was shared.
    ContentShared { content_id: ContentId, user_id: UserId, shares_count: i64, at: Timestamp },
    /// Someone started or stopped writing a comment on an item.
    CommentTyping { content_id: ContentId, content_type: Option<String>, user: UserSummary, typing: bool },
    /// Snapshot: how many watch an item now.
    ViewersCounted { content_id: ContentId, content_type: Option<String>, viewer_count: u64 },
    /// Snapshot: an item's views after new ones were counted.
    ViewsCounted { content_id: ContentId, views_count: i64, at: Timestamp },
    /// Snapshot: an item's four counters.
    CountsChanged { content_id: ContentId, content_type: Option<String>, counts: Counts },
    /// Snapshot: a ranking's new top list (`scope` in its text form).
    RankingChanged { scope: String, items: Vec<RankedItem> },
}

impl ContentEvent {
    /// Whether the event is a coalesced snapshot (see `DomainEvent::is_snapshot`).
    pub fn is_snapshot(&self) -> bool {
        matches!(
            self,
            Self::ViewersCounted { .. } | Self::ViewsCounted { .. } | Self::CountsChanged { .. } | Self::RankingChanged { .. }
        )
    }
}
