//! How many sockets of each dialect this node holds, so the publisher asks only the
//! dialects in use for their encoding: on a node without dialect sockets a broadcast
//! costs one atomic load per dialect more than before.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::Dialect;

/// Open sockets per dialect on this node.
#[derive(Debug, Default)]
pub struct DialectCensus {
    open: [AtomicUsize; Dialect::ALL.len()],
}

impl DialectCensus {
    /// A socket of `dialect` opened.
    pub fn opened(&self, dialect: Dialect) {
        self.open[dialect.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// A socket of `dialect` closed.
    pub fn closed(&self, dialect: Dialect) {
        // Never below zero, even if a close were counted twice.
        let _ = self.open[dialect.index()].fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
    }

    /// The dialects with at least one open socket here.
    pub fn in_use(&self) -> impl Iterator<Item = Dialect> + '_ {
        Dialect::ALL.iter().copied().filter(|d| self.open[d.index()].load(Ordering::Relaxed) > 0)
    }

    /// Whether any dialect socket is open here.
    pub fn any(&self) -> bool {
        self.in_use().next().is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_open_sockets_per_dialect() {
        let census = DialectCensus::default();
        assert!(!census.any());
        census.opened(Dialect::Video);
        census.opened(Dialect::Video);
        census.closed(Dialect::Video);
        census.closed(Dialect::Chatnotify);
        assert_eq!(census.in_use().collect::<Vec<_>>(), vec![Dialect::Video]);
        census.closed(Dialect::Video);
        assert!(!census.any());
    }
}
