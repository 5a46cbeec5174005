//! The dirty-mark bus over Redis pub/sub: one channel, `{prefix}:dirty`, one message
//! per node per tick that changed something. Every node hears its own messages too;
//! each message carries the sender's node id so a node skips its own.

use std::sync::{Arc, Weak};

use async_trait::async_trait;
use parking_lot::Mutex;
use redis::AsyncCommands;
use serde::{Deserialize, Serialize};

use super::link::RedisLink;
use crate::lifecycle::{Stage, Tasks};
use crate::ports::dirty::{DirtyBus, DirtyMarks};

/// Messages waiting for the receive task; a full buffer drops (see `RedisLink::subscribe`).
const BUFFER: usize = 4096;

#[derive(Serialize, Deserialize)]
struct Envelope {
    node: String,
    marks: DirtyMarks,
}

/// Dirty marks between the nodes, on the node's `RedisLink`.
pub struct RedisDirtyBus {
    link: RedisLink,
    channel: String,
    node: String,
    received: Arc<Mutex<DirtyMarks>>,
}

impl RedisDirtyBus {
    /// Subscribes to the channel and starts folding what arrives into the inbox (a
    /// publisher-stage task of `tasks`).
    pub async fn start(link: RedisLink, prefix: &str, tasks: &Tasks) -> redis::RedisResult<Arc<Self>> {
        let channel = format!("{prefix}:dirty");
        let mut rx = link.subscribe(&channel, BUFFER).await?;
        let node = uuid::Uuid::now_v7().to_string();
        let received = Arc::new(Mutex::new(DirtyMarks::default()));
        let inbox: Weak<Mutex<DirtyMarks>> = Arc::downgrade(&received);
        let me = node.clone();
        tasks.spawn(Stage::Publishers, "dirty-mark reader", async move {
            while let Some((_, body)) = rx.recv().await {
                // The bus is gone (its node stopped): nobody reads the inbox any more.
                let Some(inbox) = inbox.upgrade() else { return };
                match serde_json::from_slice::<Envelope>(&body) {
                    Ok(env) if env.node == me => {}
                    Ok(env) => inbox.lock().merge(env.marks),
                    Err(e) => tracing::debug!(error = %e, "unreadable dirty marks skipped"),
                }
            }
        });
        Ok(Arc::new(Self { link, channel, node, received }))
    }
}

#[async_trait]
impl DirtyBus for RedisDirtyBus {
    async fn send(&self, marks: &DirtyMarks) {
        if marks.is_empty() || !self.link.is_healthy() {
            return;
        }
        let body = match serde_json::to_vec(&Envelope { node: self.node.clone(), marks: marks.clone() }) {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(error = %e, "dirty marks not encoded");
                return;
            }
        };
        if let Err(e) = self.link.conn().publish::<_, _, redis::Value>(&self.channel, body).await {
            self.link.mark_unhealthy();
            tracing::debug!(error = %e, "dirty marks not sent: dropped");
        }
    }

    fn take_received(&self) -> DirtyMarks {
        std::mem::take(&mut *self.received.lock())
    }
}
