//! Durable storage of users, content, interactions and comments.

use async_trait::async_trait;

use crate::domain::model::{
    Comment, CommentPage, CommentPaging, ContentAnalytics, ContentItem, Counts, ProgressReport, RankedItem,
    RankingScope, UserSummary,
};
use crate::domain::error::DomainError;
use crate::domain::time::Timestamp;
use crate::ports::outbox::{Tells, Told};

/// The error a store call failed on (the driver's), kept as the source of a
/// [`StoreError`]. Shared, so one failed batch can answer each of its callers with it.
pub type StoreCause = std::sync::Arc<dyn std::error::Error + Send + Sync>;

/// Why a store call failed. Each variant keeps the driver's error as its source, so a
/// log line shows the whole chain while clients see only the code.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached or timed out: the caller may retry.
    #[error("store unavailable: {context}")]
    Unavailable {
        context: String,
        #[source]
        source: Option<StoreCause>,
    },
    /// A uniqueness rule refused the write (`constraint` names it where the database
    /// says): the thing already exists.
    #[error("store conflict on {constraint}")]
    Conflict {
        constraint: String,
        #[source]
        source: StoreCause,
    },
    /// Anything else: a bug or a broken database.
    #[error("store failure: {context}")]
    Failure {
        context: String,
        #[source]
        source: Option<StoreCause>,
    },
}

impl StoreError {
    /// An outage found without a driver error (a stopped writer, a closing store).
    pub fn unavailable(context: impl Into<String>) -> Self {
        Self::Unavailable { context: context.into(), source: None }
    }

    /// A failure found without a driver error (a row that broke an invariant).
    pub fn failure(context: impl Into<String>) -> Self {
        Self::Failure { context: context.into(), source: None }
    }

    /// The error and each of its sources, joined: what a log line carries.
    pub fn chain(&self) -> String {
        crate::domain::error::error_chain(self)
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// What a client is told of a store error (its cause kept as the source, and logged).
impl From<StoreError> for DomainError {
    fn from(e: StoreError) -> Self {
        let refusal = match &e {
            StoreError::Unavailable { .. } => {
                tracing::error!(error = %e.chain(), "store unavailable");
                DomainError::unavailable("storage is unavailable, try again")
            }
            StoreError::Conflict { .. } => {
                tracing::info!(error = %e.chain(), "store conflict");
                DomainError::conflict("it already exists")
            }
            StoreError::Failure { .. } => DomainError::internal(&e.chain()),
        };
        refusal.caused_by(e)
    }
}

/// A profile written by the server API or taken from token claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileUpdate {
    pub id: String,
    pub username: Option<String>,
    pub avatar: Option<String>,
    pub verified: Option<bool>,
    /// True for the server API (authoritative); false for token claims, which only
    /// create a profile or fill what it lacks.
    pub authoritative: bool,
}

/// Content registration by the app backend or by a creator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentRegistration {
    pub id: String,
    pub content_type: String,
    pub owner_id: Option<String>,
    pub title: Option<String>,
}

/// The outcome of setting a like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LikeOutcome {
    /// False when the like already had the requested state (idempotent no-op).
    pub changed: bool,
    pub is_liked: bool,
    pub counts: Counts,
}

/// The outcome of recording a view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ViewOutcome {
    /// False when this viewer was already counted within the window.
    pub counted: bool,
    pub counts: Counts,
}

/// A new comment to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewComment {
    pub id: String,
    pub content_id: String,
    pub parent_id: Option<String>,
    pub author_id: String,
    pub text: String,
    pub at: Timestamp,
}

/// The outcome of a reaction change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReactionOutcome {
    pub reacted: bool,
    pub count: i64,
}

/// Users and profiles.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Creates or updates a profile; `None` fields keep their stored value.
    async fn upsert_profile(&self, profile: &ProfileUpdate) -> StoreResult<UserSummary>;
    async fn user(&self, id: &str) -> StoreResult<Option<UserSummary>>;
    async fn user_by_username(&self, username: &str) -> StoreResult<Option<UserSummary>>;
}

/// Content items, their counters, likes, views, shares, comments and analytics.
#[async_trait]
pub trait ContentStore: Send + Sync {
    /// Registers an item (type, owner, title), creating it if needed.
    async fn register_content(&self, reg: &ContentRegistration) -> StoreResult<ContentItem>;
    /// Returns the item, creating an ownerless one of `default_type` when it is unknown.
    async fn ensure_content(&self, id: &str, default_type: &str) -> StoreResult<ContentItem>;
    async fn content(&self, id: &str) -> StoreResult<Option<ContentItem>>;
    async fn counts(&self, id: &str) -> StoreResult<Counts>;
    async fn is_liked(&self, content_id: &str, user_id: &str) -> StoreResult<bool>;
    /// Sets (`Some`) or toggles (`None`) the like of `user_id` on `content_id`, decided
    /// inside the write so concurrent toggles never both see the old state. `tells` is
    /// the event the outcome means (recorded in the outbox with the like).
    async fn set_like(&self, content_id: &str, user_id: &str, like: Option<bool>, at: Timestamp, tells: Tells<LikeOutcome>)
    -> StoreResult<Told<LikeOutcome>>;
    /// Counts a view unless this viewer was counted after `window_start`.
    async fn record_view(
        &self,
        content_id: &str,
        viewer_key: &str,
        at: Timestamp,
        window_start: Timestamp,
    ) -> StoreResult<ViewOutcome>;
    async fn record_share(&self, content_id: &str, user_id: &str, channel: Option<&str>, at: Timestamp, tells: Tells<Counts>)
    -> StoreResult<Told<Counts>>;
    /// Stores a comment and returns it with the new counters.
    async fn insert_comment(&self, comment: &NewComment, tells: Tells<(Comment, Counts)>) -> StoreResult<Told<(Comment, Counts)>>;
    /// A comment that is not deleted.
    async fn comment(&self, id: &str) -> StoreResult<Option<Comment>>;
    async fn edit_comment(&self, id: &str, text: &str, at: Timestamp) -> StoreResult<Option<Comment>>;
    /// Soft-deletes a comment; returns the new counters, or `None` if it was not there.
    async fn delete_comment(&self, id: &str, at: Timestamp, tells: Tells<Option<Counts>>) -> StoreResult<Told<Option<Counts>>>;
    /// Top-level comments (or the replies of `parent_id`), newest first.
    async fn comments(&self, content_id: &str, parent_id: Option<&str>, paging: &CommentPaging)
    -> StoreResult<CommentPage>;
    async fn set_comment_reaction(&self, comment_id: &str, user_id: &str, emoji: &str, on: Option<bool>, at: Timestamp)
    -> StoreResult<ReactionOutcome>;
    async fn record_progress(&self, report: &ProgressReport) -> StoreResult<()>;
    /// Aggregates of views and watch progress.
    async fn analytics(&self, content_id: &str) -> StoreResult<ContentAnalytics>;
    /// The most liked items of a scope.
    async fn top_content(&self, scope: &RankingScope, limit: u32) -> StoreResult<Vec<RankedItem>>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::error::ErrorCode;

    #[test]
    fn a_store_error_stays_the_source_of_the_refusal_and_the_code_is_unchanged() {
        let driver = std::io::Error::other("connection reset");
        let store = StoreError::Unavailable { context: "reading".into(), source: Some(std::sync::Arc::new(driver)) };
        let refusal = DomainError::from(store);
        assert_eq!((refusal.code, refusal.message.as_str()), (ErrorCode::Unavailable, "storage is unavailable, try again"));
        let source = std::error::Error::source(&refusal).expect("the store error is the source");
        assert_eq!(source.to_string(), "store unavailable: reading");
        assert_eq!(
            refusal.chain(),
            "unavailable: storage is unavailable, try again: store unavailable: reading: connection reset"
        );
        assert_eq!(refusal, DomainError::unavailable("storage is unavailable, try again"), "the cause is not part of what a client sees");
        let failure = DomainError::from(StoreError::failure("row vanished"));
        assert_eq!((failure.code, failure.message.as_str()), (ErrorCode::Internal, "internal error"));
        assert!(failure.chain().ends_with("store failure: row vanished"), "{}", failure.chain());
    }
}
