//! The event publisher over socketioxide: the one place that names rooms.

use async_trait::async_trait;
use serde_json::Value;
use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;
use socketioxide::extract::SocketRef;
use socketioxide::operators::BroadcastOperators;
use socketioxide::socket::Sid;

use crate::ports::publisher::{Audience, ConnectionId, EventPublisher, Room};

/// Publishes through the Socket.IO server's adapter: the in-process one on a single
/// node, the Redis adapter in cluster mode (then room broadcasts reach every node).
pub struct SocketIoPublisher<A: Adapter> {
    io: SocketIo<A>,
}

impl<A: Adapter> SocketIoPublisher<A> {
    pub fn new(io: SocketIo<A>) -> Self {
        Self { io }
    }

    /// The default namespace; `None` once the server closed it (shutdown), so late
    /// publishes are dropped instead of panicking inside socketioxide.
    fn ns(&self) -> Option<BroadcastOperators<A>> {
        self.io.of("/")
    }

    fn socket(&self, connection: &ConnectionId) -> Option<SocketRef<A>> {
        self.ns()?.get_socket(sid(connection)?)
    }

    /// Sends one event to every node's connections, or to this node's only (`local`).
    async fn send(&self, local: bool, to: Audience, event: &str, payload: &Value) {
        let Some(ns) = self.ns() else {
            tracing::debug!(event, "server closing: event dropped");
            return;
        };
        let ns = if local { ns.local() } else { ns };
        let result = match to {
            Audience::Room(room) => ns.to(room_name(&room)).emit(event, payload).await,
            Audience::Rooms(rooms) if rooms.is_empty() => Ok(()),
            Audience::Rooms(rooms) => ns.to(rooms.iter().map(room_name).collect::<Vec<_>>()).emit(event, payload).await,
            // Broadcasting from the sender's socket leaves the sender out; a sender on
            // another node is not among this node's sockets anyway.
            Audience::RoomExcept(room, except) => match self.socket(&except) {
                Some(sender) if local => sender.local().to(room_name(&room)).emit(event, payload).await,
                Some(sender) => sender.to(room_name(&room)).emit(event, payload).await,
                None => ns.to(room_name(&room)).emit(event, payload).await,
            },
            Audience::Connection(connection) => {
                if let Some(socket) = self.socket(&connection)
                    && let Err(e) = socket.emit(event, payload) {
                        tracing::debug!(event, error = %e, "emit to a connection failed");
                    }
                Ok(())
            }
            Audience::Everyone => ns.emit(event, payload).await,
        };
        match result {
            Ok(()) => {}
            // A receiver that closed meanwhile is not a failure of the broadcast.
            Err(socketioxide::BroadcastError::Socket(errors))
                if errors.iter().all(|e| matches!(e, socketioxide::SocketError::Closed)) =>
            {
                tracing::debug!(event, closed = errors.len(), "broadcast skipped closed sockets");
            }
            Err(e) => tracing::warn!(event, error = %e, "broadcast failed"),
        }
    }
}

/// The room name of PROTOCOL.md §3.
pub fn room_name(room: &Room) -> String {
    match room {
        Room::User(id) => format!("user:{id}"),
        Room::Content(id) => format!("content:{id}"),
        Room::Stream(id) => format!("stream:{id}"),
        Room::Chat(id) => format!("chat:{id}"),
        Room::Feed(id) => format!("feed:{id}"),
        Room::Collab(id) => format!("collab:{id}"),
        Room::Battle(id) => format!("battle:{id}"),
        Room::Presence(id) => format!("presence:{id}"),
        Room::Ranking { scope, limit } => format!("ranking:{scope}:{limit}"),
    }
}

fn sid(connection: &ConnectionId) -> Option<Sid> {
    connection.0.parse().ok()
}

#[async_trait]
impl<A: Adapter> EventPublisher for SocketIoPublisher<A> {
    async fn publish(&self, to: Audience, event: &str, payload: Value) {
        self.send(false, to, event, &payload).await;
    }

    async fn publish_local(&self, to: Audience, event: &str, payload: Value) {
        self.send(true, to, event, &payload).await;
    }

    fn join(&self, connection: &ConnectionId, room: Room) {
        if let Some(socket) = self.socket(connection) {
            socket.join(room_name(&room));
        }
    }

    fn leave(&self, connection: &ConnectionId, room: Room) {
        if let Some(socket) = self.socket(connection) {
            socket.leave(room_name(&room));
        }
    }

    fn disconnect(&self, connection: &ConnectionId) {
        if let Some(socket) = self.socket(connection)
            && let Err(e) = socket.disconnect() {
                tracing::debug!(error = %e, "disconnect failed");
            }
    }

    async fn disconnect_room(&self, room: &Room) {
        if let Some(ns) = self.ns()
            && let Err(e) = ns.to(room_name(room)).disconnect().await {
                tracing::debug!(error = %e, "room disconnect failed");
            }
    }

    async fn room_size(&self, room: &Room) -> usize {
        let Some(ns) = self.ns() else { return 0 };
        match ns.to(room_name(room)).fetch_sockets().await {
            Ok(sockets) => sockets.len(),
            Err(e) => {
                tracing::debug!(error = %e, "cluster room size unavailable: counting this node");
                self.ns().map_or(0, |ns| ns.local().to(room_name(room)).sockets().len())
            }
        }
    }

    async fn connection_count(&self) -> usize {
        let Some(ns) = self.ns() else { return 0 };
        match ns.fetch_sockets().await {
            Ok(sockets) => sockets.len(),
            Err(e) => {
                tracing::debug!(error = %e, "cluster socket count unavailable: counting this node");
                self.ns().map_or(0, |ns| ns.local().sockets().len())
            }
        }
    }

    async fn close_all(&self) {
        self.io.clone().close().await;
    }

    async fn room_count(&self) -> usize {
        let Some(ns) = self.ns() else { return 0 };
        match ns.rooms().await {
            Ok(rooms) => rooms.len(),
            Err(e) => {
                tracing::debug!(error = %e, "cluster room list unavailable: counting this node");
                match self.ns() {
                    Some(ns) => ns.local().rooms().await.map_or(0, |r| r.len()),
                    None => 0,
                }
            }
        }
    }
}
