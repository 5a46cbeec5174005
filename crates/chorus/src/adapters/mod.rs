//! Implementations of the ports: SQL stores, the Socket.IO publisher, and the
//! in-memory cluster state of a single node.

pub mod event_bus;
pub mod event_metrics;
pub mod memory_cluster;
pub mod memory_event_log;
pub mod memory_limits;
pub mod moderation_webhook;
pub mod redis;
pub mod sequenced_publisher;
pub mod socketio_publisher;
pub mod sql;
pub mod webhooks;
pub mod wire;
