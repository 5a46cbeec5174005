//! Dirty marks shared between nodes. Coalesced updates (counts, viewer numbers,
//! rankings, battle scores, stream metrics) are sent by every node to its own
//! connections only, reading cluster-wide values; what a node must learn from the
//! others is only *what changed*. Each tick a node sends the marks it made locally in
//! one message and folds in the marks the other nodes sent (DESIGN.md: coalescing).
//! On a single node there is no bus and nothing changes.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// What changed on one node since its last tick.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DirtyMarks {
    /// Content items whose counters changed.
    pub counts: BTreeSet<String>,
    /// Content items whose viewers changed.
    pub viewers: BTreeSet<String>,
    /// Content items that counted a view (`content:view`).
    pub views: BTreeSet<String>,
    /// Ranking scopes, as text, whose likes changed.
    pub rankings: BTreeSet<String>,
    /// Battles whose state or scores changed (each node reads them from the store).
    pub battles: BTreeSet<String>,
    /// Stream chat messages shown, per stream (the chat rate of `metrics:update`).
    pub chats: BTreeMap<String, u32>,
    /// `(stream, user)` bans: every node takes that user's connections out of the
    /// stream room (a node knows only its own connections).
    pub bans: BTreeSet<(String, String)>,
}

impl DirtyMarks {
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
            && self.viewers.is_empty()
            && self.views.is_empty()
            && self.rankings.is_empty()
            && self.battles.is_empty()
            && self.chats.is_empty()
            && self.bans.is_empty()
    }

    /// Adds `other`'s marks to these.
    pub fn merge(&mut self, other: DirtyMarks) {
        self.counts.extend(other.counts);
        self.viewers.extend(other.viewers);
        self.views.extend(other.views);
        self.rankings.extend(other.rankings);
        self.battles.extend(other.battles);
        for (stream, n) in other.chats {
            let c = self.chats.entry(stream).or_default();
            *c = c.saturating_add(n);
        }
        self.bans.extend(other.bans);
    }
}

/// Carries marks between the nodes of a cluster.
#[async_trait]
pub trait DirtyBus: Send + Sync {
    /// Sends this node's marks of one tick to the other nodes. Best effort: while the
    /// link is down marks are dropped, so the other nodes miss at most the updates of
    /// those ticks (the next change marks the item again).
    async fn send(&self, marks: &DirtyMarks);
    /// Takes the marks the other nodes sent since the last call.
    fn take_received(&self) -> DirtyMarks;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_adds_chat_counts_and_unions_the_rest() {
        let mut a = DirtyMarks::default();
        a.counts.insert("c1".into());
        a.chats.insert("s1".into(), 2);
        let mut b = DirtyMarks::default();
        b.counts.insert("c2".into());
        b.chats.insert("s1".into(), 3);
        b.bans.insert(("s1".into(), "u1".into()));
        a.merge(b);
        assert_eq!(a.counts.len(), 2);
        assert_eq!(a.chats["s1"], 5);
        assert!(!a.is_empty());
        assert!(DirtyMarks::default().is_empty());
        let text = serde_json::to_string(&a).unwrap_or_default();
        let back: DirtyMarks = serde_json::from_str(&text).unwrap_or_default();
        assert_eq!(back, a);
    }
}
