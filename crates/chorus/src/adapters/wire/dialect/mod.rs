//! Seed dialects (docs/dialects.md): the event names, payloads and room names of an
//! existing app's Socket.IO client, spoken at the edge over the native protocol.
//!
//! A dialect is a decoder and an encoder, nothing more. The decoder turns each of its
//! client events into the native command behind it (`Decoded`), which then runs
//! through the same router, limits, admission rules and services as a native one, and
//! says how the answer looks in the dialect's terms (`ReplyShape`). The encoder turns
//! each native server event into the dialect's (`Encoded`): the publisher calls it once
//! per broadcast for each dialect with sockets in the room (`census`), so a dialect
//! costs nothing to a node or a room without it.
//!
//! Encoders read native events, not domain events. Every native event is the complete
//! public form of a domain event, and it is what the event log keeps and what cluster
//! nodes pass each other: translating at delivery lets a dialect socket resume, and
//! hear events published on another node, with one log and one stream.
//!
//! A dialect socket never sits in a native room: it joins the dialect's twin of each
//! room (`Dialect::room_name`), so native broadcasts never reach it untranslated.

pub mod census;
pub mod chatblog;
pub mod chatnotify;
mod fields;
pub mod interactions;
pub mod livestream;
pub mod video;

use serde_json::Value;

use crate::domain::error::{DomainError, DomainResult, ErrorCode};
use crate::ports::publisher::Room;

/// A dialect of the native protocol, named after the app whose client it serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// The universal content interactions app (seed 000): content and media rooms,
    /// streams, presence, private chats.
    Interactions,
    /// The live-streaming platform (seed 001): stream chat, gifts, throne, battles, metrics.
    Livestream,
    /// The TikTok-style video app (seed 002): video rooms, feed, typing, watch analytics.
    Video,
    /// The chat and blog app (seed 003): chat rooms, the blog channel, post likes,
    /// toasts, calls.
    Chatblog,
    /// The chat and notifications app (seed 004): one-to-one chat, history, notifications.
    Chatnotify,
}

/// What `auth.dialect` or `?dialect=` selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    /// The native protocol (`native`, or nothing named and no server default).
    Native,
    Dialect(Dialect),
}

/// The dialect a socket speaks, kept in its extensions (a native socket has none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Speaks(pub Dialect);

/// A client event, decoded into the native command behind it.
#[derive(Debug)]
pub struct Decoded {
    /// The native command to run; `None` when the event asks for nothing (it succeeds
    /// with `{}`).
    pub command: Option<&'static str>,
    /// The native command's payload.
    pub payload: Value,
    /// The dialect's answer, when it has one: sent as an event when the client asked
    /// for no ack, and as the ack's `data` when it did.
    pub reply: Option<ReplyShape>,
    /// A refusal the dialect answers with nothing when the client asked for no ack:
    /// the seed's own event for it has already been sent by the domain (livestream's
    /// `ai:warning` for a `blocked` chat message). With an ack it is refused as usual.
    pub silent_refusal: Option<ErrorCode>,
    /// A second native command to run after the first succeeded, made from its ack
    /// `data` (`None`: nothing more to do). It takes no rate limit of its own: the
    /// seed event took one.
    pub then: Option<FollowUp>,
}

/// The command that follows a decoded one.
#[derive(Debug, Clone, Copy)]
pub struct FollowUp {
    /// The next command and its payload, from the first command's payload and its ack
    /// `data`; `None`: nothing more to do.
    pub make: fn(&Value, &Value) -> Option<(&'static str, Value)>,
    /// Whether the follow-up's ack `data` answers the seed event (else the first's does).
    pub answers: bool,
}

impl Decoded {
    /// The native command `command` with `payload`, answered only by its ack.
    pub fn run(command: &'static str, payload: Value) -> Self {
        Self { command: Some(command), payload, reply: None, then: None, silent_refusal: None }
    }

    /// An event that needs no command.
    pub fn nothing() -> Self {
        Self { command: None, payload: Value::Null, reply: None, then: None, silent_refusal: None }
    }

    /// Adds the dialect's reply event.
    pub fn replying(mut self, event: &'static str, shape: fn(&Value, Value) -> Value) -> Self {
        self.reply = Some(ReplyShape { event, shape });
        self
    }

    /// Adds the command that follows this one; the first command's ack answers.
    pub fn then(mut self, make: fn(&Value, &Value) -> Option<(&'static str, Value)>) -> Self {
        self.then = Some(FollowUp { make, answers: false });
        self
    }

    /// Adds the command that follows this one, whose ack answers the seed event.
    pub fn then_answering(mut self, make: fn(&Value, &Value) -> Option<(&'static str, Value)>) -> Self {
        self.then = Some(FollowUp { make, answers: true });
        self
    }

    /// Sends no `error` event for a refusal with `code` (see `silent_refusal`).
    pub fn silent_on(mut self, code: ErrorCode) -> Self {
        self.silent_refusal = Some(code);
        self
    }
}

/// How a successful command is answered in the dialect.
#[derive(Debug, Clone, Copy)]
pub struct ReplyShape {
    /// The reply event's name.
    pub event: &'static str,
    /// The reply's payload from the native command's payload and its ack `data`.
    pub shape: fn(&Value, Value) -> Value,
}

/// A native server event in a dialect.
#[derive(Debug, PartialEq)]
pub enum Encoded {
    /// Not sent: the dialect says the same thing with events of its own.
    Drop,
    /// Sent unchanged: a feature the seed names no events for, or an event the app's
    /// backend named itself (server API `emit`).
    Same,
    /// Sent under the dialect's name, with the native payload.
    Renamed(&'static str),
    /// Sent as these events.
    Frames(Vec<(&'static str, Value)>),
}

impl Dialect {
    /// Every dialect, in the order of docs/dialects.md.
    pub const ALL: &'static [Self] = &[Self::Interactions, Self::Livestream, Self::Video, Self::Chatblog, Self::Chatnotify];

    /// The name clients and the `dialect` setting use.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Interactions => "interactions",
            Self::Livestream => "livestream",
            Self::Video => "video",
            Self::Chatblog => "chatblog",
            Self::Chatnotify => "chatnotify",
        }
    }

    /// The dialect called `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|d| d.name() == name)
    }

    /// The index of the dialect in `ALL`.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// Decodes a client event of the dialect; `None` for an event it does not name,
    /// which the router then runs as the native command of that name, if there is one.
    /// The router passes a missing payload as `{}` (`or_empty`).
    pub fn decode(self, event: &str, payload: Value) -> DomainResult<Option<Decoded>> {
        match self {
            Self::Interactions => interactions::decode(event, payload),
            Self::Livestream => livestream::decode(event, payload),
            Self::Video => video::decode(event, payload),
            Self::Chatblog => chatblog::decode(event, payload),
            Self::Chatnotify => chatnotify::decode(event, payload),
        }
    }

    /// A native server event in this dialect. Called once per broadcast, not per socket.
    pub fn encode(self, event: &str, payload: &Value) -> Encoded {
        match self {
            Self::Interactions => interactions::encode(event, payload),
            Self::Livestream => livestream::encode(event, payload),
            Self::Video => video::encode(event, payload),
            Self::Chatblog => chatblog::encode(event, payload),
            Self::Chatnotify => chatnotify::encode(event, payload),
        }
    }

    /// The Socket.IO room a socket of this dialect joins for `room`: never a native
    /// room's name (those start with a kind and `:`, and no kind holds `|`).
    pub fn room_name(self, room: &Room) -> String {
        format!("{}|{}", self.name(), crate::adapters::socketio_publisher::room_name(room))
    }

    /// The Socket.IO room every socket of this dialect is in (broadcasts to everyone).
    pub fn everyone_room(self) -> &'static str {
        match self {
            Self::Interactions => "interactions|*",
            Self::Livestream => "livestream|*",
            Self::Video => "video|*",
            Self::Chatblog => "chatblog|*",
            Self::Chatnotify => "chatnotify|*",
        }
    }

    /// The native room a room name of the dialect stands for (`video_123`), for the
    /// server API of a server whose default dialect this is.
    pub fn parse_room(self, name: &str) -> Option<Room> {
        let room = match self {
            Self::Interactions => interactions::parse_room(name),
            Self::Livestream => livestream::parse_room(name),
            Self::Video => video::parse_room(name),
            Self::Chatblog => chatblog::parse_room(name),
            Self::Chatnotify => None,
        }?;
        fields::valid_room_id(&room).then_some(room)
    }
}

/// A dialect client's payload: a missing one counts as `{}`, as seed clients emit
/// events without arguments (`socket.emit('feed:subscribe')`).
pub fn or_empty(payload: Value) -> Value {
    if payload.is_null() { Value::Object(serde_json::Map::new()) } else { payload }
}

/// Reads a dialect name from a handshake (`auth.dialect`, `?dialect=`).
pub fn select(name: &str) -> DomainResult<Selection> {
    if name == "native" {
        return Ok(Selection::Native);
    }
    Dialect::from_name(name).map(Selection::Dialect).ok_or_else(|| {
        let known: Vec<_> = Dialect::ALL.iter().map(|d| d.name()).collect();
        DomainError::bad_request(format!("unknown dialect: {}; known: native, {}", fields::printable(name), known.join(", ")))
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn names_select_dialects_and_unknown_names_are_refused() {
        assert_eq!(select("video").ok(), Some(Selection::Dialect(Dialect::Video)));
        assert_eq!(select("native").ok(), Some(Selection::Native));
        let refused = select("klingon").err().map(|e| e.message);
        assert!(refused.is_some_and(|m| m.contains("unknown dialect: klingon") && m.contains("video")));
        for d in Dialect::ALL {
            assert_eq!(Dialect::from_name(d.name()), Some(*d));
            assert_eq!(Dialect::ALL[d.index()], *d);
            assert!(d.everyone_room().starts_with(d.name()));
        }
    }

    #[test]
    fn dialect_rooms_never_collide_with_native_ones() {
        let room = Room::Content("a:b|c".into());
        assert_eq!(Dialect::Video.room_name(&room), "video|content:a:b|c");
        assert!(crate::ports::publisher::Room::parse(&Dialect::Video.room_name(&room)).is_none());
    }

    #[test]
    fn a_missing_payload_is_an_empty_object() {
        let decoded = Dialect::Video.decode("feed:subscribe", or_empty(Value::Null)).ok().flatten();
        assert_eq!(decoded.map(|d| d.payload), Some(json!({})));
    }

    #[test]
    fn events_a_dialect_does_not_name_are_left_to_the_native_commands() {
        assert!(matches!(Dialect::Video.decode("video:dance", json!({})), Ok(None)));
        assert!(matches!(Dialect::Chatnotify.decode("chat:join", json!({ "roomId": "r" })), Ok(None)));
    }
}
