//! Live streams (PROTOCOL.md §9): streams and their viewers, moderated stream chat,
//! coins and gifts, the throne and OG tiers, battles, and live metrics. The socket
//! commands and the REST routes call the same services; every write is durable
//! before anything is published; high-rate updates go out through the board, once
//! per tick.
//!
//! One job per file: `streams` (lifecycle, viewers, likes), `stream_chat` (chat and
//! its limits), `sanctions` (mutes and bans), `wallet` (balances and credits), `gifts`
//! (paying for gifts and what they change), `throne` (top gifter and OG tiers),
//! `battles` (invitations, timers, boosts), `board` (what the tick publishes).
//!
//! Across nodes: one-off facts (gifts, throne, OG tiers, battle start and end, chat)
//! are published once, cluster-wide, by the node that made the write; the periodic
//! snapshots (viewer counts, battle scores, metrics) are sent by every node to its
//! own connections, from the store and the cluster-wide viewer registry.

pub mod battles;
pub mod board;
pub mod catalog;
pub mod gifts;
pub mod model;
pub mod rules;
pub mod sanctions;
pub mod stream_chat;
pub mod streams;
pub mod throne;
pub mod wallet;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde::Serialize;

use self::battles::BattleService;
use self::board::LiveBoard;
use self::catalog::GiftCatalog;
use self::gifts::GiftService;
use self::model::{CatalogItem, Stream, StreamStatus};
use self::rules::LiveRules;
use self::sanctions::SanctionService;
use self::stream_chat::StreamChat;
use self::streams::StreamService;
use self::wallet::WalletService;
use super::error::{DomainError, DomainResult};
use super::events::LiveEvent;
use super::moderation::Moderation;
use super::text::valid_id;
use super::users::UserDirectory;
use crate::ports::cluster::ViewerRegistry;
use crate::ports::events::EventSink;
use crate::ports::limits::RateLimiter;
use crate::ports::live_store::{BattleStore, StreamStore, WalletStore};
use crate::ports::publisher::{Audience, EventPublisher, Room};

/// How often the board forgets streams nobody watches.
const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(60);
/// How often open battles are read back and timed, in case a node that timed one
/// died and the mark that told this node about it was lost.
const BATTLE_SWEEP_EVERY: Duration = Duration::from_secs(15);
/// Above this many streams on the board, the metrics re-read lists the live streams
/// in one query instead of reading each.
const REFRESH_ONE_BY_ONE: usize = 32;

/// What live streaming needs from the rest of the server.
pub struct LivePorts {
    pub streams: Arc<dyn StreamStore>,
    pub battles: Arc<dyn BattleStore>,
    pub wallets: Arc<dyn WalletStore>,
    pub users: Arc<UserDirectory>,
    /// Distinct viewers per room key (shared with content rooms; see `board::viewer_key`).
    pub viewers: Arc<dyn ViewerRegistry>,
    /// Joins and leaves of stream rooms.
    pub publisher: Arc<dyn EventPublisher>,
    /// Where what happened is told.
    pub events: Arc<dyn EventSink>,
    pub moderation: Arc<Moderation>,
    /// The per-viewer stream chat limit (`LimitClass::StreamChat`), cluster-wide.
    pub limits: Arc<dyn RateLimiter>,
}

/// State every live service shares.
pub struct Shared {
    pub(crate) streams: Arc<dyn StreamStore>,
    pub(crate) battles: Arc<dyn BattleStore>,
    pub(crate) wallets: Arc<dyn WalletStore>,
    pub(crate) users: Arc<UserDirectory>,
    pub(crate) viewers: Arc<dyn ViewerRegistry>,
    pub(crate) publisher: Arc<dyn EventPublisher>,
    pub(crate) events: Arc<dyn EventSink>,
    pub(crate) moderation: Arc<Moderation>,
    pub(crate) catalog: GiftCatalog,
    pub(crate) rules: LiveRules,
    pub(crate) board: LiveBoard,
}

impl Shared {
    /// A stream by id; unknown ids are `not_found`.
    pub(crate) async fn stream_or_404(&self, id: &str) -> DomainResult<Stream> {
        valid_id("streamId", id)?;
        self.streams.stream(id).await?.ok_or_else(|| DomainError::not_found("unknown stream"))
    }

    /// The stream, refusing one that has ended with `conflict`.
    pub(crate) async fn open_stream(&self, id: &str) -> DomainResult<Stream> {
        let stream = self.stream_or_404(id).await?;
        if stream.status == StreamStatus::Ended {
            return Err(ended());
        }
        Ok(stream)
    }

    /// Tells the stream room of `event` (a snapshot reaches this node's connections
    /// there, which every node sends; anything else, the room on every node).
    pub(crate) async fn to_stream(&self, stream_id: &str, event: LiveEvent) {
        self.events.emit(Audience::Room(Room::Stream(stream_id.to_owned())), event.into()).await;
    }
}

/// The error for anything done to an ended stream.
pub(crate) fn ended() -> DomainError {
    DomainError::conflict("the stream has ended")
}

/// The gift catalog as clients get it.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct GiftList<'a> {
    pub gifts: &'a [CatalogItem],
}

/// Live streaming: the services, and the tick that publishes what coalesces.
pub struct Live {
    /// Creation, status, slow mode, joins and likes.
    pub streams: StreamService,
    /// Moderated stream chat.
    pub chat: StreamChat,
    /// Mutes and bans.
    pub sanctions: SanctionService,
    /// Balances and backend credits.
    pub wallet: WalletService,
    /// Paying for gifts.
    pub gifts: GiftService,
    /// Invitations, timers and boosts.
    pub battles: Arc<BattleService>,
    shared: Arc<Shared>,
    /// Set once live streams and open battles were read back after a start.
    loaded: AtomicBool,
    last_housekeeping: Mutex<Instant>,
    last_battle_sweep: Mutex<Instant>,
}

impl Live {
    pub fn new(ports: LivePorts, catalog: GiftCatalog, rules: LiveRules) -> Self {
        let shared = Arc::new(Shared {
            streams: ports.streams,
            battles: ports.battles,
            wallets: ports.wallets,
            users: ports.users,
            viewers: ports.viewers,
            publisher: ports.publisher,
            events: ports.events,
            moderation: ports.moderation,
            catalog,
            rules,
            board: LiveBoard::default(),
        });
        let battles = Arc::new(BattleService::new(shared.clone()));
        Self {
            streams: StreamService::new(shared.clone(), battles.clone()),
            chat: StreamChat::new(shared.clone(), ports.limits),
            sanctions: SanctionService::new(shared.clone()),
            wallet: WalletService::new(shared.clone()),
            gifts: GiftService::new(shared.clone()),
            battles,
            shared,
            loaded: AtomicBool::new(false),
            last_housekeeping: Mutex::new(Instant::now()),
            last_battle_sweep: Mutex::new(Instant::now()),
        }
    }

    /// The gift catalog (`GET /api/gifts`, the `gift:catalog` ack).
    pub fn gift_list(&self) -> GiftList<'_> {
        GiftList { gifts: self.shared.catalog.items() }
    }

    /// One tick: viewer counts, battle scores and (each metrics period) metrics of
    /// live streams; battle invitations and timers that ran out; and, now and then,
    /// housekeeping. Called by the tick task.
    pub async fn tick(&self) {
        let s = &self.shared;
        if !self.loaded.load(Ordering::Acquire) {
            match self.load().await {
                Ok(()) => self.loaded.store(true, Ordering::Release),
                Err(e) => tracing::warn!(error = %e.chain(), "live state not loaded yet; retrying next tick"),
            }
        }
        let metrics_due = s.board.metrics_due(s.rules.metrics_interval);
        if metrics_due {
            // Likes, gifts and status changes may have been made on other nodes.
            self.refresh_streams().await;
        }
        let updates = s.board.take_updates(s.viewers.as_ref(), metrics_due).await;
        for (stream_id, n) in updates.viewers {
            s.to_stream(&stream_id, LiveEvent::ViewersCounted { stream_id: stream_id.clone(), viewer_count: n }).await;
        }
        self.battles.publish_scores(updates.battles).await;
        for m in updates.metrics {
            let stream_id = m.stream_id.clone();
            s.to_stream(&stream_id, LiveEvent::MetricsCounted { metrics: m }).await;
        }
        for (stream_id, peak) in updates.peaks {
            if let Err(e) = s.streams.raise_peak(&stream_id, peak).await {
                tracing::warn!(stream = %stream_id, error = %e.chain(), "peak viewers not stored");
            }
        }
        if came_round(&self.last_battle_sweep, BATTLE_SWEEP_EVERY)
            && let Err(e) = self.battles.schedule_open().await
        {
            tracing::warn!(error = %e.chain(), "open battles not read back; retrying later");
        }
        self.battles.settle_due().await;
        if came_round(&self.last_housekeeping, HOUSEKEEPING_EVERY) {
            s.board.prune(s.viewers.as_ref()).await;
        }
    }

    /// Moves this node's dirty marks since the last call into `out`, for the others.
    pub fn share_into(&self, out: &mut crate::ports::dirty::DirtyMarks) {
        self.shared.board.share_into(out);
    }

    /// Takes in the marks of other nodes: battles to read again, chat to count, and
    /// bans, whose user's connections on this node leave the stream room now.
    pub async fn absorb(&self, marks: &crate::ports::dirty::DirtyMarks) {
        let s = &self.shared;
        s.board.absorb(marks);
        for (stream_id, user_id) in &marks.bans {
            for connection in s.board.connections_of(stream_id, user_id) {
                streams::drop_connection(s, stream_id, &connection).await;
            }
        }
    }

    /// After a start: live streams get their metrics again, open battles their timers.
    async fn load(&self) -> DomainResult<()> {
        let s = &self.shared;
        for stream in s.streams.streams_with_status(&[StreamStatus::Live, StreamStatus::Paused], 10_000).await? {
            s.board.track(&stream);
        }
        self.battles.schedule_open().await
    }

    /// Re-reads the streams on the board from the store: totals and status changed on
    /// other nodes show in this node's metrics, and a stream paused or ended elsewhere
    /// stops getting them.
    async fn refresh_streams(&self) {
        let s = &self.shared;
        let mut left: HashSet<String> = s.board.tracked().into_iter().collect();
        if left.len() > REFRESH_ONE_BY_ONE {
            match s.streams.streams_with_status(&[StreamStatus::Live, StreamStatus::Paused], 10_000).await {
                Ok(list) => {
                    for stream in list {
                        if left.remove(&stream.id) {
                            s.board.refresh(&stream);
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e.chain(), "live streams not re-read for metrics");
                    return;
                }
            }
        }
        // What is left is few, or not live (idle or ended).
        for id in left {
            match s.streams.stream(&id).await {
                Ok(Some(stream)) => s.board.refresh(&stream),
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(stream = %id, error = %e.chain(), "stream not re-read for metrics");
                    return;
                }
            }
        }
    }
}

/// True once `every` passed since the last time it was true (then it starts again).
fn came_round(last: &Mutex<Instant>, every: Duration) -> bool {
    let mut last = last.lock();
    let due = last.elapsed() >= every;
    if due {
        *last = Instant::now();
    }
    due
}
