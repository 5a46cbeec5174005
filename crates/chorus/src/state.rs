//! The state every door shares: settings, the token verifier and the services.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;


use crate::auth::jwt::TokenVerifier;
use crate::auth::secret::Secret;
use crate::config::Settings;
use crate::domain::calls::CallService;
use crate::domain::chat::ChatService;
use crate::domain::collab::CollabService;
use crate::domain::content::ContentService;
use crate::domain::live_counts::LiveCounts;
use crate::domain::channels::Channels;
use crate::domain::follows::FollowService;
use crate::domain::notifications::NotificationService;
use crate::domain::presence::PresenceService;
use crate::domain::rankings::Rankings;
use crate::domain::users::UserDirectory;
use crate::ports::cluster::SessionRegistry;
use crate::ports::limits::RateLimiter;
use crate::ports::publisher::EventPublisher;
use crate::transport::socket::expiry::SessionExpiry;

/// Shared by the socket handlers, the REST routes and the background tasks.
pub struct AppState {
    pub settings: Settings,
    pub verifier: TokenVerifier,
    /// Bearer key of the server API; `None` turns the server API off.
    pub server_key: Option<Secret>,
    pub users: Arc<UserDirectory>,
    pub content: Arc<ContentService>,
    pub chat: Arc<ChatService>,
    pub collab: Arc<CollabService>,
    pub calls: Arc<CallService>,
    /// Live streams: streams, stream chat, wallets, gifts, battles (PROTOCOL.md §9).
    pub live_streams: Arc<crate::domain::live::Live>,
    /// The moderation pipeline, for every surface that shows user text.
    pub moderation: Arc<crate::domain::moderation::Moderation>,
    pub rankings: Arc<Rankings>,
    /// Coalesced content counters and viewer numbers (`content:counts`, `content:viewers`).
    pub content_counts: Arc<LiveCounts>,
    pub sessions: Arc<dyn SessionRegistry>,
    pub limits: Arc<dyn RateLimiter>,
    pub sanctions: Arc<crate::domain::sanctions::AccountSanctions>,
    /// The guest rule and the room cap, asked before any command runs.
    pub admission: crate::domain::admission::Admission,
    pub notifications: Arc<NotificationService>,
    pub follows: Arc<FollowService>,
    pub channels: Arc<Channels>,
    pub presence: Arc<PresenceService>,
    pub location: Arc<crate::domain::location::LocationSharing>,
    /// Webhook deliveries that failed until their deadline (the server API).
    pub dead_letters: Arc<crate::domain::dead_letters::DeadLetters>,
    pub publisher: Arc<dyn EventPublisher>,
    /// The stream of domain events (observers, then the encoders).
    pub events: Arc<dyn crate::ports::events::EventSink>,
    /// The same publisher, as the one that gives connections their resumable sessions.
    pub resume: Arc<crate::adapters::sequenced_publisher::SequencedPublisher>,
    pub expiry: SessionExpiry,
    /// The node's link to Redis in cluster mode (`None` on a single node).
    pub redis: Option<crate::adapters::redis::link::RedisLink>,
    /// Dirty marks between the nodes in cluster mode (`None` on a single node).
    pub dirty: Option<Arc<dyn crate::ports::dirty::DirtyBus>>,
    /// The dialect of clients that name none (`dialect`); `None`: the native protocol.
    pub dialect: Option<crate::adapters::wire::dialect::Dialect>,
    /// The sockets of each dialect on this node.
    pub dialects: Arc<crate::adapters::wire::dialect::census::DialectCensus>,
    /// Running socket commands; drained on shutdown before sockets close.
    pub commands: crate::transport::socket::drain::CommandGate,
    /// The cleanups of closed sockets (presence, viewers, the cluster's session
    /// records): awaited at shutdown before the stores close under them.
    pub cleanups: tokio_util::task::TaskTracker,
    /// True once the server accepts connections; false again while shutting down.
    pub ready: AtomicBool,
}

/// Handle passed to every handler.
pub type App = Arc<AppState>;
