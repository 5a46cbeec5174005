//! Standing: the throne of a stream (its top gifter) and a viewer's OG tier with a
//! creator (lifetime coins given, against the configured ladder), and the events
//! that announce a change of either.

use serde::Serialize;

use super::Shared;
use super::model::{Stream, Throne};
use super::rules::OgTiers;
use crate::domain::error::DomainResult;
use crate::domain::events::LiveEvent;
use crate::domain::model::UserSummary;
use crate::ports::publisher::{Audience, Room};

/// What a gift does to a stream's throne (its holder and the holder's coins).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ThroneChange {
    /// The sender did not pass the holder.
    Kept,
    /// The holder gave again: their coins follow their new total.
    Raised { coins: i64 },
    /// The sender took the throne, from the previous holder (`None`: it was empty).
    Taken { coins: i64, from: Option<(String, i64)> },
}

/// The takeover rule: the holder's coins follow their total; a challenger takes the
/// throne only by passing the holder (a tie keeps it where it is).
pub fn after_gift(holder: Option<&(String, i64)>, sender: &str, sender_total: i64) -> ThroneChange {
    match holder {
        Some((user, _)) if user == sender => ThroneChange::Raised { coins: sender_total },
        Some((_, coins)) if sender_total <= *coins => ThroneChange::Kept,
        _ => ThroneChange::Taken { coins: sender_total, from: holder.cloned() },
    }
}

/// A viewer's standing with a creator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct OgStanding {
    /// `None` below the first tier.
    pub tier: Option<String>,
    /// Lifetime coins given to the creator.
    pub coins: i64,
}

impl OgStanding {
    pub(crate) async fn of(shared: &Shared, creator_id: &str, user_id: &str) -> DomainResult<Self> {
        let coins = if creator_id == user_id { 0 } else { shared.streams.supporter_coins(creator_id, user_id).await? };
        Ok(Self { tier: shared.rules.og_tiers.tier_of(coins).map(str::to_owned), coins })
    }
}

/// The tier change caused by going from `before` to `after` coins, as
/// `(previous, new)`; `None` when the tier stays.
pub fn og_change(tiers: &OgTiers, before: i64, after: i64) -> Option<(Option<String>, String)> {
    let previous = tiers.tier_of(before);
    let now = tiers.tier_of(after)?;
    (previous != Some(now)).then(|| (previous.map(str::to_owned), now.to_owned()))
}

/// The current throne of a stream, with the holder's profile.
pub(crate) async fn throne_of(shared: &Shared, stream: &Stream) -> DomainResult<Option<Throne>> {
    match &stream.throne {
        None => Ok(None),
        Some((user_id, coins)) => Ok(Some(Throne { user: shared.users.summary(user_id).await?, coins: *coins })),
    }
}

/// Tells the stream room that `holder` took its throne from `previous` (if anyone).
pub(crate) async fn announce_throne(shared: &Shared, stream: &Stream, holder: &UserSummary, previous: Option<(String, i64)>) {
    let coins = stream.throne.as_ref().map_or(0, |(_, c)| *c);
    let previous = match previous {
        Some((user_id, coins)) => {
            let user = shared.users.summary(&user_id).await.unwrap_or_else(|_| UserSummary::unknown(&user_id));
            Some(Throne { user, coins })
        }
        None => None,
    };
    let claimed = LiveEvent::ThroneClaimed { stream_id: stream.id.clone(), holder: holder.clone(), coins, previous };
    shared.to_stream(&stream.id, claimed).await;
}

/// Tells the viewer and the stream room (which needs to know whose tier it is) that
/// the viewer's OG tier with the stream's owner changed.
pub(crate) async fn announce_og(shared: &Shared, stream: &Stream, viewer: &UserSummary, previous: Option<String>, tier: String) {
    let changed = LiveEvent::OgChanged {
        creator_id: stream.owner_id.clone(),
        stream_id: stream.id.clone(),
        viewer: viewer.clone(),
        tier,
        previous_tier: previous,
    };
    let to = Audience::Rooms(vec![Room::User(viewer.id.clone()), Room::Stream(stream.id.clone())]);
    shared.events.emit(to, changed.into()).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_challenger_takes_the_throne_only_by_passing_the_holder() {
        let held = ("queen".to_owned(), 100);
        assert_eq!(after_gift(None, "first", 5), ThroneChange::Taken { coins: 5, from: None });
        assert_eq!(after_gift(Some(&held), "queen", 130), ThroneChange::Raised { coins: 130 });
        assert_eq!(after_gift(Some(&held), "rival", 100), ThroneChange::Kept, "a tie keeps it");
        assert_eq!(after_gift(Some(&held), "rival", 99), ThroneChange::Kept);
        assert_eq!(after_gift(Some(&held), "rival", 101), ThroneChange::Taken { coins: 101, from: Some(held.clone()) });
    }

    #[test]
    fn a_tier_changes_only_when_a_threshold_is_crossed() {
        let tiers = OgTiers::default();
        assert_eq!(og_change(&tiers, 0, 99), None);
        assert_eq!(og_change(&tiers, 99, 100), Some((None, "bronze".into())));
        assert_eq!(og_change(&tiers, 100, 999), None);
        assert_eq!(og_change(&tiers, 500, 20_000), Some((Some("bronze".into()), "gold".into())));
    }
}
