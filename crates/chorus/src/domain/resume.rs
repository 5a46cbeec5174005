//! Rules of session resume (PROTOCOL.md §1, "Resuming a session"): how a seq is
//! numbered, when a session may be taken over by a new connection, and which logged
//! events the old connection would have received.

use std::time::Duration;

use crate::ports::event_log::SessionRecord;
use crate::ports::publisher::{Audience, Room};

/// What a reconnecting client asks for (`auth.resume`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResumeRequest {
    pub session_id: String,
    pub last_seq: u64,
}

/// Why a session was not recovered (logged; the client only sees `recovered: false`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// No such session, or its record expired.
    Unknown,
    /// The session belongs to another user.
    OtherUser,
    /// It closed longer than the window ago.
    Expired,
    /// The client claims a seq the log never assigned.
    FutureSeq,
    /// The log lost or trimmed an event the client missed, or can't prove it delivered
    /// it once (events a node delivered itself while Redis was unreachable).
    Gap,
    /// The log could not be read.
    Unavailable,
    /// The session is held by another open connection.
    InUse,
}

/// The next seq: encodes the time (ms × 1000) so the log can be trimmed by time and
/// numbers stay below 2^53 (exact in JavaScript), yet always above the last one.
pub fn next_seq(now_ms: i64, last: u64) -> u64 {
    let by_time = u64::try_from(now_ms).unwrap_or(0).saturating_mul(1000);
    by_time.max(last.saturating_add(1))
}

/// Writes `seq` into an event's payload object; `false` (and nothing written) when the
/// payload is not an object: such events are delivered without a seq and not logged.
pub fn stamp(payload: &mut serde_json::Value, seq: u64) -> bool {
    match payload.as_object_mut() {
        Some(fields) => {
            fields.insert("seq".to_owned(), seq.into());
            true
        }
        None => false,
    }
}

/// The smallest seq an event published `window` before `now_ms` can have.
pub fn seq_floor_for(now_ms: i64, window: Duration) -> u64 {
    let window_ms = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
    u64::try_from(now_ms.saturating_sub(window_ms)).unwrap_or(0).saturating_mul(1000)
}

/// May `user_id` take over `record`? Returns the seq to replay after: the client's
/// `lastSeq`, or later when the session started later (it never needed older events).
pub fn admit(
    record: Option<&SessionRecord>,
    user_id: &str,
    request: &ResumeRequest,
    now_ms: i64,
    window: Duration,
    head: u64,
) -> Result<u64, Refused> {
    let record = record.ok_or(Refused::Unknown)?;
    if record.user_id != user_id {
        return Err(Refused::OtherUser);
    }
    if let Some(at) = record.disconnected_at_ms {
        let window_ms = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
        if now_ms.saturating_sub(at) >= window_ms {
            return Err(Refused::Expired);
        }
    }
    if request.last_seq > head {
        return Err(Refused::FutureSeq);
    }
    Ok(request.last_seq.max(record.since))
}

/// Would the session's old connection have received an event sent to `to`? Its rooms,
/// its user room, the connection itself, and everyone.
pub fn addressed_to(to: &Audience, record: &SessionRecord) -> bool {
    let member = |room: &Room| match room {
        Room::User(id) => *id == record.user_id || record.rooms.contains(room),
        other => record.rooms.contains(other),
    };
    match to {
        Audience::Room(room) => member(room),
        Audience::Rooms(rooms) => rooms.iter().any(member),
        Audience::RoomExcept(room, except) => except.0 != record.connection && member(room),
        Audience::Connection(connection) => connection.0 == record.connection,
        Audience::Everyone => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::publisher::ConnectionId;

    fn record() -> SessionRecord {
        SessionRecord {
            session_id: "s1".into(),
            user_id: "alice".into(),
            connection: "c1".into(),
            rooms: vec![Room::Chat("r1".into()), Room::Content("v1".into())],
            since: 100,
            disconnected_at_ms: Some(1_000_000),
        }
    }

    fn ask(last_seq: u64) -> ResumeRequest {
        ResumeRequest { session_id: "s1".into(), last_seq }
    }

    #[test]
    fn seq_follows_time_and_never_repeats() {
        assert_eq!(next_seq(5, 0), 5000);
        assert_eq!(next_seq(5, 5000), 5001);
        assert_eq!(next_seq(4, 7000), 7001, "a clock step back keeps seqs increasing");
        assert!(next_seq(4_102_444_800_000, 0) < 1 << 53, "year 2100 still fits a JS number");
    }

    #[test]
    fn admission_rules() {
        let w = Duration::from_secs(120);
        let r = record();
        assert_eq!(admit(Some(&r), "alice", &ask(150), 1_000_500, w, 200), Ok(150));
        assert_eq!(admit(Some(&r), "alice", &ask(0), 1_000_500, w, 200), Ok(100), "never before the session started");
        assert_eq!(admit(None, "alice", &ask(0), 0, w, 0), Err(Refused::Unknown));
        assert_eq!(admit(Some(&r), "bob", &ask(150), 1_000_500, w, 200), Err(Refused::OtherUser));
        assert_eq!(admit(Some(&r), "alice", &ask(150), 1_120_000, w, 200), Err(Refused::Expired));
        assert_eq!(admit(Some(&r), "alice", &ask(201), 1_000_500, w, 200), Err(Refused::FutureSeq));
        let open = SessionRecord { disconnected_at_ms: None, ..record() };
        assert_eq!(admit(Some(&open), "alice", &ask(150), 9_000_000, w, 200), Ok(150), "a dead node never said");
    }

    #[test]
    fn audience_matching() {
        let r = record();
        assert!(addressed_to(&Audience::Room(Room::Chat("r1".into())), &r));
        assert!(addressed_to(&Audience::Room(Room::User("alice".into())), &r));
        assert!(!addressed_to(&Audience::Room(Room::User("bob".into())), &r));
        assert!(!addressed_to(&Audience::Room(Room::Chat("r2".into())), &r));
        assert!(addressed_to(&Audience::Rooms(vec![Room::Chat("r2".into()), Room::Content("v1".into())]), &r));
        assert!(!addressed_to(&Audience::RoomExcept(Room::Chat("r1".into()), ConnectionId("c1".into())), &r));
        assert!(addressed_to(&Audience::RoomExcept(Room::Chat("r1".into()), ConnectionId("c2".into())), &r));
        assert!(addressed_to(&Audience::Connection(ConnectionId("c1".into())), &r));
        assert!(!addressed_to(&Audience::Connection(ConnectionId("c2".into())), &r));
        assert!(addressed_to(&Audience::Everyone, &r));
    }
}
