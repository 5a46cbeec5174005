//! Where services send their domain events. The adapter behind it encodes each event
//! for the wire once and delivers it; the domain never sees an event name.

use async_trait::async_trait;

use crate::domain::events::DomainEvent;
use crate::ports::publisher::Audience;

/// Takes the domain's events. Awaiting `emit` keeps the order of one caller's events.
#[async_trait]
pub trait EventSink: Send + Sync {
    /// Tells `to` of `event`: on every node for a one-off event, on this node's own
    /// connections for a snapshot (`DomainEvent::is_snapshot`), which every node sends
    /// itself.
    async fn emit(&self, to: Audience, event: DomainEvent);
}

/// Looks at each domain event as it passes and returns at once (counters; a consumer
/// with slow work to do queues it on its own). Never changes or stops the event.
pub trait EventObserver: Send + Sync {
    fn observe(&self, to: &Audience, event: &DomainEvent);
}
