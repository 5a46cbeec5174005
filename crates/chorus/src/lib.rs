//! Chorus: a self-hosted real-time engagement server. See README.md and DESIGN notes:
//! transport → domain services → ports → adapters, one direction only.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod adapters;
pub mod app;
pub mod auth;
pub mod background;
pub mod config;
pub mod domain;
pub mod lifecycle;
pub mod ports;
pub mod state;
pub mod telemetry;
pub mod transport;

pub use app::Application;
pub use config::Settings;
