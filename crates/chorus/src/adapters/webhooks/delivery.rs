//! The delivery worker of one endpoint: claims due deliveries from the outbox, hands
//! each to the endpoint's sink (a signed `POST`, a JetStream publish), and settles it:
//! gone once the sink took it, retried later when the attempt failed, a dead letter
//! once its deadline has passed.
//!
//! At most `concurrency` deliveries are in flight; an endpoint that is slow or down
//! holds back only its own deliveries. A delivery is claimed under a lease: if this
//! node dies mid-attempt, another node (or this one, restarted) sends it again after
//! the lease, under the same id, so a receiver that keeps ids sees each event once.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::retry::RetryPolicy;
use super::sink::Sink;
use crate::domain::time::Timestamp;
use crate::ports::outbox::{Delivery, OutboxStore};

/// How often a worker looks for due retries when nothing wakes it.
const POLL: Duration = Duration::from_millis(500);

/// Where and how one endpoint is delivered to.
pub struct EndpointWorker {
    pub store: Arc<dyn OutboxStore>,
    pub name: String,
    pub sink: Arc<dyn Sink>,
    /// This node, as the claims name it.
    pub node: String,
    /// Woken when a delivery is recorded or replayed.
    pub wake: Arc<Notify>,
    pub retry: RetryPolicy,
    pub concurrency: usize,
    /// How long a claim holds: longer than an attempt can take.
    pub lease: Duration,
}

impl EndpointWorker {
    /// Delivers until `stop`; the attempts in flight then finish (each is bounded by
    /// the timeout) before it returns.
    pub async fn run(self: Arc<Self>, stop: CancellationToken) {
        let mut in_flight = JoinSet::new();
        let mut failing_claims = false;
        loop {
            let free = self.concurrency.saturating_sub(in_flight.len());
            if free > 0 {
                let now = Timestamp::now();
                let lease_until = now.plus_millis(i64::try_from(self.lease.as_millis()).unwrap_or(i64::MAX));
                let limit = u32::try_from(free).unwrap_or(u32::MAX);
                match self.store.claim(&self.name, &self.node, now, lease_until, limit).await {
                    Ok(claimed) => {
                        failing_claims = false;
                        for delivery in claimed {
                            let worker = self.clone();
                            in_flight.spawn(async move { worker.attempt(delivery).await });
                        }
                    }
                    Err(e) => {
                        // Logged once per streak: the store's own errors are logged too.
                        if !failing_claims {
                            tracing::warn!(endpoint = %self.name, error = %e.chain(), "webhook deliveries not claimed; retrying");
                        }
                        failing_claims = true;
                    }
                }
            }
            tokio::select! {
                () = stop.cancelled() => break,
                () = self.wake.notified() => {}
                Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
                () = tokio::time::sleep(POLL) => {}
            }
        }
        while in_flight.join_next().await.is_some() {}
    }

    /// One attempt of `delivery`, then its outcome stored.
    async fn attempt(&self, delivery: Delivery) {
        let outcome = self.sink.send(&delivery).await;
        let now = Timestamp::now();
        let settled = match outcome {
            Ok(()) => {
                count(&self.name, "delivered");
                self.store.delivered(delivery.seq).await
            }
            Err(failure) => {
                let failures = delivery.attempts.saturating_add(1);
                let delay = self.retry.delay(failures, failure.retry_after);
                let next_at = now.plus_millis(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX));
                if next_at > delivery.give_up_at {
                    count(&self.name, "dead_lettered");
                    tracing::warn!(
                        endpoint = %self.name, id = %delivery.id, event_type = %delivery.event_type, attempts = failures,
                        error = %failure.error, "webhook delivery failed until its deadline: kept as a dead letter"
                    );
                    self.store.dead_letter(delivery.seq, now, &failure.error).await
                } else {
                    count(&self.name, "retried");
                    tracing::debug!(endpoint = %self.name, id = %delivery.id, attempts = failures, error = %failure.error, ?delay, "webhook delivery failed; retrying");
                    self.store.retry_at(delivery.seq, next_at, &failure.error).await
                }
            }
        };
        if let Err(e) = settled {
            tracing::warn!(endpoint = %self.name, id = %delivery.id, error = %e.chain(), "webhook outcome not stored: sent again after its lease");
        }
    }
}

fn count(endpoint: &str, outcome: &'static str) {
    metrics::counter!("chorus_webhook_deliveries_total", "endpoint" => endpoint.to_owned(), "outcome" => outcome).increment(1);
}
