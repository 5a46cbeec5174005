//! Wallets, the coin ledger, gifts and boosts in SQL. Each coin movement is one write
//! operation (one transaction): the ledger row claims the idempotency key first, the
//! debit is a conditional `UPDATE ... WHERE balance >= amount` so a balance can never
//! go negative under any concurrency, and a step that cannot proceed undoes the
//! earlier ones inside the same transaction, so the outcome is all or nothing.
//!
//! Lock order (PostgreSQL row locks): ledger key, sender's wallet, stream, battle,
//! recipient's earnings: the same in every transaction, so none can deadlock.

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::live::{STREAM_COLUMNS, read_battle, stream_from_row};
use super::{SqlStore, execute, store_error};
use crate::domain::live::model::{StreamStatus, Transaction, TxKind, WalletState};
use crate::domain::live::throne::{self, ThroneChange};
use crate::domain::time::Timestamp;
use crate::ports::live_store::{
    BoostApplied, BoostOrder, BoostOutcome, CreditOrder, CreditOutcome, GiftApplied, GiftOrder, GiftOutcome, WalletStore,
};
use crate::ports::outbox::{Tells, Told};
use crate::ports::store::{StoreError, StoreResult};

const LEDGER_COLUMNS: &str = "id, kind, amount, balance_after, recipient_id, stream_id, item_id, item_count, battle_id, reference, created_at";

/// Idempotency scope of backend credits (`reference`).
const SCOPE_CREDIT: &str = "credit";
/// Idempotency scope of client transactions (`clientTxId`), gifts and boosts alike.
const SCOPE_CLIENT: &str = "tx";

fn transaction_from_row(row: &AnyRow) -> StoreResult<Transaction> {
    let kind: String = row.try_get("kind").map_err(store_error)?;
    Ok(Transaction {
        id: row.try_get("id").map_err(store_error)?,
        kind: TxKind::parse(&kind).ok_or_else(|| StoreError::failure(format!("unexpected ledger kind {kind:?}")))?,
        amount: row.try_get("amount").map_err(store_error)?,
        balance_after: row.try_get("balance_after").map_err(store_error)?,
        recipient_id: row.try_get("recipient_id").map_err(store_error)?,
        stream_id: row.try_get("stream_id").map_err(store_error)?,
        item_id: row.try_get("item_id").map_err(store_error)?,
        count: row.try_get("item_count").map_err(store_error)?,
        battle_id: row.try_get("battle_id").map_err(store_error)?,
        reference: row.try_get("reference").map_err(store_error)?,
        created_at: Timestamp(row.try_get("created_at").map_err(store_error)?),
    })
}

/// A ledger row to claim.
struct Claim<'a> {
    user_id: &'a str,
    scope: &'a str,
    tx: &'a Transaction,
}

/// Inserts the ledger row unless its key was used; returns the earlier row then.
async fn claim(conn: &mut AnyConnection, c: Claim<'_>) -> StoreResult<Option<Transaction>> {
    let tx = c.tx;
    let inserted = sqlx::query(
        "INSERT INTO wallet_ledger (id, user_id, scope, reference, kind, amount, balance_after, recipient_id, stream_id,
           item_id, item_count, battle_id, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         ON CONFLICT (user_id, scope, reference) DO NOTHING",
    )
    .bind(tx.id.clone())
    .bind(c.user_id.to_owned())
    .bind(c.scope.to_owned())
    .bind(tx.reference.clone())
    .bind(tx.kind.as_str())
    .bind(tx.amount)
    .bind(tx.balance_after)
    .bind(tx.recipient_id.clone())
    .bind(tx.stream_id.clone())
    .bind(tx.item_id.clone())
    .bind(tx.count)
    .bind(tx.battle_id.clone())
    .bind(tx.created_at.millis())
    .execute(&mut *conn)
    .await
    .map_err(store_error)?
    .rows_affected()
        == 1;
    if inserted {
        return Ok(None);
    }
    let row = sqlx::query(&format!("SELECT {LEDGER_COLUMNS} FROM wallet_ledger WHERE user_id = $1 AND scope = $2 AND reference = $3"))
        .bind(c.user_id.to_owned())
        .bind(c.scope.to_owned())
        .bind(tx.reference.clone())
        .fetch_one(conn)
        .await
        .map_err(store_error)?;
    transaction_from_row(&row).map(Some)
}

async fn unclaim(conn: &mut AnyConnection, tx_id: &str) -> StoreResult<()> {
    execute(conn, "DELETE FROM wallet_ledger WHERE id = $1", args![tx_id]).await?;
    Ok(())
}

async fn settle_claim(conn: &mut AnyConnection, tx_id: &str, balance_after: i64, recipient: Option<&str>) -> StoreResult<()> {
    let sql = "UPDATE wallet_ledger SET balance_after = $2, recipient_id = $3 WHERE id = $1";
    execute(conn, sql, args![tx_id, balance_after, recipient.map(str::to_owned)]).await?;
    Ok(())
}

/// Takes `amount` from a wallet if it holds that much; the new balance, or `None`.
async fn debit(conn: &mut AnyConnection, user_id: &str, amount: i64, at: Timestamp) -> StoreResult<Option<i64>> {
    let row = sqlx::query("UPDATE wallets SET balance = balance - $2, updated_at = $3 WHERE user_id = $1 AND balance >= $2 RETURNING balance")
        .bind(user_id.to_owned())
        .bind(amount)
        .bind(at.millis())
        .fetch_optional(conn)
        .await
        .map_err(store_error)?;
    row.map(|r| r.try_get::<i64, _>("balance").map_err(store_error)).transpose()
}

/// Gives back a debit this transaction made.
async fn refund(conn: &mut AnyConnection, user_id: &str, amount: i64) -> StoreResult<()> {
    execute(conn, "UPDATE wallets SET balance = balance + $2 WHERE user_id = $1", args![user_id, amount]).await?;
    Ok(())
}

async fn add_earnings(conn: &mut AnyConnection, user_id: &str, coins: i64, at: Timestamp) -> StoreResult<()> {
    let sql = "INSERT INTO creator_earnings (user_id, coins, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (user_id) DO UPDATE SET coins = creator_earnings.coins + excluded.coins, updated_at = excluded.updated_at";
    execute(conn, sql, args![user_id, coins, at.millis()]).await?;
    Ok(())
}

/// Adds to a running total row and returns the new total.
async fn add_to_total(conn: &mut AnyConnection, sql: &str, a: &str, b: &str, coins: i64) -> StoreResult<i64> {
    sqlx::query(sql)
        .bind(a.to_owned())
        .bind(b.to_owned())
        .bind(coins)
        .fetch_one(conn)
        .await
        .map_err(store_error)?
        .try_get::<i64, _>("coins")
        .map_err(store_error)
}

/// Adds points to one side of a running battle; `false` when it is not running.
async fn score(conn: &mut AnyConnection, battle_id: &str, stream_id: &str, points: i64, at: Timestamp) -> StoreResult<bool> {
    let sql = "UPDATE battles SET score_a = score_a + CASE WHEN stream_a = $2 THEN $3 ELSE 0 END,
                            score_b = score_b + CASE WHEN stream_b = $2 THEN $3 ELSE 0 END
         WHERE id = $1 AND status = 'active' AND ends_at > $4 AND (stream_a = $2 OR stream_b = $2)";
    Ok(execute(conn, sql, args![battle_id, stream_id, points, at.millis()]).await? == 1)
}

async fn gift(conn: &mut AnyConnection, o: GiftOrder) -> StoreResult<GiftOutcome> {
    let tx = Transaction {
        id: o.tx_id.clone(),
        kind: TxKind::Gift,
        amount: o.coins,
        balance_after: 0,
        recipient_id: None,
        stream_id: Some(o.stream_id.clone()),
        item_id: Some(o.gift_id.clone()),
        count: o.count,
        battle_id: None,
        reference: o.client_tx_id.clone(),
        created_at: o.at,
    };
    if let Some(earlier) = claim(&mut *conn, Claim { user_id: &o.sender_id, scope: SCOPE_CLIENT, tx: &tx }).await? {
        return Ok(GiftOutcome::Replay(earlier));
    }
    let open = sqlx::query("SELECT status FROM streams WHERE id = $1")
        .bind(o.stream_id.clone())
        .fetch_optional(&mut *conn)
        .await
        .map_err(store_error)?
        .map(|r| r.try_get::<String, _>("status").map_err(store_error))
        .transpose()?
        .is_some_and(|s| s != StreamStatus::Ended.as_str());
    if !open {
        unclaim(&mut *conn, &tx.id).await?;
        return Ok(GiftOutcome::StreamClosed);
    }
    let Some(balance) = debit(&mut *conn, &o.sender_id, o.coins, o.at).await? else {
        unclaim(&mut *conn, &tx.id).await?;
        return Ok(GiftOutcome::Insufficient);
    };
    let row = sqlx::query(&format!(
        "UPDATE streams SET gifts = gifts + $2, coins = coins + $3 WHERE id = $1 AND status <> 'ended' RETURNING {STREAM_COLUMNS}"
    ))
    .bind(o.stream_id.clone())
    .bind(o.count)
    .bind(o.coins)
    .fetch_optional(&mut *conn)
    .await
    .map_err(store_error)?;
    let Some(row) = row else {
        // Ended between the check and now.
        refund(&mut *conn, &o.sender_id, o.coins).await?;
        unclaim(&mut *conn, &tx.id).await?;
        return Ok(GiftOutcome::StreamClosed);
    };
    let mut stream = stream_from_row(&row)?;
    let my_total = add_to_total(
        &mut *conn,
        "INSERT INTO stream_gifters (stream_id, user_id, coins) VALUES ($1, $2, $3)
         ON CONFLICT (stream_id, user_id) DO UPDATE SET coins = stream_gifters.coins + excluded.coins RETURNING coins",
        &o.stream_id,
        &o.sender_id,
        o.coins,
    )
    .await?;
    // The throne, by the domain's takeover rule, in the gift's own transaction.
    let mut throne_taken_from = None;
    let (coins, taken_from) = match throne::after_gift(stream.throne.as_ref(), &o.sender_id, my_total) {
        ThroneChange::Kept => (None, None),
        ThroneChange::Raised { coins } => (Some(coins), None),
        ThroneChange::Taken { coins, from } => (Some(coins), Some(from)),
    };
    if let Some(coins) = coins {
        let sql = "UPDATE streams SET throne_user_id = $2, throne_coins = $3 WHERE id = $1";
        execute(&mut *conn, sql, args![&o.stream_id, &o.sender_id, coins]).await?;
        throne_taken_from = taken_from;
        stream.throne = Some((o.sender_id.clone(), coins));
    }
    let supporter_after = add_to_total(
        &mut *conn,
        "INSERT INTO supporter_totals (creator_id, user_id, coins) VALUES ($1, $2, $3)
         ON CONFLICT (creator_id, user_id) DO UPDATE SET coins = supporter_totals.coins + excluded.coins RETURNING coins",
        &stream.owner_id,
        &o.sender_id,
        o.coins,
    )
    .await?;
    let mut battle = None;
    if let Some(battle_id) = stream.battle_id.clone()
        && score(&mut *conn, &battle_id, &o.stream_id, o.coins, o.at).await?
    {
        battle = read_battle(&mut *conn, &battle_id).await?;
    }
    add_earnings(&mut *conn, &stream.owner_id, o.coins, o.at).await?;
    settle_claim(&mut *conn, &tx.id, balance, Some(&stream.owner_id)).await?;
    let transaction = Transaction { balance_after: balance, recipient_id: Some(stream.owner_id.clone()), ..tx };
    Ok(GiftOutcome::Applied(Box::new(GiftApplied {
        transaction,
        balance,
        stream,
        throne_taken_from,
        supporter_before: supporter_after - o.coins,
        supporter_after,
        battle,
    })))
}

async fn boost(conn: &mut AnyConnection, o: BoostOrder) -> StoreResult<BoostOutcome> {
    let tx = Transaction {
        id: o.tx_id.clone(),
        kind: TxKind::Boost,
        amount: o.coins,
        balance_after: 0,
        recipient_id: None,
        stream_id: Some(o.side_stream_id.clone()),
        item_id: Some(o.boost_id.clone()),
        count: 1,
        battle_id: Some(o.battle_id.clone()),
        reference: o.client_tx_id.clone(),
        created_at: o.at,
    };
    if let Some(earlier) = claim(&mut *conn, Claim { user_id: &o.sender_id, scope: SCOPE_CLIENT, tx: &tx }).await? {
        return Ok(BoostOutcome::Replay(earlier));
    }
    let running = read_battle(&mut *conn, &o.battle_id).await?.filter(|b| {
        b.status == crate::domain::live::model::BattleStatus::Active
            && b.ends_at.is_some_and(|e| e > o.at)
            && b.side(&o.side_stream_id).is_some()
    });
    let Some(before) = running else {
        unclaim(&mut *conn, &tx.id).await?;
        return Ok(BoostOutcome::BattleClosed);
    };
    let Some(balance) = debit(&mut *conn, &o.sender_id, o.coins, o.at).await? else {
        unclaim(&mut *conn, &tx.id).await?;
        return Ok(BoostOutcome::Insufficient);
    };
    if !score(&mut *conn, &o.battle_id, &o.side_stream_id, o.points, o.at).await? {
        refund(&mut *conn, &o.sender_id, o.coins).await?;
        unclaim(&mut *conn, &tx.id).await?;
        return Ok(BoostOutcome::BattleClosed);
    }
    let recipient = before.side(&o.side_stream_id).map(|s| s.owner_id.clone()).unwrap_or_default();
    add_earnings(&mut *conn, &recipient, o.coins, o.at).await?;
    settle_claim(&mut *conn, &tx.id, balance, Some(&recipient)).await?;
    let battle = read_battle(&mut *conn, &o.battle_id).await?.ok_or_else(|| StoreError::failure("battle vanished inside its own transaction"))?;
    let transaction = Transaction { balance_after: balance, recipient_id: Some(recipient), ..tx };
    Ok(BoostOutcome::Applied(Box::new(BoostApplied { transaction, balance, battle })))
}

#[async_trait]
impl WalletStore for SqlStore {
    async fn wallet(&self, user_id: &str) -> StoreResult<WalletState> {
        let mut conn = self.read.acquire().await.map_err(store_error)?;
        let balance = sqlx::query("SELECT balance FROM wallets WHERE user_id = $1")
            .bind(user_id.to_owned())
            .fetch_optional(&mut *conn)
            .await
            .map_err(store_error)?
            .map_or(Ok(0), |r| r.try_get::<i64, _>("balance").map_err(store_error))?;
        let earnings = sqlx::query("SELECT coins FROM creator_earnings WHERE user_id = $1")
            .bind(user_id.to_owned())
            .fetch_optional(&mut *conn)
            .await
            .map_err(store_error)?
            .map_or(Ok(0), |r| r.try_get::<i64, _>("coins").map_err(store_error))?;
        Ok(WalletState { balance, earnings })
    }

    async fn credit(&self, order: &CreditOrder) -> StoreResult<CreditOutcome> {
        let o = order.clone();
        transaction!(self, |conn| {
            let tx = Transaction {
                id: o.tx_id.clone(),
                kind: TxKind::Credit,
                amount: o.amount,
                balance_after: 0,
                recipient_id: Some(o.user_id.clone()),
                stream_id: None,
                item_id: None,
                count: 1,
                battle_id: None,
                reference: o.reference.clone(),
                created_at: o.at,
            };
            if let Some(earlier) = claim(&mut *conn, Claim { user_id: &o.user_id, scope: SCOPE_CREDIT, tx: &tx }).await? {
                return Ok(CreditOutcome::Replay(earlier));
            }
            let balance: i64 = sqlx::query(
                "INSERT INTO wallets (user_id, balance, updated_at) VALUES ($1, $2, $3)
                 ON CONFLICT (user_id) DO UPDATE SET balance = wallets.balance + excluded.balance, updated_at = excluded.updated_at
                 RETURNING balance",
            )
            .bind(o.user_id.clone())
            .bind(o.amount)
            .bind(o.at.millis())
            .fetch_one(&mut *conn)
            .await
            .and_then(|r| r.try_get("balance"))
            .map_err(store_error)?;
            settle_claim(&mut *conn, &tx.id, balance, Some(&o.user_id)).await?;
            Ok(CreditOutcome::Applied(Transaction { balance_after: balance, ..tx }))
        })
    }

    async fn send_gift(&self, order: &GiftOrder, tells: Tells<GiftOutcome>) -> StoreResult<Told<GiftOutcome>> {
        let o = order.clone();
        telling!(self, tells, |conn| gift(conn, o).await)
    }

    async fn boost(&self, order: &BoostOrder) -> StoreResult<BoostOutcome> {
        let o = order.clone();
        transaction!(self, |conn| boost(conn, o).await)
    }
}
