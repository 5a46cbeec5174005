//! AccountEvents in the native protocol (docs/protocol.md §11).

use serde_json::Value;

use crate::domain::events::AccountEvent;

/// The event name and payload of an event of this area.
pub fn encode(event: &AccountEvent) -> (&'static str, Value) {
    match *event {}
}
