//! Authentication of users (JWT) and of the app backend (server key).

pub mod jwks;
pub mod jwt;
pub mod secret;
