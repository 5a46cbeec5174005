//! The native encoder: each domain event under its docs/protocol.md event name and
//! payload shape, one file per area. The one place those names and shapes are written
//! for the areas that emit domain events. The publisher behind it serializes each
//! broadcast once.

pub mod account;
pub mod calls;
pub mod chat;
pub mod collab;
pub mod content;
pub mod live;
pub mod social;

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

use crate::domain::events::DomainEvent;
use crate::ports::events::EventSink;
use crate::ports::publisher::{Audience, EventPublisher};

/// The event name and payload of `event` in the native protocol.
pub fn encode(event: &DomainEvent) -> (&'static str, Value) {
    match event {
        DomainEvent::Content(e) => content::encode(e),
        DomainEvent::Chat(e) => chat::encode(e),
        DomainEvent::Social(e) => social::encode(e),
        DomainEvent::Live(e) => live::encode(e),
        DomainEvent::Calls(e) => calls::encode(e),
        DomainEvent::Collab(e) => collab::encode(e),
        DomainEvent::Account(e) => account::encode(e),
    }
}

/// Delivers domain events in the native protocol through the publisher.
pub struct NativeEvents {
    publisher: Arc<dyn EventPublisher>,
}

impl NativeEvents {
    pub fn new(publisher: Arc<dyn EventPublisher>) -> Self {
        Self { publisher }
    }
}

#[async_trait]
impl EventSink for NativeEvents {
    async fn emit(&self, to: Audience, event: DomainEvent) {
        let (name, payload) = encode(&event);
        if event.is_snapshot() {
            self.publisher.publish_local(to, name, payload).await;
        } else {
            self.publisher.publish(to, name, payload).await;
        }
    }
}
