//! Traits the domain needs from the outside world. Adapters implement them; services
//! hold them as `Arc<dyn ...>` so one node and many nodes differ only in adapters.

pub mod chat_members;
pub mod chat_store;
pub mod collab_store;
pub mod event_log;
pub mod events;
pub mod cluster;
pub mod dirty;
pub mod limits;
pub mod outbox;
pub mod live_store;
pub mod publisher;
pub mod sanctions_store;
pub mod social_store;
pub mod store;
