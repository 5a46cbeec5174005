//! Collab events in the native protocol (docs/protocol.md §10.1).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};

use crate::domain::events::CollabEvent;

/// The event name and payload of a collab event. Updates travel as standard base64
/// with padding, as Yjs apps write it.
pub fn encode(event: &CollabEvent) -> (&'static str, Value) {
    match event {
        CollabEvent::Updated { doc_id, update, user_id } => {
            ("collab:update", json!({ "docId": doc_id, "update": BASE64.encode(update), "userId": user_id }))
        }
        CollabEvent::AwarenessShared { doc_id, user_id, state } => {
            ("collab:awareness", json!({ "docId": doc_id, "userId": user_id, "state": state }))
        }
        CollabEvent::AwarenessGone { doc_id, user_id } => {
            ("collab:awareness", json!({ "docId": doc_id, "userId": user_id, "state": Value::Null }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn updates_travel_as_padded_base64() {
        let updated = CollabEvent::Updated { doc_id: "d".into(), update: vec![1, 2, 3, 4], user_id: "ann".into() };
        assert_eq!(encode(&updated), ("collab:update", json!({ "docId": "d", "update": "AQIDBA==", "userId": "ann" })));
        assert!(!updated.is_snapshot());
    }

    #[test]
    fn a_client_that_left_has_a_null_awareness_state() {
        let state = json!({ "cursor": 3 });
        let shared = CollabEvent::AwarenessShared { doc_id: "d".into(), user_id: "ann".into(), state: state.clone() };
        assert_eq!(encode(&shared), ("collab:awareness", json!({ "docId": "d", "userId": "ann", "state": state })));
        let gone = CollabEvent::AwarenessGone { doc_id: "d".into(), user_id: "ann".into() };
        assert_eq!(encode(&gone), ("collab:awareness", json!({ "docId": "d", "userId": "ann", "state": null })));
    }
}
