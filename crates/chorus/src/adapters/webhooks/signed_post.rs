//! A webhook endpoint of the app's backend: each delivery `POST`ed and signed as
//! Standard Webhooks define (`webhook-id`, `webhook-timestamp`,
//! `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`); a 2xx answer
//! takes it, anything else (another status, a timeout, a refused connection) fails the
//! attempt, with the endpoint's `Retry-After` when it sends one.

use std::time::Duration;

use async_trait::async_trait;

use super::sink::{Failure, Sink};
use crate::domain::error::error_chain;
use crate::domain::time::Timestamp;
use crate::ports::outbox::Delivery;

/// Longest part of an endpoint's error answer kept with the delivery.
const MAX_ANSWER_CHARS: usize = 200;

/// One endpoint's URL, signer and HTTP client.
pub struct SignedPost {
    pub url: String,
    pub signer: standardwebhooks::Webhook,
    pub client: reqwest::Client,
}

#[async_trait]
impl Sink for SignedPost {
    async fn send(&self, delivery: &Delivery) -> Result<(), Failure> {
        let timestamp = Timestamp::now().millis() / 1000;
        let signature = self.signer.sign(&delivery.id, timestamp, delivery.body.as_bytes()).map_err(|e| Failure::new(format!("not signed: {e}")))?;
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
            Err(e) if e.is_timeout() => return Err(Failure::new("timed out")),
            Err(e) => return Err(Failure::new(error_chain(&e))),
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
