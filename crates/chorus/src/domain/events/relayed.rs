//! An event the app's backend sends its users through the server API
//! (`POST /api/server/emit`): its own name and data, which Chorus relays as they are.

use serde_json::Value;

/// The backend's event, relayed unchanged to its audience.
#[derive(Debug, Clone, PartialEq)]
pub struct RelayedEvent {
    /// The backend's event name (the server API refuses the names Socket.IO reserves).
    pub name: String,
    pub data: Value,
}
