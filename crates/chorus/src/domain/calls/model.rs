//! The nouns of call signalling: media, why a call ended for someone, the events a
//! state change produces, and the limits deployments tune.

use std::time::Duration;

use serde::Serialize;

use crate::domain::error::{DomainError, DomainResult};
use crate::ports::publisher::ConnectionId;

/// What the call carries (Chorus relays signalling only, never media).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Media {
    Audio,
    Video,
}

impl Media {
    pub fn parse(s: &str) -> DomainResult<Self> {
        match s {
            "audio" => Ok(Self::Audio),
            "video" => Ok(Self::Video),
            _ => Err(DomainError::bad_request("media must be audio or video")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Audio => "audio",
            Self::Video => "video",
        }
    }
}

/// The `reason` of `call:ended`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// Another device of the same user accepted.
    AnsweredElsewhere,
    /// The callee declined (to the callee's other devices; to the caller when nobody
    /// else is left to answer).
    Rejected,
    /// A party hung up.
    Ended,
    /// The caller hung up before anyone answered.
    Cancelled,
    /// Nobody answered within the ring timeout.
    Timeout,
    /// A party's connection dropped.
    Disconnected,
}

impl EndReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AnsweredElsewhere => "answered_elsewhere",
            Self::Rejected => "rejected",
            Self::Ended => "ended",
            Self::Cancelled => "cancelled",
            Self::Timeout => "timeout",
            Self::Disconnected => "disconnected",
        }
    }
}

/// An event a change of call state asks the service to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallEffect {
    /// `call:ended {callId, reason}` to every device of a user, except one.
    EndedForUser { call_id: String, user_id: String, except: Option<ConnectionId>, reason: EndReason },
    /// `call:ended {callId, reason}` to the one device a party uses for the call.
    EndedForConnection { call_id: String, connection: ConnectionId, reason: EndReason },
    /// `call:accepted {callId, userId}` to a party: `user_id` joined the call.
    Accepted { call_id: String, connection: ConnectionId, user_id: String },
    /// `call:left {callId, userId}` to a party of a call that goes on without `user_id`.
    Left { call_id: String, connection: ConnectionId, user_id: String },
    /// A `message` notification for a call `user_id` did not answer.
    Missed { call_id: String, user_id: String, caller_id: String, media: Media, room_id: Option<String> },
}

/// Limits of call signalling.
#[derive(Debug, Clone)]
pub struct CallRules {
    /// An unanswered callee stops ringing (and gets a missed-call notification) after this.
    pub ring_timeout: Duration,
    /// Most people one call rings (a room call rings the room's members).
    pub max_callees: usize,
    /// Largest `signal` (SDP or ICE candidate), as JSON.
    pub max_signal_bytes: usize,
}

impl Default for CallRules {
    fn default() -> Self {
        Self { ring_timeout: Duration::from_secs(30), max_callees: 32, max_signal_bytes: 64 * 1024 }
    }
}
