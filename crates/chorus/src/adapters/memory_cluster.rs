//! Cluster state kept in this process: correct for a single node. In cluster mode the
//! Redis adapters keep one of each as the node's own mirror (what this node's
//! connections hold), to answer while Redis is away and to re-register afterwards.

use std::collections::HashMap;

use async_trait::async_trait;
use parking_lot::Mutex;

use crate::ports::cluster::{PresenceState, PresenceStatus, SessionRegistry, ViewerRegistry};
use crate::ports::publisher::ConnectionId;

#[derive(Default)]
struct Viewers {
    /// Room → user → number of that user's connections in the room.
    rooms: HashMap<String, HashMap<String, u32>>,
    /// Connection → (room, user) pairs it holds.
    connections: HashMap<ConnectionId, Vec<(String, String)>>,
}

/// Viewer counts of one node.
#[derive(Default)]
pub struct MemoryViewers {
    inner: Mutex<Viewers>,
}

#[async_trait]
impl ViewerRegistry for MemoryViewers {
    async fn add_viewer(&self, room_key: &str, user_id: &str, connection: &ConnectionId) -> u64 {
        self.add(room_key, user_id, connection)
    }

    async fn remove_viewer(&self, room_key: &str, connection: &ConnectionId) -> Option<u64> {
        self.remove(room_key, connection)
    }

    async fn remove_connection(&self, connection: &ConnectionId) -> Vec<(String, u64)> {
        self.remove_all(connection)
    }

    async fn viewer_count(&self, room_key: &str) -> u64 {
        self.count(room_key)
    }

    fn rooms_of(&self, connection: &ConnectionId) -> usize {
        self.inner.lock().connections.get(connection).map_or(0, Vec::len)
    }
}

impl MemoryViewers {
    /// Every (connection, room, user) held, for re-registering elsewhere.
    pub fn snapshot(&self) -> Vec<(ConnectionId, String, String)> {
        let v = self.inner.lock();
        v.connections
            .iter()
            .flat_map(|(c, held)| held.iter().map(move |(room, user)| (c.clone(), room.clone(), user.clone())))
            .collect()
    }

    /// Rooms one connection holds.
    pub fn rooms_held(&self, connection: &ConnectionId) -> Vec<String> {
        self.inner.lock().connections.get(connection).map(|h| h.iter().map(|(r, _)| r.clone()).collect()).unwrap_or_default()
    }

    pub fn add(&self, room_key: &str, user_id: &str, connection: &ConnectionId) -> u64 {
        let mut v = self.inner.lock();
        let held = v.connections.entry(connection.clone()).or_default();
        if !held.iter().any(|(r, _)| r == room_key) {
            held.push((room_key.to_owned(), user_id.to_owned()));
            *v.rooms.entry(room_key.to_owned()).or_default().entry(user_id.to_owned()).or_default() += 1;
        }
        v.rooms.get(room_key).map_or(0, |users| users.len() as u64)
    }

    pub fn remove(&self, room_key: &str, connection: &ConnectionId) -> Option<u64> {
        let mut v = self.inner.lock();
        let held = v.connections.get_mut(connection)?;
        let pos = held.iter().position(|(r, _)| r == room_key)?;
        let (_, user) = held.swap_remove(pos);
        if held.is_empty() {
            v.connections.remove(connection);
        }
        Some(release(&mut v, room_key, &user))
    }

    pub fn remove_all(&self, connection: &ConnectionId) -> Vec<(String, u64)> {
        let mut v = self.inner.lock();
        let Some(held) = v.connections.remove(connection) else { return Vec::new() };
        held.into_iter()
            .map(|(room, user)| {
                let n = release(&mut v, &room, &user);
                (room, n)
            })
            .collect()
    }

    pub fn count(&self, room_key: &str) -> u64 {
        self.inner.lock().rooms.get(room_key).map_or(0, |u| u.len() as u64)
    }
}

fn release(v: &mut Viewers, room: &str, user: &str) -> u64 {
    let Some(users) = v.rooms.get_mut(room) else { return 0 };
    if let Some(n) = users.get_mut(user) {
        *n -= 1;
        if *n == 0 {
            users.remove(user);
        }
    }
    let count = users.len() as u64;
    if users.is_empty() {
        v.rooms.remove(room);
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn viewers_are_distinct_users_and_leave_with_their_last_connection() {
        let v = MemoryViewers::default();
        let (a1, a2, b) = (ConnectionId("a1".into()), ConnectionId("a2".into()), ConnectionId("b".into()));
        assert_eq!(v.add_viewer("v1", "alice", &a1).await, 1);
        assert_eq!(v.add_viewer("v1", "alice", &a2).await, 1);
        assert_eq!(v.add_viewer("v1", "bob", &b).await, 2);
        assert_eq!(v.add_viewer("v1", "bob", &b).await, 2, "joining twice is one viewer");
        assert_eq!(v.remove_viewer("v1", &a1).await, Some(2));
        assert_eq!(v.remove_connection(&a2).await, vec![("v1".to_owned(), 1)]);
        assert_eq!(v.remove_viewer("v1", &a1).await, None);
        assert_eq!(v.viewer_count("v1").await, 1);
        assert_eq!(v.viewer_counts(&["v1".to_owned(), "v2".to_owned()]).await, vec![1, 0]);
    }
}

/// Connected sessions of one node.
#[derive(Default)]
pub struct MemorySessions {
    users: Mutex<HashMap<String, Vec<ConnectionId>>>,
    addresses: Mutex<HashMap<String, usize>>,
}

#[async_trait]
impl SessionRegistry for MemorySessions {
    async fn session_opened(&self, user_id: &str, connection: &ConnectionId) -> usize {
        self.opened(user_id, connection)
    }

    async fn session_closed(&self, user_id: &str, connection: &ConnectionId) -> usize {
        self.closed(user_id, connection)
    }

    async fn online_users(&self) -> usize {
        self.users.lock().len()
    }

    async fn sessions_of(&self, user_id: &str) -> usize {
        self.count_of(user_id)
    }

    async fn address_opened(&self, ip: &str) -> usize {
        self.ip_opened(ip)
    }

    async fn address_closed(&self, ip: &str) {
        self.ip_closed(ip);
    }
}

impl MemorySessions {
    /// Every (user, connection) held, for re-registering elsewhere.
    pub fn snapshot(&self) -> Vec<(String, ConnectionId)> {
        self.users.lock().iter().flat_map(|(u, conns)| conns.iter().map(move |c| (u.clone(), c.clone()))).collect()
    }

    /// Sockets held per address.
    pub fn addresses(&self) -> Vec<(String, usize)> {
        self.addresses.lock().iter().map(|(ip, n)| (ip.clone(), *n)).collect()
    }

    /// Sockets held from one address.
    pub fn address_count(&self, ip: &str) -> usize {
        self.addresses.lock().get(ip).copied().unwrap_or(0)
    }

    pub fn online(&self) -> usize {
        self.users.lock().len()
    }

    pub fn opened(&self, user_id: &str, connection: &ConnectionId) -> usize {
        let mut users = self.users.lock();
        let conns = users.entry(user_id.to_owned()).or_default();
        if !conns.contains(connection) {
            conns.push(connection.clone());
        }
        conns.len()
    }

    pub fn closed(&self, user_id: &str, connection: &ConnectionId) -> usize {
        let mut users = self.users.lock();
        let Some(conns) = users.get_mut(user_id) else { return 0 };
        conns.retain(|c| c != connection);
        let left = conns.len();
        if left == 0 {
            users.remove(user_id);
        }
        left
    }

    pub fn count_of(&self, user_id: &str) -> usize {
        self.users.lock().get(user_id).map_or(0, Vec::len)
    }

    pub fn ip_opened(&self, ip: &str) -> usize {
        let mut a = self.addresses.lock();
        let n = a.entry(ip.to_owned()).or_default();
        *n += 1;
        *n
    }

    pub fn ip_closed(&self, ip: &str) {
        let mut a = self.addresses.lock();
        if let Some(n) = a.get_mut(ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                a.remove(ip);
            }
        }
    }
}

/// Presence of one node's users.
#[derive(Default)]
pub struct MemoryPresence {
    /// User → status and, while in grace, the offline deadline.
    users: Mutex<HashMap<String, (PresenceStatus, Option<i64>)>>,
}

#[async_trait]
impl PresenceState for MemoryPresence {
    async fn came_online(&self, user_id: &str) -> bool {
        self.online(user_id)
    }

    async fn start_grace(&self, user_id: &str, deadline_ms: i64) {
        self.grace(user_id, deadline_ms);
    }

    async fn due_offline(&self, now_ms: i64) -> Vec<String> {
        self.take_due(now_ms)
    }

    async fn set_status(&self, user_id: &str, status: PresenceStatus) -> Option<PresenceStatus> {
        self.change_status(user_id, status)
    }

    async fn status(&self, user_id: &str) -> Option<PresenceStatus> {
        self.status_of(user_id)
    }

    async fn online_count(&self) -> usize {
        self.users.lock().len()
    }
}

impl MemoryPresence {
    /// Every user held: status and, while in grace, the offline deadline.
    pub fn snapshot(&self) -> Vec<(String, PresenceStatus, Option<i64>)> {
        self.users.lock().iter().map(|(u, (s, d))| (u.clone(), *s, *d)).collect()
    }

    pub fn count(&self) -> usize {
        self.users.lock().len()
    }

    /// Drops a user (offline, or handed over to the cluster).
    pub fn forget(&self, user_id: &str) {
        self.users.lock().remove(user_id);
    }

    pub fn online(&self, user_id: &str) -> bool {
        let mut users = self.users.lock();
        match users.get_mut(user_id) {
            Some(entry) => {
                entry.1 = None;
                false
            }
            None => {
                users.insert(user_id.to_owned(), (PresenceStatus::Online, None));
                true
            }
        }
    }

    pub fn grace(&self, user_id: &str, deadline_ms: i64) {
        if let Some(entry) = self.users.lock().get_mut(user_id) {
            entry.1 = Some(deadline_ms);
        }
    }

    pub fn take_due(&self, now_ms: i64) -> Vec<String> {
        let mut users = self.users.lock();
        let due: Vec<String> = users.iter().filter(|(_, (_, d))| d.is_some_and(|d| d <= now_ms)).map(|(u, _)| u.clone()).collect();
        for u in &due {
            users.remove(u);
        }
        due
    }

    pub fn change_status(&self, user_id: &str, status: PresenceStatus) -> Option<PresenceStatus> {
        let mut users = self.users.lock();
        let entry = users.get_mut(user_id)?;
        let previous = entry.0;
        entry.0 = status;
        Some(previous)
    }

    pub fn status_of(&self, user_id: &str) -> Option<PresenceStatus> {
        self.users.lock().get(user_id).map(|(s, _)| *s)
    }
}
