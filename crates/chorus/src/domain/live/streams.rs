//! Streams: creation, the owner's status changes and slow mode, joining and leaving
//! (viewer counts go out through the board), and like taps.

use std::sync::Arc;

use serde::Serialize;

use super::battles::BattleService;
use super::board::viewer_key;
use super::model::{Battle, CatalogItem, Stream, StreamStatus, Throne};
use super::throne::{OgStanding, throne_of};
use super::{Shared, ended};
use crate::domain::model::Actor;
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::events::LiveEvent;
use crate::domain::text::{trimmed_text, valid_id};
use crate::domain::time::Timestamp;
use crate::ports::live_store::NewStream;
use crate::ports::outbox::{Tells, Told};
use crate::ports::publisher::{Audience, ConnectionId, Room};

/// Ack of `stream:join`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StreamJoined {
    pub stream: Stream,
    pub viewer_count: u64,
    pub throne: Option<Throne>,
    pub battle: Option<Battle>,
    pub gifts: Vec<CatalogItem>,
    /// The joining viewer's OG standing with this creator.
    pub og: OgStanding,
}

/// A stream with its live figures (`GET /api/streams/{id}`).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StreamView {
    pub stream: Stream,
    pub viewer_count: u64,
    pub throne: Option<Throne>,
    pub battle: Option<Battle>,
}

/// A row of the live stream list.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListedStream {
    #[serde(flatten)]
    pub stream: Stream,
    pub viewer_count: u64,
}

/// Ack of `stream:like`.
#[derive(Debug, Clone, Copy, Serialize, schemars::JsonSchema)]
pub struct Likes {
    pub likes: i64,
}

/// The stream service.
pub struct StreamService {
    shared: Arc<Shared>,
    battles: Arc<BattleService>,
}

impl StreamService {
    pub fn new(shared: Arc<Shared>, battles: Arc<BattleService>) -> Self {
        Self { shared, battles }
    }

    /// `POST /api/streams`: a new stream owned by the caller, `idle` until it goes live.
    pub async fn create(&self, actor: &Actor, title: &str) -> DomainResult<Stream> {
        if actor.identity.guest {
            return Err(DomainError::unauthorized("guests cannot create streams"));
        }
        let title = trimmed_text("title", title, self.shared.rules.max_title_chars)?;
        let stream = self
            .shared
            .streams
            .create_stream(&NewStream {
                id: uuid::Uuid::now_v7().to_string(),
                owner_id: actor.identity.user_id.clone(),
                title,
                at: Timestamp::now(),
            })
            .await?;
        Ok(stream)
    }

    /// A stream with its viewer count, throne and battle.
    pub async fn get(&self, stream_id: &str) -> DomainResult<StreamView> {
        let stream = self.shared.stream_or_404(stream_id).await?;
        let throne = throne_of(&self.shared, &stream).await?;
        let battle = self.battles.current(&stream).await?;
        let viewer_count = self.shared.viewers.viewer_count(&viewer_key(&stream.id)).await;
        Ok(StreamView { stream, viewer_count, throne, battle })
    }

    /// Streams that are live or paused, newest first.
    pub async fn list_live(&self, limit: Option<i64>) -> DomainResult<Vec<ListedStream>> {
        let max = self.shared.rules.max_page_size;
        let limit = match limit {
            None => 50,
            Some(l) if (1..=i64::from(max)).contains(&l) => l as u32,
            Some(_) => return Err(DomainError::bad_request(format!("limit must be 1-{max}"))),
        };
        let streams = self.shared.streams.streams_with_status(&[StreamStatus::Live, StreamStatus::Paused], limit).await?;
        let keys: Vec<String> = streams.iter().map(|stream| viewer_key(&stream.id)).collect();
        let counts = self.shared.viewers.viewer_counts(&keys).await;
        Ok(streams.into_iter().zip(counts).map(|(stream, viewer_count)| ListedStream { viewer_count, stream }).collect())
    }

    /// `stream:status`: the owner alone moves a stream between `live` and `paused`, or
    /// ends it. An ended stream stays ended. The same status again changes nothing.
    pub async fn set_status(&self, actor: &Actor, stream_id: &str, status: &str) -> DomainResult<Stream> {
        let target = StreamStatus::parse(status)
            .filter(|s| *s != StreamStatus::Idle)
            .ok_or_else(|| DomainError::bad_request("status must be live, paused or ended"))?;
        let s = &self.shared;
        let stream = s.stream_or_404(stream_id).await?;
        if stream.owner_id != actor.identity.user_id {
            return Err(DomainError::forbidden("only the stream's owner changes its status"));
        }
        if stream.status == StreamStatus::Ended {
            return Err(ended());
        }
        if stream.status == target {
            return Ok(stream);
        }
        let now = Timestamp::now();
        let tells: Tells<Option<Stream>> =
            Box::new(move |updated| updated.as_ref().map(|u| LiveEvent::StatusChanged { stream_id: u.id.clone(), status: target, at: now }.into()));
        let Told { outcome, event } = s.streams.set_status(&stream.id, target, now, tells).await?;
        let updated = outcome.ok_or_else(ended)?;
        if let Some(changed) = event {
            s.events.emit(Audience::Room(Room::Stream(updated.id.clone())), changed).await;
        }
        if target == StreamStatus::Ended {
            self.battles.stream_ended(&updated).await;
            let last = s.board.finish(&updated, s.viewers.as_ref()).await;
            s.to_stream(&updated.id, LiveEvent::FinalMetrics { metrics: last }).await;
        } else {
            s.board.track(&updated);
        }
        Ok(updated)
    }

    /// `stream:slow_mode`: the owner or a moderator limits each viewer to one message
    /// per `seconds` (0 turns it off).
    pub async fn set_slow_mode(&self, actor: &Actor, stream_id: &str, seconds: i64) -> DomainResult<Stream> {
        let seconds = self.shared.rules.slow_mode(seconds)?;
        let s = &self.shared;
        let stream = s.open_stream(stream_id).await?;
        if stream.owner_id != actor.identity.user_id && !actor.identity.is_moderator() {
            return Err(DomainError::forbidden("only the owner or a moderator sets slow mode"));
        }
        let updated = s.streams.set_slow_mode(&stream.id, seconds).await?.ok_or_else(ended)?;
        s.to_stream(&updated.id, LiveEvent::SlowModeSet { stream_id: updated.id.clone(), seconds }).await;
        Ok(updated)
    }

    /// `stream:join`: watch a stream that has not ended; banned viewers are refused.
    pub async fn join(&self, actor: &Actor, stream_id: &str) -> DomainResult<StreamJoined> {
        let connection = actor.connection.as_ref().ok_or_else(|| DomainError::bad_request("join needs a socket"))?;
        let s = &self.shared;
        let stream = s.open_stream(stream_id).await?;
        let me = &actor.identity.user_id;
        if *me != stream.owner_id {
            let sanctions = s.streams.sanctions(&stream.id, me, Timestamp::now()).await?;
            if sanctions.banned.is_some() {
                return Err(DomainError::forbidden("you are banned from this stream"));
            }
        }
        let key = viewer_key(&stream.id);
        let max = s.rules.max_rooms_per_connection;
        if s.viewers.rooms_of(connection) >= max && s.board.connections_of(&stream.id, me).iter().all(|c| c != connection) {
            return Err(DomainError::conflict(format!("a connection may watch at most {max} rooms")));
        }
        // Everything the ack needs is read before joining: a failed read joins nothing.
        let throne = throne_of(s, &stream).await?;
        let battle = self.battles.current(&stream).await?;
        let og = OgStanding::of(s, &stream.owner_id, me).await?;
        let viewer = s.users.summary(me).await?;
        // A viewer is new when none of their connections here watched already (a
        // second tab, or the same socket joining again, tells nobody).
        let newcomer = s.board.connections_of(&stream.id, me).is_empty();
        s.publisher.join(connection, Room::Stream(stream.id.clone()));
        let viewer_count = s.viewers.add_viewer(&key, me, connection).await;
        s.board.joined(&stream, connection.clone(), me.clone());
        if newcomer && viewer_count <= s.rules.max_viewers_notified {
            s.to_stream(&stream.id, LiveEvent::ViewerJoined { stream_id: stream.id.clone(), viewer, viewer_count }).await;
        }
        Ok(StreamJoined { gifts: s.catalog.items().to_vec(), stream, viewer_count, throne, battle, og })
    }

    /// `stream:leave`.
    pub async fn leave(&self, actor: &Actor, stream_id: &str) -> DomainResult<()> {
        let stream_id = valid_id("streamId", stream_id)?;
        let connection = actor.connection.as_ref().ok_or_else(|| DomainError::bad_request("leave needs a socket"))?;
        self.drop_connection(stream_id, connection).await;
        Ok(())
    }

    /// Takes one connection out of a stream room (a leave, or a ban).
    pub(crate) async fn drop_connection(&self, stream_id: &str, connection: &ConnectionId) {
        drop_connection(&self.shared, stream_id, connection).await;
    }

    /// A socket closed: it stops watching every stream it watched.
    pub async fn connection_closed(&self, connection: &ConnectionId) {
        connection_closed(&self.shared, connection).await;
    }

    /// `stream:like`: taps (1 to the configured cap) add to the stream's likes; the
    /// total goes out in `metrics:update`.
    pub async fn like(&self, actor: &Actor, stream_id: &str, count: Option<i64>) -> DomainResult<Likes> {
        let n = self.shared.rules.like_count(count)?;
        let stream_id = valid_id("streamId", stream_id)?;
        // A viewer banned from the stream taps nothing into it either.
        if self.shared.streams.sanctions(stream_id, &actor.identity.user_id, Timestamp::now()).await?.banned.is_some() {
            return Err(DomainError::forbidden("you are banned from this stream"));
        }
        match self.shared.streams.add_likes(stream_id, n).await? {
            Some(total) => {
                self.shared.board.liked(stream_id, total);
                Ok(Likes { likes: total })
            }
            // Unknown or ended: say which.
            None => Err(self.shared.open_stream(stream_id).await.err().unwrap_or_else(ended)),
        }
    }
}

/// Takes one connection out of a stream room and its viewer count.
pub(crate) async fn drop_connection(shared: &Shared, stream_id: &str, connection: &ConnectionId) {
    shared.publisher.leave(connection, Room::Stream(stream_id.to_owned()));
    let viewer_count = shared.viewers.remove_viewer(&viewer_key(stream_id), connection).await;
    let user = shared.board.left(stream_id, connection);
    if let (Some(viewer_count), Some(user_id)) = (viewer_count, user) {
        viewer_gone(shared, stream_id, user_id, viewer_count).await;
    }
}

/// A closed connection left every stream room it watched here (the viewer registry
/// has already forgotten it: see `ContentService::connection_closed`).
pub(crate) async fn connection_closed(shared: &Shared, connection: &ConnectionId) {
    for (stream_id, user_id) in shared.board.closed(connection) {
        let viewer_count = shared.viewers.viewer_count(&viewer_key(&stream_id)).await;
        viewer_gone(shared, &stream_id, user_id, viewer_count).await;
    }
}

/// Tells the stream room that `user_id` left, when it was their last connection here
/// and the audience, counted before they left, is small enough to be told.
async fn viewer_gone(shared: &Shared, stream_id: &str, user_id: String, viewer_count: u64) {
    if !shared.board.connections_of(stream_id, &user_id).is_empty() || viewer_count >= shared.rules.max_viewers_notified {
        return;
    }
    shared.to_stream(stream_id, LiveEvent::ViewerLeft { stream_id: stream_id.to_owned(), user_id, viewer_count }).await;
}
