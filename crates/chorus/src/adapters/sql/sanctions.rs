//! Sanctions, revocations and the audit log in SQL.

use async_trait::async_trait;
use sqlx::Row;

use super::{SqlStore, execute, store_error};
use crate::domain::time::Timestamp;
use crate::ports::sanctions_store::{AuditEntry, SanctionRecord, SanctionStore};
use crate::ports::outbox::{Tells, Told};
use crate::ports::store::StoreResult;

#[async_trait]
impl SanctionStore for SqlStore {
    async fn put_sanction(&self, s: &SanctionRecord, at: Timestamp, tells: Tells<()>) -> StoreResult<Told<()>> {
        let sql = "INSERT INTO account_sanctions (user_id, kind, until, reason, created_at) VALUES ($1, $2, $3, $4, $5)
                   ON CONFLICT (user_id, kind) DO UPDATE SET until = excluded.until, reason = excluded.reason, created_at = excluded.created_at";
        let args = args![&s.user_id, &s.kind, s.until.map(Timestamp::millis), s.reason.clone(), at.millis()];
        telling!(self, tells, |conn| execute(conn, sql, args).await.map(drop))
    }

    async fn remove_sanction(&self, user_id: &str, kind: &str) -> StoreResult<bool> {
        let sql = "DELETE FROM account_sanctions WHERE user_id = $1 AND kind = $2";
        Ok(self.write_one(sql, args![user_id, kind]).await? > 0)
    }

    async fn active_sanctions(&self, now: Timestamp) -> StoreResult<Vec<SanctionRecord>> {
        let rows = sqlx::query("SELECT user_id, kind, until, reason FROM account_sanctions WHERE until IS NULL OR until > $1")
            .bind(now.millis())
            .fetch_all(&self.read)
            .await
            .map_err(store_error)?;
        rows.iter()
            .map(|r| {
                Ok(SanctionRecord {
                    user_id: r.try_get("user_id")?,
                    kind: r.try_get("kind")?,
                    until: r.try_get::<Option<i64>, _>("until")?.map(Timestamp),
                    reason: r.try_get("reason")?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()
            .map_err(store_error)
    }

    async fn revoke_tokens_before(&self, user_id: &str, before: Timestamp) -> StoreResult<()> {
        let sql = "INSERT INTO token_revocations (user_id, revoked_before) VALUES ($1, $2)
                   ON CONFLICT (user_id) DO UPDATE SET revoked_before = excluded.revoked_before";
        self.write_one(sql, args![user_id, before.millis()]).await?;
        Ok(())
    }

    async fn revocations(&self) -> StoreResult<Vec<(String, Timestamp)>> {
        let rows = sqlx::query("SELECT user_id, revoked_before FROM token_revocations").fetch_all(&self.read).await.map_err(store_error)?;
        rows.iter()
            .map(|r| Ok((r.try_get("user_id")?, Timestamp(r.try_get("revoked_before")?))))
            .collect::<Result<Vec<_>, sqlx::Error>>()
            .map_err(store_error)
    }

    async fn append_audit(&self, e: &AuditEntry) -> StoreResult<()> {
        let sql = "INSERT INTO moderation_audit (id, actor, action, user_id, scope, reason, duration_sec, created_at)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
        let args = args![&e.id, &e.actor, &e.action, &e.user_id, &e.scope, e.reason.clone(), e.duration_sec, e.at.millis()];
        self.write_one(sql, args).await?;
        Ok(())
    }

    async fn audit(&self, before: Option<&str>, limit: u32) -> StoreResult<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT id, actor, action, user_id, scope, reason, duration_sec, created_at FROM moderation_audit
             WHERE id < $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(before.unwrap_or("~").to_owned())
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await
        .map_err(store_error)?;
        rows.iter()
            .map(|r| {
                Ok(AuditEntry {
                    id: r.try_get("id")?,
                    actor: r.try_get("actor")?,
                    action: r.try_get("action")?,
                    user_id: r.try_get("user_id")?,
                    scope: r.try_get("scope")?,
                    reason: r.try_get("reason")?,
                    duration_sec: r.try_get("duration_sec")?,
                    at: Timestamp(r.try_get("created_at")?),
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()
            .map_err(store_error)
    }
}
