//! CallEvents in the native protocol (docs/protocol.md §10).

use serde_json::Value;

use crate::domain::events::CallEvent;

/// The event name and payload of an event of this area.
pub fn encode(event: &CallEvent) -> (&'static str, Value) {
    match *event {}
}
