//! Coalescing of high-rate, idempotent updates: per content room at most one
//! `content:counts`, one `content:viewers` and one `content:view` per tick, and only
//! when something changed (DESIGN.md, performance principles). Services only mark an
//! item as changed; the flush reads the current values, so concurrent writes that
//! finish out of order can never leave a stale count as the last word.

use std::collections::HashSet;
use std::sync::Arc;

use parking_lot::Mutex;
use serde_json::json;

use super::model::ContentId;
use super::time::Timestamp;
use crate::ports::cluster::ViewerRegistry;
use crate::ports::publisher::{Audience, EventPublisher, Room};
use crate::ports::store::ContentStore;

#[derive(Default)]
struct Pending {
    counts: HashSet<ContentId>,
    viewers: HashSet<ContentId>,
    views: HashSet<ContentId>,
}

/// Collects what changed between ticks and publishes the current values on `flush`.
pub struct LiveCounts {
    store: Arc<dyn ContentStore>,
    viewers: Arc<dyn ViewerRegistry>,
    publisher: Arc<dyn EventPublisher>,
    pending: Mutex<Pending>,
}

impl LiveCounts {
    pub fn new(store: Arc<dyn ContentStore>, viewers: Arc<dyn ViewerRegistry>, publisher: Arc<dyn EventPublisher>) -> Self {
        Self { store, viewers, publisher, pending: Mutex::new(Pending::default()) }
    }

    /// The counters of an item changed.
    pub fn counts_changed(&self, id: &str) {
        self.pending.lock().counts.insert(id.to_owned());
    }

    /// The viewers of an item changed.
    pub fn viewers_changed(&self, id: &str) {
        self.pending.lock().viewers.insert(id.to_owned());
    }

    /// A view of an item was counted.
    pub fn view_counted(&self, id: &str) {
        let mut p = self.pending.lock();
        p.views.insert(id.to_owned());
        p.counts.insert(id.to_owned());
    }

    /// Publishes the current values of everything that changed since the last flush.
    /// Called by the tick task.
    pub async fn flush(&self) {
        let pending = std::mem::take(&mut *self.pending.lock());
        let now = Timestamp::now();
        for id in pending.viewers {
            let n = self.viewers.viewer_count(&id);
            self.publisher
                .publish(Audience::Room(Room::Content(id.clone())), "content:viewers", json!({ "contentId": id, "viewerCount": n }))
                .await;
        }
        for id in pending.counts {
            let c = match self.store.counts(&id).await {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "counts not read for coalesced update");
                    // Try again next tick.
                    self.pending.lock().counts.insert(id);
                    continue;
                }
            };
            if pending.views.contains(&id) {
                self.publisher
                    .publish(
                        Audience::Room(Room::Content(id.clone())),
                        "content:view",
                        json!({ "contentId": id, "viewsCount": c.views, "timestamp": now }),
                    )
                    .await;
            }
            self.publisher
                .publish(
                    Audience::Room(Room::Content(id.clone())),
                    "content:counts",
                    json!({ "contentId": id, "likes": c.likes, "comments": c.comments, "views": c.views, "shares": c.shares }),
                )
                .await;
        }
    }
}
