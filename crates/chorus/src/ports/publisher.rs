//! Delivery of server events to connected clients. The only place that turns domain
//! audiences into room names is the publisher adapter (PROTOCOL.md §3).

use async_trait::async_trait;
use serde_json::Value;

pub use crate::domain::model::ConnectionId;

/// The rooms of PROTOCOL.md §3, plus the ranking rooms Chorus adds.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Room {
    User(String),
    Content(String),
    Stream(String),
    Chat(String),
    Feed(String),
    Collab(String),
    Battle(String),
    /// Watchers of one user's presence.
    Presence(String),
    /// Subscribers of one ranking scope and list length.
    Ranking { scope: String, limit: u32 },
    /// A named broadcast room: joined by name (`channel:join`), addressed by the app's
    /// backend through the server API; Chorus keeps nothing about it.
    Channel(String),
}

impl Room {
    /// Parses a room name of PROTOCOL.md §3 (the server API names rooms this way).
    pub fn parse(name: &str) -> Option<Self> {
        let (kind, id) = name.split_once(':')?;
        if id.is_empty() || id.len() > 128 || id.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return None;
        }
        let id = id.to_owned();
        Some(match kind {
            "user" => Self::User(id),
            "content" => Self::Content(id),
            "stream" => Self::Stream(id),
            "chat" => Self::Chat(id),
            "feed" => Self::Feed(id),
            "collab" => Self::Collab(id),
            "battle" => Self::Battle(id),
            "channel" => Self::Channel(id),
            _ => return None,
        })
    }
}

/// Who receives an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    Room(Room),
    /// Several rooms at once: a connection in more than one of them gets the event once.
    Rooms(Vec<Room>),
    /// A room except one connection (typing indicators are not echoed to the sender).
    RoomExcept(Room, ConnectionId),
    /// One connection.
    Connection(ConnectionId),
    /// Every connected client.
    Everyone,
}

/// Sends events; serializes each payload once whatever the number of receivers.
/// Awaiting `publish` keeps the order of one caller's events.
#[async_trait]
pub trait EventPublisher: Send + Sync {
    async fn publish(&self, to: Audience, event: &str, payload: Value);
    /// Like `publish`, but to this node's connections only: used where every node
    /// delivers the same events itself (from the cluster's ordered event log, or a
    /// coalescing tick that every node runs). On a single node it is `publish`.
    async fn publish_local(&self, to: Audience, event: &str, payload: Value) {
        self.publish(to, event, payload).await;
    }
    /// Adds a connection to a room (after the domain authorized it).
    fn join(&self, connection: &ConnectionId, room: Room);
    fn leave(&self, connection: &ConnectionId, room: Room);
    /// Number of connections in a room, on every node.
    async fn room_size(&self, room: &Room) -> usize;
    /// Closes one connection.
    fn disconnect(&self, connection: &ConnectionId);
    /// Closes every connection in a room (a banned user's `user:` room).
    async fn disconnect_room(&self, room: &Room);
    /// Number of connected sockets, on every node.
    async fn connection_count(&self) -> usize;
    /// Number of non-empty rooms, on every node.
    async fn room_count(&self) -> usize;
    /// Closes every connection of this node (graceful shutdown).
    async fn close_all(&self);
}
