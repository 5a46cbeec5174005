//! Commands of notifications, feeds, channels, presence and live location (PROTOCOL.md
//! §3, §5, §6, §8, §10): `notifications:*`, `feed:*`, `channel:*`, `presence:*` and
//! `location:*`.

use serde::Deserialize;

use super::acks::{Done, FollowersNotified, UnreadCount};
use crate::domain::location::PositionShared;
use crate::domain::notifications::InboxPage;
use crate::domain::presence::{PresenceStatuses, StatusSet};

use super::payload::NoArguments;
use crate::domain::location::PositionInput;

command_table! {
    /// A command of notifications, feeds, presence or live location.
    pub enum SocialCommand, kind SocialKind, reply SocialReply {
        /// A page of one's notifications.
        "notifications:list" => ListNotifications(ListNotifications) -> InboxPage [Commands],
        /// Mark notifications read.
        "notifications:read" => ReadNotifications(ReadNotifications) -> UnreadCount [Commands],
        /// Receive the feed of the users one follows.
        "feed:subscribe" => SubscribeFeed(NoArguments) -> Done [Joins, joins_room],
        /// Stop receiving the feed.
        "feed:unsubscribe" => UnsubscribeFeed(NoArguments) -> Done [Commands],
        /// Hear what the app's backend sends to a named channel.
        "channel:join" => JoinChannel(ChannelRef) -> Done [Joins, joins_room, guests],
        /// Stop hearing a channel.
        "channel:leave" => LeaveChannel(ChannelRef) -> Done [Commands, guests],
        /// Announce one's new content to one's followers.
        "feed:new_content" => NewContent(NewContent) -> FollowersNotified [Commands],
        /// Set one's presence status.
        "presence:set" => SetPresence(SetPresence) -> StatusSet [Presence],
        /// Watch the presence of users.
        "presence:subscribe" => SubscribePresence(PresenceTargets) -> PresenceStatuses [Joins, joins_room],
        /// Stop watching the presence of users.
        "presence:unsubscribe" => UnsubscribePresence(PresenceTargets) -> Done [Presence],
        /// Share one's position with a chat room.
        "location:share" => ShareLocation(PositionInput) -> PositionShared [Chat],
        /// Stop sharing one's position.
        "location:stop" => StopLocation(StopSharing) -> Done [Commands],
    }
}

/// A channel, by name.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct ChannelRef {
    pub name: String,
}

/// `notifications:list`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListNotifications {
    /// The cursor: notifications older than this one.
    pub before: Option<String>,
    pub limit: Option<i64>,
    #[serde(default)]
    pub unread_only: bool,
}

/// `notifications:read`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct ReadNotifications {
    pub ids: Option<Vec<String>>,
    /// Every notification, whatever `ids` says.
    #[serde(default)]
    pub all: bool,
}

/// `feed:new_content`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewContent {
    pub content_id: String,
    pub content_type: String,
    pub title: Option<String>,
}

/// `location:stop`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StopSharing {
    pub room_id: String,
}

/// `presence:set`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct SetPresence {
    pub status: String,
}

/// `presence:subscribe` and `presence:unsubscribe`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PresenceTargets {
    pub user_ids: Vec<String>,
}
