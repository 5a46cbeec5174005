//! Live location (PROTOCOL.md §10): a chat member shares positions with the room's
//! members only, throttled per user (one bucket in the limits port, so the throttle
//! holds whichever node and connection a user shares from); an optional `liveUntil`
//! ends the sharing, after which the members are told it stopped.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use super::chat::model::Location;
use super::chat::rules::valid_location;
use super::model::Actor;
use super::error::{DomainError, DomainResult};
use super::events::SocialEvent;
use super::text::valid_id;
use super::time::Timestamp;
use crate::ports::chat_store::ChatStore;
use crate::ports::events::EventSink;
use crate::ports::limits::{LimitClass, RateLimiter};
use crate::ports::publisher::{Audience, Room};

/// Longest a live share may last from now.
const MAX_LIVE: Duration = Duration::from_secs(8 * 3600);

/// A position as a client reports it.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PositionInput {
    pub room_id: String,
    pub lat: f64,
    pub lng: f64,
    pub accuracy: Option<f64>,
    /// RFC 3339; sharing stops then.
    pub live_until: Option<String>,
}

/// The `location:share` ack: when the live share ends (null for a single position).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PositionShared {
    pub live_until: Option<Timestamp>,
}

/// Active live shares: (user, room) → end and the members told.
type LiveShares = HashMap<(String, String), (Timestamp, Vec<String>)>;

/// Live location sharing.
pub struct LocationSharing {
    chat: Arc<dyn ChatStore>,
    /// Where positions and ended shares go.
    events: Arc<dyn EventSink>,
    /// The throttle (`LimitClass::Location`, per user).
    limits: Arc<dyn RateLimiter>,
    live: Mutex<LiveShares>,
}

impl LocationSharing {
    pub fn new(chat: Arc<dyn ChatStore>, events: Arc<dyn EventSink>, limits: Arc<dyn RateLimiter>) -> Self {
        Self { chat, events, limits, live: Mutex::new(LiveShares::new()) }
    }

    /// `location:share`: relays one position to the room's members.
    pub async fn share(&self, actor: &Actor, input: PositionInput) -> DomainResult<PositionShared> {
        let room_id = valid_id("roomId", &input.room_id)?.to_owned();
        let location = valid_location(Location { lat: input.lat, lng: input.lng })?;
        if let Some(a) = input.accuracy
            && (!a.is_finite() || !(0.0..=100_000.0).contains(&a)) {
                return Err(DomainError::bad_request("accuracy must be 0-100000 metres"));
            }
        let now = Timestamp::now();
        let live_until = match input.live_until.as_deref() {
            None => None,
            Some(text) => {
                let until = Timestamp::parse_rfc3339(text).ok_or_else(|| DomainError::bad_request("liveUntil must be an RFC 3339 time"))?;
                if until <= now || until.millis() - now.millis() > MAX_LIVE.as_millis() as i64 {
                    return Err(DomainError::bad_request("liveUntil must be in the next 8 hours"));
                }
                Some(until)
            }
        };
        let me = actor.identity.user_id.clone();
        let context = self
            .chat
            .send_context(&room_id, &me)
            .await?
            .ok_or_else(|| DomainError::not_found("unknown room"))?;
        if !context.member_ids.contains(&me) {
            return Err(DomainError::forbidden("only members share their location in a room"));
        }
        let key = (me.clone(), room_id.clone());
        if let Some((end, _)) = self.live.lock().get(&key)
            && *end <= now && live_until.is_none() {
                return Err(DomainError::conflict("live sharing in this room has ended"));
            }
        self.limits.check(LimitClass::Location, &me).await.map_err(DomainError::rate_limited)?;
        if let Some(until) = live_until {
            self.live.lock().insert(key, (until, context.member_ids.clone()));
        }
        let shared = SocialEvent::LocationShared { room_id, user_id: me, location, accuracy: input.accuracy, at: now, live_until };
        let rooms = context.member_ids.into_iter().map(Room::User).collect();
        self.events.emit(Audience::Rooms(rooms), shared.into()).await;
        Ok(PositionShared { live_until })
    }

    /// `location:stop`: ends a live share now.
    pub async fn stop(&self, actor: &Actor, room_id: &str) -> DomainResult<()> {
        let room_id = valid_id("roomId", room_id)?;
        let ended = self.live.lock().remove(&(actor.identity.user_id.clone(), room_id.to_owned()));
        if let Some((_, members)) = ended {
            self.announce_stop(&actor.identity.user_id, room_id, members).await;
        }
        Ok(())
    }

    /// Ends the live shares whose time ran out (called by the tick task).
    pub async fn expire(&self) {
        let now = Timestamp::now();
        let ended: Vec<((String, String), Vec<String>)> = {
            let mut live = self.live.lock();
            let due: Vec<(String, String)> = live.iter().filter(|(_, (end, _))| *end <= now).map(|(k, _)| k.clone()).collect();
            due.into_iter().filter_map(|k| live.remove(&k).map(|(_, members)| (k, members))).collect()
        };
        for ((user, room), members) in ended {
            self.announce_stop(&user, &room, members).await;
        }
    }

    async fn announce_stop(&self, user: &str, room_id: &str, members: Vec<String>) {
        let rooms = members.into_iter().map(Room::User).collect();
        let stopped = SocialEvent::LocationStopped { room_id: room_id.to_owned(), user_id: user.to_owned(), at: Timestamp::now() };
        self.events.emit(Audience::Rooms(rooms), stopped.into()).await;
    }
}
