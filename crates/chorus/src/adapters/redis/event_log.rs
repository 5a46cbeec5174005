//! The cluster's event log on one Redis Stream. A Lua script assigns the seq from a
//! counter key and appends with the explicit id `<seq>-0`, so stream order is seq
//! order; it trims by length and by time (the resume window) and keeps a floor: every
//! event above it is still in the stream. Every node follows the stream with a blocking
//! read on its own connection (a blocked command would stall the shared one).

use std::time::Duration;

use async_trait::async_trait;
use redis::Script;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::streams::{StreamId, StreamRangeReply, StreamReadOptions, StreamReadReply};
use serde_json::Value;

use super::event_codec::{decode_audience, encode_audience};
use super::link::RedisLink;
use super::session_records::SessionRecords;
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::resume::stamp;
use crate::ports::event_log::{AudienceFilter, EventLog, LoggedEvent, Replay, SessionRecord};
use crate::ports::publisher::Audience;

/// Assigns `max(now_ms * 1000, last + 1)` (Redis time: one clock for every node),
/// appends, trims and moves the floor (the highest seq that may have been trimmed).
/// Records live in the same Redis: a lost log means lost records, so a missing floor
/// reads as 0.
const APPEND: &str = r"
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local held = redis.call('GET', KEYS[2])
local seq = now_ms * 1000
if held then
  local last = tonumber(held)
  if seq <= last then seq = last + 1 end
end
local id = string.format('%.0f', seq)
redis.call('SET', KEYS[2], id)
if ARGV[4] == '' then
  redis.call('XADD', KEYS[1], id .. '-0', 'a', ARGV[1], 'e', ARGV[2], 'p', ARGV[3])
else
  redis.call('XADD', KEYS[1], id .. '-0', 'a', ARGV[1], 'e', ARGV[2], 'p', ARGV[3], 'o', ARGV[4])
end
local trimmed = redis.call('XTRIM', KEYS[1], 'MAXLEN', '~', ARGV[5])
local oldest = string.format('%.0f', (now_ms - tonumber(ARGV[6])) * 1000)
trimmed = trimmed + redis.call('XTRIM', KEYS[1], 'MINID', '~', oldest)
if trimmed > 0 then
  local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)[1]
  if first then
    local floor = tonumber(string.match(first[1], '^(%d+)')) - 1
    local was = tonumber(redis.call('GET', KEYS[3]) or '0')
    if floor > was then redis.call('SET', KEYS[3], string.format('%.0f', floor)) end
  end
end
return id
";

/// Entries read per round trip (replay and follow).
const PAGE: usize = 500;

/// `EventLog` on Redis Streams.
pub struct RedisEventLog {
    link: RedisLink,
    reader_url: String,
    reader: tokio::sync::Mutex<Option<ConnectionManager>>,
    stream: String,
    counter: String,
    floor: String,
    window: Duration,
    max_events: usize,
    append: Script,
    sessions: SessionRecords,
}

impl RedisEventLog {
    /// `url` opens the follower's own connection; everything else uses the shared link.
    pub fn new(link: RedisLink, url: &str, prefix: &str, window: Duration, max_events: usize) -> Self {
        Self {
            link,
            reader_url: url.to_owned(),
            reader: tokio::sync::Mutex::new(None),
            stream: format!("{prefix}:resume:log"),
            counter: format!("{prefix}:resume:seq"),
            floor: format!("{prefix}:resume:floor"),
            window,
            max_events: max_events.max(1),
            append: Script::new(APPEND),
            sessions: SessionRecords::new(prefix),
        }
    }

    /// The shared connection, or `unavailable` at once while the link is down.
    fn conn(&self) -> DomainResult<ConnectionManager> {
        if self.link.is_healthy() {
            Ok(self.link.conn())
        } else {
            Err(DomainError::unavailable("redis is unreachable"))
        }
    }

    fn failed(&self, e: &redis::RedisError) -> DomainError {
        if e.is_io_error() || e.is_timeout() || e.is_connection_dropped() || e.is_connection_refusal() {
            self.link.mark_unhealthy();
        }
        tracing::debug!(error = %e, "event log command failed");
        DomainError::unavailable("the event log is unavailable")
    }

    /// Entries after `after`, waiting up to `block` for one: what a node delivers next.
    /// Runs on the follower's own connection.
    pub async fn follow(&self, after: u64, block: Duration) -> redis::RedisResult<Vec<LoggedEvent>> {
        let mut held = self.reader.lock().await;
        let conn = match held.as_mut() {
            Some(conn) => conn,
            None => {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(Duration::from_secs(2)))
                    .set_response_timeout(Some(block + Duration::from_secs(2)))
                    .set_number_of_retries(1);
                let conn = ConnectionManager::new_with_config(redis::Client::open(self.reader_url.as_str())?, config).await?;
                held.insert(conn)
            }
        };
        let options = StreamReadOptions::default().block(block.as_millis() as usize).count(PAGE);
        let reply: Option<StreamReadReply> =
            redis::AsyncCommands::xread_options(conn, &[&self.stream], &[format!("{after}-0")], &options).await?;
        Ok(reply
            .into_iter()
            .flat_map(|r| r.keys)
            .flat_map(|k| k.ids)
            .filter_map(|entry| decode(entry, |_| true))
            .collect())
    }

    /// The highest seq in the stream's counter, for a follower that starts now.
    pub async fn position(&self) -> DomainResult<u64> {
        self.head().await
    }
}

/// A stream entry as a logged event (`None` for unreadable entries, or when `keep`
/// refuses its audience: its payload is then not even parsed).
fn decode(entry: StreamId, keep: impl Fn(&Audience) -> bool) -> Option<LoggedEvent> {
    let seq: u64 = entry.id.split('-').next()?.parse().ok()?;
    let to = decode_audience(&entry.get::<String>("a")?)?;
    if !keep(&to) {
        return None;
    }
    let event = entry.get::<String>("e")?;
    let mut payload: Value = serde_json::from_str(&entry.get::<String>("p")?).ok()?;
    stamp(&mut payload, seq);
    Some(LoggedEvent { seq, to, event, payload, late_from: entry.get::<String>("o") })
}

#[async_trait]
impl EventLog for RedisEventLog {
    async fn append(&self, to: Audience, event: &str, payload: Value, late_from: Option<&str>) -> DomainResult<LoggedEvent> {
        if !payload.is_object() {
            return Err(DomainError::bad_request("only object payloads are logged"));
        }
        let mut conn = self.conn()?;
        let window_ms = u64::try_from(self.window.as_millis()).unwrap_or(u64::MAX);
        let id: String = self
            .append
            .key(&self.stream)
            .key(&self.counter)
            .key(&self.floor)
            .arg(encode_audience(&to))
            .arg(event)
            .arg(payload.to_string())
            .arg(late_from.unwrap_or(""))
            .arg(self.max_events)
            .arg(window_ms)
            .invoke_async(&mut conn)
            .await
            .map_err(|e| self.failed(&e))?;
        let seq = id.parse().map_err(|e| DomainError::internal(&e))?;
        let mut payload = payload;
        stamp(&mut payload, seq);
        Ok(LoggedEvent { seq, to, event: event.to_owned(), payload, late_from: late_from.map(str::to_owned) })
    }

    async fn read_range(&self, after: u64, upto: u64, keep: &AudienceFilter) -> DomainResult<Replay> {
        let mut conn = self.conn()?;
        let mut events = Vec::new();
        let mut from = after;
        while from < upto {
            let page: StreamRangeReply = redis::cmd("XRANGE")
                .arg(&self.stream)
                .arg(format!("({from}-0"))
                .arg(format!("{upto}-0"))
                .arg("COUNT")
                .arg(PAGE)
                .query_async(&mut conn)
                .await
                .map_err(|e| self.failed(&e))?;
            let Some(last) = page.ids.last().and_then(|e| e.id.split('-').next()?.parse::<u64>().ok()) else { break };
            let full = page.ids.len() == PAGE;
            events.extend(page.ids.into_iter().filter_map(|entry| decode(entry, keep)));
            if !full {
                break;
            }
            from = last;
        }
        // Read after the entries: a trim meanwhile raises the floor, so it is seen.
        let floor: Option<u64> =
            redis::cmd("GET").arg(&self.floor).query_async(&mut conn).await.map_err(|e| self.failed(&e))?;
        if after >= floor.unwrap_or(0) { Ok(Replay::Events(events)) } else { Ok(Replay::Gap) }
    }

    async fn head(&self) -> DomainResult<u64> {
        let mut conn = self.conn()?;
        let last: Option<u64> =
            redis::cmd("GET").arg(&self.counter).query_async(&mut conn).await.map_err(|e| self.failed(&e))?;
        Ok(last.unwrap_or(0))
    }

    async fn claim_session(&self, record: &SessionRecord, ttl: Duration) -> DomainResult<()> {
        let mut conn = self.conn()?;
        self.sessions.write(&mut conn, record, ttl, false).await.map_err(|e| self.failed(&e))
    }

    async fn update_session(&self, record: &SessionRecord, ttl: Duration) -> DomainResult<()> {
        let mut conn = self.conn()?;
        self.sessions.write(&mut conn, record, ttl, true).await.map_err(|e| self.failed(&e))
    }

    async fn load_session(&self, session_id: &str) -> DomainResult<Option<SessionRecord>> {
        let mut conn = self.conn()?;
        self.sessions.load(&mut conn, session_id).await.map_err(|e| self.failed(&e))
    }
}

#[cfg(test)]
mod tests {
    //! Against a real Redis: `CHORUS_TEST_REDIS_URL` (default redis://127.0.0.1:6379).
    use super::*;
    use crate::ports::publisher::{ConnectionId, Room};
    use serde_json::json;

    async fn log(max_events: usize) -> RedisEventLog {
        let url = std::env::var("CHORUS_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
        let link = RedisLink::connect(&url, &crate::lifecycle::Tasks::new())
            .await
            .unwrap_or_else(|e| panic!("these tests need Redis at {url} (CHORUS_TEST_REDIS_URL): {e}"));
        let prefix = format!("chorus-test-{}", uuid::Uuid::now_v7());
        RedisEventLog::new(link, &url, &prefix, Duration::from_secs(60), max_events)
    }

    /// Removes a test's keys (each test has its own prefix).
    async fn forget(log: &RedisEventLog) {
        let mut conn = log.link.conn();
        let keys: Vec<String> = redis::cmd("KEYS").arg(format!("{}*", log.stream.trim_end_matches(":resume:log"))).query_async(&mut conn).await.unwrap();
        if !keys.is_empty() {
            let _: () = redis::cmd("DEL").arg(keys).query_async(&mut conn).await.unwrap();
        }
    }

    fn chat(id: &str) -> Audience {
        Audience::Room(Room::Chat(id.into()))
    }

    fn all(_: &Audience) -> bool {
        true
    }

    #[tokio::test]
    async fn appends_in_seq_order_and_reads_ranges() {
        let log = log(1000).await;
        let mut seqs = Vec::new();
        for i in 0..5 {
            let e = log.append(chat(if i % 2 == 0 { "a" } else { "b" }), "chat:message", json!({ "i": i }), None).await.unwrap();
            assert_eq!(e.payload["seq"], json!(e.seq));
            seqs.push(e.seq);
        }
        assert!(seqs.windows(2).all(|w| w[0] < w[1]));
        assert!(seqs[4] < 1 << 53);
        assert_eq!(log.head().await.unwrap(), seqs[4]);
        let Replay::Events(got) = log.read_range(seqs[0], seqs[3], &all).await.unwrap() else { panic!("gap") };
        assert_eq!(got.iter().map(|e| e.seq).collect::<Vec<_>>(), seqs[1..=3].to_vec());
        assert_eq!(got[0].payload, json!({ "i": 1, "seq": seqs[1] }));
        let only_a = |to: &Audience| *to == chat("a");
        let Replay::Events(a) = log.read_range(0, seqs[4], &only_a).await.unwrap() else { panic!("gap") };
        assert_eq!(a.iter().map(|e| e.payload["i"].as_i64().unwrap()).collect::<Vec<_>>(), vec![0, 2, 4]);
        assert!(log.append(chat("a"), "x", json!("text"), None).await.is_err(), "non-objects are not logged");
        forget(&log).await;
    }

    #[tokio::test]
    async fn trimming_by_length_is_reported_as_a_gap() {
        let log = log(10).await;
        let mut seqs = Vec::new();
        // `MAXLEN ~` trims whole stream nodes (100 entries): write enough to drop some.
        for i in 0..350 {
            seqs.push(log.append(chat("a"), "e", json!({ "i": i }), None).await.unwrap().seq);
        }
        assert_eq!(log.read_range(seqs[0], seqs[349], &all).await.unwrap(), Replay::Gap);
        let Replay::Events(tail) = log.read_range(seqs[340], seqs[349], &all).await.unwrap() else { panic!("gap") };
        assert_eq!(tail.len(), 9);
        // Pages of 500 are stitched: a long range comes back whole.
        let big = self::log(100_000).await;
        let mut s2 = Vec::new();
        for i in 0..1200 {
            s2.push(big.append(chat("a"), "e", json!({ "i": i }), None).await.unwrap().seq);
        }
        let Replay::Events(all_of_them) = big.read_range(0, s2[1199], &all).await.unwrap() else { panic!("gap") };
        assert_eq!(all_of_them.len(), 1200);
        forget(&log).await;
        forget(&big).await;
    }

    #[tokio::test]
    async fn the_follower_reads_what_was_appended_with_its_origin() {
        let log = log(1000).await;
        let start = log.head().await.unwrap();
        let a = log.append(Audience::Connection(ConnectionId("c1".into())), "e", json!({}), None).await.unwrap();
        let b = log.append(Audience::Everyone, "e", json!({}), Some("node-1")).await.unwrap();
        let got = log.follow(start, Duration::from_millis(500)).await.unwrap();
        assert_eq!(got.iter().map(|e| (e.seq, e.late_from.clone())).collect::<Vec<_>>(), vec![(a.seq, None), (b.seq, Some("node-1".into()))]);
        assert_eq!(got[0].to, Audience::Connection(ConnectionId("c1".into())));
        let none = log.follow(b.seq, Duration::from_millis(100)).await.unwrap();
        assert!(none.is_empty(), "blocks, then returns nothing new");
        forget(&log).await;
    }

    #[tokio::test]
    async fn session_records_claim_update_and_expire() {
        let log = log(1000).await;
        let ttl = Duration::from_secs(60);
        let first = SessionRecord {
            session_id: "s1".into(),
            user_id: "alice".into(),
            connection: "c1".into(),
            rooms: vec![Room::Chat("r".into()), Room::Ranking { scope: "global".into(), limit: 10 }],
            since: 42,
            disconnected_at_ms: None,
        };
        log.claim_session(&first, ttl).await.unwrap();
        assert_eq!(log.load_session("s1").await.unwrap(), Some(first.clone()));
        let closed = SessionRecord { disconnected_at_ms: Some(1234), rooms: vec![], ..first.clone() };
        log.update_session(&closed, ttl).await.unwrap();
        assert_eq!(log.load_session("s1").await.unwrap(), Some(closed.clone()));
        let taken = SessionRecord { connection: "c2".into(), disconnected_at_ms: None, ..first.clone() };
        log.claim_session(&taken, ttl).await.unwrap();
        log.update_session(&closed, ttl).await.unwrap();
        assert_eq!(log.load_session("s1").await.unwrap(), Some(taken), "a late update of the old connection is dropped");
        log.claim_session(&SessionRecord { session_id: "s2".into(), ..first }, Duration::from_millis(50)).await.unwrap();
        tokio::time::sleep(Duration::from_millis(120)).await;
        assert_eq!(log.load_session("s2").await.unwrap(), None);
        assert_eq!(log.load_session("nope").await.unwrap(), None);
        forget(&log).await;
    }
}
