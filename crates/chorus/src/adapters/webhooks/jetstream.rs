//! Every event published to a NATS JetStream stream (`events_nats_url`), for backends
//! that consume a stream rather than HTTP: the same outbox, claims, order per subject
//! and retries as a webhook endpoint, under the endpoint name `nats`.
//!
//! An event goes to `{events_nats_subject}.{type}` (`chorus.events.content.liked`) with
//! the webhook body `{type, timestamp, data}` and the headers `Nats-Msg-Id` (the
//! delivery's `msg_…` id, so JetStream drops a retry it already stored) and
//! `Chorus-Subject` (what order is kept per, `content:v1`). An attempt succeeds once
//! JetStream acknowledges the message as stored. The connection and the stream (created
//! when missing, holding `{subject}.>`) are made on the first attempt and made again
//! after a failure, so a NATS server that is down at startup only delays the events.

use std::time::Duration;

use async_nats::jetstream::{self, Context};
use async_trait::async_trait;
use tokio::sync::Mutex;

use super::sink::{Failure, Sink};
use crate::config::NatsEvents;
use crate::domain::error::error_chain;
use crate::ports::outbox::Delivery;

/// The header that names what order is kept per.
const SUBJECT_HEADER: &str = "Chorus-Subject";

/// A JetStream publisher of one stream.
pub struct JetStreamSink {
    settings: NatsEvents,
    timeout: Duration,
    /// The connection with its stream made; `None` until the first attempt, and again
    /// after a publish failed.
    context: Mutex<Option<Context>>,
}

impl JetStreamSink {
    /// A publisher to `settings`' stream; an attempt not acknowledged within `timeout`
    /// failed.
    pub fn new(settings: NatsEvents, timeout: Duration) -> Self {
        Self { settings, timeout, context: Mutex::new(None) }
    }

    /// The subject an event type is published to.
    pub fn subject_of(&self, event_type: &str) -> String {
        format!("{}.{event_type}", self.settings.subject)
    }

    /// The connection, made (with its stream) if there is none.
    async fn context(&self) -> Result<Context, Failure> {
        let mut held = self.context.lock().await;
        if let Some(context) = held.as_ref() {
            return Ok(context.clone());
        }
        let client = async_nats::ConnectOptions::new()
            .name("chorus")
            .connection_timeout(self.timeout)
            .request_timeout(Some(self.timeout))
            .connect(&self.settings.url)
            .await
            .map_err(|e| Failure::new(format!("NATS not reached: {}", error_chain(&e))))?;
        let mut context = jetstream::new(client);
        context.set_timeout(self.timeout);
        let stream = jetstream::stream::Config {
            name: self.settings.stream.clone(),
            subjects: vec![format!("{}.>", self.settings.subject)],
            ..Default::default()
        };
        context
            .get_or_create_stream(stream)
            .await
            .map_err(|e| Failure::new(format!("JetStream stream {:?} not made: {}", self.settings.stream, error_chain(&e))))?;
        tracing::info!(url = %self.settings.url, stream = %self.settings.stream, subject = %self.settings.subject, "publishing events to NATS JetStream");
        *held = Some(context.clone());
        Ok(context)
    }

    /// Forgets the connection after a failure, so the next attempt makes it again.
    async fn reset(&self) {
        *self.context.lock().await = None;
    }
}

#[async_trait]
impl Sink for JetStreamSink {
    async fn send(&self, delivery: &Delivery) -> Result<(), Failure> {
        let context = self.context().await?;
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(async_nats::header::NATS_MESSAGE_ID, delivery.id.as_str());
        headers.insert(SUBJECT_HEADER, delivery.subject.as_str());
        let subject = self.subject_of(&delivery.event_type);
        let published = async { context.publish_with_headers(subject, headers, delivery.body.clone().into()).await?.await };
        match tokio::time::timeout(self.timeout, published).await {
            Ok(Ok(_stored)) => Ok(()),
            Ok(Err(e)) => {
                self.reset().await;
                Err(Failure::new(format!("JetStream publish failed: {}", error_chain(&e))))
            }
            Err(_) => {
                self.reset().await;
                Err(Failure::new("timed out"))
            }
        }
    }
}
