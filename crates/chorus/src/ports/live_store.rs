//! Durable storage of live streaming: streams, their chat, sanctions and moderation
//! strikes; battles; wallets and the coin ledger. Every coin movement is one
//! transaction that either happens whole or not at all.

use async_trait::async_trait;

use crate::domain::live::model::{Battle, BattleStatus, Stream, StreamStatus, Transaction, WalletState};
use crate::domain::time::Timestamp;
use crate::ports::outbox::{Tells, Told};
use crate::ports::store::StoreResult;

/// A stream to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewStream {
    pub id: String,
    pub owner_id: String,
    pub title: String,
    pub at: Timestamp,
}

/// A chat message to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewStreamMessage {
    pub id: String,
    pub stream_id: String,
    pub user_id: String,
    pub text: String,
    pub at: Timestamp,
}

/// What a sanction stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SanctionKind {
    /// May watch, may not chat.
    Mute,
    /// May neither join nor chat.
    Ban,
}

impl SanctionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mute => "mute",
            Self::Ban => "ban",
        }
    }
}

/// A mute or ban in one stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSanction {
    pub stream_id: String,
    pub user_id: String,
    pub kind: SanctionKind,
    /// `None`: until lifted.
    pub until: Option<Timestamp>,
    pub reason: Option<String>,
    /// Who imposed it (`None` for the server API or automatic strikes).
    pub by: Option<String>,
    pub at: Timestamp,
}

/// The sanctions in force on one user in one stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sanctions {
    /// `Some(None)`: muted until lifted; `Some(Some(t))`: muted until `t`.
    pub muted: Option<Option<Timestamp>>,
    pub banned: Option<Option<Timestamp>>,
}

/// A blocked text counted against its author in one scope (a stream).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewStrike {
    pub id: String,
    pub scope: String,
    pub user_id: String,
    pub reason: String,
    pub severity: String,
    pub at: Timestamp,
    /// Strikes older than this no longer count.
    pub window_start: Timestamp,
    /// Reaching this many strikes mutes the user in the scope until `mute_until`.
    pub limit: u32,
    pub mute_until: Timestamp,
}

/// Strikes after recording one, and the mute it caused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StrikeOutcome {
    pub strikes: u32,
    pub muted_until: Option<Timestamp>,
}

/// Streams, their chat and their sanctions.
#[async_trait]
pub trait StreamStore: Send + Sync {
    async fn create_stream(&self, stream: &NewStream) -> StoreResult<Stream>;
    async fn stream(&self, id: &str) -> StoreResult<Option<Stream>>;
    /// Streams in one of `statuses`, newest first.
    async fn streams_with_status(&self, statuses: &[StreamStatus], limit: u32) -> StoreResult<Vec<Stream>>;
    /// Moves a stream that has not ended to `status`; `None` when unknown or ended.
    async fn set_status(&self, id: &str, status: StreamStatus, at: Timestamp, tells: Tells<Option<Stream>>) -> StoreResult<Told<Option<Stream>>>;
    /// `None` when unknown or ended.
    async fn set_slow_mode(&self, id: &str, seconds: u32) -> StoreResult<Option<Stream>>;
    /// Adds likes to a stream that has not ended; returns the total, `None` when unknown or ended.
    async fn add_likes(&self, id: &str, n: i64) -> StoreResult<Option<i64>>;
    /// Raises the stored peak viewer count (never lowers it).
    async fn raise_peak(&self, id: &str, peak: i64) -> StoreResult<()>;
    /// Stores a message unless the stream is unknown or ended (then `false`).
    async fn insert_message(&self, message: &NewStreamMessage) -> StoreResult<bool>;
    /// Hides a message of that stream; `false` when there is none to hide.
    async fn delete_message(&self, stream_id: &str, message_id: &str, by: &str, at: Timestamp) -> StoreResult<bool>;
    /// The sanctions on a user in a stream in force at `now`.
    async fn sanctions(&self, stream_id: &str, user_id: &str, now: Timestamp) -> StoreResult<Sanctions>;
    /// Imposes (or replaces) a sanction.
    async fn sanction(&self, sanction: &NewSanction, tells: Tells<()>) -> StoreResult<Told<()>>;
    /// Lifts a sanction; `false` when there was none.
    async fn lift_sanction(&self, stream_id: &str, user_id: &str, kind: SanctionKind) -> StoreResult<bool>;
    /// Records a strike, counts the strikes in the window and mutes at the limit.
    async fn record_strike(&self, strike: &NewStrike) -> StoreResult<StrikeOutcome>;
    /// Takes a viewer's slow-mode slot in a stream at `at`: `None` when their last
    /// message that passed was at least `every_ms` earlier (the slot is now taken),
    /// else when it frees up. Atomic, so nodes share one slot per viewer.
    async fn take_slow_mode_slot(&self, stream_id: &str, user_id: &str, at: Timestamp, every_ms: i64) -> StoreResult<Option<Timestamp>>;
    /// Lifetime coins `user_id` gave `creator_id`.
    async fn supporter_coins(&self, creator_id: &str, user_id: &str) -> StoreResult<i64>;
}

/// A battle invitation to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBattle {
    pub id: String,
    pub challenger_stream: String,
    pub challenger_owner: String,
    pub opponent_stream: String,
    pub opponent_owner: String,
    pub duration_sec: u32,
    pub at: Timestamp,
    pub invite_expires_at: Timestamp,
}

/// Battles between two streams.
#[async_trait]
pub trait BattleStore: Send + Sync {
    /// Reserves both streams (live, in no other battle) and stores the invitation;
    /// `None` when a stream is not live or already in a battle.
    async fn create_battle(&self, battle: &NewBattle) -> StoreResult<Option<Battle>>;
    async fn battle(&self, id: &str) -> StoreResult<Option<Battle>>;
    /// Pending and active battles (timers after a restart).
    async fn open_battles(&self) -> StoreResult<Vec<Battle>>;
    /// Starts a pending, unexpired battle whose streams are both live; `None` otherwise.
    async fn accept_battle(&self, id: &str, at: Timestamp, ends_at: Timestamp) -> StoreResult<Option<Battle>>;
    /// Closes a pending battle as declined, expired or cancelled; `None` unless pending.
    async fn close_pending(&self, id: &str, status: BattleStatus, at: Timestamp) -> StoreResult<Option<Battle>>;
    /// Ends an active battle; `None` unless active. Releases both streams.
    async fn end_battle(&self, id: &str, at: Timestamp, tells: Tells<Option<Battle>>) -> StoreResult<Told<Option<Battle>>>;
}

/// A wallet credit by the app backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditOrder {
    pub tx_id: String,
    pub user_id: String,
    pub amount: i64,
    pub reference: String,
    pub at: Timestamp,
}

/// The outcome of a credit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreditOutcome {
    Applied(Transaction),
    /// The reference was used before: the stored transaction, unchanged.
    Replay(Transaction),
}

/// A gift to pay for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GiftOrder {
    pub tx_id: String,
    pub sender_id: String,
    pub stream_id: String,
    pub gift_id: String,
    pub count: i64,
    /// Total coins (unit price × count).
    pub coins: i64,
    pub client_tx_id: String,
    pub at: Timestamp,
}

/// Everything one gift changed, read inside its transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GiftApplied {
    pub transaction: Transaction,
    /// The sender's balance after paying.
    pub balance: i64,
    pub stream: Stream,
    /// The throne before this gift (holder, coins), when this gift changed the holder.
    pub throne_taken_from: Option<Option<(String, i64)>>,
    /// The sender's lifetime coins to this creator before and after.
    pub supporter_before: i64,
    pub supporter_after: i64,
    /// The running battle the gift scored in, with its new scores.
    pub battle: Option<Battle>,
}

/// The outcome of a gift.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GiftOutcome {
    Applied(Box<GiftApplied>),
    /// The `clientTxId` was used before: the stored transaction, nothing changed.
    Replay(Transaction),
    /// The balance does not cover it; nothing changed.
    Insufficient,
    /// The stream is unknown or ended; nothing changed.
    StreamClosed,
}

/// A battle boost to pay for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoostOrder {
    pub tx_id: String,
    pub sender_id: String,
    pub battle_id: String,
    /// The stream whose side the boost supports.
    pub side_stream_id: String,
    pub boost_id: String,
    pub points: i64,
    pub coins: i64,
    pub client_tx_id: String,
    pub at: Timestamp,
}

/// What one boost changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoostApplied {
    pub transaction: Transaction,
    /// The sender's balance after paying.
    pub balance: i64,
    /// The battle with its new scores.
    pub battle: Battle,
}

/// The outcome of a boost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BoostOutcome {
    Applied(Box<BoostApplied>),
    Replay(Transaction),
    Insufficient,
    /// The battle is unknown or not running; nothing changed.
    BattleClosed,
}

/// Wallets, the ledger, gifts and boosts.
#[async_trait]
pub trait WalletStore: Send + Sync {
    async fn wallet(&self, user_id: &str) -> StoreResult<WalletState>;
    /// Adds coins once per `(user, reference)`.
    async fn credit(&self, order: &CreditOrder) -> StoreResult<CreditOutcome>;
    /// Debits the sender and credits the creator's earnings in one transaction with a
    /// ledger row, the stream's totals, the throne, the supporter total and any battle
    /// score. A balance never goes negative, whatever runs concurrently.
    async fn send_gift(&self, order: &GiftOrder, tells: Tells<GiftOutcome>) -> StoreResult<Told<GiftOutcome>>;
    /// Debits the sender, adds the points to the side and credits its owner's
    /// earnings in one transaction with a ledger row.
    async fn boost(&self, order: &BoostOrder) -> StoreResult<BoostOutcome>;
}
