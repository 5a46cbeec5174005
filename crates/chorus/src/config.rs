//! Settings, layered: built-in defaults, then an optional TOML file (`--config`), then
//! `CHORUS_*` environment variables, then command-line flags (flags win). They are
//! written flat (`file.rs`: `tick_ms`, `CHORUS_TICK_MS`) and used nested by area, with
//! times as `Duration`s (`settings.content.tick`).

mod file;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use self::file::SettingsFile;
use crate::auth::secret::{ConnectionUrl, Secret};
use crate::ports::limits::{LimitClass, Rate};

/// Everything a Chorus node is configured with, by area. Each field names the key it
/// is read from (`SettingsFile`); times are `Duration`s.
#[derive(Debug, Clone)]
pub struct Settings {
    pub server: ServerSettings,
    pub auth: AuthSettings,
    pub store: StoreSettings,
    pub cluster: ClusterSettings,
    pub limits: LimitSettings,
    pub content: ContentSettings,
    pub chat: ChatSettings,
    pub notifications: NotificationSettings,
    pub presence: PresenceSettings,
    pub collab: CollabSettings,
    pub calls: CallSettings,
    pub resume: ResumeSettings,
    pub live: LiveSettings,
    pub moderation: ModerationSettings,
    pub webhooks: WebhookSettings,
    pub log: LogSettings,
}

/// The listener, CORS and the Socket.IO engine.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// Address the HTTP and Socket.IO server binds (`listen`).
    pub listen: SocketAddr,
    /// Comma-separated origins allowed by CORS; empty allows none cross-site, `*` all
    /// (`allowed_origins`).
    pub allowed_origins: String,
    /// Let socket handshakes without an Origin header (native apps) through
    /// (`allow_missing_origin`).
    pub allow_missing_origin: bool,
    /// The dialect of every client that names none (`dialect`, docs/dialects.md);
    /// `None`: the native protocol.
    pub dialect: Option<String>,
    /// How Socket.IO packets are written: JSON text or msgpack binary (`parser`); every
    /// client of the server uses the same one.
    pub parser: PacketParser,
    /// Largest packet accepted, on both transports (`max_payload_bytes`).
    pub max_payload_bytes: u64,
    /// Read buffer of each WebSocket connection: memory per connection against system
    /// calls (`ws_read_buffer_bytes`).
    pub ws_read_buffer_bytes: usize,
    /// Packets queued per socket before further emits to it are dropped
    /// (`socket_buffer_packets`).
    pub socket_buffer_packets: usize,
    /// Engine.IO ping interval (`ping_interval_ms`).
    pub ping_interval: Duration,
    /// Engine.IO ping timeout (`ping_timeout_ms`).
    pub ping_timeout: Duration,
    /// Time a client has to send its namespace CONNECT after the handshake
    /// (`connect_timeout_ms`).
    pub connect_timeout: Duration,
}

/// The Socket.IO parser every client of a server speaks: socket.io's default JSON
/// text packets, or the binary packets of `socket.io-msgpack-parser` (`parser`). One per
/// server, as a client cannot say which it uses before its first packet; the nodes of a
/// cluster must agree.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum PacketParser {
    /// Text packets, JSON payloads (socket.io's default parser).
    #[default]
    Json,
    /// Binary packets, msgpack payloads (`socket.io-msgpack-parser`).
    Msgpack,
}

/// Who may connect, and the keys that say so.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// HS256 secret for user tokens (`jwt_secret`).
    pub jwt_secret: Option<Secret>,
    /// RS256/ES256 public key: PEM text or the path of a PEM file (`jwt_public_key`).
    pub jwt_public_key: Option<String>,
    /// URL of an identity provider's JSON Web Key Set: RS256, ES256 and EdDSA tokens,
    /// each checked with the key its `kid` names (`jwt_jwks_url`).
    pub jwt_jwks_url: Option<String>,
    /// Required `iss` claim, when set (`jwt_issuer`).
    pub jwt_issuer: Option<String>,
    /// Required `aud` claim, when set (`jwt_audience`).
    pub jwt_audience: Option<String>,
    /// The claim holding the user id: `sub` by default, or the claim an existing app
    /// already signs (`userId`, `id`, `_id`); a whole number is read as its decimal
    /// string (`jwt_user_claim`).
    pub jwt_user_claim: String,
    /// The claim holding the display name; unset reads `username`, else `name`
    /// (`jwt_name_claim`).
    pub jwt_name_claim: Option<String>,
    /// Clock skew tolerated on `exp`, in whole seconds, capped at 30 s (`jwt_leeway_secs`).
    pub jwt_leeway: Duration,
    /// Where the generated development secret is kept when no key is configured
    /// (`dev_secret_file`).
    pub dev_secret_file: PathBuf,
    /// Bearer key of the server API; the server API is off without one (`server_key`).
    pub server_key: Option<Secret>,
    /// Let clients without a token connect as guests, to public rooms and views only
    /// (`allow_guests`).
    pub allow_guests: bool,
}

/// The database.
#[derive(Debug, Clone)]
pub struct StoreSettings {
    /// `sqlite://file.db` (created when missing) or `postgres://...`; printed without
    /// its password (`database_url`).
    pub database_url: ConnectionUrl,
}

/// Cluster mode.
#[derive(Debug, Clone)]
pub struct ClusterSettings {
    /// The Redis Socket.IO adapter and the Redis cluster state: with PostgreSQL as the
    /// store, many nodes serve one deployment; printed without its password (`redis_url`).
    pub redis_url: Option<ConnectionUrl>,
    /// Prefix of every Redis key and channel, so several deployments may share a Redis
    /// (`redis_prefix`).
    pub redis_prefix: String,
}

/// Caps and rate limits that protect the node.
#[derive(Debug, Clone)]
pub struct LimitSettings {
    /// Concurrent sockets one user may hold, 0 for no cap (`max_sockets_per_user`).
    pub max_sockets_per_user: usize,
    /// Concurrent sockets one address may hold, 0 for no cap (`max_sockets_per_ip`).
    pub max_sockets_per_ip: usize,
    /// Rooms one socket may watch (`max_rooms_per_socket`).
    pub max_rooms_per_socket: usize,
    /// Turns every token bucket of `rates` on or off; tests and benchmarks turn them
    /// off (`rate_limits_enabled`).
    pub rates_enabled: bool,
    /// Token buckets per class; a `per_second` of 0 means unlimited (`[rate_limits]`).
    pub rates: RateLimits,
    /// A socket refused this many commands for rate within a minute is disconnected
    /// (`abuse_disconnect_after`).
    pub abuse_disconnect_after: u32,
}

/// Content, comments and the coalesced updates.
#[derive(Debug, Clone)]
pub struct ContentSettings {
    /// Period of coalesced updates (`content:counts`, viewers, rankings) and of every
    /// expiry check (`tick_ms`).
    pub tick: Duration,
    /// A viewer's views of one item count once per this window (`view_window_secs`).
    pub view_window: Duration,
    /// A typing indicator, of comments or chat, expires after this long without a
    /// refresh (`typing_ttl_ms`).
    pub typing_ttl: Duration,
    /// Longest comment, in characters (`max_comment_chars`).
    pub max_comment_chars: usize,
}

/// Chat rooms.
#[derive(Debug, Clone)]
pub struct ChatSettings {
    /// A chat message may be edited by its sender for this long after sending
    /// (`chat_edit_window_secs`).
    pub edit_window: Duration,
}

/// Notifications.
#[derive(Debug, Clone)]
pub struct NotificationSettings {
    /// Repeated likes of one item within this window fold into one notification
    /// (`notification_group_window_secs`).
    pub group_window: Duration,
}

/// Presence and live location.
#[derive(Debug, Clone)]
pub struct PresenceSettings {
    /// Presence grace period after the last socket closes (`presence_grace_ms`).
    pub grace: Duration,
    /// Shortest interval between two shared positions of one user
    /// (`location_min_interval_ms`).
    pub location_min_interval: Duration,
}

/// Collaborative documents.
#[derive(Debug, Clone)]
pub struct CollabSettings {
    /// A document's update log is folded into a snapshot past this many updates
    /// (`collab_compact_every`).
    pub compact_every: usize,
    /// Collaborative documents held in memory at once (`collab_max_open_docs`).
    pub max_open_docs: usize,
    /// A document nobody has joined leaves memory after this long unused
    /// (`collab_idle_secs`).
    pub idle: Duration,
}

/// Calls.
#[derive(Debug, Clone)]
pub struct CallSettings {
    /// An unanswered call stops ringing (missed call) after this long
    /// (`call_ring_timeout_ms`).
    pub ring_timeout: Duration,
}

/// Session resume.
#[derive(Debug, Clone)]
pub struct ResumeSettings {
    /// A closed session can be resumed this long after its connection closed; missed
    /// events are kept this long (`resume_window_secs`).
    pub window: Duration,
    /// Most events kept for resume: on a single node in memory, in cluster mode in the
    /// Redis Stream (`resume_log_max_events`).
    pub log_max_events: usize,
}

/// Live streams: stream chat, gifts, OG tiers, battles.
#[derive(Debug, Clone)]
pub struct LiveSettings {
    /// Gift catalog file, JSON or TOML; the built-in catalog without one (`gift_catalog`).
    pub gift_catalog: Option<PathBuf>,
    /// Longest stream chat message, in characters (`stream_chat_max_chars`).
    pub chat_max_chars: usize,
    /// Stream chat messages a viewer may send at once, per stream, before the rate
    /// applies (`stream_chat_burst`).
    pub chat_burst: u32,
    /// Sustained stream chat messages per second per viewer and stream, 0 for no limit
    /// (`stream_chat_per_sec`).
    pub chat_per_sec: u32,
    /// Period of `metrics:update` while a stream is live (`stream_metrics_interval_ms`).
    pub metrics_interval: Duration,
    /// OG tiers: `name:coins` pairs, thresholds rising, lifetime coins to one creator
    /// (`og_tiers`).
    pub og_tiers: String,
    /// Shortest battle a streamer may start, in whole seconds (`battle_min_secs`).
    pub battle_min: Duration,
    /// Longest battle a streamer may start, in whole seconds (`battle_max_secs`).
    pub battle_max: Duration,
    /// An unanswered battle invitation expires after this long (`battle_invite_ttl_secs`).
    pub battle_invite_ttl: Duration,
}

/// The moderation pipeline.
#[derive(Debug, Clone)]
pub struct ModerationSettings {
    /// Comma-separated words and phrases moderation blocks, matched after folding case,
    /// accents, leetspeak and spacing (`blocklist`).
    pub blocklist: String,
    /// `block` or `allow` links in moderated text (`moderation_links`).
    pub links: String,
    /// Comma-separated domains whose links pass when links are blocked
    /// (`moderation_allowed_domains`).
    pub allowed_domains: String,
    /// Longest run of one repeated character, 0 for no limit
    /// (`moderation_max_repeated_chars`).
    pub max_repeated_chars: usize,
    /// Texts with at least this many letters, 80 % capitals, are blocked; 0 turns the
    /// rule off (`moderation_caps_min_letters`).
    pub caps_min_letters: usize,
    /// Surfaces besides stream chat that the pipeline guards: `comment`, `chat`
    /// (comma-separated; empty by default: stream chat only) (`moderation_surfaces`).
    pub surfaces: String,
    /// External moderation webhook (`http://`), asked after the built-in rules pass
    /// (`moderation_webhook_url`).
    pub webhook_url: Option<String>,
    /// Time the webhook has to answer (`moderation_webhook_timeout_ms`).
    pub webhook_timeout: Duration,
    /// When the webhook fails: allow the text (true) or refuse it (false)
    /// (`moderation_webhook_fail_open`).
    pub webhook_fail_open: bool,
    /// Blocked messages within the strike window that mute their author in the stream,
    /// 0 for never (`moderation_strike_limit`).
    pub strike_limit: u32,
    /// Strikes older than this no longer count (`moderation_strike_window_secs`).
    pub strike_window: Duration,
    /// How long a mute for strikes lasts (`moderation_mute_secs`).
    pub mute: Duration,
}

/// Signed webhooks to the app's backend (docs/protocol.md, "Webhooks").
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// Where deliveries go: the endpoint of `webhook_url`, `webhook_secret` and
    /// `webhook_events` (named `default`), then each `[[webhooks]]` table of the file.
    pub endpoints: Vec<WebhookEndpoint>,
    /// A delivery that keeps failing is retried for this long after it was recorded,
    /// then kept as a dead letter (`webhook_retry_for_secs`).
    pub retry_for: Duration,
    /// Delay before the first retry, doubled after each failure, with jitter
    /// (`webhook_retry_min_ms`).
    pub retry_min: Duration,
    /// Longest delay between two attempts (`webhook_retry_max_ms`).
    pub retry_max: Duration,
    /// An attempt not answered within this long has failed (`webhook_timeout_ms`).
    pub timeout: Duration,
    /// Deliveries in flight at once per endpoint (`webhook_concurrency`).
    pub concurrency: usize,
    /// Every event also published to a NATS JetStream stream, from the same outbox
    /// (`events_nats_url`); `None`: not published.
    pub nats: Option<NatsEvents>,
}

/// The NATS JetStream stream every webhook event is published to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatsEvents {
    /// The NATS server, `nats://host:port` (`events_nats_url`).
    pub url: String,
    /// Each event goes to `{subject}.{type}`, `chorus.events.content.liked`
    /// (`events_nats_subject`).
    pub subject: String,
    /// The JetStream stream that holds `{subject}.>`, created when missing
    /// (`events_nats_stream`).
    pub stream: String,
}

/// The outbox endpoint name of the NATS publisher; no webhook endpoint may take it.
pub const NATS_ENDPOINT: &str = "nats";

/// One webhook endpoint (a `[[webhooks]]` table: `name`, `url`, `secret`, `events`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookEndpoint {
    /// Names the endpoint in metrics, logs and dead letters; unique.
    pub name: String,
    /// `http://` or `https://` URL each delivery is POSTed to.
    pub url: String,
    /// `whsec_` + base64: the Standard Webhooks signing secret.
    pub secret: Secret,
    /// Comma-separated event types it receives (`content.liked,comment.created`);
    /// empty for all.
    #[serde(default)]
    pub events: String,
}

impl WebhookEndpoint {
    /// The event types it asks for; empty for all.
    pub fn event_types(&self) -> Vec<String> {
        self.events.split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned).collect()
    }
}

/// Log lines.
#[derive(Debug, Clone)]
pub struct LogSettings {
    /// `text` or `json` (`log_format`).
    pub format: String,
}

/// Token bucket settings per class of activity (`[rate_limits]` in TOML).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct RateLimits {
    pub connect_user: Rate,
    pub connect_ip: Rate,
    pub chat: Rate,
    pub comments: Rate,
    pub likes: Rate,
    pub joins: Rate,
    pub typing: Rate,
    pub presence: Rate,
    pub commands: Rate,
    /// REST calls per user and per address (the server API is not limited).
    pub rest_user: Rate,
    pub rest_ip: Rate,
}

impl Default for RateLimits {
    fn default() -> Self {
        let r = |per_second, burst| Rate { per_second, burst };
        Self {
            connect_user: r(2, 10),
            connect_ip: r(20, 100),
            chat: r(10, 20),
            comments: r(2, 10),
            likes: r(10, 30),
            joins: r(10, 50),
            typing: r(5, 10),
            presence: r(5, 20),
            commands: r(50, 200),
            rest_user: r(20, 60),
            rest_ip: r(100, 300),
        }
    }
}

impl RateLimits {
    /// Every class with its rate.
    pub fn by_class(&self) -> Vec<(LimitClass, Rate)> {
        vec![
            (LimitClass::ConnectUser, self.connect_user),
            (LimitClass::ConnectIp, self.connect_ip),
            (LimitClass::Chat, self.chat),
            (LimitClass::Comments, self.comments),
            (LimitClass::Likes, self.likes),
            (LimitClass::Joins, self.joins),
            (LimitClass::Typing, self.typing),
            (LimitClass::Presence, self.presence),
            (LimitClass::Commands, self.commands),
            (LimitClass::RestUser, self.rest_user),
            (LimitClass::RestIp, self.rest_ip),
        ]
    }
}

impl Default for Settings {
    fn default() -> Self {
        SettingsFile::default().into()
    }
}

/// Flags shared by `serve` and `token`; each overrides the file and the environment.
#[derive(Debug, Clone, Default, Args, Serialize)]
pub struct SettingsFlags {
    /// TOML settings file.
    #[arg(long, global = true)]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// Listen address [env: CHORUS_LISTEN] (default 127.0.0.1:3000).
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    /// Database URL [env: CHORUS_DATABASE_URL] (default sqlite://chorus.db).
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    /// Redis URL: cluster mode [env: CHORUS_REDIS_URL] (default: a single node).
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redis_url: Option<String>,
    /// HS256 secret for user tokens [env: CHORUS_JWT_SECRET].
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwt_secret: Option<String>,
    /// RS256/ES256 public key, PEM text or file path [env: CHORUS_JWT_PUBLIC_KEY].
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwt_public_key: Option<String>,
    /// URL of an identity provider's JWKS key set [env: CHORUS_JWT_JWKS_URL].
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwt_jwks_url: Option<String>,
    /// Server API key [env: CHORUS_SERVER_KEY].
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_key: Option<String>,
    /// Engine.IO ping interval in ms [env: CHORUS_PING_INTERVAL_MS].
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ping_interval_ms: Option<u64>,
    /// Engine.IO ping timeout in ms [env: CHORUS_PING_TIMEOUT_MS].
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ping_timeout_ms: Option<u64>,
    /// Largest packet in bytes [env: CHORUS_MAX_PAYLOAD_BYTES].
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_payload_bytes: Option<u64>,
    /// Presence grace period in ms [env: CHORUS_PRESENCE_GRACE_MS] (default 10000).
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub presence_grace_ms: Option<u64>,
    /// Dialect of clients that name none: interactions, livestream, video, chatblog, chatnotify [env: CHORUS_DIALECT] (default: native).
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dialect: Option<String>,
    /// Socket.IO parser of every client: json or msgpack [env: CHORUS_PARSER] (default json).
    #[arg(long, global = true, value_enum)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parser: Option<PacketParser>,
    /// Comma-separated allowed CORS origins [env: CHORUS_ALLOWED_ORIGINS].
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_origins: Option<String>,
    /// Comma-separated words moderation blocks [env: CHORUS_BLOCKLIST] (default none).
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocklist: Option<String>,
    /// Gift catalog file, JSON or TOML [env: CHORUS_GIFT_CATALOG] (default: built-in catalog).
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gift_catalog: Option<PathBuf>,
}

impl Settings {
    /// Loads settings: defaults < TOML file < `CHORUS_*` environment < flags.
    pub fn load(flags: &SettingsFlags) -> anyhow::Result<Self> {
        let mut figment = Figment::from(Serialized::defaults(SettingsFile::default()));
        if let Some(path) = &flags.config {
            if !path.exists() {
                anyhow::bail!("config file {} does not exist", path.display());
            }
            figment = figment.merge(Toml::file(path));
        }
        let written: SettingsFile = figment
            .merge(Env::prefixed("CHORUS_").split("__"))
            .merge(Serialized::defaults(flags))
            .extract()
            .map_err(|e| anyhow::anyhow!("invalid settings: {e}"))?;
        let settings = Settings::from(written);
        settings.validate()?;
        Ok(settings)
    }

    /// The checks every node needs before it starts; messages name the written keys.
    fn validate(&self) -> anyhow::Result<()> {
        let auth = &self.auth;
        if auth.jwt_secret.as_ref().is_some_and(Secret::is_empty) {
            anyhow::bail!("jwt_secret is set but empty");
        }
        if auth.jwt_jwks_url.as_deref().is_some_and(|u| u.trim().is_empty()) {
            anyhow::bail!("jwt_jwks_url is set but empty");
        }
        let keys = [auth.jwt_secret.is_some(), auth.jwt_public_key.is_some(), auth.jwt_jwks_url.is_some()];
        if keys.iter().filter(|set| **set).count() > 1 {
            anyhow::bail!(
                "set only one of jwt_secret (HS256), jwt_public_key (RS256/ES256) and jwt_jwks_url (an identity provider's key set)"
            );
        }
        if let Some(url) = &auth.jwt_jwks_url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            anyhow::bail!("jwt_jwks_url must start with https:// or http://");
        }
        if auth.jwt_user_claim.trim().is_empty() {
            anyhow::bail!("jwt_user_claim is empty: name the claim that holds the user id (default sub)");
        }
        if auth.jwt_name_claim.as_deref().is_some_and(|c| c.trim().is_empty()) {
            anyhow::bail!("jwt_name_claim is set but empty: name the claim that holds the display name, or leave it unset");
        }
        self.webhooks.validate()?;
        if self.server.max_payload_bytes < 1024 {
            anyhow::bail!("max_payload_bytes must be at least 1024");
        }
        if [self.content.tick, self.server.ping_interval, self.server.ping_timeout].iter().any(Duration::is_zero) {
            anyhow::bail!("tick_ms, ping_interval_ms and ping_timeout_ms must be positive");
        }
        Ok(())
    }
}

impl WebhookSettings {
    /// Each endpoint has a unique name, an http(s) URL and a secret.
    fn validate(&self) -> anyhow::Result<()> {
        let mut names = std::collections::HashSet::new();
        for endpoint in &self.endpoints {
            let name = &endpoint.name;
            if name.trim().is_empty() || !names.insert(name.as_str()) {
                anyhow::bail!("every webhook endpoint needs a unique name ({name:?} is empty or repeated)");
            }
            if name == NATS_ENDPOINT {
                anyhow::bail!("webhook endpoint name {NATS_ENDPOINT:?} is reserved for the NATS publisher (events_nats_url)");
            }
            if !(endpoint.url.starts_with("http://") || endpoint.url.starts_with("https://")) {
                anyhow::bail!("webhook endpoint {name:?}: url must start with http:// or https://");
            }
            if endpoint.secret.is_empty() {
                anyhow::bail!("webhook endpoint {name:?}: a secret (whsec_ + base64) is required");
            }
        }
        if self.concurrency == 0 || self.timeout.is_zero() || self.retry_min.is_zero() || self.retry_max < self.retry_min {
            anyhow::bail!("webhook_concurrency and webhook_timeout_ms must be positive, and webhook_retry_min_ms positive and at most webhook_retry_max_ms");
        }
        if let Some(nats) = &self.nats {
            nats.validate()?;
        }
        Ok(())
    }
}

impl NatsEvents {
    /// A `nats://` (or `tls://`) URL, a subject of plain tokens and a stream name as
    /// JetStream allows them.
    fn validate(&self) -> anyhow::Result<()> {
        if !(self.url.starts_with("nats://") || self.url.starts_with("tls://")) {
            anyhow::bail!("events_nats_url must start with nats:// or tls://; got {:?}", self.url);
        }
        let token_ok = |t: &str| !t.is_empty() && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !self.subject.split('.').all(token_ok) {
            anyhow::bail!("events_nats_subject must be dot-separated tokens of letters, digits, _ and - (no wildcards); got {:?}", self.subject);
        }
        if !token_ok(&self.stream) {
            anyhow::bail!("events_nats_stream must be letters, digits, _ and -; got {:?}", self.stream);
        }
        Ok(())
    }
}

impl ServerSettings {
    /// The configured origins, parsed.
    pub fn origins(&self) -> Vec<String> {
        self.allowed_origins.split(',').map(str::trim).filter(|o| !o.is_empty()).map(str::to_owned).collect()
    }
}

impl AuthSettings {
    /// The JWT public key PEM text (read from a file when the setting is a path).
    pub fn jwt_public_key_pem(&self) -> anyhow::Result<Option<String>> {
        match &self.jwt_public_key {
            None => Ok(None),
            Some(v) if v.trim_start().starts_with("-----BEGIN") => Ok(Some(v.clone())),
            Some(path) => Ok(Some(
                std::fs::read_to_string(Path::new(path))
                    .map_err(|e| anyhow::anyhow!("cannot read jwt public key file {path}: {e}"))?,
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::result_large_err)] // figment::Jail's closure returns figment's own (large) error type.
    fn flags_win_over_environment_and_file() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("chorus.toml", "listen = \"127.0.0.1:4000\"\ntick_ms = 100\ndatabase_url = \"sqlite://file.db\"")?;
            jail.set_env("CHORUS_LISTEN", "127.0.0.1:5000");
            jail.set_env("CHORUS_SERVER_KEY", "k");
            let flags = SettingsFlags {
                config: Some("chorus.toml".into()),
                database_url: Some("sqlite://flag.db".into()),
                ..Default::default()
            };
            let s = Settings::load(&flags).map_err(|e| e.to_string())?;
            assert_eq!(s.server.listen.port(), 5000, "env beats file");
            assert_eq!(s.content.tick, Duration::from_millis(100), "file beats default");
            assert_eq!(s.store.database_url.expose(), "sqlite://flag.db", "flag beats file");
            assert_eq!(s.auth.server_key.as_ref().map(Secret::expose), Some("k"));
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)]
    fn written_keys_fill_their_areas_with_times_in_the_unit_of_their_name() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "chorus.toml",
                "view_window_secs = 60\nbattle_max_secs = 90\nmoderation_mute_secs = 7\nstream_chat_burst = 9\n\
                 [rate_limits.chat]\nper_second = 3\nburst = 4\n",
            )?;
            jail.set_env("CHORUS_PRESENCE_GRACE_MS", "1500");
            jail.set_env("CHORUS_RATE_LIMITS__LIKES__BURST", "77");
            jail.set_env("CHORUS_REDIS_PREFIX", "staging");
            let flags = SettingsFlags { config: Some("chorus.toml".into()), ping_timeout_ms: Some(3000), ..Default::default() };
            let s = Settings::load(&flags).map_err(|e| e.to_string())?;
            assert_eq!(s.content.view_window, Duration::from_secs(60));
            assert_eq!(s.live.battle_max, Duration::from_secs(90));
            assert_eq!(s.live.chat_burst, 9);
            assert_eq!(s.moderation.mute, Duration::from_secs(7));
            assert_eq!(s.presence.grace, Duration::from_millis(1500));
            assert_eq!(s.server.ping_timeout, Duration::from_secs(3));
            assert_eq!(s.cluster.redis_prefix, "staging");
            assert_eq!(s.limits.rates.chat, Rate { per_second: 3, burst: 4 });
            assert_eq!(s.limits.rates.likes.burst, 77);
            assert_eq!(s.limits.rates.likes.per_second, RateLimits::default().likes.per_second, "a field left out keeps its default");
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)]
    fn the_nats_events_settings_are_read_and_bad_ones_refused() {
        figment::Jail::expect_with(|jail| {
            let s = Settings::load(&SettingsFlags::default()).map_err(|e| e.to_string())?;
            assert_eq!(s.webhooks.nats, None, "off unless a URL is set");
            jail.set_env("CHORUS_EVENTS_NATS_URL", "nats://127.0.0.1:4222");
            let s = Settings::load(&SettingsFlags::default()).map_err(|e| e.to_string())?;
            let nats = s.webhooks.nats.unwrap_or_else(|| panic!("set"));
            assert_eq!((nats.subject.as_str(), nats.stream.as_str()), ("chorus.events", "CHORUS_EVENTS"), "the defaults");
            for (key, value, named) in [
                ("CHORUS_EVENTS_NATS_SUBJECT", "chorus.*", "events_nats_subject"),
                ("CHORUS_EVENTS_NATS_SUBJECT", "chorus..events", "events_nats_subject"),
                ("CHORUS_EVENTS_NATS_STREAM", "a.b", "events_nats_stream"),
                ("CHORUS_EVENTS_NATS_URL", "http://127.0.0.1:4222", "events_nats_url"),
            ] {
                jail.set_env(key, value);
                let err = Settings::load(&SettingsFlags::default()).map_err(|e| e.to_string()).err().unwrap_or_default();
                assert!(err.contains(named), "{value}: {err}");
                jail.set_env(key, match key {
                    "CHORUS_EVENTS_NATS_URL" => "nats://127.0.0.1:4222",
                    "CHORUS_EVENTS_NATS_STREAM" => "CHORUS_EVENTS",
                    _ => "chorus.events",
                });
            }
            jail.create_file("chorus.toml", "[[webhooks]]\nname = \"nats\"\nurl = \"http://127.0.0.1:9/h\"\nsecret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\n")?;
            let flags = SettingsFlags { config: Some("chorus.toml".into()), ..Default::default() };
            let err = Settings::load(&flags).map_err(|e| e.to_string()).err().unwrap_or_default();
            assert!(err.contains("reserved"), "{err}");
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)]
    fn a_bad_value_is_refused_naming_its_key() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("CHORUS_TICK_MS", "soon");
            let err = Settings::load(&SettingsFlags::default()).map_err(|e| e.to_string()).err().unwrap_or_default();
            assert!(err.contains("invalid settings") && err.contains("TICK_MS") && err.contains("`CHORUS_`"), "{err}");
            jail.set_env("CHORUS_TICK_MS", "0");
            let err = Settings::load(&SettingsFlags::default()).map_err(|e| e.to_string()).err().unwrap_or_default();
            assert_eq!(err, "tick_ms, ping_interval_ms and ping_timeout_ms must be positive");
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)]
    fn the_token_claim_names_are_read_and_an_empty_one_is_refused() {
        figment::Jail::expect_with(|jail| {
            let s = Settings::load(&SettingsFlags::default()).map_err(|e| e.to_string())?;
            assert_eq!((s.auth.jwt_user_claim.as_str(), s.auth.jwt_name_claim.as_deref()), ("sub", None), "the defaults");
            jail.create_file("chorus.toml", "jwt_user_claim = \"userId\"\n")?;
            jail.set_env("CHORUS_JWT_NAME_CLAIM", "displayName");
            let flags = SettingsFlags { config: Some("chorus.toml".into()), ..Default::default() };
            let s = Settings::load(&flags).map_err(|e| e.to_string())?;
            assert_eq!((s.auth.jwt_user_claim.as_str(), s.auth.jwt_name_claim.as_deref()), ("userId", Some("displayName")));
            jail.set_env("CHORUS_JWT_USER_CLAIM", "");
            let err = Settings::load(&flags).map_err(|e| e.to_string()).err().unwrap_or_default();
            assert!(err.starts_with("jwt_user_claim is empty"), "{err}");
            jail.set_env("CHORUS_JWT_USER_CLAIM", "id");
            jail.set_env("CHORUS_JWT_NAME_CLAIM", " ");
            let err = Settings::load(&flags).map_err(|e| e.to_string()).err().unwrap_or_default();
            assert!(err.starts_with("jwt_name_claim is set but empty"), "{err}");
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)]
    fn the_parser_is_json_unless_set_and_an_unknown_one_is_refused_naming_the_accepted_ones() {
        figment::Jail::expect_with(|jail| {
            let s = Settings::load(&SettingsFlags::default()).map_err(|e| e.to_string())?;
            assert_eq!(s.server.parser, PacketParser::Json, "the default");
            jail.create_file("chorus.toml", "parser = \"msgpack\"\n")?;
            let from_file = SettingsFlags { config: Some("chorus.toml".into()), ..Default::default() };
            let s = Settings::load(&from_file).map_err(|e| e.to_string())?;
            assert_eq!(s.server.parser, PacketParser::Msgpack, "from the file");
            jail.set_env("CHORUS_PARSER", "json");
            let s = Settings::load(&from_file).map_err(|e| e.to_string())?;
            assert_eq!(s.server.parser, PacketParser::Json, "the environment beats the file");
            let flag = SettingsFlags { parser: Some(PacketParser::Msgpack), ..from_file.clone() };
            let s = Settings::load(&flag).map_err(|e| e.to_string())?;
            assert_eq!(s.server.parser, PacketParser::Msgpack, "the flag beats the environment");
            jail.set_env("CHORUS_PARSER", "protobuf");
            let err = Settings::load(&SettingsFlags::default()).map_err(|e| e.to_string()).err().unwrap_or_default();
            assert!(err.contains("invalid settings") && err.contains("PARSER") && err.contains("`json`") && err.contains("`msgpack`"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn the_parser_flag_takes_the_names_of_the_setting() {
        use clap::ValueEnum;
        let names: Vec<String> = PacketParser::value_variants().iter().filter_map(|p| p.to_possible_value()).map(|v| v.get_name().to_owned()).collect();
        assert_eq!(names, ["json", "msgpack"]);
        let written: Vec<String> = [PacketParser::Json, PacketParser::Msgpack].iter().map(|p| serde_json::to_string(p).unwrap_or_default()).collect();
        assert_eq!(written, ["\"json\"", "\"msgpack\""], "what the flag layer hands to figment");
    }

    #[test]
    fn a_settings_dump_carries_no_password_or_secret() {
        let mut s = Settings::default();
        s.store.database_url = "postgres://chorus:hunter2@db:5432/chorus".into();
        s.cluster.redis_url = Some("rediss://:s3cret@cache:6380/0".into());
        s.auth.jwt_secret = Some(Secret::new("jwt-secret-value"));
        s.auth.server_key = Some(Secret::new("server-key-value"));
        let dump = format!("{s:?}");
        for secret in ["hunter2", "s3cret", "jwt-secret-value", "server-key-value"] {
            assert!(!dump.contains(secret), "{secret} printed in {dump}");
        }
        assert!(dump.contains("postgres://***@db:5432/chorus") && dump.contains("tick: 250ms"), "{dump}");
    }
}
