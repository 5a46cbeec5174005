//! Follows and follower feeds (PROTOCOL.md §5). A creator's new content sends
//! `feed:refresh` to every follower who subscribed their feed; the fan-out runs in
//! the background in pages, so a creator with 100,000 followers stalls nobody.

use std::sync::Arc;

use serde::Serialize;

use super::error::{DomainError, DomainResult};
use super::events::SocialEvent;
use super::model::{ContentItem, UserSummary};
use super::text::valid_id;
use super::time::Timestamp;
use super::users::UserDirectory;
use crate::lifecycle::{Stage, Tasks};
use crate::ports::events::EventSink;
use crate::ports::publisher::{Audience, ConnectionId, EventPublisher, Room};
use crate::ports::outbox::{Tells, Told};
use crate::ports::social_store::FollowStore;

/// Followers addressed per fan-out step.
const FAN_OUT_PAGE: u32 = 1000;
/// Largest page of a follower list.
pub const MAX_LIST: u32 = 200;

/// A page of followers or followees.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserPage {
    pub users: Vec<UserSummary>,
    /// Pass as `after` for the next page.
    pub next_cursor: Option<String>,
}

/// Follows and feeds.
pub struct FollowService {
    store: Arc<dyn FollowStore>,
    users: Arc<UserDirectory>,
    /// Joins and leaves of `feed:` rooms.
    publisher: Arc<dyn EventPublisher>,
    /// Where feed refreshes and new follows go.
    events: Arc<dyn EventSink>,
    /// Where fan-outs run, so shutdown stops them with the other publishers.
    tasks: Arc<Tasks>,
}

impl FollowService {
    pub fn new(
        store: Arc<dyn FollowStore>,
        users: Arc<UserDirectory>,
        publisher: Arc<dyn EventPublisher>,
        events: Arc<dyn EventSink>,
        tasks: Arc<Tasks>,
    ) -> Self {
        Self { store, users, publisher, events, tasks }
    }

    /// `POST /api/users/{id}/follow`; the followed user is notified once.
    pub async fn follow(&self, follower: &str, followee: &str) -> DomainResult<bool> {
        let followee = valid_id("userId", followee)?;
        if follower == followee {
            return Err(DomainError::bad_request("you cannot follow yourself"));
        }
        let now = Timestamp::now();
        let (who, whom) = (follower.to_owned(), followee.to_owned());
        let tells: Tells<bool> =
            Box::new(move |created| created.then(|| SocialEvent::Followed { follower: who, followee: whom, at: now }.into()));
        let Told { outcome: created, event } = self.store.follow(follower, followee, now, tells).await?;
        if let Some(followed) = event {
            self.events.emit(Audience::Room(Room::User(followee.to_owned())), followed).await;
        }
        Ok(created)
    }

    pub async fn unfollow(&self, follower: &str, followee: &str) -> DomainResult<bool> {
        let followee = valid_id("userId", followee)?;
        Ok(self.store.unfollow(follower, followee).await?)
    }

    pub async fn is_following(&self, follower: &str, followee: &str) -> DomainResult<bool> {
        Ok(self.store.is_following(follower, followee).await?)
    }

    /// Followers (`followers = true`) or followees of a user, by id.
    pub async fn list(&self, user_id: &str, followers: bool, after: Option<&str>, limit: Option<u32>) -> DomainResult<UserPage> {
        let user_id = valid_id("userId", user_id)?;
        if let Some(a) = after {
            valid_id("after", a)?;
        }
        let limit = match limit {
            None => 50,
            Some(l) if (1..=MAX_LIST).contains(&l) => l,
            Some(_) => return Err(DomainError::bad_request(format!("limit must be 1-{MAX_LIST}"))),
        };
        let users = if followers {
            self.store.followers(user_id, after, limit + 1).await?
        } else {
            self.store.following(user_id, after, limit + 1).await?
        };
        let has_more = users.len() > limit as usize;
        let users: Vec<UserSummary> = users.into_iter().take(limit as usize).collect();
        let next_cursor = if has_more { users.last().map(|u| u.id.clone()) } else { None };
        Ok(UserPage { users, next_cursor })
    }

    /// `feed:subscribe`: this connection receives the user's `feed:refresh` events.
    pub fn subscribe(&self, user_id: &str, connection: &ConnectionId) {
        self.publisher.join(connection, Room::Feed(user_id.to_owned()));
    }

    pub fn unsubscribe(&self, user_id: &str, connection: &ConnectionId) {
        self.publisher.leave(connection, Room::Feed(user_id.to_owned()));
    }

    /// Tells the creator's followers about new content; returns how many followers
    /// the refresh is addressed to (delivered to those subscribed and online).
    pub async fn announce_new_content(&self, item: &ContentItem) -> DomainResult<i64> {
        let Some(creator) = item.owner_id.clone() else {
            return Err(DomainError::bad_request("content without an owner has no followers to notify"));
        };
        let followers = self.store.follower_count(&creator).await?;
        let published = SocialEvent::NewContentPublished {
            content_id: item.id.clone(),
            content_type: item.content_type.clone(),
            title: item.title.clone(),
            creator: self.users.summary(&creator).await?,
            at: Timestamp::now(),
        };
        let (store, events) = (self.store.clone(), self.events.clone());
        self.tasks.spawn(Stage::Publishers, "feed fan-out", fan_out(store, events, creator, published));
        Ok(followers)
    }
}

async fn fan_out(store: Arc<dyn FollowStore>, events: Arc<dyn EventSink>, creator: String, published: SocialEvent) {
    let mut after: Option<String> = None;
    loop {
        let ids = match store.follower_ids(&creator, after.as_deref(), FAN_OUT_PAGE).await {
            Ok(ids) => ids,
            Err(e) => {
                tracing::warn!(creator = %creator, error = %e, "feed fan-out stopped");
                return;
            }
        };
        let Some(last) = ids.last().cloned() else { return };
        let full_page = ids.len() == FAN_OUT_PAGE as usize;
        let rooms = ids.into_iter().map(Room::Feed).collect();
        events.emit(Audience::Rooms(rooms), published.clone().into()).await;
        if !full_page {
            return;
        }
        after = Some(last);
        tokio::task::yield_now().await;
    }
}
