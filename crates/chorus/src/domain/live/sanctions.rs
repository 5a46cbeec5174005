//! Sanctions in a stream: the owner, a moderator or the app backend mutes, bans,
//! unmutes and unbans a viewer. A banned viewer is taken out of the stream room at
//! once and cannot join again; a muted one watches but cannot chat.

use std::sync::Arc;

use serde::Serialize;

use super::Shared;
use super::streams::drop_connection;
use crate::domain::model::Actor;
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::events::{AccountEvent, LiveEvent};
use crate::domain::text::{short_label, valid_id};
use crate::domain::time::Timestamp;
use crate::ports::live_store::{NewSanction, SanctionKind};
use crate::ports::publisher::{Audience, Room};

/// What a moderator does to a viewer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SanctionAction {
    Mute,
    Unmute,
    Ban,
    Unban,
}

impl SanctionAction {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "mute" => Self::Mute,
            "unmute" => Self::Unmute,
            "ban" => Self::Ban,
            "unban" => Self::Unban,
            _ => return None,
        })
    }

    fn kind(self) -> SanctionKind {
        match self {
            Self::Mute | Self::Unmute => SanctionKind::Mute,
            Self::Ban | Self::Unban => SanctionKind::Ban,
        }
    }

    fn imposes(self) -> bool {
        matches!(self, Self::Mute | Self::Ban)
    }
}

/// Who sanctions.
#[derive(Debug, Clone, Copy)]
pub enum Moderator<'a> {
    /// A user: must own the stream or hold the moderator role.
    User(&'a Actor),
    /// The app backend (server API).
    Backend,
}

/// What a sanction request changed.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SanctionApplied {
    pub stream_id: String,
    pub user_id: String,
    pub action: SanctionAction,
    /// End of a timed mute or ban; `null` for one until lifted (and for lifts).
    pub until: Option<Timestamp>,
    /// False when a lift found nothing to lift.
    pub changed: bool,
}

/// The sanction service.
pub struct SanctionService {
    shared: Arc<Shared>,
}

impl SanctionService {
    pub fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }

    /// `stream:moderate` and `POST /api/server/moderation/{action}`.
    pub async fn apply(
        &self,
        by: Moderator<'_>,
        stream_id: &str,
        user_id: &str,
        action: &str,
        duration_sec: Option<i64>,
        reason: Option<&str>,
    ) -> DomainResult<SanctionApplied> {
        let action = SanctionAction::parse(action).ok_or_else(|| DomainError::bad_request("action must be mute, unmute, ban or unban"))?;
        let user_id = valid_id("userId", user_id)?;
        let reason = short_label("reason", reason, 200)?;
        let s = &self.shared;
        let length = if action.imposes() { s.rules.sanction_length(duration_sec)? } else { None };
        let stream = s.stream_or_404(stream_id).await?;
        let moderator_id = match by {
            Moderator::User(actor) => {
                let me = &actor.identity.user_id;
                if *me != stream.owner_id && !actor.identity.is_moderator() {
                    return Err(DomainError::forbidden("only the owner or a moderator moderates a stream"));
                }
                if me == user_id {
                    return Err(DomainError::bad_request("you cannot moderate yourself"));
                }
                Some(me.clone())
            }
            Moderator::Backend => None,
        };
        if user_id == stream.owner_id {
            return Err(DomainError::bad_request("a stream's owner cannot be muted or banned in it"));
        }
        let now = Timestamp::now();
        let until = length.map(|d| now.plus_millis(d.as_millis() as i64));
        let changed = if action.imposes() {
            let banned = (action == SanctionAction::Ban).then(|| AccountEvent::Banned {
                user_id: user_id.to_owned(),
                stream_id: Some(stream.id.clone()),
                by: moderator_id.clone(),
                until,
                reason: reason.clone(),
                at: now,
            });
            let sanction =
                NewSanction { stream_id: stream.id.clone(), user_id: user_id.to_owned(), kind: action.kind(), until, reason: reason.clone(), by: moderator_id, at: now };
            // The ban is told to the app's backend only (the outbox); the viewer hears
            // `stream:moderated` below.
            s.streams.sanction(&sanction, Box::new(move |_| banned.map(Into::into))).await?;
            true
        } else {
            s.streams.lift_sanction(&stream.id, user_id, action.kind()).await?
        };
        if action == SanctionAction::Ban {
            for connection in s.board.connections_of(&stream.id, user_id) {
                drop_connection(s, &stream.id, &connection).await;
            }
            // The board knows this node's connections only; the others drop theirs.
            s.board.banned(&stream.id, user_id);
        }
        if changed {
            let notice = LiveEvent::Moderated { stream_id: stream.id.clone(), action, until, reason };
            s.events.emit(Audience::Room(Room::User(user_id.to_owned())), notice.into()).await;
        }
        Ok(SanctionApplied { stream_id: stream.id, user_id: user_id.to_owned(), action, until, changed })
    }
}
