//! Socket commands of notifications, feeds, presence and live location (PROTOCOL.md
//! §5, §6, §8, §10).

use serde::Deserialize;
use serde_json::{Value, json};

use super::commands::{NoArguments, no_arguments, run, shape, unknown_event};
use crate::domain::content::Actor;
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::location::PositionInput;
use crate::state::App;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListNotifications {
    before: Option<String>,
    limit: Option<i64>,
    #[serde(default)]
    unread_only: bool,
}

#[derive(Deserialize)]
struct ReadNotifications {
    ids: Option<Vec<String>>,
    #[serde(default)]
    all: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewContent {
    content_id: String,
    content_type: String,
    title: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SharePosition {
    room_id: String,
    lat: f64,
    lng: f64,
    accuracy: Option<f64>,
    live_until: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StopSharing {
    room_id: String,
}

#[derive(Deserialize)]
struct SetPresence {
    status: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PresenceTargets {
    user_ids: Vec<String>,
}

/// Routes `notifications:*`, `feed:*` and `presence:*` events.
pub async fn dispatch(app: &App, actor: &Actor, event: &str, data: Value) -> DomainResult<Value> {
    let me = actor.identity.user_id.as_str();
    let connection = actor.connection.as_ref().ok_or_else(|| DomainError::bad_request("needs a socket"))?;
    match event {
        "notifications:list" => {
            run(data, |p: ListNotifications| async move {
                app.notifications.list(me, p.before.as_deref(), p.limit, p.unread_only).await
            })
            .await
        }
        "notifications:read" => {
            run(data, |p: ReadNotifications| async move {
                let unread = app.notifications.mark_read(me, p.ids, p.all, Some(connection)).await?;
                Ok(json!({ "unreadCount": unread }))
            })
            .await
        }
        "feed:subscribe" => {
            no_arguments(data)?;
            app.follows.subscribe(me, connection);
            Ok(json!({}))
        }
        "feed:unsubscribe" => {
            no_arguments(data)?;
            app.follows.unsubscribe(me, connection);
            Ok(json!({}))
        }
        "feed:new_content" => {
            run(data, |p: NewContent| async move {
                let item = app.content.register(Some(&p.content_id), &p.content_type, Some(me), p.title.as_deref()).await?;
                let notified = app.follows.announce_new_content(&item).await?;
                Ok(json!({ "followersNotified": notified }))
            })
            .await
        }
        "presence:set" => run(data, |p: SetPresence| async move { app.presence.set_status(me, &p.status).await }).await,
        "presence:subscribe" => {
            run(data, |p: PresenceTargets| async move { app.presence.subscribe(me, connection, &p.user_ids).await }).await
        }
        "presence:unsubscribe" => {
            run(data, |p: PresenceTargets| async move { app.presence.unsubscribe(connection, &p.user_ids).map(|()| json!({})) })
                .await
        }
        "location:share" => {
            run(data, |p: SharePosition| async move {
                let input = PositionInput { room_id: p.room_id, lat: p.lat, lng: p.lng, accuracy: p.accuracy, live_until: p.live_until };
                app.location.share(actor, input).await
            })
            .await
        }
        "location:stop" => run(data, |p: StopSharing| async move { app.location.stop(actor, &p.room_id).await.map(|()| json!({})) }).await,
        other => Err(unknown_event(other)),
    }
}

/// The payload decoding of `dispatch` alone (see `commands::check_payload`).
pub(crate) fn check_payload(event: &str, payload: &Value) -> DomainResult<()> {
    match event {
        "notifications:list" => shape::<ListNotifications>(payload),
        "notifications:read" => shape::<ReadNotifications>(payload),
        "feed:subscribe" | "feed:unsubscribe" => shape::<NoArguments>(payload),
        "feed:new_content" => shape::<NewContent>(payload),
        "presence:set" => shape::<SetPresence>(payload),
        "presence:subscribe" | "presence:unsubscribe" => shape::<PresenceTargets>(payload),
        "location:share" => shape::<SharePosition>(payload),
        "location:stop" => shape::<StopSharing>(payload),
        other => Err(unknown_event(other)),
    }
}
