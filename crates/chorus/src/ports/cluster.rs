//! Cluster-wide ephemeral state: who watches what. In memory on one node; the
//! scale-out adapter keeps the same state in Redis.

use crate::ports::publisher::ConnectionId;

/// Viewers of content rooms, counted as distinct users.
pub trait ViewerRegistry: Send + Sync {
    /// Records that `connection` of `user_id` watches `room_key`; returns the viewer count.
    fn add_viewer(&self, room_key: &str, user_id: &str, connection: &ConnectionId) -> u64;
    /// Removes one watcher; returns the viewer count, or `None` if it was not watching.
    fn remove_viewer(&self, room_key: &str, connection: &ConnectionId) -> Option<u64>;
    /// Removes a closed connection everywhere; returns each room it left and the count.
    fn remove_connection(&self, connection: &ConnectionId) -> Vec<(String, u64)>;
    fn viewer_count(&self, room_key: &str) -> u64;
    /// Number of rooms a connection watches (for the per-socket room cap).
    fn rooms_of(&self, connection: &ConnectionId) -> usize;
}

/// Connected sessions per user: who is online, cluster-wide.
pub trait SessionRegistry: Send + Sync {
    /// A socket of `user_id` connected; returns how many that user now has.
    fn session_opened(&self, user_id: &str, connection: &ConnectionId) -> usize;
    /// A socket closed; returns how many the user still has.
    fn session_closed(&self, user_id: &str, connection: &ConnectionId) -> usize;
    /// Number of distinct users with at least one socket.
    fn online_users(&self) -> usize;
    /// Sockets of one user.
    fn sessions_of(&self, user_id: &str) -> usize;
    /// A socket from `ip` opened; returns how many that address now holds.
    fn address_opened(&self, ip: &str) -> usize;
    fn address_closed(&self, ip: &str);
}

/// A user's chosen presence status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PresenceStatus {
    Online,
    Away,
    Busy,
    Invisible,
}

/// Presence of users, cluster-wide: who is on, with which status, and who is in the
/// grace period after their last socket closed.
pub trait PresenceState: Send + Sync {
    /// A socket connected. Returns true when the user was offline (not merely in grace).
    fn came_online(&self, user_id: &str) -> bool;
    /// The user's last socket closed: offline at `deadline_ms` unless they come back.
    fn start_grace(&self, user_id: &str, deadline_ms: i64);
    /// Users whose grace ended by `now_ms`; they are offline from now on.
    fn due_offline(&self, now_ms: i64) -> Vec<String>;
    /// Sets the status of an online user; returns the previous one.
    fn set_status(&self, user_id: &str, status: PresenceStatus) -> Option<PresenceStatus>;
    /// `None` when offline.
    fn status(&self, user_id: &str) -> Option<PresenceStatus>;
    /// Users online (grace included, invisible included).
    fn online_count(&self) -> usize;
}
