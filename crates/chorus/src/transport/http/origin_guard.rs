//! Origin policy of the Socket.IO handshakes (polling and WebSocket): a browser page
//! from a site that is not allowed cannot open a socket with its user's credentials
//! (cross-site WebSocket hijacking). Requests without an Origin (native apps) pass
//! unless configured otherwise.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::envelope::ApiError;
use crate::domain::error::DomainError;
use crate::state::App;

/// Whether `origin` may open a socket, given the allowed list and the request's Host.
pub fn origin_allowed(origin: &str, allowed: &[String], host: Option<&str>) -> bool {
    if allowed.iter().any(|a| a == "*" || a.eq_ignore_ascii_case(origin)) {
        return true;
    }
    // With no list, only the server's own origin (same host and port).
    allowed.is_empty()
        && host.is_some_and(|h| origin.split_once("://").is_some_and(|(_, rest)| rest.eq_ignore_ascii_case(h)))
}

fn refuse(message: &str) -> Response {
    ApiError(DomainError::forbidden(message)).into_response()
}

/// The middleware: checks `/socket.io/` requests only.
pub async fn guard(State(app): State<App>, req: Request, next: Next) -> Response {
    if req.uri().path().starts_with("/socket.io") {
        let headers: &HeaderMap = req.headers();
        match headers.get(header::ORIGIN).map(|v| v.to_str()) {
            Some(Ok(origin)) => {
                let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
                if !origin_allowed(origin, &app.settings.server.origins(), host) {
                    return refuse("origin not allowed");
                }
            }
            Some(Err(_)) => return refuse("origin not allowed"),
            None if !app.settings.server.allow_missing_origin => return refuse("an Origin header is required"),
            None => {}
        }
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_listed_or_same_origin_pages_may_connect() {
        let list = vec!["https://app.example".to_owned()];
        assert!(origin_allowed("https://app.example", &list, Some("chorus.example")));
        assert!(!origin_allowed("https://evil.example", &list, Some("chorus.example")));
        assert!(origin_allowed("http://127.0.0.1:3000", &[], Some("127.0.0.1:3000")));
        assert!(!origin_allowed("http://evil.example", &[], Some("127.0.0.1:3000")));
        assert!(origin_allowed("http://anything", &["*".to_owned()], None));
    }
}
