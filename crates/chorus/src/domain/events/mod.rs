//! Domain events: what happened, in the domain's own words. Services emit them to an
//! audience through the `EventSink` port; the encoders behind it own the wire (event
//! names and payload shapes), so the domain names no Socket.IO event and builds no JSON.
//! One file per area; `DomainEvent` gathers them.
//!
//! Areas move onto these events one at a time; content interactions, coalesced counts
//! and rankings come first.

pub mod account;
pub mod calls;
pub mod chat;
pub mod collab;
pub mod content;
pub mod live;
pub mod relayed;
pub mod social;

pub use account::AccountEvent;
pub use calls::CallEvent;
pub use chat::ChatEvent;
pub use collab::CollabEvent;
pub use content::ContentEvent;
pub use live::LiveEvent;
pub use relayed::RelayedEvent;
pub use social::SocialEvent;

/// Something that happened that watchers should hear of.
#[derive(Debug, Clone, PartialEq)]
pub enum DomainEvent {
    Content(ContentEvent),
    Chat(ChatEvent),
    Social(SocialEvent),
    Live(LiveEvent),
    Calls(CallEvent),
    Collab(CollabEvent),
    Account(AccountEvent),
    /// The app backend's own event (server API), relayed as it sent it.
    Relayed(RelayedEvent),
}

impl DomainEvent {
    /// The area the event belongs to, in the domain's words (a metric label).
    pub fn area(&self) -> &'static str {
        match self {
            Self::Content(_) => "content",
            Self::Chat(_) => "chat",
            Self::Social(_) => "social",
            Self::Live(_) => "live",
            Self::Calls(_) => "calls",
            Self::Collab(_) => "collab",
            Self::Account(_) => "account",
            Self::Relayed(_) => "relayed",
        }
    }

    /// Whether the event is a coalesced snapshot: the current value of something, sent
    /// by every node to its own connections each tick and superseded by the next one,
    /// so it is neither sequenced nor kept for resume.
    pub fn is_snapshot(&self) -> bool {
        match self {
            Self::Content(e) => e.is_snapshot(),
            Self::Chat(e) => e.is_snapshot(),
            Self::Social(e) => e.is_snapshot(),
            Self::Live(e) => e.is_snapshot(),
            Self::Calls(e) => e.is_snapshot(),
            Self::Collab(e) => e.is_snapshot(),
            Self::Account(e) => e.is_snapshot(),
            Self::Relayed(_) => false,
        }
    }
}

impl From<ContentEvent> for DomainEvent {
    fn from(e: ContentEvent) -> Self {
        Self::Content(e)
    }
}

impl From<ChatEvent> for DomainEvent {
    fn from(e: ChatEvent) -> Self {
        Self::Chat(e)
    }
}

impl From<SocialEvent> for DomainEvent {
    fn from(e: SocialEvent) -> Self {
        Self::Social(e)
    }
}

impl From<LiveEvent> for DomainEvent {
    fn from(e: LiveEvent) -> Self {
        Self::Live(e)
    }
}

impl From<CallEvent> for DomainEvent {
    fn from(e: CallEvent) -> Self {
        Self::Calls(e)
    }
}

impl From<CollabEvent> for DomainEvent {
    fn from(e: CollabEvent) -> Self {
        Self::Collab(e)
    }
}

impl From<AccountEvent> for DomainEvent {
    fn from(e: AccountEvent) -> Self {
        Self::Account(e)
    }
}

impl From<RelayedEvent> for DomainEvent {
    fn from(e: RelayedEvent) -> Self {
        Self::Relayed(e)
    }
}
