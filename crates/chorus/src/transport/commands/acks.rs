//! Ack shapes that the executors build around a service's result, where the result is
//! not the ack itself (an empty object, a result under one key). Named in the command
//! tables beside each command, so the contract and the ack sent are one type.

use serde::Serialize;

use crate::domain::chat::model::ChatMessage;
use crate::domain::live::model::{Battle, CatalogItem, Stream};
use crate::domain::model::{Comment, RankedItem};
use crate::domain::time::Timestamp;

/// The ack of a command that answers nothing but success: `{}`.
#[derive(Debug, Clone, Copy, Default, Serialize, schemars::JsonSchema)]
pub struct Done {}

/// An ack holding one comment.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct CommentAck {
    pub comment: Comment,
}

/// The ack of `ranking:subscribe`: the current list.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct RankingAck {
    pub items: Vec<RankedItem>,
}

/// An ack holding one chat message.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ChatMessageAck {
    pub message: ChatMessage,
}

/// An ack holding one stream.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct StreamAck {
    pub stream: Stream,
}

/// An ack holding one battle.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct BattleAck {
    pub battle: Battle,
}

/// The ack of `gift:catalog`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct GiftCatalog {
    pub gifts: Vec<CatalogItem>,
}

/// The ack of `notifications:read`: the unread count left.
#[derive(Debug, Clone, Copy, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UnreadCount {
    pub unread_count: i64,
}

/// The ack of `feed:new_content`: the followers the refresh is addressed to.
#[derive(Debug, Clone, Copy, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FollowersNotified {
    pub followers_notified: i64,
}

/// The ack of `auth:refresh`: the new token's deadline.
#[derive(Debug, Clone, Copy, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Refreshed {
    pub expires_at: Timestamp,
}
