//! Durable storage of server-wide sanctions, token revocations and the audit log.

use async_trait::async_trait;

use crate::domain::time::Timestamp;
use crate::ports::outbox::{Tells, Told};
use crate::ports::store::StoreResult;

/// A server-wide sanction of one kind (`ban` or `mute`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SanctionRecord {
    pub user_id: String,
    pub kind: String,
    /// `None` = until lifted.
    pub until: Option<Timestamp>,
    pub reason: Option<String>,
}

/// One moderation action, kept for review.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    pub id: String,
    /// `backend` for the server API, else the acting user's id.
    pub actor: String,
    pub action: String,
    pub user_id: String,
    /// `global` or `stream:{id}`.
    pub scope: String,
    pub reason: Option<String>,
    pub duration_sec: Option<i64>,
    pub at: Timestamp,
}

#[async_trait]
pub trait SanctionStore: Send + Sync {
    async fn put_sanction(&self, s: &SanctionRecord, at: Timestamp, tells: Tells<()>) -> StoreResult<Told<()>>;
    /// Returns false when there was none.
    async fn remove_sanction(&self, user_id: &str, kind: &str) -> StoreResult<bool>;
    /// Sanctions still in force at `now`.
    async fn active_sanctions(&self, now: Timestamp) -> StoreResult<Vec<SanctionRecord>>;
    async fn revoke_tokens_before(&self, user_id: &str, before: Timestamp) -> StoreResult<()>;
    async fn revocations(&self) -> StoreResult<Vec<(String, Timestamp)>>;
    async fn append_audit(&self, entry: &AuditEntry) -> StoreResult<()>;
    /// Newest first, strictly before the cursor entry id.
    async fn audit(&self, before: Option<&str>, limit: u32) -> StoreResult<Vec<AuditEntry>>;
}
