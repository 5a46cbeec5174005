//! Commands of live streams (PROTOCOL.md §9): `stream:*`, `gift:*`, `battle:*` and
//! `wallet:*`. Counts are read as integers of any sign so that zero and negative
//! values get the service's own clear `bad_request`.

use serde::Deserialize;

use super::payload::NoArguments;

command_table! {
    /// A command of live streams, gifts, battles or the wallet.
    pub enum LiveCommand, kind LiveKind {
        /// Watch a stream.
        "stream:join" => Join(StreamRef) [Joins, joins_room, guests],
        /// Stop watching a stream.
        "stream:leave" => Leave(StreamRef) [Commands, guests],
        /// Set a stream's status.
        "stream:status" => SetStatus(SetStatus) [Commands],
        /// Post to a stream's chat.
        "stream:chat" => Chat(Chat) [Chat, posts_text],
        /// Delete a message of a stream's chat.
        "stream:chat_delete" => DeleteChat(ChatDelete) [Commands],
        /// Send likes to a stream.
        "stream:like" => Like(Like) [Likes],
        /// Slow a stream's chat down.
        "stream:slow_mode" => SlowMode(SlowMode) [Commands],
        /// Mute or ban a viewer of a stream, or lift it.
        "stream:moderate" => Moderate(Moderate) [Commands],
        /// Send a gift.
        "gift:send" => SendGift(SendGift) [Commands],
        /// The gift catalog.
        "gift:catalog" => GiftCatalog(NoArguments) [Commands],
        /// One's wallet balance.
        "wallet:balance" => WalletBalance(NoArguments) [Commands],
        /// Challenge another stream to a battle.
        "battle:start" => StartBattle(StartBattle) [Commands],
        /// Accept a battle.
        "battle:accept" => AcceptBattle(BattleRef) [Commands],
        /// Decline a battle.
        "battle:decline" => DeclineBattle(BattleRef) [Commands],
        /// A battle's state.
        "battle:get" => GetBattle(BattleRef) [Commands],
        /// Boost a side of a battle.
        "battle:boost" => Boost(Boost) [Commands],
    }
}

/// A stream.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamRef {
    pub stream_id: String,
}

/// `stream:status`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SetStatus {
    pub stream_id: String,
    pub status: String,
}

/// `stream:chat`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Chat {
    pub stream_id: String,
    pub text: String,
}

/// `stream:chat_delete`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatDelete {
    pub stream_id: String,
    pub message_id: String,
}

/// `stream:like`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Like {
    pub stream_id: String,
    pub count: Option<i64>,
}

/// `stream:slow_mode`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SlowMode {
    pub stream_id: String,
    pub seconds: i64,
}

/// `stream:moderate`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Moderate {
    pub stream_id: String,
    pub user_id: String,
    pub action: String,
    pub duration_sec: Option<i64>,
    pub reason: Option<String>,
}

/// `gift:send`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendGift {
    pub stream_id: String,
    pub gift_id: String,
    pub count: Option<i64>,
    /// The client's idempotency key.
    pub client_tx_id: String,
}

/// `battle:start`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StartBattle {
    pub stream_id: String,
    pub opponent_stream_id: String,
    pub duration_sec: Option<i64>,
}

/// A battle.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BattleRef {
    pub battle_id: String,
}

/// `battle:boost`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Boost {
    pub battle_id: String,
    pub side: String,
    pub boost_id: String,
    /// The client's idempotency key.
    pub client_tx_id: String,
}
