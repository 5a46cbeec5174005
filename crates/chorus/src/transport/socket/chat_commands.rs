//! Runs the commands of chat rooms: the chat service call behind each `ChatCommand`,
//! and the shape of its ack.

use serde_json::{Value, json};

use super::ack::ack_data;
use crate::domain::model::Actor;
use crate::domain::error::DomainResult;
use crate::state::App;
use crate::transport::commands::chat::ChatCommand;

/// Calls the service behind `command`.
pub async fn execute(app: &App, actor: &Actor, command: ChatCommand) -> DomainResult<Value> {
    let chat = &app.chat;
    match command {
        ChatCommand::Join(p) => ack_data(chat.join(actor, &p.room_id).await),
        ChatCommand::Leave(p) => chat.leave(actor, &p.room_id).await.map(|()| json!({})),
        ChatCommand::Send(input) => ack_data(chat.send(actor, &input).await),
        ChatCommand::History(p) => ack_data(chat.history(actor, &p.room_id, p.before.as_deref(), p.limit).await),
        ChatCommand::Typing(p) => chat.typing(actor, &p.room_id, p.typing).await.map(|()| json!({})),
        ChatCommand::Read(p) => ack_data(chat.read(actor, &p.room_id, &p.message_id).await),
        ChatCommand::React(p) => ack_data(chat.react(actor, &p.message_id, &p.emoji, p.on).await),
        ChatCommand::Edit(p) => chat.edit(actor, &p.message_id, &p.text).await.map(|m| json!({ "message": m })),
        ChatCommand::Delete(p) => chat.delete(actor, &p.message_id).await.map(|()| json!({})),
    }
}
