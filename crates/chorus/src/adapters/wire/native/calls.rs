//! Call events in the native protocol (docs/protocol.md §10).

use serde_json::{Value, json};

use crate::domain::events::CallEvent;

/// The event name and payload of a call event.
pub fn encode(event: &CallEvent) -> (&'static str, Value) {
    match event {
        CallEvent::Ringing { call_id, from, media, room_id } => {
            let mut incoming = json!({ "callId": call_id, "from": from, "media": media });
            // A direct call has no `roomId` key at all, not a null one.
            if let (Some(room), Some(obj)) = (room_id, incoming.as_object_mut()) {
                obj.insert("roomId".into(), json!(room));
            }
            ("call:incoming", incoming)
        }
        CallEvent::SignalRelayed { call_id, from_user_id, signal } => {
            ("call:signal", json!({ "callId": call_id, "fromUserId": from_user_id, "signal": signal }))
        }
        CallEvent::Accepted { call_id, user_id } => ("call:accepted", json!({ "callId": call_id, "userId": user_id })),
        CallEvent::Left { call_id, user_id } => ("call:left", json!({ "callId": call_id, "userId": user_id })),
        CallEvent::Ended { call_id, reason } => ("call:ended", json!({ "callId": call_id, "reason": reason })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::calls::model::{EndReason, Media};
    use crate::domain::model::UserSummary;

    #[test]
    fn a_direct_call_rings_without_a_room_id_and_a_room_call_with_one() {
        let from = UserSummary::unknown("ann");
        let direct = CallEvent::Ringing { call_id: "c".into(), from: from.clone(), media: Media::Audio, room_id: None };
        assert_eq!(encode(&direct), ("call:incoming", json!({ "callId": "c", "from": from, "media": "audio" })));
        let room = CallEvent::Ringing { call_id: "c".into(), from: from.clone(), media: Media::Video, room_id: Some("r".into()) };
        assert_eq!(encode(&room), ("call:incoming", json!({ "callId": "c", "from": from, "media": "video", "roomId": "r" })));
    }

    #[test]
    fn events_keep_their_documented_names_and_fields() {
        let signal = json!({ "sdp": "v=0" });
        let relayed = CallEvent::SignalRelayed { call_id: "c".into(), from_user_id: "ann".into(), signal: signal.clone() };
        assert_eq!(encode(&relayed), ("call:signal", json!({ "callId": "c", "fromUserId": "ann", "signal": signal })));
        let accepted = CallEvent::Accepted { call_id: "c".into(), user_id: "bob".into() };
        assert_eq!(encode(&accepted), ("call:accepted", json!({ "callId": "c", "userId": "bob" })));
        let left = CallEvent::Left { call_id: "c".into(), user_id: "bob".into() };
        assert_eq!(encode(&left), ("call:left", json!({ "callId": "c", "userId": "bob" })));
        let ended = CallEvent::Ended { call_id: "c".into(), reason: EndReason::AnsweredElsewhere };
        assert_eq!(encode(&ended), ("call:ended", json!({ "callId": "c", "reason": "answered_elsewhere" })));
        assert!(!ended.is_snapshot());
    }
}
