//! Events of call signalling: ringing, relayed signals, answers, departures, ends.

use serde_json::Value;

use crate::domain::calls::model::{EndReason, Media};
use crate::domain::model::{UserId, UserSummary};

/// Something that happened in a call.
#[derive(Debug, Clone, PartialEq)]
pub enum CallEvent {
    /// A call rings its callee's devices; `room_id` names the chat room of a room call.
    Ringing { call_id: String, from: UserSummary, media: Media, room_id: Option<String> },
    /// A party's SDP offer or answer, or ICE candidate (opaque to Chorus), relayed to
    /// another party.
    SignalRelayed { call_id: String, from_user_id: UserId, signal: Value },
    /// `user_id` accepted and joined the call.
    Accepted { call_id: String, user_id: UserId },
    /// `user_id` left a call that goes on without them.
    Left { call_id: String, user_id: UserId },
    /// The call ended for the one told, for `reason`.
    Ended { call_id: String, reason: EndReason },
    /// `user_id` never answered a call that rang them. No wire event: they find it in
    /// their inbox.
    Missed { call_id: String, user_id: UserId, caller_id: UserId, media: Media, room_id: Option<String> },
}

impl CallEvent {
    /// Whether the event is a coalesced snapshot (see `DomainEvent::is_snapshot`):
    /// none of the calls' are.
    pub fn is_snapshot(&self) -> bool {
        false
    }
}
