//! The one error model of Chorus: a machine-readable code for clients, a message for
//! people, and (for internal failures) a cause that goes to the log and never to a client.

use std::fmt;

/// Error codes of PROTOCOL.md §2; both the socket ack and the REST envelope carry them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    Conflict,
    RateLimited,
    Blocked,
    PayloadTooLarge,
    Unavailable,
    Internal,
}

impl ErrorCode {
    /// The wire spelling of the code.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadRequest => "bad_request",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::Conflict => "conflict",
            Self::RateLimited => "rate_limited",
            Self::Blocked => "blocked",
            Self::PayloadTooLarge => "payload_too_large",
            Self::Unavailable => "unavailable",
            Self::Internal => "internal",
        }
    }
}

/// What a refusal was caused by (a store's error, with the driver's below it): kept for
/// the log, never sent to a client. Shared, so a refusal stays cheap to clone.
pub type Cause = std::sync::Arc<dyn std::error::Error + Send + Sync>;

/// A failed command: what the client is told. Internal causes are logged where they
/// are converted and replaced by a generic message; the cause stays reachable through
/// [`std::error::Error::source`] (and [`DomainError::chain`]) for the log.
#[derive(Debug, Clone)]
pub struct DomainError {
    pub code: ErrorCode,
    pub message: String,
    /// Only for `rate_limited`: how long the client should wait.
    pub retry_after_ms: Option<u64>,
    /// What failed underneath, for the log; no part of what a client sees.
    pub cause: Option<Cause>,
}

/// Two refusals are the same when a client could not tell them apart: the cause is
/// for the log only.
impl PartialEq for DomainError {
    fn eq(&self, other: &Self) -> bool {
        self.code == other.code && self.message == other.message && self.retry_after_ms == other.retry_after_ms
    }
}

impl Eq for DomainError {}

/// Result of a domain operation.
pub type DomainResult<T> = Result<T, DomainError>;

impl DomainError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), retry_after_ms: None, cause: None }
    }
    /// The same refusal, keeping `cause` as its source.
    pub fn caused_by(self, cause: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self { cause: Some(std::sync::Arc::new(cause)), ..self }
    }
    /// The refusal and each of its causes, joined: what a log line carries.
    pub fn chain(&self) -> String {
        error_chain(self)
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadRequest, message)
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthorized, message)
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Conflict, message)
    }
    pub fn payload_too_large(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::PayloadTooLarge, message)
    }
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unavailable, message)
    }
    pub fn rate_limited(retry_after_ms: u64) -> Self {
        Self {
            code: ErrorCode::RateLimited,
            message: "too many requests".into(),
            retry_after_ms: Some(retry_after_ms),
            cause: None,
        }
    }
    /// An internal failure: the cause is logged here, the client sees a generic message.
    pub fn internal(cause: &dyn fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(ErrorCode::Internal, "internal error")
    }
}

impl fmt::Display for DomainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for DomainError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause.as_deref().map(|c| c as &(dyn std::error::Error + 'static))
    }
}

/// An error and each of its sources, joined by `": "`: one log field for the chain.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}
