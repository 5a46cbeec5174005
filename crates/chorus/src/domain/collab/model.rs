//! The nouns of collaborative documents, their wire shapes and the rules deployments
//! tune.

use std::time::Duration;

use serde::Serialize;

use crate::domain::time::Timestamp;

/// A stored document and its members (not its content).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocRecord {
    pub id: String,
    pub title: String,
    pub owner_id: String,
    pub editor_ids: Vec<String>,
    pub viewer_ids: Vec<String>,
    pub created_at: Timestamp,
}

/// What a user may do in a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DocRole {
    /// Created the document; edits and manages editors and viewers.
    Owner,
    Editor,
    /// Reads the document and shares a cursor, never edits.
    Viewer,
}

impl DocRole {
    /// The stored spelling of a member's role (the owner is not a member row).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Editor => "editor",
            Self::Viewer => "viewer",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "owner" => Some(Self::Owner),
            "editor" => Some(Self::Editor),
            "viewer" => Some(Self::Viewer),
            _ => None,
        }
    }

    pub fn can_edit(self) -> bool {
        matches!(self, Self::Owner | Self::Editor)
    }

    /// The role of `user_id` in a document with these members; `None` for a stranger.
    pub fn of(user_id: &str, doc: &DocRecord) -> Option<Self> {
        if doc.owner_id == user_id {
            Some(Self::Owner)
        } else if doc.editor_ids.iter().any(|e| e == user_id) {
            Some(Self::Editor)
        } else if doc.viewer_ids.iter().any(|v| v == user_id) {
            Some(Self::Viewer)
        } else {
            None
        }
    }
}

/// A document as its members see it over REST (`POST /api/docs`, `GET /api/docs/{id}`).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DocView {
    pub id: String,
    pub title: String,
    pub owner_id: String,
    pub editor_ids: Vec<String>,
    pub viewer_ids: Vec<String>,
    pub created_at: Timestamp,
    /// The caller's role.
    pub role: DocRole,
    pub can_edit: bool,
}

impl DocView {
    pub fn new(doc: DocRecord, role: DocRole) -> Self {
        Self {
            id: doc.id,
            title: doc.title,
            owner_id: doc.owner_id,
            editor_ids: doc.editor_ids,
            viewer_ids: doc.viewer_ids,
            created_at: doc.created_at,
            role,
            can_edit: role.can_edit(),
        }
    }
}

/// Ack of `collab:join`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JoinedDoc {
    pub doc_id: String,
    /// The whole document as one Yjs v1 update, base64.
    pub state: String,
    pub can_edit: bool,
    pub role: DocRole,
}

/// Limits of the collaboration area.
#[derive(Debug, Clone)]
pub struct CollabRules {
    /// Past this many logged updates, a document's log is folded into a snapshot.
    pub compact_every: usize,
    /// Documents held in memory at once.
    pub max_open_docs: usize,
    /// A document nobody watches is dropped from memory after this long unused.
    pub idle_after: Duration,
    /// Largest Yjs update, decoded.
    pub max_update_bytes: usize,
    /// Largest awareness state, as JSON.
    pub max_awareness_bytes: usize,
    /// Largest list of editors or of viewers.
    pub max_members: usize,
    /// Longest title, in characters.
    pub max_title_chars: usize,
    /// Documents one connection may have joined at once.
    pub max_joined_per_connection: usize,
}

impl Default for CollabRules {
    fn default() -> Self {
        Self {
            compact_every: 200,
            max_open_docs: 1000,
            idle_after: Duration::from_secs(300),
            max_update_bytes: 512 * 1024,
            max_awareness_bytes: 8 * 1024,
            max_members: 500,
            max_title_chars: 200,
            max_joined_per_connection: 50,
        }
    }
}
