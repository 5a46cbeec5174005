//! Runs the commands of live streams, gifts, battles and the wallet: the service call
//! behind each `LiveCommand`, and the shape of its ack.

use crate::domain::model::Actor;
use crate::domain::error::DomainResult;
use crate::domain::live::sanctions::Moderator;
use crate::state::App;
use crate::transport::commands::acks::{BattleAck, Done, GiftCatalog, StreamAck};
use crate::transport::commands::live::{LiveCommand, LiveReply};

/// Calls the service behind `command`.
pub async fn execute(app: &App, actor: &Actor, command: LiveCommand) -> DomainResult<LiveReply> {
    let live = &app.live_streams;
    match command {
        LiveCommand::Join(p) => live.streams.join(actor, &p.stream_id).await.map(LiveReply::Join),
        LiveCommand::Leave(p) => live.streams.leave(actor, &p.stream_id).await.map(|()| LiveReply::Leave(Done {})),
        LiveCommand::SetStatus(p) => live.streams.set_status(actor, &p.stream_id, &p.status).await.map(|stream| LiveReply::SetStatus(StreamAck { stream })),
        LiveCommand::Chat(p) => live.chat.send(actor, &p.stream_id, &p.text).await.map(LiveReply::Chat),
        LiveCommand::DeleteChat(p) => live.chat.delete(actor, &p.stream_id, &p.message_id).await.map(|()| LiveReply::DeleteChat(Done {})),
        LiveCommand::Like(p) => live.streams.like(actor, &p.stream_id, p.count).await.map(LiveReply::Like),
        LiveCommand::SlowMode(p) => {
            live.streams.set_slow_mode(actor, &p.stream_id, p.seconds).await.map(|stream| LiveReply::SlowMode(StreamAck { stream }))
        }
        LiveCommand::Moderate(p) => {
            let applied = live
                .sanctions
                .apply(Moderator::User(actor), &p.stream_id, &p.user_id, &p.action, p.duration_sec, p.reason.as_deref())
                .await?;
            let scope = format!("stream:{}", p.stream_id);
            app.sanctions.record(&actor.identity.user_id, &p.action, &p.user_id, &scope, p.reason.as_deref(), p.duration_sec).await;
            Ok(LiveReply::Moderate(applied))
        }
        LiveCommand::SendGift(p) => live.gifts.send(actor, &p.stream_id, &p.gift_id, p.count, &p.client_tx_id).await.map(LiveReply::SendGift),
        LiveCommand::GiftCatalog(_) => Ok(LiveReply::GiftCatalog(GiftCatalog { gifts: live.gift_list().gifts.to_vec() })),
        LiveCommand::WalletBalance(_) => live.wallet.balance(&actor.identity.user_id).await.map(LiveReply::WalletBalance),
        LiveCommand::StartBattle(p) => {
            live.battles.start(actor, &p.stream_id, &p.opponent_stream_id, p.duration_sec).await.map(|b| LiveReply::StartBattle(BattleAck { battle: b }))
        }
        LiveCommand::AcceptBattle(p) => live.battles.accept(actor, &p.battle_id).await.map(|b| LiveReply::AcceptBattle(BattleAck { battle: b })),
        LiveCommand::DeclineBattle(p) => live.battles.decline(actor, &p.battle_id).await.map(|b| LiveReply::DeclineBattle(BattleAck { battle: b })),
        LiveCommand::GetBattle(p) => live.battles.get(&p.battle_id).await.map(|b| LiveReply::GetBattle(BattleAck { battle: b })),
        LiveCommand::Boost(p) => live.battles.boost(actor, &p.battle_id, &p.side, p.boost_id.as_deref(), &p.client_tx_id).await.map(LiveReply::Boost),
    }
}
