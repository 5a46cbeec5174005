//! Commands of notifications, feeds, presence and live location (PROTOCOL.md §5, §6,
//! §8, §10): `notifications:*`, `feed:*`, `presence:*` and `location:*`.

use serde::Deserialize;

use super::payload::NoArguments;
use crate::domain::location::PositionInput;

command_table! {
    /// A command of notifications, feeds, presence or live location.
    pub enum SocialCommand, kind SocialKind {
        /// A page of one's notifications.
        "notifications:list" => ListNotifications(ListNotifications) [Commands],
        /// Mark notifications read.
        "notifications:read" => ReadNotifications(ReadNotifications) [Commands],
        /// Receive the feed of the users one follows.
        "feed:subscribe" => SubscribeFeed(NoArguments) [Joins, joins_room],
        /// Stop receiving the feed.
        "feed:unsubscribe" => UnsubscribeFeed(NoArguments) [Commands],
        /// Announce one's new content to one's followers.
        "feed:new_content" => NewContent(NewContent) [Commands],
        /// Set one's presence status.
        "presence:set" => SetPresence(SetPresence) [Presence],
        /// Watch the presence of users.
        "presence:subscribe" => SubscribePresence(PresenceTargets) [Joins, joins_room],
        /// Stop watching the presence of users.
        "presence:unsubscribe" => UnsubscribePresence(PresenceTargets) [Presence],
        /// Share one's position with a chat room.
        "location:share" => ShareLocation(PositionInput) [Chat],
        /// Stop sharing one's position.
        "location:stop" => StopLocation(StopSharing) [Commands],
    }
}

/// `notifications:list`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListNotifications {
    /// The cursor: notifications older than this one.
    pub before: Option<String>,
    pub limit: Option<i64>,
    #[serde(default)]
    pub unread_only: bool,
}

/// `notifications:read`.
#[derive(Debug, Deserialize)]
pub struct ReadNotifications {
    pub ids: Option<Vec<String>>,
    /// Every notification, whatever `ids` says.
    #[serde(default)]
    pub all: bool,
}

/// `feed:new_content`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewContent {
    pub content_id: String,
    pub content_type: String,
    pub title: Option<String>,
}

/// `location:stop`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StopSharing {
    pub room_id: String,
}

/// `presence:set`.
#[derive(Debug, Deserialize)]
pub struct SetPresence {
    pub status: String,
}

/// `presence:subscribe` and `presence:unsubscribe`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PresenceTargets {
    pub user_ids: Vec<String>,
}
