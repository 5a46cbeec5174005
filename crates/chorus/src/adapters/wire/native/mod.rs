//! The native encoder: each domain event under its docs/protocol.md event name and
//! payload shape, one file per area. The one place those names and shapes are written
//! for the areas that emit domain events. The publisher behind it serializes each
//! broadcast once.
//!
//! Every payload is a typed struct that derives `Serialize` and `JsonSchema`, listed in
//! its area's `native_events!` table with its event name and the rooms it goes to. The
//! table binds the name to the type (`WireEvent::NAME`), so `wire(&payload)` is the only
//! way an encoder names an event, and the generated contract (`transport/contract`)
//! reads the same tables: an event the encoder can send is an event the contract names.
//! `session.rs` holds the events of one connection that the socket door sends itself
//! (`session:ready`, `error`, `auth:expired`).

/// Generates an area's event table: each row binds an event name to its payload type
/// (`WireEvent`) and says which rooms it goes to, and whether it is a coalesced snapshot
/// (`coalesced`: each node sends it each tick, without `seq`) or sent to the socket
/// directly rather than through the publisher (`unsequenced`: without `seq` too).
///
/// ```text
/// /// A like changed (the doc comment is the event's summary).
/// "content:like" => ContentLike<'a> [to "content:{contentId}"],
/// "content:counts" => ContentCounts<'a> [to "content:{contentId}"; coalesced],
/// ```
macro_rules! native_events {
    (@coalesced coalesced) => { true };
    (@coalesced $($flag:ident)?) => { false };
    (@sequenced coalesced) => { false };
    (@sequenced unsequenced) => { false };
    (@sequenced) => { true };
    ($(
        $(#[doc = $doc:literal])*
        $name:literal => $Payload:ident $(<$lt:lifetime>)? [to $($room:literal),+ $(; $flag:ident)?],
    )+) => {
        $(
            impl$(<$lt>)? $crate::adapters::wire::native::WireEvent for $Payload$(<$lt>)? {
                const NAME: &'static str = $name;
            }
        )+

        /// The area's events: name, payload schema, rooms.
        pub const EVENTS: &[$crate::adapters::wire::native::EventSpec] = &[
            $( $crate::adapters::wire::native::EventSpec {
                name: $name,
                summary: &[$($doc),*],
                rooms: &[$($room),+],
                coalesced: native_events!(@coalesced $($flag)?),
                sequenced: native_events!(@sequenced $($flag)?),
                schema: $crate::adapters::wire::native::schema_of::<$Payload>,
            }, )+
        ];
    };
}

pub mod account;
pub mod calls;
pub mod chat;
pub mod collab;
pub mod content;
pub mod live;
pub mod session;
pub mod social;

use std::sync::Arc;

use async_trait::async_trait;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::Serialize;
use serde_json::Value;

use crate::domain::events::DomainEvent;
use crate::ports::events::EventSink;
use crate::ports::publisher::{Audience, EventPublisher};

/// A payload the native protocol sends under one event name (given by the area's
/// `native_events!` table).
pub trait WireEvent: Serialize + JsonSchema {
    /// The Socket.IO event name.
    const NAME: &'static str;
}

/// An event of the native protocol, as the contract describes it.
#[derive(Debug, Clone, Copy)]
pub struct EventSpec {
    /// The Socket.IO event name.
    pub name: &'static str,
    /// The lines of the row's doc comment.
    pub summary: &'static [&'static str],
    /// The rooms (or audiences: `everyone`, `connection`) it goes to.
    pub rooms: &'static [&'static str],
    /// A coalesced snapshot: sent by each node each tick, without `seq`.
    pub coalesced: bool,
    /// Carries `seq` (docs/protocol.md §1.1): neither coalesced nor sent to the socket
    /// directly.
    pub sequenced: bool,
    /// The JSON Schema of its payload.
    pub schema: fn(&mut SchemaGenerator) -> Schema,
}

/// The schema of `T` (the table's `schema` for one row).
pub fn schema_of<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<T>()
}

/// Every event of the native protocol, area by area.
pub fn events() -> impl Iterator<Item = &'static EventSpec> {
    [session::EVENTS, content::EVENTS, chat::EVENTS, social::EVENTS, live::EVENTS, calls::EVENTS, collab::EVENTS].into_iter().flatten()
}

/// The event name and payload of a typed payload.
pub fn wire<P: WireEvent>(payload: &P) -> (&'static str, Value) {
    let value = serde_json::to_value(payload).unwrap_or_else(|e| {
        // Only a map with non-string keys fails, and no payload has one.
        tracing::error!(event = P::NAME, error = %e, "payload not serializable");
        Value::Null
    });
    (P::NAME, value)
}

/// The event name and payload of `event` in the native protocol; `None` for an event
/// only the server's own consumers hear of (a follow, a missed call: notifications),
/// and for a relayed event, whose name is the backend's (`NativeEvents` sends it).
pub fn encode(event: &DomainEvent) -> Option<(&'static str, Value)> {
    match event {
        DomainEvent::Content(e) => Some(content::encode(e)),
        DomainEvent::Chat(e) => Some(chat::encode(e)),
        DomainEvent::Social(e) => social::encode(e),
        DomainEvent::Live(e) => Some(live::encode(e)),
        DomainEvent::Calls(e) => calls::encode(e),
        DomainEvent::Collab(e) => Some(collab::encode(e)),
        DomainEvent::Account(e) => account::encode(e),
        DomainEvent::Relayed(_) => None,
    }
}

/// Delivers domain events in the native protocol through the publisher.
pub struct NativeEvents {
    publisher: Arc<dyn EventPublisher>,
}

impl NativeEvents {
    pub fn new(publisher: Arc<dyn EventPublisher>) -> Self {
        Self { publisher }
    }
}

#[async_trait]
impl EventSink for NativeEvents {
    async fn emit(&self, to: Audience, event: DomainEvent) {
        if let DomainEvent::Relayed(relayed) = event {
            self.publisher.publish(to, &relayed.name, relayed.data).await;
            return;
        }
        let Some((name, payload)) = encode(&event) else { return };
        if event.is_snapshot() {
            self.publisher.publish_local(to, name, payload).await;
        } else {
            self.publisher.publish(to, name, payload).await;
        }
    }
}
