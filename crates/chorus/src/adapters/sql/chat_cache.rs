//! What `chat:send` reads before its write — the room's kind and members, the
//! sender's summary — kept in memory so a send costs no database read.
//!
//! Only for SQLite: one Chorus process owns a SQLite file, so every change of
//! membership or profile goes through this process's `SqlStore`, which forgets the
//! entry after the change. With PostgreSQL several nodes share the tables and a node
//! would not see another's changes, so there is no cache (each send reads).
//!
//! A fill races with a change: a read that started before a change commits may return
//! the old members after the change has already forgotten them. Every forget bumps a
//! generation; a fill carries the generation taken before its read and is dropped when
//! it changed since, so a stale read is never kept.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::domain::chat::model::RoomKind;
use crate::domain::model::UserSummary;

/// Past these sizes the cache starts over (a send then costs one read to refill).
const MAX_ROOMS: usize = 100_000;
const MAX_MEMBER_IDS: usize = 2_000_000;
const MAX_USERS: usize = 200_000;

/// A room as `chat:send` needs it.
#[derive(Debug)]
pub(crate) struct CachedRoom {
    pub(crate) kind: RoomKind,
    pub(crate) member_ids: Vec<String>,
}

#[derive(Default)]
struct Inner {
    generation: u64,
    rooms: HashMap<String, Arc<CachedRoom>>,
    member_ids: usize,
    users: HashMap<String, UserSummary>,
}

#[derive(Default)]
pub(crate) struct SendContextCache {
    inner: Mutex<Inner>,
}

impl SendContextCache {
    /// Taken before a read whose result will be offered to `fill`.
    pub(crate) fn generation(&self) -> u64 {
        self.inner.lock().generation
    }

    pub(crate) fn get(&self, room_id: &str, user_id: &str) -> Option<(Arc<CachedRoom>, UserSummary)> {
        let inner = self.inner.lock();
        Some((inner.rooms.get(room_id)?.clone(), inner.users.get(user_id)?.clone()))
    }

    /// Keeps what a read returned, unless something was forgotten since `generation`.
    pub(crate) fn fill(&self, generation: u64, room_id: &str, room: CachedRoom, user: &UserSummary) {
        let mut inner = self.inner.lock();
        if inner.generation != generation {
            return;
        }
        if inner.rooms.len() >= MAX_ROOMS || inner.member_ids + room.member_ids.len() > MAX_MEMBER_IDS {
            inner.rooms.clear();
            inner.member_ids = 0;
        }
        if inner.users.len() >= MAX_USERS {
            inner.users.clear();
        }
        inner.member_ids += room.member_ids.len();
        if let Some(old) = inner.rooms.insert(room_id.to_owned(), Arc::new(room)) {
            inner.member_ids -= old.member_ids.len();
        }
        inner.users.insert(user.id.clone(), user.clone());
    }

    /// Called after any write that may change a room's members (whether it succeeded
    /// or not: a failed commit leaves the state unknown).
    pub(crate) fn forget_room(&self, room_id: &str) {
        let mut inner = self.inner.lock();
        inner.generation += 1;
        if let Some(old) = inner.rooms.remove(room_id) {
            inner.member_ids -= old.member_ids.len();
        }
    }

    /// Called after any write of a user's profile.
    pub(crate) fn forget_user(&self, user_id: &str) {
        let mut inner = self.inner.lock();
        inner.generation += 1;
        inner.users.remove(user_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room(members: &[&str]) -> CachedRoom {
        CachedRoom { kind: RoomKind::Group, member_ids: members.iter().map(|m| (*m).to_owned()).collect() }
    }

    #[test]
    fn a_fill_older_than_a_forget_is_dropped() {
        let cache = SendContextCache::default();
        let before_read = cache.generation();
        // A membership change commits and forgets while the read is running.
        cache.forget_room("r");
        cache.fill(before_read, "r", room(&["a", "b"]), &UserSummary::unknown("a"));
        assert!(cache.get("r", "a").is_none());
        let g = cache.generation();
        cache.fill(g, "r", room(&["a"]), &UserSummary::unknown("a"));
        let (r, u) = cache.get("r", "a").unwrap();
        assert_eq!(r.member_ids, vec!["a".to_owned()]);
        assert_eq!(u.id, "a");
    }

    #[test]
    fn forgetting_a_room_or_a_user_misses() {
        let cache = SendContextCache::default();
        cache.fill(cache.generation(), "r", room(&["a"]), &UserSummary::unknown("a"));
        cache.forget_user("a");
        assert!(cache.get("r", "a").is_none());
        cache.fill(cache.generation(), "r", room(&["a"]), &UserSummary::unknown("a"));
        cache.forget_room("r");
        assert!(cache.get("r", "a").is_none());
    }
}
