//! The delivery worker of one endpoint: claims due deliveries from the outbox, POSTs
//! each, signed as Standard Webhooks define (`webhook-id`, `webhook-timestamp`,
//! `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`), and settles
//! it: gone on a 2xx, retried later on anything else (another status, a timeout, a
//! refused connection), a dead letter once its deadline has passed.
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
use crate::domain::time::Timestamp;
use crate::ports::outbox::{Delivery, OutboxStore};

/// How often a worker looks for due retries when nothing wakes it.
const POLL: Duration = Duration::from_millis(500);

/// Longest part of an endpoint's error answer kept with the delivery.
const MAX_ANSWER_CHARS: usize = 200;

/// Where and how one endpoint is delivered to.
pub struct EndpointWorker {
    pub store: Arc<dyn OutboxStore>,
    pub name: String,
    pub url: String,
    pub signer: standardwebhooks::Webhook,
    pub client: reqwest::Client,
    /// This node, as the claims name it.
    pub node: String,
    /// Woken when a delivery is recorded or replayed.
    pub wake: Arc<Notify>,
    pub retry: RetryPolicy,
    pub concurrency: usize,
    /// How long a claim holds: longer than an attempt can take.
    pub lease: Duration,
}

/// Why an attempt failed, and how long the endpoint asked to wait.
struct Failure {
    error: String,
    retry_after: Option<Duration>,
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
        let outcome = self.send(&delivery).await;
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

    /// POSTs the signed delivery; `Ok` on a 2xx answer.
    async fn send(&self, delivery: &Delivery) -> Result<(), Failure> {
        let timestamp = Timestamp::now().millis() / 1000;
        let signature = self
            .signer
            .sign(&delivery.id, timestamp, delivery.body.as_bytes())
            .map_err(|e| Failure { error: format!("not signed: {e}"), retry_after: None })?;
        let sent = self
            .client
            .post(&self.url)
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(standardwebhooks::HEADER_WEBHOOK_ID, &delivery.id)
            .header(standardwebhooks::HEADER_WEBHOOK_TIMESTAMP, timestamp.to_string())
            .header(standardwebhooks::HEADER_WEBHOOK_SIGNATURE, signature)
            .body(delivery.body.clone())
            .send()
            .await;
        let answer = match sent {
            Ok(answer) => answer,
            Err(e) if e.is_timeout() => return Err(Failure { error: "timed out".into(), retry_after: None }),
            Err(e) => return Err(Failure { error: crate::domain::error::error_chain(&e), retry_after: None }),
        };
        let status = answer.status();
        if status.is_success() {
            return Ok(());
        }
        let retry_after = answer
            .headers()
            .get(http::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let text = answer.text().await.unwrap_or_default();
        let excerpt: String = text.chars().take(MAX_ANSWER_CHARS).collect();
        let error = if excerpt.is_empty() { format!("HTTP {}", status.as_u16()) } else { format!("HTTP {}: {excerpt}", status.as_u16()) };
        Err(Failure { error, retry_after })
    }
}

fn count(endpoint: &str, outcome: &'static str) {
    metrics::counter!("chorus_webhook_deliveries_total", "endpoint" => endpoint.to_owned(), "outcome" => outcome).increment(1);
}
