//! Cluster state kept in this process: correct for a single node.

use std::collections::HashMap;

use parking_lot::Mutex;

use crate::ports::cluster::ViewerRegistry;
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

impl ViewerRegistry for MemoryViewers {
    fn add_viewer(&self, room_key: &str, user_id: &str, connection: &ConnectionId) -> u64 {
        let mut v = self.inner.lock();
        let held = v.connections.entry(connection.clone()).or_default();
        if !held.iter().any(|(r, _)| r == room_key) {
            held.push((room_key.to_owned(), user_id.to_owned()));
            *v.rooms.entry(room_key.to_owned()).or_default().entry(user_id.to_owned()).or_default() += 1;
        }
        v.rooms.get(room_key).map_or(0, |users| users.len() as u64)
    }

    fn remove_viewer(&self, room_key: &str, connection: &ConnectionId) -> Option<u64> {
        let mut v = self.inner.lock();
        let held = v.connections.get_mut(connection)?;
        let pos = held.iter().position(|(r, _)| r == room_key)?;
        let (_, user) = held.swap_remove(pos);
        if held.is_empty() {
            v.connections.remove(connection);
        }
        Some(release(&mut v, room_key, &user))
    }

    fn remove_connection(&self, connection: &ConnectionId) -> Vec<(String, u64)> {
        let mut v = self.inner.lock();
        let Some(held) = v.connections.remove(connection) else { return Vec::new() };
        held.into_iter()
            .map(|(room, user)| {
                let n = release(&mut v, &room, &user);
                (room, n)
            })
            .collect()
    }

    fn viewer_count(&self, room_key: &str) -> u64 {
        self.inner.lock().rooms.get(room_key).map_or(0, |u| u.len() as u64)
    }

    fn rooms_of(&self, connection: &ConnectionId) -> usize {
        self.inner.lock().connections.get(connection).map_or(0, Vec::len)
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

    #[test]
    fn viewers_are_distinct_users_and_leave_with_their_last_connection() {
        let v = MemoryViewers::default();
        let (a1, a2, b) = (ConnectionId("a1".into()), ConnectionId("a2".into()), ConnectionId("b".into()));
        assert_eq!(v.add_viewer("v1", "alice", &a1), 1);
        assert_eq!(v.add_viewer("v1", "alice", &a2), 1);
        assert_eq!(v.add_viewer("v1", "bob", &b), 2);
        assert_eq!(v.add_viewer("v1", "bob", &b), 2, "joining twice is one viewer");
        assert_eq!(v.remove_viewer("v1", &a1), Some(2));
        assert_eq!(v.remove_connection(&a2), vec![("v1".to_owned(), 1)]);
        assert_eq!(v.remove_viewer("v1", &a1), None);
        assert_eq!(v.viewer_count("v1"), 1);
    }
}

/// Connected sessions of one node.
#[derive(Default)]
pub struct MemorySessions {
    users: Mutex<HashMap<String, Vec<ConnectionId>>>,
    addresses: Mutex<HashMap<String, usize>>,
}

impl crate::ports::cluster::SessionRegistry for MemorySessions {
    fn session_opened(&self, user_id: &str, connection: &ConnectionId) -> usize {
        let mut users = self.users.lock();
        let conns = users.entry(user_id.to_owned()).or_default();
        if !conns.contains(connection) {
            conns.push(connection.clone());
        }
        conns.len()
    }

    fn session_closed(&self, user_id: &str, connection: &ConnectionId) -> usize {
        let mut users = self.users.lock();
        let Some(conns) = users.get_mut(user_id) else { return 0 };
        conns.retain(|c| c != connection);
        let left = conns.len();
        if left == 0 {
            users.remove(user_id);
        }
        left
    }

    fn online_users(&self) -> usize {
        self.users.lock().len()
    }

    fn sessions_of(&self, user_id: &str) -> usize {
        self.users.lock().get(user_id).map_or(0, Vec::len)
    }

    fn address_opened(&self, ip: &str) -> usize {
        let mut a = self.addresses.lock();
        let n = a.entry(ip.to_owned()).or_default();
        *n += 1;
        *n
    }

    fn address_closed(&self, ip: &str) {
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
    users: Mutex<HashMap<String, (crate::ports::cluster::PresenceStatus, Option<i64>)>>,
}

impl crate::ports::cluster::PresenceState for MemoryPresence {
    fn came_online(&self, user_id: &str) -> bool {
        let mut users = self.users.lock();
        match users.get_mut(user_id) {
            Some(entry) => {
                entry.1 = None;
                false
            }
            None => {
                users.insert(user_id.to_owned(), (crate::ports::cluster::PresenceStatus::Online, None));
                true
            }
        }
    }

    fn start_grace(&self, user_id: &str, deadline_ms: i64) {
        if let Some(entry) = self.users.lock().get_mut(user_id) {
            entry.1 = Some(deadline_ms);
        }
    }

    fn due_offline(&self, now_ms: i64) -> Vec<String> {
        let mut users = self.users.lock();
        let due: Vec<String> = users.iter().filter(|(_, (_, d))| d.is_some_and(|d| d <= now_ms)).map(|(u, _)| u.clone()).collect();
        for u in &due {
            users.remove(u);
        }
        due
    }

    fn set_status(&self, user_id: &str, status: crate::ports::cluster::PresenceStatus) -> Option<crate::ports::cluster::PresenceStatus> {
        let mut users = self.users.lock();
        let entry = users.get_mut(user_id)?;
        let previous = entry.0;
        entry.0 = status;
        Some(previous)
    }

    fn status(&self, user_id: &str) -> Option<crate::ports::cluster::PresenceStatus> {
        self.users.lock().get(user_id).map(|(s, _)| *s)
    }

    fn online_count(&self) -> usize {
        self.users.lock().len()
    }
}
