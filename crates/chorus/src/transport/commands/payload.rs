//! Payload decoding: a command's payload is a JSON object of its shape, unknown fields
//! ignored, wrong types refused with a `bad_request` that never echoes much of the input.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::domain::error::{DomainError, DomainResult};

/// Decodes a command payload: a JSON object of the shape `P` (unknown fields ignored).
pub fn decode<P: DeserializeOwned>(data: Value) -> DomainResult<P> {
    if !data.is_object() {
        return Err(DomainError::bad_request("payload must be a JSON object"));
    }
    serde_json::from_value(data).map_err(|e| invalid_payload("invalid payload", &e))
}

/// A `bad_request` for a payload that does not decode. Serde quotes the offending value
/// in full (`invalid type: string "…"`), so the message is cut: an ack never echoes
/// a client's megabyte back.
pub fn invalid_payload(what: &str, cause: &dyn std::fmt::Display) -> DomainError {
    const MAX_CHARS: usize = 200;
    let cause = cause.to_string();
    let mut message = format!("{what}: {}", cause.chars().filter(|c| !c.is_control()).take(MAX_CHARS).collect::<String>());
    if cause.chars().count() > MAX_CHARS {
        message.push('…');
    }
    DomainError::bad_request(message)
}

/// The payload of commands that take no arguments: any JSON object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
pub struct NoArguments {}
