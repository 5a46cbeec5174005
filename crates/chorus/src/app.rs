//! Building and running one Chorus node: `Application::build` wires adapters,
//! services and doors and binds the listener; `run_until` serves until the shutdown
//! future resolves, then stops in order (DESIGN.md: background work stops in order).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower::util::MapRequestLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::adapters::memory_limits::MemoryRateLimiter;
use crate::adapters::memory_cluster::{MemoryPresence, MemorySessions, MemoryViewers};
use crate::adapters::redis::link::RedisLink;
use crate::adapters::sql::SqlStore;
use crate::adapters::wire::dialect::Dialect;
use crate::adapters::wire::dialect::census::DialectCensus;
use crate::auth::jwks::{JwksKeys, JwksTiming};
use crate::auth::jwt::{ClaimNames, TokenVerifier, VerificationKey};
use crate::auth::secret::Secret;
use crate::config::{AuthSettings, ServerSettings, Settings};
use crate::lifecycle::{Stage, Tasks};
use crate::domain::calls::CallService;
use crate::domain::calls::model::CallRules;
use crate::domain::chat::ChatService;
use crate::domain::collab::CollabService;
use crate::domain::collab::model::CollabRules;
use crate::domain::chat::rules::ChatRules;
use crate::domain::content::{ContentRules, ContentService};
use crate::domain::live_counts::LiveCounts;
use crate::domain::channels::Channels;
use crate::domain::follows::FollowService;
use crate::domain::notifications::NotificationService;
use crate::domain::presence::PresenceService;
use crate::domain::rankings::Rankings;
use crate::domain::typing::TypingTracker;
use crate::domain::users::UserDirectory;
use crate::ports::cluster::SessionRegistry;
use crate::domain::notification_triggers::NotificationTriggers;
use crate::ports::publisher::EventPublisher;
use crate::state::{App, AppState};
use crate::transport;
use crate::transport::socket::door::SocketDoor;
use crate::transport::socket::expiry::SessionExpiry;

/// A built node, bound and ready to serve.
pub struct Application {
    listener: TcpListener,
    router: Router,
    app: App,
    store: SqlStore,
    /// Every background task, stopped stage by stage at shutdown.
    tasks: Arc<Tasks>,
}

impl Application {
    /// Connects the store, wires every layer and binds the listen address.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        crate::telemetry::install_metrics();
        let tasks = Arc::new(Tasks::new());
        let key = verification_key(&settings.auth)?;
        if let VerificationKey::Jwks(keys) = &key {
            start_key_set(keys.clone(), &tasks).await;
        }
        let verifier = TokenVerifier::new(
            &key,
            settings.auth.jwt_issuer.as_deref(),
            settings.auth.jwt_audience.as_deref(),
            settings.auth.jwt_leeway.as_secs(),
            ClaimNames { user: settings.auth.jwt_user_claim.clone(), name: settings.auth.jwt_name_claim.clone() },
        )?;
        let store = SqlStore::connect(settings.store.database_url.expose(), &tasks)
            .await
            .with_context(|| format!("opening the database ({})", settings.store.database_url))?;
        // Every write that causes an event records the deliveries it owes (webhooks).
        let webhooks = Arc::new(crate::adapters::webhooks::WebhookRouter::new(&settings.webhooks)?);
        let store = if webhooks.is_empty() { store } else { store.with_outbox(webhooks.clone()) };

        let max_payload = settings.server.max_payload_bytes;
        let redis = match settings.cluster.redis_url.as_ref().filter(|u| !u.is_empty()) {
            Some(url) => Some(RedisLink::connect(url.expose(), &tasks).await.with_context(|| format!("connecting to Redis ({url})"))?),
            None => None,
        };
        let dialect = match settings.server.dialect.as_deref() {
            None => None,
            Some(name) => Some(Dialect::from_name(name).with_context(|| {
                let known: Vec<_> = Dialect::ALL.iter().map(|d| d.name()).collect();
                format!("unknown dialect {name:?} (known: {})", known.join(", "))
            })?),
        };
        let census = Arc::new(DialectCensus::default());
        let door = SocketDoor::build(&settings, redis.as_ref(), census.clone());
        let dirty: Option<Arc<dyn crate::ports::dirty::DirtyBus>> = match &redis {
            Some(link) => Some(
                crate::adapters::redis::dirty_bus::RedisDirtyBus::start(link.clone(), &settings.cluster.redis_prefix, &tasks)
                    .await
                    .context("subscribing to the dirty-mark channel")?,
            ),
            None => None,
        };
        // Every service publishes through the resumable decorator (sequenced, logged).
        let resume = resumable(&settings, redis.as_ref(), door.publisher.clone(), &tasks).await;
        let publisher: Arc<dyn EventPublisher> = resume.clone();
        let content_store: Arc<dyn crate::ports::store::ContentStore> = Arc::new(store.clone());
        let users = Arc::new(UserDirectory::new(Arc::new(store.clone())));
        let cluster = cluster_state(&settings, redis.as_ref());
        // Content and stream viewers share one registry (and so the per-socket room cap).
        let viewers = cluster.viewers.clone();
        let sessions: Arc<dyn SessionRegistry> = cluster.sessions.clone();
        // Every domain event goes through the bus: counted, turned into notifications,
        // then encoded for the wire. The notification service sends its own events
        // through the same bus, so its observer holds it weakly.
        let mut bus = None;
        let notifications = Arc::new_cyclic(|service| {
            let native = Arc::new(crate::adapters::wire::native::NativeEvents::new(publisher.clone()));
            let triggers = NotificationTriggers::new(service.clone(), users.clone(), sessions.clone());
            let events: Arc<dyn crate::ports::events::EventSink> = Arc::new(
                crate::adapters::event_bus::EventBus::new(native)
                    .and_observer(Arc::new(crate::adapters::event_metrics::EventMetrics))
                    .and_observer(Arc::new(triggers)),
            );
            bus = Some(events.clone());
            NotificationService::new(Arc::new(store.clone()), events, settings.notifications.group_window)
        });
        let events = bus.context("the event bus is built with the notification service")?;
        let live = Arc::new(LiveCounts::new(content_store.clone(), viewers.clone(), events.clone()));
        if let Some(node) = &cluster.node {
            // Viewers a dead node held leave behind the services' back: content rooms are
            // told here; stream rooms are re-read by the live board every tick.
            let live = live.clone();
            let heartbeat = node.heartbeat(Arc::new(move |rooms: Vec<String>| {
                for room in rooms.iter().filter(|r| !r.contains(' ')) {
                    live.viewers_changed(room);
                }
            }));
            tasks.spawn(Stage::Publishers, "node heartbeat", heartbeat);
        }
        let node_name = cluster.node.as_ref().map_or_else(|| format!("local-{}", uuid::Uuid::now_v7().simple()), |n| n.id().to_owned());
        let outbox: Arc<dyn crate::ports::outbox::OutboxStore> = Arc::new(store.clone());
        webhooks.start_workers(&settings.webhooks, outbox.clone(), &node_name, &tasks)?;
        let rankings = Arc::new(Rankings::new(content_store.clone(), publisher.clone(), events.clone()));
        let follows = Arc::new(FollowService::new(Arc::new(store.clone()), users.clone(), publisher.clone(), events.clone(), tasks.clone()));
        let presence = Arc::new(PresenceService::new(
            cluster.presence.clone(),
            sessions.clone(),
            Arc::new(store.clone()),
            Arc::new(store.clone()),
            publisher.clone(),
            events.clone(),
            settings.presence.grace,
        ));
        let moderator: Option<Arc<dyn crate::domain::moderation::ExternalModerator>> =
            match settings.moderation.webhook_url.as_deref().filter(|u| !u.is_empty()) {
                Some(url) => Some(Arc::new(crate::adapters::moderation_webhook::HttpModerator::new(
                    url,
                    settings.moderation.webhook_timeout,
                )?)),
                None => None,
            };
        let sanctions = Arc::new(
            crate::domain::sanctions::AccountSanctions::load(Arc::new(store.clone()), publisher.clone())
                .await
                .map_err(|e| anyhow::anyhow!("loading sanctions: {e}"))?,
        );
        let moderation = Arc::new(crate::domain::moderation::Moderation::from_settings(&settings, moderator, sanctions.clone(), outbox.clone())?);
        let rules = ContentRules {
            view_window: settings.content.view_window,
            max_comment_chars: settings.content.max_comment_chars,
            max_rooms_per_connection: settings.limits.max_rooms_per_socket,
            ..ContentRules::default()
        };
        let content = Arc::new(ContentService::new(
            content_store,
            users.clone(),
            viewers.clone(),
            publisher.clone(),
            events.clone(),
            live.clone(),
            rankings.clone(),
            Arc::new(TypingTracker::new(settings.content.typing_ttl)),
            moderation.clone(),
            rules,
        ));
        let chat = Arc::new(ChatService::new(
            Arc::new(store.clone()),
            users.clone(),
            publisher.clone(),
            events.clone(),
            sessions.clone(),
            Arc::new(TypingTracker::new(settings.content.typing_ttl)),
            moderation.clone(),
            ChatRules { edit_window: settings.chat.edit_window, ..ChatRules::default() },
        ));
        let collab = Arc::new(CollabService::new(
            Arc::new(store.clone()),
            publisher.clone(),
            events.clone(),
            CollabRules {
                compact_every: settings.collab.compact_every.max(1),
                max_open_docs: settings.collab.max_open_docs.max(1),
                idle_after: settings.collab.idle,
                ..CollabRules::default()
            },
        ));
        let calls = Arc::new(CallService::new(
            Arc::new(store.clone()),
            users.clone(),
            events.clone(),
            CallRules { ring_timeout: settings.calls.ring_timeout, ..CallRules::default() },
        ));
        let streams = Arc::new(crate::domain::live::Live::new(
            crate::domain::live::LivePorts {
                streams: Arc::new(store.clone()),
                battles: Arc::new(store.clone()),
                wallets: Arc::new(store.clone()),
                users: users.clone(),
                viewers,
                publisher: publisher.clone(),
                events: events.clone(),
                moderation: moderation.clone(),
                limits: cluster.limits.clone(),
            },
            crate::domain::live::catalog::GiftCatalog::load(settings.live.gift_catalog.as_deref())?,
            crate::domain::live::rules::LiveRules::from_settings(&settings)?,
        ));
        let app: App = Arc::new(AppState {
            verifier,
            server_key: settings.auth.server_key.clone().filter(|k| !k.is_empty()),
            users,
            content,
            chat,
            collab,
            calls,
            live_streams: streams,
            moderation,
            rankings,
            content_counts: live,
            sessions,
            sanctions,
            admission: crate::domain::admission::Admission::new(settings.limits.max_rooms_per_socket),
            limits: cluster.limits.clone(),
            notifications,
            follows,
            channels: Arc::new(Channels::new(publisher.clone())),
            presence,
            location: Arc::new(crate::domain::location::LocationSharing::new(
                Arc::new(store.clone()),
                events.clone(),
                cluster.limits.clone(),
            )),
            dead_letters: Arc::new(crate::domain::dead_letters::DeadLetters::new(outbox, settings.webhooks.retry_for)),
            publisher,
            events,
            resume,
            expiry: SessionExpiry::default(),
            redis,
            dirty,
            dialect,
            dialects: census,
            commands: Default::default(),
            cleanups: Default::default(),
            ready: false.into(),
            settings,
        });
        let router = door.mount(app.clone(), transport::http::routes(app.clone())).await?;
        let router = router
            .layer(MapRequestLayer::new(transport::http::slim_request::slim))
            .layer(axum::middleware::from_fn_with_state(app.clone(), transport::http::connect_gate::gate))
            .layer(axum::middleware::from_fn_with_state(app.clone(), transport::http::origin_guard::guard))
            .layer(cors(&app.settings.server))
            .layer(axum::extract::DefaultBodyLimit::max(max_payload as usize));

        let listener = TcpListener::bind(app.settings.server.listen)
            .await
            .with_context(|| format!("binding {}", app.settings.server.listen))?;
        if app.redis.is_some() {
            tracing::info!("cluster mode: Redis adapter and cluster state");
        }
        if app.server_key.is_none() {
            tracing::warn!("no server key configured: the server API (/api/server/*) is off");
        }
        Ok(Self { listener, router, app, store, tasks })
    }

    /// The bound address (tests bind port 0).
    pub fn local_addr(&self) -> anyhow::Result<SocketAddr> {
        Ok(self.listener.local_addr()?)
    }

    /// Shared state, for tests and embedding.
    pub fn state(&self) -> App {
        self.app.clone()
    }

    /// Serves until `shutdown` resolves; then stops accepting, closes every socket,
    /// stops the background tasks stage by stage and lets queued writes commit.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let Self { listener, router, app, store, tasks } = self;
        if app.redis.is_some() {
            let follower = app.clone();
            tasks.spawn_cooperative(Stage::Ticks, "sanctions follower", move |stop| follow_sanctions(follower, stop));
        }
        let ticking = app.clone();
        tasks.spawn_cooperative(Stage::Ticks, "tick", move |stop| crate::background::run_ticks(ticking, stop));
        app.ready.store(true, Ordering::Release);
        tracing::info!(addr = %listener.local_addr()?, "chorus is listening");

        // Shutdown order: stop accepting and stop the tick, drain the commands and close
        // every socket (the doors); then the publishers, the writers, and the stores.
        let closing = app.clone();
        let stopping = tasks.clone();
        let graceful = async move {
            shutdown.await;
            tracing::info!("shutting down");
            closing.ready.store(false, Ordering::Release);
            stopping.stop(Stage::Ticks, STAGE_LIMIT).await;
            // Commands already running finish and ack; new ones get `unavailable`.
            let unfinished = closing.commands.drain(Duration::from_secs(5)).await;
            if unfinished > 0 {
                tracing::warn!(unfinished, "commands still running at shutdown: their sockets close now");
            }
            if tokio::time::timeout(Duration::from_secs(5), closing.publisher.close_all()).await.is_err() {
                tracing::warn!("closing sockets took over 5 s");
            }
            // Every closed socket's cleanup (this shutdown's and the clients' own
            // disconnects just before it) still talks to Redis and the database.
            closing.cleanups.close();
            if tokio::time::timeout(Duration::from_secs(5), closing.cleanups.wait()).await.is_err() {
                tracing::warn!(left = closing.cleanups.len(), "socket cleanups still running after 5 s");
            }
            tracing::info!("doors closed");
        };
        // Small real-time frames must not wait for Nagle's algorithm.
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!(error = %e, "TCP_NODELAY not set");
            }
        });
        let served = axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(graceful)
            .await;
        tasks.stop(Stage::Publishers, STAGE_LIMIT).await;
        let unsent = app.notifications.finish_pending(Duration::from_secs(5)).await;
        if unsent > 0 {
            tracing::warn!(unsent, "notifications still on their way at shutdown were dropped");
        }
        tasks.stop(Stage::Writers, STAGE_LIMIT).await;
        store.close().await;
        tasks.stop_all(STAGE_LIMIT).await;
        tracing::info!("chorus stopped");
        served.map_err(Into::into)
    }
}

/// How long one shutdown stage may take.
const STAGE_LIMIT: Duration = Duration::from_secs(5);

/// The cluster-state ports: in memory on one node, in Redis in cluster mode.
struct ClusterState {
    viewers: Arc<dyn crate::ports::cluster::ViewerRegistry>,
    sessions: Arc<dyn SessionRegistry>,
    presence: Arc<dyn crate::ports::cluster::PresenceState>,
    limits: Arc<dyn crate::ports::limits::RateLimiter>,
    /// This node in the Redis cluster state (its heartbeat starts once services exist).
    node: Option<Arc<crate::adapters::redis::node::ClusterNode>>,
}

fn cluster_state(settings: &Settings, redis: Option<&RedisLink>) -> ClusterState {
    use crate::adapters::redis::{limits::RedisRateLimiter, node, presence::RedisPresence, sessions::RedisSessions, viewers::RedisViewers};
    use crate::ports::limits::{buckets, Bucket, LimitClass, Rate};
    let mut rates = if settings.limits.rates_enabled { buckets(&settings.limits.rates.by_class()) } else { Vec::new() };
    // The stream chat limit and the location throttle are rules of their areas
    // (PROTOCOL.md), not abuse protection: they hold even with `rate_limits_enabled`
    // off, and like every other limit they are one bucket per user across the cluster.
    let chat = Rate { per_second: settings.live.chat_per_sec, burst: settings.live.chat_burst };
    rates.extend(chat.bucket().map(|b| (LimitClass::StreamChat, b)));
    let location = Bucket::spaced(settings.presence.location_min_interval);
    rates.extend(location.map(|b| (LimitClass::Location, b)));
    match redis {
        Some(link) => {
            let timing = node::NodeTiming::with_grace(settings.presence.grace);
            let node = node::ClusterNode::new(link.clone(), &settings.cluster.redis_prefix, timing);
            tracing::info!(node = node.id(), "cluster state in Redis");
            ClusterState {
                viewers: Arc::new(RedisViewers::new(node.clone())),
                sessions: Arc::new(RedisSessions::new(node.clone())),
                presence: Arc::new(RedisPresence::new(node.clone())),
                limits: Arc::new(RedisRateLimiter::new(link.clone(), &settings.cluster.redis_prefix, &rates)),
                node: Some(node),
            }
        }
        None => ClusterState {
            viewers: Arc::new(MemoryViewers::default()),
            sessions: Arc::new(MemorySessions::default()),
            presence: Arc::new(MemoryPresence::default()),
            limits: Arc::new(MemoryRateLimiter::new(&rates)),
            node: None,
        },
    }
}

/// Session resume around the door's publisher: the event log in memory on one node,
/// on a Redis Stream in cluster mode.
async fn resumable(
    settings: &Settings,
    redis: Option<&RedisLink>,
    inner: Arc<dyn EventPublisher>,
    tasks: &Tasks,
) -> Arc<crate::adapters::sequenced_publisher::SequencedPublisher> {
    use crate::adapters::sequenced_publisher::SequencedPublisher;
    let window = settings.resume.window.max(Duration::from_secs(1));
    let max_events = settings.resume.log_max_events.max(1);
    match (redis, settings.cluster.redis_url.as_ref()) {
        (Some(link), Some(url)) => {
            let log = crate::adapters::redis::event_log::RedisEventLog::new(link.clone(), url.expose(), &settings.cluster.redis_prefix, window, max_events);
            SequencedPublisher::cluster(inner, Arc::new(log), window, tasks).await
        }
        _ => SequencedPublisher::local(inner, Arc::new(crate::adapters::memory_event_log::MemoryEventLog::new(window, max_events)), window, tasks),
    }
}

/// Cluster mode: bans, mutes and revocations made on other nodes reach this node's
/// cache within `SANCTIONS_SYNC` (their sockets are disconnected cluster-wide at once).
async fn follow_sanctions(app: App, stop: CancellationToken) {
    const SANCTIONS_SYNC: Duration = Duration::from_secs(2);
    let mut tick = tokio::time::interval(SANCTIONS_SYNC);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if let Err(e) = app.sanctions.reload().await {
                    tracing::debug!(error = %e, "sanctions not reloaded");
                }
            }
            () = stop.cancelled() => return,
        }
    }
}

/// Chooses the token key: the configured secret, public key or identity provider's
/// key set (not fetched yet), else a development secret kept in a file so
/// `chorus token` and `chorus serve` agree.
pub fn verification_key(auth: &AuthSettings) -> anyhow::Result<VerificationKey> {
    if let Some(secret) = &auth.jwt_secret {
        return Ok(VerificationKey::Shared(secret.clone()));
    }
    if let Some(pem) = auth.jwt_public_key_pem()? {
        return Ok(VerificationKey::PublicPem(pem));
    }
    if let Some(url) = &auth.jwt_jwks_url {
        return Ok(VerificationKey::Jwks(Arc::new(JwksKeys::new(url, JwksTiming::default())?)));
    }
    Ok(VerificationKey::Shared(dev_secret(auth)?))
}

/// Fetches the identity provider's key set once, then keeps it fresh in the
/// background. A node whose provider does not answer still starts: it refuses user
/// tokens with `auth_unavailable` until a set arrives (guests and the server API keep
/// working), and it keeps trying.
async fn start_key_set(keys: Arc<JwksKeys>, tasks: &Tasks) {
    match keys.fetch_now().await {
        Ok(()) => tracing::info!(url = keys.url(), "JWKS key set loaded"),
        Err(e) => tracing::error!(
            url = keys.url(),
            code = e.code(),
            error = %crate::domain::error::error_chain(&e),
            "JWKS key set not loaded at startup: user tokens are refused (auth_unavailable) until it is"
        ),
    }
    tasks.spawn(Stage::Ticks, "jwks refresh", keys.keep_fresh());
}

/// The development secret: read from `dev_secret_file`, created on first use.
pub fn dev_secret(auth: &AuthSettings) -> anyhow::Result<Secret> {
    let path = &auth.dev_secret_file;
    if let Ok(text) = std::fs::read_to_string(path) {
        let text = text.trim();
        if !text.is_empty() {
            warn_dev_secret(path);
            return Ok(Secret::new(text));
        }
    }
    let bytes: [u8; 32] = rand::random();
    let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    write_private(path, &secret).with_context(|| format!("writing the development secret to {}", path.display()))?;
    warn_dev_secret(path);
    Ok(Secret::new(secret))
}

fn warn_dev_secret(path: &std::path::Path) {
    tracing::warn!(
        file = %path.display(),
        "NO JWT SECRET CONFIGURED: using a generated DEVELOPMENT secret. Do not use this in production; \
         set CHORUS_JWT_SECRET or CHORUS_JWT_PUBLIC_KEY. `chorus token --user NAME` prints a token it accepts."
    );
}

fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(text.as_bytes())
}

fn cors(server: &ServerSettings) -> CorsLayer {
    let origins = server.origins();
    let layer = CorsLayer::new()
        .allow_methods([axum::http::Method::GET, axum::http::Method::POST, axum::http::Method::PUT, axum::http::Method::PATCH, axum::http::Method::DELETE])
        .allow_headers([axum::http::header::AUTHORIZATION, axum::http::header::CONTENT_TYPE]);
    if origins.iter().any(|o| o == "*") {
        return layer.allow_origin(AllowOrigin::any());
    }
    let list: Vec<axum::http::HeaderValue> = origins.iter().filter_map(|o| o.parse().ok()).collect();
    layer.allow_origin(AllowOrigin::list(list)).allow_credentials(true)
}
