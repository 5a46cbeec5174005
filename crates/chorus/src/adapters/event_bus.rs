//! The stream of domain events. Every event a service emits goes once to each consumer:
//! the observers first, which look at it and return at once (counters), then the sinks
//! in order, which deliver it (the native encoder). A new way of speaking (a seed
//! dialect's encoder) is one more sink, a new consumer of what happened (webhooks,
//! push) one more observer; no service changes for either.

use std::sync::Arc;

use async_trait::async_trait;

use crate::domain::events::DomainEvent;
use crate::ports::events::{EventObserver, EventSink};
use crate::ports::publisher::Audience;

/// Hands each domain event to every consumer.
pub struct EventBus {
    observers: Vec<Arc<dyn EventObserver>>,
    /// At least one; each but the last gets a copy of the event.
    sinks: Vec<Arc<dyn EventSink>>,
}

impl EventBus {
    /// `delivery` is the first sink; more sinks and observers are added with `and_…`.
    pub fn new(delivery: Arc<dyn EventSink>) -> Self {
        Self { observers: Vec::new(), sinks: vec![delivery] }
    }

    pub fn and_sink(mut self, sink: Arc<dyn EventSink>) -> Self {
        self.sinks.push(sink);
        self
    }

    pub fn and_observer(mut self, observer: Arc<dyn EventObserver>) -> Self {
        self.observers.push(observer);
        self
    }
}

#[async_trait]
impl EventSink for EventBus {
    async fn emit(&self, to: Audience, event: DomainEvent) {
        for observer in &self.observers {
            observer.observe(&to, &event);
        }
        let Some((last, others)) = self.sinks.split_last() else { return };
        for sink in others {
            sink.emit(to.clone(), event.clone()).await;
        }
        last.emit(to, event).await;
    }
}

#[cfg(test)]
mod tests {
    use parking_lot::Mutex;

    use super::*;
    use crate::domain::events::SocialEvent;
    use crate::domain::time::Timestamp;
    use crate::ports::publisher::Room;

    #[derive(Default)]
    struct Recorder(Mutex<Vec<(String, DomainEvent)>>);

    #[async_trait]
    impl EventSink for Recorder {
        async fn emit(&self, to: Audience, event: DomainEvent) {
            self.0.lock().push((format!("{to:?}"), event));
        }
    }

    impl EventObserver for Recorder {
        fn observe(&self, to: &Audience, event: &DomainEvent) {
            self.0.lock().push((format!("observed {to:?}"), event.clone()));
        }
    }

    #[tokio::test]
    async fn every_consumer_gets_each_event_once_observers_first_then_the_sinks_in_order() {
        let (first, second, watcher) = (Arc::new(Recorder::default()), Arc::new(Recorder::default()), Arc::new(Recorder::default()));
        let bus = EventBus::new(first.clone()).and_sink(second.clone()).and_observer(watcher.clone());
        let to = Audience::Room(Room::User("ann".into()));
        let event: DomainEvent = SocialEvent::LocationStopped { room_id: "r".into(), user_id: "ann".into(), at: Timestamp::now() }.into();
        bus.emit(to.clone(), event.clone()).await;
        bus.emit(Audience::Everyone, event.clone()).await;
        for sink in [&first, &second] {
            let got = sink.0.lock().clone();
            assert_eq!(got, vec![(format!("{to:?}"), event.clone()), (format!("{:?}", Audience::Everyone), event.clone())]);
        }
        assert_eq!(watcher.0.lock().len(), 2);
        assert_eq!(watcher.0.lock()[0].0, format!("observed {to:?}"));
    }
}
