//! HTTP: the REST routes (PROTOCOL.md §12), the server API (§11) and operations.

pub mod chat_rest;
pub mod chat_routes;
pub mod collab_routes;
pub mod connect_gate;
pub mod content_routes;
pub mod envelope;
pub mod extract;
pub mod live_routes;
pub mod origin_guard;
pub mod ops_routes;
pub mod server_routes;
pub mod slim_request;
pub mod social_routes;
pub mod video_rest;
pub mod webhook_routes;

use axum::Router;

use crate::state::App;

/// Every HTTP route of Chorus (the Socket.IO layer is added by the caller). The
/// server's `dialect` picks the shapes of the routes that dialect answers.
pub fn routes(app: App) -> Router {
    Router::new()
        .merge(content_routes::routes(app.dialect))
        .merge(chat_routes::routes(app.dialect))
        .merge(collab_routes::routes())
        .merge(live_routes::routes())
        .merge(server_routes::routes())
        .merge(webhook_routes::routes())
        .merge(social_routes::routes())
        .merge(ops_routes::routes())
        .fallback(envelope::not_found)
        .method_not_allowed_fallback(envelope::method_not_allowed)
        .with_state(app)
}
