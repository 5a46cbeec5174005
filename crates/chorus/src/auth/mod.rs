//! Authentication of users (JWT) and of the app backend (server key).

pub mod jwt;
pub mod secret;
