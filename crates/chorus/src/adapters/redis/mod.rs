//! Cluster mode on Redis: one shared, self-reconnecting link; the Socket.IO adapter's
//! pub/sub driver; and the Redis implementations of the cluster-state ports.

pub mod adapter_driver;
pub mod link;
