//! The nouns of live streaming and their wire shapes (PROTOCOL.md §9): streams, chat
//! messages, catalog items, coin transactions, battles and the throne.

use std::collections::BTreeMap;

use serde::{Serialize, Serializer};

use crate::domain::model::UserSummary;
use crate::domain::time::Timestamp;

/// Where a stream is in its life. A new stream is `idle` until its owner goes live;
/// `ended` is final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StreamStatus {
    Idle,
    Live,
    Paused,
    Ended,
}

impl StreamStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::Live => "live",
            Self::Paused => "paused",
            Self::Ended => "ended",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "idle" => Self::Idle,
            "live" => Self::Live,
            "paused" => Self::Paused,
            "ended" => Self::Ended,
            _ => return None,
        })
    }
}

/// A stream as stored, and as clients see it (internal fields are not serialized).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Stream {
    pub id: String,
    pub owner_id: String,
    pub title: String,
    pub status: StreamStatus,
    /// Slow mode: a viewer may send one chat message per this many seconds (0 = off).
    pub slow_mode_sec: u32,
    pub likes: i64,
    pub gifts: i64,
    pub coins: i64,
    pub peak_viewers: i64,
    pub created_at: Timestamp,
    pub started_at: Option<Timestamp>,
    pub ended_at: Option<Timestamp>,
    /// The top gifter and their coins to this stream.
    #[serde(skip)]
    pub throne: Option<(String, i64)>,
    /// The pending or running battle this stream is in (may be stale once it ended).
    #[serde(skip)]
    pub battle_id: Option<String>,
}

/// A stream chat message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StreamMessage {
    pub id: String,
    pub stream_id: String,
    pub user: UserSummary,
    pub text: String,
    pub created_at: Timestamp,
}

/// What a catalog item is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, Default, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    /// Sent to a stream with `gift:send`.
    #[default]
    Gift,
    /// Bought for a battle side with `battle:boost`.
    Boost,
}

/// One entry of the gift catalog: `{id, name, coins}`, boosts with `kind` and `points`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct CatalogItem {
    pub id: String,
    pub name: String,
    pub coins: i64,
    pub kind: ItemKind,
    /// Battle points a boost adds to its side.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub points: Option<i64>,
}

/// What moved coins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TxKind {
    /// The app backend added coins to a wallet.
    Credit,
    /// A viewer sent a gift to a stream.
    Gift,
    /// A viewer bought a battle boost.
    Boost,
}

impl TxKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Credit => "credit",
            Self::Gift => "gift",
            Self::Boost => "boost",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "credit" => Self::Credit,
            "gift" => Self::Gift,
            "boost" => Self::Boost,
            _ => return None,
        })
    }
}

/// A row of the coin ledger, as clients see it (`transaction` in acks).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Transaction {
    pub id: String,
    pub kind: TxKind,
    /// Coins moved (always positive).
    pub amount: i64,
    /// The payer's balance right after this transaction (the credited user's for credits).
    pub balance_after: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recipient_id: Option<String>,
    /// The gifted stream, or the side a boost supported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_id: Option<String>,
    /// The gift or boost id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_id: Option<String>,
    pub count: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub battle_id: Option<String>,
    /// `clientTxId` of gifts and boosts, `reference` of credits.
    pub reference: String,
    pub created_at: Timestamp,
}

/// A wallet: spendable coins and the coins earned from gifts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, schemars::JsonSchema)]
pub struct WalletState {
    pub balance: i64,
    pub earnings: i64,
}

/// Where a battle is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BattleStatus {
    /// Invited, waiting for the opponent.
    Pending,
    Active,
    Ended,
    Declined,
    /// The invitation ran out unanswered.
    Expired,
    /// A stream ended or the challenger withdrew before it started.
    Cancelled,
}

impl BattleStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
            Self::Ended => "ended",
            Self::Declined => "declined",
            Self::Expired => "expired",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => Self::Pending,
            "active" => Self::Active,
            "ended" => Self::Ended,
            "declined" => Self::Declined,
            "expired" => Self::Expired,
            "cancelled" => Self::Cancelled,
            _ => return None,
        })
    }
}

/// One side of a battle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BattleSide {
    pub stream_id: String,
    pub owner_id: String,
    pub score: i64,
}

/// A battle between two live streams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Battle {
    pub id: String,
    pub status: BattleStatus,
    /// The stream whose owner invited.
    pub challenger: BattleSide,
    pub opponent: BattleSide,
    pub duration_sec: u32,
    pub created_at: Timestamp,
    pub invite_expires_at: Timestamp,
    pub started_at: Option<Timestamp>,
    pub ends_at: Option<Timestamp>,
    pub ended_at: Option<Timestamp>,
}

/// Battle scores by stream id.
pub type Scores = BTreeMap<String, i64>;

impl Battle {
    /// Scores keyed by stream id.
    pub fn scores(&self) -> Scores {
        BTreeMap::from([
            (self.challenger.stream_id.clone(), self.challenger.score),
            (self.opponent.stream_id.clone(), self.opponent.score),
        ])
    }

    /// The winning stream id, or `"tie"`.
    pub fn winner(&self) -> String {
        match self.challenger.score.cmp(&self.opponent.score) {
            std::cmp::Ordering::Greater => self.challenger.stream_id.clone(),
            std::cmp::Ordering::Less => self.opponent.stream_id.clone(),
            std::cmp::Ordering::Equal => "tie".to_owned(),
        }
    }

    /// The side a stream id names.
    pub fn side(&self, stream_id: &str) -> Option<&BattleSide> {
        [&self.challenger, &self.opponent].into_iter().find(|s| s.stream_id == stream_id)
    }

    pub fn stream_ids(&self) -> [&str; 2] {
        [&self.challenger.stream_id, &self.opponent.stream_id]
    }

    pub fn owner_ids(&self) -> [&str; 2] {
        [&self.challenger.owner_id, &self.opponent.owner_id]
    }
}

/// The wire shape of a battle: both sides, their scores by stream id, and the winner
/// once it ended.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "Battle")]
struct BattleWire<'a> {
    id: &'a str,
    status: BattleStatus,
    challenger: &'a BattleSide,
    opponent: &'a BattleSide,
    scores: Scores,
    duration_sec: u32,
    created_at: Timestamp,
    invite_expires_at: Timestamp,
    started_at: Option<Timestamp>,
    ends_at: Option<Timestamp>,
    ended_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    winner: Option<String>,
}

impl schemars::JsonSchema for Battle {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        BattleWire::schema_name()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        BattleWire::json_schema(generator)
    }
}

impl Serialize for Battle {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        BattleWire {
            id: &self.id,
            status: self.status,
            challenger: &self.challenger,
            opponent: &self.opponent,
            scores: self.scores(),
            duration_sec: self.duration_sec,
            created_at: self.created_at,
            invite_expires_at: self.invite_expires_at,
            started_at: self.started_at,
            ends_at: self.ends_at,
            ended_at: self.ended_at,
            winner: (self.status == BattleStatus::Ended).then(|| self.winner()),
        }
        .serialize(s)
    }
}

/// The top gifter of a stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Throne {
    pub user: UserSummary,
    pub coins: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn battle(a: i64, b: i64) -> Battle {
        Battle {
            id: "b".into(),
            status: BattleStatus::Ended,
            challenger: BattleSide { stream_id: "s1".into(), owner_id: "o1".into(), score: a },
            opponent: BattleSide { stream_id: "s2".into(), owner_id: "o2".into(), score: b },
            duration_sec: 60,
            created_at: Timestamp(0),
            invite_expires_at: Timestamp(0),
            started_at: None,
            ends_at: None,
            ended_at: None,
        }
    }

    #[test]
    fn the_higher_score_wins_and_equal_scores_tie() {
        assert_eq!(battle(5, 3).winner(), "s1");
        assert_eq!(battle(3, 5).winner(), "s2");
        assert_eq!(battle(4, 4).winner(), "tie");
        let wire = serde_json::to_value(battle(1, 2)).unwrap();
        assert_eq!((wire["scores"]["s1"].as_i64(), wire["scores"]["s2"].as_i64()), (Some(1), Some(2)));
        assert_eq!(wire["winner"], "s2");
    }

    #[test]
    fn statuses_round_trip_through_their_names() {
        for s in [StreamStatus::Idle, StreamStatus::Live, StreamStatus::Paused, StreamStatus::Ended] {
            assert_eq!(StreamStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(StreamStatus::parse("LIVE"), None);
    }
}
