//! The one ack envelope of PROTOCOL.md §2, and the `error` event for failed commands
//! sent without an ack.

use std::sync::Arc;

use serde::Serialize;
use serde_json::{Value, json};
use socketioxide::adapter::Adapter;
use socketioxide::extract::AckSender;
use socketioxide::handler::FromMessageParts;
use socketioxide::socket::Socket;

use crate::domain::error::{DomainError, DomainResult};

/// Whether the client asked for an ack (socketioxide's `AckSender` does not say).
pub struct AckRequested(pub bool);

impl<A: Adapter> FromMessageParts<A> for AckRequested {
    type Error = std::convert::Infallible;
    fn from_message_parts(_: &Arc<Socket<A>>, _: &mut socketioxide::handler::Value, ack_id: &Option<i64>) -> Result<Self, Self::Error> {
        Ok(Self(ack_id.is_some()))
    }
}

/// The `data` of a successful ack: a command's result as JSON.
pub fn ack_data<T: Serialize>(result: DomainResult<T>) -> DomainResult<Value> {
    serde_json::to_value(result?).map_err(|e| DomainError::internal(&e))
}

/// The ack body for an error.
pub fn error_body(e: &DomainError) -> Value {
    let mut error = json!({ "code": e.code.as_str(), "message": e.message });
    if let (Some(ms), Some(obj)) = (e.retry_after_ms, error.as_object_mut()) {
        obj.insert("retryAfterMs".into(), json!(ms));
    }
    json!({ "ok": false, "error": error })
}

/// Answers a command: the ack when one was asked for, else `error` on failure.
pub fn reply<A: Adapter, T: Serialize>(socket: &Socket<A>, ack: AckSender<A>, wanted: bool, event: &str, result: DomainResult<T>) {
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
                let mut body = json!({ "event": event, "code": e.code.as_str(), "message": e.message });
                if let (Some(ms), Some(obj)) = (e.retry_after_ms, body.as_object_mut()) {
                    obj.insert("retryAfterMs".into(), json!(ms));
                }
                if let Err(err) = socket.emit("error", &body) {
                    tracing::debug!(event, error = %err, "error event not delivered");
                }
            }
        }
    }
}
