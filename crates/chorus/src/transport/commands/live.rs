//! Commands of live streams (PROTOCOL.md §9): `stream:*`, `gift:*`, `battle:*` and
//! `wallet:*`. Counts are read as integers of any sign so that zero and negative
//! values get the service's own clear `bad_request`.

use serde::Deserialize;

use super::acks::{BattleAck, Done, GiftCatalog, StreamAck};
use crate::domain::live::battles::Boosted;
use crate::domain::live::gifts::GiftSent;
use crate::domain::live::model::WalletState;
use crate::domain::live::sanctions::SanctionApplied;
use crate::domain::live::stream_chat::ChatPosted;
use crate::domain::live::streams::{Likes, StreamJoined};

use super::payload::NoArguments;

command_table! {
    /// A command of live streams, gifts, battles or the wallet.
    pub enum LiveCommand, kind LiveKind, reply LiveReply {
        /// Watch a stream.
        "stream:join" => Join(StreamRef) -> StreamJoined [Joins, joins_room, guests],
        /// Stop watching a stream.
        "stream:leave" => Leave(StreamRef) -> Done [Commands, guests],
        /// Set a stream's status.
        "stream:status" => SetStatus(SetStatus) -> StreamAck [Commands],
        /// Post to a stream's chat.
        "stream:chat" => Chat(Chat) -> ChatPosted [Chat, posts_text],
        /// Delete a message of a stream's chat.
        "stream:chat_delete" => DeleteChat(ChatDelete) -> Done [Commands],
        /// Send likes to a stream.
        "stream:like" => Like(Like) -> Likes [Likes],
        /// Slow a stream's chat down.
        "stream:slow_mode" => SlowMode(SlowMode) -> StreamAck [Commands],
        /// Mute or ban a viewer of a stream, or lift it.
        "stream:moderate" => Moderate(Moderate) -> SanctionApplied [Commands],
        /// Send a gift.
        "gift:send" => SendGift(SendGift) -> GiftSent [Commands],
        /// The gift catalog.
        "gift:catalog" => GiftCatalog(NoArguments) -> GiftCatalog [Commands],
        /// One's wallet balance.
        "wallet:balance" => WalletBalance(NoArguments) -> WalletState [Commands],
        /// Challenge another stream to a battle.
        "battle:start" => StartBattle(StartBattle) -> BattleAck [Commands],
        /// Accept a battle.
        "battle:accept" => AcceptBattle(BattleRef) -> BattleAck [Commands],
        /// Decline a battle.
        "battle:decline" => DeclineBattle(BattleRef) -> BattleAck [Commands],
        /// A battle's state.
        "battle:get" => GetBattle(BattleRef) -> BattleAck [Commands],
        /// Boost a side of a battle.
        "battle:boost" => Boost(Boost) -> Boosted [Commands],
    }
}

/// A stream.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StreamRef {
    pub stream_id: String,
}

/// `stream:status`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SetStatus {
    pub stream_id: String,
    pub status: String,
}

/// `stream:chat`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Chat {
    pub stream_id: String,
    pub text: String,
}

/// `stream:chat_delete`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChatDelete {
    pub stream_id: String,
    pub message_id: String,
}

/// `stream:like`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "LikeStream")]
pub struct Like {
    pub stream_id: String,
    pub count: Option<i64>,
}

/// `stream:slow_mode`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SlowMode {
    pub stream_id: String,
    pub seconds: i64,
}

/// `stream:moderate`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Moderate {
    pub stream_id: String,
    pub user_id: String,
    pub action: String,
    pub duration_sec: Option<i64>,
    pub reason: Option<String>,
}

/// `gift:send`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendGift {
    pub stream_id: String,
    pub gift_id: String,
    pub count: Option<i64>,
    /// The client's idempotency key.
    pub client_tx_id: String,
}

/// `battle:start`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StartBattle {
    pub stream_id: String,
    pub opponent_stream_id: String,
    pub duration_sec: Option<i64>,
}

/// A battle.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BattleRef {
    pub battle_id: String,
}

/// `battle:boost`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Boost {
    pub battle_id: String,
    pub side: String,
    /// A boost of the catalog; absent: the catalog's first boost.
    pub boost_id: Option<String>,
    /// The client's idempotency key.
    pub client_tx_id: String,
}
