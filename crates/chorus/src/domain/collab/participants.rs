//! Who has joined which document, over which connection and with which role: the
//! awareness audience, the cached permission of each joined connection, and what a
//! closing connection leaves.

use std::collections::HashMap;

use parking_lot::Mutex;

use super::model::DocRole;
use crate::ports::publisher::ConnectionId;

/// One connection in one document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participant {
    pub user_id: String,
    pub role: DocRole,
}

#[derive(Default)]
struct Table {
    by_doc: HashMap<String, HashMap<ConnectionId, Participant>>,
    by_connection: HashMap<ConnectionId, Vec<String>>,
}

/// The joined connections of every document on this node.
#[derive(Default)]
pub struct Participants {
    table: Mutex<Table>,
}

impl Participants {
    /// Records a join (again: updates the role). Returns false when the connection is
    /// already in `max_docs` other documents.
    pub fn join(&self, doc_id: &str, connection: &ConnectionId, participant: Participant, max_docs: usize) -> bool {
        let mut t = self.table.lock();
        let docs = t.by_connection.entry(connection.clone()).or_default();
        if !docs.iter().any(|d| d == doc_id) {
            if docs.len() >= max_docs {
                if docs.is_empty() {
                    t.by_connection.remove(connection);
                }
                return false;
            }
            docs.push(doc_id.to_owned());
        }
        t.by_doc.entry(doc_id.to_owned()).or_default().insert(connection.clone(), participant);
        true
    }

    /// Removes one connection from one document; returns who it was.
    pub fn leave(&self, doc_id: &str, connection: &ConnectionId) -> Option<Participant> {
        let mut t = self.table.lock();
        let left = t.by_doc.get_mut(doc_id).and_then(|m| m.remove(connection));
        if t.by_doc.get(doc_id).is_some_and(HashMap::is_empty) {
            t.by_doc.remove(doc_id);
        }
        if let Some(docs) = t.by_connection.get_mut(connection) {
            docs.retain(|d| d != doc_id);
            if docs.is_empty() {
                t.by_connection.remove(connection);
            }
        }
        left
    }

    /// Removes a closed connection everywhere; returns each document it was in.
    pub fn connection_closed(&self, connection: &ConnectionId) -> Vec<(String, Participant)> {
        let mut t = self.table.lock();
        let docs = t.by_connection.remove(connection).unwrap_or_default();
        let mut out = Vec::with_capacity(docs.len());
        for doc_id in docs {
            if let Some(members) = t.by_doc.get_mut(&doc_id) {
                if let Some(p) = members.remove(connection) {
                    out.push((doc_id.clone(), p));
                }
                if members.is_empty() {
                    t.by_doc.remove(&doc_id);
                }
            }
        }
        out
    }

    /// The participant a connection is in a document, if it joined.
    pub fn get(&self, doc_id: &str, connection: &ConnectionId) -> Option<Participant> {
        self.table.lock().by_doc.get(doc_id).and_then(|m| m.get(connection)).cloned()
    }

    /// Whether any connection has joined the document.
    pub fn is_watched(&self, doc_id: &str) -> bool {
        self.table.lock().by_doc.contains_key(doc_id)
    }

    /// Applies new roles to the joined connections of a document (`None`: no longer a
    /// member); returns the connections that lost access, with their user.
    pub fn reassign(&self, doc_id: &str, role_of: impl Fn(&str) -> Option<DocRole>) -> Vec<(ConnectionId, String)> {
        let mut t = self.table.lock();
        let Some(members) = t.by_doc.get_mut(doc_id) else { return Vec::new() };
        let mut removed = Vec::new();
        members.retain(|connection, p| match role_of(&p.user_id) {
            Some(role) => {
                p.role = role;
                true
            }
            None => {
                removed.push((connection.clone(), p.user_id.clone()));
                false
            }
        });
        if members.is_empty() {
            t.by_doc.remove(doc_id);
        }
        for (connection, _) in &removed {
            if let Some(docs) = t.by_connection.get_mut(connection) {
                docs.retain(|d| d != doc_id);
                if docs.is_empty() {
                    t.by_connection.remove(connection);
                }
            }
        }
        removed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(user: &str, role: DocRole) -> Participant {
        Participant { user_id: user.into(), role }
    }

    #[test]
    fn joins_leaves_and_closes_keep_both_indexes_in_step() {
        let parts = Participants::default();
        let (c1, c2) = (ConnectionId("1".into()), ConnectionId("2".into()));
        assert!(parts.join("d1", &c1, p("ann", DocRole::Owner), 2));
        assert!(parts.join("d2", &c1, p("ann", DocRole::Editor), 2));
        assert!(!parts.join("d3", &c1, p("ann", DocRole::Editor), 2), "over the per-connection cap");
        assert!(parts.join("d1", &c1, p("ann", DocRole::Owner), 2), "joining again is fine");
        assert!(parts.join("d1", &c2, p("bob", DocRole::Viewer), 2));
        assert_eq!(parts.leave("d1", &c2), Some(p("bob", DocRole::Viewer)));
        assert_eq!(parts.leave("d1", &c2), None);
        let closed = parts.connection_closed(&c1);
        assert_eq!(closed.len(), 2);
        assert!(!parts.is_watched("d1") && !parts.is_watched("d2"));
    }

    #[test]
    fn reassigning_roles_drops_removed_members() {
        let parts = Participants::default();
        let (c1, c2) = (ConnectionId("1".into()), ConnectionId("2".into()));
        parts.join("d", &c1, p("ann", DocRole::Viewer), 5);
        parts.join("d", &c2, p("bob", DocRole::Editor), 5);
        let removed = parts.reassign("d", |u| (u == "ann").then_some(DocRole::Editor));
        assert_eq!(removed, vec![(c2.clone(), "bob".to_owned())]);
        assert_eq!(parts.get("d", &c1).map(|p| p.role), Some(DocRole::Editor));
        assert_eq!(parts.get("d", &c2), None);
    }
}
