//! Cluster mode on Redis: one shared, self-reconnecting link; the Socket.IO adapter's
//! pub/sub driver; and the Redis implementations of the cluster-state ports.

pub mod adapter_driver;
pub mod event_codec;
pub mod event_log;
pub mod dirty_bus;
pub mod link;
pub mod session_records;
pub mod janitor;
pub mod keys;
pub mod limits;
pub mod node;
pub mod presence;
pub mod scripts;
pub mod sessions;
pub mod viewers;
