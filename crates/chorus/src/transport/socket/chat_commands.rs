//! Socket commands of chat (PROTOCOL.md §7): payload shapes and the chat service call
//! behind each `chat:*` event.

use serde::Deserialize;
use serde_json::{Value, json};

use super::commands::{run, shape, unknown_event};
use crate::domain::chat::model::{Location, SendInput};
use crate::domain::content::Actor;
use crate::domain::error::DomainResult;
use crate::state::App;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RoomRef {
    room_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Send {
    room_id: String,
    client_msg_id: String,
    kind: Option<String>,
    text: Option<String>,
    location: Option<Location>,
    reply_to: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct History {
    room_id: String,
    before: Option<String>,
    limit: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Typing {
    room_id: String,
    typing: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Read {
    room_id: String,
    message_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct React {
    message_id: String,
    emoji: String,
    on: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Edit {
    message_id: String,
    text: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MessageRef {
    message_id: String,
}

/// Routes the `chat:*` events.
pub async fn dispatch(app: &App, actor: &Actor, event: &str, data: Value) -> DomainResult<Value> {
    let chat = &app.chat;
    match event {
        "chat:join" => run(data, |p: RoomRef| async move { chat.join(actor, &p.room_id).await }).await,
        "chat:leave" => run(data, |p: RoomRef| async move { chat.leave(actor, &p.room_id).await.map(|()| json!({})) }).await,
        "chat:send" => {
            run(data, |p: Send| async move {
                let input = SendInput {
                    room_id: p.room_id,
                    client_msg_id: p.client_msg_id,
                    kind: p.kind,
                    text: p.text,
                    location: p.location,
                    reply_to: p.reply_to,
                };
                chat.send(actor, &input).await
            })
            .await
        }
        "chat:history" => {
            run(data, |p: History| async move { chat.history(actor, &p.room_id, p.before.as_deref(), p.limit).await }).await
        }
        "chat:typing" => {
            run(data, |p: Typing| async move { chat.typing(actor, &p.room_id, p.typing).await.map(|()| json!({})) }).await
        }
        "chat:read" => run(data, |p: Read| async move { chat.read(actor, &p.room_id, &p.message_id).await }).await,
        "chat:react" => run(data, |p: React| async move { chat.react(actor, &p.message_id, &p.emoji, p.on).await }).await,
        "chat:edit" => {
            run(data, |p: Edit| async move { chat.edit(actor, &p.message_id, &p.text).await.map(|m| json!({ "message": m })) })
                .await
        }
        "chat:delete" => {
            run(data, |p: MessageRef| async move { chat.delete(actor, &p.message_id).await.map(|()| json!({})) }).await
        }
        _ => Err(unknown_event(event)),
    }
}

/// The payload decoding of `dispatch` alone (see `commands::check_payload`).
pub(crate) fn check_payload(event: &str, payload: &Value) -> DomainResult<()> {
    match event {
        "chat:join" | "chat:leave" => shape::<RoomRef>(payload),
        "chat:send" => shape::<Send>(payload),
        "chat:history" => shape::<History>(payload),
        "chat:typing" => shape::<Typing>(payload),
        "chat:read" => shape::<Read>(payload),
        "chat:react" => shape::<React>(payload),
        "chat:edit" => shape::<Edit>(payload),
        "chat:delete" => shape::<MessageRef>(payload),
        _ => Err(unknown_event(event)),
    }
}
