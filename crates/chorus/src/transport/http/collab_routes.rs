//! REST routes of collaborative documents (PROTOCOL.md §10): creating a document,
//! reading it and managing its members, through the same service as `collab:*`.

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::envelope::{ApiResult, created, ok};
use super::extract::{AuthUser, Body};
use crate::state::App;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/api/docs", post(create_doc))
        .route("/api/docs/{id}", get(get_doc))
        .route("/api/docs/{id}/members", post(set_members))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewDocBody {
    title: String,
    #[serde(default)]
    editor_ids: Vec<String>,
    #[serde(default)]
    viewer_ids: Vec<String>,
}

/// `201` with the new document; the caller owns it.
async fn create_doc(State(app): State<App>, user: AuthUser, Body(b): Body<NewDocBody>) -> ApiResult<Value> {
    let doc = app.collab.create(&user.actor(), &b.title, &b.editor_ids, &b.viewer_ids).await?;
    Ok(created(json!(doc)))
}

async fn get_doc(State(app): State<App>, user: AuthUser, Path(id): Path<String>) -> ApiResult<Value> {
    Ok(ok(json!(app.collab.get(&user.actor(), &id).await?)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MembersBody {
    editor_ids: Option<Vec<String>>,
    viewer_ids: Option<Vec<String>>,
}

/// The owner replaces the editors, the viewers, or both.
async fn set_members(State(app): State<App>, user: AuthUser, Path(id): Path<String>, Body(b): Body<MembersBody>) -> ApiResult<Value> {
    let doc = app.collab.set_members(&user.actor(), &id, b.editor_ids.as_deref(), b.viewer_ids.as_deref()).await?;
    Ok(ok(json!(doc)))
}
