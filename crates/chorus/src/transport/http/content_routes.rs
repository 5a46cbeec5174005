//! Content REST routes (PROTOCOL.md §12): the same service calls as the socket
//! commands, so the same effects and broadcasts.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::Router;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::routing::{get, patch, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::envelope::{ApiError, ApiResult, created, ok};
use super::extract::{AuthUser, Body, MaybeUser};
use super::video_rest;
use crate::adapters::wire::dialect::Dialect;
use crate::domain::error::DomainError;
use crate::domain::model::CommentPaging;
use crate::state::App;

/// The content routes; on a server whose `dialect` is `video`, four of them answer in
/// that dialect's shapes (`video_rest`, docs/dialects.md §3.6).
pub fn routes(dialect: Option<Dialect>) -> Router<App> {
    let (like_route, share_route, comments_route) = if dialect == Some(Dialect::Video) {
        (
            post(video_rest::like).delete(unlike),
            post(video_rest::share),
            post(video_rest::comment).get(video_rest::list_comments),
        )
    } else {
        (post(like).delete(unlike), post(share), post(comment).get(list_comments))
    };
    Router::new()
        .route("/api/content", post(register))
        .route("/api/content/{id}", get(show))
        .route("/api/content/{id}/like", like_route)
        .route("/api/content/{id}/view", post(view))
        .route("/api/content/{id}/analytics", get(analytics))
        .route("/api/content/{id}/share", share_route)
        .route("/api/content/{id}/comments", comments_route)
        .route("/api/comments/{id}", patch(edit_comment).delete(delete_comment))
        .route("/api/comments/{id}/reactions", post(react))
}

#[derive(Deserialize)]
struct NewContent {
    id: Option<String>,
    #[serde(rename = "type")]
    content_type: String,
    title: Option<String>,
}

async fn register(State(app): State<App>, user: AuthUser, Body(body): Body<NewContent>) -> ApiResult<Value> {
    let item = app
        .content
        .register(body.id.as_deref(), &body.content_type, Some(&user.0.user_id), body.title.as_deref())
        .await?;
    Ok(created(json!(item)))
}

async fn show(State(app): State<App>, Path(id): Path<String>) -> ApiResult<Value> {
    Ok(ok(json!(app.content.get(&id).await?)))
}

async fn like(State(app): State<App>, user: AuthUser, Path(id): Path<String>) -> ApiResult<Value> {
    Ok(ok(json!(app.content.like(&user.actor(), &id, Some(true)).await?)))
}

async fn unlike(State(app): State<App>, user: AuthUser, Path(id): Path<String>) -> ApiResult<Value> {
    Ok(ok(json!(app.content.like(&user.actor(), &id, Some(false)).await?)))
}

async fn view(
    State(app): State<App>,
    user: MaybeUser,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
) -> ApiResult<Value> {
    // Guests are told apart by address: one view per address per window.
    let viewer = match &user.0 {
        Some(who) => who.user_id.clone(),
        None => format!("guest-ip:{}", peer.ip()),
    };
    Ok(ok(json!(app.content.view(&viewer, &id).await?)))
}

#[derive(Deserialize, Default)]
struct ShareBody {
    channel: Option<String>,
}

pub(super) async fn share(State(app): State<App>, user: AuthUser, Path(id): Path<String>, body: axum::body::Bytes) -> ApiResult<Value> {
    // The body is optional: an empty body shares without a channel.
    let channel = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        serde_json::from_slice::<ShareBody>(&body)
            .map_err(|e| ApiError(DomainError::bad_request(format!("invalid JSON body: {e}"))))?
            .channel
    };
    Ok(ok(json!(app.content.share(&user.actor(), &id, channel.as_deref()).await?)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct CommentBody {
    pub(super) text: String,
    pub(super) parent_id: Option<String>,
}

async fn comment(State(app): State<App>, user: AuthUser, Path(id): Path<String>, Body(body): Body<CommentBody>) -> ApiResult<Value> {
    let posted = app.content.comment(&user.actor(), &id, &body.text, body.parent_id.as_deref()).await?;
    Ok(created(json!(posted)))
}

fn number(query: &HashMap<String, String>, key: &str, default: u32) -> Result<u32, ApiError> {
    match query.get(key) {
        None => Ok(default),
        Some(v) => v
            .parse::<u32>()
            .map_err(|_| ApiError(DomainError::bad_request(format!("{key} must be a positive integer")))),
    }
}

/// How `?limit=&page=` or `?limit=&before=` (or a bare `?cursor`) pages a comment list.
pub(super) fn comment_paging(q: &HashMap<String, String>) -> Result<CommentPaging, ApiError> {
    let limit = number(q, "limit", 20)?;
    Ok(match (q.get("before"), q.get("page")) {
        (Some(_), Some(_)) => return Err(ApiError(DomainError::bad_request("use either page or before, not both"))),
        (Some(before), None) => CommentPaging::Before { cursor: Some(before.clone()), limit },
        (None, Some(_)) => CommentPaging::Page { page: number(q, "page", 1)?, limit },
        (None, None) if q.contains_key("cursor") => CommentPaging::Before { cursor: None, limit },
        (None, None) => CommentPaging::Page { page: 1, limit },
    })
}

async fn list_comments(State(app): State<App>, Path(id): Path<String>, Query(q): Query<HashMap<String, String>>) -> ApiResult<Value> {
    let paging = comment_paging(&q)?;
    let page = app.content.comments(&id, q.get("parentId").map(String::as_str), paging).await?;
    Ok(ok(json!(page)))
}

#[derive(Deserialize)]
struct EditBody {
    text: String,
}

async fn edit_comment(State(app): State<App>, user: AuthUser, Path(id): Path<String>, Body(body): Body<EditBody>) -> ApiResult<Value> {
    let comment = app.content.edit_comment(&user.actor(), &id, &body.text).await?;
    Ok(ok(json!({ "comment": comment })))
}

async fn delete_comment(State(app): State<App>, user: AuthUser, Path(id): Path<String>) -> ApiResult<Value> {
    app.content.delete_comment(&user.actor(), &id).await?;
    Ok(ok(json!({})))
}

#[derive(Deserialize)]
struct ReactBody {
    emoji: String,
    on: Option<bool>,
}

async fn react(State(app): State<App>, user: AuthUser, Path(id): Path<String>, Body(body): Body<ReactBody>) -> ApiResult<Value> {
    let on = body.on.or(Some(true));
    Ok(ok(json!(app.content.react(&user.actor(), &id, &body.emoji, on).await?)))
}

async fn analytics(State(app): State<App>, user: AuthUser, Path(id): Path<String>) -> ApiResult<Value> {
    Ok(ok(json!(app.content.analytics(Some(&user.0), &id).await?)))
}
