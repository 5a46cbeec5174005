//! Collaborative documents (PROTOCOL.md §10): documents with an owner, editors and
//! viewers; content merged with yrs (the Rust port of Yjs, so browser editors built on
//! Yjs interoperate), stored as an update log compacted into snapshots, and relayed to
//! the others in `collab:{docId}`; awareness (cursors, selections) relayed and
//! forgotten when a client leaves. The socket commands and the REST routes both call
//! these functions; an update is durable before it is acknowledged or relayed.
//!
//! Documents live in memory on the node that serves them (loaded on first use from
//! snapshot + log, bounded, dropped when idle); several nodes serving one document
//! would each hold their own copy, so a deployment routes a document to one node.

pub mod live_doc;
pub mod model;
pub mod open_docs;
pub mod participants;

use std::sync::Arc;

use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde_json::Value;

use self::live_doc::{ApplyError, LiveDoc, decode_update};
use self::model::{CollabRules, DocRole, DocView, JoinedDoc};
use self::open_docs::OpenDocs;
use self::participants::{Participant, Participants};
use super::model::Actor;
use super::error::{DomainError, DomainResult};
use super::events::CollabEvent;
use super::text::{trimmed_text, valid_id};
use super::time::Timestamp;
use crate::ports::collab_store::{CollabStore, LoggedUpdate, NewDoc};
use crate::ports::events::EventSink;
use crate::ports::publisher::{Audience, ConnectionId, EventPublisher, Room};

/// Standard base64 as Yjs apps write it; padding optional on input, written on output.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Tries at applying an update when the document copy keeps being replaced.
const APPLY_ATTEMPTS: usize = 3;

/// The collaboration service.
pub struct CollabService {
    store: Arc<dyn CollabStore>,
    /// Joins and leaves of `collab:{docId}` rooms.
    publisher: Arc<dyn EventPublisher>,
    events: Arc<dyn EventSink>,
    open: OpenDocs,
    participants: Participants,
    rules: CollabRules,
}

impl CollabService {
    pub fn new(store: Arc<dyn CollabStore>, publisher: Arc<dyn EventPublisher>, events: Arc<dyn EventSink>, rules: CollabRules) -> Self {
        Self {
            open: OpenDocs::new(rules.max_open_docs, rules.idle_after),
            participants: Participants::default(),
            store,
            publisher,
            events,
            rules,
        }
    }

    pub fn rules(&self) -> &CollabRules {
        &self.rules
    }

    /// Documents held in memory now.
    pub fn open_docs(&self) -> usize {
        self.open.len()
    }

    /// `POST /api/docs`: the caller owns the new document.
    pub async fn create(&self, actor: &Actor, title: &str, editor_ids: &[String], viewer_ids: &[String]) -> DomainResult<DocView> {
        let me = &actor.identity.user_id;
        let title = trimmed_text("title", title, self.rules.max_title_chars)?;
        let editors = self.member_list("editorIds", me, editor_ids)?;
        let viewers = self.member_list("viewerIds", me, viewer_ids)?;
        if editors.iter().any(|e| viewers.contains(e)) {
            return Err(DomainError::bad_request("a user cannot be both an editor and a viewer"));
        }
        let record = self
            .store
            .create_doc(&NewDoc {
                id: uuid::Uuid::now_v7().to_string(),
                title,
                owner_id: me.clone(),
                editor_ids: editors,
                viewer_ids: viewers,
                at: Timestamp::now(),
            })
            .await?;
        Ok(DocView::new(record, DocRole::Owner))
    }

    /// `GET /api/docs/{id}`: members only.
    pub async fn get(&self, actor: &Actor, doc_id: &str) -> DomainResult<DocView> {
        let doc_id = valid_id("docId", doc_id)?;
        let record = self.store.doc(doc_id).await?.ok_or_else(unknown_doc)?;
        let role = DocRole::of(&actor.identity.user_id, &record).ok_or_else(not_a_member)?;
        Ok(DocView::new(record, role))
    }

    /// `POST /api/docs/{id}/members`: the owner replaces the editors, the viewers, or
    /// both. Someone named in one list leaves the other one. Joined connections of
    /// people who lost access leave the document.
    pub async fn set_members(&self, actor: &Actor, doc_id: &str, editor_ids: Option<&[String]>, viewer_ids: Option<&[String]>) -> DomainResult<DocView> {
        let doc_id = valid_id("docId", doc_id)?;
        let me = &actor.identity.user_id;
        if editor_ids.is_none() && viewer_ids.is_none() {
            return Err(DomainError::bad_request("send editorIds, viewerIds or both"));
        }
        let current = self.store.doc(doc_id).await?.ok_or_else(unknown_doc)?;
        if &current.owner_id != me {
            return Err(DomainError::forbidden("only the owner manages a document's members"));
        }
        let given_editors = editor_ids.map(|ids| self.member_list("editorIds", me, ids)).transpose()?;
        let given_viewers = viewer_ids.map(|ids| self.member_list("viewerIds", me, ids)).transpose()?;
        let editors_given = given_editors.is_some();
        let mut editors = given_editors.unwrap_or(current.editor_ids);
        let mut viewers = given_viewers.unwrap_or(current.viewer_ids);
        match (editors_given, viewer_ids.is_some()) {
            (true, true) if editors.iter().any(|e| viewers.contains(e)) => {
                return Err(DomainError::bad_request("a user cannot be both an editor and a viewer"));
            }
            (true, false) => viewers.retain(|v| !editors.contains(v)),
            (false, _) => editors.retain(|e| !viewers.contains(e)),
            (true, true) => {}
        }
        let record = self.store.set_members(doc_id, &editors, &viewers, Timestamp::now()).await?.ok_or_else(unknown_doc)?;
        let removed = self.participants.reassign(doc_id, |user| DocRole::of(user, &record));
        for (connection, user_id) in removed {
            self.publisher.leave(&connection, Room::Collab(doc_id.to_owned()));
            self.publish_gone(doc_id, &user_id, &connection).await;
        }
        Ok(DocView::new(record, DocRole::Owner))
    }

    /// `collab:join`: members get the whole document and join `collab:{docId}`.
    pub async fn join(&self, actor: &Actor, doc_id: &str) -> DomainResult<JoinedDoc> {
        let doc_id = valid_id("docId", doc_id)?;
        let connection = socket_of(actor)?;
        let me = &actor.identity.user_id;
        let role = self.role_from_store(doc_id, me).await?;
        let participant = Participant { user_id: me.clone(), role };
        if !self.participants.join(doc_id, connection, participant, self.rules.max_joined_per_connection) {
            return Err(DomainError::conflict(format!(
                "a connection may have at most {} documents open",
                self.rules.max_joined_per_connection
            )));
        }
        // Join the room before reading the state: an update committed meanwhile is then
        // either in the state or relayed to this connection (applying it twice is harmless).
        self.publisher.join(connection, Room::Collab(doc_id.to_owned()));
        match self.current_state(doc_id).await {
            Ok(state) => Ok(JoinedDoc { doc_id: doc_id.to_owned(), state: BASE64.encode(state), can_edit: role.can_edit(), role }),
            Err(e) => {
                self.participants.leave(doc_id, connection);
                self.publisher.leave(connection, Room::Collab(doc_id.to_owned()));
                Err(e)
            }
        }
    }

    /// `collab:leave`: the others get `collab:awareness` with `state: null`.
    pub async fn leave(&self, actor: &Actor, doc_id: &str) -> DomainResult<()> {
        let doc_id = valid_id("docId", doc_id)?;
        let connection = socket_of(actor)?;
        if let Some(left) = self.participants.leave(doc_id, connection) {
            self.publisher.leave(connection, Room::Collab(doc_id.to_owned()));
            self.publish_gone(doc_id, &left.user_id, connection).await;
        }
        Ok(())
    }

    /// `collab:update`: an editor's Yjs v1 update (base64) is merged, logged (durable
    /// before this returns) and relayed to the others as `collab:update`.
    pub async fn update(&self, actor: &Actor, doc_id: &str, update: &str) -> DomainResult<()> {
        let doc_id = valid_id("docId", doc_id)?;
        let me = &actor.identity.user_id;
        let role = match actor.connection.as_ref().and_then(|c| self.participants.get(doc_id, c)) {
            Some(p) => p.role,
            None => self.role_from_store(doc_id, me).await?,
        };
        if !role.can_edit() {
            return Err(DomainError::forbidden("viewers cannot edit this document"));
        }
        let bytes = self.decode_base64(update)?;
        decode_update(&bytes).map_err(DomainError::bad_request)?;

        let mut attempts = 0;
        let (doc, applied) = loop {
            attempts += 1;
            let doc = self.live(doc_id).await?;
            let decoded = decode_update(&bytes).map_err(DomainError::bad_request)?;
            match doc.apply(decoded, self.rules.compact_every) {
                Ok(applied) => break (doc, applied),
                Err(ApplyError::Invalid(e)) => return Err(DomainError::bad_request(format!("the update does not apply: {e}"))),
                Err(ApplyError::Retired) if attempts < APPLY_ATTEMPTS => continue,
                Err(ApplyError::Retired) => return Err(DomainError::unavailable("the document is busy reloading, try again")),
            }
        };
        let now = Timestamp::now();
        let written = match &applied.snapshot {
            Some(state) => self.store.store_snapshot(doc_id, state, applied.seq, now).await,
            None => {
                self.store
                    .append_update(&LoggedUpdate { doc_id: doc_id.to_owned(), seq: applied.seq, body: bytes.clone(), user_id: me.clone(), at: now })
                    .await
            }
        };
        doc.settle(&applied, written.is_ok());
        written?;

        let room = Room::Collab(doc_id.to_owned());
        let audience = match &actor.connection {
            Some(c) => Audience::RoomExcept(room, c.clone()),
            None => Audience::Room(room),
        };
        let updated = CollabEvent::Updated { doc_id: doc_id.to_owned(), update: bytes, user_id: me.clone() };
        self.events.emit(audience, updated.into()).await;
        Ok(())
    }

    /// `collab:awareness`: a joined client's cursor or selection (opaque JSON) goes to
    /// the others as `collab:awareness {docId, userId, state}`; nothing is stored.
    pub async fn awareness(&self, actor: &Actor, doc_id: &str, state: &Value) -> DomainResult<()> {
        let doc_id = valid_id("docId", doc_id)?;
        let connection = socket_of(actor)?;
        let Some(participant) = self.participants.get(doc_id, connection) else {
            return Err(DomainError::forbidden("join the document before sharing awareness"));
        };
        let size = serde_json::to_vec(state).map_err(|e| DomainError::internal(&e))?.len();
        if size > self.rules.max_awareness_bytes {
            return Err(DomainError::payload_too_large(format!("awareness state must be at most {} bytes", self.rules.max_awareness_bytes)));
        }
        let shared = CollabEvent::AwarenessShared { doc_id: doc_id.to_owned(), user_id: participant.user_id, state: state.clone() };
        self.events.emit(Audience::RoomExcept(Room::Collab(doc_id.to_owned()), connection.clone()), shared.into()).await;
        Ok(())
    }

    /// A socket closed: it leaves every document it joined, and the others forget its
    /// awareness.
    pub async fn connection_closed(&self, connection: &ConnectionId) {
        for (doc_id, participant) in self.participants.connection_closed(connection) {
            self.publish_gone(&doc_id, &participant.user_id, connection).await;
        }
    }

    /// Tells the others in a document that a client left (`collab:awareness` with
    /// `state: null`).
    async fn publish_gone(&self, doc_id: &str, user_id: &str, connection: &ConnectionId) {
        let gone = CollabEvent::AwarenessGone { doc_id: doc_id.to_owned(), user_id: user_id.to_owned() };
        self.events.emit(Audience::RoomExcept(Room::Collab(doc_id.to_owned()), connection.clone()), gone.into()).await;
    }

    /// The caller's role from the store: `not_found` for an unknown document,
    /// `forbidden` for a stranger.
    async fn role_from_store(&self, doc_id: &str, user_id: &str) -> DomainResult<DocRole> {
        let access = self.store.access(doc_id, user_id).await?.ok_or_else(unknown_doc)?;
        if access.owner_id == user_id {
            return Ok(DocRole::Owner);
        }
        access.role.ok_or_else(not_a_member)
    }

    /// The in-memory copy of a document, loaded from snapshot + log when needed.
    async fn live(&self, doc_id: &str) -> DomainResult<Arc<LiveDoc>> {
        let watched = |id: &str| self.participants.is_watched(id);
        let store = &self.store;
        self.open
            .get(doc_id, &watched, || async move {
                let content = store.content(doc_id).await?;
                Ok(LiveDoc::load(doc_id, content))
            })
            .await
    }

    /// The whole document as one Yjs v1 update.
    async fn current_state(&self, doc_id: &str) -> DomainResult<Vec<u8>> {
        for _ in 0..APPLY_ATTEMPTS {
            match self.live(doc_id).await?.state() {
                Ok(state) => return Ok(state),
                Err(ApplyError::Retired) => continue,
                Err(ApplyError::Invalid(e)) => return Err(DomainError::internal(&e)),
            }
        }
        Err(DomainError::unavailable("the document is busy reloading, try again"))
    }

    /// Base64 text of at most `max_update_bytes` bytes.
    fn decode_base64(&self, text: &str) -> DomainResult<Vec<u8>> {
        let max = self.rules.max_update_bytes;
        if text.len() / 4 * 3 > max + 3 {
            return Err(DomainError::payload_too_large(format!("an update must be at most {max} bytes")));
        }
        let bytes = BASE64.decode(text.trim()).map_err(|_| DomainError::bad_request("update must be base64 (a Yjs v1 update)"))?;
        if bytes.is_empty() {
            return Err(DomainError::bad_request("update is empty"));
        }
        if bytes.len() > max {
            return Err(DomainError::payload_too_large(format!("an update must be at most {max} bytes")));
        }
        Ok(bytes)
    }

    /// A list of member ids: valid, without duplicates or the owner, bounded.
    fn member_list(&self, field: &str, owner: &str, ids: &[String]) -> DomainResult<Vec<String>> {
        if ids.len() > self.rules.max_members {
            return Err(DomainError::bad_request(format!("{field} may name at most {} users", self.rules.max_members)));
        }
        let mut out: Vec<String> = Vec::with_capacity(ids.len());
        for id in ids {
            let id = valid_id(field, id)?;
            if id != owner && !out.iter().any(|x| x == id) {
                out.push(id.to_owned());
            }
        }
        Ok(out)
    }
}

fn socket_of(actor: &Actor) -> DomainResult<&ConnectionId> {
    actor.connection.as_ref().ok_or_else(|| DomainError::bad_request("this command needs a socket"))
}

fn unknown_doc() -> DomainError {
    DomainError::not_found("unknown document")
}

fn not_a_member() -> DomainError {
    DomainError::forbidden("you are not a member of this document")
}

