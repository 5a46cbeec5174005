//! Fuzzes the command parser: arbitrary bytes become an event name (up to the first
//! newline) and a JSON payload (the rest), which go through
//! `chorus::transport::commands::Command::parse`, the router's decoding and validation
//! without checks, services or I/O.
//!
//! Invariants: no panic; anything but a JSON object is refused; a parsed command has
//! the event's name; every refusal is a `bad_request` whose message is short, printable
//! and renders as an ack body.
#![no_main]

use chorus::domain::error::ErrorCode;
use chorus::transport::socket::ack::error_body;
use chorus::transport::commands::Command;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let (event, payload) = match data.iter().position(|b| *b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b"{}"[..]),
    };
    let Ok(event) = std::str::from_utf8(event) else { return };
    // What reaches the router is always valid JSON: the packet parser refuses the rest.
    let Ok(payload) = serde_json::from_slice::<Value>(payload) else { return };
    let parse = || Command::parse(event, payload.clone()).map(|command| command.name());
    let first = parse();
    assert_eq!(first, parse(), "decoding is deterministic");
    if !payload.is_object() {
        assert!(first.is_err(), "{event}: a non-object payload was accepted: {payload}");
    }
    if let Ok(name) = first {
        assert_eq!(name, event, "parsed as another command");
    }
    if let Err(e) = first {
        assert_eq!(e.code, ErrorCode::BadRequest, "{event}: {e}");
        assert!(!e.message.is_empty());
        // Serde's messages quote at most a short prefix of the input; event names are cut to 64.
        assert!(e.message.chars().count() <= 512, "{event}: an unbounded error message: {} chars", e.message.len());
        let body = error_body(&e);
        assert_eq!(body["ok"], Value::Bool(false));
        assert!(serde_json::to_string(&body).is_ok());
    }
});
