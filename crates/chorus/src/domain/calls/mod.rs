//! Call signalling (PROTOCOL.md §10): `call:invite` to a user or to a chat room's
//! members rings every device of each callee (`call:incoming` to their `user:` room);
//! `call:accept` (the first device wins), `call:reject`, `call:end`; `call:signal`
//! relays SDP offers and answers and ICE candidates between the call's parties only;
//! an unanswered callee stops ringing after the ring timeout and finds a missed call
//! in their notifications. No media passes through Chorus.
//!
//! Busy: a user takes part in one call at a time. Inviting someone who is a party of
//! another call acks `conflict` (a room call rings the free members and is refused
//! only when none is free); so does inviting or accepting while in another call. Being
//! rung does not make anyone busy.
//!
//! Calls live in memory on this node (`registry`); the tick task times out the ringing.

pub mod model;
pub mod registry;

use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use self::model::{CallEffect, CallRules, Media};
use self::registry::CallRegistry;
use super::model::Actor;
use super::error::{DomainError, DomainResult};
use super::events::CallEvent;
use super::text::valid_id;
use super::users::UserDirectory;
use crate::ports::chat_members::ChatMembers;
use crate::ports::events::EventSink;
use crate::ports::publisher::{Audience, ConnectionId, Room};

/// Whom `call:invite` calls.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InviteInput {
    pub to_user_id: Option<String>,
    pub room_id: Option<String>,
    pub media: String,
}

/// Ack of `call:invite`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CallPlaced {
    pub call_id: String,
}

/// Ack of `call:accept`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CallJoined {
    pub call_id: String,
    /// The parties already in the call (the caller first).
    pub party_ids: Vec<String>,
}

/// The call signalling service.
pub struct CallService {
    registry: CallRegistry,
    members: Arc<dyn ChatMembers>,
    users: Arc<UserDirectory>,
    events: Arc<dyn EventSink>,
    rules: CallRules,
}

impl CallService {
    pub fn new(
        members: Arc<dyn ChatMembers>,
        users: Arc<UserDirectory>,
        events: Arc<dyn EventSink>,
        rules: CallRules,
    ) -> Self {
        Self { registry: CallRegistry::default(), members, users, events, rules }
    }

    pub fn rules(&self) -> &CallRules {
        &self.rules
    }

    /// Calls in progress on this node.
    pub fn active_calls(&self) -> usize {
        self.registry.len()
    }

    /// `call:invite {toUserId | roomId, media}`.
    pub async fn invite(&self, actor: &Actor, input: &InviteInput) -> DomainResult<CallPlaced> {
        let connection = socket_of(actor)?;
        let me = &actor.identity.user_id;
        let media = Media::parse(&input.media)?;
        let (callees, room_id) = match (&input.to_user_id, &input.room_id) {
            (Some(to), None) => {
                let to = valid_id("toUserId", to)?;
                if to == me {
                    return Err(DomainError::bad_request("you cannot call yourself"));
                }
                (vec![to.to_owned()], None)
            }
            (None, Some(room)) => {
                let room = valid_id("roomId", room)?;
                (self.room_callees(me, room).await?, Some(room.to_owned()))
            }
            _ => return Err(DomainError::bad_request("send either toUserId or roomId")),
        };
        let from = self.users.summary(me).await?;
        let deadline = Instant::now() + self.rules.ring_timeout;
        let invitation = self.registry.invite(me, connection, callees, room_id.clone(), media, deadline)?;
        let rooms = invitation.callees.iter().map(|c| Room::User(c.clone())).collect();
        let ringing = CallEvent::Ringing { call_id: invitation.call_id.clone(), from, media, room_id };
        self.events.emit(Audience::Rooms(rooms), ringing.into()).await;
        Ok(CallPlaced { call_id: invitation.call_id })
    }

    /// `call:accept {callId}`: the caller (and any other party) gets `call:accepted`,
    /// the callee's other devices `call:ended` with `answered_elsewhere`.
    pub async fn accept(&self, actor: &Actor, call_id: &str) -> DomainResult<CallJoined> {
        let call_id = valid_id("callId", call_id)?;
        let connection = socket_of(actor)?;
        let (party_ids, effects) = self.registry.accept(&actor.identity.user_id, connection, call_id)?;
        self.send(effects).await;
        Ok(CallJoined { call_id: call_id.to_owned(), party_ids })
    }

    /// `call:reject {callId}`.
    pub async fn reject(&self, actor: &Actor, call_id: &str) -> DomainResult<()> {
        let call_id = valid_id("callId", call_id)?;
        let connection = socket_of(actor)?;
        let effects = self.registry.reject(&actor.identity.user_id, connection, call_id)?;
        self.send(effects).await;
        Ok(())
    }

    /// `call:end {callId}`.
    pub async fn end(&self, actor: &Actor, call_id: &str) -> DomainResult<()> {
        let call_id = valid_id("callId", call_id)?;
        let connection = socket_of(actor)?;
        let effects = self.registry.end(&actor.identity.user_id, connection, call_id)?;
        self.send(effects).await;
        Ok(())
    }

    /// `call:signal {callId, toUserId, signal}`: relayed as `call:signal {callId,
    /// fromUserId, signal}` to the device the recipient joined the call with.
    pub async fn signal(&self, actor: &Actor, call_id: &str, to_user_id: &str, signal: &Value) -> DomainResult<()> {
        let call_id = valid_id("callId", call_id)?;
        let to_user_id = valid_id("toUserId", to_user_id)?;
        let connection = socket_of(actor)?;
        if signal.is_null() {
            return Err(DomainError::bad_request("signal is required"));
        }
        let size = serde_json::to_vec(signal).map_err(|e| DomainError::internal(&e))?.len();
        if size > self.rules.max_signal_bytes {
            return Err(DomainError::payload_too_large(format!("a signal must be at most {} bytes", self.rules.max_signal_bytes)));
        }
        let me = &actor.identity.user_id;
        let target = self.registry.signal_target(me, connection, call_id, to_user_id)?;
        let relayed = CallEvent::SignalRelayed { call_id: call_id.to_owned(), from_user_id: me.clone(), signal: signal.clone() };
        self.events.emit(Audience::Connection(target), relayed.into()).await;
        Ok(())
    }

    /// Tick: callees whose ringing timed out stop ringing and get a missed call.
    pub async fn expire_ringing(&self) {
        let effects = self.registry.expire(Instant::now());
        self.send(effects).await;
    }

    /// A socket closed: a party using it drops out of its call.
    pub async fn connection_closed(&self, connection: &ConnectionId) {
        let effects = self.registry.connection_closed(connection);
        self.send(effects).await;
    }

    /// The members a room call rings: the room's members except the caller, who must
    /// be one of them.
    async fn room_callees(&self, me: &str, room_id: &str) -> DomainResult<Vec<String>> {
        let members = self.members.chat_room_members(room_id).await?.ok_or_else(|| DomainError::not_found("unknown chat room"))?;
        if !members.iter().any(|m| m == me) {
            return Err(DomainError::forbidden("only members call a room"));
        }
        let mut callees: Vec<String> = Vec::with_capacity(members.len());
        for m in members {
            if m != me && !callees.contains(&m) {
                callees.push(m);
            }
        }
        if callees.is_empty() {
            return Err(DomainError::bad_request("nobody else is in this room"));
        }
        if callees.len() > self.rules.max_callees {
            return Err(DomainError::bad_request(format!("a room call rings at most {} members", self.rules.max_callees)));
        }
        Ok(callees)
    }

    /// Sends what a change of call state produced.
    async fn send(&self, effects: Vec<CallEffect>) {
        for effect in effects {
            match effect {
                CallEffect::EndedForUser { call_id, user_id, except, reason } => {
                    let room = Room::User(user_id);
                    let audience = match except {
                        Some(c) => Audience::RoomExcept(room, c),
                        None => Audience::Room(room),
                    };
                    self.events.emit(audience, CallEvent::Ended { call_id, reason }.into()).await;
                }
                CallEffect::EndedForConnection { call_id, connection, reason } => {
                    self.events.emit(Audience::Connection(connection), CallEvent::Ended { call_id, reason }.into()).await;
                }
                CallEffect::Accepted { call_id, connection, user_id } => {
                    self.events.emit(Audience::Connection(connection), CallEvent::Accepted { call_id, user_id }.into()).await;
                }
                CallEffect::Left { call_id, connection, user_id } => {
                    self.events.emit(Audience::Connection(connection), CallEvent::Left { call_id, user_id }.into()).await;
                }
                CallEffect::Missed { call_id, user_id, caller_id, media, room_id } => {
                    let missed = CallEvent::Missed { call_id, user_id: user_id.clone(), caller_id, media, room_id };
                    self.events.emit(Audience::Room(Room::User(user_id)), missed.into()).await;
                }
            }
        }
    }
}

fn socket_of(actor: &Actor) -> DomainResult<&ConnectionId> {
    actor.connection.as_ref().ok_or_else(|| DomainError::bad_request("call signalling needs a socket"))
}
