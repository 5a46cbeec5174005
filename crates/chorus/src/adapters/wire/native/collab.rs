//! Collab events in the native protocol (docs/protocol.md §10.1).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Serialize;
use serde_json::Value;

use super::wire;
use crate::domain::events::CollabEvent;

native_events! {
    /// An editor's Yjs update, relayed to the other sockets in the document.
    "collab:update" => CollabUpdate<'a> [to "collab:{docId}"],
    /// A participant's awareness state (cursor, selection), or `null` when they left.
    "collab:awareness" => CollabAwareness<'a> [to "collab:{docId}"],
}

/// `collab:update`.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CollabUpdate<'a> {
    pub doc_id: &'a str,
    /// The Yjs update, base64.
    pub update: String,
    pub user_id: &'a str,
}

/// `collab:awareness`.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CollabAwareness<'a> {
    pub doc_id: &'a str,
    pub user_id: &'a str,
    /// The client's awareness state; `null` when the participant left.
    pub state: Option<&'a Value>,
}

/// The event name and payload of a collab event. Updates travel as standard base64
/// with padding, as Yjs apps write it.
pub fn encode(event: &CollabEvent) -> (&'static str, Value) {
    match event {
        CollabEvent::Updated { doc_id, update, user_id } => wire(&CollabUpdate { doc_id, update: BASE64.encode(update), user_id }),
        CollabEvent::AwarenessShared { doc_id, user_id, state } => wire(&CollabAwareness { doc_id, user_id, state: Some(state) }),
        CollabEvent::AwarenessGone { doc_id, user_id } => wire(&CollabAwareness { doc_id, user_id, state: None }),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

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
