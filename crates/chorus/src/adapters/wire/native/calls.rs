//! Call events in the native protocol (docs/protocol.md §10).

use serde::Serialize;
use serde_json::Value;

use super::wire;
use crate::domain::calls::model::{EndReason, Media};
use crate::domain::events::CallEvent;
use crate::domain::model::UserSummary;

native_events! {
    /// A call rings the callee's devices.
    "call:incoming" => CallIncoming<'a> [to "user:{userId}"],
    /// A party relayed a signal (SDP, ICE) to this party's call socket.
    "call:signal" => CallSignal<'a> [to "connection"],
    /// A callee joined the call.
    "call:accepted" => CallAccepted<'a> [to "user:{userId}"],
    /// A party left a call that goes on.
    "call:left" => CallLeft<'a> [to "user:{userId}"],
    /// The call ended or stopped ringing on this device, and why.
    "call:ended" => CallEnded<'a> [to "user:{userId}", "connection"],
}

/// `call:incoming`.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CallIncoming<'a> {
    pub call_id: &'a str,
    pub from: &'a UserSummary,
    pub media: Media,
    /// The chat room of a room call; absent for a direct call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub room_id: Option<&'a str>,
}

/// `call:signal`.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CallSignal<'a> {
    pub call_id: &'a str,
    pub from_user_id: &'a str,
    /// Opaque to the server.
    pub signal: &'a Value,
}

/// `call:accepted`.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CallAccepted<'a> {
    pub call_id: &'a str,
    pub user_id: &'a str,
}

/// `call:left`.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CallLeft<'a> {
    pub call_id: &'a str,
    pub user_id: &'a str,
}

/// `call:ended`.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CallEnded<'a> {
    pub call_id: &'a str,
    pub reason: EndReason,
}

/// The event name and payload of a call event.
pub fn encode(event: &CallEvent) -> Option<(&'static str, Value)> {
    let encoded = match event {
        // The callee finds it in their inbox.
        CallEvent::Missed { .. } => return None,
        CallEvent::Ringing { call_id, from, media, room_id } => {
            wire(&CallIncoming { call_id, from, media: *media, room_id: room_id.as_deref() })
        }
        CallEvent::SignalRelayed { call_id, from_user_id, signal } => wire(&CallSignal { call_id, from_user_id, signal }),
        CallEvent::Accepted { call_id, user_id } => wire(&CallAccepted { call_id, user_id }),
        CallEvent::Left { call_id, user_id } => wire(&CallLeft { call_id, user_id }),
        CallEvent::Ended { call_id, reason } => wire(&CallEnded { call_id, reason: *reason }),
    };
    Some(encoded)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::calls::model::{EndReason, Media};
    use crate::domain::model::UserSummary;

    #[test]
    fn a_direct_call_rings_without_a_room_id_and_a_room_call_with_one() {
        let from = UserSummary::unknown("ann");
        let direct = CallEvent::Ringing { call_id: "c".into(), from: from.clone(), media: Media::Audio, room_id: None };
        assert_eq!(encode(&direct), Some(("call:incoming", json!({ "callId": "c", "from": from, "media": "audio" }))));
        let room = CallEvent::Ringing { call_id: "c".into(), from: from.clone(), media: Media::Video, room_id: Some("r".into()) };
        assert_eq!(encode(&room), Some(("call:incoming", json!({ "callId": "c", "from": from, "media": "video", "roomId": "r" }))));
    }

    #[test]
    fn events_keep_their_documented_names_and_fields() {
        let signal = json!({ "sdp": "v=0" });
        let relayed = CallEvent::SignalRelayed { call_id: "c".into(), from_user_id: "ann".into(), signal: signal.clone() };
        assert_eq!(encode(&relayed), Some(("call:signal", json!({ "callId": "c", "fromUserId": "ann", "signal": signal }))));
        let accepted = CallEvent::Accepted { call_id: "c".into(), user_id: "bob".into() };
        assert_eq!(encode(&accepted), Some(("call:accepted", json!({ "callId": "c", "userId": "bob" }))));
        let left = CallEvent::Left { call_id: "c".into(), user_id: "bob".into() };
        assert_eq!(encode(&left), Some(("call:left", json!({ "callId": "c", "userId": "bob" }))));
        let ended = CallEvent::Ended { call_id: "c".into(), reason: EndReason::AnsweredElsewhere };
        assert_eq!(encode(&ended), Some(("call:ended", json!({ "callId": "c", "reason": "answered_elsewhere" }))));
        assert!(!ended.is_snapshot());
        let missed = CallEvent::Missed { call_id: "c".into(), user_id: "bob".into(), caller_id: "ann".into(), media: Media::Audio, room_id: None };
        assert_eq!(encode(&missed), None, "a missed call reaches the callee as a notification");
    }
}
