//! Client commands as typed values (PROTOCOL.md §3–§10): each event name with its
//! payload shape and its policy, parsed once from `(event, payload)`. This module knows
//! the wire names and shapes of commands and nothing of sockets; `transport/socket`
//! asks it for the policy, checks it, and executes the parsed command.
//!
//! Each area file holds one `command_table!`: a row per command, the one place an
//! event name is written, which gives the area's enum, its parser, its name list and
//! each command's policy. Adding a command is adding a row there; then the compiler
//! asks for its arm in the area's executor in `transport/socket`, and the tests for a
//! payload example in `tests.rs`:
//!
//! ```text
//! /// `chat:join`: enter a room (the doc comment of the variant).
//! "chat:join" => Join(RoomRef) -> JoinedRoom [Joins, joins_room],
//! ```
//!
//! that is: event name `=>` variant `(` payload type `)` `->` the type of its ack's
//! `data` `[` rate-limit class (a `LimitClass` variant) then the flags that hold:
//! `posts_text`, `guests`, `joins_room` `]`. The executor answers with the area's reply
//! enum, whose variant for the command holds that ack type, so what the table says is
//! what goes out; the payload and ack types derive `JsonSchema`, and the generated
//! contract (`transport/contract`: `/asyncapi.json`, the TypeScript typings) reads
//! both from the table, with the variant's doc comment as the command's summary.

/// Generates an area's command enum and its kind (the command named, without its
/// payload) from one table: the event names, their variants and payload shapes, and
/// their policies.
macro_rules! command_table {
    (
        $(#[$doc:meta])*
        pub enum $Command:ident, kind $Kind:ident, reply $Reply:ident {
            $(
                $(#[doc = $variant_doc:literal])*
                $event:literal => $Variant:ident($Payload:ty) -> $Ack:ty [$limit:ident $(, $flag:ident)*],
            )+
        }
    ) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub enum $Command {
            $( $(#[doc = $variant_doc])* $Variant($Payload), )+
        }

        #[doc = concat!("The `data` of a successful ack to a `", stringify!($Command), "`: one variant per command, holding its table's ack type.")]
        // A reply lives for one ack and is serialized once: boxing its larger results
        // would add an allocation to every ack to save stack bytes.
        #[allow(clippy::large_enum_variant)]
        #[derive(::serde::Serialize)]
        #[serde(untagged)]
        pub enum $Reply {
            $( #[doc = concat!("The ack of `", $event, "`.")] $Variant($Ack), )+
        }

        impl $Reply {
            /// The command this answers.
            pub const fn kind(&self) -> $Kind {
                match self {
                    $( Self::$Variant(_) => $Kind::$Variant, )+
                }
            }
        }

        #[doc = concat!("Which `", stringify!($Command), "` an event names, known before its payload is decoded.")]
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $Kind {
            $( #[doc = concat!("`", $event, "`")] $Variant, )+
        }

        impl $Kind {
            /// The area's event names, in table order.
            pub const NAMES: &'static [&'static str] = &[$($event),+];

            /// The area's commands, in table order.
            pub const ALL: &'static [Self] = &[$(Self::$Variant),+];

            /// What the command does: its row's doc comment.
            pub fn summary(self) -> String {
                let lines: &[&str] = match self {
                    $( Self::$Variant => &[$($variant_doc),*], )+
                };
                lines.iter().map(|line| line.trim()).collect::<Vec<_>>().join(" ")
            }

            /// The JSON Schema of the command's payload.
            pub fn payload_schema(self, generator: &mut ::schemars::SchemaGenerator) -> ::schemars::Schema {
                match self {
                    $( Self::$Variant => generator.subschema_for::<$Payload>(), )+
                }
            }

            /// The JSON Schema of the `data` of the command's successful ack.
            pub fn ack_schema(self, generator: &mut ::schemars::SchemaGenerator) -> ::schemars::Schema {
                match self {
                    $( Self::$Variant => generator.subschema_for::<$Ack>(), )+
                }
            }

            /// The command `event` names, if it is one of the area's.
            pub fn of(event: &str) -> Option<Self> {
                match event {
                    $( $event => Some(Self::$Variant), )+
                    _ => None,
                }
            }

            /// The event name.
            pub const fn name(self) -> &'static str {
                match self {
                    $( Self::$Variant => $event, )+
                }
            }

            /// What the router checks before the command runs.
            pub const fn policy(self) -> $crate::transport::commands::policy::Policy {
                match self {
                    $( Self::$Variant => $crate::transport::commands::policy::Policy {
                        $( $flag: true, )*
                        ..$crate::transport::commands::policy::Policy::limited($crate::ports::limits::LimitClass::$limit)
                    }, )+
                }
            }

            /// Decodes the payload of this command.
            pub fn parse(self, payload: ::serde_json::Value) -> $crate::domain::error::DomainResult<$Command> {
                match self {
                    $( Self::$Variant => $crate::transport::commands::payload::decode::<$Payload>(payload).map($Command::$Variant), )+
                }
            }
        }

        impl $Command {
            /// Which command this is.
            pub const fn kind(&self) -> $Kind {
                match self {
                    $( Self::$Variant(_) => $Kind::$Variant, )+
                }
            }
        }
    };
}

/// Generates `Command` and `CommandKind`, one variant per area, from the list of areas.
macro_rules! areas {
    ($( $(#[$doc:meta])* $Area:ident($Command:ident, $Kind:ident, $Reply:ident), )+) => {
        /// A client command, decoded: one variant per area, wrapping that area's command.
        #[derive(Debug)]
        pub enum Command {
            $( $(#[$doc])* $Area($Command), )+
        }

        /// The `data` of a successful ack: one variant per area, wrapping that area's reply.
        #[derive(::serde::Serialize)]
        #[serde(untagged)]
        pub enum Reply {
            $( $(#[$doc])* $Area($Reply), )+
        }

        impl Reply {
            /// The command this answers.
            pub const fn kind(&self) -> CommandKind {
                match self {
                    $( Self::$Area(reply) => CommandKind::$Area(reply.kind()), )+
                }
            }
        }

        /// Which command an event names, known before its payload is decoded.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum CommandKind {
            $( $(#[$doc])* $Area($Kind), )+
        }

        impl CommandKind {
            /// The command `event` names, if any.
            pub fn of(event: &str) -> Option<Self> {
                $( if let Some(kind) = $Kind::of(event) {
                    return Some(Self::$Area(kind));
                } )+
                None
            }

            /// The event name.
            pub const fn name(self) -> &'static str {
                match self {
                    $( Self::$Area(kind) => kind.name(), )+
                }
            }

            /// What the router checks before the command runs.
            pub const fn policy(self) -> Policy {
                match self {
                    $( Self::$Area(kind) => kind.policy(), )+
                }
            }

            /// Decodes the payload of this command.
            pub fn parse(self, payload: Value) -> DomainResult<Command> {
                match self {
                    $( Self::$Area(kind) => kind.parse(payload).map(Command::$Area), )+
                }
            }

            /// What the command does: its row's doc comment.
            pub fn summary(self) -> String {
                match self {
                    $( Self::$Area(kind) => kind.summary(), )+
                }
            }

            /// The JSON Schema of the command's payload.
            pub fn payload_schema(self, generator: &mut ::schemars::SchemaGenerator) -> ::schemars::Schema {
                match self {
                    $( Self::$Area(kind) => kind.payload_schema(generator), )+
                }
            }

            /// The JSON Schema of the `data` of the command's successful ack.
            pub fn ack_schema(self, generator: &mut ::schemars::SchemaGenerator) -> ::schemars::Schema {
                match self {
                    $( Self::$Area(kind) => kind.ack_schema(generator), )+
                }
            }
        }

        /// Every command, area by area, in table order.
        pub fn all() -> impl Iterator<Item = CommandKind> {
            std::iter::empty()$( .chain($Kind::ALL.iter().map(|kind| CommandKind::$Area(*kind))) )+
        }

        impl Command {
            /// Which command this is.
            pub const fn kind(&self) -> CommandKind {
                match self {
                    $( Self::$Area(command) => CommandKind::$Area(command.kind()), )+
                }
            }
        }

        /// Every event name, area by area.
        pub fn names() -> impl Iterator<Item = &'static str> {
            std::iter::empty()$( .chain($Kind::NAMES.iter().copied()) )+
        }
    };
}

pub mod acks;
pub mod calls;
pub mod chat;
pub mod collab;
pub mod content;
pub mod live;
pub mod payload;
pub mod policy;
pub mod session;
pub mod social;

use serde_json::Value;

use self::calls::{CallCommand, CallKind, CallReply};
use self::chat::{ChatCommand, ChatKind, ChatReply};
use self::collab::{CollabCommand, CollabKind, CollabReply};
use self::content::{ContentCommand, ContentKind, ContentReply};
use self::live::{LiveCommand, LiveKind, LiveReply};
pub use self::policy::Policy;
use self::session::{SessionCommand, SessionKind, SessionReply};
use self::social::{SocialCommand, SocialKind, SocialReply};
use crate::domain::error::{DomainError, DomainResult};

areas! {
    /// Content rooms, comments and rankings.
    Content(ContentCommand, ContentKind, ContentReply),
    /// The socket's own session (`auth:refresh`).
    Session(SessionCommand, SessionKind, SessionReply),
    /// Notifications, feeds, presence and live location.
    Social(SocialCommand, SocialKind, SocialReply),
    /// Chat rooms.
    Chat(ChatCommand, ChatKind, ChatReply),
    /// Live streams, gifts, battles and the wallet.
    Live(LiveCommand, LiveKind, LiveReply),
    /// Collaborative documents.
    Collab(CollabCommand, CollabKind, CollabReply),
    /// Call signalling.
    Calls(CallCommand, CallKind, CallReply),
}

impl Command {
    /// Parses a client command: its kind from the event name, then its payload. The
    /// router's decoding alone, without any check, service call or I/O (the fuzz target
    /// in `fuzz/` runs it).
    pub fn parse(event: &str, payload: Value) -> DomainResult<Self> {
        CommandKind::of(event).ok_or_else(|| unknown_event(event))?.parse(payload)
    }

    /// The event name.
    pub const fn name(&self) -> &'static str {
        self.kind().name()
    }
}

/// The events a guest may send.
pub fn guest_events() -> Vec<&'static str> {
    names().filter(|event| CommandKind::of(event).is_some_and(|kind| kind.policy().guests)).collect()
}

/// The refusal of an event no table lists.
pub fn unknown_event(event: &str) -> DomainError {
    DomainError::bad_request(format!("unknown event: {}", printable(event)))
}

/// An event name safe to echo back: at most 64 printable characters.
fn printable(event: &str) -> String {
    event.chars().filter(|c| !c.is_control()).take(64).collect()
}

#[cfg(test)]
mod tests;
