//! CollabEvents in the native protocol (docs/protocol.md §10.1).

use serde_json::Value;

use crate::domain::events::CollabEvent;

/// The event name and payload of an event of this area.
pub fn encode(event: &CollabEvent) -> (&'static str, Value) {
    match *event {}
}
