//! The resumable event log (issue 6, session resume): every event published through
//! `EventPublisher::publish` gets a cluster-wide, strictly increasing `seq` and is kept
//! for the resume window, so a client that reconnects can be sent what it missed.
//! Sessions are recorded here too, so any node can resume a session of another node.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;

use crate::domain::error::DomainResult;
use crate::ports::publisher::{Audience, Room};

/// Which audiences a reader wants (an alias keeps `async_trait` off its lifetime).
pub type AudienceFilter = dyn for<'a> Fn(&'a Audience) -> bool + Send + Sync;

/// One event as the log holds it. `payload` carries the `seq` field already.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedEvent {
    pub seq: u64,
    pub to: Audience,
    pub event: String,
    pub payload: Value,
    /// The node that delivered this event to its own sockets before it could append it
    /// (Redis was unreachable); `None` for events appended when published.
    pub late_from: Option<String>,
}

/// What the log still holds after a position.
#[derive(Debug, Clone, PartialEq)]
pub enum Replay {
    /// Every event with `after < seq <= upto`, oldest first.
    Events(Vec<LoggedEvent>),
    /// Some event after `after` was trimmed (or lost): continuity can't be proven.
    Gap,
}

/// A resumable session: who owns it, which connection holds it and its rooms.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionRecord {
    pub session_id: String,
    pub user_id: String,
    /// The connection that holds the session now (the last one to claim it).
    pub connection: String,
    /// Raw rooms the connection joined through the publisher (its user room aside).
    pub rooms: Vec<Room>,
    /// Log position when the connection took the session: it had every event before.
    pub since: u64,
    /// When its connection closed (ms since the epoch); `None` while open, or when its
    /// node died before it could say.
    pub disconnected_at_ms: Option<i64>,
}

/// The log and the session records. Implementations: in memory (one node), Redis
/// Streams (many nodes).
#[async_trait]
pub trait EventLog: Send + Sync {
    /// Assigns the next seq (`max(now_ms * 1000, last + 1)`), writes it into the payload
    /// object as `"seq"` and keeps the event. `late_from` marks events a node delivered
    /// itself while the log was unreachable.
    async fn append(&self, to: Audience, event: &str, payload: Value, late_from: Option<&str>) -> DomainResult<LoggedEvent>;

    /// The events after `after` up to `upto` (both seqs) whose audience `keep` accepts,
    /// or `Gap` when any event after `after` is no longer held.
    async fn read_range(&self, after: u64, upto: u64, keep: &AudienceFilter) -> DomainResult<Replay>;

    /// The highest seq assigned so far (0 for an empty log).
    async fn head(&self) -> DomainResult<u64>;

    /// Writes a record unconditionally: a connection takes the session.
    async fn claim_session(&self, record: &SessionRecord, ttl: Duration) -> DomainResult<()>;

    /// Writes a record only while `record.connection` still holds the session (or no
    /// record exists): a later resume elsewhere wins over a late update.
    async fn update_session(&self, record: &SessionRecord, ttl: Duration) -> DomainResult<()>;

    async fn load_session(&self, session_id: &str) -> DomainResult<Option<SessionRecord>>;
}
