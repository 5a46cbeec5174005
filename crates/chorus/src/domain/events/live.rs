//! Events of live streams: status, viewers, chat, likes, gifts, the throne, OG tiers, battles, wallets, metrics.

use crate::domain::live::board::Metrics;
use crate::domain::live::model::{Battle, CatalogItem, Scores, Stream, StreamMessage, StreamStatus, Throne};
use crate::domain::live::sanctions::SanctionAction;
use crate::domain::model::{UserId, UserSummary};
use crate::domain::moderation::Severity;
use crate::domain::time::Timestamp;

/// What a viewer whose stream chat message was blocked is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrikeWarning {
    pub stream_id: String,
    pub reason: String,
    pub severity: Severity,
    /// The viewer's blocked messages in the stream within the strike window.
    pub strikes: u32,
    pub strike_limit: u32,
    /// Set when this strike reached the limit and muted the viewer.
    pub muted_until: Option<Timestamp>,
}

/// Something that happened in a live stream, a battle or a wallet. (Battles and
/// streams are boxed: they would make every event as large as the largest.)
#[derive(Debug, Clone, PartialEq)]
pub enum LiveEvent {
    /// The owner moved a stream to `live`, `paused` or `ended`.
    StatusChanged { stream_id: String, status: StreamStatus, at: Timestamp },
    /// The owner or a moderator set slow mode (0 seconds turns it off).
    SlowModeSet { stream_id: String, seconds: u32 },
    /// Snapshot: how many watch a stream now.
    ViewersCounted { stream_id: String, viewer_count: u64 },
    /// A viewer started watching (their first connection in the stream room on this
    /// node), while the stream had at most `LiveRules::max_viewers_notified` viewers.
    ViewerJoined { stream_id: String, viewer: UserSummary, viewer_count: u64 },
    /// A viewer stopped watching (their last connection here left, was banned out or
    /// closed), while the stream had at most `LiveRules::max_viewers_notified` viewers.
    ViewerLeft { stream_id: String, user_id: UserId, viewer_count: u64 },
    /// Snapshot: a live stream's figures, each metrics period.
    MetricsCounted { metrics: Metrics },
    /// A stream's last figures, told once when it ended.
    FinalMetrics { metrics: Metrics },
    /// A chat message was stored in a stream.
    ChatMessagePosted { message: StreamMessage },
    /// The owner or a moderator hid a stream chat message.
    ChatMessageDeleted { stream_id: String, message_id: String },
    /// A blocked chat message gave its author a strike.
    StrikeWarned { warning: StrikeWarning },
    /// The same warning again, under the name clients of the seed platform listen to.
    StrikeWarnedForSeedClients { warning: StrikeWarning },
    /// A viewer was muted, banned, unmuted or unbanned in a stream.
    Moderated { stream_id: String, action: SanctionAction, until: Option<Timestamp>, reason: Option<String> },
    /// A paid gift reached a stream; `creator_id` owns the stream; `sender_balance` is
    /// what the sender has left (told to the app's backend, not to the stream).
    GiftSent {
        stream_id: String,
        creator_id: UserId,
        sender: UserSummary,
        gift: CatalogItem,
        count: i64,
        coins: i64,
        transaction_id: String,
        sender_balance: i64,
    },
    /// A gift made its sender the stream's top gifter; `previous` is who held it.
    ThroneClaimed { stream_id: String, holder: UserSummary, coins: i64, previous: Option<Throne> },
    /// A viewer's OG tier with a creator changed.
    OgChanged { creator_id: UserId, stream_id: String, viewer: UserSummary, tier: String, previous_tier: Option<String> },
    /// A stream's owner invited another stream's owner to a battle.
    BattleInvited { battle: Box<Battle>, from: UserSummary, stream: Box<Stream> },
    /// The invited owner accepted: the battle runs until its `ends_at`.
    BattleStarted { battle: Box<Battle> },
    /// The invited owner declined.
    BattleDeclined { battle: Box<Battle>, by: UserId },
    /// The challenger withdrew the invitation.
    BattleWithdrawn { battle: Box<Battle>, by: UserId },
    /// The invitation was cancelled because a stream ended.
    BattleCancelled { battle: Box<Battle> },
    /// The invitation ran out unanswered.
    BattleExpired { battle: Box<Battle> },
    /// A running battle ended (its time ran out or a stream ended).
    BattleEnded { battle: Box<Battle> },
    /// Snapshot: a running battle's scores.
    BattleScored { battle_id: String, scores: Scores },
    /// The app backend credited a wallet; `balance` is the new balance.
    WalletUpdated { balance: i64 },
}

impl LiveEvent {
    /// Whether the event is a coalesced snapshot (see `DomainEvent::is_snapshot`).
    pub fn is_snapshot(&self) -> bool {
        matches!(self, Self::ViewersCounted { .. } | Self::MetricsCounted { .. } | Self::BattleScored { .. })
    }
}
