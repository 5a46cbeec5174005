//! Disconnects sockets when their token expires (PROTOCOL.md §1). One ordered set for
//! the whole node, checked by the tick task, instead of a timer per socket.

use std::collections::{BTreeSet, HashMap};

use parking_lot::Mutex;
use socketioxide::socket::Sid;

#[derive(Default)]
struct Deadlines {
    ordered: BTreeSet<(i64, Sid)>,
    by_socket: HashMap<Sid, i64>,
}

/// Token deadlines of connected sockets.
#[derive(Default)]
pub struct SessionExpiry {
    inner: Mutex<Deadlines>,
}

impl SessionExpiry {
    /// Sets (or moves, after `auth:refresh`) the deadline of a socket, in Unix seconds.
    pub fn schedule(&self, sid: Sid, expires_at: i64) {
        let mut d = self.inner.lock();
        if let Some(old) = d.by_socket.insert(sid, expires_at) {
            d.ordered.remove(&(old, sid));
        }
        d.ordered.insert((expires_at, sid));
    }

    pub fn forget(&self, sid: Sid) {
        let mut d = self.inner.lock();
        if let Some(old) = d.by_socket.remove(&sid) {
            d.ordered.remove(&(old, sid));
        }
    }

    /// Removes and returns the sockets whose deadline is at or before `now`.
    pub fn due(&self, now: i64) -> Vec<Sid> {
        let mut d = self.inner.lock();
        let mut out = Vec::new();
        while let Some(&(at, sid)) = d.ordered.first() {
            if at > now {
                break;
            }
            d.ordered.remove(&(at, sid));
            d.by_socket.remove(&sid);
            out.push(sid);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rescheduled_socket_is_due_only_at_its_new_deadline() {
        let e = SessionExpiry::default();
        let sid = Sid::new();
        e.schedule(sid, 100);
        e.schedule(sid, 200);
        assert!(e.due(150).is_empty());
        assert_eq!(e.due(200), vec![sid]);
        assert!(e.due(300).is_empty());
    }
}
