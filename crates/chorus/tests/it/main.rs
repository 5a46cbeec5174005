//! Integration tests: a real node driven over the wire.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod auth;
mod authorization;
mod binary;
mod calls;
mod chat;
mod collab;
mod content;
mod errors;
mod hostile;
mod hostile_tokens;
mod contract;
mod generated_contract;
mod hostile_wire;
mod limits;
mod location;
mod parity;
mod live;
mod protocol_doc;
mod moderation_confusables;
mod sanctions;
mod security;
mod server_api;
mod social;
mod store;
mod support;
