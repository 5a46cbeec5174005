//! Who may send a command at all, before its area's service looks at it: the guest rule
//! and the cap on the rooms one connection watches. Each command declares what it asks
//! of its sender (`Demands`, in the transport's command tables); the rules that decide
//! live here, with their errors, so every door refuses alike. What a command posts is
//! judged by its service (the posting ban and moderation, in the content, chat and live
//! services).

use super::error::{DomainError, DomainResult};
use super::model::Actor;

/// What one command asks of whoever sends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Demands {
    /// A guest (a connection without a token) may send it.
    pub guests: bool,
    /// It adds the connection to a room, so the cap on rooms per connection applies.
    pub joins_room: bool,
}

/// The admission rules of a deployment.
#[derive(Debug, Clone)]
pub struct Admission {
    /// Rooms one connection may watch, its own user room aside (0 = no cap).
    max_rooms_per_connection: usize,
}

impl Admission {
    pub fn new(max_rooms_per_connection: usize) -> Self {
        Self { max_rooms_per_connection }
    }

    /// Refuses a guest a command only members may send.
    pub fn ensure_sender(&self, actor: &Actor, demands: Demands) -> DomainResult<()> {
        if actor.identity.guest && !demands.guests {
            return Err(DomainError::unauthorized("guests may only join public rooms and record views"));
        }
        Ok(())
    }

    /// Refuses a command that opens a room to a connection that already watches as many
    /// as it may. `rooms_held` counts the connection's rooms, its own user room included.
    pub fn ensure_room_for(&self, demands: Demands, rooms_held: usize) -> DomainResult<()> {
        let cap = self.max_rooms_per_connection;
        if demands.joins_room && cap > 0 && rooms_held > cap {
            return Err(DomainError::conflict(format!("a socket may be in at most {cap} rooms")));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::domain::model::Identity;

    fn actor(guest: bool) -> Actor {
        let identity = Identity {
            user_id: "u1".into(),
            username: None,
            avatar: None,
            verified: false,
            roles: Vec::new(),
            expires_at: i64::MAX,
            guest,
            issued_at: None,
        };
        Actor { identity: Arc::new(identity), connection: None }
    }

    const WATCH: Demands = Demands { guests: true, joins_room: true };
    const MEMBERS: Demands = Demands { guests: false, joins_room: false };

    #[test]
    fn a_guest_may_send_only_what_guests_may() {
        let rules = Admission::new(10);
        assert!(rules.ensure_sender(&actor(true), WATCH).is_ok());
        let refused = rules.ensure_sender(&actor(true), MEMBERS).unwrap_err();
        assert_eq!(refused.code.as_str(), "unauthorized");
        assert!(rules.ensure_sender(&actor(false), MEMBERS).is_ok());
    }

    #[test]
    fn the_room_cap_counts_rooms_beyond_the_users_own() {
        let rules = Admission::new(2);
        // The user's own room and two watched rooms: full.
        assert!(rules.ensure_room_for(WATCH, 2).is_ok());
        let refused = rules.ensure_room_for(WATCH, 3).unwrap_err();
        assert_eq!(refused.code.as_str(), "conflict");
        // Commands that open no room are not counted, and 0 means no cap.
        assert!(rules.ensure_room_for(MEMBERS, 50).is_ok());
        assert!(Admission::new(0).ensure_room_for(WATCH, 5000).is_ok());
    }
}
