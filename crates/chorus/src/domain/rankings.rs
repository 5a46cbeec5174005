//! Live rankings: subscribers of a scope get `ranking:update` whenever the top list
//! changes, at most once per tick. The list comes from the shared store, and each node
//! sends it to its own subscribers only; a like on another node reaches this one as a
//! dirty mark (`ports::dirty`), so every subscriber gets each change once.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use parking_lot::Mutex;

use super::error::{DomainError, DomainResult};
use super::events::ContentEvent;
use super::model::{RankedItem, RankingScope};
use crate::ports::dirty::DirtyMarks;
use crate::ports::events::EventSink;
use crate::ports::publisher::{Audience, ConnectionId, EventPublisher, Room};
use crate::ports::store::ContentStore;

/// Longest list a subscriber may ask for.
pub const MAX_RANKING_LIMIT: u32 = 100;

type Board = (RankingScope, u32);

#[derive(Default)]
struct Boards {
    /// Subscribed boards, their subscriber count and the list last sent.
    live: HashMap<Board, (usize, Vec<RankedItem>)>,
    by_connection: HashMap<ConnectionId, HashSet<Board>>,
    dirty: HashSet<RankingScope>,
    /// Scopes changed here, for the other nodes (whether or not this node has
    /// subscribers: theirs may).
    shared: HashSet<RankingScope>,
}

/// The subscribed rankings of this node.
pub struct Rankings {
    store: Arc<dyn ContentStore>,
    publisher: Arc<dyn EventPublisher>,
    events: Arc<dyn EventSink>,
    boards: Mutex<Boards>,
}

impl Rankings {
    pub fn new(store: Arc<dyn ContentStore>, publisher: Arc<dyn EventPublisher>, events: Arc<dyn EventSink>) -> Self {
        Self { store, publisher, events, boards: Mutex::new(Boards::default()) }
    }

    /// Subscribes a connection and returns the current list.
    pub async fn subscribe(&self, connection: &ConnectionId, scope: &str, limit: Option<i64>) -> DomainResult<Vec<RankedItem>> {
        let scope = RankingScope::parse(scope)
            .ok_or_else(|| DomainError::bad_request("scope must be type:{contentType} or owner:{userId}"))?;
        let limit = match limit {
            None => 10,
            Some(l) if (1..=i64::from(MAX_RANKING_LIMIT)).contains(&l) => l as u32,
            Some(_) => return Err(DomainError::bad_request(format!("limit must be 1-{MAX_RANKING_LIMIT}"))),
        };
        let items = self.store.top_content(&scope, limit).await?;
        let board = (scope.clone(), limit);
        {
            let mut b = self.boards.lock();
            if b.by_connection.entry(connection.clone()).or_default().insert(board.clone()) {
                let entry = b.live.entry(board).or_insert_with(|| (0, items.clone()));
                entry.0 += 1;
            }
        }
        self.publisher.join(connection, Room::Ranking { scope: scope.as_text(), limit });
        Ok(items)
    }

    pub fn unsubscribe(&self, connection: &ConnectionId, scope: &str) -> DomainResult<()> {
        let scope = RankingScope::parse(scope).ok_or_else(|| DomainError::bad_request("unknown scope"))?;
        let boards: Vec<Board> = {
            let mut b = self.boards.lock();
            let mine = b.by_connection.entry(connection.clone()).or_default();
            let leaving: Vec<Board> = mine.iter().filter(|(s, _)| *s == scope).cloned().collect();
            for board in &leaving {
                mine.remove(board);
            }
            for board in &leaving {
                release(&mut b, board);
            }
            leaving
        };
        for (s, limit) in boards {
            self.publisher.leave(connection, Room::Ranking { scope: s.as_text(), limit });
        }
        Ok(())
    }

    /// Forgets a closed connection.
    pub fn drop_connection(&self, connection: &ConnectionId) {
        let mut b = self.boards.lock();
        if let Some(mine) = b.by_connection.remove(connection) {
            for board in &mine {
                release(&mut b, board);
            }
        }
    }

    /// Likes changed in these scopes.
    pub fn mark_changed(&self, scopes: impl IntoIterator<Item = RankingScope>) {
        let mut b = self.boards.lock();
        for s in scopes {
            b.shared.insert(s.clone());
            mark(&mut b, s);
        }
    }

    /// Moves the scopes changed here since the last call into `out`.
    pub fn share_into(&self, out: &mut DirtyMarks) {
        let shared = std::mem::take(&mut self.boards.lock().shared);
        out.rankings.extend(shared.iter().map(RankingScope::as_text));
    }

    /// Scopes other nodes changed: refreshed at this node's next flush.
    pub fn absorb(&self, marks: &DirtyMarks) {
        let mut b = self.boards.lock();
        for text in &marks.rankings {
            if let Some(scope) = RankingScope::parse(text) {
                mark(&mut b, scope);
            }
        }
    }

    /// Recomputes the dirty boards and sends the ones whose list changed to this
    /// node's subscribers (every node does the same for its own).
    pub async fn flush(&self) {
        let work: Vec<Board> = {
            let mut b = self.boards.lock();
            let dirty = std::mem::take(&mut b.dirty);
            b.live.keys().filter(|(s, _)| dirty.contains(s)).cloned().collect()
        };
        for (scope, limit) in work {
            let items = match self.store.top_content(&scope, limit).await {
                Ok(items) => items,
                Err(e) => {
                    tracing::warn!(error = %e, "ranking refresh failed");
                    continue;
                }
            };
            let changed = {
                let mut b = self.boards.lock();
                match b.live.get_mut(&(scope.clone(), limit)) {
                    Some((_, last)) if *last != items => {
                        *last = items.clone();
                        true
                    }
                    _ => false,
                }
            };
            if changed {
                let text = scope.as_text();
                let room = Room::Ranking { scope: text.clone(), limit };
                self.events.emit(Audience::Room(room), ContentEvent::RankingChanged { scope: text, items }.into()).await;
            }
        }
    }
}

/// Marks a scope dirty if this node has subscribers of it.
fn mark(b: &mut Boards, scope: RankingScope) {
    if b.live.keys().any(|(s, _)| *s == scope) {
        b.dirty.insert(scope);
    }
}

fn release(b: &mut Boards, board: &Board) {
    if let Some(entry) = b.live.get_mut(board) {
        entry.0 = entry.0.saturating_sub(1);
        if entry.0 == 0 {
            b.live.remove(board);
        }
    }
}
