//! Socket.IO transport: connection authentication, the command router and acks.

pub mod ack;
pub mod chat_commands;
pub mod collab_commands;
pub mod commands;
pub mod connect;
pub mod door;
pub mod drain;
pub mod expiry;
pub mod live_commands;
pub mod router;
pub mod social_commands;
