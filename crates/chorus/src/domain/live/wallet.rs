//! Wallets: balances (`wallet:balance`, `GET /api/wallet`) and credits by the app
//! backend, idempotent by `reference`. Coins are whole numbers (i64) throughout.

use std::sync::Arc;

use serde::Serialize;

use super::Shared;
use super::model::{Transaction, TxKind, WalletState};
use super::rules::idempotency_key;
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::events::LiveEvent;
use crate::domain::text::valid_id;
use crate::domain::time::Timestamp;
use crate::ports::live_store::{CreditOrder, CreditOutcome};
use crate::ports::publisher::{Audience, Room};

/// Answer of a credit.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Credited {
    /// The balance right after this credit.
    pub balance: i64,
    pub transaction: Transaction,
    /// True when the reference had been used before and nothing changed now.
    pub replayed: bool,
}

/// The wallet service.
pub struct WalletService {
    shared: Arc<Shared>,
}

impl WalletService {
    pub fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }

    /// A user's balance and earnings (zero for a user without a wallet).
    pub async fn balance(&self, user_id: &str) -> DomainResult<WalletState> {
        valid_id("userId", user_id)?;
        Ok(self.shared.wallets.wallet(user_id).await?)
    }

    /// `POST /api/server/wallets/{userId}/credit`: adds `amount` coins once per
    /// `reference`. The same reference again returns the first result; with another
    /// amount it is a `conflict`.
    pub async fn credit(&self, user_id: &str, amount: i64, reference: &str) -> DomainResult<Credited> {
        let user_id = valid_id("userId", user_id)?;
        let reference = idempotency_key("reference", reference)?;
        let max = self.shared.rules.max_credit;
        if !(1..=max).contains(&amount) {
            return Err(DomainError::bad_request(format!("amount must be a whole number of coins, 1-{max}")));
        }
        let order = CreditOrder {
            tx_id: uuid::Uuid::now_v7().to_string(),
            user_id: user_id.to_owned(),
            amount,
            reference: reference.to_owned(),
            at: Timestamp::now(),
        };
        match self.shared.wallets.credit(&order).await? {
            CreditOutcome::Applied(tx) => {
                let updated = LiveEvent::WalletUpdated { balance: tx.balance_after };
                self.shared.events.emit(Audience::Room(Room::User(user_id.to_owned())), updated.into()).await;
                Ok(Credited { balance: tx.balance_after, transaction: tx, replayed: false })
            }
            CreditOutcome::Replay(tx) if tx.kind == TxKind::Credit && tx.amount == amount => {
                Ok(Credited { balance: tx.balance_after, transaction: tx, replayed: true })
            }
            CreditOutcome::Replay(_) => Err(DomainError::conflict("reference was already used with a different amount")),
        }
    }
}
