//! Presence (PROTOCOL.md §6): online while any socket is connected; offline only after
//! the last one closed and the grace period passed with no reconnect; `invisible`
//! reads as offline to others; only followers and chat partners may watch.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use serde::Serialize;
use serde_json::Value;

use super::error::{DomainError, DomainResult};
use super::events::SocialEvent;
use super::text::valid_id;
use super::time::Timestamp;
use crate::ports::cluster::{PresenceState, PresenceStatus, SessionRegistry};
use crate::ports::events::EventSink;
use crate::ports::publisher::{Audience, ConnectionId, EventPublisher, Room};
use crate::ports::social_store::{LastSeenStore, Relationships};

/// Most users one subscription call may name.
pub const MAX_SUBSCRIBE: usize = 500;
/// Most users one connection may watch in all.
pub const MAX_WATCHED_PER_CONNECTION: usize = 2000;

/// A status as others see it: `invisible` shows as `offline`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ShownStatus {
    Online,
    Away,
    Busy,
    Offline,
}

impl ShownStatus {
    /// How `status` shows to others; `None` (not connected) is offline.
    pub fn of(status: Option<PresenceStatus>) -> Self {
        match status {
            None | Some(PresenceStatus::Invisible) => Self::Offline,
            Some(PresenceStatus::Online) => Self::Online,
            Some(PresenceStatus::Away) => Self::Away,
            Some(PresenceStatus::Busy) => Self::Busy,
        }
    }
}

/// One user's presence as a watcher reads it: `{status, lastSeen}`, `lastSeen` null
/// while shown online (or when never seen).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PresenceView {
    pub status: ShownStatus,
    pub last_seen: Option<Timestamp>,
}

impl PresenceView {
    /// What a watcher who may not see the user reads.
    const HIDDEN: Self = Self { status: ShownStatus::Offline, last_seen: None };
}

/// The `presence:set` ack: the status now set.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatusSet {
    pub status: PresenceStatus,
}

/// The `presence:subscribe` ack: each named user's presence, by id.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PresenceStatuses {
    pub statuses: BTreeMap<String, PresenceView>,
}

/// The presence service.
pub struct PresenceService {
    state: Arc<dyn PresenceState>,
    sessions: Arc<dyn SessionRegistry>,
    last_seen: Arc<dyn LastSeenStore>,
    visibility: Arc<dyn Relationships>,
    /// Joins and leaves of `presence:` rooms.
    publisher: Arc<dyn EventPublisher>,
    /// Where status changes go.
    events: Arc<dyn EventSink>,
    grace: Duration,
    /// Users each connection watches (for the cap and for cleanup).
    watching: Mutex<HashMap<ConnectionId, HashSet<String>>>,
}

impl PresenceService {
    pub fn new(
        state: Arc<dyn PresenceState>,
        sessions: Arc<dyn SessionRegistry>,
        last_seen: Arc<dyn LastSeenStore>,
        visibility: Arc<dyn Relationships>,
        publisher: Arc<dyn EventPublisher>,
        events: Arc<dyn EventSink>,
        grace: Duration,
    ) -> Self {
        Self { state, sessions, last_seen, visibility, publisher, events, grace, watching: Mutex::new(HashMap::new()) }
    }

    /// A socket of the user connected.
    pub async fn connected(&self, user_id: &str, connection: &ConnectionId) {
        self.sessions.session_opened(user_id, connection).await;
        if self.state.came_online(user_id).await {
            self.announce(user_id, Some(PresenceStatus::Online), None).await;
        }
    }

    /// A socket closed; the last one starts the grace period.
    pub async fn disconnected(&self, user_id: &str, connection: &ConnectionId) {
        self.watching.lock().remove(connection);
        if self.sessions.session_closed(user_id, connection).await == 0 {
            let deadline = Timestamp::now().plus_millis(self.grace.as_millis() as i64);
            self.state.start_grace(user_id, deadline.millis()).await;
        }
    }

    /// Turns users whose grace ended offline (called by the tick task).
    pub async fn expire_grace(&self) {
        let now = Timestamp::now();
        for user in self.state.due_offline(now.millis()).await {
            if self.sessions.sessions_of(&user).await > 0 {
                // Reconnected on another path between the checks: still online.
                self.state.came_online(&user).await;
                continue;
            }
            if let Err(e) = self.last_seen.set_last_seen(&user, now).await {
                tracing::warn!(error = %e.chain(), "last seen not stored");
            }
            self.announce(&user, None, Some(now)).await;
        }
    }

    /// `presence:set`.
    pub async fn set_status(&self, user_id: &str, status: &str) -> DomainResult<StatusSet> {
        let status: PresenceStatus = serde_json::from_value(Value::String(status.to_owned()))
            .map_err(|_| DomainError::bad_request("status must be online, away, busy or invisible"))?;
        let previous = self.state.set_status(user_id, status).await.ok_or_else(|| DomainError::conflict("you are not online"))?;
        if previous != status {
            self.announce(user_id, Some(status), None).await;
        }
        Ok(StatusSet { status })
    }

    /// `presence:subscribe`: current statuses; updates follow for the visible ones.
    pub async fn subscribe(&self, watcher: &str, connection: &ConnectionId, user_ids: &[String]) -> DomainResult<PresenceStatuses> {
        if user_ids.len() > MAX_SUBSCRIBE {
            return Err(DomainError::bad_request(format!("at most {MAX_SUBSCRIBE} userIds per call")));
        }
        for id in user_ids {
            valid_id("userIds", id)?;
        }
        let already = self.watching.lock().get(connection).map_or(0, HashSet::len);
        if already + user_ids.len() > MAX_WATCHED_PER_CONNECTION {
            return Err(DomainError::conflict(format!("a connection may watch at most {MAX_WATCHED_PER_CONNECTION} users")));
        }
        // Ordered by id, as the ack always listed them; a repeated id counts once.
        let mut statuses = BTreeMap::new();
        for target in user_ids {
            let visible = target == watcher || self.visibility.may_watch(watcher, target).await?;
            let entry = if visible {
                self.publisher.join(connection, Room::Presence(target.clone()));
                self.watching.lock().entry(connection.clone()).or_default().insert(target.clone());
                self.view_of(target).await?
            } else {
                PresenceView::HIDDEN
            };
            statuses.insert(target.clone(), entry);
        }
        Ok(PresenceStatuses { statuses })
    }

    /// `presence:unsubscribe`.
    pub fn unsubscribe(&self, connection: &ConnectionId, user_ids: &[String]) -> DomainResult<()> {
        if user_ids.len() > MAX_SUBSCRIBE {
            return Err(DomainError::bad_request(format!("at most {MAX_SUBSCRIBE} userIds per call")));
        }
        for id in user_ids {
            valid_id("userIds", id)?;
        }
        let mut watching = self.watching.lock();
        for target in user_ids {
            if let Some(set) = watching.get_mut(connection) {
                set.remove(target);
            }
            self.publisher.leave(connection, Room::Presence(target.clone()));
        }
        Ok(())
    }

    /// Online users (for server stats).
    pub async fn online_count(&self) -> usize {
        self.state.online_count().await
    }

    /// How others see a user: invisible reads as offline.
    async fn view_of(&self, user_id: &str) -> DomainResult<PresenceView> {
        let shown = match self.state.status(user_id).await {
            Some(PresenceStatus::Invisible) | None => None,
            Some(s) => Some(s),
        };
        let last_seen = match shown {
            Some(_) => None,
            None => self.last_seen.last_seen(user_id).await?,
        };
        Ok(PresenceView { status: ShownStatus::of(shown), last_seen })
    }

    async fn announce(&self, user_id: &str, status: Option<PresenceStatus>, last_seen: Option<Timestamp>) {
        let presence = PresenceView { status: ShownStatus::of(status), last_seen };
        let changed = SocialEvent::PresenceChanged { user_id: user_id.to_owned(), presence };
        self.events.emit(Audience::Room(Room::Presence(user_id.to_owned())), changed.into()).await;
    }
}
