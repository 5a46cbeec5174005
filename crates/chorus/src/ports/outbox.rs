//! The outbox: deliveries owed to the app's backend (webhooks), recorded in the same
//! transaction as the change that causes them, so a change that is stored is told, even
//! when the server is killed right after its commit.
//!
//! A write that causes an event takes the domain's [`Tells`]: the function from the
//! write's outcome to the event it means. The store calls it inside the transaction,
//! asks the [`OutboxRouter`] which deliveries that event owes, records them with the
//! change, and answers with the outcome and the event ([`Told`]) for the service to
//! emit. With no endpoint configured nothing is recorded and the event is still built
//! once, as before.

use async_trait::async_trait;

use crate::domain::events::DomainEvent;
use crate::domain::time::Timestamp;
use crate::ports::store::StoreResult;

/// The event a write causes, decided from the write's outcome inside its transaction;
/// `None` when the write changed nothing worth telling (a repeated like).
pub type Tells<T> = Box<dyn FnOnce(&T) -> Option<DomainEvent> + Send>;

/// A write's outcome and the event it caused (already in the outbox when an endpoint
/// wants it); the service emits the event.
#[derive(Debug)]
pub struct Told<T> {
    pub outcome: T,
    pub event: Option<DomainEvent>,
}

/// One delivery an event owes to one endpoint, as recorded: its body is fixed here, so
/// every retry sends the same bytes under the same id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwedDelivery {
    /// The `webhook-id` (`msg_` + a UUIDv7), the same on every retry.
    pub id: String,
    pub endpoint: String,
    /// `content.liked`, `message.created`…
    pub event_type: String,
    /// What the order is kept per: `content:123`, `chat:r1`, `user:u1`.
    pub subject: String,
    /// The JSON body `{type, timestamp, data}`.
    pub body: String,
    /// Retried until then, then a dead letter.
    pub give_up_at: Timestamp,
}

/// Which deliveries an event owes: the webhook encoder, which the store asks inside the
/// write's transaction.
pub trait OutboxRouter: Send + Sync {
    /// The deliveries `event` owes (none when no endpoint wants its type).
    fn deliveries(&self, event: &DomainEvent, at: Timestamp) -> Vec<OwedDelivery>;
    /// Called once a transaction that recorded deliveries has committed (wakes the
    /// delivery worker).
    fn recorded(&self);
}

/// A router that owes nothing: no endpoint is configured.
pub struct NoOutbox;

impl OutboxRouter for NoOutbox {
    fn deliveries(&self, _event: &DomainEvent, _at: Timestamp) -> Vec<OwedDelivery> {
        Vec::new()
    }

    fn recorded(&self) {}
}

/// A delivery claimed by a worker for one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub seq: i64,
    pub id: String,
    pub endpoint: String,
    pub event_type: String,
    pub subject: String,
    pub body: String,
    /// Attempts made before this one.
    pub attempts: u32,
    pub created_at: Timestamp,
    pub give_up_at: Timestamp,
}

/// A dead letter: a delivery that kept failing until its deadline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedDelivery {
    pub id: String,
    pub endpoint: String,
    pub event_type: String,
    pub subject: String,
    pub body: String,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub created_at: Timestamp,
    pub failed_at: Timestamp,
}

/// How much is owed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutboxBacklog {
    /// Deliveries still to be sent (due or waiting for a retry).
    pub pending: u64,
    /// Dead letters.
    pub failed: u64,
}

/// The outbox's rows, for the delivery worker and the server API.
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Records the deliveries of an event that comes with no other write (a text refused
    /// by moderation).
    async fn record(&self, event: DomainEvent) -> StoreResult<()>;
    /// Claims up to `limit` due deliveries of `endpoint` for `node` until `lease_until`:
    /// per subject only the oldest one still owed, so order is kept per subject; a
    /// delivery claimed by another node is skipped until its lease ends.
    async fn claim(&self, endpoint: &str, node: &str, now: Timestamp, lease_until: Timestamp, limit: u32) -> StoreResult<Vec<Delivery>>;
    /// The endpoint took it: it is owed no more.
    async fn delivered(&self, seq: i64) -> StoreResult<()>;
    /// It failed; try again at `next_at`.
    async fn retry_at(&self, seq: i64, next_at: Timestamp, error: &str) -> StoreResult<()>;
    /// It failed past its deadline: a dead letter.
    async fn dead_letter(&self, seq: i64, at: Timestamp, error: &str) -> StoreResult<()>;
    /// Dead letters, oldest first, after the one with id `after`.
    async fn failed(&self, after: Option<&str>, limit: u32) -> StoreResult<Vec<FailedDelivery>>;
    /// Makes a dead letter owed again, at once, retried until `give_up_at`; false when
    /// `id` is no dead letter.
    async fn replay(&self, id: &str, now: Timestamp, give_up_at: Timestamp) -> StoreResult<bool>;
    async fn backlog(&self) -> StoreResult<OutboxBacklog>;
}
