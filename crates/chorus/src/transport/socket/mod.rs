//! Socket.IO transport: connection authentication, the command router, the executors
//! of each area's commands, and acks.

pub mod ack;
pub mod call_commands;
pub mod chat_commands;
pub mod collab_commands;
pub mod connect;
pub mod content_commands;
pub mod door;
pub mod drain;
pub mod expiry;
pub mod live_commands;
pub mod payload;
pub mod router;
pub mod session;
pub mod session_commands;
pub mod social_commands;
