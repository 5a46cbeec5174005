//! ChatEvents in the native protocol (docs/protocol.md §7).

use serde_json::Value;

use crate::domain::events::ChatEvent;

/// The event name and payload of an event of this area.
pub fn encode(event: &ChatEvent) -> (&'static str, Value) {
    match *event {}
}
