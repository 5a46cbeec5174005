//! The node's link to Redis: a multiplexed connection that reconnects by itself
//! (and resubscribes its pub/sub channels), plus a health flag that a probe task keeps
//! current. Every Redis adapter shares one `RedisLink`; when Redis is unreachable they
//! fail fast on the flag instead of waiting on the connection, so local work goes on.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use std::collections::HashMap;

use parking_lot::RwLock;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, FromRedisValue, PushInfo, PushKind};
use tokio::sync::mpsc;

use crate::lifecycle::{Stage, Tasks};

/// One pub/sub message: channel and payload.
pub type ChannelMessage = (String, Vec<u8>);
type Handlers = Arc<RwLock<HashMap<String, mpsc::Sender<ChannelMessage>>>>;

/// How long one Redis command may take before it counts as failed.
const RESPONSE_TIMEOUT: Duration = Duration::from_millis(1500);
/// How often the probe checks the link.
const PROBE_EVERY: Duration = Duration::from_millis(500);

/// A shared, reconnecting link to one Redis server.
#[derive(Clone)]
pub struct RedisLink {
    conn: ConnectionManager,
    healthy: Arc<AtomicBool>,
    handlers: Handlers,
}

impl RedisLink {
    /// Connects to `url` (RESP3 is forced: pub/sub messages arrive as push frames on the
    /// shared connection, and it is resubscribed to its channels after each reconnect).
    /// The health probe runs in `tasks` until the stores stage stops.
    pub async fn connect(url: &str, tasks: &Tasks) -> anyhow::Result<Self> {
        let handlers: Handlers = Arc::default();
        let routes = handlers.clone();
        let push = move |msg: PushInfo| {
            route_push(msg, &routes);
            Ok::<(), std::convert::Infallible>(())
        };
        let client = Client::open(resp3_url(url).as_str())?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_min_delay(Duration::from_millis(100))
            .set_max_delay(Duration::from_secs(2))
            .set_number_of_retries(2)
            .set_push_sender(push)
            .set_automatic_resubscription();
        let conn = ConnectionManager::new_with_config(client, config).await?;
        let link = Self { conn, healthy: Arc::new(AtomicBool::new(true)), handlers };
        tasks.spawn(Stage::Stores, "redis link probe", link.clone().probe());
        Ok(link)
    }

    /// A handle on the shared connection (cheap; clones share one socket).
    pub fn conn(&self) -> ConnectionManager {
        self.conn.clone()
    }

    /// Subscribes to `channel`; its messages arrive on the returned receiver (a full
    /// receiver drops messages with a warning rather than blocking the connection).
    pub async fn subscribe(&self, channel: &str, buffer: usize) -> redis::RedisResult<mpsc::Receiver<ChannelMessage>> {
        let (tx, rx) = mpsc::channel(buffer.max(1));
        self.handlers.write().insert(channel.to_owned(), tx);
        if let Err(e) = self.conn.clone().subscribe(channel).await {
            self.handlers.write().remove(channel);
            return Err(e);
        }
        Ok(rx)
    }

    /// Stops receiving `channel`.
    pub async fn unsubscribe(&self, channel: &str) -> redis::RedisResult<()> {
        self.handlers.write().remove(channel);
        self.conn.clone().unsubscribe(channel).await
    }

    /// False while the last probe failed: callers skip Redis instead of waiting.
    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Acquire)
    }

    /// Records a failed command, so others fail fast until the probe sees Redis again.
    pub fn mark_unhealthy(&self) {
        if self.healthy.swap(false, Ordering::AcqRel) {
            tracing::warn!("redis unreachable: cluster delivery paused, local delivery continues");
        }
    }

    async fn probe(self) {
        let mut tick = tokio::time::interval(PROBE_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let ok = redis::cmd("PING").query_async::<String>(&mut self.conn.clone()).await.is_ok();
            let was = self.healthy.swap(ok, Ordering::AcqRel);
            match (was, ok) {
                (false, true) => tracing::info!("redis reachable again"),
                (true, false) => tracing::warn!("redis unreachable: cluster delivery paused, local delivery continues"),
                _ => {}
            }
            if Arc::strong_count(&self.healthy) == 1 {
                return; // every user of the link is gone
            }
        }
    }
}

/// Hands a pub/sub push frame to the subscriber of its channel.
fn route_push(msg: PushInfo, handlers: &Handlers) {
    if !matches!(msg.kind, PushKind::Message | PushKind::SMessage) || msg.data.len() < 2 {
        return;
    }
    let mut data = msg.data.into_iter();
    let (Some(chan), Some(body)) = (data.next(), data.next()) else { return };
    let (Ok(chan), Ok(body)) = (String::from_redis_value(chan), Vec::<u8>::from_redis_value(body)) else {
        tracing::debug!("unreadable pub/sub frame skipped");
        return;
    };
    let Some(tx) = handlers.read().get(&chan).cloned() else { return };
    match tx.try_send((chan, body)) {
        Ok(()) => {}
        Err(mpsc::error::TrySendError::Full((chan, _))) => {
            tracing::warn!(channel = %chan, "pub/sub receiver full: message dropped");
        }
        // Its subscriber is gone (the adapter or a follower stopped, as at shutdown):
        // nobody is left to tell, and the channel needs no handler any more.
        Err(mpsc::error::TrySendError::Closed((chan, _))) => {
            tracing::debug!(channel = %chan, "pub/sub message for a closed subscriber skipped");
            let mut handlers = handlers.write();
            // Only if it was not replaced by a new subscription meanwhile.
            if handlers.get(&chan).is_some_and(mpsc::Sender::is_closed) {
                handlers.remove(&chan);
            }
        }
    }
}

/// The URL with `protocol=resp3` (needed for pub/sub on a multiplexed connection).
fn resp3_url(url: &str) -> String {
    if url.contains("protocol=") {
        return url.to_owned();
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}protocol=resp3")
}

#[cfg(test)]
mod tests {
    use super::resp3_url;

    #[test]
    fn resp3_is_added_once() {
        assert_eq!(resp3_url("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379?protocol=resp3");
        assert_eq!(resp3_url("redis://h/0?x=1"), "redis://h/0?x=1&protocol=resp3");
        assert_eq!(resp3_url("redis://h?protocol=resp3"), "redis://h?protocol=resp3");
    }
}
