//! Where an endpoint's deliveries go: a signed HTTP `POST` (`signed_post`) or a
//! JetStream publish (`jetstream`). The delivery worker claims, retries and settles the
//! same way for both; a sink only makes one attempt and says how it went.

use std::time::Duration;

use async_trait::async_trait;

use crate::ports::outbox::Delivery;

/// Why an attempt failed, and how long the receiver asked to wait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Kept with the delivery (`lastError` of a dead letter).
    pub error: String,
    pub retry_after: Option<Duration>,
}

impl Failure {
    pub fn new(error: impl Into<String>) -> Self {
        Self { error: error.into(), retry_after: None }
    }
}

/// One attempt at one delivery.
#[async_trait]
pub trait Sink: Send + Sync {
    /// `Ok` once the receiver has taken `delivery` for good (a 2xx answer, a JetStream
    /// acknowledgement).
    async fn send(&self, delivery: &Delivery) -> Result<(), Failure>;
}
