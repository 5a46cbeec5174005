//! Events of collaborative documents: merged updates and awareness.

use serde_json::Value;

use crate::domain::model::UserId;

/// Something that happened in a collaborative document.
#[derive(Debug, Clone, PartialEq)]
pub enum CollabEvent {
    /// An editor's Yjs v1 update was merged and logged.
    Updated { doc_id: String, update: Vec<u8>, user_id: UserId },
    /// A joined client shared its cursor or selection (opaque to Chorus).
    AwarenessShared { doc_id: String, user_id: UserId, state: Value },
    /// A client left the document: the others forget its awareness.
    AwarenessGone { doc_id: String, user_id: UserId },
}

impl CollabEvent {
    /// Whether the event is a coalesced snapshot (see `DomainEvent::is_snapshot`):
    /// none of collab's are.
    pub fn is_snapshot(&self) -> bool {
        false
    }
}
