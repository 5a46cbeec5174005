//! Events of live streams: status, viewers, chat, likes, gifts, the throne, OG tiers, battles, wallets, metrics.

/// Something that happened in this area. (Variants arrive as the area moves onto
/// domain events; until then its service publishes through `EventPublisher`.)
#[derive(Debug, Clone, PartialEq)]
pub enum LiveEvent {}

impl LiveEvent {
    /// Whether the event is a coalesced snapshot (see `DomainEvent::is_snapshot`).
    pub fn is_snapshot(&self) -> bool {
        match *self {}
    }
}
