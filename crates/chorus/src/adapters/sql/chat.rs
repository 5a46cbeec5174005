//! Chat in SQL. Sending is one statement: an insert that the unique
//! `(sender_id, client_msg_id)` index makes idempotent; on SQLite the writer stores a
//! whole batch of sends with one multi-row insert (`insert_batch`), and the send's
//! read (room kind, members, sender) is served from `chat_cache` (SQLite only). A room's last message and a
//! member's unread count are read from the `(room_id, id)` index, not kept on the
//! room, so a send writes no second row.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, AnyConnection, Executor, Row};

use super::chat_cache::CachedRoom;
use super::reactions::{ReactionTable, set_reaction};
use super::{SqlStore, execute, store_error, update_then_read, vanished};
use crate::domain::chat::model::{ChatMessage, ChatRoom, Location, MessageKind, RoomKind};
use crate::domain::model::UserSummary;
use crate::domain::time::Timestamp;
use crate::ports::chat_store::{
    ChatStore, MessageStored, NewMessage, NewRoom, ReadOutcome, RoomAccess, RoomRecord, SendContext,
};
use crate::ports::outbox::{Tells, Told};
use crate::ports::store::{ReactionOutcome, StoreError, StoreResult};

const MESSAGE_SELECT: &str = "SELECT m.id, m.room_id, m.sender_id, m.client_msg_id, m.kind, m.body, m.lat, m.lng,
    m.reply_to, m.created_at, m.edited_at, m.deleted_at, u.username, u.avatar, u.verified
    FROM chat_messages m LEFT JOIN users u ON u.id = m.sender_id";

fn broken(what: impl std::fmt::Display) -> StoreError {
    StoreError::failure(format!("unreadable chat row: {what}"))
}

fn room_kind(row: &AnyRow) -> StoreResult<RoomKind> {
    let kind: String = row.try_get("kind").map_err(store_error)?;
    RoomKind::parse(&kind).ok_or_else(|| broken(format!("room kind {kind}")))
}

/// A user summary from the `username, avatar, verified` columns of a `LEFT JOIN users`.
fn summary_from_row(row: &AnyRow, id: &str) -> Result<UserSummary, sqlx::Error> {
    let username: Option<String> = row.try_get("username")?;
    Ok(match username {
        Some(username) => UserSummary {
            id: id.to_owned(),
            username,
            avatar: row.try_get("avatar")?,
            verified: row.try_get::<Option<i64>, _>("verified")?.unwrap_or(0) != 0,
        },
        None => UserSummary::unknown(id),
    })
}

fn message_from_row(row: &AnyRow) -> StoreResult<ChatMessage> {
    let read = || -> Result<ChatMessage, sqlx::Error> {
        let sender_id: String = row.try_get("sender_id")?;
        let kind: String = row.try_get("kind")?;
        let lat: Option<f64> = row.try_get("lat")?;
        let lng: Option<f64> = row.try_get("lng")?;
        Ok(ChatMessage {
            id: row.try_get("id")?,
            room_id: row.try_get("room_id")?,
            sender: summary_from_row(row, &sender_id)?,
            kind: MessageKind::parse(&kind).ok_or_else(|| sqlx::Error::Decode(format!("message kind {kind}").into()))?,
            text: row.try_get("body")?,
            location: lat.zip(lng).map(|(lat, lng)| Location { lat, lng }),
            reply_to: row.try_get("reply_to")?,
            client_msg_id: row.try_get("client_msg_id")?,
            created_at: Timestamp(row.try_get("created_at")?),
            edited_at: row.try_get::<Option<i64>, _>("edited_at")?.map(Timestamp),
            deleted: row.try_get::<Option<i64>, _>("deleted_at")?.is_some(),
            reactions: BTreeMap::new(),
        })
    };
    read().map_err(store_error)
}

/// `$first, $first+1, …` for `n` values.
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// Reads messages by id, with their reactions.
async fn read_messages(conn: &mut AnyConnection, ids: &[String]) -> StoreResult<Vec<ChatMessage>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!("{MESSAGE_SELECT} WHERE m.id IN ({})", placeholders(1, ids.len()));
    let mut q = sqlx::query(&sql);
    for id in ids {
        q = q.bind(id.clone());
    }
    let rows = q.fetch_all(&mut *conn).await.map_err(store_error)?;
    let mut messages = rows.iter().map(message_from_row).collect::<StoreResult<Vec<_>>>()?;
    add_reactions(conn, &mut messages).await?;
    Ok(messages)
}

async fn read_message(conn: &mut AnyConnection, id: &str) -> StoreResult<Option<ChatMessage>> {
    Ok(read_messages(conn, &[id.to_owned()]).await?.pop())
}

/// Fills the reaction counts of a batch of messages in one query.
async fn add_reactions(conn: &mut AnyConnection, messages: &mut [ChatMessage]) -> StoreResult<()> {
    if messages.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "SELECT message_id, emoji, COUNT(*) AS n FROM chat_reactions WHERE message_id IN ({}) GROUP BY message_id, emoji",
        placeholders(1, messages.len())
    );
    let mut q = sqlx::query(&sql);
    for m in messages.iter() {
        q = q.bind(m.id.clone());
    }
    let mut counts: HashMap<String, BTreeMap<String, i64>> = HashMap::new();
    for row in q.fetch_all(conn).await.map_err(store_error)? {
        let id: String = row.try_get("message_id").map_err(store_error)?;
        let emoji: String = row.try_get("emoji").map_err(store_error)?;
        let n: i64 = row.try_get("n").map_err(store_error)?;
        counts.entry(id).or_default().insert(emoji, n);
    }
    for m in messages.iter_mut() {
        m.reactions = counts.remove(&m.id).unwrap_or_default();
    }
    Ok(())
}

async fn read_room(conn: &mut AnyConnection, room_id: &str) -> StoreResult<Option<RoomRecord>> {
    let row = sqlx::query("SELECT id, kind, title, created_at FROM chat_rooms WHERE id = $1")
        .bind(room_id.to_owned())
        .fetch_optional(&mut *conn)
        .await
        .map_err(store_error)?;
    let Some(row) = row else { return Ok(None) };
    let mut members = members_of(conn, std::slice::from_ref(&room_id.to_owned())).await?;
    Ok(Some(RoomRecord {
        id: row.try_get("id").map_err(store_error)?,
        kind: room_kind(&row)?,
        title: row.try_get("title").map_err(store_error)?,
        created_at: Timestamp(row.try_get("created_at").map_err(store_error)?),
        member_ids: members.remove(room_id).unwrap_or_default(),
    }))
}

/// Member ids of several rooms, ordered by id.
async fn members_of(conn: &mut AnyConnection, room_ids: &[String]) -> StoreResult<HashMap<String, Vec<String>>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    if room_ids.is_empty() {
        return Ok(out);
    }
    let sql = format!(
        "SELECT room_id, user_id FROM chat_members WHERE room_id IN ({}) ORDER BY room_id, user_id",
        placeholders(1, room_ids.len())
    );
    let mut q = sqlx::query(&sql);
    for id in room_ids {
        q = q.bind(id.clone());
    }
    for row in q.fetch_all(conn).await.map_err(store_error)? {
        let room: String = row.try_get("room_id").map_err(store_error)?;
        out.entry(room).or_default().push(row.try_get("user_id").map_err(store_error)?);
    }
    Ok(out)
}

async fn insert_members(conn: &mut AnyConnection, room_id: &str, user_ids: &[String], at: Timestamp) -> StoreResult<Vec<String>> {
    let mut added = Vec::new();
    for user in user_ids {
        let sql = "INSERT INTO chat_members (room_id, user_id, joined_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
        if execute(&mut *conn, sql, args![room_id, user, at.millis()]).await? == 1 {
            added.push(user.clone());
        }
    }
    Ok(added)
}

/// Binds a message's first six columns (`id` to `body`), the same in every insert of one.
fn bind_message_head<'q>(query: Query<'q, Any, AnyArguments<'q>>, m: &NewMessage) -> Query<'q, Any, AnyArguments<'q>> {
    query
        .bind(m.id.clone())
        .bind(m.room_id.clone())
        .bind(m.sender_id.clone())
        .bind(m.client_msg_id.clone())
        .bind(m.kind.as_str())
        .bind(m.text.clone())
}

/// Stores one message unless `(sender, clientMsgId)` exists; a message with
/// `join_sender` also makes its sender a member.
async fn insert_one(conn: &mut AnyConnection, m: &NewMessage) -> StoreResult<MessageStored> {
    // Coordinates are always bound as numbers, with a flag for "no location":
    // sqlx 0.8's `Any` sends a NULL f64 to PostgreSQL as a float4, which it refuses.
    let statement = sqlx::query(
        "INSERT INTO chat_messages (id, room_id, sender_id, client_msg_id, kind, body, lat, lng, reply_to, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $11 = 1 THEN $7 END, CASE WHEN $11 = 1 THEN $8 END, $9, $10)
         ON CONFLICT (sender_id, client_msg_id) DO NOTHING",
    );
    let inserted = bind_message_head(statement, m)
        .bind(m.location.map_or(0.0, |l| l.lat))
        .bind(m.location.map_or(0.0, |l| l.lng))
        .bind(m.reply_to.clone())
        .bind(m.at.millis())
        .bind(i64::from(m.location.is_some()))
        .execute(&mut *conn)
        .await
        .map_err(store_error)?
        .rows_affected()
        == 1;
    if !inserted {
        return duplicate_of(conn, m).await;
    }
    if m.join_sender {
        insert_members(&mut *conn, &m.room_id, std::slice::from_ref(&m.sender_id), m.at).await?;
    }
    Ok(MessageStored::New)
}

/// The stored message that a resent `(sender, clientMsgId)` collided with.
async fn duplicate_of(conn: &mut AnyConnection, m: &NewMessage) -> StoreResult<MessageStored> {
    let row = sqlx::query("SELECT id FROM chat_messages WHERE sender_id = $1 AND client_msg_id = $2")
        .bind(m.sender_id.clone())
        .bind(m.client_msg_id.clone())
        .fetch_one(&mut *conn)
        .await
        .map_err(store_error)?;
    let id: String = row.try_get("id").map_err(store_error)?;
    let stored = read_message(conn, &id).await?.ok_or_else(|| StoreError::failure("duplicate chat message vanished"))?;
    Ok(MessageStored::Duplicate(Box::new(stored)))
}

/// `(?, ?, …)` with `n` anonymous SQLite parameters. The batch statements have
/// thousands of parameters: SQLite looks up each named one (`$n`, and `?n` too when
/// sqlx asks its name) by a linear scan of the statement's parameter list, which made
/// preparing and binding a 256-row insert quadratic (a third of the writer thread's
/// time in `sqlite3_bind_parameter_name` and `strncmp`); anonymous ones have no list.
fn anonymous_placeholders(n: usize) -> String {
    format!("({})", vec!["?"; n].join(", "))
}

/// Columns of one message row in `insert_batch`'s statement.
const MESSAGE_COLUMNS: usize = 10;

/// Stores a batch of messages (none with `join_sender`) inside the SQLite writer's
/// transaction: one multi-row `INSERT` for the whole batch instead of a statement and a
/// savepoint step per message, each a round trip to sqlx's SQLite thread. Returns one
/// outcome per message, in order. When the statement fails (a row it cannot store),
/// the messages are stored one by one, each in its own savepoint, so one bad message
/// does not fail the others. SQLite only: the coordinates are bound as nullable floats.
pub(super) async fn insert_batch(conn: &mut AnyConnection, messages: &[NewMessage]) -> Vec<StoreResult<MessageStored>> {
    if messages.is_empty() {
        return Vec::new();
    }
    match insert_rows(conn, messages).await {
        Ok(n) if n == messages.len() as u64 => messages.iter().map(|_| Ok(MessageStored::New)).collect(),
        // Some were resent `(sender, clientMsgId)`s: the ids that are not stored are
        // the duplicates, answered with the message stored first.
        Ok(_) => match stored_ids(conn, messages).await {
            Ok(stored) => {
                let mut out = Vec::with_capacity(messages.len());
                for m in messages {
                    out.push(if stored.contains(&m.id) { Ok(MessageStored::New) } else { duplicate_of(conn, m).await });
                }
                out
            }
            Err(e) => messages.iter().map(|_| Err(StoreError::failure(format!("telling duplicates apart: {e}")))).collect(),
        },
        Err(e) => {
            tracing::warn!(error = %e, messages = messages.len(), "batched message insert failed; storing one by one");
            let mut out = Vec::with_capacity(messages.len());
            for m in messages {
                out.push(insert_in_savepoint(conn, m).await);
            }
            out
        }
    }
}

async fn insert_rows(conn: &mut AnyConnection, messages: &[NewMessage]) -> StoreResult<u64> {
    let sql = insert_rows_sql(messages.len());
    Ok(bind_rows(sqlx::query(&sql), messages).execute(&mut *conn).await.map_err(store_error)?.rows_affected())
}

fn insert_rows_sql(n: usize) -> String {
    let rows = vec![anonymous_placeholders(MESSAGE_COLUMNS); n].join(", ");
    format!(
        "INSERT INTO chat_messages (id, room_id, sender_id, client_msg_id, kind, body, lat, lng, reply_to, created_at)
         VALUES {rows} ON CONFLICT (sender_id, client_msg_id) DO NOTHING"
    )
}

fn bind_rows<'q>(query: Query<'q, Any, AnyArguments<'q>>, messages: &[NewMessage]) -> Query<'q, Any, AnyArguments<'q>> {
    // Not kept prepared: the text differs with the batch size, and keeping every size
    // would evict the statements that do repeat.
    let mut q = query.persistent(false);
    for m in messages {
        q = bind_message_head(q, m)
            .bind(m.location.map(|l| l.lat))
            .bind(m.location.map(|l| l.lng))
            .bind(m.reply_to.clone())
            .bind(m.at.millis());
    }
    q
}

/// Which of the batch's new message ids are stored (inside the batch's transaction).
async fn stored_ids(conn: &mut AnyConnection, messages: &[NewMessage]) -> StoreResult<std::collections::HashSet<String>> {
    let sql = format!("SELECT id FROM chat_messages WHERE id IN {}", anonymous_placeholders(messages.len()));
    let mut q = sqlx::query(&sql).persistent(false);
    for m in messages {
        q = q.bind(m.id.clone());
    }
    q.fetch_all(conn).await.map_err(store_error)?.iter().map(|r| r.try_get::<String, _>("id").map_err(store_error)).collect()
}

async fn insert_in_savepoint(conn: &mut AnyConnection, m: &NewMessage) -> StoreResult<MessageStored> {
    conn.execute("SAVEPOINT chorus_message").await.map_err(store_error)?;
    let result = insert_one(conn, m).await;
    let end = if result.is_ok() { "RELEASE chorus_message" } else { "ROLLBACK TO chorus_message; RELEASE chorus_message" };
    if let Err(e) = conn.execute(end).await {
        tracing::error!(error = %e, "message savepoint handling failed");
    }
    result
}

/// Messages of others after a member's read position; deleted ones do not count.
const UNREAD_COUNT: &str = "SELECT COUNT(*) FROM chat_messages x
    WHERE x.room_id = me.room_id AND x.id > COALESCE(me.last_read_id, '') AND x.sender_id <> me.user_id AND x.deleted_at IS NULL";

impl SqlStore {
    /// After a write that may change a room's members, whatever its outcome.
    fn forget_room(&self, room_id: &str) {
        if let Some(cache) = &self.chat_cache {
            cache.forget_room(room_id);
        }
    }

    /// After a write of a user's profile, whatever its outcome.
    pub(super) fn forget_chat_sender(&self, user_id: &str) {
        if let Some(cache) = &self.chat_cache {
            cache.forget_user(user_id);
        }
    }
}

#[async_trait]
impl ChatStore for SqlStore {
    async fn create_room(&self, room: &NewRoom) -> StoreResult<(RoomRecord, bool)> {
        let room_id = room.id.clone();
        let room = room.clone();
        let created = transaction!(self, |conn| {
            let sql = "INSERT INTO chat_rooms (id, kind, title, direct_key, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT DO NOTHING";
            let args = args![&room.id, room.kind.as_str(), room.title.clone(), room.direct_key.clone(), &room.created_by, room.at.millis()];
            let inserted = execute(&mut *conn, sql, args).await? == 1;
            let room_id = if inserted {
                insert_members(&mut *conn, &room.id, &room.member_ids, room.at).await?;
                room.id.clone()
            } else {
                // Only a direct room can collide (on its pair key): return that one.
                let key = room.direct_key.clone().ok_or_else(|| StoreError::failure("room id collision"))?;
                sqlx::query("SELECT id FROM chat_rooms WHERE direct_key = $1")
                    .bind(key)
                    .fetch_one(&mut *conn)
                    .await
                    .and_then(|r| r.try_get::<String, _>("id"))
                    .map_err(store_error)?
            };
            let record = read_room(conn, &room_id).await?.ok_or_else(|| vanished("chat room"))?;
            Ok((record, inserted))
        });
        // A new room id cannot be cached yet; forgetting keeps "every write of
        // chat_members forgets" true without exceptions.
        self.forget_room(&room_id);
        created
    }

    async fn room(&self, room_id: &str) -> StoreResult<Option<RoomRecord>> {
        let mut conn = self.read.acquire().await.map_err(store_error)?;
        read_room(&mut conn, room_id).await
    }

    async fn access(&self, room_id: &str, user_id: &str) -> StoreResult<Option<RoomAccess>> {
        let row = sqlx::query(
            "SELECT r.kind, m.user_id FROM chat_rooms r LEFT JOIN chat_members m ON m.room_id = r.id AND m.user_id = $2 WHERE r.id = $1",
        )
        .bind(room_id.to_owned())
        .bind(user_id.to_owned())
        .fetch_optional(&self.read)
        .await
        .map_err(store_error)?;
        let Some(row) = row else { return Ok(None) };
        let member: Option<String> = row.try_get("user_id").map_err(store_error)?;
        Ok(Some(RoomAccess { kind: room_kind(&row)?, is_member: member.is_some() }))
    }

    async fn send_context(&self, room_id: &str, sender_id: &str) -> StoreResult<Option<SendContext>> {
        if let Some((room, sender)) = self.chat_cache.as_ref().and_then(|c| c.get(room_id, sender_id)) {
            return Ok(Some(SendContext { kind: room.kind, member_ids: room.member_ids.clone(), sender }));
        }
        let generation = self.chat_cache.as_ref().map(|c| c.generation());
        let rows = sqlx::query(
            "SELECT r.kind, m.user_id, u.username, u.avatar, u.verified FROM chat_rooms r
             LEFT JOIN chat_members m ON m.room_id = r.id
             LEFT JOIN users u ON u.id = $2
             WHERE r.id = $1",
        )
        .bind(room_id.to_owned())
        .bind(sender_id.to_owned())
        .fetch_all(&self.read)
        .await
        .map_err(store_error)?;
        let Some(first) = rows.first() else { return Ok(None) };
        let kind = room_kind(first)?;
        let sender = summary_from_row(first, sender_id).map_err(store_error)?;
        let member_ids = rows
            .iter()
            .filter_map(|r| r.try_get::<Option<String>, _>("user_id").transpose())
            .collect::<Result<Vec<_>, _>>()
            .map_err(store_error)?;
        if let (Some(cache), Some(generation)) = (&self.chat_cache, generation) {
            cache.fill(generation, room_id, CachedRoom { kind, member_ids: member_ids.clone() }, &sender);
        }
        Ok(Some(SendContext { kind, member_ids, sender }))
    }

    async fn rooms_of(&self, user_id: &str, room_id: Option<&str>) -> StoreResult<Vec<ChatRoom>> {
        let mut conn = self.read.acquire().await.map_err(store_error)?;
        let sql = format!(
            "SELECT r.id, r.kind, r.title, r.created_at,
               (SELECT MAX(x.id) FROM chat_messages x WHERE x.room_id = r.id) AS last_id,
               ({UNREAD_COUNT}) AS unread
             FROM chat_members me JOIN chat_rooms r ON r.id = me.room_id
             WHERE me.user_id = $1 AND ($2 = '' OR r.id = $2)"
        );
        let rows = sqlx::query(&sql)
            .bind(user_id.to_owned())
            .bind(room_id.unwrap_or_default().to_owned())
            .fetch_all(&mut *conn)
            .await
            .map_err(store_error)?;
        let mut rooms = Vec::with_capacity(rows.len());
        let mut last_ids = Vec::new();
        for row in &rows {
            let last_id: Option<String> = row.try_get("last_id").map_err(store_error)?;
            let room = ChatRoom {
                id: row.try_get("id").map_err(store_error)?,
                kind: room_kind(row)?,
                title: row.try_get("title").map_err(store_error)?,
                member_ids: Vec::new(),
                created_at: Timestamp(row.try_get("created_at").map_err(store_error)?),
                last_message: None,
                unread_count: row.try_get("unread").map_err(store_error)?,
            };
            last_ids.extend(last_id);
            rooms.push(room);
        }
        let room_ids: Vec<String> = rooms.iter().map(|r| r.id.clone()).collect();
        let mut members = members_of(&mut conn, &room_ids).await?;
        let mut last: HashMap<String, ChatMessage> =
            read_messages(&mut conn, &last_ids).await?.into_iter().map(|m| (m.room_id.clone(), m)).collect();
        for room in &mut rooms {
            room.member_ids = members.remove(&room.id).unwrap_or_default();
            room.last_message = last.remove(&room.id);
        }
        let activity = |r: &ChatRoom| r.last_message.as_ref().map_or(r.created_at, |m| m.created_at);
        rooms.sort_by(|a, b| activity(b).cmp(&activity(a)).then_with(|| b.id.cmp(&a.id)));
        Ok(rooms)
    }

    async fn add_members(&self, room_id: &str, user_ids: &[String], at: Timestamp) -> StoreResult<Vec<String>> {
        let (room, user_ids) = (room_id.to_owned(), user_ids.to_vec());
        let added = transaction!(self, |conn| insert_members(conn, &room, &user_ids, at).await);
        self.forget_room(room_id);
        added
    }

    async fn remove_member(&self, room_id: &str, user_id: &str) -> StoreResult<bool> {
        let sql = "DELETE FROM chat_members WHERE room_id = $1 AND user_id = $2";
        let removed = self.write_one(sql, args![room_id, user_id]).await;
        self.forget_room(room_id);
        Ok(removed? == 1)
    }

    async fn insert_message(&self, message: &NewMessage, tells: Tells<MessageStored>) -> StoreResult<Told<MessageStored>> {
        // The common case joins the batch's multi-row insert; a message that also makes
        // its sender a member writes two rows that must commit together, so it runs as
        // an ordinary write in its own savepoint.
        if self.write.merges_messages() && !message.join_sender {
            return self.write.insert_message(message.clone(), tells, self.outbox.clone()).await;
        }
        let m = message.clone();
        let stored = telling!(self, tells, |conn| insert_one(conn, &m).await);
        if message.join_sender {
            self.forget_room(&message.room_id);
        }
        stored
    }

    async fn message(&self, id: &str) -> StoreResult<Option<ChatMessage>> {
        let mut conn = self.read.acquire().await.map_err(store_error)?;
        read_message(&mut conn, id).await
    }

    async fn history(&self, room_id: &str, before: Option<&str>, limit: u32) -> StoreResult<(Vec<ChatMessage>, bool)> {
        let mut conn = self.read.acquire().await.map_err(store_error)?;
        let rows = match before {
            Some(cursor) => {
                sqlx::query(&format!("{MESSAGE_SELECT} WHERE m.room_id = $1 AND m.id < $2 ORDER BY m.id DESC LIMIT $3"))
                    .bind(room_id.to_owned())
                    .bind(cursor.to_owned())
                    .bind(i64::from(limit) + 1)
                    .fetch_all(&mut *conn)
                    .await
            }
            None => {
                sqlx::query(&format!("{MESSAGE_SELECT} WHERE m.room_id = $1 ORDER BY m.id DESC LIMIT $2"))
                    .bind(room_id.to_owned())
                    .bind(i64::from(limit) + 1)
                    .fetch_all(&mut *conn)
                    .await
            }
        }
        .map_err(store_error)?;
        let has_more = rows.len() > limit as usize;
        let mut messages = rows.iter().take(limit as usize).map(message_from_row).collect::<StoreResult<Vec<_>>>()?;
        add_reactions(&mut conn, &mut messages).await?;
        Ok((messages, has_more))
    }

    async fn mark_read(&self, room_id: &str, user_id: &str, message_id: &str, at: Timestamp) -> StoreResult<ReadOutcome> {
        let (room_id, user_id, message_id) = (room_id.to_owned(), user_id.to_owned(), message_id.to_owned());
        transaction!(self, |conn| {
            let sql = "UPDATE chat_members SET last_read_id = $3, last_read_at = $4
                 WHERE room_id = $1 AND user_id = $2 AND (last_read_id IS NULL OR last_read_id < $3)";
            let moved = execute(&mut *conn, sql, args![&room_id, &user_id, message_id, at.millis()]).await? == 1;
            let unread_count: i64 = sqlx::query(&format!(
                "SELECT ({UNREAD_COUNT}) AS n FROM chat_members me WHERE me.room_id = $1 AND me.user_id = $2"
            ))
            .bind(room_id)
            .bind(user_id)
            .fetch_optional(conn)
            .await
            .map_err(store_error)?
            .map(|r| r.try_get("n"))
            .transpose()
            .map_err(store_error)?
            .unwrap_or(0);
            Ok(ReadOutcome { moved, unread_count })
        })
    }

    async fn edit_message(&self, id: &str, text: &str, at: Timestamp) -> StoreResult<Option<ChatMessage>> {
        let (id, text) = (id.to_owned(), text.to_owned());
        transaction!(self, |conn| {
            let sql = "UPDATE chat_messages SET body = $2, edited_at = $3 WHERE id = $1 AND deleted_at IS NULL";
            update_then_read(conn, sql, args![&id, text, at.millis()], async |c| read_message(c, &id).await).await
        })
    }

    async fn delete_message(&self, id: &str, at: Timestamp, tells: Tells<bool>) -> StoreResult<Told<bool>> {
        let id = id.to_owned();
        telling!(self, tells, |conn| {
            let sql = "UPDATE chat_messages SET deleted_at = $2, body = '', lat = NULL, lng = NULL WHERE id = $1 AND deleted_at IS NULL";
            let deleted = execute(&mut *conn, sql, args![&id, at.millis()]).await? == 1;
            if deleted {
                execute(conn, "DELETE FROM chat_reactions WHERE message_id = $1", args![&id]).await?;
            }
            Ok(deleted)
        })
    }

    async fn set_reaction(&self, message_id: &str, user_id: &str, emoji: &str, on: Option<bool>, at: Timestamp) -> StoreResult<ReactionOutcome> {
        let (message_id, user_id, emoji) = (message_id.to_owned(), user_id.to_owned(), emoji.to_owned());
        transaction!(self, |conn| set_reaction(conn, ReactionTable::ChatMessages, &message_id, &user_id, &emoji, on, at).await)
    }
}


#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: &str, client_msg_id: &str) -> NewMessage {
        NewMessage {
            id: id.into(),
            room_id: "r".into(),
            sender_id: "u".into(),
            client_msg_id: client_msg_id.into(),
            kind: MessageKind::Text,
            text: format!("text {id}"),
            location: None,
            reply_to: None,
            at: Timestamp(1),
            join_sender: false,
        }
    }

    /// A message's event, not asked for: these tests look at what is stored.
    fn silent() -> Tells<MessageStored> {
        Box::new(|_| None)
    }

    #[tokio::test]
    async fn one_batch_insert_tells_new_messages_from_resent_ones() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqlStore::connect(&format!("sqlite://{}", dir.path().join("c.db").display()), &crate::lifecycle::Tasks::new()).await.unwrap();
        store.insert_message(&message("m0", "c0"), silent()).await.unwrap();
        // Queued together, so they share one batch and one multi-row insert: a new
        // message, a resend of a stored one and a resend inside the batch itself.
        let (m1, m2, m3) = (message("m1", "c1"), message("m2", "c0"), message("m3", "c1"));
        let (a, b, c) = tokio::join!(store.insert_message(&m1, silent()), store.insert_message(&m2, silent()), store.insert_message(&m3, silent()));
        assert_eq!(a.unwrap().outcome, MessageStored::New);
        match b.unwrap().outcome {
            MessageStored::Duplicate(m) => assert_eq!(m.id, "m0"),
            other => panic!("expected the stored m0, got {other:?}"),
        }
        match c.unwrap().outcome {
            MessageStored::Duplicate(m) => assert_eq!(m.id, "m1"),
            other => panic!("expected the stored m1, got {other:?}"),
        }
        let (page, _) = store.history("r", None, 10).await.unwrap();
        assert_eq!(page.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(), vec!["m1", "m0"]);
    }

    #[tokio::test]
    async fn the_send_context_cache_forgets_membership_changes() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqlStore::connect(&format!("sqlite://{}", dir.path().join("c.db").display()), &crate::lifecycle::Tasks::new()).await.unwrap();
        let room = NewRoom {
            id: "g".into(),
            kind: RoomKind::Group,
            title: Some("t".into()),
            created_by: "a".into(),
            member_ids: vec!["a".into(), "b".into()],
            direct_key: None,
            at: Timestamp(1),
        };
        store.create_room(&room).await.unwrap();
        let members = |store: SqlStore| async move {
            let mut ids = store.send_context("g", "a").await.unwrap().unwrap().member_ids;
            ids.sort();
            ids
        };
        assert_eq!(members(store.clone()).await, vec!["a", "b"]);
        // Served from memory now; each change must be seen by the next send.
        assert_eq!(members(store.clone()).await, vec!["a", "b"]);
        store.add_members("g", &["c".to_owned()], Timestamp(2)).await.unwrap();
        assert_eq!(members(store.clone()).await, vec!["a", "b", "c"]);
        store.remove_member("g", "b").await.unwrap();
        assert_eq!(members(store.clone()).await, vec!["a", "c"]);
    }
}
