//! Presence in Redis, cluster-wide: a hash of statuses (users online or in grace) and
//! a sorted set of grace deadlines. `due_offline` takes expired users out in one
//! script, so each is handed to exactly one node, which announces them offline.

use std::sync::Arc;

use async_trait::async_trait;

use super::node::{ClusterNode, parse_status, status_text};
use super::scripts;
use crate::ports::cluster::{PresenceState, PresenceStatus};

/// Most users one `due_offline` call takes (the rest wait for the next tick).
const DUE_BATCH: usize = 500;

pub struct RedisPresence {
    node: Arc<ClusterNode>,
}

impl RedisPresence {
    pub fn new(node: Arc<ClusterNode>) -> Self {
        Self { node }
    }
}

#[async_trait]
impl PresenceState for RedisPresence {
    async fn came_online(&self, user_id: &str) -> bool {
        let local = self.node.presence.online(user_id);
        self.node.came_online(user_id, PresenceStatus::Online).await.unwrap_or(local)
    }

    async fn start_grace(&self, user_id: &str, deadline_ms: i64) {
        self.node.presence.grace(user_id, deadline_ms);
        let keys = &self.node.keys;
        let mut inv = scripts::START_GRACE.prepare_invoke();
        inv.key(keys.presence()).key(keys.grace()).key(keys.user_sockets(user_id)).arg(user_id).arg(deadline_ms);
        let mut conn = self.node.link.conn();
        self.node.call("start_grace", async move { inv.invoke_async::<i64>(&mut conn).await }).await;
    }

    async fn due_offline(&self, now_ms: i64) -> Vec<String> {
        let keys = &self.node.keys;
        let mut inv = scripts::DUE_OFFLINE.prepare_invoke();
        inv.key(keys.presence()).key(keys.grace()).arg(now_ms).arg(DUE_BATCH);
        let mut conn = self.node.link.conn();
        match self.node.call("due_offline", async move { inv.invoke_async::<Vec<String>>(&mut conn).await }).await {
            Some(due) => {
                // The mirror's own deadlines are moot while Redis decides; drop them
                // so it stays bounded.
                self.node.presence.take_due(now_ms);
                for user in &due {
                    self.node.presence.forget(user);
                }
                due
            }
            // Without Redis this node settles its own users.
            None => self.node.presence.take_due(now_ms),
        }
    }

    async fn set_status(&self, user_id: &str, status: PresenceStatus) -> Option<PresenceStatus> {
        let local = self.node.presence.change_status(user_id, status);
        let mut inv = scripts::SET_STATUS.prepare_invoke();
        inv.key(self.node.keys.presence()).arg(user_id).arg(status_text(status));
        let mut conn = self.node.link.conn();
        match self.node.call("set_status", async move { inv.invoke_async::<Option<String>>(&mut conn).await }).await {
            Some(previous) => previous.as_deref().and_then(parse_status),
            None => local,
        }
    }

    async fn status(&self, user_id: &str) -> Option<PresenceStatus> {
        let key = self.node.keys.presence();
        let user = user_id.to_owned();
        let mut conn = self.node.link.conn();
        let stored = self
            .node
            .call("status", async move { redis::cmd("HGET").arg(key).arg(user).query_async::<Option<String>>(&mut conn).await })
            .await;
        match stored {
            Some(text) => text.as_deref().and_then(parse_status),
            None => self.node.presence.status_of(user_id),
        }
    }

    async fn online_count(&self) -> usize {
        let key = self.node.keys.presence();
        let mut conn = self.node.link.conn();
        let n = self.node.call("online_count", async move { redis::cmd("HLEN").arg(key).query_async::<usize>(&mut conn).await }).await;
        n.unwrap_or_else(|| self.node.presence.count())
    }
}
