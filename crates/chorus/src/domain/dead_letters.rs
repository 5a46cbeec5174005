//! Webhook deliveries that failed until their deadline: listed for the app's backend and
//! replayed on its word (the server API).

use std::sync::Arc;
use std::time::Duration;

use super::error::{DomainError, DomainResult};
use super::text::valid_id;
use super::time::Timestamp;
use crate::ports::outbox::{FailedDelivery, OutboxStore};

/// Largest page of dead letters.
pub const MAX_PAGE: u32 = 200;

pub struct DeadLetters {
    store: Arc<dyn OutboxStore>,
    /// A replayed delivery is retried this long again (`webhook_retry_for_secs`).
    retry_for: Duration,
}

impl DeadLetters {
    pub fn new(store: Arc<dyn OutboxStore>, retry_for: Duration) -> Self {
        Self { store, retry_for }
    }

    /// Dead letters, oldest first, after the one with id `after`.
    pub async fn list(&self, after: Option<&str>, limit: Option<u32>) -> DomainResult<Vec<FailedDelivery>> {
        let limit = limit.unwrap_or(50);
        if limit == 0 || limit > MAX_PAGE {
            return Err(DomainError::bad_request(format!("limit must be 1-{MAX_PAGE}")));
        }
        if let Some(after) = after {
            valid_id("after", after)?;
        }
        Ok(self.store.failed(after, limit).await?)
    }

    /// Owes the dead letter `id` again at once, under the same id, with a new deadline.
    pub async fn replay(&self, id: &str) -> DomainResult<()> {
        valid_id("id", id)?;
        let now = Timestamp::now();
        let give_up_at = now.plus_millis(i64::try_from(self.retry_for.as_millis()).unwrap_or(i64::MAX));
        if !self.store.replay(id, now, give_up_at).await? {
            return Err(DomainError::not_found("no dead letter has this id"));
        }
        Ok(())
    }
}
