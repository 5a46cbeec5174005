//! Domain services: the rules of Chorus. No axum, no socketioxide, no SQL in here;
//! services talk to the world through the traits of `crate::ports`.

pub mod calls;
pub mod admission;
pub mod channels;
pub mod chat;
pub mod collab;
pub mod content;
pub mod dead_letters;
pub mod error;
pub mod events;
pub mod follows;
pub mod live;
pub mod live_counts;
pub mod location;
pub mod model;
pub mod moderation;
pub mod notification_draft;
pub mod notification_triggers;
pub mod notifications;
pub mod presence;
pub mod rankings;
pub mod resume;
pub mod sanctions;
pub mod text;
pub mod time;
pub mod typing;
pub mod users;
