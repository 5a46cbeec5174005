//! Gifts: `gift:send` pays for a catalog gift in one transaction (sender debited,
//! creator's earnings credited, ledger row, stream totals, throne, supporter total,
//! battle score), then announces what changed: `gift:sent`, `throne:claimed`,
//! `og:changed`, the battle score, and the creator's `gift` notification.

use std::sync::Arc;

use serde::Serialize;

use super::model::{Transaction, TxKind};
use super::rules::idempotency_key;
use super::throne::{announce_og, announce_throne, og_change};
use super::{Shared, ended};
use crate::domain::model::Actor;
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::events::{DomainEvent, LiveEvent};
use crate::domain::model::UserSummary;
use crate::domain::time::Timestamp;
use crate::ports::live_store::{GiftApplied, GiftOrder, GiftOutcome};
use crate::ports::outbox::{Tells, Told};
use crate::ports::publisher::{Audience, Room};

/// Ack of `gift:send`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GiftSent {
    /// The sender's balance after paying.
    pub balance: i64,
    pub transaction: Transaction,
    /// True when this `clientTxId` had been sent before and nothing changed now.
    pub replayed: bool,
}

/// The gift service.
pub struct GiftService {
    shared: Arc<Shared>,
}

impl GiftService {
    pub fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }

    /// `gift:send {streamId, giftId, count, clientTxId}`.
    pub async fn send(&self, actor: &Actor, stream_id: &str, gift_id: &str, count: Option<i64>, client_tx_id: &str) -> DomainResult<GiftSent> {
        let s = &self.shared;
        if actor.identity.guest {
            return Err(DomainError::unauthorized("guests cannot send gifts"));
        }
        let count = s.rules.gift_count(count)?;
        let gift = s.catalog.gift(gift_id)?.clone();
        let client_tx_id = idempotency_key("clientTxId", client_tx_id)?;
        let coins = gift.coins.checked_mul(count).ok_or_else(|| DomainError::bad_request("count is too large"))?;
        let stream = s.stream_or_404(stream_id).await?;
        let me = &actor.identity.user_id;
        if stream.owner_id == *me {
            return Err(DomainError::bad_request("you cannot send gifts to your own stream"));
        }
        // A ban keeps a viewer out of the stream: no gift (announced to everyone) either.
        if s.streams.sanctions(&stream.id, me, Timestamp::now()).await?.banned.is_some() {
            return Err(DomainError::forbidden("you are banned from this stream"));
        }
        let order = GiftOrder {
            tx_id: uuid::Uuid::now_v7().to_string(),
            sender_id: me.clone(),
            stream_id: stream.id.clone(),
            gift_id: gift.id.clone(),
            count,
            coins,
            client_tx_id: client_tx_id.to_owned(),
            at: Timestamp::now(),
        };
        let sender = s.users.summary(me).await.unwrap_or_else(|_| UserSummary::unknown(me));
        let (paid, from) = (gift.clone(), sender.clone());
        let tells: Tells<GiftOutcome> = Box::new(move |outcome| match outcome {
            GiftOutcome::Applied(applied) => Some(
                LiveEvent::GiftSent {
                    stream_id: applied.stream.id.clone(),
                    creator_id: applied.stream.owner_id.clone(),
                    sender: from,
                    gift: paid,
                    count,
                    coins: applied.transaction.amount,
                    transaction_id: applied.transaction.id.clone(),
                    sender_balance: applied.balance,
                }
                .into(),
            ),
            _ => None,
        });
        let Told { outcome, event } = s.wallets.send_gift(&order, tells).await?;
        match outcome {
            GiftOutcome::Applied(applied) => {
                let ack = GiftSent { balance: applied.balance, transaction: applied.transaction.clone(), replayed: false };
                self.announce(*applied, event, sender).await;
                Ok(ack)
            }
            GiftOutcome::Replay(tx) => {
                let same = tx.kind == TxKind::Gift
                    && tx.stream_id.as_deref() == Some(order.stream_id.as_str())
                    && tx.item_id.as_deref() == Some(order.gift_id.as_str())
                    && tx.count == count
                    && tx.amount == coins;
                if !same {
                    return Err(DomainError::conflict("clientTxId was already used for a different transaction"));
                }
                Ok(GiftSent { balance: tx.balance_after, transaction: tx, replayed: true })
            }
            GiftOutcome::Insufficient => Err(DomainError::conflict("not enough coins")),
            GiftOutcome::StreamClosed => Err(ended()),
        }
    }

    /// Tells everyone what one paid gift changed (`sent`: its `gift:sent`).
    async fn announce(&self, applied: GiftApplied, sent: Option<DomainEvent>, sender: UserSummary) {
        let s = &self.shared;
        let stream = &applied.stream;
        s.board.track(stream);
        if let Some(sent) = sent {
            s.events.emit(Audience::Room(Room::Stream(stream.id.clone())), sent).await;
        }
        if let Some(previous) = applied.throne_taken_from.clone() {
            announce_throne(s, stream, &sender, previous).await;
        }
        if let Some((previous, tier)) = og_change(&s.rules.og_tiers, applied.supporter_before, applied.supporter_after) {
            announce_og(s, stream, &sender, previous, tier).await;
        }
        if let Some(battle) = &applied.battle {
            s.board.battle_changed(&battle.id);
        }
    }
}
