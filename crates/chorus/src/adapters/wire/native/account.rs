//! AccountEvents in the native protocol: none is a socket event (a banned user's
//! sockets are closed, a refused text's author hears the command's error), so this area
//! encodes nothing.

use serde_json::Value;

use crate::domain::events::AccountEvent;

/// The event name and payload of an event of this area: none.
pub fn encode(_event: &AccountEvent) -> Option<(&'static str, Value)> {
    None
}
