//! Viewer counts in Redis: distinct users per room across every node. Each change
//! goes to the node's mirror first, then to Redis; while Redis is away the answer is
//! what this node sees (its own viewers), and re-registration repairs Redis later.

use std::sync::Arc;

use async_trait::async_trait;

use super::node::ClusterNode;
use crate::ports::cluster::ViewerRegistry;
use crate::ports::publisher::ConnectionId;

pub struct RedisViewers {
    node: Arc<ClusterNode>,
}

impl RedisViewers {
    pub fn new(node: Arc<ClusterNode>) -> Self {
        Self { node }
    }
}

#[async_trait]
impl ViewerRegistry for RedisViewers {
    async fn add_viewer(&self, room_key: &str, user_id: &str, connection: &ConnectionId) -> u64 {
        let local = self.node.viewers.add(room_key, user_id, connection);
        self.node.add_viewer(room_key, user_id, connection).await.unwrap_or(local)
    }

    async fn remove_viewer(&self, room_key: &str, connection: &ConnectionId) -> Option<u64> {
        let local = self.node.viewers.remove(room_key, connection);
        // Only this node's connections are ever removed here, so the mirror knows
        // whether it watched: skip the round trip when it did not.
        local?;
        match self.node.remove_viewer(room_key, connection).await {
            Some(Some(n)) => Some(n),
            _ => local,
        }
    }

    async fn remove_connection(&self, connection: &ConnectionId) -> Vec<(String, u64)> {
        let local = self.node.viewers.remove_all(connection);
        if local.is_empty() {
            return local;
        }
        self.node.remove_connection(connection).await.unwrap_or(local)
    }

    async fn viewer_count(&self, room_key: &str) -> u64 {
        let key = self.node.keys.viewers(room_key);
        let mut conn = self.node.link.conn();
        let counted = self
            .node
            .call("viewer_count", async move { redis::cmd("HLEN").arg(key).query_async::<u64>(&mut conn).await })
            .await;
        counted.unwrap_or_else(|| self.node.viewers.count(room_key))
    }

    async fn viewer_counts(&self, room_keys: &[String]) -> Vec<u64> {
        if room_keys.is_empty() {
            return Vec::new();
        }
        let mut pipe = redis::pipe();
        for room in room_keys {
            pipe.cmd("HLEN").arg(self.node.keys.viewers(room));
        }
        let mut conn = self.node.link.conn();
        let counted = self.node.call("viewer_counts", async move { pipe.query_async::<Vec<u64>>(&mut conn).await }).await;
        match counted {
            Some(counts) if counts.len() == room_keys.len() => counts,
            _ => room_keys.iter().map(|r| self.node.viewers.count(r)).collect(),
        }
    }

    fn rooms_of(&self, connection: &ConnectionId) -> usize {
        ViewerRegistry::rooms_of(&self.node.viewers, connection)
    }
}
