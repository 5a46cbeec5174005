//! Coalescing of high-rate, idempotent updates: per content room at most one
//! `content:counts`, one `content:viewers` and one `content:view` per tick, and only
//! when something changed (DESIGN.md, performance principles). Services only mark an
//! item as changed; the flush reads the current values, so concurrent writes that
//! finish out of order can never leave a stale count as the last word.
//!
//! In a cluster each node sends these to its own connections only (they are snapshot
//! events, `DomainEvent::is_snapshot`),
//! reading the shared store and the cluster-wide viewer registry, so a receiver gets
//! one update per tick whatever the number of nodes; marks made here also go to the
//! other nodes (`share_into`), and theirs come in through `absorb`.

use std::collections::HashSet;
use std::sync::Arc;

use parking_lot::Mutex;

use super::events::ContentEvent;
use super::model::ContentId;
use super::time::Timestamp;
use crate::ports::cluster::ViewerRegistry;
use crate::ports::dirty::DirtyMarks;
use crate::ports::events::EventSink;
use crate::ports::publisher::{Audience, Room};
use crate::ports::store::ContentStore;

#[derive(Default)]
struct Pending {
    counts: HashSet<ContentId>,
    viewers: HashSet<ContentId>,
    views: HashSet<ContentId>,
}

#[derive(Default)]
struct Marks {
    /// What the next flush sends.
    pending: Pending,
    /// What changed here since the last exchange, for the other nodes.
    shared: Pending,
}

/// Collects what changed between ticks and publishes the current values on `flush`.
pub struct LiveCounts {
    store: Arc<dyn ContentStore>,
    viewers: Arc<dyn ViewerRegistry>,
    events: Arc<dyn EventSink>,
    marks: Mutex<Marks>,
}

impl LiveCounts {
    pub fn new(store: Arc<dyn ContentStore>, viewers: Arc<dyn ViewerRegistry>, events: Arc<dyn EventSink>) -> Self {
        Self { store, viewers, events, marks: Mutex::new(Marks::default()) }
    }

    /// The counters of an item changed.
    pub fn counts_changed(&self, id: &str) {
        let mut m = self.marks.lock();
        m.pending.counts.insert(id.to_owned());
        m.shared.counts.insert(id.to_owned());
    }

    /// The viewers of an item changed.
    pub fn viewers_changed(&self, id: &str) {
        let mut m = self.marks.lock();
        m.pending.viewers.insert(id.to_owned());
        m.shared.viewers.insert(id.to_owned());
    }

    /// A view of an item was counted.
    pub fn view_counted(&self, id: &str) {
        let m = &mut *self.marks.lock();
        for p in [&mut m.pending, &mut m.shared] {
            p.views.insert(id.to_owned());
            p.counts.insert(id.to_owned());
        }
    }

    /// Moves the marks made here since the last call into `out`.
    pub fn share_into(&self, out: &mut DirtyMarks) {
        let shared = std::mem::take(&mut self.marks.lock().shared);
        out.counts.extend(shared.counts);
        out.viewers.extend(shared.viewers);
        out.views.extend(shared.views);
    }

    /// Marks other nodes made: sent to this node's connections at the next flush.
    pub fn absorb(&self, marks: &DirtyMarks) {
        let p = &mut self.marks.lock().pending;
        p.counts.extend(marks.counts.iter().cloned());
        p.viewers.extend(marks.viewers.iter().cloned());
        p.views.extend(marks.views.iter().cloned());
    }

    /// Sends this node's connections the current values of everything that changed
    /// since the last flush. Called by the tick task.
    pub async fn flush(&self) {
        let pending = std::mem::take(&mut self.marks.lock().pending);
        let now = Timestamp::now();
        let ids: Vec<ContentId> = pending.viewers.into_iter().collect();
        let counts = self.viewers.viewer_counts(&ids).await;
        for (id, n) in ids.into_iter().zip(counts) {
            let content_type = self.type_of(&id).await;
            let viewers = ContentEvent::ViewersCounted { content_id: id.clone(), content_type, viewer_count: n };
            self.events.emit(Audience::Room(Room::Content(id)), viewers.into()).await;
        }
        for id in pending.counts {
            let c = match self.store.counts(&id).await {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e.chain(), "counts not read for coalesced update");
                    // Try again next tick.
                    self.marks.lock().pending.counts.insert(id);
                    continue;
                }
            };
            if pending.views.contains(&id) {
                let views = ContentEvent::ViewsCounted { content_id: id.clone(), views_count: c.views, at: now };
                self.events.emit(Audience::Room(Room::Content(id.clone())), views.into()).await;
            }
            let content_type = self.type_of(&id).await;
            let counts = ContentEvent::CountsChanged { content_id: id.clone(), content_type, counts: c };
            self.events.emit(Audience::Room(Room::Content(id)), counts.into()).await;
        }
    }

    /// The stored type of an item, for the events that carry it (`None` when it is
    /// not stored, or the store did not answer: the counts still go out).
    async fn type_of(&self, id: &str) -> Option<String> {
        match self.store.content(id).await {
            Ok(item) => item.map(|i| i.content_type),
            Err(e) => {
                tracing::warn!(error = %e.chain(), "content type not read for coalesced update");
                None
            }
        }
    }
}
