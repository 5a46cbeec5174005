//! The address rate of new Socket.IO connections (`connect_ip`), taken on the
//! Engine.IO handshake request, before a session exists.
//!
//! A refusal at this level is a transport error to the client (HTTP `429` on the
//! long-polling handshake or on the WebSocket upgrade), which the official clients
//! retry with their reconnection back-off. A refusal in the Socket.IO CONNECT
//! (`connect_error`) is final for socket.io-client v4: after a reconnect storm from one
//! address, the clients refused there would stay offline for good.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::envelope::ApiError;
use crate::domain::error::DomainError;
use crate::ports::limits::LimitClass;
use crate::state::App;

/// Whether `req` opens a new Engine.IO session: a `GET` under `/socket.io` without a
/// `sid` (later polls, posts and the WebSocket upgrade of a session carry one).
pub fn opens_session(method: &Method, path: &str, query: Option<&str>) -> bool {
    method == Method::GET
        && path.starts_with("/socket.io")
        && !query.unwrap_or("").split('&').any(|pair| pair == "sid" || pair.starts_with("sid="))
}

/// The middleware.
pub async fn gate(State(app): State<App>, req: Request, next: Next) -> Response {
    if opens_session(req.method(), req.uri().path(), req.uri().query())
        && let Some(ConnectInfo(peer)) = req.extensions().get::<ConnectInfo<SocketAddr>>()
        && let Err(wait_ms) = app.limits.check(LimitClass::ConnectIp, &peer.ip().to_string()).await
    {
        let refusal = DomainError { message: "too many new connections from this address".into(), ..DomainError::rate_limited(wait_ms) };
        return ApiError(refusal).into_response();
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_handshake_without_a_session_id_opens_a_session() {
        let get = Method::GET;
        assert!(opens_session(&get, "/socket.io/", Some("EIO=4&transport=polling&t=abc")));
        assert!(opens_session(&get, "/socket.io/", Some("EIO=4&transport=websocket")));
        assert!(opens_session(&get, "/socket.io/", None));
        assert!(!opens_session(&get, "/socket.io/", Some("EIO=4&transport=polling&sid=xyz")));
        assert!(!opens_session(&get, "/socket.io/", Some("sid=xyz&EIO=4&transport=websocket")));
        assert!(!opens_session(&Method::POST, "/socket.io/", Some("EIO=4&transport=polling&sid=xyz")));
        assert!(!opens_session(&get, "/api/contents", Some("EIO=4")));
        assert!(opens_session(&get, "/socket.io/", Some("EIO=4&sidecar=1")), "only the sid parameter counts");
    }
}
