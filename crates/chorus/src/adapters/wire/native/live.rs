//! LiveEvents in the native protocol (docs/protocol.md §9).

use serde_json::Value;

use crate::domain::events::LiveEvent;

/// The event name and payload of an event of this area.
pub fn encode(event: &LiveEvent) -> (&'static str, Value) {
    match *event {}
}
