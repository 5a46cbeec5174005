//! The server API (PROTOCOL.md §11): the app backend, authenticated by the server key.

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post, put};
use serde::Deserialize;
use serde_json::{Value, json};

use super::envelope::{ApiError, ApiResult, ok};
use super::extract::{Body, ServerCaller};
use crate::domain::error::DomainError;
use crate::domain::events::RelayedEvent;
use crate::domain::notifications::Announcement;
use crate::domain::sanctions::TokensRevoked;
use crate::domain::text::valid_id;
use crate::ports::publisher::{Audience, Room};
use crate::ports::store::ProfileUpdate;
use crate::state::App;

/// Event names a backend may not emit: the Socket.IO client reserves them.
const RESERVED_EVENTS: &[&str] = &["connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener", "error"];

pub fn routes() -> Router<App> {
    Router::new()
        .route("/api/server/users/{id}", put(upsert_user))
        .route("/api/server/content/{id}", put(register_content))
        .route("/api/server/content/{id}/analytics", get(content_analytics))
        .route("/api/server/emit", post(emit))
        .route("/api/server/notifications", post(send_notification))
        .route("/api/server/announcements", post(announce))
        .route("/api/server/users/{id}/revoke-tokens", post(revoke_tokens))
        .route("/api/server/moderation-audit", get(audit_log))
        .route("/api/server/stats", get(stats))
        .route("/api/server/rooms/{room}", get(room_size))
}

#[derive(Deserialize)]
struct UserBody {
    username: Option<String>,
    avatar: Option<String>,
    verified: Option<bool>,
}

async fn upsert_user(State(app): State<App>, _: ServerCaller, Path(id): Path<String>, Body(b): Body<UserBody>) -> ApiResult<Value> {
    valid_id("id", &id)?;
    if b.username.as_ref().is_some_and(|u| u.trim().is_empty() || u.chars().count() > 64) {
        return Err(ApiError(DomainError::bad_request("username must be 1-64 characters")));
    }
    if b.avatar.as_ref().is_some_and(|a| a.chars().count() > 512) {
        return Err(ApiError(DomainError::bad_request("avatar must be at most 512 characters")));
    }
    let user = app
        .users
        .upsert(&ProfileUpdate { id, username: b.username.map(|u| u.trim().to_owned()), avatar: b.avatar, verified: b.verified, authoritative: true })
        .await?;
    Ok(ok(json!(user)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ContentBody {
    #[serde(rename = "type")]
    content_type: String,
    owner_id: Option<String>,
    title: Option<String>,
    /// Sends `feed:refresh` to the owner's subscribed followers.
    notify_followers: Option<bool>,
}

async fn register_content(State(app): State<App>, _: ServerCaller, Path(id): Path<String>, Body(b): Body<ContentBody>) -> ApiResult<Value> {
    if b.notify_followers.unwrap_or(false) && b.owner_id.is_none() {
        return Err(ApiError(DomainError::bad_request("notifyFollowers needs an ownerId")));
    }
    // The backend is authoritative: it may move an item to another owner.
    let item = app.content.register_as_backend(&id, &b.content_type, b.owner_id.as_deref(), b.title.as_deref()).await?;
    let followers_notified = if b.notify_followers.unwrap_or(false) { Some(app.follows.announce_new_content(&item).await?) } else { None };
    let mut body = json!(item);
    if let (Some(n), Some(obj)) = (followers_notified, body.as_object_mut()) {
        obj.insert("followersNotified".into(), json!(n));
    }
    Ok(ok(body))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NotificationBody {
    user_id: String,
    #[serde(rename = "type")]
    kind: String,
    text: String,
    #[serde(default)]
    data: Value,
}

async fn send_notification(State(app): State<App>, _: ServerCaller, Body(b): Body<NotificationBody>) -> ApiResult<Value> {
    use crate::domain::notification_draft::{NotificationData, NotificationDraft};
    let recipient = valid_id("userId", &b.user_id)?.to_owned();
    let kind = crate::domain::notifications::parse_kind(&b.kind)
        .ok_or_else(|| ApiError(DomainError::bad_request("type must be a notification type of PROTOCOL.md §8")))?;
    let text = crate::domain::text::trimmed_text("text", &b.text, 2000)?;
    if b.data.to_string().len() > 16 * 1024 {
        return Err(ApiError(DomainError::bad_request("data must be at most 16 KB of JSON")));
    }
    app.notifications
        .notify(NotificationDraft { recipient, kind, actor: None, subject: None, text, data: NotificationData::Custom(b.data), group_key: None })
        .await?;
    Ok(ok(json!({ "stored": true })))
}

#[derive(Deserialize)]
struct AnnouncementBody {
    message: String,
    #[serde(default = "default_level")]
    level: String,
}

fn default_level() -> String {
    "info".into()
}

async fn announce(State(app): State<App>, _: ServerCaller, Body(b): Body<AnnouncementBody>) -> ApiResult<Announcement> {
    Ok(ok(app.notifications.announce(&b.message, &b.level).await?))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EmitTarget {
    user_id: Option<String>,
    room: Option<String>,
    #[serde(default)]
    all: bool,
}

#[derive(Deserialize)]
struct EmitBody {
    to: EmitTarget,
    event: String,
    #[serde(default)]
    data: Value,
}

async fn emit(State(app): State<App>, _: ServerCaller, Body(b): Body<EmitBody>) -> ApiResult<Value> {
    if b.event.is_empty() || b.event.len() > 64 || RESERVED_EVENTS.contains(&b.event.as_str()) {
        return Err(ApiError(DomainError::bad_request("event must be 1-64 characters and not a reserved name")));
    }
    let audience = match (b.to.user_id, b.to.room, b.to.all) {
        (Some(user), None, false) => Audience::Room(Room::User(valid_id("userId", &user)?.to_owned())),
        (None, Some(room), false) => Audience::Room(named_room(&app, &room)?),
        (None, None, true) => Audience::Everyone,
        _ => return Err(ApiError(DomainError::bad_request("to must name exactly one of userId, room or all"))),
    };
    app.events.emit(audience, RelayedEvent { name: b.event, data: b.data }.into()).await;
    Ok(ok(json!({ "delivered": true })))
}

/// A room of the server API: a room name of the server's dialect (`video_123` under
/// `dialect = "video"`, `content:video:123` under `"interactions"`), read first, or a
/// native `kind:id` name.
fn named_room(app: &App, name: &str) -> Result<Room, ApiError> {
    app.dialect.and_then(|d| d.parse_room(name)).or_else(|| Room::parse(name)).ok_or_else(|| {
        let dialect = app.dialect.map_or(String::new(), |d| format!(", or a room name of the {} dialect", d.name()));
        ApiError(DomainError::bad_request(format!("room must be kind:id with a known kind{dialect}")))
    })
}

async fn stats(State(app): State<App>, _: ServerCaller) -> ApiResult<Value> {
    Ok(ok(json!({
        "connectedSockets": app.publisher.connection_count().await,
        "onlineUsers": app.presence.online_count().await,
        "rooms": app.publisher.room_count().await,
    })))
}

async fn room_size(State(app): State<App>, _: ServerCaller, Path(room): Path<String>) -> ApiResult<Value> {
    let parsed = named_room(&app, &room)?;
    // `connected`: the socket server answers (the video app's `getRoomStats`).
    Ok(ok(json!({ "room": room, "size": app.publisher.room_size(&parsed).await, "connected": true })))
}

async fn content_analytics(State(app): State<App>, _: ServerCaller, Path(id): Path<String>) -> ApiResult<Value> {
    Ok(ok(json!(app.content.analytics(None, &id).await?)))
}

#[derive(Deserialize, Default)]
struct RevokeBody {
    reason: Option<String>,
}

async fn revoke_tokens(State(app): State<App>, _: ServerCaller, Path(id): Path<String>, body: axum::body::Bytes) -> ApiResult<TokensRevoked> {
    let b: RevokeBody = if body.iter().all(u8::is_ascii_whitespace) {
        RevokeBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError(DomainError::bad_request(format!("invalid JSON body: {e}"))))?
    };
    Ok(ok(app.sanctions.revoke_tokens(&id, b.reason.as_deref()).await?))
}

async fn audit_log(State(app): State<App>, _: ServerCaller, axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>) -> ApiResult<Value> {
    let limit = match q.get("limit") {
        None => None,
        Some(l) => Some(l.parse::<u32>().map_err(|_| ApiError(DomainError::bad_request("limit must be a positive integer")))?),
    };
    let entries = app.sanctions.audit_log(q.get("before").map(String::as_str), limit).await?;
    Ok(ok(json!({ "entries": entries })))
}
