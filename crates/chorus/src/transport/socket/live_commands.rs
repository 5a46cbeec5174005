//! Socket commands of live streams (PROTOCOL.md §9): `stream:*`, `gift:*`,
//! `battle:*` and `wallet:*`. Counts are read as integers of any sign so that zero
//! and negative values get the service's own clear `bad_request`.

use serde::Deserialize;
use serde_json::{Value, json};

use super::commands::{NoArguments, no_arguments, run, shape, unknown_event};
use crate::domain::content::Actor;
use crate::domain::error::DomainResult;
use crate::domain::live::sanctions::Moderator;
use crate::state::App;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StreamRef {
    stream_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SetStatus {
    stream_id: String,
    status: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Chat {
    stream_id: String,
    text: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChatDelete {
    stream_id: String,
    message_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Like {
    stream_id: String,
    count: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SlowMode {
    stream_id: String,
    seconds: i64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Moderate {
    stream_id: String,
    user_id: String,
    action: String,
    duration_sec: Option<i64>,
    reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SendGift {
    stream_id: String,
    gift_id: String,
    count: Option<i64>,
    client_tx_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StartBattle {
    stream_id: String,
    opponent_stream_id: String,
    duration_sec: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BattleRef {
    battle_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Boost {
    battle_id: String,
    side: String,
    boost_id: String,
    client_tx_id: String,
}

/// Routes `stream:*`, `gift:*`, `battle:*` and `wallet:*` events.
pub async fn dispatch(app: &App, actor: &Actor, event: &str, data: Value) -> DomainResult<Value> {
    let live = &app.streams;
    match event {
        "stream:join" => run(data, |p: StreamRef| async move { live.streams.join(actor, &p.stream_id).await }).await,
        "stream:leave" => {
            run(data, |p: StreamRef| async move { live.streams.leave(actor, &p.stream_id).await.map(|()| json!({})) }).await
        }
        "stream:status" => {
            run(data, |p: SetStatus| async move {
                live.streams.set_status(actor, &p.stream_id, &p.status).await.map(|stream| json!({ "stream": stream }))
            })
            .await
        }
        "stream:chat" => run(data, |p: Chat| async move { live.chat.send(actor, &p.stream_id, &p.text).await }).await,
        "stream:chat_delete" => {
            run(data, |p: ChatDelete| async move {
                live.chat.delete(actor, &p.stream_id, &p.message_id).await.map(|()| json!({}))
            })
            .await
        }
        "stream:like" => run(data, |p: Like| async move { live.streams.like(actor, &p.stream_id, p.count).await }).await,
        "stream:slow_mode" => {
            run(data, |p: SlowMode| async move {
                live.streams.set_slow_mode(actor, &p.stream_id, p.seconds).await.map(|stream| json!({ "stream": stream }))
            })
            .await
        }
        "stream:moderate" => {
            run(data, |p: Moderate| async move {
                let applied = live
                    .sanctions
                    .apply(Moderator::User(actor), &p.stream_id, &p.user_id, &p.action, p.duration_sec, p.reason.as_deref())
                    .await?;
                let scope = format!("stream:{}", p.stream_id);
                app.sanctions.record(&actor.identity.user_id, &p.action, &p.user_id, &scope, p.reason.as_deref(), p.duration_sec).await;
                Ok(applied)
            })
            .await
        }
        "gift:send" => {
            run(data, |p: SendGift| async move {
                live.gifts.send(actor, &p.stream_id, &p.gift_id, p.count, &p.client_tx_id).await
            })
            .await
        }
        "gift:catalog" => no_arguments(data).map(|()| live.catalog()),
        "wallet:balance" => {
            no_arguments(data)?;
            Ok(json!(live.wallet.balance(&actor.identity.user_id).await?))
        }
        "battle:start" => {
            run(data, |p: StartBattle| async move {
                live.battles.start(actor, &p.stream_id, &p.opponent_stream_id, p.duration_sec).await.map(|b| json!({ "battle": b }))
            })
            .await
        }
        "battle:accept" => {
            run(data, |p: BattleRef| async move { live.battles.accept(actor, &p.battle_id).await.map(|b| json!({ "battle": b })) })
                .await
        }
        "battle:decline" => {
            run(data, |p: BattleRef| async move { live.battles.decline(actor, &p.battle_id).await.map(|b| json!({ "battle": b })) })
                .await
        }
        "battle:get" => {
            run(data, |p: BattleRef| async move { live.battles.get(&p.battle_id).await.map(|b| json!({ "battle": b })) }).await
        }
        "battle:boost" => {
            run(data, |p: Boost| async move {
                live.battles.boost(actor, &p.battle_id, &p.side, &p.boost_id, &p.client_tx_id).await
            })
            .await
        }
        other => Err(unknown_event(other)),
    }
}

/// The payload decoding of `dispatch` alone (see `commands::check_payload`).
pub(crate) fn check_payload(event: &str, payload: &Value) -> DomainResult<()> {
    match event {
        "stream:join" | "stream:leave" => shape::<StreamRef>(payload),
        "stream:status" => shape::<SetStatus>(payload),
        "stream:chat" => shape::<Chat>(payload),
        "stream:chat_delete" => shape::<ChatDelete>(payload),
        "stream:like" => shape::<Like>(payload),
        "stream:slow_mode" => shape::<SlowMode>(payload),
        "stream:moderate" => shape::<Moderate>(payload),
        "gift:send" => shape::<SendGift>(payload),
        "gift:catalog" | "wallet:balance" => shape::<NoArguments>(payload),
        "battle:start" => shape::<StartBattle>(payload),
        "battle:accept" | "battle:decline" | "battle:get" => shape::<BattleRef>(payload),
        "battle:boost" => shape::<Boost>(payload),
        other => Err(unknown_event(other)),
    }
}
