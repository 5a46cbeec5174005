//! Streams, stream chat, sanctions, strikes and battles in SQL. Status checks ride on
//! the writes themselves (`... WHERE status <> 'ended'`), so a stream that ends
//! concurrently never takes one more message or like. Locks are always taken in the
//! same order (streams by id, then battles) so concurrent transactions cannot deadlock.

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{SqlStore, execute, store_error, update_then_read, write_then_read};
use crate::domain::live::model::{Battle, BattleSide, BattleStatus, Stream, StreamStatus};
use crate::domain::time::Timestamp;
use crate::ports::live_store::{
    BattleStore, NewBattle, NewSanction, NewStream, NewStreamMessage, NewStrike, SanctionKind, Sanctions, StreamStore,
    StrikeOutcome,
};
use crate::ports::outbox::{Tells, Told};
use crate::ports::store::{StoreError, StoreResult};

pub(super) const STREAM_COLUMNS: &str = "id, owner_id, title, status, slow_mode_secs, likes, gifts, coins, peak_viewers, \
    throne_user_id, throne_coins, battle_id, created_at, started_at, ended_at";
const BATTLE_COLUMNS: &str = "id, stream_a, owner_a, stream_b, owner_b, status, duration_secs, score_a, score_b, \
    created_at, invite_expires_at, started_at, ends_at, ended_at";

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::failure(format!("unexpected {what} in the database: {value:?}"))
}

pub(super) fn stream_from_row(row: &AnyRow) -> StoreResult<Stream> {
    let get_i64 = |c: &str| row.try_get::<i64, _>(c).map_err(store_error);
    let status: String = row.try_get("status").map_err(store_error)?;
    let throne_user: Option<String> = row.try_get("throne_user_id").map_err(store_error)?;
    let throne_coins = get_i64("throne_coins")?;
    Ok(Stream {
        id: row.try_get("id").map_err(store_error)?,
        owner_id: row.try_get("owner_id").map_err(store_error)?,
        title: row.try_get("title").map_err(store_error)?,
        status: StreamStatus::parse(&status).ok_or_else(|| corrupt("stream status", &status))?,
        slow_mode_sec: u32::try_from(get_i64("slow_mode_secs")?).unwrap_or(0),
        likes: get_i64("likes")?,
        gifts: get_i64("gifts")?,
        coins: get_i64("coins")?,
        peak_viewers: get_i64("peak_viewers")?,
        created_at: Timestamp(get_i64("created_at")?),
        started_at: row.try_get::<Option<i64>, _>("started_at").map_err(store_error)?.map(Timestamp),
        ended_at: row.try_get::<Option<i64>, _>("ended_at").map_err(store_error)?.map(Timestamp),
        throne: throne_user.map(|u| (u, throne_coins)),
        battle_id: row.try_get("battle_id").map_err(store_error)?,
    })
}

pub(super) fn battle_from_row(row: &AnyRow) -> StoreResult<Battle> {
    let get_i64 = |c: &str| row.try_get::<i64, _>(c).map_err(store_error);
    let get_str = |c: &str| row.try_get::<String, _>(c).map_err(store_error);
    let get_opt = |c: &str| row.try_get::<Option<i64>, _>(c).map_err(store_error).map(|v| v.map(Timestamp));
    let status = get_str("status")?;
    Ok(Battle {
        id: get_str("id")?,
        status: BattleStatus::parse(&status).ok_or_else(|| corrupt("battle status", &status))?,
        challenger: BattleSide { stream_id: get_str("stream_a")?, owner_id: get_str("owner_a")?, score: get_i64("score_a")? },
        opponent: BattleSide { stream_id: get_str("stream_b")?, owner_id: get_str("owner_b")?, score: get_i64("score_b")? },
        duration_sec: u32::try_from(get_i64("duration_secs")?).unwrap_or(0),
        created_at: Timestamp(get_i64("created_at")?),
        invite_expires_at: Timestamp(get_i64("invite_expires_at")?),
        started_at: get_opt("started_at")?,
        ends_at: get_opt("ends_at")?,
        ended_at: get_opt("ended_at")?,
    })
}

pub(super) async fn read_stream(conn: &mut AnyConnection, id: &str) -> StoreResult<Option<Stream>> {
    let row = sqlx::query(&format!("SELECT {STREAM_COLUMNS} FROM streams WHERE id = $1"))
        .bind(id.to_owned())
        .fetch_optional(conn)
        .await
        .map_err(store_error)?;
    row.as_ref().map(stream_from_row).transpose()
}

pub(super) async fn read_battle(conn: &mut AnyConnection, id: &str) -> StoreResult<Option<Battle>> {
    let row = sqlx::query(&format!("SELECT {BATTLE_COLUMNS} FROM battles WHERE id = $1"))
        .bind(id.to_owned())
        .fetch_optional(conn)
        .await
        .map_err(store_error)?;
    row.as_ref().map(battle_from_row).transpose()
}

/// Both stream ids of a battle, in lock order.
fn in_lock_order(a: &str, b: &str) -> [String; 2] {
    if a <= b { [a.to_owned(), b.to_owned()] } else { [b.to_owned(), a.to_owned()] }
}

/// Moves a battle out of `from` into `to`, releasing both streams first (streams
/// before battles: the lock order). `None`, with nothing changed, unless it was in `from`.
async fn settle_battle(conn: &mut AnyConnection, id: &str, from: BattleStatus, to: BattleStatus, at: Timestamp) -> StoreResult<Option<Battle>> {
    let Some(battle) = read_battle(&mut *conn, id).await? else { return Ok(None) };
    if battle.status != from {
        return Ok(None);
    }
    let mut released = Vec::new();
    for stream_id in in_lock_order(&battle.challenger.stream_id, &battle.opponent.stream_id) {
        let sql = "UPDATE streams SET battle_id = NULL WHERE id = $1 AND battle_id = $2";
        if execute(&mut *conn, sql, args![&stream_id, id]).await? == 1 {
            released.push(stream_id);
        }
    }
    let sql = "UPDATE battles SET status = $2, ended_at = $3 WHERE id = $1 AND status = $4";
    let n = execute(&mut *conn, sql, args![id, to.as_str(), at.millis(), from.as_str()]).await?;
    if n == 0 {
        // Settled concurrently: put the streams back as they were.
        for stream_id in released {
            execute(&mut *conn, "UPDATE streams SET battle_id = $2 WHERE id = $1 AND battle_id IS NULL", args![stream_id, id]).await?;
        }
        return Ok(None);
    }
    read_battle(conn, id).await
}

#[async_trait]
impl StreamStore for SqlStore {
    async fn create_stream(&self, stream: &NewStream) -> StoreResult<Stream> {
        let s = stream.clone();
        transaction!(self, |conn| {
            let sql = "INSERT INTO streams (id, owner_id, title, status, created_at) VALUES ($1, $2, $3, 'idle', $4)";
            write_then_read(conn, sql, args![&s.id, &s.owner_id, &s.title, s.at.millis()], "stream", async |c| read_stream(c, &s.id).await).await
        })
    }

    async fn stream(&self, id: &str) -> StoreResult<Option<Stream>> {
        let mut conn = self.read.acquire().await.map_err(store_error)?;
        read_stream(&mut conn, id).await
    }

    async fn streams_with_status(&self, statuses: &[StreamStatus], limit: u32) -> StoreResult<Vec<Stream>> {
        if statuses.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders: Vec<String> = (1..=statuses.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT {STREAM_COLUMNS} FROM streams WHERE status IN ({}) ORDER BY created_at DESC, id DESC LIMIT ${}",
            placeholders.join(", "),
            statuses.len() + 1
        );
        let mut q = sqlx::query(&sql);
        for s in statuses {
            q = q.bind(s.as_str());
        }
        let rows = q.bind(i64::from(limit)).fetch_all(&self.read).await.map_err(store_error)?;
        rows.iter().map(stream_from_row).collect()
    }

    async fn set_status(&self, id: &str, status: StreamStatus, at: Timestamp, tells: Tells<Option<Stream>>) -> StoreResult<Told<Option<Stream>>> {
        let id = id.to_owned();
        telling!(self, tells, |conn| {
            let sql = "UPDATE streams SET status = $2,
                   started_at = CASE WHEN $2 = 'live' AND started_at IS NULL THEN $3 ELSE started_at END,
                   ended_at = CASE WHEN $2 = 'ended' THEN $3 ELSE ended_at END
                 WHERE id = $1 AND status <> 'ended'";
            update_then_read(conn, sql, args![&id, status.as_str(), at.millis()], async |c| read_stream(c, &id).await).await
        })
    }

    async fn set_slow_mode(&self, id: &str, seconds: u32) -> StoreResult<Option<Stream>> {
        let id = id.to_owned();
        transaction!(self, |conn| {
            let sql = "UPDATE streams SET slow_mode_secs = $2 WHERE id = $1 AND status <> 'ended'";
            update_then_read(conn, sql, args![&id, i64::from(seconds)], async |c| read_stream(c, &id).await).await
        })
    }

    async fn add_likes(&self, id: &str, n: i64) -> StoreResult<Option<i64>> {
        let id = id.to_owned();
        transaction!(self, |conn| {
            let row = sqlx::query("UPDATE streams SET likes = likes + $2 WHERE id = $1 AND status <> 'ended' RETURNING likes")
                .bind(id)
                .bind(n)
                .fetch_optional(conn)
                .await
                .map_err(store_error)?;
            row.map(|r| r.try_get::<i64, _>("likes").map_err(store_error)).transpose()
        })
    }

    async fn raise_peak(&self, id: &str, peak: i64) -> StoreResult<()> {
        let sql = "UPDATE streams SET peak_viewers = $2 WHERE id = $1 AND peak_viewers < $2";
        self.write_one(sql, args![id, peak]).await?;
        Ok(())
    }

    async fn insert_message(&self, message: &NewStreamMessage) -> StoreResult<bool> {
        let m = message.clone();
        let sql = "INSERT INTO stream_messages (id, stream_id, user_id, body, created_at)
             SELECT $1, $2, $3, $4, $5 WHERE EXISTS (SELECT 1 FROM streams WHERE id = $2 AND status <> 'ended')";
        Ok(self.write_one(sql, args![m.id, m.stream_id, m.user_id, m.text, m.at.millis()]).await? == 1)
    }

    async fn take_slow_mode_slot(&self, stream_id: &str, user_id: &str, at: Timestamp, every_ms: i64) -> StoreResult<Option<Timestamp>> {
        let (stream_id, user_id) = (stream_id.to_owned(), user_id.to_owned());
        transaction!(self, |conn| {
            // The update only happens when the last slot is old enough.
            let taken = sqlx::query(
                "INSERT INTO stream_slow_mode (stream_id, user_id, last_at) VALUES ($1, $2, $3)
                 ON CONFLICT (stream_id, user_id) DO UPDATE SET last_at = excluded.last_at
                 WHERE stream_slow_mode.last_at <= $4
                 RETURNING last_at",
            )
            .bind(stream_id.clone())
            .bind(user_id.clone())
            .bind(at.millis())
            .bind(at.millis().saturating_sub(every_ms))
            .fetch_optional(&mut *conn)
            .await
            .map_err(store_error)?;
            if taken.is_some() {
                return Ok(None);
            }
            let last: i64 = sqlx::query("SELECT last_at FROM stream_slow_mode WHERE stream_id = $1 AND user_id = $2")
                .bind(stream_id)
                .bind(user_id)
                .fetch_one(&mut *conn)
                .await
                .and_then(|r| r.try_get("last_at"))
                .map_err(store_error)?;
            Ok(Some(Timestamp(last.saturating_add(every_ms))))
        })
    }

    async fn delete_message(&self, stream_id: &str, message_id: &str, by: &str, at: Timestamp) -> StoreResult<bool> {
        let sql = "UPDATE stream_messages SET deleted_at = $3, deleted_by = $4 WHERE id = $1 AND stream_id = $2 AND deleted_at IS NULL";
        Ok(self.write_one(sql, args![message_id, stream_id, at.millis(), by]).await? == 1)
    }

    async fn sanctions(&self, stream_id: &str, user_id: &str, now: Timestamp) -> StoreResult<Sanctions> {
        let rows = sqlx::query(
            "SELECT kind, until FROM stream_sanctions WHERE stream_id = $1 AND user_id = $2 AND (until IS NULL OR until > $3)",
        )
        .bind(stream_id.to_owned())
        .bind(user_id.to_owned())
        .bind(now.millis())
        .fetch_all(&self.read)
        .await
        .map_err(store_error)?;
        let mut out = Sanctions::default();
        for row in rows {
            let kind: String = row.try_get("kind").map_err(store_error)?;
            let until = row.try_get::<Option<i64>, _>("until").map_err(store_error)?.map(Timestamp);
            match kind.as_str() {
                "mute" => out.muted = Some(until),
                "ban" => out.banned = Some(until),
                other => return Err(corrupt("sanction kind", other)),
            }
        }
        Ok(out)
    }

    async fn sanction(&self, sanction: &NewSanction, tells: Tells<()>) -> StoreResult<Told<()>> {
        let s = sanction.clone();
        let sql = "INSERT INTO stream_sanctions (stream_id, user_id, kind, until, reason, by_user, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (stream_id, user_id, kind) DO UPDATE SET until = excluded.until, reason = excluded.reason,
               by_user = excluded.by_user, created_at = excluded.created_at";
        let args = args![s.stream_id, s.user_id, s.kind.as_str(), s.until.map(Timestamp::millis), s.reason, s.by, s.at.millis()];
        telling!(self, tells, |conn| execute(conn, sql, args).await.map(drop))
    }

    async fn lift_sanction(&self, stream_id: &str, user_id: &str, kind: SanctionKind) -> StoreResult<bool> {
        let sql = "DELETE FROM stream_sanctions WHERE stream_id = $1 AND user_id = $2 AND kind = $3";
        Ok(self.write_one(sql, args![stream_id, user_id, kind.as_str()]).await? == 1)
    }

    async fn record_strike(&self, strike: &NewStrike) -> StoreResult<StrikeOutcome> {
        let s = strike.clone();
        transaction!(self, |conn| {
            let sql = "INSERT INTO moderation_strikes (id, scope, user_id, reason, severity, created_at) VALUES ($1, $2, $3, $4, $5, $6)";
            execute(&mut *conn, sql, args![&s.id, &s.scope, &s.user_id, &s.reason, &s.severity, s.at.millis()]).await?;
            let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM moderation_strikes WHERE scope = $1 AND user_id = $2 AND created_at > $3")
                .bind(s.scope.clone())
                .bind(s.user_id.clone())
                .bind(s.window_start.millis())
                .fetch_one(&mut *conn)
                .await
                .and_then(|r| r.try_get("n"))
                .map_err(store_error)?;
            let strikes = u32::try_from(n).unwrap_or(u32::MAX);
            if s.limit == 0 || strikes < s.limit {
                return Ok(StrikeOutcome { strikes, muted_until: None });
            }
            // A longer mute already in force (or one until lifted) is kept.
            let sql = "INSERT INTO stream_sanctions (stream_id, user_id, kind, until, reason, created_at)
                 VALUES ($1, $2, 'mute', $3, 'moderation strikes', $4)
                 ON CONFLICT (stream_id, user_id, kind) DO UPDATE SET
                   until = CASE WHEN stream_sanctions.until IS NULL OR stream_sanctions.until > excluded.until
                                THEN stream_sanctions.until ELSE excluded.until END,
                   reason = excluded.reason, created_at = excluded.created_at";
            execute(&mut *conn, sql, args![&s.scope, &s.user_id, s.mute_until.millis(), s.at.millis()]).await?;
            let until: Option<i64> = sqlx::query("SELECT until FROM stream_sanctions WHERE stream_id = $1 AND user_id = $2 AND kind = 'mute'")
                .bind(s.scope.clone())
                .bind(s.user_id.clone())
                .fetch_one(&mut *conn)
                .await
                .and_then(|r| r.try_get("until"))
                .map_err(store_error)?;
            // A mute until lifted (set by a moderator) is reported with the strike mute's end.
            Ok(StrikeOutcome { strikes, muted_until: Some(Timestamp(until.unwrap_or(s.mute_until.millis()))) })
        })
    }

    async fn supporter_coins(&self, creator_id: &str, user_id: &str) -> StoreResult<i64> {
        let row = sqlx::query("SELECT coins FROM supporter_totals WHERE creator_id = $1 AND user_id = $2")
            .bind(creator_id.to_owned())
            .bind(user_id.to_owned())
            .fetch_optional(&self.read)
            .await
            .map_err(store_error)?;
        row.map_or(Ok(0), |r| r.try_get("coins").map_err(store_error))
    }
}

#[async_trait]
impl BattleStore for SqlStore {
    async fn create_battle(&self, battle: &NewBattle) -> StoreResult<Option<Battle>> {
        let b = battle.clone();
        transaction!(self, |conn| {
            // Reserve both streams (in lock order); a stream whose recorded battle is
            // settled counts as free.
            let mut reserved = 0;
            for stream_id in in_lock_order(&b.challenger_stream, &b.opponent_stream) {
                let sql = "UPDATE streams SET battle_id = $1 WHERE id = $2 AND status = 'live'
                       AND (battle_id IS NULL OR battle_id IN (SELECT id FROM battles WHERE status NOT IN ('pending', 'active')))";
                reserved += execute(&mut *conn, sql, args![&b.id, stream_id]).await?;
            }
            if reserved != 2 {
                execute(&mut *conn, "UPDATE streams SET battle_id = NULL WHERE battle_id = $1", args![&b.id]).await?;
                return Ok(None);
            }
            let sql = "INSERT INTO battles (id, stream_a, owner_a, stream_b, owner_b, status, duration_secs, created_at, invite_expires_at)
                 VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $8)";
            let args = args![
                &b.id,
                &b.challenger_stream,
                &b.challenger_owner,
                &b.opponent_stream,
                &b.opponent_owner,
                i64::from(b.duration_sec),
                b.at.millis(),
                b.invite_expires_at.millis(),
            ];
            execute(&mut *conn, sql, args).await?;
            read_battle(conn, &b.id).await
        })
    }

    async fn battle(&self, id: &str) -> StoreResult<Option<Battle>> {
        let mut conn = self.read.acquire().await.map_err(store_error)?;
        read_battle(&mut conn, id).await
    }

    async fn open_battles(&self) -> StoreResult<Vec<Battle>> {
        let rows = sqlx::query(&format!("SELECT {BATTLE_COLUMNS} FROM battles WHERE status IN ('pending', 'active')"))
            .fetch_all(&self.read)
            .await
            .map_err(store_error)?;
        rows.iter().map(battle_from_row).collect()
    }

    async fn accept_battle(&self, id: &str, at: Timestamp, ends_at: Timestamp) -> StoreResult<Option<Battle>> {
        let id = id.to_owned();
        transaction!(self, |conn| {
            let sql = "UPDATE battles SET status = 'active', started_at = $2, ends_at = $3
                 WHERE id = $1 AND status = 'pending' AND invite_expires_at > $2
                   AND EXISTS (SELECT 1 FROM streams WHERE id = battles.stream_a AND status = 'live')
                   AND EXISTS (SELECT 1 FROM streams WHERE id = battles.stream_b AND status = 'live')";
            update_then_read(conn, sql, args![&id, at.millis(), ends_at.millis()], async |c| read_battle(c, &id).await).await
        })
    }

    async fn close_pending(&self, id: &str, status: BattleStatus, at: Timestamp) -> StoreResult<Option<Battle>> {
        if !matches!(status, BattleStatus::Declined | BattleStatus::Expired | BattleStatus::Cancelled) {
            return Err(StoreError::failure(format!("a pending battle cannot close as {}", status.as_str())));
        }
        let id = id.to_owned();
        transaction!(self, |conn| settle_battle(conn, &id, BattleStatus::Pending, status, at).await)
    }

    async fn end_battle(&self, id: &str, at: Timestamp, tells: Tells<Option<Battle>>) -> StoreResult<Told<Option<Battle>>> {
        let id = id.to_owned();
        telling!(self, tells, |conn| settle_battle(conn, &id, BattleStatus::Active, BattleStatus::Ended, at).await)
    }
}
