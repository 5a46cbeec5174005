//! The chat routes of the `chatnotify` dialect (seed 004, docs/dialects.md §5.6), served
//! on a server whose `dialect` is `chatnotify`: rooms with the seed model's `_id` and
//! `participants`, a JSON body whatever its content type (C-R9), and the seed's history
//! route `GET /api/chat/messages/{chatRoomId}?limit=&skip=`.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use serde_json::{Map, Value, json};

use super::envelope::{ApiError, ApiResult, created, ok};
use super::extract::{AnyTypeJson, AuthUser};
use crate::adapters::wire::dialect::chatnotify;
use crate::domain::chat::model::{ChatRoom, RoomRequest};
use crate::domain::error::DomainError;
use crate::state::App;

/// `POST /api/chat/rooms`: 201 for a new room, 200 for the direct room the pair had.
pub async fn create_room(State(app): State<App>, user: AuthUser, AnyTypeJson(body): AnyTypeJson<RoomRequest>) -> ApiResult<Value> {
    let outcome = app.chat.create_room(&user.actor(), &body).await?;
    let room = seed_room(&outcome.room);
    Ok(if outcome.created { created(room) } else { ok(room) })
}

/// `GET /api/chat/rooms`: the caller's rooms, most recently active first.
pub async fn list_rooms(State(app): State<App>, user: AuthUser) -> ApiResult<Value> {
    let rooms: Vec<Value> = app.chat.rooms(&user.actor()).await?.iter().map(seed_room).collect();
    Ok(ok(json!({ "rooms": rooms })))
}

/// `GET /api/chat/messages/{chatRoomId}?limit=&skip=`: `{chatRoomId, messages, hasMore}`
/// newest first, as the socket's `message_history` (C-R2).
pub async fn messages(State(app): State<App>, user: AuthUser, Path(id): Path<String>, Query(q): Query<HashMap<String, String>>) -> ApiResult<Value> {
    let page = app.chat.history(&user.actor(), &id, None, integer(&q, "limit")?, integer(&q, "skip")?).await?;
    Ok(ok(chatnotify::history(&json!({ "roomId": id }), json!(page))))
}

/// A room with `_id` (= `id`) and `participants` (= `memberIds`) beside the native
/// fields, and its last message as the dialect shapes messages (C-R4).
fn seed_room(room: &ChatRoom) -> Value {
    let mut fields = match json!(room) {
        Value::Object(fields) => fields,
        _ => Map::new(),
    };
    fields.insert("_id".into(), json!(room.id));
    fields.insert("participants".into(), json!(room.member_ids));
    if let Some(last) = &room.last_message {
        fields.insert("lastMessage".into(), chatnotify::message(&json!(last)));
    }
    Value::Object(fields)
}

/// An optional integer query parameter.
fn integer(q: &HashMap<String, String>, key: &str) -> Result<Option<i64>, ApiError> {
    q.get(key)
        .map(|v| v.parse::<i64>().map_err(|_| ApiError(DomainError::bad_request(format!("{key} must be an integer")))))
        .transpose()
}
