//! Chat REST routes (PROTOCOL.md §7): the same service calls as the `chat:*` socket
//! commands, so the same rules, effects and broadcasts.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::routing::{delete, get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::chat_rest;
use super::envelope::{ApiError, ApiResult, created, ok};
use super::extract::{AuthUser, Body};
use crate::adapters::wire::dialect::Dialect;
use crate::domain::chat::model::RoomRequest;
use crate::domain::error::DomainError;
use crate::state::App;

/// The `/api/chat/…` routes; on a server whose `dialect` is `chatnotify`, the rooms
/// route answers in that dialect's shapes and the seed's history route is added
/// (`chat_rest`, docs/dialects.md §5.6).
pub fn routes(dialect: Option<Dialect>) -> Router<App> {
    let chatnotify = dialect == Some(Dialect::Chatnotify);
    let rooms_route = if chatnotify {
        post(chat_rest::create_room).get(chat_rest::list_rooms)
    } else {
        post(create_room).get(list_rooms)
    };
    let router = Router::new()
        .route("/api/chat/rooms", rooms_route)
        .route("/api/chat/rooms/{id}/messages", get(history))
        .route("/api/chat/rooms/{id}/members", post(add_members))
        .route("/api/chat/rooms/{id}/members/me", delete(leave_room));
    if chatnotify {
        router.route("/api/chat/messages/{id}", get(chat_rest::messages))
    } else {
        router
    }
}

/// `201` with the new room, or `200` with the direct room the pair already had.
async fn create_room(State(app): State<App>, user: AuthUser, Body(body): Body<RoomRequest>) -> ApiResult<Value> {
    let outcome = app.chat.create_room(&user.actor(), &body).await?;
    let room = json!(outcome.room);
    Ok(if outcome.created { created(room) } else { ok(room) })
}

async fn list_rooms(State(app): State<App>, user: AuthUser) -> ApiResult<Value> {
    let rooms = app.chat.rooms(&user.actor()).await?;
    Ok(ok(json!({ "rooms": rooms })))
}

async fn history(State(app): State<App>, user: AuthUser, Path(id): Path<String>, Query(q): Query<HashMap<String, String>>) -> ApiResult<Value> {
    let number = |key: &str| {
        q.get(key)
            .map(|v| v.parse::<i64>().map_err(|_| ApiError(DomainError::bad_request(format!("{key} must be an integer")))))
            .transpose()
    };
    let page = app.chat.history(&user.actor(), &id, q.get("before").map(String::as_str), number("limit")?, number("skip")?).await?;
    Ok(ok(json!(page)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MembersBody {
    user_ids: Vec<String>,
}

async fn add_members(State(app): State<App>, user: AuthUser, Path(id): Path<String>, Body(body): Body<MembersBody>) -> ApiResult<Value> {
    let room = app.chat.add_members(&user.actor(), &id, &body.user_ids).await?;
    Ok(ok(json!(room)))
}

async fn leave_room(State(app): State<App>, user: AuthUser, Path(id): Path<String>) -> ApiResult<Value> {
    app.chat.leave_room(&user.actor(), &id).await?;
    Ok(ok(json!({})))
}
