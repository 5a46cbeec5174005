//! Durable storage of collaborative documents: who may read and edit them, and their
//! content as a Yjs update log compacted into snapshots.

use async_trait::async_trait;

pub use crate::domain::collab::model::DocRecord;
use crate::domain::collab::model::DocRole;
use crate::domain::time::Timestamp;
use crate::ports::store::StoreResult;

/// A document to create, with its first members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDoc {
    pub id: String,
    pub title: String,
    pub owner_id: String,
    /// Without the owner, without duplicates, disjoint from `viewer_ids`.
    pub editor_ids: Vec<String>,
    pub viewer_ids: Vec<String>,
    pub at: Timestamp,
}


/// One user's standing in one document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocAccess {
    pub owner_id: String,
    /// `None` for a stranger.
    pub role: Option<DocRole>,
}

/// The durable content of a document: the newest snapshot, then the updates logged
/// since (an update may also be in the snapshot: Yjs updates are idempotent).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredContent {
    /// The merged state as a Yjs v1 update, and the last log sequence it includes.
    pub snapshot: Option<(Vec<u8>, i64)>,
    /// `(seq, Yjs v1 update)`, by sequence.
    pub updates: Vec<(i64, Vec<u8>)>,
}

/// One Yjs update to log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedUpdate {
    pub doc_id: String,
    /// Per document, assigned by the node that holds the document in memory.
    pub seq: i64,
    pub body: Vec<u8>,
    pub user_id: String,
    pub at: Timestamp,
}

/// Documents, their members and their content.
#[async_trait]
pub trait CollabStore: Send + Sync {
    /// Stores a new document and its members in one write.
    async fn create_doc(&self, doc: &NewDoc) -> StoreResult<DocRecord>;
    async fn doc(&self, doc_id: &str) -> StoreResult<Option<DocRecord>>;
    /// `None` when the document does not exist.
    async fn access(&self, doc_id: &str, user_id: &str) -> StoreResult<Option<DocAccess>>;
    /// Replaces the editors and viewers in one write; `None` when the document is gone.
    async fn set_members(&self, doc_id: &str, editor_ids: &[String], viewer_ids: &[String], at: Timestamp) -> StoreResult<Option<DocRecord>>;
    /// The snapshot and the log, read so that together they miss nothing committed.
    async fn content(&self, doc_id: &str) -> StoreResult<StoredContent>;
    /// Appends one update to the log; durable when this returns.
    async fn append_update(&self, update: &LoggedUpdate) -> StoreResult<()>;
    /// Compaction, in one write: `state` (which includes every update up to and
    /// including `through_seq`) becomes the snapshot unless a newer one is stored, and
    /// the log up to `through_seq` is deleted. Durable when this returns.
    async fn store_snapshot(&self, doc_id: &str, state: &[u8], through_seq: i64, at: Timestamp) -> StoreResult<()>;
}
