//! LiveEvents in the native protocol (docs/protocol.md §9).

use serde_json::{Value, json};

use crate::domain::events::LiveEvent;
use crate::domain::events::live::StrikeWarning;

/// The event name and payload of an event of this area.
pub fn encode(event: &LiveEvent) -> (&'static str, Value) {
    match event {
        LiveEvent::StatusChanged { stream_id, status, at } => {
            ("stream:status", json!({ "streamId": stream_id, "status": status, "timestamp": at }))
        }
        LiveEvent::SlowModeSet { stream_id, seconds } => ("stream:slow_mode", json!({ "streamId": stream_id, "seconds": seconds })),
        LiveEvent::ViewersCounted { stream_id, viewer_count } => {
            ("stream:viewers", json!({ "streamId": stream_id, "viewerCount": viewer_count }))
        }
        LiveEvent::MetricsCounted { metrics } | LiveEvent::FinalMetrics { metrics } => ("metrics:update", json!(metrics)),
        LiveEvent::ChatMessagePosted { message } => ("stream:chat", json!({ "streamId": message.stream_id, "message": message })),
        LiveEvent::ChatMessageDeleted { stream_id, message_id } => {
            ("stream:chat_deleted", json!({ "streamId": stream_id, "messageId": message_id }))
        }
        LiveEvent::StrikeWarned { warning } => ("moderation:warning", strike_warning(warning)),
        LiveEvent::StrikeWarnedForSeedClients { warning } => ("ai:warning", strike_warning(warning)),
        LiveEvent::Moderated { stream_id, action, until, reason } => {
            ("stream:moderated", json!({ "streamId": stream_id, "action": action, "until": until, "reason": reason }))
        }
        LiveEvent::GiftSent { stream_id, sender, gift, count, coins, transaction_id } => (
            "gift:sent",
            json!({
                "streamId": stream_id,
                "sender": sender,
                "gift": gift,
                "count": count,
                "coins": coins,
                "transactionId": transaction_id,
            }),
        ),
        LiveEvent::ThroneClaimed { stream_id, holder, coins, previous } => {
            ("throne:claimed", json!({ "streamId": stream_id, "user": holder, "coins": coins, "previous": previous }))
        }
        LiveEvent::OgChanged { creator_id, stream_id, viewer, tier, previous_tier } => (
            "og:changed",
            json!({
                "creatorId": creator_id,
                "streamId": stream_id,
                "userId": viewer.id,
                "user": viewer,
                "tier": tier,
                "previousTier": previous_tier,
            }),
        ),
        LiveEvent::BattleInvited { battle, from, stream } => ("battle:invite", json!({ "battle": battle, "from": from, "stream": stream })),
        LiveEvent::BattleStarted { battle } => ("battle:started", json!({ "battle": battle, "endsAt": battle.ends_at })),
        LiveEvent::BattleDeclined { battle, by } => ("battle:declined", json!({ "battleId": battle.id, "battle": battle, "by": by })),
        LiveEvent::BattleWithdrawn { battle, by } => ("battle:cancelled", json!({ "battleId": battle.id, "battle": battle, "by": by })),
        LiveEvent::BattleCancelled { battle } => ("battle:cancelled", json!({ "battleId": battle.id, "battle": battle })),
        LiveEvent::BattleExpired { battle } => ("battle:expired", json!({ "battleId": battle.id, "battle": battle })),
        LiveEvent::BattleEnded { battle } => (
            "battle:ended",
            json!({ "battleId": battle.id, "winner": battle.winner(), "scores": battle.scores(), "battle": battle }),
        ),
        LiveEvent::BattleScored { battle_id, scores } => ("battle:update", json!({ "battleId": battle_id, "scores": scores })),
        LiveEvent::WalletUpdated { balance } => ("wallet:updated", json!({ "balance": balance })),
    }
}

/// `moderation:warning` and its `ai:warning` twin carry the same payload.
fn strike_warning(w: &StrikeWarning) -> Value {
    json!({
        "streamId": w.stream_id,
        "reason": w.reason,
        "severity": w.severity,
        "strikes": w.strikes,
        "strikeLimit": w.strike_limit,
        "mutedUntil": w.muted_until,
    })
}

#[cfg(test)]
mod tests {
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
    fn snapshots_are_the_per_tick_counts_and_scores() {
        assert!(LiveEvent::ViewersCounted { stream_id: "s".into(), viewer_count: 1 }.is_snapshot());
        assert!(LiveEvent::BattleScored { battle_id: "b".into(), scores: Default::default() }.is_snapshot());
        let metrics = Metrics { stream_id: "s".into(), viewers: 0, peak_viewers: 0, likes: 0, gifts: 0, coins: 0, chat_per_min: 0 };
        assert!(LiveEvent::MetricsCounted { metrics: metrics.clone() }.is_snapshot());
        assert!(!LiveEvent::FinalMetrics { metrics }.is_snapshot(), "a stream's last figures are told once, cluster-wide");
        assert!(!LiveEvent::WalletUpdated { balance: 1 }.is_snapshot());
    }
}
