//! LiveEvents in the native protocol (docs/protocol.md §9).

use serde::Serialize;
use serde_json::Value;

use super::wire;
use crate::domain::events::LiveEvent;
use crate::domain::events::live::StrikeWarning;
use crate::domain::live::board::Metrics;
use crate::domain::live::model::{Battle, CatalogItem, Scores, Stream, StreamMessage, StreamStatus, Throne};
use crate::domain::live::sanctions::SanctionAction;
use crate::domain::model::UserSummary;
use crate::domain::moderation::Severity;
use crate::domain::time::Timestamp;

native_events! {
    /// The owner changed the stream's status.
    "stream:status" => StreamStatusChanged<'a> [to "stream:{streamId}"],
    /// Slow mode changed (0: off).
    "stream:slow_mode" => StreamSlowMode<'a> [to "stream:{streamId}"],
    /// The number of distinct viewers changed (at most once per tick).
    "stream:viewers" => StreamViewers<'a> [to "stream:{streamId}"; coalesced],
    /// A viewer started watching (not sent above `max_viewers_notified` viewers).
    "stream:viewer_joined" => StreamViewerJoined<'a> [to "stream:{streamId}"],
    /// A viewer stopped watching (not sent above `max_viewers_notified` viewers).
    "stream:viewer_left" => StreamViewerLeft<'a> [to "stream:{streamId}"],
    /// The stream's figures, every `stream_metrics_interval_ms` while live; the last one,
    /// when the stream ends, is sent once cluster-wide with a `seq`.
    "metrics:update" => Metrics [to "stream:{streamId}"; coalesced],
    /// A chat message passed every check.
    "stream:chat" => StreamChat<'a> [to "stream:{streamId}"],
    /// The owner or a moderator deleted a chat message.
    "stream:chat_deleted" => StreamChatDeleted<'a> [to "stream:{streamId}"],
    /// Moderation blocked the author's message (a strike; maybe a mute).
    "moderation:warning" => ModerationWarning<'a> [to "user:{userId}"],
    /// The same as `moderation:warning`, for clients of the seed platform.
    "ai:warning" => AiWarning<'a> [to "user:{userId}"],
    /// The target of a stream mute or ban (or its lifting).
    "stream:moderated" => StreamModerated<'a> [to "user:{userId}"],
    /// A gift was paid.
    "gift:sent" => GiftSentEvent<'a> [to "stream:{streamId}"],
    /// The stream's top gifter changed.
    "throne:claimed" => ThroneClaimed<'a> [to "stream:{streamId}"],
    /// A viewer's lifetime coins to the creator crossed a tier.
    "og:changed" => OgChanged<'a> [to "stream:{streamId}", "user:{userId}"],
    /// A streamer invites this one's owner to a battle.
    "battle:invite" => BattleInvite<'a> [to "user:{userId}"],
    /// The battle was accepted and runs until `endsAt`.
    "battle:started" => BattleStarted<'a> [to "stream:{streamId}", "user:{userId}"],
    /// The invited owner declined.
    "battle:declined" => BattleDeclined<'a> [to "user:{userId}"],
    /// The inviting owner withdrew the invitation, or the battle was cancelled.
    "battle:cancelled" => BattleCancelled<'a> [to "user:{userId}"],
    /// The invitation ran out unanswered.
    "battle:expired" => BattleExpired<'a> [to "user:{userId}"],
    /// The battle ended: its winner and scores.
    "battle:ended" => BattleEnded<'a> [to "stream:{streamId}", "user:{userId}"],
    /// The scores changed (at most once per tick).
    "battle:update" => BattleUpdate<'a> [to "stream:{streamId}"; coalesced],
    /// The user's coin balance changed.
    "wallet:updated" => WalletUpdated [to "user:{userId}"],
}

/// `stream:status`.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StreamStatusChanged<'a> {
    pub stream_id: &'a str,
    pub status: StreamStatus,
    pub timestamp: Timestamp,
}

/// `stream:slow_mode`.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StreamSlowMode<'a> {
    pub stream_id: &'a str,
    /// Seconds between two messages of one viewer; 0 when off.
    pub seconds: u32,
}

/// `stream:viewers`.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StreamViewers<'a> {
    pub stream_id: &'a str,
    pub viewer_count: u64,
}

/// `stream:viewer_joined`: `viewerCount` counts the viewer in.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StreamViewerJoined<'a> {
    pub stream_id: &'a str,
    pub user: &'a UserSummary,
    pub viewer_count: u64,
}

/// `stream:viewer_left`: `viewerCount` no longer counts the viewer.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StreamViewerLeft<'a> {
    pub stream_id: &'a str,
    pub user_id: &'a str,
    pub viewer_count: u64,
}

/// `stream:chat`.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StreamChat<'a> {
    pub stream_id: &'a str,
    pub message: &'a StreamMessage,
}

/// `stream:chat_deleted`.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StreamChatDeleted<'a> {
    pub stream_id: &'a str,
    pub message_id: &'a str,
}

/// `moderation:warning` and `ai:warning`.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StrikeWarningPayload<'a> {
    pub stream_id: &'a str,
    pub reason: &'a str,
    pub severity: Severity,
    pub strikes: u32,
    pub strike_limit: u32,
    /// Set when this strike muted the author.
    pub muted_until: Option<Timestamp>,
}

/// `moderation:warning`.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(transparent)]
pub struct ModerationWarning<'a>(pub StrikeWarningPayload<'a>);

/// `ai:warning`: the payload of `moderation:warning`.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(transparent)]
pub struct AiWarning<'a>(pub StrikeWarningPayload<'a>);

/// `stream:moderated`.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StreamModerated<'a> {
    pub stream_id: &'a str,
    pub action: SanctionAction,
    pub until: Option<Timestamp>,
    pub reason: Option<&'a str>,
}

/// `gift:sent`.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "GiftSentPayload")]
pub struct GiftSentEvent<'a> {
    pub stream_id: &'a str,
    pub sender: &'a UserSummary,
    pub gift: &'a CatalogItem,
    pub count: i64,
    pub coins: i64,
    pub transaction_id: &'a str,
}

/// `throne:claimed`: `coins` is the new holder's total to this stream.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ThroneClaimed<'a> {
    pub stream_id: &'a str,
    pub user: &'a UserSummary,
    pub coins: i64,
    pub previous: Option<&'a Throne>,
}

/// `og:changed`.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OgChanged<'a> {
    pub creator_id: &'a str,
    pub stream_id: &'a str,
    pub user_id: &'a str,
    pub user: &'a UserSummary,
    pub tier: &'a str,
    pub previous_tier: Option<&'a str>,
}

/// `battle:invite`.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BattleInvite<'a> {
    pub battle: &'a Battle,
    pub from: &'a UserSummary,
    pub stream: &'a Stream,
}

/// `battle:started`.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BattleStarted<'a> {
    pub battle: &'a Battle,
    pub ends_at: Option<Timestamp>,
}

/// `battle:declined`.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BattleDeclined<'a> {
    pub battle_id: &'a str,
    pub battle: &'a Battle,
    /// The owner who declined.
    pub by: &'a str,
}

/// `battle:cancelled`.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BattleCancelled<'a> {
    pub battle_id: &'a str,
    pub battle: &'a Battle,
    /// The owner who withdrew; absent when the battle was cancelled otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<&'a str>,
}

/// `battle:expired`.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BattleExpired<'a> {
    pub battle_id: &'a str,
    pub battle: &'a Battle,
}

/// `battle:ended`: `winner` is the stream id of the side with more coins.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BattleEnded<'a> {
    pub battle_id: &'a str,
    pub winner: String,
    pub scores: Scores,
    pub battle: &'a Battle,
}

/// `battle:update`: scores by stream id.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BattleUpdate<'a> {
    pub battle_id: &'a str,
    pub scores: &'a Scores,
}

/// `wallet:updated`.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WalletUpdated {
    pub balance: i64,
}

/// The event name and payload of an event of this area.
pub fn encode(event: &LiveEvent) -> (&'static str, Value) {
    match event {
        LiveEvent::StatusChanged { stream_id, status, at } => wire(&StreamStatusChanged { stream_id, status: *status, timestamp: *at }),
        LiveEvent::SlowModeSet { stream_id, seconds } => wire(&StreamSlowMode { stream_id, seconds: *seconds }),
        LiveEvent::ViewersCounted { stream_id, viewer_count } => wire(&StreamViewers { stream_id, viewer_count: *viewer_count }),
        LiveEvent::ViewerJoined { stream_id, viewer, viewer_count } => {
            wire(&StreamViewerJoined { stream_id, user: viewer, viewer_count: *viewer_count })
        }
        LiveEvent::ViewerLeft { stream_id, user_id, viewer_count } => wire(&StreamViewerLeft { stream_id, user_id, viewer_count: *viewer_count }),
        LiveEvent::MetricsCounted { metrics } | LiveEvent::FinalMetrics { metrics } => wire(metrics),
        LiveEvent::ChatMessagePosted { message } => wire(&StreamChat { stream_id: &message.stream_id, message }),
        LiveEvent::ChatMessageDeleted { stream_id, message_id } => wire(&StreamChatDeleted { stream_id, message_id }),
        LiveEvent::StrikeWarned { warning } => wire(&ModerationWarning(strike_warning(warning))),
        LiveEvent::StrikeWarnedForSeedClients { warning } => wire(&AiWarning(strike_warning(warning))),
        LiveEvent::Moderated { stream_id, action, until, reason } => {
            wire(&StreamModerated { stream_id, action: *action, until: *until, reason: reason.as_deref() })
        }
        LiveEvent::GiftSent { stream_id, sender, gift, count, coins, transaction_id, .. } => {
            wire(&GiftSentEvent { stream_id, sender, gift, count: *count, coins: *coins, transaction_id })
        }
        LiveEvent::ThroneClaimed { stream_id, holder, coins, previous } => {
            wire(&ThroneClaimed { stream_id, user: holder, coins: *coins, previous: previous.as_ref() })
        }
        LiveEvent::OgChanged { creator_id, stream_id, viewer, tier, previous_tier } => wire(&OgChanged {
            creator_id,
            stream_id,
            user_id: &viewer.id,
            user: viewer,
            tier,
            previous_tier: previous_tier.as_deref(),
        }),
        LiveEvent::BattleInvited { battle, from, stream } => wire(&BattleInvite { battle, from, stream }),
        LiveEvent::BattleStarted { battle } => wire(&BattleStarted { battle, ends_at: battle.ends_at }),
        LiveEvent::BattleDeclined { battle, by } => wire(&BattleDeclined { battle_id: &battle.id, battle, by }),
        LiveEvent::BattleWithdrawn { battle, by } => wire(&BattleCancelled { battle_id: &battle.id, battle, by: Some(by) }),
        LiveEvent::BattleCancelled { battle } => wire(&BattleCancelled { battle_id: &battle.id, battle, by: None }),
        LiveEvent::BattleExpired { battle } => wire(&BattleExpired { battle_id: &battle.id, battle }),
        LiveEvent::BattleEnded { battle } => {
            wire(&BattleEnded { battle_id: &battle.id, winner: battle.winner(), scores: battle.scores(), battle })
        }
        LiveEvent::BattleScored { battle_id, scores } => wire(&BattleUpdate { battle_id, scores }),
        LiveEvent::WalletUpdated { balance } => wire(&WalletUpdated { balance: *balance }),
    }
}

/// `moderation:warning` and its `ai:warning` twin carry the same payload.
fn strike_warning(w: &StrikeWarning) -> StrikeWarningPayload<'_> {
    StrikeWarningPayload {
        stream_id: &w.stream_id,
        reason: &w.reason,
        severity: w.severity,
        strikes: w.strikes,
        strike_limit: w.strike_limit,
        muted_until: w.muted_until,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::live::board::Metrics;
    use crate::domain::live::model::{Battle, BattleSide, BattleStatus, StreamStatus};
    use crate::domain::live::sanctions::SanctionAction;
    use crate::domain::model::UserSummary;
    use crate::domain::moderation::Severity;
    use crate::domain::time::Timestamp;

    fn battle(status: BattleStatus) -> Battle {
        Battle {
            id: "b".into(),
            status,
            challenger: BattleSide { stream_id: "s1".into(), owner_id: "o1".into(), score: 3 },
            opponent: BattleSide { stream_id: "s2".into(), owner_id: "o2".into(), score: 1 },
            duration_sec: 60,
            created_at: Timestamp(0),
            invite_expires_at: Timestamp(0),
            started_at: None,
            ends_at: Some(Timestamp(60_000)),
            ended_at: None,
        }
    }

    #[test]
    fn stream_events_keep_their_documented_names_and_fields() {
        let at = Timestamp(1_700_000_000_000);
        let (name, payload) = encode(&LiveEvent::StatusChanged { stream_id: "s".into(), status: StreamStatus::Live, at });
        assert_eq!((name, payload), ("stream:status", json!({ "streamId": "s", "status": "live", "timestamp": at })));
        let moderated = LiveEvent::Moderated { stream_id: "s".into(), action: SanctionAction::Unban, until: None, reason: None };
        assert_eq!(encode(&moderated), ("stream:moderated", json!({ "streamId": "s", "action": "unban", "until": null, "reason": null })));
        let metrics = Metrics { stream_id: "s".into(), viewers: 2, peak_viewers: 3, likes: 4, gifts: 5, coins: 6, chat_per_min: 7 };
        let expected = json!({ "streamId": "s", "viewers": 2, "peakViewers": 3, "likes": 4, "gifts": 5, "coins": 6, "chatPerMin": 7 });
        assert_eq!(encode(&LiveEvent::MetricsCounted { metrics: metrics.clone() }), ("metrics:update", expected.clone()));
        assert_eq!(encode(&LiveEvent::FinalMetrics { metrics }), ("metrics:update", expected));
    }

    #[test]
    fn a_strike_warning_goes_out_under_both_names_with_one_payload() {
        let warning = StrikeWarning {
            stream_id: "s".into(),
            reason: "spam".into(),
            severity: Severity::High,
            strikes: 1,
            strike_limit: 3,
            muted_until: None,
        };
        let expected = json!({ "streamId": "s", "reason": "spam", "severity": "high", "strikes": 1, "strikeLimit": 3, "mutedUntil": null });
        assert_eq!(encode(&LiveEvent::StrikeWarned { warning: warning.clone() }), ("moderation:warning", expected.clone()));
        assert_eq!(encode(&LiveEvent::StrikeWarnedForSeedClients { warning }), ("ai:warning", expected));
    }

    #[test]
    fn standing_and_battle_events_keep_their_documented_fields() {
        let viewer = UserSummary::unknown("u");
        let og = LiveEvent::OgChanged {
            creator_id: "o".into(),
            stream_id: "s".into(),
            viewer: viewer.clone(),
            tier: "gold".into(),
            previous_tier: None,
        };
        assert_eq!(
            encode(&og),
            ("og:changed", json!({ "creatorId": "o", "streamId": "s", "userId": "u", "user": viewer, "tier": "gold", "previousTier": null }))
        );
        let claimed = LiveEvent::ThroneClaimed { stream_id: "s".into(), holder: viewer.clone(), coins: 9, previous: None };
        assert_eq!(encode(&claimed), ("throne:claimed", json!({ "streamId": "s", "user": viewer, "coins": 9, "previous": null })));
        let ended = battle(BattleStatus::Ended);
        let (name, payload) = encode(&LiveEvent::BattleEnded { battle: Box::new(ended.clone()) });
        assert_eq!(name, "battle:ended");
        assert_eq!(payload, json!({ "battleId": "b", "winner": "s1", "scores": { "s1": 3, "s2": 1 }, "battle": ended }));
        let pending = Box::new(battle(BattleStatus::Pending));
        assert_eq!(encode(&LiveEvent::BattleWithdrawn { battle: pending.clone(), by: "o1".into() }).0, "battle:cancelled");
        assert_eq!(encode(&LiveEvent::BattleCancelled { battle: pending.clone() }), ("battle:cancelled", json!({ "battleId": "b", "battle": pending })));
    }

    #[test]
    fn viewers_coming_and_going_are_told_one_by_one() {
        let viewer = UserSummary::unknown("u");
        let joined = LiveEvent::ViewerJoined { stream_id: "s".into(), viewer: viewer.clone(), viewer_count: 2 };
        assert_eq!(encode(&joined), ("stream:viewer_joined", json!({ "streamId": "s", "user": viewer, "viewerCount": 2 })));
        assert!(!joined.is_snapshot(), "each join is a fact of its own, not a count");
        let left = LiveEvent::ViewerLeft { stream_id: "s".into(), user_id: "u".into(), viewer_count: 1 };
        assert_eq!(encode(&left), ("stream:viewer_left", json!({ "streamId": "s", "userId": "u", "viewerCount": 1 })));
    }

    #[test]
    fn snapshots_are_the_per_tick_counts_and_scores() {
        assert!(LiveEvent::ViewersCounted { stream_id: "s".into(), viewer_count: 1 }.is_snapshot());
        assert!(LiveEvent::BattleScored { battle_id: "b".into(), scores: Default::default() }.is_snapshot());
        let metrics = Metrics { stream_id: "s".into(), viewers: 0, peak_viewers: 0, likes: 0, gifts: 0, coins: 0, chat_per_min: 0 };
        assert!(LiveEvent::MetricsCounted { metrics: metrics.clone() }.is_snapshot());
        assert!(!LiveEvent::FinalMetrics { metrics }.is_snapshot(), "a stream's last figures are told once, cluster-wide");
        assert!(!LiveEvent::WalletUpdated { balance: 1 }.is_snapshot());
    }
}
