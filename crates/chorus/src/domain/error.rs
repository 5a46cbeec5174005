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

/// A failed command: what the client is told. Internal causes are logged where they
/// are converted and replaced by a generic message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainError {
    pub code: ErrorCode,
    pub message: String,
    /// Only for `rate_limited`: how long the client should wait.
    pub retry_after_ms: Option<u64>,
}

/// Result of a domain operation.
pub type DomainResult<T> = Result<T, DomainError>;

impl DomainError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), retry_after_ms: None }
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

impl std::error::Error for DomainError {}

impl From<crate::ports::store::StoreError> for DomainError {
    fn from(e: crate::ports::store::StoreError) -> Self {
        use crate::ports::store::StoreError;
        match &e {
            StoreError::Unavailable { .. } => {
                tracing::error!(error = %e.chain(), "store unavailable");
                Self::unavailable("storage is unavailable, try again")
            }
            StoreError::Conflict { .. } => {
                tracing::info!(error = %e.chain(), "store conflict");
                Self::conflict("it already exists")
            }
            StoreError::Failure { .. } => Self::internal(&e.chain()),
        }
    }
}
