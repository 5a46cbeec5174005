//! What a command asks before it runs, declared once per command in the area tables:
//! its rate-limit class, whether it posts text, whether guests may send it, whether it
//! joins a room. The router draws from the rate limit and asks the domain's admission
//! rules (`Demands`); the posting ban is the posting services' own check, on every door.

use crate::domain::admission::Demands;
use crate::ports::limits::LimitClass;

/// The rules the router applies to one command, read from its event name before the
/// payload is decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// The token bucket the command draws from.
    pub limit: LimitClass,
    /// It posts text others read, so its service refuses it to a user banned from
    /// posting (a server-wide mute); the contract says so.
    pub posts_text: bool,
    /// A guest (a socket without a token) may send it.
    pub guests: bool,
    /// It adds the socket to a room, so the per-socket room cap applies.
    pub joins_room: bool,
}

impl Policy {
    /// The policy of an event no table lists: the `commands` bucket, members only. Such
    /// an event is refused as unknown once the checks have passed.
    pub const UNKNOWN: Self = Self::limited(LimitClass::Commands);

    /// A members-only command that draws from `limit` and neither posts nor joins.
    pub const fn limited(limit: LimitClass) -> Self {
        Self { limit, posts_text: false, guests: false, joins_room: false }
    }

    /// What the command asks of its sender, for the domain's admission rules.
    pub const fn demands(self) -> Demands {
        Demands { guests: self.guests, joins_room: self.joins_room }
    }
}
