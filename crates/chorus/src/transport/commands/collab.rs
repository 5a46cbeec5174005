//! Commands of collaborative documents (PROTOCOL.md §10): `collab:*`.

use serde::Deserialize;

use super::acks::Done;
use crate::domain::collab::model::JoinedDoc;
use serde_json::Value;

command_table! {
    /// A command of collaborative documents.
    pub enum CollabCommand, kind CollabKind, reply CollabReply {
        /// Open a document: its state and who is editing.
        "collab:join" => Join(DocRef) -> JoinedDoc [Joins, joins_room],
        /// Close a document.
        "collab:leave" => Leave(DocRef) -> Done [Commands],
        /// Apply an update to a document.
        "collab:update" => Update(Update) -> Done [Commands],
        /// Share one's cursor and selection with the other editors.
        "collab:awareness" => Awareness(Awareness) -> Done [Typing],
    }
}

/// A document.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DocRef {
    pub doc_id: String,
}

/// `collab:update`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Update {
    pub doc_id: String,
    /// The update, base64.
    pub update: String,
}

/// `collab:awareness`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Awareness {
    pub doc_id: String,
    /// Opaque to the server; `null` clears the sender's state for the others.
    #[serde(default)]
    pub state: Value,
}
