//! Names of the Redis keys that hold cluster state. Every key starts with the
//! configured prefix, so several deployments (or test runs) can share one Redis.
//! The Lua scripts build some of these names themselves from `state_prefix()`; the
//! layouts below and in `scripts.rs` must agree.

use crate::ports::limits::LimitClass;

/// Key names under one prefix.
#[derive(Debug, Clone)]
pub struct Keys {
    /// `{prefix}:cs:` — cluster state.
    state: String,
    /// `{prefix}:rl:` — rate-limit buckets.
    limits: String,
}

impl Keys {
    pub fn new(prefix: &str) -> Self {
        Self { state: format!("{prefix}:cs:"), limits: format!("{prefix}:rl:") }
    }

    /// The common start of cluster-state keys (scripts append the rest).
    pub fn state_prefix(&self) -> &str {
        &self.state
    }

    /// HASH user → that user's connections in the room; HLEN is the viewer count.
    pub fn viewers(&self, room_key: &str) -> String {
        format!("{}v:{room_key}", self.state)
    }

    /// HASH room → user: the rooms one connection watches.
    pub fn connection_rooms(&self, connection: &str) -> String {
        format!("{}vc:{connection}", self.state)
    }

    /// HASH connection → node: the sockets of one user.
    pub fn user_sockets(&self, user_id: &str) -> String {
        format!("{}s:{user_id}", self.state)
    }

    /// SET of users with at least one socket.
    pub fn online(&self) -> String {
        format!("{}online", self.state)
    }

    /// HASH node → sockets that node holds from one address.
    pub fn address(&self, ip: &str) -> String {
        format!("{}ip:{ip}", self.state)
    }

    /// HASH user → presence status, for users online or in grace.
    pub fn presence(&self) -> String {
        format!("{}presence", self.state)
    }

    /// ZSET user → offline deadline (ms) of users in grace.
    pub fn grace(&self) -> String {
        format!("{}grace", self.state)
    }

    /// SET of node ids that registered state.
    pub fn nodes(&self) -> String {
        format!("{}nodes", self.state)
    }

    /// Heartbeat of one node (expires when the node stops refreshing it).
    pub fn node_alive(&self, node: &str) -> String {
        format!("{}node:{node}:alive", self.state)
    }

    /// SET of "connection\tuser": the sockets a node holds.
    pub fn node_sessions(&self, node: &str) -> String {
        format!("{}node:{node}:sessions", self.state)
    }

    /// SET of connections of a node that watch rooms.
    pub fn node_viewing(&self, node: &str) -> String {
        format!("{}node:{node}:viewing", self.state)
    }

    /// SET of addresses a node holds sockets from.
    pub fn node_addresses(&self, node: &str) -> String {
        format!("{}node:{node}:ips", self.state)
    }

    /// Claim of the janitor that cleans up after a dead node.
    pub fn janitor_claim(&self, node: &str) -> String {
        format!("{}janitor:{node}", self.state)
    }

    /// GCRA state (theoretical arrival time) of one bucket.
    pub fn bucket(&self, class: LimitClass, subject: &str) -> String {
        format!("{}{}:{subject}", self.limits, class.as_str())
    }
}

/// The member of a node's session set for one socket.
pub fn session_member(connection: &str, user_id: &str) -> String {
    format!("{connection}\t{user_id}")
}
