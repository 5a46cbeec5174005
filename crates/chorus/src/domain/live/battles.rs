//! Battles: a live stream's owner invites another live stream's owner; the invitation
//! is accepted, declined, withdrawn or expires; an accepted battle runs on a timer;
//! gifts to either stream and boosts bought for a side add to its score; at the end
//! the higher score wins (or it is a tie).
//!
//! Across nodes the store is the only truth: scores are added inside the gift and
//! boost transactions, and a battle is closed by a conditional update, so when every
//! node times the same deadline exactly one of them closes it and announces the end.

use std::sync::Arc;

use serde::Serialize;

use super::Shared;
use super::model::{Battle, BattleStatus, Scores, Stream, StreamStatus, Transaction, TxKind};
use super::rules::idempotency_key;
use crate::domain::model::Actor;
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::events::LiveEvent;
use crate::domain::text::valid_id;
use crate::domain::time::Timestamp;
use crate::ports::outbox::Tells;
use crate::ports::live_store::{BoostOrder, BoostOutcome, NewBattle};
use crate::ports::publisher::{Audience, Room};

/// Ack of `battle:boost`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Boosted {
    pub balance: i64,
    pub scores: Scores,
    pub transaction: Transaction,
    /// True when this `clientTxId` had been sent before and nothing changed now.
    pub replayed: bool,
}

/// The battle service.
pub struct BattleService {
    shared: Arc<Shared>,
}

fn rooms_of_owners(b: &Battle) -> Vec<Room> {
    b.owner_ids().iter().map(|o| Room::User((*o).to_owned())).collect()
}

fn rooms_of_everyone(b: &Battle) -> Vec<Room> {
    let mut rooms: Vec<Room> = b.stream_ids().iter().map(|s| Room::Stream((*s).to_owned())).collect();
    rooms.extend(rooms_of_owners(b));
    rooms
}

impl BattleService {
    pub fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }

    /// Times a battle's next deadline: its invitation's expiry, or its end.
    pub(crate) fn schedule(&self, battle: &Battle) {
        match (battle.status, battle.ends_at) {
            (BattleStatus::Pending, _) => self.shared.board.schedule(&battle.id, battle.invite_expires_at.millis()),
            (BattleStatus::Active, Some(end)) => self.shared.board.schedule(&battle.id, end.millis()),
            _ => self.shared.board.battle_settled(&battle.id),
        }
    }

    /// A battle by id; unknown ids are `not_found`.
    pub async fn get(&self, battle_id: &str) -> DomainResult<Battle> {
        valid_id("battleId", battle_id)?;
        self.shared.battles.battle(battle_id).await?.ok_or_else(|| DomainError::not_found("unknown battle"))
    }

    /// The pending or running battle of a stream.
    pub async fn current(&self, stream: &Stream) -> DomainResult<Option<Battle>> {
        let Some(id) = &stream.battle_id else { return Ok(None) };
        let battle = self.shared.battles.battle(id).await?;
        Ok(battle.filter(|b| matches!(b.status, BattleStatus::Pending | BattleStatus::Active)))
    }

    /// `battle:start`: the owner of a live stream invites the owner of another live stream.
    pub async fn start(&self, actor: &Actor, stream_id: &str, opponent_stream_id: &str, duration_sec: Option<i64>) -> DomainResult<Battle> {
        let s = &self.shared;
        let duration = s.rules.battle_duration(duration_sec)?;
        valid_id("streamId", stream_id)?;
        valid_id("opponentStreamId", opponent_stream_id)?;
        if stream_id == opponent_stream_id {
            return Err(DomainError::bad_request("a stream cannot battle itself"));
        }
        let me = &actor.identity.user_id;
        let mine = s.stream_or_404(stream_id).await?;
        if mine.owner_id != *me {
            return Err(DomainError::forbidden("only the stream's owner starts a battle"));
        }
        let theirs = s.stream_or_404(opponent_stream_id).await?;
        if theirs.owner_id == *me {
            return Err(DomainError::bad_request("a battle against one's own stream is not allowed"));
        }
        if mine.status != StreamStatus::Live {
            return Err(DomainError::conflict("your stream must be live to start a battle"));
        }
        if theirs.status != StreamStatus::Live {
            return Err(DomainError::conflict("the opponent's stream is not live"));
        }
        let now = Timestamp::now();
        let battle = s
            .battles
            .create_battle(&NewBattle {
                id: uuid::Uuid::now_v7().to_string(),
                challenger_stream: mine.id.clone(),
                challenger_owner: mine.owner_id.clone(),
                opponent_stream: theirs.id.clone(),
                opponent_owner: theirs.owner_id.clone(),
                duration_sec: duration,
                at: now,
                invite_expires_at: now.plus_millis(s.rules.battle_invite_ttl.as_millis() as i64),
            })
            .await?
            .ok_or_else(|| DomainError::conflict("one of the streams is already in a battle or no longer live"))?;
        self.schedule(&battle);
        // The other nodes time the invitation too (any of them may expire it).
        s.board.battle_changed(&battle.id);
        let from = s.users.summary(me).await?;
        let invite = LiveEvent::BattleInvited { battle: Box::new(battle.clone()), from, stream: Box::new(mine) };
        s.events.emit(Audience::Room(Room::User(theirs.owner_id.clone())), invite.into()).await;
        Ok(battle)
    }

    /// `battle:accept`: the invited owner starts the battle; both streams hear
    /// `battle:started`.
    pub async fn accept(&self, actor: &Actor, battle_id: &str) -> DomainResult<Battle> {
        let s = &self.shared;
        let battle = self.get(battle_id).await?;
        if battle.opponent.owner_id != actor.identity.user_id {
            return Err(DomainError::forbidden("only the invited streamer accepts a battle"));
        }
        let now = Timestamp::now();
        self.check_pending(&battle, now)?;
        let ends_at = now.plus_millis(i64::from(battle.duration_sec) * 1000);
        let Some(started) = s.battles.accept_battle(&battle.id, now, ends_at).await? else {
            let fresh = self.get(battle_id).await?;
            self.check_pending(&fresh, Timestamp::now())?;
            return Err(DomainError::conflict("both streams must be live to start the battle"));
        };
        self.schedule(&started);
        s.events.emit(Audience::Rooms(rooms_of_everyone(&started)), LiveEvent::BattleStarted { battle: Box::new(started.clone()) }.into()).await;
        s.board.battle_changed(&started.id);
        Ok(started)
    }

    /// `battle:decline`: the invited owner declines, or the challenger withdraws.
    pub async fn decline(&self, actor: &Actor, battle_id: &str) -> DomainResult<Battle> {
        let battle = self.get(battle_id).await?;
        let me = &actor.identity.user_id;
        let status = if battle.opponent.owner_id == *me {
            BattleStatus::Declined
        } else if battle.challenger.owner_id == *me {
            BattleStatus::Cancelled
        } else {
            return Err(DomainError::forbidden("only the two streamers answer a battle invitation"));
        };
        if battle.status != BattleStatus::Pending {
            return Err(DomainError::conflict(format!("the battle is {}", battle.status.as_str())));
        }
        let closed = self
            .shared
            .battles
            .close_pending(&battle.id, status, Timestamp::now())
            .await?
            .ok_or_else(|| DomainError::conflict("the battle is no longer pending"))?;
        self.shared.board.battle_settled(&closed.id);
        let (battle, by) = (Box::new(closed.clone()), me.clone());
        let event = if status == BattleStatus::Declined { LiveEvent::BattleDeclined { battle, by } } else { LiveEvent::BattleWithdrawn { battle, by } };
        self.tell_owners(&closed, event).await;
        Ok(closed)
    }

    /// `battle:boost`: a viewer buys a catalog boost (by default the first) for one
    /// side of a running battle.
    pub async fn boost(&self, actor: &Actor, battle_id: &str, side: &str, boost_id: Option<&str>, client_tx_id: &str) -> DomainResult<Boosted> {
        let s = &self.shared;
        if actor.identity.guest {
            return Err(DomainError::unauthorized("guests cannot boost"));
        }
        let boost = match boost_id {
            Some(id) => s.catalog.boost(id)?,
            None => s.catalog.first_boost()?,
        }
        .clone();
        let points = boost.points.unwrap_or(0);
        let client_tx_id = idempotency_key("clientTxId", client_tx_id)?;
        valid_id("side", side)?;
        let battle = self.get(battle_id).await?;
        let side = battle
            .side(side)
            .ok_or_else(|| DomainError::bad_request("side must be the streamId of one side of the battle"))?
            .clone();
        let me = &actor.identity.user_id;
        if side.owner_id == *me {
            return Err(DomainError::bad_request("you cannot boost your own side"));
        }
        if s.streams.sanctions(&side.stream_id, me, Timestamp::now()).await?.banned.is_some() {
            return Err(DomainError::forbidden("you are banned from this stream"));
        }
        let order = BoostOrder {
            tx_id: uuid::Uuid::now_v7().to_string(),
            sender_id: me.clone(),
            battle_id: battle.id.clone(),
            side_stream_id: side.stream_id.clone(),
            boost_id: boost.id.clone(),
            points,
            coins: boost.coins,
            client_tx_id: client_tx_id.to_owned(),
            at: Timestamp::now(),
        };
        match s.wallets.boost(&order).await? {
            BoostOutcome::Applied(applied) => {
                s.board.battle_changed(&applied.battle.id);
                metrics::counter!("chorus_battle_boosts_total").increment(1);
                Ok(Boosted { balance: applied.balance, scores: applied.battle.scores(), transaction: applied.transaction, replayed: false })
            }
            BoostOutcome::Replay(tx) => {
                let same = tx.kind == TxKind::Boost
                    && tx.battle_id.as_deref() == Some(order.battle_id.as_str())
                    && tx.stream_id.as_deref() == Some(order.side_stream_id.as_str())
                    && tx.item_id.as_deref() == Some(order.boost_id.as_str())
                    && tx.amount == order.coins;
                if !same {
                    return Err(DomainError::conflict("clientTxId was already used for a different transaction"));
                }
                let scores = self.get(&order.battle_id).await?.scores();
                Ok(Boosted { balance: tx.balance_after, scores, transaction: tx, replayed: true })
            }
            BoostOutcome::Insufficient => Err(DomainError::conflict("not enough coins")),
            BoostOutcome::BattleClosed if battle.status == BattleStatus::Pending => {
                Err(DomainError::conflict("the battle has not started yet"))
            }
            BoostOutcome::BattleClosed => Err(DomainError::conflict("the battle is not running")),
        }
    }

    /// A stream ended: its invitation is cancelled, its running battle ends now.
    pub(crate) async fn stream_ended(&self, stream: &Stream) {
        let battle = match self.current(stream).await {
            Ok(Some(b)) => b,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(stream = %stream.id, error = %e.chain(), "battle of an ended stream not settled");
                return;
            }
        };
        self.settle(battle, Timestamp::now(), true).await;
    }

    /// Changed battles, read from the store: a running one's scores go out to this
    /// node's connections in both stream rooms (every node sends its own), and its
    /// deadline is timed here too, so the battle ends even if the node that started it
    /// is gone.
    pub(crate) async fn publish_scores(&self, battle_ids: Vec<String>) {
        let s = &self.shared;
        for id in battle_ids {
            let battle = match s.battles.battle(&id).await {
                Ok(Some(b)) => b,
                Ok(None) => continue,
                Err(e) => {
                    tracing::warn!(battle = %id, error = %e.chain(), "battle scores not read; retrying next tick");
                    s.board.battle_marked(&id);
                    continue;
                }
            };
            self.schedule(&battle);
            if battle.status == BattleStatus::Active && s.board.scores_changed(&battle.id, &battle.scores()) {
                let rooms = battle.stream_ids().iter().map(|id| Room::Stream((*id).to_owned())).collect();
                let scored = LiveEvent::BattleScored { battle_id: battle.id.clone(), scores: battle.scores() };
                s.events.emit(Audience::Rooms(rooms), scored.into()).await;
            }
        }
    }

    /// Times every open battle (after a start, and now and then in case a mark from
    /// another node was lost).
    pub(crate) async fn schedule_open(&self) -> DomainResult<()> {
        for battle in self.shared.battles.open_battles().await? {
            self.schedule(&battle);
        }
        Ok(())
    }

    /// Settles the battles whose deadline passed (called by the tick).
    pub(crate) async fn settle_due(&self) {
        let now = Timestamp::now();
        for id in self.shared.board.due_battles(now.millis()) {
            match self.shared.battles.battle(&id).await {
                Ok(Some(battle)) => self.settle(battle, now, false).await,
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(battle = %id, error = %e.chain(), "battle not settled; retrying");
                    self.shared.board.schedule(&id, now.plus_millis(1000).millis());
                }
            }
        }
    }

    /// Expires, cancels or ends a battle that is due (or must stop now).
    async fn settle(&self, battle: Battle, now: Timestamp, stop_now: bool) {
        let s = &self.shared;
        let result = match battle.status {
            BattleStatus::Pending if stop_now || battle.invite_expires_at <= now => {
                let status = if stop_now { BattleStatus::Cancelled } else { BattleStatus::Expired };
                s.battles.close_pending(&battle.id, status, now).await.map(|closed| closed.map(|b| (b, status)))
            }
            BattleStatus::Active if stop_now || battle.ends_at.is_some_and(|e| e <= now) => {
                // Its end is told to the app's backend in the same transaction; the
                // sockets hear it below.
                let tells: Tells<Option<Battle>> = Box::new(|ended| ended.as_ref().map(|b| LiveEvent::BattleEnded { battle: Box::new(b.clone()) }.into()));
                s.battles.end_battle(&battle.id, now, tells).await.map(|told| told.outcome.map(|b| (b, BattleStatus::Ended)))
            }
            BattleStatus::Pending | BattleStatus::Active => {
                self.schedule(&battle);
                return;
            }
            _ => Ok(None),
        };
        match result {
            Ok(Some((closed, status))) => {
                s.board.battle_settled(&closed.id);
                match status {
                    BattleStatus::Ended => {
                        let to = Audience::Rooms(rooms_of_everyone(&closed));
                        s.events.emit(to, LiveEvent::BattleEnded { battle: Box::new(closed) }.into()).await;
                    }
                    BattleStatus::Expired => self.tell_owners(&closed, LiveEvent::BattleExpired { battle: Box::new(closed.clone()) }).await,
                    _ => self.tell_owners(&closed, LiveEvent::BattleCancelled { battle: Box::new(closed.clone()) }).await,
                }
            }
            // Already settled elsewhere (another node, a concurrent answer).
            Ok(None) => s.board.battle_settled(&battle.id),
            Err(e) => {
                tracing::warn!(battle = %battle.id, error = %e.chain(), "battle not settled; retrying");
                s.board.schedule(&battle.id, now.plus_millis(1000).millis());
            }
        }
    }

    fn check_pending(&self, battle: &Battle, now: Timestamp) -> DomainResult<()> {
        if battle.status != BattleStatus::Pending {
            return Err(DomainError::conflict(format!("the battle is {}", battle.status.as_str())));
        }
        if battle.invite_expires_at <= now {
            return Err(DomainError::conflict("the battle invitation expired"));
        }
        Ok(())
    }

    /// Tells the two streamers (not their viewers) of `event`.
    async fn tell_owners(&self, battle: &Battle, event: LiveEvent) {
        self.shared.events.emit(Audience::Rooms(rooms_of_owners(battle)), event.into()).await;
    }
}
