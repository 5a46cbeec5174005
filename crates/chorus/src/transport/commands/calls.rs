//! Commands of call signalling (PROTOCOL.md §10): `call:*`.

use serde::Deserialize;

use super::acks::Done;
use crate::domain::calls::{CallJoined, CallPlaced};
use serde_json::Value;

use crate::domain::calls::InviteInput;

command_table! {
    /// A command of call signalling.
    pub enum CallCommand, kind CallKind, reply CallReply {
        /// Call a user or a room.
        "call:invite" => Invite(InviteInput) -> CallPlaced [Commands],
        /// Accept a call.
        "call:accept" => Accept(CallRef) -> CallJoined [Commands],
        /// Reject a call.
        "call:reject" => Reject(CallRef) -> Done [Commands],
        /// End or leave a call.
        "call:end" => End(CallRef) -> Done [Commands],
        /// Relay a WebRTC signal to another party of the call.
        "call:signal" => Signal(Signal) -> Done [Commands],
    }
}

/// A call.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CallRef {
    pub call_id: String,
}

/// `call:signal`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Signal {
    pub call_id: String,
    pub to_user_id: String,
    /// Opaque to the server (an SDP offer or answer, an ICE candidate).
    #[serde(default)]
    pub signal: Value,
}
