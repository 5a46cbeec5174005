//! The one ack envelope of PROTOCOL.md §2, and the `error` event for failed commands
//! sent without an ack.

use std::sync::Arc;

use serde::Serialize;
use serde_json::{Value, json};
use socketioxide::adapter::Adapter;
use socketioxide::extract::AckSender;
use socketioxide::handler::FromMessageParts;
use socketioxide::socket::Socket;

use crate::adapters::wire::native::session::{AckError, CommandFailed};
use crate::adapters::wire::native::wire;
use crate::domain::error::{DomainError, DomainResult};

/// Whether the client asked for an ack (socketioxide's `AckSender` does not say).
pub struct AckRequested(pub bool);

impl<A: Adapter> FromMessageParts<A> for AckRequested {
    type Error = std::convert::Infallible;
    fn from_message_parts(_: &Arc<Socket<A>>, _: &mut socketioxide::handler::Value, ack_id: &Option<i64>) -> Result<Self, Self::Error> {
        Ok(Self(ack_id.is_some()))
    }
}

/// The ack body for an error.
pub fn error_body(e: &DomainError) -> Value {
    let error = AckError { code: e.code, message: &e.message, retry_after_ms: e.retry_after_ms };
    json!({ "ok": false, "error": error })
}

/// Answers a command: the ack when one was asked for, else `error` on failure.
pub fn reply<A: Adapter, T: Serialize>(socket: &Socket<A>, ack: AckSender<A>, wanted: bool, event: &str, result: DomainResult<T>) {
    // Serialized here, once, so that a result that cannot be written is an `internal`
    // error rather than a panic inside `json!`.
    let result = result.and_then(|data| serde_json::to_value(data).map_err(|e| DomainError::internal(&e)));
    match result {
        Ok(data) => {
            if wanted
                && let Err(e) = ack.send(&json!({ "ok": true, "data": data })) {
                    tracing::debug!(event, error = %e, "ack not delivered");
                }
        }
        Err(e) => {
            if wanted {
                if let Err(err) = ack.send(&error_body(&e)) {
                    tracing::debug!(event, error = %err, "ack not delivered");
                }
            } else {
                let (name, body) = wire(&CommandFailed { event, code: e.code, message: &e.message, retry_after_ms: e.retry_after_ms });
                if let Err(err) = socket.emit(name, &body) {
                    tracing::debug!(event, error = %err, "error event not delivered");
                }
            }
        }
    }
}
