//! Runs the commands of live streams, gifts, battles and the wallet: the service call
//! behind each `LiveCommand`, and the shape of its ack.

use serde_json::{Value, json};

use super::ack::ack_data;
use crate::domain::model::Actor;
use crate::domain::error::DomainResult;
use crate::domain::live::sanctions::Moderator;
use crate::state::App;
use crate::transport::commands::live::LiveCommand;

/// Calls the service behind `command`.
pub async fn execute(app: &App, actor: &Actor, command: LiveCommand) -> DomainResult<Value> {
    let live = &app.live_streams;
    match command {
        LiveCommand::Join(p) => ack_data(live.streams.join(actor, &p.stream_id).await),
        LiveCommand::Leave(p) => live.streams.leave(actor, &p.stream_id).await.map(|()| json!({})),
        LiveCommand::SetStatus(p) => live.streams.set_status(actor, &p.stream_id, &p.status).await.map(|stream| json!({ "stream": stream })),
        LiveCommand::Chat(p) => ack_data(live.chat.send(actor, &p.stream_id, &p.text).await),
        LiveCommand::DeleteChat(p) => live.chat.delete(actor, &p.stream_id, &p.message_id).await.map(|()| json!({})),
        LiveCommand::Like(p) => ack_data(live.streams.like(actor, &p.stream_id, p.count).await),
        LiveCommand::SlowMode(p) => {
            live.streams.set_slow_mode(actor, &p.stream_id, p.seconds).await.map(|stream| json!({ "stream": stream }))
        }
        LiveCommand::Moderate(p) => {
            let applied = live
                .sanctions
                .apply(Moderator::User(actor), &p.stream_id, &p.user_id, &p.action, p.duration_sec, p.reason.as_deref())
                .await?;
            let scope = format!("stream:{}", p.stream_id);
            app.sanctions.record(&actor.identity.user_id, &p.action, &p.user_id, &scope, p.reason.as_deref(), p.duration_sec).await;
            ack_data(Ok(applied))
        }
        LiveCommand::SendGift(p) => ack_data(live.gifts.send(actor, &p.stream_id, &p.gift_id, p.count, &p.client_tx_id).await),
        LiveCommand::GiftCatalog(_) => ack_data(Ok(live.gift_list())),
        LiveCommand::WalletBalance(_) => Ok(json!(live.wallet.balance(&actor.identity.user_id).await?)),
        LiveCommand::StartBattle(p) => {
            live.battles.start(actor, &p.stream_id, &p.opponent_stream_id, p.duration_sec).await.map(|b| json!({ "battle": b }))
        }
        LiveCommand::AcceptBattle(p) => live.battles.accept(actor, &p.battle_id).await.map(|b| json!({ "battle": b })),
        LiveCommand::DeclineBattle(p) => live.battles.decline(actor, &p.battle_id).await.map(|b| json!({ "battle": b })),
        LiveCommand::GetBattle(p) => live.battles.get(&p.battle_id).await.map(|b| json!({ "battle": b })),
        LiveCommand::Boost(p) => ack_data(live.battles.boost(actor, &p.battle_id, &p.side, &p.boost_id, &p.client_tx_id).await),
    }
}
