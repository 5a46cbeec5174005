//! Session resume around the publisher port (PROTOCOL.md §1, "Resuming a session").
//! `publish` gives each event its seq in the event log and delivers it in seq order;
//! `publish_local` (per-tick snapshots every node sends itself) passes through unlogged;
//! `join`/`leave` also keep the connection's session record current. A new connection
//! takes a session (a fresh one, or one it resumes) under the same delivery lock, so it
//! misses nothing and receives nothing twice.
//!
//! One node: publish = (append to the memory ring, deliver) under the lock.
//! Many nodes: publish = append to the Redis Stream; one follower task per node reads the
//! stream in order and delivers each entry to this node's sockets under the lock. While
//! Redis is unreachable a node delivers its own events at once and queues them in an
//! outbox, appended later marked with its id; its follower skips those.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use parking_lot::Mutex;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::adapters::redis::event_log::RedisEventLog;
use crate::domain::resume::{Refused, ResumeRequest, addressed_to, admit};
use crate::domain::time::Timestamp;
use crate::lifecycle::{Stage, Tasks};
use crate::ports::event_log::{EventLog, LoggedEvent, Replay, SessionRecord};
use crate::ports::publisher::{Audience, ConnectionId, EventPublisher, Room};

/// Events a node holds while Redis is unreachable; older ones are dropped past it.
const OUTBOX_CAP: usize = 10_000;
/// How long the follower's blocking read waits before it looks again.
const FOLLOW_BLOCK: Duration = Duration::from_secs(2);
/// How often closed connections are noticed and open records refreshed.
const SWEEP_EVERY: Duration = Duration::from_secs(1);
/// How long a resume waits for this node's follower to reach the client's `lastSeq`.
const CATCH_UP: Duration = Duration::from_secs(2);

/// True once the connection has closed (its leaves are cleanup, not the user's).
pub type ClosedProbe = Box<dyn Fn() -> bool + Send + Sync>;

/// A connection being opened: its session, the events it missed, and this node's
/// delivery lock, released on drop.
pub struct Opening {
    pub started: Started,
    /// Rooms to join now: the user room, and a resumed session's rooms.
    pub join: Vec<Room>,
    missed: Vec<LoggedEvent>,
    _delivery: tokio::sync::OwnedMutexGuard<u64>,
}

impl Opening {
    /// The missed events, in seq order: `(event, payload with its seq)`.
    pub fn missed(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.missed.iter().map(|e| (e.event.as_str(), &e.payload))
    }
}

/// The session a new connection got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    pub session_id: String,
    pub recovered: bool,
}

/// A connection of this node and its session.
struct Live {
    record: SessionRecord,
    closed: ClosedProbe,
    refreshed: Instant,
}

/// A session record write, applied in order by one writer task.
struct Write {
    record: SessionRecord,
    ttl: Duration,
    /// A connection takes the session (else: an update by the connection holding it).
    claim: bool,
}

/// An event delivered locally while the log was unreachable.
#[derive(Clone)]
struct Pending {
    to: Audience,
    event: String,
    payload: Value,
}

enum Mode {
    /// The log is this node's memory: publishing delivers directly.
    Local,
    /// The log is shared: the follower delivers.
    Cluster { follower: Arc<RedisEventLog>, node_id: String, outbox: Mutex<VecDeque<Pending>> },
}

/// The `EventPublisher` decorator that makes sessions resumable.
pub struct SequencedPublisher {
    inner: Arc<dyn EventPublisher>,
    log: Arc<dyn EventLog>,
    mode: Mode,
    /// Held while events are delivered and while a connection takes its session; the
    /// value is the last seq delivered to this node's sockets.
    delivery: Arc<tokio::sync::Mutex<u64>>,
    window: Duration,
    live: Mutex<HashMap<String, Live>>,
    writes: mpsc::UnboundedSender<Write>,
}

impl SequencedPublisher {
    /// One node: the log is in memory.
    pub fn local(inner: Arc<dyn EventPublisher>, log: Arc<dyn EventLog>, window: Duration, tasks: &Tasks) -> Arc<Self> {
        Self::start(inner, log, Mode::Local, window, 0, tasks)
    }

    /// Many nodes: the log is the Redis Stream, followed from its current head.
    pub async fn cluster(inner: Arc<dyn EventPublisher>, log: Arc<RedisEventLog>, window: Duration, tasks: &Tasks) -> Arc<Self> {
        let head = match log.position().await {
            Ok(head) => head,
            // Seqs encode time: "now" skips what was published before this node came up.
            Err(_) => crate::domain::resume::next_seq(Timestamp::now().millis(), 0),
        };
        let mode = Mode::Cluster { follower: log.clone(), node_id: uuid::Uuid::now_v7().to_string(), outbox: Mutex::default() };
        let this = Self::start(inner, log, mode, window, head, tasks);
        tasks.spawn(Stage::Publishers, "event log follower", follow(Arc::downgrade(&this)));
        tasks.spawn(Stage::Publishers, "event log outbox", flush_outbox(Arc::downgrade(&this)));
        this
    }

    fn start(inner: Arc<dyn EventPublisher>, log: Arc<dyn EventLog>, mode: Mode, window: Duration, head: u64, tasks: &Tasks) -> Arc<Self> {
        let (writes, queue) = mpsc::unbounded_channel();
        let this = Arc::new(Self { inner, log: log.clone(), mode, delivery: Arc::new(tokio::sync::Mutex::new(head)), window, live: Mutex::default(), writes });
        tasks.spawn(Stage::Writers, "session record writer", write_records(log, queue));
        tasks.spawn(Stage::Publishers, "session sweep", sweep(Arc::downgrade(&this)));
        this
    }

    /// How long an open connection's record lives without a refresh.
    fn open_ttl(&self) -> Duration {
        self.window + Duration::from_secs(60)
    }

    /// Gives a new connection its session: the one it asks to resume when allowed (its
    /// rooms are joined, its missed events are returned to be sent), else a fresh one.
    /// Its user room is joined here too. Runs in the connect middleware, before the
    /// CONNECT ack; the returned `Opening` holds this node's delivery lock until it is
    /// dropped, after the missed events and `session:ready` were sent: no newer event
    /// can overtake them, and events to the rooms joined here are not lost meanwhile.
    pub async fn open(&self, connection: &ConnectionId, user_id: &str, ask: Option<ResumeRequest>, closed: ClosedProbe) -> Opening {
        if let Some(ask) = &ask {
            self.catch_up(ask.last_seq).await;
        }
        let position = self.delivery.clone().lock_owned().await;
        let resumed = match &ask {
            Some(ask) => match self.resumable(connection, user_id, ask, *position).await {
                Ok(found) => Some(found),
                Err(reason) => {
                    tracing::debug!(session = %ask.session_id, ?reason, "session not recovered");
                    None
                }
            },
            None => None,
        };
        let (old, missed) = resumed.map_or((None, Vec::new()), |(record, missed)| (Some(record), missed));
        // The caller joins these on the socket itself: before the CONNECT ack the socket
        // is not yet in the namespace, where the port's `join` looks it up.
        let mut join = vec![Room::User(user_id.to_owned())];
        join.extend(old.iter().flat_map(|r| r.rooms.iter().cloned()));
        let started = Started {
            session_id: old.as_ref().map_or_else(|| uuid::Uuid::now_v7().to_string(), |r| r.session_id.clone()),
            recovered: old.is_some(),
        };
        let record = SessionRecord {
            session_id: started.session_id.clone(),
            user_id: user_id.to_owned(),
            connection: connection.0.clone(),
            rooms: old.map(|r| r.rooms).unwrap_or_default(),
            since: *position,
            disconnected_at_ms: None,
        };
        // Queued with the room updates that follow, so none is overwritten by it; the
        // lock is not held for a Redis round trip.
        let _ = self.writes.send(Write { record: record.clone(), ttl: self.open_ttl(), claim: true });
        self.live.lock().insert(connection.0.clone(), Live { record, closed, refreshed: Instant::now() });
        Opening { started, join, missed, _delivery: position }
    }

    /// The record to resume and the events its connection missed, or why not.
    async fn resumable(&self, connection: &ConnectionId, user_id: &str, ask: &ResumeRequest, position: u64) -> Result<(SessionRecord, Vec<LoggedEvent>), Refused> {
        let record = self.log.load_session(&ask.session_id).await.map_err(|_| Refused::Unavailable)?;
        let after = admit(record.as_ref(), user_id, ask, Timestamp::now().millis(), self.window, position)?;
        let record = record.ok_or(Refused::Unknown)?;
        if record.connection != connection.0 {
            let mut live = self.live.lock();
            match live.get(&record.connection) {
                Some(holder) if !(holder.closed)() => return Err(Refused::InUse),
                // The old connection closed here: its record now moves to the new one.
                Some(_) => {
                    live.remove(&record.connection);
                }
                None => {}
            }
        }
        let held = record.clone();
        let keep = move |to: &Audience| addressed_to(to, &held);
        match self.log.read_range(after, position, &keep).await {
            // A late event may have reached the old connection without a seq.
            Ok(Replay::Events(events)) if events.iter().any(|e| e.late_from.is_some()) => Err(Refused::Gap),
            Ok(Replay::Events(events)) => Ok((record, events)),
            Ok(Replay::Gap) => Err(Refused::Gap),
            Err(_) => Err(Refused::Unavailable),
        }
    }

    /// In cluster mode the client may have seen events this node's follower has not
    /// delivered yet: wait for it briefly.
    async fn catch_up(&self, last_seq: u64) {
        if matches!(self.mode, Mode::Local) {
            return;
        }
        let deadline = Instant::now() + CATCH_UP;
        while *self.delivery.lock().await < last_seq && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Updates the open session of `connection` when its rooms change by its own doing.
    fn record_rooms(&self, connection: &ConnectionId, change: impl FnOnce(&mut Vec<Room>) -> bool) {
        let mut live = self.live.lock();
        let Some(entry) = live.get_mut(&connection.0) else { return };
        if (entry.closed)() || !change(&mut entry.record.rooms) {
            return;
        }
        entry.refreshed = Instant::now();
        let _ = self.writes.send(Write { record: entry.record.clone(), ttl: self.open_ttl(), claim: false });
    }

    /// Delivers on this node at once and queues for the log (Redis unreachable).
    async fn deliver_late(&self, outbox: &Mutex<VecDeque<Pending>>, to: Audience, event: &str, payload: Value) {
        {
            let mut queue = outbox.lock();
            if queue.len() >= OUTBOX_CAP {
                queue.pop_front();
                tracing::warn!("event outbox full: the oldest event will not reach other nodes");
            }
            queue.push_back(Pending { to: to.clone(), event: event.to_owned(), payload: payload.clone() });
        }
        let _position = self.delivery.lock().await;
        self.inner.publish_local(to, event, payload).await;
    }
}

#[async_trait]
impl EventPublisher for SequencedPublisher {
    async fn publish(&self, to: Audience, event: &str, payload: Value) {
        if !payload.is_object() {
            tracing::debug!(event, "payload is not an object: sent without a seq and not logged");
            self.inner.publish(to, event, payload).await;
            return;
        }
        match &self.mode {
            Mode::Local => {
                let mut position = self.delivery.lock().await;
                match self.log.append(to.clone(), event, payload.clone(), None).await {
                    Ok(logged) => {
                        *position = logged.seq;
                        self.inner.publish(logged.to, &logged.event, logged.payload).await;
                    }
                    Err(e) => {
                        tracing::warn!(event, error = %e, "event not logged: sent without a seq");
                        self.inner.publish(to, event, payload).await;
                    }
                }
            }
            Mode::Cluster { outbox, .. } => {
                // Behind a non-empty outbox, new events wait too: one node's events
                // reach the others in the order it published them.
                if outbox.lock().is_empty() {
                    match self.log.append(to.clone(), event, payload.clone(), None).await {
                        Ok(_) => return,
                        Err(e) => tracing::debug!(event, error = %e, "event log unreachable: delivering here first"),
                    }
                }
                self.deliver_late(outbox, to, event, payload).await;
            }
        }
    }

    async fn publish_local(&self, to: Audience, event: &str, payload: Value) {
        self.inner.publish_local(to, event, payload).await;
    }

    fn join(&self, connection: &ConnectionId, room: Room) {
        self.inner.join(connection, room.clone());
        self.record_rooms(connection, |rooms| {
            let added = !rooms.contains(&room);
            if added {
                rooms.push(room);
            }
            added
        });
    }

    fn leave(&self, connection: &ConnectionId, room: Room) {
        self.inner.leave(connection, room.clone());
        self.record_rooms(connection, |rooms| {
            let before = rooms.len();
            rooms.retain(|r| *r != room);
            rooms.len() != before
        });
    }

    async fn room_size(&self, room: &Room) -> usize {
        self.inner.room_size(room).await
    }

    fn disconnect(&self, connection: &ConnectionId) {
        self.inner.disconnect(connection);
    }

    async fn disconnect_room(&self, room: &Room) {
        self.inner.disconnect_room(room).await;
    }

    async fn connection_count(&self) -> usize {
        self.inner.connection_count().await
    }

    async fn room_count(&self) -> usize {
        self.inner.room_count().await
    }

    async fn close_all(&self) {
        self.inner.close_all().await;
    }
}

/// Applies record writes one at a time, in the order they were made.
async fn write_records(log: Arc<dyn EventLog>, mut queue: mpsc::UnboundedReceiver<Write>) {
    while let Some(write) = queue.recv().await {
        let written = if write.claim {
            log.claim_session(&write.record, write.ttl).await
        } else {
            log.update_session(&write.record, write.ttl).await
        };
        if let Err(e) = written {
            tracing::debug!(session = %write.record.session_id, error = %e, "session record not updated");
        }
    }
}

/// Notices closed connections (their records get `disconnectedAt` and live for the
/// window) and refreshes the records of open ones before they expire.
async fn sweep(this: Weak<SequencedPublisher>) {
    let mut tick = tokio::time::interval(SWEEP_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(this) = this.upgrade() else { return };
        let refresh_after = (this.window / 3).max(SWEEP_EVERY);
        let now = Instant::now();
        let mut live = this.live.lock();
        live.retain(|_, entry| {
            if (entry.closed)() {
                let record = SessionRecord { disconnected_at_ms: Some(Timestamp::now().millis()), ..entry.record.clone() };
                let _ = this.writes.send(Write { record, ttl: this.window, claim: false });
                return false;
            }
            if now.duration_since(entry.refreshed) >= refresh_after {
                entry.refreshed = now;
                let _ = this.writes.send(Write { record: entry.record.clone(), ttl: this.open_ttl(), claim: false });
            }
            true
        });
    }
}

/// Cluster mode: reads the stream in order and delivers each entry to this node's
/// sockets (entries this node delivered itself while Redis was away are skipped).
async fn follow(this: Weak<SequencedPublisher>) {
    loop {
        let (follower, after) = {
            let Some(this) = this.upgrade() else { return };
            let Mode::Cluster { follower, .. } = &this.mode else { return };
            (follower.clone(), *this.delivery.lock().await)
        };
        let read = follower.follow(after, FOLLOW_BLOCK).await;
        let Some(this) = this.upgrade() else { return };
        let Mode::Cluster { node_id, .. } = &this.mode else { return };
        match read {
            Ok(events) => {
                let mut position = this.delivery.lock().await;
                for event in events {
                    if event.seq <= *position {
                        continue;
                    }
                    *position = event.seq;
                    if event.late_from.as_deref() != Some(node_id.as_str()) {
                        this.inner.publish_local(event.to, &event.event, event.payload).await;
                    }
                }
            }
            Err(e) => {
                tracing::debug!(error = %e, "event stream read failed: retrying");
                drop(this);
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
    }
}

/// Cluster mode: appends what the outbox holds once Redis answers again, in order.
async fn flush_outbox(this: Weak<SequencedPublisher>) {
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    loop {
        tick.tick().await;
        let Some(this) = this.upgrade() else { return };
        let Mode::Cluster { outbox, node_id, .. } = &this.mode else { return };
        // The event leaves the queue only once appended: meanwhile new events queue
        // behind it (see `publish`).
        loop {
            let Some(next) = outbox.lock().front().cloned() else { break };
            if this.log.append(next.to, &next.event, next.payload, Some(node_id)).await.is_err() {
                break;
            }
            outbox.lock().pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use serde_json::json;

    use super::*;
    use crate::adapters::memory_event_log::MemoryEventLog;

    /// Records what reaches the sockets.
    #[derive(Default)]
    struct Recorder {
        sent: Mutex<Vec<(Audience, String, Value)>>,
    }

    #[async_trait]
    impl EventPublisher for Recorder {
        async fn publish(&self, to: Audience, event: &str, payload: Value) {
            self.sent.lock().push((to, event.to_owned(), payload));
        }
        fn join(&self, _: &ConnectionId, _: Room) {}
        fn leave(&self, _: &ConnectionId, _: Room) {}
        async fn room_size(&self, _: &Room) -> usize {
            0
        }
        fn disconnect(&self, _: &ConnectionId) {}
        async fn disconnect_room(&self, _: &Room) {}
        async fn connection_count(&self) -> usize {
            0
        }
        async fn room_count(&self) -> usize {
            0
        }
        async fn close_all(&self) {}
    }

    fn conn(id: &str) -> ConnectionId {
        ConnectionId(id.into())
    }

    fn chat(id: &str) -> Room {
        Room::Chat(id.into())
    }

    fn setup() -> (Arc<Recorder>, Arc<SequencedPublisher>) {
        let inner = Arc::new(Recorder::default());
        let log = Arc::new(MemoryEventLog::new(Duration::from_secs(60), 1000));
        (inner.clone(), SequencedPublisher::local(inner, log, Duration::from_secs(60), &crate::lifecycle::Tasks::new()))
    }

    /// Waits for the record writer to apply the queued writes.
    async fn settle() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    #[tokio::test]
    async fn published_events_carry_increasing_seqs_and_snapshots_none() {
        let (inner, publisher) = setup();
        for i in 0..3 {
            publisher.publish(Audience::Room(chat("r")), "chat:message", json!({ "i": i })).await;
        }
        publisher.publish_local(Audience::Room(chat("r")), "content:counts", json!({ "likes": 1 })).await;
        publisher.publish(Audience::Everyone, "odd", json!([1])).await;
        let sent = inner.sent.lock();
        let seqs: Vec<u64> = sent[..3].iter().map(|(_, _, p)| p["seq"].as_u64().unwrap()).collect();
        assert!(seqs.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(sent[3].2, json!({ "likes": 1 }), "coalesced snapshots carry no seq");
        assert_eq!(sent[4].2, json!([1]), "non-object payloads pass unchanged");
    }

    #[tokio::test]
    async fn a_resumed_session_gets_its_rooms_and_exactly_its_missed_events() {
        let (inner, publisher) = setup();
        let closed = Arc::new(AtomicBool::new(false));
        let probe = closed.clone();
        let first = publisher.open(&conn("c1"), "alice", None, Box::new(move || probe.load(Ordering::SeqCst))).await;
        assert!(!first.started.recovered);
        let session_id = first.started.session_id.clone();
        drop(first);
        publisher.join(&conn("c1"), chat("mine"));
        publisher.publish(Audience::Room(chat("mine")), "chat:message", json!({ "id": "seen" })).await;
        let last_seq = inner.sent.lock().last().unwrap().2["seq"].as_u64().unwrap();
        // The connection drops; its cleanup leaves are not the user's and are not recorded.
        closed.store(true, Ordering::SeqCst);
        publisher.leave(&conn("c1"), chat("mine"));
        publisher.publish(Audience::Room(chat("mine")), "chat:message", json!({ "id": "m1" })).await;
        publisher.publish(Audience::Room(chat("other")), "chat:message", json!({ "id": "not-mine" })).await;
        publisher.publish(Audience::Room(Room::User("alice".into())), "notification:new", json!({ "id": "n1" })).await;
        publisher.publish(Audience::RoomExcept(chat("mine"), conn("c1")), "chat:typing", json!({ "id": "echo" })).await;
        publisher.publish(Audience::Connection(conn("c1")), "direct", json!({ "id": "d1" })).await;
        settle().await;

        let ask = ResumeRequest { session_id: session_id.clone(), last_seq };
        let opening = publisher.open(&conn("c2"), "alice", Some(ask.clone()), Box::new(|| false)).await;
        assert_eq!(opening.started, Started { session_id: session_id.clone(), recovered: true });
        let ids: Vec<_> = opening.missed().map(|(_, p)| p["id"].as_str().unwrap().to_owned()).collect();
        assert_eq!(ids, vec!["m1", "n1", "d1"]);
        let seqs: Vec<_> = opening.missed().map(|(_, p)| p["seq"].as_u64().unwrap()).collect();
        assert!(seqs.windows(2).all(|w| w[0] < w[1]) && seqs[0] > last_seq);
        assert!(opening.join.contains(&chat("mine")) && opening.join.contains(&Room::User("alice".into())), "rooms come back");
        drop(opening);

        // Someone else's session, or one held by an open connection, is not recovered.
        let bob = publisher.open(&conn("c3"), "bob", Some(ask.clone()), Box::new(|| false)).await;
        assert!(!bob.started.recovered);
        assert_ne!(bob.started.session_id, session_id);
        drop(bob);
        settle().await;
        let twice = publisher.open(&conn("c4"), "alice", Some(ask), Box::new(|| false)).await;
        assert!(!twice.started.recovered, "c2 still holds it");
    }

    #[tokio::test]
    async fn a_trimmed_gap_or_unknown_session_is_not_recovered() {
        let inner = Arc::new(Recorder::default());
        let log = Arc::new(MemoryEventLog::new(Duration::from_secs(60), 2));
        let publisher = SequencedPublisher::local(inner, log, Duration::from_secs(60), &crate::lifecycle::Tasks::new());
        let opening = publisher.open(&conn("c1"), "alice", None, Box::new(|| true)).await;
        let session_id = opening.started.session_id.clone();
        drop(opening);
        settle().await;
        for i in 0..5 {
            publisher.publish(Audience::Room(Room::User("alice".into())), "e", json!({ "i": i })).await;
        }
        let gap = publisher.open(&conn("c2"), "alice", Some(ResumeRequest { session_id, last_seq: 0 }), Box::new(|| false)).await;
        assert!(!gap.started.recovered);
        drop(gap);
        let unknown = publisher.open(&conn("c3"), "alice", Some(ResumeRequest { session_id: "nope".into(), last_seq: 0 }), Box::new(|| false)).await;
        assert!(!unknown.started.recovered);
    }
}
