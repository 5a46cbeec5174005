//! Trims Socket.IO handshake requests before socketioxide keeps them. socketioxide
//! holds the upgrade request's URI and headers for the socket's whole life; their
//! bytes are slices of hyper's read buffer, which pins about 16 KB per connection.
//! Copying the few headers Chorus needs (and the URI, also kept by axum as
//! `OriginalUri`) into fresh buffers releases it.

use axum::extract::{OriginalUri, Request};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Uri, header};

/// Headers the Engine.IO handshake and Chorus's authentication read.
const KEPT: &[HeaderName] = &[
    header::AUTHORIZATION,
    header::ORIGIN,
    header::HOST,
    header::UPGRADE,
    header::CONNECTION,
    header::SEC_WEBSOCKET_KEY,
    header::SEC_WEBSOCKET_VERSION,
    header::SEC_WEBSOCKET_PROTOCOL,
    header::CONTENT_TYPE,
    header::CONTENT_LENGTH,
    header::TRANSFER_ENCODING,
];

/// Replaces the URI and headers of a `/socket.io/` request with owned copies.
pub fn slim(mut req: Request) -> Request {
    if !req.uri().path().starts_with("/socket.io") {
        return req;
    }
    let mut headers = HeaderMap::with_capacity(KEPT.len());
    for name in KEPT {
        for value in req.headers().get_all(name) {
            if let Ok(v) = HeaderValue::from_bytes(value.as_bytes()) {
                headers.append(name.clone(), v);
            }
        }
    }
    if let Some(v) = req.headers().get("x-forwarded-for").and_then(|v| HeaderValue::from_bytes(v.as_bytes()).ok()) {
        headers.insert(HeaderName::from_static("x-forwarded-for"), v);
    }
    tracing::trace!(kept = headers.len(), "handshake request slimmed");
    *req.headers_mut() = headers;
    let text = req.uri().to_string();
    if let Ok(uri) = text.parse::<Uri>() {
        // axum's router already kept a copy of the original URI in the extensions: a
        // slice of the same read buffer, so it is replaced by the owned copy too.
        if req.extensions().get::<OriginalUri>().is_some() {
            req.extensions_mut().insert(OriginalUri(uri.clone()));
        }
        *req.uri_mut() = uri;
    }
    req
}
