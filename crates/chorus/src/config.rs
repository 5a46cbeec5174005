//! Settings, layered: built-in defaults, then an optional TOML file (`--config`), then
//! `CHORUS_*` environment variables, then command-line flags (flags win).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::Args;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use crate::ports::limits::Rate;
use crate::auth::secret::{ConnectionUrl, Secret};
use crate::ports::limits::LimitClass;

/// Everything a Chorus node is configured with.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Address the HTTP and Socket.IO server binds.
    pub listen: SocketAddr,
    /// `sqlite://file.db` (created when missing) or `postgres://...`; printed without
    /// its password.
    pub database_url: ConnectionUrl,
    /// HS256 secret for user tokens.
    pub jwt_secret: Option<Secret>,
    /// RS256/ES256 public key: PEM text or the path of a PEM file.
    pub jwt_public_key: Option<String>,
    /// Required `iss` claim, when set.
    pub jwt_issuer: Option<String>,
    /// Required `aud` claim, when set.
    pub jwt_audience: Option<String>,
    /// Clock skew tolerated on `exp` (capped at 30 s).
    pub jwt_leeway_secs: u64,
    /// Where the generated development secret is kept when no key is configured.
    pub dev_secret_file: PathBuf,
    /// Bearer key of the server API; the server API is off without one.
    pub server_key: Option<Secret>,
    /// Engine.IO ping interval.
    pub ping_interval_ms: u64,
    /// Engine.IO ping timeout.
    pub ping_timeout_ms: u64,
    /// Largest packet accepted, on both transports.
    pub max_payload_bytes: u64,
    /// Read buffer of each WebSocket connection (memory per connection vs. syscalls).
    pub ws_read_buffer_bytes: usize,
    /// Packets queued per socket before further emits to it are dropped.
    pub socket_buffer_packets: usize,
    /// Comma-separated origins allowed by CORS; empty allows none cross-site, `*` all.
    pub allowed_origins: String,
    /// Let socket handshakes without an Origin header (native apps) through.
    pub allow_missing_origin: bool,
    /// Let clients without a token connect as guests (public rooms and views only).
    pub allow_guests: bool,
    /// Time a client has to send its namespace CONNECT after the handshake.
    pub connect_timeout_ms: u64,
    /// A viewer's views of one item count once per this window.
    pub view_window_secs: u64,
    /// Period of coalesced updates (`content:counts`, viewers, rankings).
    pub tick_ms: u64,
    /// A typing indicator expires after this long without a refresh.
    pub typing_ttl_ms: u64,
    /// Rooms one socket may watch.
    pub max_rooms_per_socket: usize,
    /// Longest comment, in characters.
    pub max_comment_chars: usize,
    /// A chat message may be edited by its sender for this long after sending.
    pub chat_edit_window_secs: u64,
    /// Presence grace period after the last socket closes.
    pub presence_grace_ms: u64,
    /// Shortest interval between two shared positions of one user.
    pub location_min_interval_ms: u64,
    /// Repeated likes of one item within this window fold into one notification.
    pub notification_group_window_secs: u64,
    /// A document's update log is folded into a snapshot past this many updates.
    pub collab_compact_every: usize,
    /// Collaborative documents held in memory at once.
    pub collab_max_open_docs: usize,
    /// A document nobody has joined leaves memory after this long unused.
    pub collab_idle_secs: u64,
    /// An unanswered call stops ringing (missed call) after this long.
    pub call_ring_timeout_ms: u64,
    /// A closed session can be resumed this long after its connection closed; missed
    /// events are kept this long.
    pub resume_window_secs: u64,
    /// Most events kept for resume (on a single node, in memory; in cluster mode, in
    /// the Redis Stream).
    pub resume_log_max_events: usize,
    /// `text` or `json` log lines.
    pub log_format: String,
    /// Cluster mode: the Redis Socket.IO adapter and the Redis cluster state. With
    /// PostgreSQL as the store, many nodes serve one deployment.
    pub redis_url: Option<ConnectionUrl>,
    /// Prefix of every Redis key and channel (several deployments may share a Redis).
    pub redis_prefix: String,
    /// Concurrent sockets one user may hold (0 = no cap).
    pub max_sockets_per_user: usize,
    /// Concurrent sockets one address may hold (0 = no cap).
    pub max_sockets_per_ip: usize,
    /// Turns every token bucket below on or off (tests and benchmarks turn them off).
    pub rate_limits_enabled: bool,
    /// Token buckets per class; a `per_second` of 0 means unlimited.
    pub rate_limits: RateLimits,
    /// A socket refused this many commands for rate within a minute is disconnected.
    pub abuse_disconnect_after: u32,
    /// Comma-separated words and phrases moderation blocks (`CHORUS_BLOCKLIST`), matched
    /// after folding case, accents, leetspeak and spacing.
    pub blocklist: String,
    /// Gift catalog file, JSON or TOML (`CHORUS_GIFT_CATALOG`); the built-in catalog without one.
    pub gift_catalog: Option<PathBuf>,
    /// Longest stream chat message, in characters.
    pub stream_chat_max_chars: usize,
    /// Stream chat messages a viewer may send at once, per stream, before the rate applies.
    pub stream_chat_burst: u32,
    /// Sustained stream chat messages per second per viewer and stream (0 = no limit).
    pub stream_chat_per_sec: u32,
    /// Period of `metrics:update` while a stream is live.
    pub stream_metrics_interval_ms: u64,
    /// OG tiers: `name:coins` pairs, thresholds rising (lifetime coins to one creator).
    pub og_tiers: String,
    /// Shortest battle a streamer may start.
    pub battle_min_secs: u32,
    /// Longest battle a streamer may start.
    pub battle_max_secs: u32,
    /// An unanswered battle invitation expires after this long.
    pub battle_invite_ttl_secs: u64,
    /// `block` or `allow` links in moderated text.
    pub moderation_links: String,
    /// Comma-separated domains whose links pass when links are blocked.
    pub moderation_allowed_domains: String,
    /// Longest run of one repeated character (0 = no limit).
    pub moderation_max_repeated_chars: usize,
    /// Texts with at least this many letters, 80 % capitals, are blocked (0 = off).
    pub moderation_caps_min_letters: usize,
    /// Surfaces besides stream chat that the moderation pipeline guards: `comment`,
    /// `chat` (comma-separated; empty by default: stream chat only).
    pub moderation_surfaces: String,
    /// External moderation webhook (`http://`), asked after the built-in rules pass.
    pub moderation_webhook_url: Option<String>,
    /// Time the webhook has to answer.
    pub moderation_webhook_timeout_ms: u64,
    /// When the webhook fails: allow the text (true) or refuse it (false).
    pub moderation_webhook_fail_open: bool,
    /// Blocked messages within the strike window that mute their author in the stream (0 = never).
    pub moderation_strike_limit: u32,
    /// Strikes older than this no longer count.
    pub moderation_strike_window_secs: u64,
    /// How long a mute for strikes lasts.
    pub moderation_mute_secs: u64,
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
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 3000)),
            database_url: "sqlite://chorus.db".into(),
            jwt_secret: None,
            jwt_public_key: None,
            jwt_issuer: None,
            jwt_audience: None,
            jwt_leeway_secs: 5,
            dev_secret_file: PathBuf::from(".chorus-dev-secret"),
            server_key: None,
            ping_interval_ms: 25_000,
            ping_timeout_ms: 20_000,
            max_payload_bytes: 1_000_000,
            ws_read_buffer_bytes: 1024,
            socket_buffer_packets: 1024,
            allowed_origins: String::new(),
            allow_missing_origin: true,
            allow_guests: false,
            connect_timeout_ms: 10_000,
            view_window_secs: 30 * 60,
            tick_ms: 250,
            typing_ttl_ms: 5_000,
            max_rooms_per_socket: 200,
            max_comment_chars: 2000,
            chat_edit_window_secs: 900,
            presence_grace_ms: 10_000,
            location_min_interval_ms: 2_000,
            notification_group_window_secs: 3600,
            collab_compact_every: 200,
            collab_max_open_docs: 1000,
            collab_idle_secs: 300,
            call_ring_timeout_ms: 30_000,
            resume_window_secs: 120,
            resume_log_max_events: 100_000,
            log_format: "text".into(),
            redis_url: None,
            redis_prefix: "chorus".into(),
            max_sockets_per_user: 10,
            max_sockets_per_ip: 100,
            rate_limits_enabled: true,
            rate_limits: RateLimits::default(),
            abuse_disconnect_after: 100,
            blocklist: String::new(),
            gift_catalog: None,
            stream_chat_max_chars: 500,
            stream_chat_burst: 5,
            stream_chat_per_sec: 1,
            stream_metrics_interval_ms: 2000,
            og_tiers: "bronze:100,silver:1000,gold:10000".into(),
            battle_min_secs: 30,
            battle_max_secs: 600,
            battle_invite_ttl_secs: 30,
            moderation_links: "block".into(),
            moderation_allowed_domains: String::new(),
            moderation_max_repeated_chars: 10,
            moderation_caps_min_letters: 12,
            moderation_surfaces: String::new(),
            moderation_webhook_url: None,
            moderation_webhook_timeout_ms: 1500,
            moderation_webhook_fail_open: true,
            moderation_strike_limit: 3,
            moderation_strike_window_secs: 3600,
            moderation_mute_secs: 600,
        }
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
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(path) = &flags.config {
            if !path.exists() {
                anyhow::bail!("config file {} does not exist", path.display());
            }
            figment = figment.merge(Toml::file(path));
        }
        let settings: Settings = figment
            .merge(Env::prefixed("CHORUS_").split("__"))
            .merge(Serialized::defaults(flags))
            .extract()
            .map_err(|e| anyhow::anyhow!("invalid settings: {e}"))?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> anyhow::Result<()> {
        if self.jwt_secret.as_ref().is_some_and(Secret::is_empty) {
            anyhow::bail!("jwt_secret is set but empty");
        }
        if self.jwt_secret.is_some() && self.jwt_public_key.is_some() {
            anyhow::bail!("set either jwt_secret (HS256) or jwt_public_key (RS256/ES256), not both");
        }
        if self.max_payload_bytes < 1024 {
            anyhow::bail!("max_payload_bytes must be at least 1024");
        }
        if self.tick_ms == 0 || self.ping_interval_ms == 0 || self.ping_timeout_ms == 0 {
            anyhow::bail!("tick_ms, ping_interval_ms and ping_timeout_ms must be positive");
        }
        Ok(())
    }

    /// The configured origins, parsed.
    pub fn origins(&self) -> Vec<String> {
        self.allowed_origins.split(',').map(str::trim).filter(|o| !o.is_empty()).map(str::to_owned).collect()
    }

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
            assert_eq!(s.listen.port(), 5000, "env beats file");
            assert_eq!(s.tick_ms, 100, "file beats default");
            assert_eq!(s.database_url.expose(), "sqlite://flag.db", "flag beats file");
            assert_eq!(s.server_key.as_ref().map(Secret::expose), Some("k"));
            Ok(())
        });
    }
}
