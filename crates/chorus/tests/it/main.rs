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
mod limits;
mod location;
mod live;
mod sanctions;
mod security;
mod server_api;
mod social;
mod store;
mod support;
