//! Profiles in SQL.

use async_trait::async_trait;
use sqlx::{AnyConnection, Row};

use super::{SqlStore, store_error, write_then_read};
use crate::domain::model::UserSummary;
use crate::domain::time::Timestamp;
use crate::ports::store::{ProfileUpdate, StoreResult, UserStore};

const USER_COLUMNS: &str = "id, username, avatar, verified";

pub(super) fn user_from_row(row: &sqlx::any::AnyRow) -> Result<UserSummary, sqlx::Error> {
    Ok(UserSummary {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        avatar: row.try_get("avatar")?,
        verified: row.try_get::<i64, _>("verified")? != 0,
    })
}

async fn read_user(conn: &mut AnyConnection, id: &str) -> StoreResult<Option<UserSummary>> {
    let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
        .bind(id.to_owned())
        .fetch_optional(conn)
        .await
        .map_err(store_error)?;
    row.map(|r| user_from_row(&r)).transpose().map_err(store_error)
}

#[async_trait]
impl UserStore for SqlStore {
    async fn upsert_profile(&self, p: &ProfileUpdate) -> StoreResult<UserSummary> {
        let user_id = p.id.clone();
        let p = p.clone();
        let stored = transaction!(self, |conn| {
            let username = p.username.clone().unwrap_or_else(|| p.id.clone());
            let sql = if p.authoritative {
                "INSERT INTO users (id, username, avatar, verified, updated_at) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (id) DO UPDATE SET
                   username = CASE WHEN $6 = 1 THEN excluded.username ELSE users.username END,
                   avatar = CASE WHEN $7 = 1 THEN excluded.avatar ELSE users.avatar END,
                   verified = CASE WHEN $8 = 1 THEN excluded.verified ELSE users.verified END,
                   updated_at = excluded.updated_at"
            } else {
                // Claims fill only: a username still equal to the id, a missing avatar.
                "INSERT INTO users (id, username, avatar, verified, updated_at) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (id) DO UPDATE SET
                   username = CASE WHEN $6 = 1 AND users.username = users.id THEN excluded.username ELSE users.username END,
                   avatar = CASE WHEN $7 = 1 AND users.avatar IS NULL THEN excluded.avatar ELSE users.avatar END,
                   verified = CASE WHEN $8 = 1 AND users.verified = 0 THEN excluded.verified ELSE users.verified END"
            };
            let args = args![
                &p.id,
                username,
                p.avatar.clone(),
                i64::from(p.verified.unwrap_or(false)),
                Timestamp::now().millis(),
                i64::from(p.username.is_some()),
                i64::from(p.avatar.is_some()),
                i64::from(p.verified.is_some()),
            ];
            write_then_read(conn, sql, args, "profile", async |c| read_user(c, &p.id).await).await
        });
        // chat:send keeps sender summaries in memory (SQLite): a profile write forgets its own.
        self.forget_chat_sender(&user_id);
        stored
    }

    async fn user(&self, id: &str) -> StoreResult<Option<UserSummary>> {
        let mut conn = self.read.acquire().await.map_err(store_error)?;
        read_user(&mut conn, id).await
    }

    async fn user_by_username(&self, username: &str) -> StoreResult<Option<UserSummary>> {
        let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE username = $1 ORDER BY id LIMIT 1"))
            .bind(username.to_owned())
            .fetch_optional(&self.read)
            .await
            .map_err(store_error)?;
        row.map(|r| user_from_row(&r)).transpose().map_err(store_error)
    }
}
