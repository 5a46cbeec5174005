//! REST routes of live streams (PROTOCOL.md §9, §12) and their server API (§11):
//! streams, the gift catalog, wallets, gifts, wallet credits and stream moderation.
//! They call the same services as the socket commands.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::envelope::{ApiError, ApiResult, created, ok};
use super::extract::{AuthUser, Body, ServerCaller};
use crate::domain::error::DomainError;
use crate::domain::live::sanctions::Moderator;
use crate::state::App;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/api/streams", post(create_stream).get(list_streams))
        .route("/api/streams/{id}", get(show_stream))
        .route("/api/streams/{id}/status", post(set_status))
        .route("/api/streams/{id}/gifts", post(send_gift))
        .route("/api/gifts", get(catalog))
        .route("/api/wallet", get(wallet))
        .route("/api/server/wallets/{user_id}/credit", post(credit))
        .route("/api/server/wallets/{user_id}", get(server_wallet))
        .route("/api/server/moderation/{action}", post(moderate))
}

#[derive(Deserialize)]
struct NewStream {
    title: String,
}

async fn create_stream(State(app): State<App>, user: AuthUser, Body(b): Body<NewStream>) -> ApiResult<Value> {
    Ok(created(json!(app.live_streams.streams.create(&user.actor(), &b.title).await?)))
}

async fn list_streams(State(app): State<App>, Query(q): Query<HashMap<String, String>>) -> ApiResult<Value> {
    let limit = q
        .get("limit")
        .map(|v| v.parse::<i64>().map_err(|_| ApiError(DomainError::bad_request("limit must be an integer"))))
        .transpose()?;
    Ok(ok(json!({ "streams": app.live_streams.streams.list_live(limit).await? })))
}

async fn show_stream(State(app): State<App>, Path(id): Path<String>) -> ApiResult<Value> {
    Ok(ok(json!(app.live_streams.streams.get(&id).await?)))
}

#[derive(Deserialize)]
struct StatusBody {
    status: String,
}

async fn set_status(State(app): State<App>, user: AuthUser, Path(id): Path<String>, Body(b): Body<StatusBody>) -> ApiResult<Value> {
    let stream = app.live_streams.streams.set_status(&user.actor(), &id, &b.status).await?;
    Ok(ok(json!({ "stream": stream })))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GiftBody {
    gift_id: String,
    count: Option<i64>,
    client_tx_id: String,
}

async fn send_gift(State(app): State<App>, user: AuthUser, Path(id): Path<String>, Body(b): Body<GiftBody>) -> ApiResult<Value> {
    let sent = app.live_streams.gifts.send(&user.actor(), &id, &b.gift_id, b.count, &b.client_tx_id).await?;
    Ok(ok(json!(sent)))
}

async fn catalog(State(app): State<App>) -> ApiResult<Value> {
    Ok(ok(json!(app.live_streams.gift_list())))
}

async fn wallet(State(app): State<App>, user: AuthUser) -> ApiResult<Value> {
    Ok(ok(json!(app.live_streams.wallet.balance(&user.0.user_id).await?)))
}

#[derive(Deserialize)]
struct CreditBody {
    amount: i64,
    reference: String,
}

async fn credit(State(app): State<App>, _: ServerCaller, Path(user_id): Path<String>, Body(b): Body<CreditBody>) -> ApiResult<Value> {
    Ok(ok(json!(app.live_streams.wallet.credit(&user_id, b.amount, &b.reference).await?)))
}

async fn server_wallet(State(app): State<App>, _: ServerCaller, Path(user_id): Path<String>) -> ApiResult<Value> {
    Ok(ok(json!(app.live_streams.wallet.balance(&user_id).await?)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ModerationBody {
    user_id: String,
    /// `stream:{streamId}`: the only scope so far.
    scope: Option<String>,
    duration_sec: Option<i64>,
    reason: Option<String>,
}

async fn moderate(State(app): State<App>, _: ServerCaller, Path(action): Path<String>, Body(b): Body<ModerationBody>) -> ApiResult<Value> {
    let scope = b.scope.as_deref().unwrap_or("global");
    if scope == "global" {
        return Ok(ok(json!(app.sanctions.apply(&action, &b.user_id, b.duration_sec, b.reason.as_deref()).await?)));
    }
    let stream_id = scope
        .strip_prefix("stream:")
        .ok_or_else(|| ApiError(DomainError::bad_request("scope must be global or stream:{streamId}")))?;
    let applied = app
        .live_streams
        .sanctions
        .apply(Moderator::Backend, stream_id, &b.user_id, &action, b.duration_sec, b.reason.as_deref())
        .await?;
    app.sanctions.record("backend", &action, &b.user_id, scope, b.reason.as_deref(), b.duration_sec).await;
    Ok(ok(json!(applied)))
}
