//! The pub/sub driver of the Socket.IO Redis adapter (socketioxide-redis), over the
//! node's shared `RedisLink`. Unlike the crate's own driver it survives Redis
//! restarts (the link reconnects and resubscribes), and while Redis is unreachable a
//! publish is dropped at once instead of failing the broadcast: the adapter publishes
//! before it delivers locally, so local delivery goes on.

use redis::AsyncCommands;
use socketioxide_redis::drivers::{ChanItem, Driver, MessageStream};

use super::link::RedisLink;

/// socketioxide-redis driver on a `RedisLink`.
#[derive(Clone)]
pub struct LinkDriver {
    link: RedisLink,
}

impl LinkDriver {
    pub fn new(link: RedisLink) -> Self {
        Self { link }
    }
}

/// A Redis command of the adapter failed.
#[derive(Debug, thiserror::Error)]
#[error("redis: {0}")]
pub struct DriverError(#[from] redis::RedisError);

impl Driver for LinkDriver {
    type Error = DriverError;

    async fn publish(&self, chan: String, val: Vec<u8>) -> Result<(), Self::Error> {
        if !self.link.is_healthy() {
            tracing::trace!(chan, "redis down: cross-node message dropped");
            return Ok(());
        }
        if let Err(e) = self.link.conn().publish::<_, _, redis::Value>(chan, val).await {
            self.link.mark_unhealthy();
            tracing::debug!(error = %e, "cross-node publish failed: dropped");
        }
        Ok(())
    }

    async fn subscribe(&self, chan: String, size: usize) -> Result<MessageStream<ChanItem>, Self::Error> {
        let rx = self.link.subscribe(&chan, size).await?;
        Ok(MessageStream::new(rx))
    }

    async fn unsubscribe(&self, chan: String) -> Result<(), Self::Error> {
        Ok(self.link.unsubscribe(&chan).await?)
    }

    async fn num_serv(&self, chan: &str) -> Result<u16, Self::Error> {
        if !self.link.is_healthy() {
            return Ok(0); // no remote node can answer now
        }
        let (_, count): (String, u16) = redis::cmd("PUBSUB")
            .arg("NUMSUB")
            .arg(chan)
            .query_async(&mut self.link.conn())
            .await?;
        Ok(count)
    }
}
