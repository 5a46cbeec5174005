//! Stream chat: a message passes the sanctions (banned, muted), the per-viewer rate
//! limit (a burst, then a steady rate, per stream), slow mode and moderation, is
//! stored, then shown to the room. A blocked message is stored nowhere visible: its
//! author gets a strike, a warning, and at the strike limit a mute in that stream.
//! The rate limit is one bucket per viewer and stream in the limits port (in Redis in
//! cluster mode) and slow mode is kept in the store, so a viewer has one allowance
//! whatever node (or how many connections) they write from.

use std::sync::Arc;

use serde::Serialize;

use super::model::{Stream, StreamMessage};
use super::{Shared, ended};
use crate::domain::model::Actor;
use crate::domain::error::{DomainError, DomainResult, ErrorCode};
use crate::domain::events::LiveEvent;
use crate::domain::events::live::StrikeWarning;
use crate::domain::moderation::{Post, Severity, Surface, Verdict};
use crate::domain::text::{trimmed_text, valid_id};
use crate::domain::time::Timestamp;
use crate::ports::limits::{LimitClass, RateLimiter};
use crate::ports::live_store::{NewStreamMessage, NewStrike};
use crate::ports::publisher::{Audience, Room};

/// Ack of `stream:chat`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ChatPosted {
    pub message: StreamMessage,
}

/// The stream chat service.
pub struct StreamChat {
    shared: Arc<Shared>,
    limits: Arc<dyn RateLimiter>,
}

impl StreamChat {
    pub fn new(shared: Arc<Shared>, limits: Arc<dyn RateLimiter>) -> Self {
        Self { shared, limits }
    }

    /// `stream:chat`.
    pub async fn send(&self, actor: &Actor, stream_id: &str, text: &str) -> DomainResult<ChatPosted> {
        let s = &self.shared;
        s.moderation.ensure_may_post(&actor.identity.user_id)?;
        let text = trimmed_text("text", text, s.rules.max_chat_chars)?;
        let stream = s.open_stream(stream_id).await?;
        let me = &actor.identity.user_id;
        let now = Timestamp::now();
        let privileged = *me == stream.owner_id || actor.identity.is_moderator();
        if !privileged {
            let sanctions = s.streams.sanctions(&stream.id, me, now).await?;
            if sanctions.banned.is_some() {
                return Err(DomainError::forbidden("you are banned from this stream"));
            }
            if let Some(until) = sanctions.muted {
                let message = match until {
                    Some(t) => format!("you are muted in this stream until {}", t.to_rfc3339()),
                    None => "you are muted in this stream".to_owned(),
                };
                return Err(DomainError::forbidden(message));
            }
        }
        self.take_token(&stream.id, me).await?;
        if !privileged && stream.slow_mode_sec > 0 {
            self.pass_slow_mode(&stream.id, me, now, stream.slow_mode_sec).await?;
        }
        match s.moderation.check(Surface::StreamChat, &text).await {
            Verdict::Allow => {}
            Verdict::Unavailable => return Err(DomainError::unavailable("moderation is unavailable, try again")),
            Verdict::Block { reason, severity } => {
                s.moderation.tell_blocked(Post { surface: Surface::StreamChat, place: &stream.id, author: me }, &reason, severity).await;
                return Err(self.strike(&stream, me, reason, severity, now).await);
            }
        }
        let user = s.users.summary(me).await?;
        let id = uuid::Uuid::now_v7().to_string();
        let stored = s
            .streams
            .insert_message(&NewStreamMessage { id: id.clone(), stream_id: stream.id.clone(), user_id: me.clone(), text: text.clone(), at: now })
            .await?;
        if !stored {
            return Err(ended());
        }
        let message = StreamMessage { id, stream_id: stream.id.clone(), user, text, created_at: now };
        s.to_stream(&stream.id, LiveEvent::ChatMessagePosted { message: message.clone() }).await;
        s.board.chatted(&stream.id);
        Ok(ChatPosted { message })
    }

    /// `stream:chat_delete`: the owner or a moderator hides a message from everyone.
    pub async fn delete(&self, actor: &Actor, stream_id: &str, message_id: &str) -> DomainResult<()> {
        let message_id = valid_id("messageId", message_id)?;
        let s = &self.shared;
        let stream = s.stream_or_404(stream_id).await?;
        if stream.owner_id != actor.identity.user_id && !actor.identity.is_moderator() {
            return Err(DomainError::forbidden("only the owner or a moderator deletes stream messages"));
        }
        if !s.streams.delete_message(&stream.id, message_id, &actor.identity.user_id, Timestamp::now()).await? {
            return Err(DomainError::not_found("unknown message"));
        }
        s.to_stream(&stream.id, LiveEvent::ChatMessageDeleted { stream_id: stream.id.clone(), message_id: message_id.to_owned() }).await;
        Ok(())
    }

    /// One token from the viewer's bucket in this stream. Ids hold no whitespace
    /// (`valid_id`), so a space keeps the subject of two viewers apart.
    async fn take_token(&self, stream_id: &str, user_id: &str) -> DomainResult<()> {
        let subject = format!("{stream_id} {user_id}");
        self.limits.check(LimitClass::StreamChat, &subject).await.map_err(DomainError::rate_limited)
    }

    /// One message per `seconds` per viewer; the slot is taken when the check passes.
    async fn pass_slow_mode(&self, stream_id: &str, user_id: &str, now: Timestamp, seconds: u32) -> DomainResult<()> {
        let every_ms = i64::from(seconds) * 1000;
        match self.shared.streams.take_slow_mode_slot(stream_id, user_id, now, every_ms).await? {
            None => Ok(()),
            Some(free_at) => {
                let wait = free_at.millis().saturating_sub(Timestamp::now().millis());
                Err(DomainError::rate_limited(u64::try_from(wait).unwrap_or(0).max(1)))
            }
        }
    }

    /// Records a strike (durably), warns the author (twice: once more for clients of
    /// the seed platform), and returns the `blocked` error.
    async fn strike(&self, stream: &Stream, user_id: &str, reason: String, severity: Severity, now: Timestamp) -> DomainError {
        let s = &self.shared;
        let rules = &s.rules;
        let outcome = s
            .streams
            .record_strike(&NewStrike {
                id: uuid::Uuid::now_v7().to_string(),
                scope: stream.id.clone(),
                user_id: user_id.to_owned(),
                reason: reason.clone(),
                severity: severity.as_str().to_owned(),
                at: now,
                window_start: now.plus_millis(-(rules.strike_window.as_millis() as i64)),
                limit: rules.strike_limit,
                mute_until: now.plus_millis(rules.strike_mute.as_millis() as i64),
            })
            .await;
        let outcome = match outcome {
            Ok(o) => o,
            Err(e) => return e.into(),
        };
        let warning = StrikeWarning {
            stream_id: stream.id.clone(),
            reason: reason.clone(),
            severity,
            strikes: outcome.strikes,
            strike_limit: rules.strike_limit,
            muted_until: outcome.muted_until,
        };
        let to = Audience::Room(Room::User(user_id.to_owned()));
        s.events.emit(to.clone(), LiveEvent::StrikeWarned { warning: warning.clone() }.into()).await;
        s.events.emit(to, LiveEvent::StrikeWarnedForSeedClients { warning }.into()).await;
        DomainError::new(ErrorCode::Blocked, format!("message blocked: {reason}"))
    }
}
