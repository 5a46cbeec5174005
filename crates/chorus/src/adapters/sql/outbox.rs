//! The outbox in SQL (`webhook_outbox`): recording the deliveries an event owes inside
//! the write that causes it ([`tell`]), and the rows the delivery worker claims,
//! settles and the server API lists and replays.
//!
//! Claims: a delivery is due when it is no dead letter, its retry time has come and no
//! worker holds an unexpired lease on it; of the due ones only the oldest still owed of
//! each (endpoint, subject) is taken, so an endpoint hears of one subject in order. On
//! PostgreSQL the claim locks with `FOR UPDATE SKIP LOCKED`, so two nodes never take
//! the same row; on SQLite the single writer serializes claims.

use async_trait::async_trait;
use sqlx::{AnyConnection, Row};

use super::{Dialect, SqlStore, execute, store_error};
use crate::domain::events::DomainEvent;
use crate::domain::time::Timestamp;
use crate::ports::outbox::{Delivery, FailedDelivery, OutboxBacklog, OutboxRouter, OutboxStore, OwedDelivery, Tells, Told};
use crate::ports::store::StoreResult;

/// Decides the event of a write from its `outcome` and records the deliveries it owes on
/// `conn`, inside the write's transaction. The flag says whether any was recorded (the
/// worker is woken after the commit).
pub(crate) async fn tell<T>(conn: &mut AnyConnection, router: &dyn OutboxRouter, tells: Tells<T>, outcome: T) -> StoreResult<(Told<T>, bool)> {
    let event = tells(&outcome);
    let recorded = match &event {
        Some(event) => record(conn, router, event).await?,
        None => false,
    };
    Ok((Told { outcome, event }, recorded))
}

/// Records the deliveries `event` owes on `conn`; whether there were any.
pub(crate) async fn record(conn: &mut AnyConnection, router: &dyn OutboxRouter, event: &DomainEvent) -> StoreResult<bool> {
    let now = Timestamp::now();
    let owed = router.deliveries(event, now);
    insert_owed(conn, &owed, now).await?;
    Ok(!owed.is_empty())
}

/// Writes the rows of deliveries owed since `now`.
async fn insert_owed(conn: &mut AnyConnection, owed: &[OwedDelivery], now: Timestamp) -> StoreResult<()> {
    for d in owed {
        let sql = "INSERT INTO webhook_outbox (id, endpoint, event_type, subject, body, created_at, give_up_at, next_at)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $6)";
        execute(&mut *conn, sql, args![&d.id, &d.endpoint, &d.event_type, &d.subject, &d.body, now.millis(), d.give_up_at.millis()]).await?;
    }
    Ok(())
}

/// The due deliveries of one endpoint, oldest first, one per subject (`$1` endpoint,
/// `$2` now, `$3` limit).
const DUE: &str = "SELECT o.seq FROM webhook_outbox o
    WHERE o.endpoint = $1 AND o.failed_at IS NULL AND o.next_at <= $2 AND (o.claimed_until IS NULL OR o.claimed_until < $2)
      AND NOT EXISTS (SELECT 1 FROM webhook_outbox p
                      WHERE p.endpoint = o.endpoint AND p.subject = o.subject AND p.failed_at IS NULL AND p.seq < o.seq)
    ORDER BY o.seq LIMIT $3";

const DELIVERY_COLUMNS: &str = "seq, id, endpoint, event_type, subject, body, attempts, created_at, give_up_at";

fn delivery(row: &sqlx::any::AnyRow) -> Result<Delivery, sqlx::Error> {
    Ok(Delivery {
        seq: row.try_get("seq")?,
        id: row.try_get("id")?,
        endpoint: row.try_get("endpoint")?,
        event_type: row.try_get("event_type")?,
        subject: row.try_get("subject")?,
        body: row.try_get("body")?,
        attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
        created_at: Timestamp(row.try_get("created_at")?),
        give_up_at: Timestamp(row.try_get("give_up_at")?),
    })
}

fn failed_delivery(row: &sqlx::any::AnyRow) -> Result<FailedDelivery, sqlx::Error> {
    Ok(FailedDelivery {
        id: row.try_get("id")?,
        endpoint: row.try_get("endpoint")?,
        event_type: row.try_get("event_type")?,
        subject: row.try_get("subject")?,
        body: row.try_get("body")?,
        attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
        last_error: row.try_get("last_error")?,
        created_at: Timestamp(row.try_get("created_at")?),
        failed_at: Timestamp(row.try_get::<Option<i64>, _>("failed_at")?.unwrap_or_default()),
    })
}

/// Stored error texts are cut to this many characters (an endpoint's answer body).
const MAX_ERROR_CHARS: usize = 500;

fn short(error: &str) -> String {
    error.chars().take(MAX_ERROR_CHARS).collect()
}

#[async_trait]
impl OutboxStore for SqlStore {
    async fn record(&self, event: DomainEvent) -> StoreResult<()> {
        // Nothing to write (no endpoint wants the type): no transaction either.
        let now = Timestamp::now();
        let owed = self.outbox.deliveries(&event, now);
        if owed.is_empty() {
            return Ok(());
        }
        transaction!(self, |conn| insert_owed(conn, &owed, now).await)?;
        self.outbox.recorded();
        Ok(())
    }

    async fn claim(&self, endpoint: &str, node: &str, now: Timestamp, lease_until: Timestamp, limit: u32) -> StoreResult<Vec<Delivery>> {
        let lock = match self.dialect {
            Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
            Dialect::Sqlite => "",
        };
        let sql = format!(
            "UPDATE webhook_outbox SET claimed_by = $4, claimed_until = $5 WHERE seq IN ({DUE}{lock}) RETURNING {DELIVERY_COLUMNS}"
        );
        // Most polls find nothing due: a read says so without queueing a write.
        let due = sqlx::query(DUE).bind(endpoint.to_owned()).bind(now.millis()).bind(1_i64).fetch_optional(&self.read).await.map_err(store_error)?;
        if due.is_none() {
            return Ok(Vec::new());
        }
        let (endpoint, node) = (endpoint.to_owned(), node.to_owned());
        let mut claimed = transaction!(self, |conn| {
            let rows = sqlx::query(&sql)
                .bind(endpoint)
                .bind(now.millis())
                .bind(i64::from(limit))
                .bind(node)
                .bind(lease_until.millis())
                .fetch_all(&mut *conn)
                .await
                .map_err(store_error)?;
            rows.iter().map(delivery).collect::<Result<Vec<_>, _>>().map_err(store_error)
        })?;
        claimed.sort_by_key(|d| d.seq);
        Ok(claimed)
    }

    async fn delivered(&self, seq: i64) -> StoreResult<()> {
        self.write_one("DELETE FROM webhook_outbox WHERE seq = $1", args![seq]).await?;
        Ok(())
    }

    async fn retry_at(&self, seq: i64, next_at: Timestamp, error: &str) -> StoreResult<()> {
        let sql = "UPDATE webhook_outbox SET attempts = attempts + 1, next_at = $2, last_error = $3, claimed_by = NULL, claimed_until = NULL
                   WHERE seq = $1";
        self.write_one(sql, args![seq, next_at.millis(), short(error)]).await?;
        Ok(())
    }

    async fn dead_letter(&self, seq: i64, at: Timestamp, error: &str) -> StoreResult<()> {
        let sql = "UPDATE webhook_outbox SET attempts = attempts + 1, failed_at = $2, last_error = $3, claimed_by = NULL, claimed_until = NULL
                   WHERE seq = $1";
        self.write_one(sql, args![seq, at.millis(), short(error)]).await?;
        Ok(())
    }

    async fn failed(&self, after: Option<&str>, limit: u32) -> StoreResult<Vec<FailedDelivery>> {
        let columns = "id, endpoint, event_type, subject, body, attempts, last_error, created_at, failed_at";
        let rows = match after {
            Some(after) => {
                let sql = format!(
                    "SELECT {columns} FROM webhook_outbox WHERE failed_at IS NOT NULL
                       AND seq > (SELECT seq FROM webhook_outbox WHERE id = $1) ORDER BY seq LIMIT $2"
                );
                sqlx::query(&sql).bind(after.to_owned()).bind(i64::from(limit)).fetch_all(&self.read).await
            }
            None => {
                let sql = format!("SELECT {columns} FROM webhook_outbox WHERE failed_at IS NOT NULL ORDER BY seq LIMIT $1");
                sqlx::query(&sql).bind(i64::from(limit)).fetch_all(&self.read).await
            }
        }
        .map_err(store_error)?;
        rows.iter().map(failed_delivery).collect::<Result<Vec<_>, _>>().map_err(store_error)
    }

    async fn replay(&self, id: &str, now: Timestamp, give_up_at: Timestamp) -> StoreResult<bool> {
        let sql = "UPDATE webhook_outbox SET failed_at = NULL, attempts = 0, next_at = $2, give_up_at = $3, claimed_by = NULL, claimed_until = NULL
                   WHERE id = $1 AND failed_at IS NOT NULL";
        let replayed = self.write_one(sql, args![id, now.millis(), give_up_at.millis()]).await? == 1;
        if replayed {
            self.outbox.recorded();
        }
        Ok(replayed)
    }

    async fn backlog(&self) -> StoreResult<OutboxBacklog> {
        let row = sqlx::query(
            "SELECT COALESCE(SUM(CASE WHEN failed_at IS NULL THEN 1 ELSE 0 END), 0) AS pending,
                    COALESCE(SUM(CASE WHEN failed_at IS NULL THEN 0 ELSE 1 END), 0) AS failed FROM webhook_outbox",
        )
        .fetch_one(&self.read)
        .await
        .map_err(store_error)?;
        let count = |name: &str| row.try_get::<i64, _>(name).map(|n| u64::try_from(n).unwrap_or_default()).map_err(store_error);
        Ok(OutboxBacklog { pending: count("pending")?, failed: count("failed")? })
    }
}
