//! Rows a user turns on and off: likes of content, emoji reactions of comments and
//! chat messages. One row per (target, user[, emoji]); `on = None` toggles. A toggle
//! first takes the target's row lock, so two toggles of one user in flight run one
//! after the other and each flips the state (PostgreSQL; SQLite's single writer
//! already runs them one at a time).

use sqlx::{AnyConnection, Row};

use super::{Arg, execute, store_error};
use crate::domain::time::Timestamp;
use crate::ports::store::{ReactionOutcome, StoreResult};

/// One kind of on/off row and the statements that keep it.
pub(super) struct ToggleRow {
    /// Touches the target's row (`$1`: its id) without changing it: the lock a toggle
    /// holds until it commits.
    pub lock_target: &'static str,
    /// Inserts the row unless it is there; binds `key` then the time.
    pub insert: String,
    /// Deletes the row; binds `key`.
    pub delete: String,
}

/// What setting a row did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Toggled {
    /// Whether the row is there now.
    pub on: bool,
    /// Whether this call inserted or deleted it.
    pub changed: bool,
}

/// Sets (`Some`) or toggles (`None`) a row keyed by `key` (the target's id first),
/// inside the caller's transaction, deciding a toggle from the row as this write sees
/// it.
pub(super) async fn toggle_row(conn: &mut AnyConnection, row: &ToggleRow, key: &[String], on: Option<bool>, at: Timestamp) -> StoreResult<Toggled> {
    let key_args = || key.iter().map(Arg::from).collect::<Vec<_>>();
    if on.is_none()
        && let Some(target) = key.first()
    {
        execute(&mut *conn, row.lock_target, vec![Arg::from(target)]).await?;
    }
    let inserted = on != Some(false) && {
        let mut args = key_args();
        args.push(Arg::Int(at.millis()));
        execute(&mut *conn, &row.insert, args).await? == 1
    };
    // A toggle of an existing row, or an explicit "off", removes it.
    let removed = !inserted && on != Some(true) && execute(&mut *conn, &row.delete, key_args()).await? == 1;
    let now_on = match on {
        Some(v) => v,
        None => inserted,
    };
    Ok(Toggled { on: now_on, changed: inserted || removed })
}

/// Where a kind of reaction is kept.
#[derive(Debug, Clone, Copy)]
pub(super) enum ReactionTable {
    Comments,
    ChatMessages,
}

impl ReactionTable {
    fn names(self) -> (&'static str, &'static str) {
        match self {
            Self::Comments => ("comment_reactions", "comment_id"),
            Self::ChatMessages => ("chat_reactions", "message_id"),
        }
    }

    fn row(self) -> ToggleRow {
        let (table, id_column) = self.names();
        ToggleRow {
            lock_target: match self {
                Self::Comments => "UPDATE comments SET reply_count = reply_count WHERE id = $1",
                Self::ChatMessages => "UPDATE chat_messages SET edited_at = edited_at WHERE id = $1",
            },
            insert: format!(
                "INSERT INTO {table} ({id_column}, user_id, emoji, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING"
            ),
            delete: format!("DELETE FROM {table} WHERE {id_column} = $1 AND user_id = $2 AND emoji = $3"),
        }
    }
}

/// Sets, clears or toggles one user's reaction inside the caller's transaction and
/// returns the new count of that emoji on the target.
pub(super) async fn set_reaction(
    conn: &mut AnyConnection,
    table: ReactionTable,
    target_id: &str,
    user_id: &str,
    emoji: &str,
    on: Option<bool>,
    at: Timestamp,
) -> StoreResult<ReactionOutcome> {
    let key = [target_id.to_owned(), user_id.to_owned(), emoji.to_owned()];
    let toggled = toggle_row(&mut *conn, &table.row(), &key, on, at).await?;
    let (table_name, id_column) = table.names();
    let count: i64 = sqlx::query(&format!("SELECT COUNT(*) AS n FROM {table_name} WHERE {id_column} = $1 AND emoji = $2"))
        .bind(target_id.to_owned())
        .bind(emoji.to_owned())
        .fetch_one(conn)
        .await
        .and_then(|r| r.try_get("n"))
        .map_err(store_error)?;
    Ok(ReactionOutcome { reacted: toggled.on, count })
}
