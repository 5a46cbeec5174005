//! The documents held in memory: loaded once on first use (concurrent first uses share
//! one load), bounded in number, and dropped when idle. A document with writes in
//! flight is never dropped; past the bound, loading another one is refused with
//! `unavailable` rather than growing without limit.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::sync::OnceCell;

use super::live_doc::LiveDoc;
use crate::domain::error::{DomainError, DomainResult};

/// A place for one document: empty while it loads.
type Slot = Arc<OnceCell<Arc<LiveDoc>>>;

/// Attempts at finding a current copy when copies keep being retired under us.
const MAX_ATTEMPTS: usize = 3;

/// Documents in memory, by id.
pub struct OpenDocs {
    slots: Mutex<HashMap<String, Slot>>,
    max_open: usize,
    idle_after: Duration,
}

impl OpenDocs {
    pub fn new(max_open: usize, idle_after: Duration) -> Self {
        Self { slots: Mutex::new(HashMap::new()), max_open: max_open.max(1), idle_after }
    }

    /// The current copy of a document, loading it with `load` when it is not in memory.
    /// `watched` tells which documents have connections joined: idle ones without are
    /// dropped first.
    pub async fn get<F, Fut>(&self, doc_id: &str, watched: &(dyn Fn(&str) -> bool + Sync), load: F) -> DomainResult<Arc<LiveDoc>>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = DomainResult<LiveDoc>>,
    {
        for _ in 0..MAX_ATTEMPTS {
            let slot = self.slot(doc_id, watched)?;
            let doc = slot.get_or_try_init(|| async { load().await.map(Arc::new) }).await?.clone();
            if !doc.is_retired() {
                return Ok(doc);
            }
            let mut slots = self.slots.lock();
            if slots.get(doc_id).is_some_and(|s| Arc::ptr_eq(s, &slot)) {
                slots.remove(doc_id);
            }
        }
        Err(DomainError::unavailable("the document is busy reloading, try again"))
    }

    /// Number of documents in memory (loaded or loading).
    pub fn len(&self) -> usize {
        self.slots.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The slot of a document, making one (and room for it) when there is none.
    fn slot(&self, doc_id: &str, watched: &(dyn Fn(&str) -> bool + Sync)) -> DomainResult<Slot> {
        let mut slots = self.slots.lock();
        if let Some(slot) = slots.get(doc_id) {
            return Ok(slot.clone());
        }
        let now = Instant::now();
        // Idle documents nobody watches go first, on every load.
        slots.retain(|id, slot| match slot.get() {
            Some(doc) if !watched(id) => !doc.try_retire(Some(self.idle_after), now),
            Some(doc) => !doc.is_retired(),
            None => true,
        });
        while slots.len() >= self.max_open {
            // Then the least recently used document that has nothing in flight.
            let mut candidates: Vec<(Instant, String)> =
                slots.iter().filter_map(|(id, slot)| slot.get().map(|doc| (doc.last_used(), id.clone()))).collect();
            candidates.sort();
            let evicted = candidates.into_iter().find(|(_, id)| slots.get(id).and_then(|s| s.get()).is_some_and(|doc| doc.try_retire(None, now)));
            match evicted {
                Some((_, id)) => {
                    slots.remove(&id);
                }
                None => return Err(DomainError::unavailable("too many documents are open, try again later")),
            }
        }
        let slot: Slot = Arc::new(OnceCell::new());
        slots.insert(doc_id.to_owned(), slot.clone());
        Ok(slot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::collab_store::StoredContent;

    async fn empty() -> DomainResult<LiveDoc> {
        Ok(LiveDoc::load("d", StoredContent::default()))
    }

    #[tokio::test]
    async fn a_loaded_document_is_reused_and_the_bound_evicts_the_least_recently_used() {
        let open = OpenDocs::new(2, Duration::from_secs(3600));
        let watched = |_: &str| true;
        let a = open.get("a", &watched, empty).await.unwrap();
        let again = open.get("a", &watched, || async { panic!("loaded twice") }).await.unwrap();
        assert!(Arc::ptr_eq(&a, &again));
        open.get("b", &watched, empty).await.unwrap();
        a.state().unwrap(); // "a" is now the most recently used
        open.get("c", &watched, empty).await.unwrap();
        assert_eq!(open.len(), 2);
        assert!(!a.is_retired(), "b was older and went first");
    }

    #[tokio::test]
    async fn idle_unwatched_documents_are_dropped_on_the_next_load() {
        let open = OpenDocs::new(10, Duration::ZERO);
        let a = open.get("a", &|_: &str| false, empty).await.unwrap();
        open.get("b", &|_: &str| false, empty).await.unwrap();
        assert!(a.is_retired());
        assert_eq!(open.len(), 1);
        let fresh = open.get("a", &|_: &str| false, empty).await.unwrap();
        assert!(!Arc::ptr_eq(&a, &fresh));
    }

    #[tokio::test]
    async fn documents_with_writes_in_flight_are_kept_past_the_bound() {
        let open = OpenDocs::new(1, Duration::from_secs(3600));
        let a = open.get("a", &|_: &str| false, empty).await.unwrap();
        let author = yrs::Doc::new();
        let update = {
            use yrs::{Text, Transact};
            let t = author.get_or_insert_text("t");
            let mut txn = author.transact_mut();
            t.insert(&mut txn, 0, "x");
            txn.encode_update_v1()
        };
        let applied = a.apply(super::super::live_doc::decode_update(&update).unwrap(), 100).unwrap();
        let refused = open.get("b", &|_: &str| false, empty).await;
        assert_eq!(refused.err().map(|e| e.code), Some(crate::domain::error::ErrorCode::Unavailable));
        a.settle(&applied, true);
        open.get("b", &|_: &str| false, empty).await.unwrap();
        assert!(a.is_retired());
    }
}
