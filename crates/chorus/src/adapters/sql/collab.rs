//! Collaborative documents in SQL: documents, members, the Yjs update log and its
//! snapshots (binary as BLOB on SQLite, BYTEA on PostgreSQL); and the chat room
//! membership that a room call rings.

use async_trait::async_trait;
use sqlx::{AnyConnection, Row};

use super::{SqlStore, execute, store_error, vanished};
use crate::domain::collab::model::DocRole;
use crate::domain::time::Timestamp;
use crate::ports::chat_members::ChatMembers;
use crate::ports::collab_store::{CollabStore, DocAccess, DocRecord, LoggedUpdate, NewDoc, StoredContent};
use crate::ports::store::{StoreError, StoreResult};

async fn read_doc(conn: &mut AnyConnection, doc_id: &str) -> StoreResult<Option<DocRecord>> {
    let row = sqlx::query("SELECT id, title, owner_id, created_at FROM collab_docs WHERE id = $1")
        .bind(doc_id.to_owned())
        .fetch_optional(&mut *conn)
        .await
        .map_err(store_error)?;
    let Some(row) = row else { return Ok(None) };
    let members = sqlx::query("SELECT user_id, role FROM collab_members WHERE doc_id = $1 ORDER BY added_at, user_id")
        .bind(doc_id.to_owned())
        .fetch_all(&mut *conn)
        .await
        .map_err(store_error)?;
    let (mut editor_ids, mut viewer_ids) = (Vec::new(), Vec::new());
    for m in members {
        let user: String = m.try_get("user_id").map_err(store_error)?;
        match member_role(&m)? {
            DocRole::Viewer => viewer_ids.push(user),
            _ => editor_ids.push(user),
        }
    }
    Ok(Some(DocRecord {
        id: row.try_get("id").map_err(store_error)?,
        title: row.try_get("title").map_err(store_error)?,
        owner_id: row.try_get("owner_id").map_err(store_error)?,
        editor_ids,
        viewer_ids,
        created_at: Timestamp(row.try_get("created_at").map_err(store_error)?),
    }))
}

fn member_role(row: &sqlx::any::AnyRow) -> StoreResult<DocRole> {
    let role: String = row.try_get("role").map_err(store_error)?;
    DocRole::parse(&role).ok_or_else(|| StoreError::failure(format!("unknown document role {role}")))
}

async fn insert_members(conn: &mut AnyConnection, doc_id: &str, ids: &[String], role: DocRole, at: Timestamp) -> StoreResult<()> {
    for user in ids {
        let sql = "INSERT INTO collab_members (doc_id, user_id, role, added_at) VALUES ($1, $2, $3, $4)";
        execute(&mut *conn, sql, args![doc_id, user, role.as_str(), at.millis()]).await?;
    }
    Ok(())
}

#[async_trait]
impl CollabStore for SqlStore {
    async fn create_doc(&self, doc: &NewDoc) -> StoreResult<DocRecord> {
        let doc = doc.clone();
        transaction!(self, |conn| {
            let sql = "INSERT INTO collab_docs (id, title, owner_id, created_at) VALUES ($1, $2, $3, $4)";
            execute(&mut *conn, sql, args![&doc.id, &doc.title, &doc.owner_id, doc.at.millis()]).await?;
            insert_members(&mut *conn, &doc.id, &doc.editor_ids, DocRole::Editor, doc.at).await?;
            insert_members(&mut *conn, &doc.id, &doc.viewer_ids, DocRole::Viewer, doc.at).await?;
            read_doc(conn, &doc.id).await?.ok_or_else(|| vanished("document"))
        })
    }

    async fn doc(&self, doc_id: &str) -> StoreResult<Option<DocRecord>> {
        let mut conn = self.read.acquire().await.map_err(store_error)?;
        read_doc(&mut conn, doc_id).await
    }

    async fn access(&self, doc_id: &str, user_id: &str) -> StoreResult<Option<DocAccess>> {
        let row = sqlx::query(
            "SELECT d.owner_id, m.role FROM collab_docs d
             LEFT JOIN collab_members m ON m.doc_id = d.id AND m.user_id = $2 WHERE d.id = $1",
        )
        .bind(doc_id.to_owned())
        .bind(user_id.to_owned())
        .fetch_optional(&self.read)
        .await
        .map_err(store_error)?;
        let Some(row) = row else { return Ok(None) };
        let role: Option<String> = row.try_get("role").map_err(store_error)?;
        let role = match role {
            None => None,
            Some(r) => Some(DocRole::parse(&r).ok_or_else(|| StoreError::failure(format!("unknown document role {r}")))?),
        };
        Ok(Some(DocAccess { owner_id: row.try_get("owner_id").map_err(store_error)?, role }))
    }

    async fn set_members(&self, doc_id: &str, editor_ids: &[String], viewer_ids: &[String], at: Timestamp) -> StoreResult<Option<DocRecord>> {
        let (doc_id, editors, viewers) = (doc_id.to_owned(), editor_ids.to_vec(), viewer_ids.to_vec());
        transaction!(self, |conn| {
            let exists = sqlx::query("SELECT id FROM collab_docs WHERE id = $1")
                .bind(doc_id.clone())
                .fetch_optional(&mut *conn)
                .await
                .map_err(store_error)?
                .is_some();
            if !exists {
                return Ok(None);
            }
            // Members who keep their role keep their row (and their place in the lists).
            let current = sqlx::query("SELECT user_id, role FROM collab_members WHERE doc_id = $1")
                .bind(doc_id.clone())
                .fetch_all(&mut *conn)
                .await
                .map_err(store_error)?;
            let mut kept: Vec<String> = Vec::new();
            for row in current {
                let user: String = row.try_get("user_id").map_err(store_error)?;
                let wanted = if editors.contains(&user) {
                    Some(DocRole::Editor)
                } else if viewers.contains(&user) {
                    Some(DocRole::Viewer)
                } else {
                    None
                };
                if wanted == Some(member_role(&row)?) {
                    kept.push(user);
                } else {
                    execute(&mut *conn, "DELETE FROM collab_members WHERE doc_id = $1 AND user_id = $2", args![&doc_id, user]).await?;
                }
            }
            let new_editors: Vec<String> = editors.iter().filter(|u| !kept.contains(u)).cloned().collect();
            let new_viewers: Vec<String> = viewers.iter().filter(|u| !kept.contains(u)).cloned().collect();
            insert_members(&mut *conn, &doc_id, &new_editors, DocRole::Editor, at).await?;
            insert_members(&mut *conn, &doc_id, &new_viewers, DocRole::Viewer, at).await?;
            read_doc(conn, &doc_id).await
        })
    }

    async fn content(&self, doc_id: &str) -> StoreResult<StoredContent> {
        // The log first, then the snapshot: a compaction committing in between deletes
        // rows already read and stores a snapshot that includes them, so nothing
        // committed is missed (some updates may be read twice, which Yjs ignores).
        let rows = sqlx::query("SELECT seq, body FROM collab_updates WHERE doc_id = $1 ORDER BY seq")
            .bind(doc_id.to_owned())
            .fetch_all(&self.read)
            .await
            .map_err(store_error)?;
        let updates = rows
            .iter()
            .map(|r| Ok((r.try_get::<i64, _>("seq")?, r.try_get::<Vec<u8>, _>("body")?)))
            .collect::<Result<Vec<_>, sqlx::Error>>()
            .map_err(store_error)?;
        let snapshot = sqlx::query("SELECT state, through_seq FROM collab_snapshots WHERE doc_id = $1")
            .bind(doc_id.to_owned())
            .fetch_optional(&self.read)
            .await
            .map_err(store_error)?
            .map(|r| Ok::<_, sqlx::Error>((r.try_get::<Vec<u8>, _>("state")?, r.try_get::<i64, _>("through_seq")?)))
            .transpose()
            .map_err(store_error)?;
        Ok(StoredContent { snapshot, updates })
    }

    async fn append_update(&self, update: &LoggedUpdate) -> StoreResult<()> {
        let u = update.clone();
        let sql = "INSERT INTO collab_updates (doc_id, seq, body, user_id, created_at) VALUES ($1, $2, $3, $4, $5)";
        self.write_one(sql, args![u.doc_id, u.seq, u.body, u.user_id, u.at.millis()]).await?;
        Ok(())
    }

    async fn store_snapshot(&self, doc_id: &str, state: &[u8], through_seq: i64, at: Timestamp) -> StoreResult<()> {
        let (doc_id, state) = (doc_id.to_owned(), state.to_vec());
        transaction!(self, |conn| {
            // An older snapshot never replaces a newer one.
            let sql = "INSERT INTO collab_snapshots (doc_id, state, through_seq, updated_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (doc_id) DO UPDATE SET state = excluded.state, through_seq = excluded.through_seq,
                 updated_at = excluded.updated_at WHERE collab_snapshots.through_seq < excluded.through_seq";
            execute(&mut *conn, sql, args![&doc_id, state, through_seq, at.millis()]).await?;
            execute(&mut *conn, "DELETE FROM collab_updates WHERE doc_id = $1 AND seq <= $2", args![&doc_id, through_seq]).await?;
            Ok(())
        })
    }
}

#[async_trait]
impl ChatMembers for SqlStore {
    async fn chat_room_members(&self, room_id: &str) -> StoreResult<Option<Vec<String>>> {
        let rows = sqlx::query(
            "SELECT r.id, m.user_id FROM chat_rooms r LEFT JOIN chat_members m ON m.room_id = r.id
             WHERE r.id = $1 ORDER BY m.joined_at, m.user_id",
        )
        .bind(room_id.to_owned())
        .fetch_all(&self.read)
        .await
        .map_err(store_error)?;
        if rows.is_empty() {
            return Ok(None);
        }
        let mut members = Vec::with_capacity(rows.len());
        for row in rows {
            if let Some(user) = row.try_get::<Option<String>, _>("user_id").map_err(store_error)? {
                members.push(user);
            }
        }
        Ok(Some(members))
    }
}
