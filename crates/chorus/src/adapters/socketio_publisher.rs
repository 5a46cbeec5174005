//! The event publisher over socketioxide: the one place that names rooms.

use std::borrow::Cow;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;
use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;
use socketioxide::extract::SocketRef;
use socketioxide::operators::BroadcastOperators;
use socketioxide::socket::Sid;

use crate::adapters::wire::dialect::census::DialectCensus;
use crate::adapters::wire::dialect::{Dialect, Encoded, Speaks};
use crate::ports::publisher::{Audience, ConnectionId, EventPublisher, Room};

/// Publishes through the Socket.IO server's adapter: the in-process one on a single
/// node, the Redis adapter in cluster mode (then room broadcasts reach every node).
///
/// Native sockets sit in the native rooms, and each dialect's sockets in that
/// dialect's twins of them (`Dialect::room_name`): a broadcast goes to the native room
/// as it is, then, for each dialect with sockets in the room, once in that dialect.
pub struct SocketIoPublisher<A: Adapter> {
    io: SocketIo<A>,
    /// The dialects in use on this node.
    census: Arc<DialectCensus>,
    /// Whether other nodes share the rooms (the Redis adapter).
    cluster: bool,
}

/// Where one encoding of a broadcast goes: native rooms, or one dialect's twins.
#[derive(Clone, Copy)]
enum Speakers {
    Native,
    Dialect(Dialect),
}

impl Speakers {
    fn room(self, room: &Room) -> String {
        match self {
            Self::Native => room_name(room),
            Self::Dialect(d) => d.room_name(room),
        }
    }
}

impl<A: Adapter> SocketIoPublisher<A> {
    pub fn new(io: SocketIo<A>, census: Arc<DialectCensus>, cluster: bool) -> Self {
        Self { io, census, cluster }
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
        if let Audience::Connection(connection) = &to {
            self.send_to_connection(connection, event, payload);
            return;
        }
        // Another node's dialect sockets are unknown here: a broadcast this node sends
        // to every node is encoded in every dialect.
        let everywhere = self.cluster && !local;
        let dialects: Vec<Dialect> = if everywhere { Dialect::ALL.to_vec() } else { self.census.in_use().collect() };
        let sender = match &to {
            Audience::RoomExcept(_, except) => self.socket(except),
            _ => None,
        };
        if let Some(operators) = targets(&ns, sender.as_ref(), local, &to, Speakers::Native, &dialects) {
            report(event, operators.emit(event, payload).await);
        }
        for dialect in dialects {
            let Some(operators) = targets(&ns, sender.as_ref(), local, &to, Speakers::Dialect(dialect), &[]) else { continue };
            // Encoded only for a room that holds sockets of the dialect.
            if !everywhere && operators.clone().local().sockets().is_empty() {
                continue;
            }
            for (name, encoded) in frames(dialect, event, payload) {
                report(name, operators.clone().emit(name, encoded.as_ref()).await);
            }
        }
    }

    /// One connection hears the event in its own dialect.
    fn send_to_connection(&self, connection: &ConnectionId, event: &str, payload: &Value) {
        let Some(socket) = self.socket(connection) else { return };
        let sent = match socket.extensions.get::<Speaks>() {
            Some(Speaks(dialect)) => frames(dialect, event, payload).into_iter().try_for_each(|(name, p)| socket.emit(name, p.as_ref())),
            None => socket.emit(event, payload),
        };
        if let Err(e) = sent {
            tracing::debug!(event, error = %e, "emit to a connection failed");
        }
    }
}

/// The event in `dialect`: what its encoder makes of it, payloads borrowed where they
/// are the native one. Counted in `chorus_dialect_encodings_total{dialect, as}` (`as`:
/// the dialect's event name, `unchanged` or `dropped`), once per broadcast.
pub fn frames<'a>(dialect: Dialect, event: &'a str, payload: &'a Value) -> Vec<(&'a str, Cow<'a, Value>)> {
    let encoded = dialect.encode(event, payload);
    let made = match &encoded {
        Encoded::Drop => "dropped",
        Encoded::Same => "unchanged",
        Encoded::Renamed(name) => name,
        Encoded::Frames(frames) => frames.first().map_or("dropped", |(name, _)| *name),
    };
    metrics::counter!("chorus_dialect_encodings_total", "dialect" => dialect.name(), "as" => made).increment(1);
    match encoded {
        Encoded::Drop => Vec::new(),
        Encoded::Same => vec![(event, Cow::Borrowed(payload))],
        Encoded::Renamed(name) => vec![(name, Cow::Borrowed(payload))],
        Encoded::Frames(frames) => frames.into_iter().map(|(name, p)| (name, Cow::Owned(p))).collect(),
    }
}

/// The broadcast operators that reach `to` among `speakers`; for native sockets an
/// audience of everyone leaves out the sockets of `dialects`.
fn targets<A: Adapter>(
    ns: &BroadcastOperators<A>,
    sender: Option<&SocketRef<A>>,
    local: bool,
    to: &Audience,
    speakers: Speakers,
    dialects: &[Dialect],
) -> Option<BroadcastOperators<A>> {
    Some(match to {
        Audience::Room(room) => ns.clone().to(speakers.room(room)),
        Audience::Rooms(rooms) if rooms.is_empty() => return None,
        Audience::Rooms(rooms) => ns.clone().to(rooms.iter().map(|r| speakers.room(r)).collect::<Vec<_>>()),
        // Broadcasting from the sender's socket leaves the sender out; a sender on
        // another node is not among this node's sockets anyway.
        Audience::RoomExcept(room, _) => match sender {
            Some(sender) if local => sender.local().to(speakers.room(room)),
            Some(sender) => sender.to(speakers.room(room)),
            None => ns.clone().to(speakers.room(room)),
        },
        Audience::Connection(_) => return None,
        Audience::Everyone => match speakers {
            Speakers::Native if dialects.is_empty() => ns.clone(),
            Speakers::Native => ns.clone().except(dialects.iter().map(|d| d.everyone_room()).collect::<Vec<_>>()),
            Speakers::Dialect(d) => ns.clone().to(d.everyone_room()),
        },
    })
}

/// Logs a broadcast that failed; a receiver that closed meanwhile is not a failure.
fn report(event: &str, result: Result<(), socketioxide::BroadcastError>) {
    match result {
        Ok(()) => {}
        Err(socketioxide::BroadcastError::Socket(errors)) if errors.iter().all(|e| matches!(e, socketioxide::SocketError::Closed)) => {
            tracing::debug!(event, closed = errors.len(), "broadcast skipped closed sockets");
        }
        Err(e) => tracing::warn!(event, error = %e, "broadcast failed"),
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
        Room::Channel(name) => format!("channel:{name}"),
    }
}

/// The native room and every dialect's twin of it: all the sockets in `room`.
fn every_speaker(room: &Room) -> Vec<String> {
    std::iter::once(room_name(room)).chain(Dialect::ALL.iter().map(|d| d.room_name(room))).collect()
}

/// The Socket.IO room `socket` joins for `room`: the native one, or its dialect's twin.
pub fn socket_room<A: Adapter>(socket: &SocketRef<A>, room: &Room) -> String {
    match socket.extensions.get::<Speaks>() {
        Some(Speaks(dialect)) => dialect.room_name(room),
        None => room_name(room),
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
            socket.join(socket_room(&socket, &room));
        }
    }

    fn leave(&self, connection: &ConnectionId, room: Room) {
        if let Some(socket) = self.socket(connection) {
            socket.leave(socket_room(&socket, &room));
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
            && let Err(e) = ns.to(every_speaker(room)).disconnect().await {
                tracing::debug!(error = %e, "room disconnect failed");
            }
    }

    async fn room_size(&self, room: &Room) -> usize {
        let Some(ns) = self.ns() else { return 0 };
        match ns.to(every_speaker(room)).fetch_sockets().await {
            Ok(sockets) => sockets.len(),
            Err(e) => {
                tracing::debug!(error = %e, "cluster room size unavailable: counting this node");
                self.ns().map_or(0, |ns| ns.local().to(every_speaker(room)).sockets().len())
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
