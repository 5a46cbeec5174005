//! REST routes of notifications and follows (PROTOCOL.md §5, §8).

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::envelope::{ApiError, ApiResult, ok};
use super::extract::{AuthUser, Body};
use crate::domain::error::DomainError;
use crate::state::App;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/api/notifications", get(list_notifications))
        .route("/api/notifications/read", post(read_notifications))
        .route("/api/users/{id}/follow", post(follow).delete(unfollow))
        .route("/api/users/{id}/followers", get(followers))
        .route("/api/users/{id}/following", get(following))
}

fn number(q: &HashMap<String, String>, key: &str) -> Result<Option<i64>, ApiError> {
    q.get(key)
        .map(|v| v.parse::<i64>().map_err(|_| ApiError(DomainError::bad_request(format!("{key} must be an integer")))))
        .transpose()
}

async fn list_notifications(State(app): State<App>, user: AuthUser, Query(q): Query<HashMap<String, String>>) -> ApiResult<Value> {
    let unread_only = matches!(q.get("unreadOnly").map(String::as_str), Some("true" | "1"));
    let page = app.notifications.list(&user.0.user_id, q.get("before").map(String::as_str), number(&q, "limit")?, unread_only).await?;
    Ok(ok(json!(page)))
}

#[derive(Deserialize)]
struct ReadBody {
    ids: Option<Vec<String>>,
    #[serde(default)]
    all: bool,
}

async fn read_notifications(State(app): State<App>, user: AuthUser, Body(b): Body<ReadBody>) -> ApiResult<Value> {
    let unread = app.notifications.mark_read(&user.0.user_id, b.ids, b.all, None).await?;
    Ok(ok(json!({ "unreadCount": unread })))
}

async fn follow(State(app): State<App>, user: AuthUser, Path(id): Path<String>) -> ApiResult<Value> {
    let created = app.follows.follow(&user.0.user_id, &id).await?;
    Ok(ok(json!({ "following": true, "created": created })))
}

async fn unfollow(State(app): State<App>, user: AuthUser, Path(id): Path<String>) -> ApiResult<Value> {
    let removed = app.follows.unfollow(&user.0.user_id, &id).await?;
    Ok(ok(json!({ "following": false, "removed": removed })))
}

fn limit(q: &HashMap<String, String>) -> Result<Option<u32>, ApiError> {
    match number(q, "limit")? {
        None => Ok(None),
        Some(l) => u32::try_from(l).map(Some).map_err(|_| ApiError(DomainError::bad_request("limit must be positive"))),
    }
}

async fn followers(State(app): State<App>, _: AuthUser, Path(id): Path<String>, Query(q): Query<HashMap<String, String>>) -> ApiResult<Value> {
    Ok(ok(json!(app.follows.list(&id, true, q.get("after").map(String::as_str), limit(&q)?).await?)))
}

async fn following(State(app): State<App>, _: AuthUser, Path(id): Path<String>, Query(q): Query<HashMap<String, String>>) -> ApiResult<Value> {
    Ok(ok(json!(app.follows.list(&id, false, q.get("after").map(String::as_str), limit(&q)?).await?)))
}
