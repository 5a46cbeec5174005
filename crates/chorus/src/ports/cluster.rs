//! Cluster-wide ephemeral state: who watches what. In memory on one node; the
//! scale-out adapter keeps the same state in Redis.

//!
//! The ports are async because the Redis adapter answers with a round trip. Every
//! implementation must answer promptly even when its backing store is unreachable
//! (the Redis one falls back to what this node knows), so callers never time out.

use async_trait::async_trait;

use crate::ports::publisher::ConnectionId;

/// Viewers of content rooms, counted as distinct users.
#[async_trait]
pub trait ViewerRegistry: Send + Sync {
    /// Records that `connection` of `user_id` watches `room_key`; returns the viewer count.
    async fn add_viewer(&self, room_key: &str, user_id: &str, connection: &ConnectionId) -> u64;
    /// Removes one watcher; returns the viewer count, or `None` if it was not watching.
    async fn remove_viewer(&self, room_key: &str, connection: &ConnectionId) -> Option<u64>;
    /// Removes a closed connection everywhere; returns each room it left and the count.
    async fn remove_connection(&self, connection: &ConnectionId) -> Vec<(String, u64)>;
    async fn viewer_count(&self, room_key: &str) -> u64;
    /// The counts of several rooms, in order (one round trip where the adapter can).
    async fn viewer_counts(&self, room_keys: &[String]) -> Vec<u64> {
        let mut counts = Vec::with_capacity(room_keys.len());
        for key in room_keys {
            counts.push(self.viewer_count(key).await);
        }
        counts
    }
    /// Number of rooms a connection watches (for the per-socket room cap). Not async:
    /// a connection lives on exactly one node, so that node always knows the answer.
    fn rooms_of(&self, connection: &ConnectionId) -> usize;
}

/// Connected sessions per user: who is online, cluster-wide.
#[async_trait]
pub trait SessionRegistry: Send + Sync {
    /// A socket of `user_id` connected; returns how many that user now has.
    async fn session_opened(&self, user_id: &str, connection: &ConnectionId) -> usize;
    /// A socket closed; returns how many the user still has.
    async fn session_closed(&self, user_id: &str, connection: &ConnectionId) -> usize;
    /// Number of distinct users with at least one socket.
    async fn online_users(&self) -> usize;
    /// Sockets of one user.
    async fn sessions_of(&self, user_id: &str) -> usize;
    /// Which of `user_ids` have at least one socket, in order (one round trip where the
    /// adapter can: chat rooms ask this for every member).
    async fn online_among(&self, user_ids: &[String]) -> Vec<bool> {
        let mut online = Vec::with_capacity(user_ids.len());
        for id in user_ids {
            online.push(self.sessions_of(id).await > 0);
        }
        online
    }
    /// A socket from `ip` opened; returns how many that address now holds.
    async fn address_opened(&self, ip: &str) -> usize;
    async fn address_closed(&self, ip: &str);
}

/// A user's chosen presence status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PresenceStatus {
    Online,
    Away,
    Busy,
    Invisible,
}

/// Presence of users, cluster-wide: who is on, with which status, and who is in the
/// grace period after their last socket closed.
#[async_trait]
pub trait PresenceState: Send + Sync {
    /// A socket connected. Returns true when the user was offline (not merely in grace).
    async fn came_online(&self, user_id: &str) -> bool;
    /// The user's last socket closed: offline at `deadline_ms` unless they come back.
    async fn start_grace(&self, user_id: &str, deadline_ms: i64);
    /// Users whose grace ended by `now_ms`; they are offline from now on. In a cluster
    /// each such user is handed to exactly one node.
    async fn due_offline(&self, now_ms: i64) -> Vec<String>;
    /// Sets the status of an online user; returns the previous one.
    async fn set_status(&self, user_id: &str, status: PresenceStatus) -> Option<PresenceStatus>;
    /// `None` when offline.
    async fn status(&self, user_id: &str) -> Option<PresenceStatus>;
    /// Users online (grace included, invisible included).
    async fn online_count(&self) -> usize;
}
