//! The server API's view of the webhook outbox: the dead letters, and replaying one.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::envelope::{ApiResult, ok};
use super::extract::ServerCaller;
use crate::domain::time::Timestamp;
use crate::ports::outbox::FailedDelivery;
use crate::state::App;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/api/server/webhooks/failed", get(failed))
        .route("/api/server/webhooks/{id}/replay", post(replay))
}

#[derive(Deserialize)]
struct Page {
    after: Option<String>,
    limit: Option<u32>,
}

/// A dead letter as the API shows it: the body as JSON, not as text.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DeadLetter {
    id: String,
    endpoint: String,
    #[serde(rename = "type")]
    event_type: String,
    subject: String,
    attempts: u32,
    last_error: Option<String>,
    created_at: Timestamp,
    failed_at: Timestamp,
    body: Value,
}

impl From<FailedDelivery> for DeadLetter {
    fn from(f: FailedDelivery) -> Self {
        Self {
            body: serde_json::from_str(&f.body).unwrap_or(Value::String(f.body)),
            id: f.id,
            endpoint: f.endpoint,
            event_type: f.event_type,
            subject: f.subject,
            attempts: f.attempts,
            last_error: f.last_error,
            created_at: f.created_at,
            failed_at: f.failed_at,
        }
    }
}

/// `GET /api/server/webhooks/failed?after=&limit=`: dead letters, oldest first.
async fn failed(State(app): State<App>, _: ServerCaller, Query(page): Query<Page>) -> ApiResult<Value> {
    let failed = app.dead_letters.list(page.after.as_deref(), page.limit).await?;
    let full = page.limit.unwrap_or(50) as usize == failed.len();
    let next = if full { failed.last().map(|f| f.id.clone()) } else { None };
    let failed: Vec<DeadLetter> = failed.into_iter().map(DeadLetter::from).collect();
    Ok(ok(json!({ "failed": failed, "next": next })))
}

/// `POST /api/server/webhooks/{id}/replay`: the dead letter is owed again, at once,
/// under the same id, with a new deadline.
async fn replay(State(app): State<App>, _: ServerCaller, Path(id): Path<String>) -> ApiResult<Value> {
    app.dead_letters.replay(&id).await?;
    Ok(ok(json!({ "id": id, "replayed": true })))
}
