//! Commands of content rooms, comments and rankings (PROTOCOL.md §3, §4): `content:*`,
//! `comment:*` and `ranking:*`.

use serde::Deserialize;

use super::acks::{CommentAck, Done, RankingAck};
use crate::domain::content::{Joined, LikeState, CommentPosted, ViewRecorded, ShareRecorded, ReactionState};

use crate::domain::content::ProgressInput;

command_table! {
    /// A command of content rooms, comments or rankings.
    pub enum ContentCommand, kind ContentKind, reply ContentReply {
        /// Enter a content room: its counts and viewers.
        "content:join" => Join(ContentRef) -> Joined [Joins, joins_room, guests],
        /// Leave a content room.
        "content:leave" => Leave(ContentRef) -> Done [Commands, guests],
        /// Like or unlike.
        "content:like" => Like(Like) -> LikeState [Likes],
        /// Post a comment or a reply.
        "content:comment" => Comment(PostComment) -> CommentPosted [Comments, posts_text],
        /// Record a view.
        "content:view" => View(ContentRef) -> ViewRecorded [Likes, guests],
        /// Record a share.
        "content:share" => Share(Share) -> ShareRecorded [Likes],
        /// Report watch progress.
        "content:progress" => Progress(ProgressInput) -> Done [Commands],
        /// React to a comment.
        "comment:react" => React(React) -> ReactionState [Likes],
        /// Edit one's comment.
        "comment:edit" => EditComment(EditComment) -> CommentAck [Comments, posts_text],
        /// Delete a comment.
        "comment:delete" => DeleteComment(CommentRef) -> Done [Comments],
        /// Say one is typing a comment.
        "comment:typing" => Typing(Typing) -> Done [Typing],
        /// Watch a ranking.
        "ranking:subscribe" => SubscribeRanking(RankingSubscribe) -> RankingAck [Joins, joins_room],
        /// Stop watching a ranking.
        "ranking:unsubscribe" => UnsubscribeRanking(RankingUnsubscribe) -> Done [Commands],
    }
}

/// A content item.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContentRef {
    pub content_id: String,
}

/// `content:like`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "LikeContent")]
pub struct Like {
    pub content_id: String,
    pub like: Option<bool>,
}

/// `content:comment`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostComment {
    pub content_id: String,
    pub text: String,
    /// The comment replied to.
    pub parent_id: Option<String>,
}

/// `content:share`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Share {
    pub content_id: String,
    pub channel: Option<String>,
}

/// `comment:react`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "ReactToComment")]
pub struct React {
    pub comment_id: String,
    pub emoji: String,
    pub on: Option<bool>,
}

/// `comment:edit`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EditComment {
    pub comment_id: String,
    pub text: String,
}

/// A comment.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommentRef {
    pub comment_id: String,
}

/// `comment:typing`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "TypingOnContent")]
pub struct Typing {
    pub content_id: String,
    pub typing: bool,
}

/// `ranking:subscribe`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct RankingSubscribe {
    /// `type:{contentType}` or `owner:{userId}`.
    pub scope: String,
    pub limit: Option<i64>,
}

/// `ranking:unsubscribe`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct RankingUnsubscribe {
    pub scope: String,
}
