//! One document held in memory: a yrs `Doc` (the Rust port of Yjs) fed with every
//! accepted update, plus the bookkeeping that keeps its durable log consistent: each
//! update gets the next sequence number, every `compact_every` updates the merged state
//! replaces the log, and a document with writes in flight is never dropped from memory
//! (a fresh copy would hand out sequence numbers already taken).
//!
//! Yjs updates commute and are idempotent, so the log order and an update present both
//! in a snapshot and in the log do not matter; what matters is that nothing
//! acknowledged is missing.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Instant;

use parking_lot::Mutex;
use yrs::updates::decoder::Decode;
use yrs::{Doc, ReadTxn, StateVector, Transact, Update};

use crate::ports::collab_store::StoredContent;

/// Why an update was not applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApplyError {
    /// This copy was dropped from memory meanwhile: load the document again.
    Retired,
    /// The bytes are not a Yjs v1 update this document accepts.
    Invalid(String),
}

/// What the caller must write after an update was applied in memory.
#[derive(Debug)]
pub struct Applied {
    /// The update's sequence number in the document's log.
    pub seq: i64,
    /// Set when the log is due for compaction: the merged state, which includes this
    /// update; write it instead of the update.
    pub snapshot: Option<Vec<u8>>,
}

/// A document in memory.
pub struct LiveDoc {
    inner: Mutex<DocState>,
}

struct DocState {
    doc: Doc,
    next_seq: i64,
    /// Updates logged since the last snapshot (the compaction trigger).
    log_len: usize,
    /// A snapshot write is in flight: no second one until it settles.
    compacting: bool,
    /// Updates applied here whose write has not settled.
    in_flight: usize,
    last_used: Instant,
    /// Dropped from the open documents: callers must load a fresh copy.
    retired: bool,
    /// An update failed half-way, so this copy may differ from what is stored: it is
    /// retired as soon as no write is in flight.
    poisoned: bool,
}

/// Decodes a Yjs v1 update; garbage is refused, never a panic.
pub fn decode_update(bytes: &[u8]) -> Result<Update, String> {
    // The first number of an update is its count of clients; a count larger than the
    // update itself is garbage, and decoding it would reserve memory for it first.
    match read_var_uint(bytes) {
        Some(clients) if clients <= bytes.len() as u64 => {}
        _ => return Err("not a Yjs v1 update".into()),
    }
    match catch_unwind(|| Update::decode_v1(bytes)) {
        Ok(Ok(update)) => Ok(update),
        Ok(Err(e)) => Err(format!("not a Yjs v1 update: {e}")),
        Err(_) => Err("not a Yjs v1 update".into()),
    }
}

/// A lib0 variable-length unsigned integer at the start of `bytes`.
fn read_var_uint(bytes: &[u8]) -> Option<u64> {
    let mut value: u64 = 0;
    for (i, byte) in bytes.iter().take(10).enumerate() {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// Applies one update inside a transaction; a panic inside yrs is an error here.
fn apply_to(doc: &Doc, update: Update) -> Result<(), String> {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let mut txn = doc.try_transact_mut().map_err(|e| e.to_string())?;
        txn.apply_update(update).map_err(|e| e.to_string())
    }));
    match outcome {
        Ok(result) => result,
        Err(_) => Err("the update could not be merged".into()),
    }
}

/// The whole document as one Yjs v1 update.
fn encode_state(doc: &Doc) -> Result<Vec<u8>, String> {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        doc.try_transact().map(|txn| txn.encode_state_as_update_v1(&StateVector::default())).map_err(|e| e.to_string())
    }));
    outcome.unwrap_or_else(|_| Err("the document could not be encoded".into()))
}

impl LiveDoc {
    /// Rebuilds a document from its snapshot and log. A stored update that no longer
    /// decodes is skipped and logged (it was valid when it was accepted).
    pub fn load(doc_id: &str, content: StoredContent) -> Self {
        let doc = Doc::new();
        let mut last_seq = 0;
        if let Some((state, through_seq)) = content.snapshot {
            last_seq = through_seq;
            if let Err(e) = decode_update(&state).and_then(|u| apply_to(&doc, u)) {
                tracing::error!(doc = %doc_id, error = %e, "stored snapshot could not be applied");
            }
        }
        let log_len = content.updates.len();
        for (seq, body) in content.updates {
            last_seq = last_seq.max(seq);
            if let Err(e) = decode_update(&body).and_then(|u| apply_to(&doc, u)) {
                tracing::error!(doc = %doc_id, seq, error = %e, "stored update could not be applied");
            }
        }
        Self {
            inner: Mutex::new(DocState {
                doc,
                next_seq: last_seq + 1,
                log_len,
                compacting: false,
                in_flight: 0,
                last_used: Instant::now(),
                retired: false,
                poisoned: false,
            }),
        }
    }

    /// The whole document as one Yjs v1 update; `Retired` when this copy is stale.
    pub fn state(&self) -> Result<Vec<u8>, ApplyError> {
        let mut s = self.inner.lock();
        if s.check_retired() {
            return Err(ApplyError::Retired);
        }
        s.last_used = Instant::now();
        encode_state(&s.doc).map_err(ApplyError::Invalid)
    }

    /// Merges an update and reserves its place in the log. The caller writes what
    /// `Applied` says and then calls `settle`, whatever the outcome.
    pub fn apply(&self, update: Update, compact_every: usize) -> Result<Applied, ApplyError> {
        let mut s = self.inner.lock();
        if s.check_retired() {
            return Err(ApplyError::Retired);
        }
        if let Err(e) = apply_to(&s.doc, update) {
            // The transaction may have merged part of the update: this copy is no longer
            // what the store holds.
            s.poisoned = true;
            return Err(ApplyError::Invalid(e));
        }
        let seq = s.next_seq;
        s.next_seq += 1;
        s.in_flight += 1;
        s.log_len += 1;
        s.last_used = Instant::now();
        let mut snapshot = None;
        if s.log_len >= compact_every && !s.compacting {
            match encode_state(&s.doc) {
                Ok(state) => {
                    s.compacting = true;
                    snapshot = Some(state);
                }
                Err(e) => tracing::warn!(error = %e, "compaction skipped"),
            }
        }
        Ok(Applied { seq, snapshot })
    }

    /// Records the outcome of the write that `apply` asked for.
    pub fn settle(&self, applied: &Applied, written: bool) {
        let mut s = self.inner.lock();
        s.in_flight = s.in_flight.saturating_sub(1);
        if applied.snapshot.is_some() {
            s.compacting = false;
            if written {
                // Updates logged while the snapshot was written have later sequence
                // numbers and stay in the log.
                s.log_len = s.next_seq.saturating_sub(applied.seq + 1).max(0) as usize;
            }
        }
    }

    /// Drops this copy from service if nothing is in flight and, when `idle_for` is
    /// given, it was unused that long. Returns whether it is retired now.
    pub fn try_retire(&self, idle_for: Option<std::time::Duration>, now: Instant) -> bool {
        let mut s = self.inner.lock();
        if s.retired {
            return true;
        }
        if s.in_flight > 0 || s.compacting {
            return false;
        }
        if idle_for.is_some_and(|idle| now.saturating_duration_since(s.last_used) < idle) {
            return false;
        }
        s.retired = true;
        true
    }

    /// True when callers must load a fresh copy.
    pub fn is_retired(&self) -> bool {
        self.inner.lock().check_retired()
    }

    pub fn last_used(&self) -> Instant {
        self.inner.lock().last_used
    }
}

impl DocState {
    /// Retires a poisoned copy once its writes settled.
    fn check_retired(&mut self) -> bool {
        if self.poisoned && self.in_flight == 0 && !self.compacting {
            self.retired = true;
        }
        self.retired
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use yrs::{GetString, Text};

    fn edit(doc: &Doc, at: u32, text: &str) -> Vec<u8> {
        let t = doc.get_or_insert_text("content");
        let mut txn = doc.transact_mut();
        t.insert(&mut txn, at, text);
        txn.encode_update_v1()
    }

    fn text_of(state: &[u8]) -> String {
        let doc = Doc::new();
        let t = doc.get_or_insert_text("content");
        doc.transact_mut().apply_update(Update::decode_v1(state).unwrap()).unwrap();
        t.get_string(&doc.transact())
    }

    #[test]
    fn garbage_is_not_an_update() {
        assert!(decode_update(b"").is_err());
        assert!(decode_update(b"not a yjs update at all").is_err());
        assert!(decode_update(&[0xff, 0xff, 0xff, 0xff, 0x0f]).is_err(), "a huge client count is refused up front");
        assert!(decode_update(&edit(&Doc::new(), 0, "ok")).is_ok());
    }

    #[test]
    fn updates_get_sequence_numbers_and_compaction_folds_the_log() {
        let live = LiveDoc::load("d", StoredContent::default());
        let author = Doc::new();
        let a = live.apply(decode_update(&edit(&author, 0, "ab")).unwrap(), 2).unwrap();
        assert_eq!((a.seq, a.snapshot.is_some()), (1, false));
        let b = live.apply(decode_update(&edit(&author, 2, "cd")).unwrap(), 2).unwrap();
        assert_eq!(b.seq, 2);
        let snapshot = b.snapshot.clone().expect("second update triggers compaction");
        assert_eq!(text_of(&snapshot), "abcd");
        // While the snapshot is in flight, no second compaction starts and nothing retires.
        let c = live.apply(decode_update(&edit(&author, 4, "e")).unwrap(), 2).unwrap();
        assert!(c.snapshot.is_none());
        assert!(!live.try_retire(None, Instant::now()));
        live.settle(&b, true);
        live.settle(&a, true);
        live.settle(&c, true);
        assert!(live.try_retire(None, Instant::now()));
        assert!(matches!(live.state(), Err(ApplyError::Retired)));
    }

    #[test]
    fn a_document_reloads_from_snapshot_and_log() {
        let author = Doc::new();
        let first = edit(&author, 0, "hello");
        let second = edit(&author, 5, " world");
        let content = StoredContent { snapshot: Some((first.clone(), 1)), updates: vec![(1, first), (2, second)] };
        let live = LiveDoc::load("d", content);
        assert_eq!(text_of(&live.state().unwrap()), "hello world");
        let next = live.apply(decode_update(&edit(&author, 11, "!")).unwrap(), 100).unwrap();
        assert_eq!(next.seq, 3);
    }

    #[test]
    fn idle_retirement_waits_for_the_idle_time() {
        let live = LiveDoc::load("d", StoredContent::default());
        let now = Instant::now();
        assert!(!live.try_retire(Some(std::time::Duration::from_secs(60)), now));
        assert!(live.try_retire(Some(std::time::Duration::ZERO), now));
    }
}
