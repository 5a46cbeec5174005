//! Counters read off the stream of domain events, so the services count nothing by
//! hand: `chorus_domain_events_total{area}` for every one-off event (snapshots, resent
//! every tick, are not events that happened), and `chorus_gifts_total` per gift sent.

use crate::domain::events::{DomainEvent, LiveEvent};
use crate::ports::events::EventObserver;
use crate::ports::publisher::Audience;

/// The metrics observer.
pub struct EventMetrics;

impl EventObserver for EventMetrics {
    fn observe(&self, _to: &Audience, event: &DomainEvent) {
        if event.is_snapshot() {
            return;
        }
        metrics::counter!("chorus_domain_events_total", "area" => event.area()).increment(1);
        if let DomainEvent::Live(LiveEvent::GiftSent { .. }) = event {
            metrics::counter!("chorus_gifts_total").increment(1);
        }
    }
}
