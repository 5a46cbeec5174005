//! The event publisher over socketioxide: the one place that names rooms.

use async_trait::async_trait;
use serde_json::Value;
use socketioxide::SocketIo;
use socketioxide::extract::SocketRef;
use socketioxide::operators::BroadcastOperators;
use socketioxide::socket::Sid;

use crate::ports::publisher::{Audience, ConnectionId, EventPublisher, Room};

/// Publishes through the Socket.IO server's adapter.
#[derive(Clone)]
pub struct SocketIoPublisher {
    io: SocketIo,
}

impl SocketIoPublisher {
    pub fn new(io: SocketIo) -> Self {
        Self { io }
    }

    /// The default namespace; `None` once the server closed it (shutdown), so late
    /// publishes are dropped instead of panicking inside socketioxide.
    fn ns(&self) -> Option<BroadcastOperators> {
        self.io.of("/")
    }

    fn socket(&self, connection: &ConnectionId) -> Option<SocketRef> {
        self.ns()?.get_socket(sid(connection)?)
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
impl EventPublisher for SocketIoPublisher {
    async fn publish(&self, to: Audience, event: &str, payload: Value) {
        let Some(ns) = self.ns() else {
            tracing::debug!(event, "server closing: event dropped");
            return;
        };
        let result = match to {
            Audience::Room(room) => ns.to(room_name(&room)).emit(event, &payload).await,
            Audience::Rooms(rooms) if rooms.is_empty() => Ok(()),
            Audience::Rooms(rooms) => ns.to(rooms.iter().map(room_name).collect::<Vec<_>>()).emit(event, &payload).await,
            // Broadcasting from the sender's socket leaves the sender out.
            Audience::RoomExcept(room, except) => match self.socket(&except) {
                Some(sender) => sender.to(room_name(&room)).emit(event, &payload).await,
                None => ns.to(room_name(&room)).emit(event, &payload).await,
            },
            Audience::Connection(connection) => {
                if let Some(socket) = self.socket(&connection)
                    && let Err(e) = socket.emit(event, &payload) {
                        tracing::debug!(event, error = %e, "emit to a connection failed");
                    }
                Ok(())
            }
            Audience::Everyone => ns.emit(event, &payload).await,
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

    fn room_size(&self, room: &Room) -> usize {
        self.ns().map_or(0, |ns| ns.to(room_name(room)).sockets().len())
    }

    fn connection_count(&self) -> usize {
        self.ns().map_or(0, |ns| ns.sockets().len())
    }

    fn room_count(&self) -> usize {
        // The local adapter answers at once; a remote adapter's answer is awaited elsewhere.
        self.ns().and_then(|ns| futures_util::FutureExt::now_or_never(ns.rooms())).and_then(Result::ok).map_or(0, |r| r.len())
    }
}
