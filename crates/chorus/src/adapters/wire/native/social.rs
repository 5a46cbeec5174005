//! SocialEvents in the native protocol (docs/protocol.md §5, §6, §8, §10).

use serde_json::Value;

use crate::domain::events::SocialEvent;

/// The event name and payload of an event of this area.
pub fn encode(event: &SocialEvent) -> (&'static str, Value) {
    match *event {}
}
