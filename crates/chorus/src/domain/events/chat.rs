//! Events of chat rooms: messages, edits, deletes, reactions, reads, typing, members.

/// Something that happened in this area. (Variants arrive as the area moves onto
/// domain events; until then its service publishes through `EventPublisher`.)
#[derive(Debug, Clone, PartialEq)]
pub enum ChatEvent {}

impl ChatEvent {
    /// Whether the event is a coalesced snapshot (see `DomainEvent::is_snapshot`).
    pub fn is_snapshot(&self) -> bool {
        match *self {}
    }
}
