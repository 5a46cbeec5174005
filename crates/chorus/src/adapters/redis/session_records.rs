//! Resumable session records in Redis: one hash per session with a TTL, so any node can
//! resume a session whose node died. A claim takes the session for a new connection;
//! an update is dropped when another connection took it meanwhile (one script, atomic).

use std::collections::HashMap;
use std::time::Duration;

use redis::Script;
use redis::aio::ConnectionManager;

use super::event_codec::{decode_rooms, encode_rooms};
use crate::ports::event_log::SessionRecord;

const WRITE: &str = r"
if ARGV[1] == 'update' then
  local held = redis.call('HGET', KEYS[1], 'c')
  if held and held ~= ARGV[2] then return 0 end
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'c', ARGV[2], 'u', ARGV[3], 'r', ARGV[4], 's', ARGV[5])
if ARGV[6] ~= '' then redis.call('HSET', KEYS[1], 'd', ARGV[6]) end
redis.call('PEXPIRE', KEYS[1], ARGV[7])
return 1
";

/// Session records under `{prefix}:resume:session:{id}`.
pub struct SessionRecords {
    prefix: String,
    write: Script,
}

impl SessionRecords {
    pub fn new(prefix: &str) -> Self {
        Self { prefix: format!("{prefix}:resume:session:"), write: Script::new(WRITE) }
    }

    fn key(&self, session_id: &str) -> String {
        format!("{}{session_id}", self.prefix)
    }

    /// Writes `record`; with `only_if_held`, only while its connection holds the session.
    pub async fn write(&self, conn: &mut ConnectionManager, record: &SessionRecord, ttl: Duration, only_if_held: bool) -> redis::RedisResult<()> {
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        self.write
            .key(self.key(&record.session_id))
            .arg(if only_if_held { "update" } else { "claim" })
            .arg(&record.connection)
            .arg(&record.user_id)
            .arg(encode_rooms(&record.rooms))
            .arg(record.since)
            .arg(record.disconnected_at_ms.map(|d| d.to_string()).unwrap_or_default())
            .arg(ttl_ms)
            .invoke_async::<i64>(conn)
            .await
            .map(drop)
    }

    pub async fn load(&self, conn: &mut ConnectionManager, session_id: &str) -> redis::RedisResult<Option<SessionRecord>> {
        let fields: HashMap<String, String> = redis::cmd("HGETALL").arg(self.key(session_id)).query_async(conn).await?;
        let (Some(user_id), Some(connection)) = (fields.get("u"), fields.get("c")) else { return Ok(None) };
        Ok(Some(SessionRecord {
            session_id: session_id.to_owned(),
            user_id: user_id.clone(),
            connection: connection.clone(),
            rooms: fields.get("r").map(|r| decode_rooms(r)).unwrap_or_default(),
            since: fields.get("s").and_then(|s| s.parse().ok()).unwrap_or(0),
            disconnected_at_ms: fields.get("d").and_then(|d| d.parse().ok()),
        }))
    }
}
