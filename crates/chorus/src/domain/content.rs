//! Content interactions (PROTOCOL.md §4): joining, likes, comments, views, shares,
//! reactions, typing and watch progress. The socket commands and the REST routes both
//! call these functions; every write is stored before anything is published.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::error::{DomainError, DomainResult};
use super::events::ContentEvent;
use super::events::content::ItemOwner;
use super::live_counts::LiveCounts;
use super::model::{
    Actor,
    Comment, CommentPage, CommentPaging, ContentItem, Counts, Identity, ProgressReport, RankingScope,
};
use super::rankings::Rankings;
use super::text::{short_label, trimmed_text, valid_emoji, valid_id};
use super::time::Timestamp;
use super::typing::{TypingKey, TypingTracker};
use super::users::UserDirectory;
use super::moderation::{Moderation, Post, Surface};
use crate::ports::cluster::ViewerRegistry;
use crate::ports::events::EventSink;
use crate::ports::publisher::{Audience, ConnectionId, EventPublisher, Room};
use crate::ports::outbox::{Tells, Told};
use crate::ports::store::{ContentRegistration, ContentStore, LikeOutcome, NewComment};

/// Rules of the content domain that deployments tune.
#[derive(Debug, Clone)]
pub struct ContentRules {
    /// A viewer's views of one item count once per window.
    pub view_window: Duration,
    /// Longest comment, in characters after trimming.
    pub max_comment_chars: usize,
    /// Type given to an item first seen through an interaction.
    pub default_content_type: String,
    /// Largest page size for comment listings.
    pub max_page_size: u32,
    /// Rooms one connection may watch at once.
    pub max_rooms_per_connection: usize,
}

impl Default for ContentRules {
    fn default() -> Self {
        Self {
            view_window: Duration::from_secs(30 * 60),
            max_comment_chars: 2000,
            default_content_type: "video".into(),
            max_page_size: 100,
            max_rooms_per_connection: 200,
        }
    }
}

/// Ack of `content:join`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Joined {
    pub content_id: String,
    pub content_type: String,
    pub counts: Counts,
    pub viewer_count: u64,
    pub liked_by_me: bool,
}

/// Ack of `content:like`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LikeState {
    pub is_liked: bool,
    pub likes_count: i64,
}

/// Ack of `content:comment`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommentPosted {
    pub comment: Comment,
    pub comments_count: i64,
}

/// Ack of `content:view`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ViewRecorded {
    pub views_count: i64,
    pub counted: bool,
}

/// Ack of `content:share`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ShareRecorded {
    pub shares_count: i64,
}

/// Ack of `comment:react`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ReactionState {
    pub emoji: String,
    pub count: i64,
    pub reacted: bool,
}

/// An item with its counters (`GET /api/content/{id}`).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContentView {
    #[serde(flatten)]
    pub item: ContentItem,
    pub counts: Counts,
    pub viewer_count: u64,
}

/// A watch-progress report as a client sends it (`content:progress`): a position
/// (`watchTime`), or a quality change (`quality`, `buffering`) that may come without one.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProgressInput {
    pub content_id: String,
    #[serde(rename = "watchTime")]
    pub watch_time_sec: Option<f64>,
    #[serde(default)]
    pub completed: bool,
    pub quality: Option<String>,
    pub buffering: Option<Buffering>,
}

/// What a player says of buffering: whether it is buffering now (short-video players
/// send `buffering: false` on a quality change), or the seconds it has spent buffering.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Buffering {
    Now(bool),
    Seconds(f64),
}

impl schemars::JsonSchema for Buffering {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Buffering".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "whether the player is buffering now, or the seconds it spent buffering (0-86400)",
            "type": ["boolean", "number"],
        })
    }
}

impl<'de> Deserialize<'de> for Buffering {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BufferingVisitor;
        impl serde::de::Visitor<'_> for BufferingVisitor {
            type Value = Buffering;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a boolean (buffering now) or a number of seconds")
            }
            fn visit_bool<E>(self, v: bool) -> Result<Buffering, E> {
                Ok(Buffering::Now(v))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Buffering, E> {
                Ok(Buffering::Seconds(v))
            }
            #[allow(clippy::cast_precision_loss)]
            fn visit_i64<E>(self, v: i64) -> Result<Buffering, E> {
                Ok(Buffering::Seconds(v as f64))
            }
            #[allow(clippy::cast_precision_loss)]
            fn visit_u64<E>(self, v: u64) -> Result<Buffering, E> {
                Ok(Buffering::Seconds(v as f64))
            }
        }
        deserializer.deserialize_any(BufferingVisitor)
    }
}

/// Longest watch time one report may claim (a day).
const MAX_WATCH_TIME_SEC: f64 = 86_400.0;

/// The content service.
pub struct ContentService {
    store: Arc<dyn ContentStore>,
    users: Arc<UserDirectory>,
    viewers: Arc<dyn ViewerRegistry>,
    publisher: Arc<dyn EventPublisher>,
    events: Arc<dyn EventSink>,
    counts: Arc<LiveCounts>,
    rankings: Arc<Rankings>,
    typing: Arc<TypingTracker>,
    moderation: Arc<Moderation>,
    rules: ContentRules,
}

impl ContentService {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        store: Arc<dyn ContentStore>,
        users: Arc<UserDirectory>,
        viewers: Arc<dyn ViewerRegistry>,
        publisher: Arc<dyn EventPublisher>,
        events: Arc<dyn EventSink>,
        counts: Arc<LiveCounts>,
        rankings: Arc<Rankings>,
        typing: Arc<TypingTracker>,
        moderation: Arc<Moderation>,
        rules: ContentRules,
    ) -> Self {
        Self { store, users, viewers, publisher, events, counts, rankings, typing, moderation, rules }
    }

    pub fn rules(&self) -> &ContentRules {
        &self.rules
    }

    /// Registers an item for its owner (server API, or a creator registering their own).
    pub async fn register(&self, id: Option<&str>, content_type: &str, owner_id: Option<&str>, title: Option<&str>) -> DomainResult<ContentItem> {
        let id = match id {
            Some(id) => valid_id("id", id)?.to_owned(),
            None => uuid::Uuid::now_v7().to_string(),
        };
        let content_type = valid_id("type", content_type)?;
        if let Some(owner) = owner_id {
            valid_id("ownerId", owner)?;
        }
        let title = short_label("title", title, 300)?;
        if let Some(existing) = self.store.content(&id).await? {
            // A creator registers new ids or their own items; an item that already exists
            // without an owner (created by interactions) is the backend's to assign.
            if existing.owner_id.as_deref() != owner_id {
                return Err(DomainError::conflict("content already exists and is not yours"));
            }
        }
        let item = self
            .store
            .register_content(&ContentRegistration {
                id,
                content_type: content_type.to_owned(),
                owner_id: owner_id.map(str::to_owned),
                title,
            })
            .await?;
        self.rankings.mark_changed(ranking_scopes(&item));
        Ok(item)
    }

    /// Registration by the app backend: authoritative, may change the owner.
    pub async fn register_as_backend(&self, id: &str, content_type: &str, owner_id: Option<&str>, title: Option<&str>) -> DomainResult<ContentItem> {
        let id = valid_id("id", id)?;
        let content_type = valid_id("type", content_type)?;
        if let Some(owner) = owner_id {
            valid_id("ownerId", owner)?;
        }
        let title = short_label("title", title, 300)?;
        let item = self
            .store
            .register_content(&ContentRegistration {
                id: id.to_owned(),
                content_type: content_type.to_owned(),
                owner_id: owner_id.map(str::to_owned),
                title,
            })
            .await?;
        self.rankings.mark_changed(ranking_scopes(&item));
        Ok(item)
    }

    /// An item with its counters; unknown ids are `not_found`.
    pub async fn get(&self, id: &str) -> DomainResult<ContentView> {
        valid_id("contentId", id)?;
        let item = self.store.content(id).await?.ok_or_else(|| DomainError::not_found("unknown content"))?;
        let counts = self.store.counts(id).await?;
        Ok(ContentView { viewer_count: self.viewers.viewer_count(id).await, item, counts })
    }

    /// `content:join`: watch an item's room.
    pub async fn join(&self, actor: &Actor, content_id: &str) -> DomainResult<Joined> {
        let content_id = valid_id("contentId", content_id)?;
        let connection = actor.connection.as_ref().ok_or_else(|| DomainError::bad_request("join needs a socket"))?;
        if self.viewers.rooms_of(connection) >= self.rules.max_rooms_per_connection {
            return Err(DomainError::conflict(format!(
                "a connection may watch at most {} items",
                self.rules.max_rooms_per_connection
            )));
        }
        let item = self.store.ensure_content(content_id, &self.rules.default_content_type).await?;
        let counts = self.store.counts(content_id).await?;
        let liked_by_me = self.store.is_liked(content_id, &actor.identity.user_id).await?;
        self.publisher.join(connection, Room::Content(content_id.to_owned()));
        let viewer_count = self.viewers.add_viewer(content_id, &actor.identity.user_id, connection).await;
        self.counts.viewers_changed(content_id);
        Ok(Joined { content_id: item.id, content_type: item.content_type, counts, viewer_count, liked_by_me })
    }

    /// `content:leave`.
    pub async fn leave(&self, actor: &Actor, content_id: &str) -> DomainResult<()> {
        let content_id = valid_id("contentId", content_id)?;
        let connection = actor.connection.as_ref().ok_or_else(|| DomainError::bad_request("leave needs a socket"))?;
        self.publisher.leave(connection, Room::Content(content_id.to_owned()));
        if self.viewers.remove_viewer(content_id, connection).await.is_some() {
            self.counts.viewers_changed(content_id);
        }
        self.stop_typing(actor, content_id).await;
        Ok(())
    }

    /// A closed connection leaves every room it watched.
    pub async fn connection_closed(&self, connection: &ConnectionId) {
        for (room_key, _) in self.viewers.remove_connection(connection).await {
            // The registry also counts stream viewers under "stream {id}" (a space never
            // occurs in a content id); those are the live service's to announce.
            if !room_key.contains(' ') {
                self.counts.viewers_changed(&room_key);
            }
        }
        for t in self.typing.drop_connection(connection) {
            self.publish_typing(&t.place, &t.user, false, &t.connection).await;
        }
        self.rankings.drop_connection(connection);
    }

    /// `content:like`: `like = None` toggles. Idempotent: a repeated like changes nothing
    /// and broadcasts nothing.
    pub async fn like(&self, actor: &Actor, content_id: &str, like: Option<bool>) -> DomainResult<LikeState> {
        let content_id = valid_id("contentId", content_id)?;
        let item = self.store.ensure_content(content_id, &self.rules.default_content_type).await?;
        let user_id = &actor.identity.user_id;
        let now = Timestamp::now();
        let scopes = ranking_scopes(&item);
        let (id, user, owner) = (content_id.to_owned(), user_id.clone(), owner_of(item));
        let tells: Tells<LikeOutcome> = Box::new(move |outcome| {
            outcome.changed.then(|| {
                let liked = ContentEvent::LikeToggled {
                    content_id: id,
                    user_id: user,
                    is_liked: outcome.is_liked,
                    likes_count: outcome.counts.likes,
                    at: now,
                    item: owner,
                };
                liked.into()
            })
        });
        let Told { outcome, event } = self.store.set_like(content_id, user_id, like, now, tells).await?;
        if let Some(liked) = event {
            self.rankings.mark_changed(scopes);
            self.events.emit(Audience::Room(Room::Content(content_id.to_owned())), liked).await;
            self.counts.counts_changed(content_id);
        }
        Ok(LikeState { is_liked: outcome.is_liked, likes_count: outcome.counts.likes })
    }

    /// `content:comment`: a comment or, with `parent_id`, a reply.
    pub async fn comment(&self, actor: &Actor, content_id: &str, text: &str, parent_id: Option<&str>) -> DomainResult<CommentPosted> {
        self.moderation.ensure_may_post(&actor.identity.user_id)?;
        let content_id = valid_id("contentId", content_id)?;
        let text = trimmed_text("text", text, self.rules.max_comment_chars)?;
        let post = Post { surface: Surface::Comment, place: content_id, author: &actor.identity.user_id };
        self.moderation.guard(post, &text).await?;
        let mut parent_author = None;
        if let Some(parent) = parent_id {
            valid_id("parentId", parent)?;
            let parent = self.store.comment(parent).await?.ok_or_else(|| DomainError::not_found("unknown parent comment"))?;
            if parent.content_id != content_id {
                return Err(DomainError::bad_request("parent comment belongs to other content"));
            }
            parent_author = Some(parent.user.id);
        }
        let item = self.store.ensure_content(content_id, &self.rules.default_content_type).await?;
        let now = Timestamp::now();
        let new = NewComment {
            id: uuid::Uuid::now_v7().to_string(),
            content_id: content_id.to_owned(),
            parent_id: parent_id.map(str::to_owned),
            author_id: actor.identity.user_id.clone(),
            text,
            at: now,
        };
        let owner = owner_of(item);
        let tells: Tells<(Comment, Counts)> = Box::new(move |(comment, counts)| {
            let created =
                ContentEvent::CommentCreated { comment: comment.clone(), comments_count: counts.comments, at: now, item: owner, parent_author };
            Some(created.into())
        });
        let Told { outcome: (comment, counts), event } = self.store.insert_comment(&new, tells).await?;
        if let Some(created) = event {
            self.events.emit(Audience::Room(Room::Content(content_id.to_owned())), created).await;
        }
        self.counts.counts_changed(content_id);
        self.stop_typing(actor, content_id).await;
        Ok(CommentPosted { comment, comments_count: counts.comments })
    }

    /// `content:view`: counted once per viewer per item per window. `viewer_key` is the
    /// user id, or an address-derived key for guests.
    pub async fn view(&self, viewer_key: &str, content_id: &str) -> DomainResult<ViewRecorded> {
        let content_id = valid_id("contentId", content_id)?;
        self.store.ensure_content(content_id, &self.rules.default_content_type).await?;
        let now = Timestamp::now();
        let window_start = now.plus_millis(-(self.rules.view_window.as_millis() as i64));
        let outcome = self.store.record_view(content_id, viewer_key, now, window_start).await?;
        if outcome.counted {
            self.counts.view_counted(content_id);
        }
        Ok(ViewRecorded { views_count: outcome.counts.views, counted: outcome.counted })
    }

    /// `content:share`.
    pub async fn share(&self, actor: &Actor, content_id: &str, channel: Option<&str>) -> DomainResult<ShareRecorded> {
        let content_id = valid_id("contentId", content_id)?;
        let channel = short_label("channel", channel, 64)?;
        self.store.ensure_content(content_id, &self.rules.default_content_type).await?;
        let now = Timestamp::now();
        let (id, user) = (content_id.to_owned(), actor.identity.user_id.clone());
        let tells: Tells<Counts> = Box::new(move |counts| {
            Some(ContentEvent::ContentShared { content_id: id, user_id: user, shares_count: counts.shares, at: now }.into())
        });
        let Told { outcome: counts, event } = self.store.record_share(content_id, &actor.identity.user_id, channel.as_deref(), now, tells).await?;
        if let Some(shared) = event {
            self.events.emit(Audience::Room(Room::Content(content_id.to_owned())), shared).await;
        }
        self.counts.counts_changed(content_id);
        Ok(ShareRecorded { shares_count: counts.shares })
    }

    /// `content:progress`: stored for analytics, published to nobody.
    pub async fn progress(&self, actor: &Actor, input: ProgressInput) -> DomainResult<()> {
        let content_id = valid_id("contentId", &input.content_id)?;
        let quality_change = input.quality.is_some() || input.buffering.is_some();
        let watch_time_sec = match input.watch_time_sec {
            Some(t) if t.is_finite() && (0.0..=MAX_WATCH_TIME_SEC).contains(&t) => t,
            Some(_) => return Err(DomainError::bad_request("watchTime must be between 0 and 86400 seconds")),
            // A quality change without a position leaves the furthest position as it is.
            None if quality_change && !input.completed => 0.0,
            None => return Err(DomainError::bad_request("watchTime is required (seconds), unless the report is a quality change")),
        };
        let (buffering_sec, buffering_now) = match input.buffering {
            None => (None, None),
            Some(Buffering::Now(now)) => (None, Some(now)),
            Some(Buffering::Seconds(b)) if b.is_finite() && (0.0..=MAX_WATCH_TIME_SEC).contains(&b) => (Some(b), None),
            Some(Buffering::Seconds(_)) => return Err(DomainError::bad_request("buffering must be a boolean or between 0 and 86400 seconds")),
        };
        let quality = short_label("quality", input.quality.as_deref(), 16)?;
        self.store.ensure_content(content_id, &self.rules.default_content_type).await?;
        self.store
            .record_progress(&ProgressReport {
                content_id: content_id.to_owned(),
                viewer_id: actor.identity.user_id.clone(),
                watch_time_sec,
                completed: input.completed,
                quality,
                buffering_sec,
                buffering_now,
                at: Timestamp::now(),
            })
            .await?;
        Ok(())
    }

    /// Engagement analytics: the owner (or, with `None`, the app backend) reads them.
    pub async fn analytics(&self, reader: Option<&Identity>, content_id: &str) -> DomainResult<super::model::ContentAnalytics> {
        let content_id = valid_id("contentId", content_id)?;
        let item = self.store.content(content_id).await?.ok_or_else(|| DomainError::not_found("unknown content"))?;
        if let Some(who) = reader
            && item.owner_id.as_deref() != Some(who.user_id.as_str()) && !who.is_moderator() {
                return Err(DomainError::forbidden("only the owner reads an item's analytics"));
            }
        Ok(self.store.analytics(content_id).await?)
    }

    /// `comment:react`: `on = None` toggles.
    pub async fn react(&self, actor: &Actor, comment_id: &str, emoji: &str, on: Option<bool>) -> DomainResult<ReactionState> {
        let comment_id = valid_id("commentId", comment_id)?;
        let emoji = valid_emoji(emoji)?;
        let comment = self.store.comment(comment_id).await?.ok_or_else(|| DomainError::not_found("unknown comment"))?;
        let outcome = self
            .store
            .set_comment_reaction(comment_id, &actor.identity.user_id, emoji, on, Timestamp::now())
            .await?;
        let content_type = self.store.content(&comment.content_id).await?.map(|item| item.content_type);
        let reacted = ContentEvent::CommentReacted {
            content_id: comment.content_id.clone(),
            content_type,
            comment_id: comment_id.to_owned(),
            emoji: emoji.to_owned(),
            user_id: actor.identity.user_id.clone(),
            count: outcome.count,
        };
        self.events.emit(Audience::Room(Room::Content(comment.content_id.clone())), reacted.into()).await;
        Ok(ReactionState { emoji: emoji.to_owned(), count: outcome.count, reacted: outcome.reacted })
    }

    /// `comment:edit`: the author only.
    pub async fn edit_comment(&self, actor: &Actor, comment_id: &str, text: &str) -> DomainResult<Comment> {
        self.moderation.ensure_may_post(&actor.identity.user_id)?;
        let comment_id = valid_id("commentId", comment_id)?;
        let text = trimmed_text("text", text, self.rules.max_comment_chars)?;
        let comment = self.store.comment(comment_id).await?.ok_or_else(|| DomainError::not_found("unknown comment"))?;
        if comment.user.id != actor.identity.user_id {
            return Err(DomainError::forbidden("only the author edits a comment"));
        }
        let post = Post { surface: Surface::Comment, place: &comment.content_id, author: &actor.identity.user_id };
        self.moderation.guard(post, &text).await?;
        let edited = self
            .store
            .edit_comment(comment_id, &text, Timestamp::now())
            .await?
            .ok_or_else(|| DomainError::not_found("unknown comment"))?;
        self.events.emit(Audience::Room(Room::Content(edited.content_id.clone())), ContentEvent::CommentEdited { comment: edited.clone() }.into()).await;
        Ok(edited)
    }

    /// `comment:delete`: the author, the content's owner or a moderator.
    pub async fn delete_comment(&self, actor: &Actor, comment_id: &str) -> DomainResult<()> {
        let comment_id = valid_id("commentId", comment_id)?;
        let comment = self.store.comment(comment_id).await?.ok_or_else(|| DomainError::not_found("unknown comment"))?;
        let who = &actor.identity;
        let is_owner = self
            .store
            .content(&comment.content_id)
            .await?
            .and_then(|c| c.owner_id)
            .is_some_and(|o| o == who.user_id);
        if comment.user.id != who.user_id && !is_owner && !who.is_moderator() {
            return Err(DomainError::forbidden("only the author, the owner or a moderator deletes a comment"));
        }
        let (content_id, id) = (comment.content_id.clone(), comment_id.to_owned());
        let tells: Tells<Option<Counts>> = Box::new(move |counts| {
            counts.map(|counts| ContentEvent::CommentDeleted { content_id, comment_id: id, comments_count: counts.comments }.into())
        });
        let Told { event, .. } = self.store.delete_comment(comment_id, Timestamp::now(), tells).await?;
        let deleted = event.ok_or_else(|| DomainError::not_found("unknown comment"))?;
        self.events.emit(Audience::Room(Room::Content(comment.content_id.clone())), deleted).await;
        self.counts.counts_changed(&comment.content_id);
        Ok(())
    }

    /// `comment:typing`: announced to the room except the sender; expires by itself.
    pub async fn typing(&self, actor: &Actor, content_id: &str, typing: bool) -> DomainResult<()> {
        let content_id = valid_id("contentId", content_id)?;
        let connection = actor.connection.as_ref().ok_or_else(|| DomainError::bad_request("typing needs a socket"))?;
        let user = self.users.summary(&actor.identity.user_id).await?;
        let key = TypingKey { place: content_id.to_owned(), user_id: actor.identity.user_id.clone() };
        if self.typing.set(key, user.clone(), connection.clone(), typing) {
            self.publish_typing(content_id, &user, typing, connection).await;
        }
        Ok(())
    }

    /// Ends the typing indicators that ran out (called by the tick task).
    pub async fn expire_typing(&self) {
        for t in self.typing.expire(std::time::Instant::now()) {
            self.publish_typing(&t.place, &t.user, false, &t.connection).await;
        }
    }

    async fn stop_typing(&self, actor: &Actor, content_id: &str) {
        let Some(connection) = &actor.connection else { return };
        let key = TypingKey { place: content_id.to_owned(), user_id: actor.identity.user_id.clone() };
        let placeholder = super::model::UserSummary::unknown(&actor.identity.user_id);
        if self.typing.set(key, placeholder, connection.clone(), false) {
            let user = match self.users.summary(&actor.identity.user_id).await {
                Ok(user) => user,
                Err(_) => super::model::UserSummary::unknown(&actor.identity.user_id),
            };
            self.publish_typing(content_id, &user, false, connection).await;
        }
    }

    async fn publish_typing(&self, content_id: &str, user: &super::model::UserSummary, typing: bool, except: &ConnectionId) {
        // A typing indicator goes out even when the item's type cannot be read.
        let content_type = self.store.content(content_id).await.ok().flatten().map(|item| item.content_type);
        let event = ContentEvent::CommentTyping { content_id: content_id.to_owned(), content_type, user: user.clone(), typing };
        self.events.emit(Audience::RoomExcept(Room::Content(content_id.to_owned()), except.clone()), event.into()).await;
    }

    /// Comments of an item (or replies of a comment), newest first.
    pub async fn comments(&self, content_id: &str, parent_id: Option<&str>, paging: CommentPaging) -> DomainResult<CommentPage> {
        let content_id = valid_id("contentId", content_id)?;
        if let Some(p) = parent_id {
            valid_id("parentId", p)?;
        }
        let max = self.rules.max_page_size;
        let paging = match paging {
            CommentPaging::Page { page, limit } => {
                if page == 0 || page > 1_000_000 || limit == 0 || limit > max {
                    return Err(DomainError::bad_request(format!("page must be >= 1 and limit 1-{max}")));
                }
                CommentPaging::Page { page, limit }
            }
            CommentPaging::Before { cursor, limit } => {
                if limit == 0 || limit > max {
                    return Err(DomainError::bad_request(format!("limit must be 1-{max}")));
                }
                if let Some(c) = &cursor {
                    valid_id("before", c)?;
                }
                CommentPaging::Before { cursor, limit }
            }
        };
        Ok(self.store.comments(content_id, parent_id, &paging).await?)
    }
}

/// Whose `item` is, as its events tell it.
fn owner_of(item: ContentItem) -> ItemOwner {
    ItemOwner { owner_id: item.owner_id, content_type: item.content_type }
}

fn ranking_scopes(item: &ContentItem) -> Vec<RankingScope> {
    let mut scopes = vec![RankingScope::ContentType(item.content_type.clone())];
    if let Some(owner) = &item.owner_id {
        scopes.push(RankingScope::Owner(owner.clone()));
    }
    scopes
}
