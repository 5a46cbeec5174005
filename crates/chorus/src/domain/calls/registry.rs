//! Calls in progress, in memory, keyed by call id: who is ringing, who joined over
//! which connection, and what each change of state must tell whom. Pure state and
//! rules, no I/O: the service sends the `CallEffect`s a change returns.
//!
//! A call has its caller and one or more callees (a room call rings the room's
//! members). Each callee rings on every device until they accept (the first device
//! wins; the others stop with `answered_elsewhere`), reject, or the ring timeout passes
//! (`timeout`, and a missed-call notification). A person is a *party* once joined (the
//! caller from the start); parties, and only parties, exchange signals, each over the
//! one connection they joined with. A user is party to at most one call: inviting or
//! accepting while in another call is refused with `conflict` (busy).
//!
//! A call ends when nobody is left to talk to: every party gone (ringing callees get
//! `cancelled`, or `ended` after someone answered), or one party left with nobody
//! ringing (that party gets the reason). Otherwise a departure sends `call:left` to the
//! remaining parties.

use std::collections::HashMap;
use std::time::Instant;

use parking_lot::Mutex;

use super::model::{CallEffect, EndReason, Media};
use crate::domain::error::{DomainError, DomainResult};
use crate::ports::publisher::ConnectionId;

/// Where one invited person stands.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Member {
    Ringing,
    Joined(ConnectionId),
    Declined,
    Missed,
    Left,
}

#[derive(Debug)]
struct Call {
    id: String,
    caller: String,
    media: Media,
    room_id: Option<String>,
    /// When the callees still ringing stop; `None` once nobody rings.
    ring_deadline: Option<Instant>,
    /// Someone accepted at some point.
    answered: bool,
    /// The caller first, then the callees in invitation order.
    members: Vec<(String, Member)>,
}

impl Call {
    fn member(&self, user_id: &str) -> Option<&Member> {
        self.members.iter().find(|(u, _)| u == user_id).map(|(_, m)| m)
    }

    fn set(&mut self, user_id: &str, state: Member) {
        if let Some((_, m)) = self.members.iter_mut().find(|(u, _)| u == user_id) {
            *m = state;
        }
        if !self.members.iter().any(|(_, m)| *m == Member::Ringing) {
            self.ring_deadline = None;
        }
    }

    /// Joined parties and their connections.
    fn joined(&self) -> Vec<(String, ConnectionId)> {
        self.members
            .iter()
            .filter_map(|(u, m)| match m {
                Member::Joined(c) => Some((u.clone(), c.clone())),
                _ => None,
            })
            .collect()
    }

    fn ringing(&self) -> Vec<String> {
        self.members.iter().filter(|(_, m)| *m == Member::Ringing).map(|(u, _)| u.clone()).collect()
    }
}

#[derive(Default)]
struct Table {
    calls: HashMap<String, Call>,
    /// The call each user is a party of.
    party_of: HashMap<String, String>,
    /// The call each connection is used for.
    by_connection: HashMap<ConnectionId, String>,
}

impl Table {
    fn call(&mut self, call_id: &str) -> DomainResult<&mut Call> {
        self.calls.get_mut(call_id).ok_or_else(|| DomainError::not_found("unknown call"))
    }

    /// Removes a party from the indexes.
    fn forget_party(&mut self, user_id: &str, connection: &ConnectionId) {
        self.party_of.remove(user_id);
        self.by_connection.remove(connection);
    }

    /// Removes a call that is over, and its parties from the indexes.
    fn finish(&mut self, call_id: &str) {
        if let Some(call) = self.calls.remove(call_id) {
            for (user, connection) in call.joined() {
                self.forget_party(&user, &connection);
            }
        }
    }

    /// After someone stopped taking part: ends the call when nobody is left to talk to,
    /// else tells the remaining parties.
    fn after_departure(&mut self, call_id: &str, departed: &str, reason: EndReason, effects: &mut Vec<CallEffect>) {
        let Some(call) = self.calls.get(call_id) else { return };
        let (joined, ringing, answered) = (call.joined(), call.ringing(), call.answered);
        if joined.is_empty() {
            let reason = if answered { EndReason::Ended } else { EndReason::Cancelled };
            for user_id in ringing {
                effects.push(CallEffect::EndedForUser { call_id: call_id.to_owned(), user_id, except: None, reason });
            }
            self.finish(call_id);
        } else if joined.len() == 1 && ringing.is_empty() {
            for (_, connection) in joined {
                effects.push(CallEffect::EndedForConnection { call_id: call_id.to_owned(), connection, reason });
            }
            self.finish(call_id);
        } else {
            for (_, connection) in joined {
                effects.push(CallEffect::Left { call_id: call_id.to_owned(), connection, user_id: departed.to_owned() });
            }
        }
    }

    /// A party leaves over `connection`.
    fn depart(&mut self, call_id: &str, user_id: &str, connection: &ConnectionId, reason: EndReason, effects: &mut Vec<CallEffect>) {
        if let Some(call) = self.calls.get_mut(call_id) {
            call.set(user_id, Member::Left);
        }
        self.forget_party(user_id, connection);
        self.after_departure(call_id, user_id, reason, effects);
    }
}

/// A call just placed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    pub call_id: String,
    /// Who rings (busy room members are left out).
    pub callees: Vec<String>,
}

/// Every call in progress on this node.
#[derive(Default)]
pub struct CallRegistry {
    table: Mutex<Table>,
}

impl CallRegistry {
    /// Places a call from `caller` over `connection`. A direct call (`room_id` absent)
    /// to a busy callee is refused with `conflict`; a room call rings the members who
    /// are free and is refused only when none is.
    pub fn invite(
        &self,
        caller: &str,
        connection: &ConnectionId,
        callees: Vec<String>,
        room_id: Option<String>,
        media: Media,
        ring_deadline: Instant,
    ) -> DomainResult<Invitation> {
        let mut t = self.table.lock();
        if t.party_of.contains_key(caller) {
            return Err(DomainError::conflict("you are already in a call"));
        }
        let direct = room_id.is_none();
        let free: Vec<String> = callees.into_iter().filter(|c| c != caller && !t.party_of.contains_key(c)).collect();
        if free.is_empty() {
            return Err(DomainError::conflict(if direct { "busy: the callee is in another call" } else { "busy: everyone in the room is in another call" }));
        }
        let call_id = uuid::Uuid::now_v7().to_string();
        let mut members = vec![(caller.to_owned(), Member::Joined(connection.clone()))];
        members.extend(free.iter().map(|c| (c.clone(), Member::Ringing)));
        t.calls.insert(
            call_id.clone(),
            Call { id: call_id.clone(), caller: caller.to_owned(), media, room_id, ring_deadline: Some(ring_deadline), answered: false, members },
        );
        t.party_of.insert(caller.to_owned(), call_id.clone());
        t.by_connection.insert(connection.clone(), call_id.clone());
        Ok(Invitation { call_id, callees: free })
    }

    /// `user` accepts over `connection`: the first of their devices wins. Returns the
    /// other parties' ids and the effects.
    pub fn accept(&self, user: &str, connection: &ConnectionId, call_id: &str) -> DomainResult<(Vec<String>, Vec<CallEffect>)> {
        let mut t = self.table.lock();
        let in_other_call = t.party_of.get(user).is_some_and(|c| c != call_id);
        let call = t.call(call_id)?;
        match call.member(user) {
            None => return Err(DomainError::forbidden("you are not invited to this call")),
            Some(_) if call.caller == user => return Err(DomainError::bad_request("you placed this call")),
            Some(Member::Ringing) => {}
            Some(Member::Joined(_)) => return Err(DomainError::conflict("the call was already accepted")),
            Some(_) => return Err(DomainError::conflict("this call no longer rings for you")),
        }
        if in_other_call {
            return Err(DomainError::conflict("you are already in another call: end it first"));
        }
        let others = call.joined();
        call.set(user, Member::Joined(connection.clone()));
        call.answered = true;
        let id = call.id.clone();
        let mut effects = vec![CallEffect::EndedForUser {
            call_id: id.clone(),
            user_id: user.to_owned(),
            except: Some(connection.clone()),
            reason: EndReason::AnsweredElsewhere,
        }];
        for (_, party) in &others {
            effects.push(CallEffect::Accepted { call_id: id.clone(), connection: party.clone(), user_id: user.to_owned() });
        }
        t.party_of.insert(user.to_owned(), id.clone());
        t.by_connection.insert(connection.clone(), id);
        Ok((others.into_iter().map(|(u, _)| u).collect(), effects))
    }

    /// A ringing callee declines; their other devices stop ringing.
    pub fn reject(&self, user: &str, connection: &ConnectionId, call_id: &str) -> DomainResult<Vec<CallEffect>> {
        let mut t = self.table.lock();
        let call = t.call(call_id)?;
        match call.member(user) {
            None => return Err(DomainError::forbidden("you are not invited to this call")),
            Some(_) if call.caller == user => return Err(DomainError::bad_request("you placed this call: end it with call:end")),
            Some(Member::Ringing) => {}
            Some(Member::Joined(_)) => return Err(DomainError::conflict("you accepted this call: end it with call:end")),
            Some(_) => return Err(DomainError::conflict("this call no longer rings for you")),
        }
        Ok(Self::decline(&mut t, user, connection, call_id))
    }

    /// `call:end`: a party hangs up (a caller before any answer cancels); a callee
    /// still ringing declines. Ending a call one already left changes nothing.
    pub fn end(&self, user: &str, connection: &ConnectionId, call_id: &str) -> DomainResult<Vec<CallEffect>> {
        let mut t = self.table.lock();
        let call = t.call(call_id)?;
        let state = call.member(user).cloned().ok_or_else(|| DomainError::forbidden("you are not in this call"))?;
        let mut effects = Vec::new();
        match state {
            Member::Ringing => return Ok(Self::decline(&mut t, user, connection, call_id)),
            Member::Joined(party_connection) => {
                if &party_connection != connection {
                    // Hung up from another device: the device in the call hears of it.
                    effects.push(CallEffect::EndedForConnection {
                        call_id: call_id.to_owned(),
                        connection: party_connection.clone(),
                        reason: EndReason::Ended,
                    });
                }
                t.depart(call_id, user, &party_connection, EndReason::Ended, &mut effects);
            }
            Member::Declined | Member::Missed | Member::Left => {}
        }
        Ok(effects)
    }

    /// The connection to relay a party's signal to: both sender (over the connection
    /// it joined with) and receiver must be parties.
    pub fn signal_target(&self, user: &str, connection: &ConnectionId, call_id: &str, to_user: &str) -> DomainResult<ConnectionId> {
        let mut t = self.table.lock();
        let call = t.call(call_id)?;
        match call.member(user) {
            Some(Member::Joined(c)) if c == connection => {}
            Some(Member::Joined(_)) => return Err(DomainError::forbidden("this device is not the one in the call")),
            _ => return Err(DomainError::forbidden("you are not a party of this call")),
        }
        if to_user == user {
            return Err(DomainError::bad_request("signal another party, not yourself"));
        }
        match call.member(to_user) {
            Some(Member::Joined(target)) => Ok(target.clone()),
            _ => Err(DomainError::forbidden("the recipient is not a party of this call")),
        }
    }

    /// Stops the ringing whose time is up: callees get `timeout` and a missed call; a
    /// call nobody answered ends for the caller too.
    pub fn expire(&self, now: Instant) -> Vec<CallEffect> {
        let mut t = self.table.lock();
        let due: Vec<String> = t.calls.values().filter(|c| c.ring_deadline.is_some_and(|d| d <= now)).map(|c| c.id.clone()).collect();
        let mut effects = Vec::new();
        for call_id in due {
            let Some(call) = t.calls.get_mut(&call_id) else { continue };
            for user_id in call.ringing() {
                call.set(&user_id, Member::Missed);
                effects.push(CallEffect::EndedForUser { call_id: call_id.clone(), user_id: user_id.clone(), except: None, reason: EndReason::Timeout });
                effects.push(CallEffect::Missed {
                    call_id: call_id.clone(),
                    user_id,
                    caller_id: call.caller.clone(),
                    media: call.media,
                    room_id: call.room_id.clone(),
                });
            }
            call.ring_deadline = None;
            let joined = call.joined();
            if joined.len() <= 1 {
                for (_, connection) in joined {
                    effects.push(CallEffect::EndedForConnection { call_id: call_id.clone(), connection, reason: EndReason::Timeout });
                }
                t.finish(&call_id);
            }
        }
        effects
    }

    /// A socket closed: a party using it drops out of its call.
    pub fn connection_closed(&self, connection: &ConnectionId) -> Vec<CallEffect> {
        let mut t = self.table.lock();
        let Some(call_id) = t.by_connection.get(connection).cloned() else { return Vec::new() };
        let user = t.calls.get(&call_id).and_then(|c| {
            c.members.iter().find(|(_, m)| *m == Member::Joined(connection.clone())).map(|(u, _)| u.clone())
        });
        let mut effects = Vec::new();
        match user {
            Some(user) => t.depart(&call_id, &user, connection, EndReason::Disconnected, &mut effects),
            None => {
                t.by_connection.remove(connection);
            }
        }
        effects
    }

    /// Calls in progress.
    pub fn len(&self) -> usize {
        self.table.lock().calls.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn decline(t: &mut Table, user: &str, connection: &ConnectionId, call_id: &str) -> Vec<CallEffect> {
        let mut effects = vec![CallEffect::EndedForUser {
            call_id: call_id.to_owned(),
            user_id: user.to_owned(),
            except: Some(connection.clone()),
            reason: EndReason::Rejected,
        }];
        let Some(call) = t.calls.get_mut(call_id) else { return effects };
        call.set(user, Member::Declined);
        let (joined, ringing, answered) = (call.joined(), call.ringing(), call.answered);
        if ringing.is_empty() && joined.len() <= 1 {
            let reason = if answered { EndReason::Ended } else { EndReason::Rejected };
            for (_, connection) in joined {
                effects.push(CallEffect::EndedForConnection { call_id: call_id.to_owned(), connection, reason });
            }
            t.finish(call_id);
        }
        effects
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::domain::error::ErrorCode;

    fn conn(s: &str) -> ConnectionId {
        ConnectionId(s.into())
    }

    fn code<T: std::fmt::Debug>(r: DomainResult<T>) -> ErrorCode {
        r.expect_err("should fail").code
    }

    fn direct(reg: &CallRegistry, caller: &str, callee: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        reg.invite(caller, &conn(&format!("{caller}-1")), vec![callee.into()], None, Media::Audio, deadline).unwrap().call_id
    }

    #[test]
    fn the_first_device_to_accept_wins_and_the_others_hear_it_was_answered_elsewhere() {
        let reg = CallRegistry::default();
        let id = direct(&reg, "ann", "bob");
        let (others, effects) = reg.accept("bob", &conn("bob-2"), &id).unwrap();
        assert_eq!(others, ["ann"]);
        assert_eq!(
            effects,
            vec![
                CallEffect::EndedForUser { call_id: id.clone(), user_id: "bob".into(), except: Some(conn("bob-2")), reason: EndReason::AnsweredElsewhere },
                CallEffect::Accepted { call_id: id.clone(), connection: conn("ann-1"), user_id: "bob".into() },
            ]
        );
        assert_eq!(code(reg.accept("bob", &conn("bob-1"), &id)), ErrorCode::Conflict, "a second accept");
        assert_eq!(code(reg.accept("eve", &conn("eve-1"), &id)), ErrorCode::Forbidden);
        assert_eq!(code(reg.accept("bob", &conn("bob-1"), "nope")), ErrorCode::NotFound);
    }

    #[test]
    fn signals_flow_only_between_parties_over_their_call_connections() {
        let reg = CallRegistry::default();
        let id = direct(&reg, "ann", "bob");
        assert_eq!(code(reg.signal_target("ann", &conn("ann-1"), &id, "bob")), ErrorCode::Forbidden, "bob only rings");
        reg.accept("bob", &conn("bob-1"), &id).unwrap();
        assert_eq!(reg.signal_target("ann", &conn("ann-1"), &id, "bob").unwrap(), conn("bob-1"));
        assert_eq!(reg.signal_target("bob", &conn("bob-1"), &id, "ann").unwrap(), conn("ann-1"));
        assert_eq!(code(reg.signal_target("eve", &conn("eve-1"), &id, "bob")), ErrorCode::Forbidden, "a stranger");
        assert_eq!(code(reg.signal_target("ann", &conn("ann-1"), &id, "eve")), ErrorCode::Forbidden, "to a non-party");
        assert_eq!(code(reg.signal_target("bob", &conn("bob-2"), &id, "ann")), ErrorCode::Forbidden, "another device");
    }

    #[test]
    fn busy_callees_and_callers_are_refused() {
        let reg = CallRegistry::default();
        let id = direct(&reg, "ann", "bob");
        reg.accept("bob", &conn("bob-1"), &id).unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        assert_eq!(code(reg.invite("cat", &conn("cat-1"), vec!["bob".into()], None, Media::Video, deadline)), ErrorCode::Conflict);
        assert_eq!(code(reg.invite("ann", &conn("ann-1"), vec!["cat".into()], None, Media::Video, deadline)), ErrorCode::Conflict);
        // A room call rings the free members only.
        let room = reg.invite("cat", &conn("cat-1"), vec!["bob".into(), "dan".into()], Some("r".into()), Media::Video, deadline).unwrap();
        assert_eq!(room.callees, ["dan"]);
    }

    #[test]
    fn rejecting_a_direct_call_ends_it_for_the_caller() {
        let reg = CallRegistry::default();
        let id = direct(&reg, "ann", "bob");
        let effects = reg.reject("bob", &conn("bob-1"), &id).unwrap();
        assert!(effects.contains(&CallEffect::EndedForConnection { call_id: id.clone(), connection: conn("ann-1"), reason: EndReason::Rejected }));
        assert!(reg.is_empty());
        assert_eq!(code(reg.reject("bob", &conn("bob-1"), &id)), ErrorCode::NotFound);
    }

    #[test]
    fn hanging_up_ends_a_two_party_call_and_cancelling_stops_the_ringing() {
        let reg = CallRegistry::default();
        let id = direct(&reg, "ann", "bob");
        reg.accept("bob", &conn("bob-1"), &id).unwrap();
        let effects = reg.end("ann", &conn("ann-1"), &id).unwrap();
        assert_eq!(effects, vec![CallEffect::EndedForConnection { call_id: id.clone(), connection: conn("bob-1"), reason: EndReason::Ended }]);
        assert!(reg.is_empty());

        let id = direct(&reg, "ann", "bob");
        let effects = reg.end("ann", &conn("ann-1"), &id).unwrap();
        assert_eq!(effects, vec![CallEffect::EndedForUser { call_id: id, user_id: "bob".into(), except: None, reason: EndReason::Cancelled }]);
        assert!(!direct(&reg, "ann", "bob").is_empty(), "ann is free again");
    }

    #[test]
    fn unanswered_calls_time_out_with_a_missed_call() {
        let reg = CallRegistry::default();
        let id = direct(&reg, "ann", "bob");
        assert!(reg.expire(Instant::now()).is_empty());
        let effects = reg.expire(Instant::now() + Duration::from_secs(31));
        assert!(effects.contains(&CallEffect::EndedForUser { call_id: id.clone(), user_id: "bob".into(), except: None, reason: EndReason::Timeout }));
        assert!(effects.iter().any(|e| matches!(e, CallEffect::Missed { user_id, .. } if user_id == "bob")));
        assert!(effects.contains(&CallEffect::EndedForConnection { call_id: id, connection: conn("ann-1"), reason: EndReason::Timeout }));
        assert!(reg.is_empty());
    }

    #[test]
    fn a_room_call_goes_on_while_two_parties_remain() {
        let reg = CallRegistry::default();
        let deadline = Instant::now() + Duration::from_secs(30);
        let inv = reg.invite("ann", &conn("ann-1"), vec!["bob".into(), "cat".into(), "dan".into()], Some("r".into()), Media::Video, deadline).unwrap();
        let id = inv.call_id;
        reg.accept("bob", &conn("bob-1"), &id).unwrap();
        let (others, _) = reg.accept("cat", &conn("cat-1"), &id).unwrap();
        assert_eq!(others, ["ann", "bob"]);
        // dan never answers: he misses it, the call goes on.
        let effects = reg.expire(deadline + Duration::from_millis(1));
        assert!(effects.iter().any(|e| matches!(e, CallEffect::Missed { user_id, .. } if user_id == "dan")));
        assert_eq!(reg.len(), 1);
        let effects = reg.connection_closed(&conn("ann-1"));
        assert_eq!(effects.len(), 2, "bob and cat hear ann left: {effects:?}");
        assert!(effects.iter().all(|e| matches!(e, CallEffect::Left { user_id, .. } if user_id == "ann")));
        let effects = reg.end("bob", &conn("bob-1"), &id).unwrap();
        assert_eq!(effects, vec![CallEffect::EndedForConnection { call_id: id, connection: conn("cat-1"), reason: EndReason::Ended }]);
        assert!(reg.is_empty());
    }
}
