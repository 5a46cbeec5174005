//! Signed webhooks to the app's backend (Standard Webhooks): one more consumer of the
//! domain events, fed through the outbox (`ports::outbox`) so nothing stored goes
//! untold. The router says which deliveries an event owes (`catalog` names the types),
//! the store records them in the write's transaction, and one worker per endpoint
//! (`delivery`) sends them through its sink (`signed_post`, or `jetstream` for the NATS
//! stream of `events_nats_url`), retried with backoff (`retry`) until their deadline.

pub mod catalog;
pub mod delivery;
pub mod jetstream;
pub mod retry;
pub mod signed_post;
pub mod sink;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use serde_json::json;
use tokio::sync::Notify;

use crate::config::{NATS_ENDPOINT, WebhookSettings};
use crate::domain::events::DomainEvent;
use crate::domain::time::Timestamp;
use crate::lifecycle::{Stage, Tasks};
use crate::ports::outbox::{OutboxRouter, OutboxStore, OwedDelivery};
use delivery::EndpointWorker;
use jetstream::JetStreamSink;
use retry::RetryPolicy;
use signed_post::SignedPost;
use sink::Sink;

/// How often the outbox backlog gauges are refreshed.
const BACKLOG_EVERY: Duration = Duration::from_secs(5);

/// One endpoint as the router sees it.
struct Route {
    name: String,
    /// The types it asks for; `None` for all.
    types: Option<HashSet<String>>,
    wake: Arc<Notify>,
}

impl Route {
    fn wants(&self, event_type: &str) -> bool {
        self.types.as_ref().is_none_or(|types| types.contains(event_type))
    }
}

/// The configured endpoints: which deliveries an event owes, and the workers' wake-ups.
pub struct WebhookRouter {
    routes: Vec<Route>,
    retry_for: Duration,
}

impl WebhookRouter {
    /// The router of the configured endpoints; an unknown event type in an endpoint's
    /// filter is an error naming the known ones.
    pub fn new(settings: &WebhookSettings) -> anyhow::Result<Self> {
        let mut routes = Vec::with_capacity(settings.endpoints.len());
        for endpoint in &settings.endpoints {
            let types = endpoint.event_types();
            if let Some(unknown) = types.iter().find(|t| !catalog::TYPES.contains(&t.as_str())) {
                anyhow::bail!("webhook endpoint {:?}: unknown event type {unknown:?} (known: {})", endpoint.name, catalog::TYPES.join(", "));
            }
            let types = (!types.is_empty()).then(|| types.into_iter().collect());
            routes.push(Route { name: endpoint.name.clone(), types, wake: Arc::new(Notify::new()) });
        }
        if settings.nats.is_some() {
            routes.push(Route { name: NATS_ENDPOINT.to_owned(), types: None, wake: Arc::new(Notify::new()) });
        }
        Ok(Self { routes, retry_for: settings.retry_for })
    }

    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    /// Starts one delivery worker per endpoint, and the backlog gauges, in the
    /// publishers' stage of `tasks` (stopped once every socket is closed).
    pub fn start_workers(&self, settings: &WebhookSettings, store: Arc<dyn OutboxStore>, node: &str, tasks: &Tasks) -> anyhow::Result<()> {
        if self.routes.is_empty() {
            return Ok(());
        }
        let client = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            .user_agent(concat!("Chorus-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("building the webhook HTTP client")?;
        let mut sinks: Vec<Arc<dyn Sink>> = Vec::with_capacity(self.routes.len());
        for endpoint in &settings.endpoints {
            let signer = standardwebhooks::Webhook::new(endpoint.secret.expose())
                .map_err(|e| anyhow::anyhow!("webhook endpoint {:?}: the secret is not whsec_ + base64: {e}", endpoint.name))?;
            sinks.push(Arc::new(SignedPost { url: endpoint.url.clone(), signer, client: client.clone() }));
        }
        if let Some(nats) = &settings.nats {
            sinks.push(Arc::new(JetStreamSink::new(nats.clone(), settings.timeout)));
        }
        for (route, sink) in self.routes.iter().zip(sinks) {
            let worker = Arc::new(EndpointWorker {
                store: store.clone(),
                name: route.name.clone(),
                sink,
                node: node.to_owned(),
                wake: route.wake.clone(),
                retry: RetryPolicy { min: settings.retry_min, max: settings.retry_max },
                concurrency: settings.concurrency,
                lease: settings.timeout * 2 + Duration::from_secs(5),
            });
            tasks.spawn_cooperative(Stage::Publishers, "webhook delivery", move |stop| worker.run(stop));
        }
        tasks.spawn_cooperative(Stage::Publishers, "webhook backlog", move |stop| report_backlog(store, stop));
        Ok(())
    }

    /// The deadline of a delivery recorded or replayed at `at`.
    fn give_up_at(&self, at: Timestamp) -> Timestamp {
        at.plus_millis(i64::try_from(self.retry_for.as_millis()).unwrap_or(i64::MAX))
    }
}

impl OutboxRouter for WebhookRouter {
    fn deliveries(&self, event: &DomainEvent, at: Timestamp) -> Vec<OwedDelivery> {
        if self.routes.is_empty() {
            return Vec::new();
        }
        let Some(hook) = catalog::webhook_of(event) else { return Vec::new() };
        let wanting: Vec<&Route> = self.routes.iter().filter(|r| r.wants(hook.event_type)).collect();
        if wanting.is_empty() {
            return Vec::new();
        }
        let body = json!({ "type": hook.event_type, "timestamp": at.to_rfc3339(), "data": hook.data }).to_string();
        wanting
            .into_iter()
            .map(|route| OwedDelivery {
                id: format!("msg_{}", uuid::Uuid::now_v7().simple()),
                endpoint: route.name.clone(),
                event_type: hook.event_type.to_owned(),
                subject: hook.subject.clone(),
                body: body.clone(),
                give_up_at: self.give_up_at(at),
            })
            .collect()
    }

    fn recorded(&self) {
        for route in &self.routes {
            route.wake.notify_one();
        }
    }
}

/// Refreshes `chorus_webhook_outbox_pending` and `chorus_webhook_outbox_dead_letters`
/// (the whole outbox's, the same on every node of a cluster).
async fn report_backlog(store: Arc<dyn OutboxStore>, stop: tokio_util::sync::CancellationToken) {
    let mut tick = tokio::time::interval(BACKLOG_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = stop.cancelled() => return,
        }
        match store.backlog().await {
            Ok(backlog) => {
                metrics::gauge!("chorus_webhook_outbox_pending").set(backlog.pending as f64);
                metrics::gauge!("chorus_webhook_outbox_dead_letters").set(backlog.failed as f64);
            }
            Err(e) => tracing::debug!(error = %e.chain(), "webhook backlog not read"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::secret::Secret;
    use crate::config::WebhookEndpoint;
    use crate::domain::events::{ContentEvent, SocialEvent};

    fn settings(endpoints: &[(&str, &str)]) -> WebhookSettings {
        let mut s = crate::config::Settings::default().webhooks;
        s.endpoints = endpoints
            .iter()
            .map(|(name, events)| WebhookEndpoint {
                name: (*name).into(),
                url: "http://127.0.0.1:9/hook".into(),
                secret: Secret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
                events: (*events).into(),
            })
            .collect();
        s
    }

    #[test]
    fn each_endpoint_that_wants_the_type_is_owed_one_delivery_with_its_own_id_and_the_same_body() {
        let router = WebhookRouter::new(&settings(&[("all", ""), ("follows", "follow.created"), ("likes", "content.liked")])).unwrap();
        let at = Timestamp(1_700_000_000_000);
        let follow: DomainEvent = SocialEvent::Followed { follower: "ann".into(), followee: "bob".into(), at }.into();
        let owed = router.deliveries(&follow, at);
        let names: Vec<_> = owed.iter().map(|d| d.endpoint.as_str()).collect();
        assert_eq!(names, ["all", "follows"]);
        assert_ne!(owed[0].id, owed[1].id);
        assert!(owed[0].id.starts_with("msg_"), "{}", owed[0].id);
        assert_eq!(owed[0].body, owed[1].body);
        let body: serde_json::Value = serde_json::from_str(&owed[0].body).unwrap();
        assert_eq!(body["type"], "follow.created");
        assert_eq!(body["timestamp"], at.to_rfc3339());
        assert_eq!(body["data"]["followeeId"], "bob");
        assert_eq!(owed[0].give_up_at, at.plus_millis(24 * 3600 * 1000));
        let snapshot = ContentEvent::ViewsCounted { content_id: "c".into(), views_count: 1, at };
        assert!(router.deliveries(&snapshot.into(), at).is_empty(), "an event with no webhook type owes nothing");
    }

    #[test]
    fn the_nats_stream_is_owed_every_event_type_beside_the_endpoints() {
        let mut s = settings(&[("likes", "content.liked")]);
        s.nats = Some(crate::config::NatsEvents { url: "nats://127.0.0.1:4222".into(), subject: "chorus.events".into(), stream: "CHORUS_EVENTS".into() });
        let router = WebhookRouter::new(&s).unwrap();
        let at = Timestamp(1_700_000_000_000);
        let follow: DomainEvent = SocialEvent::Followed { follower: "ann".into(), followee: "bob".into(), at }.into();
        let owed = router.deliveries(&follow, at);
        assert_eq!(owed.iter().map(|d| d.endpoint.as_str()).collect::<Vec<_>>(), [NATS_ENDPOINT]);
        assert_eq!(owed[0].subject, "user:bob");
    }

    #[test]
    fn an_unknown_type_in_a_filter_is_refused_at_startup_naming_the_known_ones() {
        let Err(e) = WebhookRouter::new(&settings(&[("x", "content.liked,content.exploded")])) else { panic!("accepted") };
        let text = e.to_string();
        assert!(text.contains("content.exploded") && text.contains("comment.created"), "{text}");
    }
}
