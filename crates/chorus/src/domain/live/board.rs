//! The live board: what the tick publishes for streams and battles. Viewer counts,
//! battle scores and stream metrics change at high rate; the board keeps the latest
//! values and the tick sends at most one `stream:viewers` and one `battle:update` per
//! room per tick (only when changed), and `metrics:update` once per metrics period
//! while a stream is live (DESIGN.md, performance principles).
//!
//! In a cluster every node keeps a board for the streams its own connections watch
//! and sends these updates to its own connections only, from cluster-wide values
//! (viewer registry, store). What a node cannot see by itself (battles scored, chat
//! shown and bans made on other nodes) arrives as dirty marks; the board also keeps
//! the marks made here for the other nodes (`share_into`).

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde::Serialize;

use super::model::{Scores, Stream, StreamStatus};
use crate::ports::cluster::ViewerRegistry;
use crate::ports::dirty::DirtyMarks;
use crate::ports::publisher::ConnectionId;

/// A stream that stays idle (not live, nobody watching) this long leaves the board.
const IDLE_EVICTION: Duration = Duration::from_secs(600);

/// The viewer-registry key of a stream. Content ids never contain whitespace, so the
/// space keeps stream keys apart from any content item sharing the registry.
pub fn viewer_key(stream_id: &str) -> String {
    format!("stream {stream_id}")
}

/// One `metrics:update`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Metrics {
    pub stream_id: String,
    pub viewers: u64,
    pub peak_viewers: u64,
    pub likes: i64,
    pub gifts: i64,
    pub coins: i64,
    pub chat_per_min: u32,
}

/// Chat messages over the last minute, in one-second buckets.
#[derive(Debug, Clone)]
struct ChatRate {
    buckets: [u32; 60],
    last_sec: u64,
}

impl ChatRate {
    fn new(now_sec: u64) -> Self {
        Self { buckets: [0; 60], last_sec: now_sec }
    }

    fn advance(&mut self, now_sec: u64) {
        if now_sec <= self.last_sec {
            return;
        }
        let gap = (now_sec - self.last_sec).min(60);
        for s in 1..=gap {
            self.buckets[((self.last_sec + s) % 60) as usize] = 0;
        }
        self.last_sec = now_sec;
    }

    fn add(&mut self, now_sec: u64, n: u32) {
        self.advance(now_sec);
        let b = &mut self.buckets[(now_sec % 60) as usize];
        *b = b.saturating_add(n);
    }

    fn per_minute(&mut self, now_sec: u64) -> u32 {
        self.advance(now_sec);
        self.buckets.iter().sum()
    }
}

/// What the board knows of one stream.
struct Tally {
    status: StreamStatus,
    /// Connections in the stream room on this node, with their user (for bans).
    connections: HashMap<ConnectionId, String>,
    /// The last `stream:viewers` value sent.
    published_viewers: Option<u64>,
    viewers: u64,
    peak: u64,
    stored_peak: u64,
    likes: i64,
    gifts: i64,
    coins: i64,
    chat: ChatRate,
    touched: Instant,
}

impl Tally {
    fn metrics(&mut self, id: &str, now_sec: u64) -> Metrics {
        Metrics {
            stream_id: id.to_owned(),
            viewers: self.viewers,
            peak_viewers: self.peak,
            likes: self.likes,
            gifts: self.gifts,
            coins: self.coins,
            chat_per_min: self.chat.per_minute(now_sec),
        }
    }
}

/// What one tick publishes.
#[derive(Debug, Default)]
pub struct Updates {
    /// `stream:viewers` to send.
    pub viewers: Vec<(String, u64)>,
    /// `metrics:update` to send (empty unless the metrics period came round).
    pub metrics: Vec<Metrics>,
    /// New peaks to store.
    pub peaks: Vec<(String, i64)>,
    /// Battles that changed: each is read from the store and, while it runs, its
    /// scores go out as `battle:update`.
    pub battles: Vec<String>,
}

#[derive(Default)]
struct BoardState {
    streams: HashMap<String, Tally>,
    /// Battles changed since the last tick (here or on another node).
    battles: HashSet<String>,
    /// Marks made here since the last exchange, for the other nodes.
    shared: DirtyMarks,
    /// The last `battle:update` scores sent per running battle (a late mark from
    /// another node must not resend unchanged scores).
    sent_scores: HashMap<String, Scores>,
    /// Battle id → when its invitation expires or its timer runs out (ms).
    deadlines: HashMap<String, i64>,
    last_metrics: Option<Instant>,
}

/// The board of one node.
pub struct LiveBoard {
    state: Mutex<BoardState>,
    epoch: Instant,
}

impl Default for LiveBoard {
    fn default() -> Self {
        Self { state: Mutex::new(BoardState::default()), epoch: Instant::now() }
    }
}

impl LiveBoard {
    fn now_sec(&self) -> u64 {
        self.epoch.elapsed().as_secs()
    }

    fn tally<'a>(&self, state: &'a mut BoardState, stream: &Stream) -> &'a mut Tally {
        let now_sec = self.now_sec();
        let t = state.streams.entry(stream.id.clone()).or_insert_with(|| Tally {
            status: stream.status,
            connections: HashMap::new(),
            published_viewers: None,
            viewers: 0,
            peak: stream.peak_viewers.max(0) as u64,
            stored_peak: stream.peak_viewers.max(0) as u64,
            likes: 0,
            gifts: 0,
            coins: 0,
            chat: ChatRate::new(now_sec),
            touched: Instant::now(),
        });
        absorb_row(t, stream);
        t.touched = Instant::now();
        t
    }

    /// Takes in a stream's stored state without counting it as activity (the
    /// periodic re-read of the metrics period, which must not keep idle streams).
    pub fn refresh(&self, stream: &Stream) {
        if let Some(t) = self.state.lock().streams.get_mut(&stream.id) {
            absorb_row(t, stream);
        }
    }

    /// The streams on this board.
    pub fn tracked(&self) -> Vec<String> {
        self.state.lock().streams.keys().cloned().collect()
    }

    /// Takes a stream's stored state into account (a join, a status change, a gift).
    pub fn track(&self, stream: &Stream) {
        let mut state = self.state.lock();
        self.tally(&mut state, stream);
    }

    /// A connection joined the stream room.
    pub fn joined(&self, stream: &Stream, connection: ConnectionId, user_id: String) {
        let mut state = self.state.lock();
        self.tally(&mut state, stream).connections.insert(connection, user_id);
    }

    /// A connection left the stream room; returns its user, if it was in it here.
    pub fn left(&self, stream_id: &str, connection: &ConnectionId) -> Option<String> {
        self.state.lock().streams.get_mut(stream_id).and_then(|t| t.connections.remove(connection))
    }

    /// A connection closed: it leaves every stream room it was in here. Returns each
    /// stream with the connection's user.
    pub fn closed(&self, connection: &ConnectionId) -> Vec<(String, String)> {
        let mut state = self.state.lock();
        state.streams.iter_mut().filter_map(|(id, t)| t.connections.remove(connection).map(|user| (id.clone(), user))).collect()
    }

    /// This node's connections of one user in a stream room.
    pub fn connections_of(&self, stream_id: &str, user_id: &str) -> Vec<ConnectionId> {
        self.state
            .lock()
            .streams
            .get(stream_id)
            .map(|t| t.connections.iter().filter(|(_, u)| *u == user_id).map(|(c, _)| c.clone()).collect())
            .unwrap_or_default()
    }

    /// The stream's like total changed.
    pub fn liked(&self, stream_id: &str, total: i64) {
        if let Some(t) = self.state.lock().streams.get_mut(stream_id) {
            t.likes = t.likes.max(total);
        }
    }

    /// A chat message was shown here.
    pub fn chatted(&self, stream_id: &str) {
        let now_sec = self.now_sec();
        let mut state = self.state.lock();
        let shared = state.shared.chats.entry(stream_id.to_owned()).or_default();
        *shared = shared.saturating_add(1);
        if let Some(t) = state.streams.get_mut(stream_id) {
            t.chat.add(now_sec, 1);
        }
    }

    /// A battle changed here (invited, started, scored): every node reads it at its
    /// next tick, sends its scores while it runs and times its deadline.
    pub fn battle_changed(&self, battle_id: &str) {
        let mut state = self.state.lock();
        state.battles.insert(battle_id.to_owned());
        state.shared.battles.insert(battle_id.to_owned());
    }

    /// A battle to read again at the next tick, on this node only (a failed read).
    pub fn battle_marked(&self, battle_id: &str) {
        self.state.lock().battles.insert(battle_id.to_owned());
    }

    /// A viewer was banned here: the other nodes drop their connections of that user.
    pub fn banned(&self, stream_id: &str, user_id: &str) {
        self.state.lock().shared.bans.insert((stream_id.to_owned(), user_id.to_owned()));
    }

    /// Moves the marks made here since the last call into `out`.
    pub fn share_into(&self, out: &mut DirtyMarks) {
        out.merge(std::mem::take(&mut self.state.lock().shared));
    }

    /// Takes in the battle and chat marks of other nodes (bans are the service's).
    pub fn absorb(&self, marks: &DirtyMarks) {
        let now_sec = self.now_sec();
        let mut state = self.state.lock();
        state.battles.extend(marks.battles.iter().cloned());
        for (stream_id, n) in &marks.chats {
            if let Some(t) = state.streams.get_mut(stream_id) {
                t.chat.add(now_sec, *n);
            }
        }
    }

    /// Whether `scores` differ from the last sent for that battle (and, if so, they
    /// count as sent).
    pub fn scores_changed(&self, battle_id: &str, scores: &Scores) -> bool {
        let mut state = self.state.lock();
        if state.sent_scores.get(battle_id) == Some(scores) {
            return false;
        }
        state.sent_scores.insert(battle_id.to_owned(), scores.clone());
        true
    }

    /// A battle is over: nothing more to send or time for it.
    pub fn battle_settled(&self, battle_id: &str) {
        let mut state = self.state.lock();
        state.battles.remove(battle_id);
        state.deadlines.remove(battle_id);
        state.sent_scores.remove(battle_id);
    }

    /// Times a battle's next deadline.
    pub fn schedule(&self, battle_id: &str, at_ms: i64) {
        self.state.lock().deadlines.insert(battle_id.to_owned(), at_ms);
    }

    /// Battles whose deadline passed (they are unscheduled; the caller settles them).
    pub fn due_battles(&self, now_ms: i64) -> Vec<String> {
        let mut state = self.state.lock();
        let due: Vec<String> = state.deadlines.iter().filter(|(_, at)| **at <= now_ms).map(|(id, _)| id.clone()).collect();
        for id in &due {
            state.deadlines.remove(id);
        }
        due
    }

    /// Current viewer counts of every tracked stream, in one registry call.
    async fn viewer_counts(&self, viewers: &dyn ViewerRegistry) -> HashMap<String, u64> {
        let ids: Vec<String> = self.state.lock().streams.keys().cloned().collect();
        let keys: Vec<String> = ids.iter().map(|id| viewer_key(id)).collect();
        ids.into_iter().zip(viewers.viewer_counts(&keys).await).collect()
    }

    /// Whether `metrics:update` is due (and, if so, starts the next period).
    pub fn metrics_due(&self, every: Duration) -> bool {
        let mut state = self.state.lock();
        let now = Instant::now();
        match state.last_metrics {
            Some(last) if now.duration_since(last) < every => false,
            _ => {
                state.last_metrics = Some(now);
                true
            }
        }
    }

    /// Collects this tick's updates: viewer counts read from the registry (so closed
    /// connections count out without telling the board), pending battle scores, and
    /// metrics when `with_metrics`.
    pub async fn take_updates(&self, viewers: &dyn ViewerRegistry, with_metrics: bool) -> Updates {
        // Counts are read before the lock: the registry may take a round trip.
        let counts = self.viewer_counts(viewers).await;
        let now_sec = self.now_sec();
        let mut state = self.state.lock();
        let mut out = Updates { battles: state.battles.drain().collect(), ..Updates::default() };
        for (id, t) in state.streams.iter_mut() {
            let n = counts.get(id).copied().unwrap_or(t.viewers);
            t.viewers = n;
            t.peak = t.peak.max(n);
            if t.published_viewers != Some(n) && (t.published_viewers.is_some() || n > 0) {
                t.published_viewers = Some(n);
                out.viewers.push((id.clone(), n));
            }
            if with_metrics {
                if t.peak > t.stored_peak {
                    t.stored_peak = t.peak;
                    out.peaks.push((id.clone(), t.peak as i64));
                }
                if t.status == StreamStatus::Live {
                    out.metrics.push(t.metrics(id, now_sec));
                }
            }
        }
        out
    }

    /// The last metrics of a stream that ended; the stream leaves the board.
    pub async fn finish(&self, stream: &Stream, viewers: &dyn ViewerRegistry) -> Metrics {
        let count = viewers.viewer_count(&viewer_key(&stream.id)).await;
        let now_sec = self.now_sec();
        let mut state = self.state.lock();
        let t = self.tally(&mut state, stream);
        t.viewers = count;
        t.peak = t.peak.max(t.viewers);
        let metrics = t.metrics(&stream.id, now_sec);
        state.streams.remove(&stream.id);
        metrics
    }

    /// Forgets connections that closed and streams that went quiet.
    pub async fn prune(&self, viewers: &dyn ViewerRegistry) {
        let counts = self.viewer_counts(viewers).await;
        let mut state = self.state.lock();
        for t in state.streams.values_mut() {
            t.connections.retain(|c, _| viewers.rooms_of(c) > 0);
        }
        state.streams.retain(|id, t| {
            let quiet = t.status != StreamStatus::Live && t.connections.is_empty() && counts.get(id).copied().unwrap_or(0) == 0;
            !(t.status == StreamStatus::Ended || quiet && t.touched.elapsed() > IDLE_EVICTION)
        });
    }
}

/// A stored row's state: its status, and totals that only grow (a stale read never
/// moves them back).
fn absorb_row(t: &mut Tally, stream: &Stream) {
    t.status = stream.status;
    t.likes = t.likes.max(stream.likes);
    t.gifts = t.gifts.max(stream.gifts);
    t.coins = t.coins.max(stream.coins);
    let stored = stream.peak_viewers.max(0) as u64;
    t.peak = t.peak.max(stored);
    t.stored_peak = t.stored_peak.max(stored);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::memory_cluster::MemoryViewers;
    use crate::domain::time::Timestamp;

    fn stream(id: &str, status: StreamStatus) -> Stream {
        Stream {
            id: id.into(),
            owner_id: "o".into(),
            title: "t".into(),
            status,
            slow_mode_sec: 0,
            likes: 3,
            gifts: 0,
            coins: 0,
            peak_viewers: 0,
            created_at: Timestamp(0),
            started_at: None,
            ended_at: None,
            throne: None,
            battle_id: None,
        }
    }

    #[tokio::test]
    async fn viewer_counts_go_out_once_per_change_and_metrics_only_for_live_streams() {
        let board = LiveBoard::default();
        let viewers = MemoryViewers::default();
        let s = stream("s1", StreamStatus::Live);
        let c = ConnectionId("c1".into());
        viewers.add_viewer(&viewer_key("s1"), "u1", &c).await;
        board.joined(&s, c.clone(), "u1".into());
        board.track(&stream("s2", StreamStatus::Paused));
        let first = board.take_updates(&viewers, true).await;
        assert_eq!(first.viewers, [("s1".to_owned(), 1)]);
        assert_eq!(first.metrics.len(), 1, "paused streams send no metrics");
        assert_eq!(first.metrics[0].likes, 3);
        assert_eq!(first.peaks, [("s1".to_owned(), 1)]);
        assert!(board.take_updates(&viewers, false).await.viewers.is_empty(), "unchanged counts are not resent");
        viewers.remove_connection(&c).await;
        assert_eq!(board.take_updates(&viewers, false).await.viewers, [("s1".to_owned(), 0)], "a closed connection counts out");
        board.prune(&viewers).await;
        assert!(board.connections_of("s1", "u1").is_empty());
    }

    #[tokio::test]
    async fn marks_made_here_are_shared_once_and_marks_from_elsewhere_apply_here_only() {
        let here = LiveBoard::default();
        here.track(&stream("s1", StreamStatus::Live));
        here.chatted("s1");
        here.battle_changed("b1");
        here.banned("s1", "u9");
        let mut out = DirtyMarks::default();
        here.share_into(&mut out);
        assert_eq!(out.chats.get("s1"), Some(&1));
        assert!(out.battles.contains("b1"));
        assert!(out.bans.contains(&("s1".to_owned(), "u9".to_owned())));
        let mut again = DirtyMarks::default();
        here.share_into(&mut again);
        assert!(again.is_empty(), "marks are shared once");

        let there = LiveBoard::default();
        there.track(&stream("s1", StreamStatus::Live));
        there.absorb(&out);
        let mut echo = DirtyMarks::default();
        there.share_into(&mut echo);
        assert!(echo.is_empty(), "marks from elsewhere are not sent on again");
        let viewers = MemoryViewers::default();
        let updates = there.take_updates(&viewers, true).await;
        assert_eq!(updates.battles, ["b1"]);
        assert_eq!(updates.metrics[0].chat_per_min, 1, "chat shown on another node counts");
    }

    #[test]
    fn chat_rate_counts_the_last_minute() {
        let mut r = ChatRate::new(0);
        r.add(10, 5);
        r.add(30, 1);
        assert_eq!(r.per_minute(30), 6);
        assert_eq!(r.per_minute(69), 6);
        assert_eq!(r.per_minute(70), 1, "the burst at second 10 left the window");
        assert_eq!(r.per_minute(500), 0);
    }

    #[test]
    fn due_battles_leave_the_schedule() {
        let board = LiveBoard::default();
        board.schedule("b1", 100);
        board.schedule("b2", 200);
        assert_eq!(board.due_battles(150), ["b1"]);
        assert!(board.due_battles(150).is_empty());
        board.battle_settled("b2");
        assert!(board.due_battles(1000).is_empty());
    }
}
