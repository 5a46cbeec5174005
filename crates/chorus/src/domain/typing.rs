//! Typing indicators that expire: a client that says "typing" and goes quiet is shown
//! as stopped after the expiry (default 5 s), by the tick task calling `expire`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::model::UserSummary;
use crate::ports::publisher::ConnectionId;

/// One typist in one place (a content item's comments, later a chat room).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TypingKey {
    pub place: String,
    pub user_id: String,
}

/// An indicator that ran out.
#[derive(Debug, Clone)]
pub struct ExpiredTyping {
    pub place: String,
    pub user: UserSummary,
    pub connection: ConnectionId,
}

/// Live typing indicators with their deadlines.
pub struct TypingTracker {
    ttl: Duration,
    active: Mutex<HashMap<TypingKey, (Instant, UserSummary, ConnectionId)>>,
}

impl TypingTracker {
    pub fn new(ttl: Duration) -> Self {
        Self { ttl, active: Mutex::new(HashMap::new()) }
    }

    /// Starts or refreshes (`typing = true`) or stops an indicator. Returns whether
    /// the change should be announced (a refresh of a running indicator is announced too,
    /// so late joiners see it).
    pub fn set(&self, key: TypingKey, user: UserSummary, connection: ConnectionId, typing: bool) -> bool {
        let mut active = self.active.lock();
        if typing {
            active.insert(key, (Instant::now() + self.ttl, user, connection));
            true
        } else {
            active.remove(&key).is_some()
        }
    }

    /// Removes and returns the indicators whose deadline passed.
    pub fn expire(&self, now: Instant) -> Vec<ExpiredTyping> {
        let mut active = self.active.lock();
        let mut out = Vec::new();
        active.retain(|key, (deadline, user, conn)| {
            if *deadline <= now {
                out.push(ExpiredTyping { place: key.place.clone(), user: user.clone(), connection: conn.clone() });
                false
            } else {
                true
            }
        });
        out
    }

    /// Drops (and returns) the indicators of a closed connection.
    pub fn drop_connection(&self, connection: &ConnectionId) -> Vec<ExpiredTyping> {
        let mut active = self.active.lock();
        let mut out = Vec::new();
        active.retain(|key, (_, user, conn)| {
            if conn == connection {
                out.push(ExpiredTyping { place: key.place.clone(), user: user.clone(), connection: conn.clone() });
                false
            } else {
                true
            }
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_indicator_expires_after_its_ttl_and_only_once() {
        let t = TypingTracker::new(Duration::from_secs(5));
        let key = TypingKey { place: "v1".into(), user_id: "alice".into() };
        assert!(t.set(key, UserSummary::unknown("alice"), ConnectionId("s1".into()), true));
        assert!(t.expire(Instant::now()).is_empty());
        let later = Instant::now() + Duration::from_secs(6);
        assert_eq!(t.expire(later).len(), 1);
        assert!(t.expire(later).is_empty());
    }

    #[test]
    fn stopping_an_unknown_indicator_is_not_announced() {
        let t = TypingTracker::new(Duration::from_secs(5));
        let key = TypingKey { place: "v1".into(), user_id: "bob".into() };
        assert!(!t.set(key, UserSummary::unknown("bob"), ConnectionId("s1".into()), false));
    }
}
