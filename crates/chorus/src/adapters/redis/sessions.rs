//! Sockets per user and per address in Redis, across every node, so the caps
//! `max_sockets_per_user` and `max_sockets_per_ip` hold cluster-wide. Each socket is
//! recorded with its node, so the janitor can remove a dead node's sockets.

use std::sync::Arc;

use async_trait::async_trait;

use super::node::ClusterNode;
use super::scripts;
use crate::ports::cluster::SessionRegistry;
use crate::ports::publisher::ConnectionId;

pub struct RedisSessions {
    node: Arc<ClusterNode>,
}

impl RedisSessions {
    pub fn new(node: Arc<ClusterNode>) -> Self {
        Self { node }
    }
}

#[async_trait]
impl SessionRegistry for RedisSessions {
    async fn session_opened(&self, user_id: &str, connection: &ConnectionId) -> usize {
        let local = self.node.sessions.opened(user_id, connection);
        self.node.session_opened(user_id, connection).await.unwrap_or(local)
    }

    async fn session_closed(&self, user_id: &str, connection: &ConnectionId) -> usize {
        let local = self.node.sessions.closed(user_id, connection);
        self.node.session_closed(user_id, &connection.0, None).await.unwrap_or(local)
    }

    async fn online_users(&self) -> usize {
        let key = self.node.keys.online();
        let mut conn = self.node.link.conn();
        let n = self.node.call("online_users", async move { redis::cmd("SCARD").arg(key).query_async::<usize>(&mut conn).await }).await;
        n.unwrap_or_else(|| self.node.sessions.online())
    }

    async fn sessions_of(&self, user_id: &str) -> usize {
        let key = self.node.keys.user_sockets(user_id);
        let mut conn = self.node.link.conn();
        let n = self.node.call("sessions_of", async move { redis::cmd("HLEN").arg(key).query_async::<usize>(&mut conn).await }).await;
        n.unwrap_or_else(|| self.node.sessions.count_of(user_id))
    }

    async fn online_among(&self, user_ids: &[String]) -> Vec<bool> {
        if user_ids.is_empty() {
            return Vec::new();
        }
        let mut pipe = redis::pipe();
        for id in user_ids {
            pipe.cmd("EXISTS").arg(self.node.keys.user_sockets(id));
        }
        let mut conn = self.node.link.conn();
        match self.node.call("online_among", async move { pipe.query_async::<Vec<bool>>(&mut conn).await }).await {
            Some(online) if online.len() == user_ids.len() => online,
            _ => user_ids.iter().map(|id| self.node.sessions.count_of(id) > 0).collect(),
        }
    }

    async fn address_opened(&self, ip: &str) -> usize {
        let local = self.node.sessions.ip_opened(ip);
        let mut inv = scripts::ADDRESS_OPENED.prepare_invoke();
        inv.key(self.node.keys.address(ip)).key(self.node.keys.node_addresses(self.node.id())).arg(self.node.id()).arg(ip);
        let mut conn = self.node.link.conn();
        self.node.call("address_opened", async move { inv.invoke_async::<usize>(&mut conn).await }).await.unwrap_or(local)
    }

    async fn address_closed(&self, ip: &str) {
        self.node.sessions.ip_closed(ip);
        let mut inv = scripts::ADDRESS_CLOSED.prepare_invoke();
        inv.key(self.node.keys.address(ip)).arg(self.node.id());
        let mut conn = self.node.link.conn();
        self.node.call("address_closed", async move { inv.invoke_async::<i64>(&mut conn).await }).await;
    }
}
