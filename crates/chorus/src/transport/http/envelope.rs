//! The REST envelope: `{success: true, data, message?}` or
//! `{success: false, error: {code, message}}` with the HTTP status to match.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;

use crate::domain::error::{DomainError, ErrorCode};

/// A successful response: its status, its `data`, and the top-level `message` that
/// only dialect routes send (docs/dialects.md §3.6).
pub struct ApiOk<T> {
    status: StatusCode,
    data: T,
    message: Option<&'static str>,
}

impl<T> ApiOk<T> {
    /// The same answer with a top-level `message` beside `data`.
    pub fn with_message(mut self, message: &'static str) -> Self {
        self.message = Some(message);
        self
    }
}

impl<T: Serialize> IntoResponse for ApiOk<T> {
    fn into_response(self) -> Response {
        match self.message {
            None => (self.status, Json(json!({ "success": true, "data": self.data }))).into_response(),
            Some(message) => (self.status, Json(json!({ "success": true, "data": self.data, "message": message }))).into_response(),
        }
    }
}

/// 200 with data.
pub fn ok<T: Serialize>(data: T) -> ApiOk<T> {
    ApiOk { status: StatusCode::OK, data, message: None }
}

/// 201 with data.
pub fn created<T: Serialize>(data: T) -> ApiOk<T> {
    ApiOk { status: StatusCode::CREATED, data, message: None }
}

/// A failed request.
#[derive(Debug)]
pub struct ApiError(pub DomainError);

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        Self(e)
    }
}

/// The HTTP status of an error code.
pub fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::BadRequest => StatusCode::BAD_REQUEST,
        ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
        ErrorCode::Forbidden => StatusCode::FORBIDDEN,
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::Conflict => StatusCode::CONFLICT,
        ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::Blocked => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let e = self.0;
        let mut error = json!({ "code": e.code.as_str(), "message": e.message });
        if let (Some(ms), Some(obj)) = (e.retry_after_ms, error.as_object_mut()) {
            obj.insert("retryAfterMs".into(), json!(ms));
        }
        let status = status_of(e.code);
        let mut response = (status, Json(json!({ "success": false, "error": error }))).into_response();
        if let Some(ms) = e.retry_after_ms {
            // RFC 9110 §10.2.3: whole seconds, rounded up so a client that waits them is let in.
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(ms.div_ceil(1000)));
        }
        if status == StatusCode::UNAUTHORIZED {
            // RFC 9110 §11.6.1: a 401 names the scheme that would get through (RFC 6750).
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// Result of a route.
pub type ApiResult<T> = Result<ApiOk<T>, ApiError>;

/// Unknown routes answer in the envelope too.
pub async fn not_found() -> ApiError {
    ApiError(DomainError::not_found("no such route"))
}

/// A known route called with the wrong method.
pub async fn method_not_allowed() -> axum::response::Response {
    let body = json!({ "success": false, "error": { "code": "bad_request", "message": "method not allowed on this route" } });
    (StatusCode::METHOD_NOT_ALLOWED, Json(body)).into_response()
}
