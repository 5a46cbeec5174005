//! Operations: liveness, readiness, Prometheus metrics, the OpenAPI document of the
//! HTTP routes and the AsyncAPI document of the Socket.IO protocol.

use std::sync::LazyLock;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

use crate::state::App;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .route("/openapi.json", get(openapi))
        .route("/asyncapi.json", get(asyncapi))
}

async fn healthz(State(app): State<App>) -> impl IntoResponse {
    if app.ready.load(Ordering::Acquire) { (StatusCode::OK, "ok") } else { (StatusCode::SERVICE_UNAVAILABLE, "starting") }
}

/// Readiness for load balancers. A node whose Redis is unreachable stays in rotation
/// (`degraded`): it still serves its own clients, only cross-node delivery pauses.
async fn readyz(State(app): State<App>) -> impl IntoResponse {
    if !app.ready.load(Ordering::Acquire) {
        return (StatusCode::SERVICE_UNAVAILABLE, axum::Json(serde_json::json!({ "status": "not_ready" })));
    }
    let (status, redis) = match &app.redis {
        None => ("ready", "off"),
        Some(link) if link.is_healthy() => ("ready", "ok"),
        Some(_) => ("degraded", "unreachable"),
    };
    (StatusCode::OK, axum::Json(serde_json::json!({ "status": status, "redis": redis, "database": "ok" })))
}

async fn metrics_text() -> impl IntoResponse {
    let body = crate::telemetry::render_metrics();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body)
}

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], include_str!("openapi.json"))
}

/// The AsyncAPI 3.0 document, generated once from the command and event tables.
static ASYNCAPI: LazyLock<String> =
    LazyLock::new(|| crate::transport::contract::asyncapi_text(&crate::transport::contract::Contract::build()));

async fn asyncapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], ASYNCAPI.as_str())
}
