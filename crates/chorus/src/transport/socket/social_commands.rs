//! Runs the commands of notifications, feeds, presence and live location: the service
//! call behind each `SocialCommand`, and the shape of its ack.

use serde_json::{Value, json};

use super::ack::ack_data;
use crate::domain::model::Actor;
use crate::domain::error::{DomainError, DomainResult};
use crate::state::App;
use crate::transport::commands::social::SocialCommand;

/// Calls the service behind `command`.
pub async fn execute(app: &App, actor: &Actor, command: SocialCommand) -> DomainResult<Value> {
    let me = actor.identity.user_id.as_str();
    let connection = actor.connection.as_ref().ok_or_else(|| DomainError::bad_request("needs a socket"))?;
    match command {
        SocialCommand::ListNotifications(p) => ack_data(app.notifications.list(me, p.before.as_deref(), p.limit, p.unread_only).await),
        SocialCommand::ReadNotifications(p) => {
            let unread = app.notifications.mark_read(me, p.ids, p.all, Some(connection)).await?;
            Ok(json!({ "unreadCount": unread }))
        }
        SocialCommand::SubscribeFeed(_) => {
            app.follows.subscribe(me, connection);
            Ok(json!({}))
        }
        SocialCommand::UnsubscribeFeed(_) => {
            app.follows.unsubscribe(me, connection);
            Ok(json!({}))
        }
        SocialCommand::NewContent(p) => {
            let item = app.content.register(Some(&p.content_id), &p.content_type, Some(me), p.title.as_deref()).await?;
            let notified = app.follows.announce_new_content(&item).await?;
            Ok(json!({ "followersNotified": notified }))
        }
        SocialCommand::SetPresence(p) => ack_data(app.presence.set_status(me, &p.status).await),
        SocialCommand::SubscribePresence(p) => ack_data(app.presence.subscribe(me, connection, &p.user_ids).await),
        SocialCommand::UnsubscribePresence(p) => app.presence.unsubscribe(connection, &p.user_ids).map(|()| json!({})),
        SocialCommand::ShareLocation(input) => ack_data(app.location.share(actor, input).await),
        SocialCommand::StopLocation(p) => app.location.stop(actor, &p.room_id).await.map(|()| json!({})),
    }
}
