//! The events of one connection that the socket door sends itself rather than a
//! service (docs/protocol.md §1, §2): `session:ready` after the CONNECT, `error` for a
//! failed command sent without an ack, `auth:expired` before a disconnect for an
//! expired token.

use serde::Serialize;

use crate::domain::error::ErrorCode;
use crate::domain::time::Timestamp;

native_events! {
    /// The connection is ready: who it speaks for and whether it resumed a session.
    "session:ready" => SessionReady<'a> [to "connection"; unsequenced],
    /// A command sent without an ack callback failed.
    "error" => CommandFailed<'a> [to "connection"; unsequenced],
    /// The socket's token reached its expiry; the server disconnects it next.
    "auth:expired" => AuthExpired [to "connection"],
}

/// `session:ready`.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionReady<'a> {
    /// The user the socket speaks for (`guest-{sid}` for a guest).
    pub user_id: &'a str,
    /// The socket id, new on every connection.
    pub sid: &'a str,
    pub server_time: Timestamp,
    /// The resumable session (the same across resumes).
    pub session_id: Option<&'a str>,
    /// Whether this connection resumed the session and got its missed events.
    pub recovered: bool,
    /// The user's unread notifications (at most 1000; 0 for guests).
    pub unread_notifications: i64,
}

/// `error`: the failure of a command sent without an ack.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommandFailed<'a> {
    /// The command's event name.
    pub event: &'a str,
    pub code: ErrorCode,
    pub message: &'a str,
    /// Only with `rate_limited`: how long to wait.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
}

/// The `error` of a failed ack: `{ok: false, error: AckError}`.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AckError<'a> {
    pub code: ErrorCode,
    pub message: &'a str,
    /// Only with `rate_limited`: how long to wait.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
}

/// `auth:expired`: `{}`.
#[derive(Serialize, schemars::JsonSchema)]
pub struct AuthExpired {}
