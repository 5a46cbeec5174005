//! Runs the commands of notifications, feeds, presence and live location: the service
//! call behind each `SocialCommand`, and the shape of its ack.

use crate::domain::model::Actor;
use crate::domain::error::{DomainError, DomainResult};
use crate::state::App;
use crate::transport::commands::acks::{Done, FollowersNotified, UnreadCount};
use crate::transport::commands::social::{SocialCommand, SocialReply};

/// Calls the service behind `command`.
pub async fn execute(app: &App, actor: &Actor, command: SocialCommand) -> DomainResult<SocialReply> {
    let me = actor.identity.user_id.as_str();
    let connection = actor.connection.as_ref().ok_or_else(|| DomainError::bad_request("needs a socket"))?;
    match command {
        SocialCommand::ListNotifications(p) => app.notifications.list(me, p.before.as_deref(), p.limit, p.unread_only).await.map(SocialReply::ListNotifications),
        SocialCommand::ReadNotifications(p) => {
            let unread = app.notifications.mark_read(me, p.ids, p.all, Some(connection)).await?;
            Ok(SocialReply::ReadNotifications(UnreadCount { unread_count: unread }))
        }
        SocialCommand::SubscribeFeed(_) => {
            app.follows.subscribe(me, connection);
            Ok(SocialReply::SubscribeFeed(Done {}))
        }
        SocialCommand::UnsubscribeFeed(_) => {
            app.follows.unsubscribe(me, connection);
            Ok(SocialReply::UnsubscribeFeed(Done {}))
        }
        SocialCommand::JoinChannel(p) => {
            app.channels.join(actor, &p.name)?;
            Ok(SocialReply::JoinChannel(Done {}))
        }
        SocialCommand::LeaveChannel(p) => {
            app.channels.leave(actor, &p.name)?;
            Ok(SocialReply::LeaveChannel(Done {}))
        }
        SocialCommand::NewContent(p) => {
            let item = app.content.register(Some(&p.content_id), &p.content_type, Some(me), p.title.as_deref()).await?;
            let notified = app.follows.announce_new_content(&item).await?;
            Ok(SocialReply::NewContent(FollowersNotified { followers_notified: notified }))
        }
        SocialCommand::SetPresence(p) => app.presence.set_status(me, &p.status).await.map(SocialReply::SetPresence),
        SocialCommand::SubscribePresence(p) => app.presence.subscribe(me, connection, &p.user_ids).await.map(SocialReply::SubscribePresence),
        SocialCommand::UnsubscribePresence(p) => app.presence.unsubscribe(connection, &p.user_ids).map(|()| SocialReply::UnsubscribePresence(Done {})),
        SocialCommand::ShareLocation(input) => app.location.share(actor, input).await.map(SocialReply::ShareLocation),
        SocialCommand::StopLocation(p) => app.location.stop(actor, &p.room_id).await.map(|()| SocialReply::StopLocation(Done {})),
    }
}
