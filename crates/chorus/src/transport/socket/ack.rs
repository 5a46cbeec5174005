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
use crate::adapters::wire::dialect::ReplyShape;
use crate::adapters::wire::native::wire;
use crate::domain::error::{DomainError, DomainResult, ErrorCode};

/// Whether the client asked for an ack (socketioxide's `AckSender` does not say).
pub struct AckRequested(pub bool);

impl<A: Adapter> FromMessageParts<A> for AckRequested {
    type Error = std::convert::Infallible;
    fn from_message_parts(_: &Arc<Socket<A>>, _: &mut socketioxide::handler::Value, ack_id: &Option<i64>) -> Result<Self, Self::Error> {
        Ok(Self(ack_id.is_some()))
    }
}

/// Whether the event came without arguments (`socket.emit('feed:subscribe')`): the
/// packet's data is the bare `["name"]`. Read without parsing. With the JSON parser, a
/// packet with an argument has a comma after the name, so a short one without a comma
/// has none. With msgpack, the data is an array of one: its first byte is `fixarray 1`
/// (or the longer array headers with a length of 1, which no usual encoder writes).
pub struct Bare(pub bool);

impl<A: Adapter> FromMessageParts<A> for Bare {
    type Error = std::convert::Infallible;
    fn from_message_parts(_: &Arc<Socket<A>>, v: &mut socketioxide::handler::Value, _: &Option<i64>) -> Result<Self, Self::Error> {
        let bare = match v {
            socketioxide::handler::Value::Str(data, None) => data.len() <= 256 && !data.as_bytes().contains(&b','),
            socketioxide::handler::Value::Bytes(data) => matches!(data.as_ref(), [0x91, ..] | [0xdc, 0, 1, ..] | [0xdd, 0, 0, 0, 1, ..]),
            socketioxide::handler::Value::Str(..) => false,
        };
        Ok(Self(bare))
    }
}

/// The ack body for an error.
pub fn error_body(e: &DomainError) -> Value {
    let error = AckError { code: e.code, message: &e.message, retry_after_ms: e.retry_after_ms };
    json!({ "ok": false, "error": error })
}

/// How a dialect answers its client event: the reply's shape and the native payload
/// it is shaped from, and the refusal it answers with silence (`Decoded`).
#[derive(Default)]
pub struct Answer {
    pub shape: Option<ReplyShape>,
    pub request: Value,
    pub silent_refusal: Option<ErrorCode>,
}

/// Answers a dialect's client event. With an ack: the envelope, holding the dialect's
/// reply payload where it has one (else the native ack `data`). Without: the
/// dialect's reply event on success, if it has one; a failure as `error`, under the
/// client's own event name, unless the dialect answers that refusal with silence.
pub fn answer_in_dialect<A: Adapter>(socket: &Socket<A>, ack: AckSender<A>, wanted: bool, event: &str, result: DomainResult<Value>, answer: Answer) {
    let shaped = result.map(|data| match &answer.shape {
        Some(shape) => (Some(shape.event), (shape.shape)(&answer.request, data)),
        None => (None, data),
    });
    match shaped {
        Ok((Some(name), payload)) if !wanted => {
            if let Err(e) = socket.emit(name, &payload) {
                tracing::debug!(event = name, error = %e, "reply event not delivered");
            }
        }
        Ok((_, payload)) => reply(socket, ack, wanted, event, Ok(payload)),
        Err(e) if !wanted && answer.silent_refusal == Some(e.code) => {
            tracing::debug!(event, code = e.code.as_str(), "refusal answered by the dialect's own event");
        }
        Err(e) => reply::<A, Value>(socket, ack, wanted, event, Err(e)),
    }
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
