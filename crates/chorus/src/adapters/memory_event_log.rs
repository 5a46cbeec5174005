//! The event log of a single node: a ring of recent events, trimmed by time (the resume
//! window) and by length, and the session records, all in memory.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use parking_lot::Mutex;
use serde_json::Value;

use crate::domain::error::{DomainError, DomainResult};
use crate::domain::resume::{next_seq, seq_floor_for, stamp};
use crate::domain::time::Timestamp;
use crate::ports::event_log::{AudienceFilter, EventLog, LoggedEvent, Replay, SessionRecord};
use crate::ports::publisher::Audience;

/// In-memory `EventLog`. The sequenced publisher appends under its own delivery lock,
/// so this mutex is never contended on the hot path.
pub struct MemoryEventLog {
    window: Duration,
    max_events: usize,
    ring: Mutex<Ring>,
    sessions: Mutex<HashMap<String, (SessionRecord, Instant)>>,
}

#[derive(Default)]
struct Ring {
    events: VecDeque<LoggedEvent>,
    /// The last seq assigned.
    last: u64,
    /// The highest seq trimmed away: events after it are all still here.
    floor: u64,
}

impl MemoryEventLog {
    pub fn new(window: Duration, max_events: usize) -> Self {
        Self { window, max_events: max_events.max(1), ring: Mutex::default(), sessions: Mutex::default() }
    }

    fn trim(&self, ring: &mut Ring, now_ms: i64) {
        let oldest_kept = seq_floor_for(now_ms, self.window);
        while let Some(front) = ring.events.front() {
            if ring.events.len() <= self.max_events && front.seq >= oldest_kept {
                break;
            }
            ring.floor = front.seq;
            ring.events.pop_front();
        }
    }
}

#[async_trait]
impl EventLog for MemoryEventLog {
    async fn append(&self, to: Audience, event: &str, mut payload: Value, late_from: Option<&str>) -> DomainResult<LoggedEvent> {
        let now = Timestamp::now().millis();
        let mut ring = self.ring.lock();
        let seq = next_seq(now, ring.last);
        if !stamp(&mut payload, seq) {
            return Err(DomainError::bad_request("only object payloads are logged"));
        }
        ring.last = seq;
        let logged = LoggedEvent { seq, to, event: event.to_owned(), payload, late_from: late_from.map(str::to_owned) };
        ring.events.push_back(logged.clone());
        self.trim(&mut ring, now);
        Ok(logged)
    }

    async fn read_range(&self, after: u64, upto: u64, keep: &AudienceFilter) -> DomainResult<Replay> {
        let mut ring = self.ring.lock();
        self.trim(&mut ring, Timestamp::now().millis());
        if after < ring.floor {
            return Ok(Replay::Gap);
        }
        // Seqs increase along the ring: find the first after `after` by bisection.
        let start = ring.events.partition_point(|e| e.seq <= after);
        let events = ring.events.range(start..).take_while(|e| e.seq <= upto).filter(|e| keep(&e.to)).cloned().collect();
        Ok(Replay::Events(events))
    }

    async fn head(&self) -> DomainResult<u64> {
        Ok(self.ring.lock().last)
    }

    async fn claim_session(&self, record: &SessionRecord, ttl: Duration) -> DomainResult<()> {
        let now = Instant::now();
        let mut sessions = self.sessions.lock();
        // Expired records go whenever one is written, so the map stays bounded.
        sessions.retain(|_, (_, until)| *until > now);
        sessions.insert(record.session_id.clone(), (record.clone(), now + ttl));
        Ok(())
    }

    async fn update_session(&self, record: &SessionRecord, ttl: Duration) -> DomainResult<()> {
        let mut sessions = self.sessions.lock();
        match sessions.get(&record.session_id) {
            Some((held, _)) if held.connection != record.connection => Ok(()),
            _ => {
                sessions.insert(record.session_id.clone(), (record.clone(), Instant::now() + ttl));
                Ok(())
            }
        }
    }

    async fn load_session(&self, session_id: &str) -> DomainResult<Option<SessionRecord>> {
        let sessions = self.sessions.lock();
        Ok(sessions.get(session_id).filter(|(_, until)| *until > Instant::now()).map(|(r, _)| r.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::publisher::Room;
    use serde_json::json;

    fn all(_: &Audience) -> bool {
        true
    }

    fn room() -> Audience {
        Audience::Room(Room::Chat("r".into()))
    }

    #[tokio::test]
    async fn seqs_increase_and_are_written_into_the_payload() {
        let log = MemoryEventLog::new(Duration::from_secs(60), 100);
        let a = log.append(room(), "chat:message", json!({"id": "m1"}), None).await.unwrap();
        let b = log.append(room(), "chat:message", json!({"id": "m2"}), None).await.unwrap();
        assert!(b.seq > a.seq);
        assert_eq!(a.payload["seq"], json!(a.seq));
        assert_eq!(log.head().await.unwrap(), b.seq);
        assert!(log.append(room(), "x", json!([1]), None).await.is_err(), "arrays carry no seq");
    }

    #[tokio::test]
    async fn reads_a_range_in_order() {
        let log = MemoryEventLog::new(Duration::from_secs(60), 100);
        let mut seqs = Vec::new();
        for i in 0..5 {
            seqs.push(log.append(room(), "e", json!({ "i": i }), None).await.unwrap().seq);
        }
        let Replay::Events(got) = log.read_range(seqs[1], seqs[3], &all).await.unwrap() else { panic!("gap") };
        assert_eq!(got.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![seqs[2], seqs[3]]);
        let Replay::Events(none) = log.read_range(seqs[4], seqs[4], &all).await.unwrap() else { panic!("gap") };
        assert!(none.is_empty());
    }

    #[tokio::test]
    async fn trimming_by_length_reports_a_gap() {
        let log = MemoryEventLog::new(Duration::from_secs(60), 3);
        let mut seqs = Vec::new();
        for i in 0..5 {
            seqs.push(log.append(room(), "e", json!({ "i": i }), None).await.unwrap().seq);
        }
        // seqs[0] and seqs[1] are gone: a client that saw seqs[0] missed seqs[1].
        assert_eq!(log.read_range(seqs[0], seqs[4], &all).await.unwrap(), Replay::Gap);
        let Replay::Events(got) = log.read_range(seqs[1], seqs[4], &all).await.unwrap() else { panic!("gap") };
        assert_eq!(got.len(), 3);
    }

    #[tokio::test]
    async fn trimming_by_time_reports_a_gap() {
        let log = MemoryEventLog::new(Duration::from_millis(30), 100);
        let a = log.append(room(), "e", json!({}), None).await.unwrap().seq;
        let b = log.append(room(), "e", json!({}), None).await.unwrap().seq;
        tokio::time::sleep(Duration::from_millis(60)).await;
        let c = log.append(room(), "e", json!({}), None).await.unwrap().seq;
        assert_eq!(log.read_range(a, c, &all).await.unwrap(), Replay::Gap);
        assert!(matches!(log.read_range(b, c, &all).await.unwrap(), Replay::Events(ref e) if e.len() == 1));
    }

    #[tokio::test]
    async fn a_later_claim_wins_over_a_late_update() {
        let log = MemoryEventLog::new(Duration::from_secs(60), 100);
        let ttl = Duration::from_secs(60);
        let first = SessionRecord {
            session_id: "s".into(),
            user_id: "u".into(),
            connection: "c1".into(),
            rooms: vec![],
            since: 0,
            disconnected_at_ms: None,
        };
        log.claim_session(&first, ttl).await.unwrap();
        let taken = SessionRecord { connection: "c2".into(), ..first.clone() };
        log.claim_session(&taken, ttl).await.unwrap();
        log.update_session(&SessionRecord { disconnected_at_ms: Some(1), ..first }, ttl).await.unwrap();
        assert_eq!(log.load_session("s").await.unwrap(), Some(taken));
        log.claim_session(&SessionRecord { session_id: "short".into(), ..Default::default() }, Duration::ZERO).await.unwrap();
        assert_eq!(log.load_session("short").await.unwrap(), None, "expired records are gone");
    }
}
