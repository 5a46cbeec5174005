//! The limits of live streaming that deployments tune, the OG tier ladder, and the
//! checks of what clients send (counts, durations, ids) that need no storage.

use std::time::Duration;

use crate::config::Settings;
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::text::valid_id;

/// Limits and timings of live streams.
#[derive(Debug, Clone)]
pub struct LiveRules {
    /// Longest stream title, in characters.
    pub max_title_chars: usize,
    /// Longest stream chat message, in characters after trimming.
    pub max_chat_chars: usize,
    /// Longest slow mode an owner may set.
    pub max_slow_mode_sec: u32,
    /// Most likes one `stream:like` tap may carry.
    pub max_likes_per_tap: i64,
    /// Most gifts one `gift:send` may carry.
    pub max_gift_count: i64,
    /// Largest single wallet credit.
    pub max_credit: i64,
    /// Rooms one connection may watch (content and streams together).
    pub max_rooms_per_connection: usize,
    pub og_tiers: OgTiers,
    /// Period of `metrics:update` while live.
    pub metrics_interval: Duration,
    pub battle_min_sec: u32,
    pub battle_max_sec: u32,
    pub battle_invite_ttl: Duration,
    /// Blocked messages within `strike_window` that mute the sender in the stream.
    pub strike_limit: u32,
    pub strike_window: Duration,
    /// How long a strike mute lasts.
    pub strike_mute: Duration,
    /// Longest timed mute or ban a moderator may give.
    pub max_sanction: Duration,
    /// Largest page of the live stream list.
    pub max_page_size: u32,
    /// Largest audience that hears each viewer come and go (`stream:viewer_joined`,
    /// `stream:viewer_left`): every join tells every viewer, so a growing audience
    /// costs O(n²) frames; above this many viewers only `stream:viewers` tells.
    pub max_viewers_notified: u64,
}

impl Default for LiveRules {
    fn default() -> Self {
        Self {
            max_title_chars: 200,
            max_chat_chars: 500,
            max_slow_mode_sec: 3600,
            max_likes_per_tap: 100,
            max_gift_count: 1000,
            max_credit: 1_000_000_000,
            max_rooms_per_connection: 200,
            og_tiers: OgTiers::default(),
            metrics_interval: Duration::from_secs(2),
            battle_min_sec: 30,
            battle_max_sec: 600,
            battle_invite_ttl: Duration::from_secs(30),
            strike_limit: 3,
            strike_window: Duration::from_secs(3600),
            strike_mute: Duration::from_secs(600),
            max_sanction: Duration::from_secs(30 * 24 * 3600),
            max_page_size: 100,
            max_viewers_notified: 200,
        }
    }
}

impl LiveRules {
    /// The rules a node runs with; refuses inconsistent settings at startup.
    pub fn from_settings(s: &Settings) -> anyhow::Result<Self> {
        let (live, moderation) = (&s.live, &s.moderation);
        let (battle_min_sec, battle_max_sec) = (whole_secs(live.battle_min), whole_secs(live.battle_max));
        if battle_min_sec == 0 || battle_min_sec > battle_max_sec {
            anyhow::bail!("battle_min_secs must be positive and at most battle_max_secs");
        }
        if live.chat_max_chars == 0 || live.metrics_interval.is_zero() || live.battle_invite_ttl.is_zero() {
            anyhow::bail!("stream_chat_max_chars, stream_metrics_interval_ms and battle_invite_ttl_secs must be positive");
        }
        Ok(Self {
            max_chat_chars: live.chat_max_chars,
            max_rooms_per_connection: s.limits.max_rooms_per_socket,
            og_tiers: OgTiers::parse(&live.og_tiers).map_err(|e| anyhow::anyhow!("og_tiers: {e}"))?,
            metrics_interval: live.metrics_interval,
            battle_min_sec,
            battle_max_sec,
            battle_invite_ttl: live.battle_invite_ttl,
            strike_limit: moderation.strike_limit,
            strike_window: moderation.strike_window,
            strike_mute: moderation.mute,
            ..Self::default()
        })
    }

    /// Likes of one tap: absent is one; zero, negative or above the cap is refused.
    pub fn like_count(&self, count: Option<i64>) -> DomainResult<i64> {
        let n = count.unwrap_or(1);
        if !(1..=self.max_likes_per_tap).contains(&n) {
            return Err(DomainError::bad_request(format!("count must be 1-{}", self.max_likes_per_tap)));
        }
        Ok(n)
    }

    /// Gifts of one send: absent is one; zero, negative or above the cap is refused.
    pub fn gift_count(&self, count: Option<i64>) -> DomainResult<i64> {
        let n = count.unwrap_or(1);
        if !(1..=self.max_gift_count).contains(&n) {
            return Err(DomainError::bad_request(format!("count must be 1-{}", self.max_gift_count)));
        }
        Ok(n)
    }

    /// A battle length within the configured bounds.
    pub fn battle_duration(&self, seconds: Option<i64>) -> DomainResult<u32> {
        let n = seconds.unwrap_or(i64::from(self.battle_min_sec.max(300).min(self.battle_max_sec)));
        if n < i64::from(self.battle_min_sec) || n > i64::from(self.battle_max_sec) {
            return Err(DomainError::bad_request(format!(
                "durationSec must be {}-{}",
                self.battle_min_sec, self.battle_max_sec
            )));
        }
        Ok(n as u32)
    }

    /// A slow mode length: 0 (off) up to the cap.
    pub fn slow_mode(&self, seconds: i64) -> DomainResult<u32> {
        if !(0..=i64::from(self.max_slow_mode_sec)).contains(&seconds) {
            return Err(DomainError::bad_request(format!("seconds must be 0-{}", self.max_slow_mode_sec)));
        }
        Ok(seconds as u32)
    }

    /// A moderator's sanction length: absent means until lifted.
    pub fn sanction_length(&self, seconds: Option<i64>) -> DomainResult<Option<Duration>> {
        match seconds {
            None => Ok(None),
            Some(s) if s >= 1 && (s as u64) <= self.max_sanction.as_secs() => Ok(Some(Duration::from_secs(s as u64))),
            Some(_) => Err(DomainError::bad_request(format!("durationSec must be 1-{}", self.max_sanction.as_secs()))),
        }
    }
}

/// A battle limit in the whole seconds clients send (the settings are whole seconds).
fn whole_secs(d: Duration) -> u32 {
    u32::try_from(d.as_secs()).unwrap_or(u32::MAX)
}

/// A client's idempotency key (`clientTxId`, `reference`): an id of 1–128 characters.
pub fn idempotency_key<'a>(field: &str, key: &'a str) -> DomainResult<&'a str> {
    valid_id(field, key)
}

/// The OG ladder: tier names with the lifetime coins (from one viewer to one creator)
/// that reach them, in ascending order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OgTiers(Vec<(String, i64)>);

impl Default for OgTiers {
    fn default() -> Self {
        Self(vec![("bronze".into(), 100), ("silver".into(), 1_000), ("gold".into(), 10_000)])
    }
}

impl OgTiers {
    /// Parses `bronze:100,silver:1000,gold:10000`; thresholds must rise strictly.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut tiers: Vec<(String, i64)> = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, coins) = part.split_once(':').ok_or_else(|| format!("`{part}` is not name:coins"))?;
            let name = name.trim();
            if name.is_empty() || name.len() > 32 || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
                return Err(format!("tier name `{name}` must be 1-32 letters, digits, _ or -"));
            }
            let coins: i64 = coins.trim().parse().map_err(|_| format!("`{part}`: coins must be an integer"))?;
            if coins <= 0 || tiers.last().is_some_and(|(_, prev)| coins <= *prev) {
                return Err("thresholds must be positive and strictly rising".into());
            }
            tiers.push((name.to_owned(), coins));
        }
        Ok(Self(tiers))
    }

    /// The tier reached with `coins`, if any.
    pub fn tier_of(&self, coins: i64) -> Option<&str> {
        self.0.iter().rev().find(|(_, threshold)| coins >= *threshold).map(|(name, _)| name.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn og_tiers_parse_and_rank_coins() {
        let tiers = OgTiers::parse("bronze:100, silver:1000,gold:10000").unwrap();
        assert_eq!(tiers, OgTiers::default());
        assert_eq!(tiers.tier_of(99), None);
        assert_eq!(tiers.tier_of(100), Some("bronze"));
        assert_eq!(tiers.tier_of(9_999), Some("silver"));
        assert_eq!(tiers.tier_of(1_000_000), Some("gold"));
        assert!(OgTiers::parse("gold:100,silver:50").is_err());
        assert!(OgTiers::parse("bronze").is_err());
        assert!(OgTiers::parse("a b:1").is_err());
        assert_eq!(OgTiers::parse("").unwrap().tier_of(1_000_000), None);
    }

    #[test]
    fn counts_must_be_positive_and_bounded() {
        let rules = LiveRules::default();
        assert_eq!(rules.gift_count(None), Ok(1));
        assert_eq!(rules.gift_count(Some(1000)), Ok(1000));
        for bad in [0, -1, 1001, i64::MAX] {
            assert!(rules.gift_count(Some(bad)).is_err(), "{bad}");
        }
        assert!(rules.like_count(Some(101)).is_err());
        assert!(rules.battle_duration(Some(29)).is_err());
        assert!(rules.battle_duration(Some(601)).is_err());
        assert_eq!(rules.battle_duration(Some(30)), Ok(30));
        assert!(rules.sanction_length(Some(0)).is_err());
        assert_eq!(rules.sanction_length(None), Ok(None));
    }
}
