//! Emoji reactions, shared by comments and chat messages: one row per (target, emoji,
//! user); `on = None` toggles.

use sqlx::{AnyConnection, Row};

use super::store_error;
use crate::domain::time::Timestamp;
use crate::ports::store::{ReactionOutcome, StoreResult};

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
    let (table_name, id_column) = table.names();
    let remove = format!("DELETE FROM {table_name} WHERE {id_column} = $1 AND user_id = $2 AND emoji = $3");
    let reacted = if on == Some(false) {
        false
    } else {
        let inserted = sqlx::query(&format!(
            "INSERT INTO {table_name} ({id_column}, user_id, emoji, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING"
        ))
        .bind(target_id.to_owned())
        .bind(user_id.to_owned())
        .bind(emoji.to_owned())
        .bind(at.millis())
        .execute(&mut *conn)
        .await
        .map_err(store_error)?
        .rows_affected()
            == 1;
        // A toggle of an existing reaction removes it; an explicit `on` keeps it.
        inserted || on == Some(true)
    };
    if !reacted {
        sqlx::query(&remove)
            .bind(target_id.to_owned())
            .bind(user_id.to_owned())
            .bind(emoji.to_owned())
            .execute(&mut *conn)
            .await
            .map_err(store_error)?;
    }
    let count: i64 = sqlx::query(&format!("SELECT COUNT(*) AS n FROM {table_name} WHERE {id_column} = $1 AND emoji = $2"))
        .bind(target_id.to_owned())
        .bind(emoji.to_owned())
        .fetch_one(conn)
        .await
        .and_then(|r| r.try_get("n"))
        .map_err(store_error)?;
    Ok(ReactionOutcome { reacted, count })
}
