//! Runs the commands of chat rooms: the chat service call behind each `ChatCommand`,
//! and the shape of its ack.

use crate::domain::chat::model::RoomRequest;
use crate::domain::model::Actor;
use crate::domain::error::DomainResult;
use crate::state::App;
use crate::transport::commands::acks::{ChatMessageAck, Done};
use crate::transport::commands::chat::{ChatCommand, ChatReply};

/// Calls the service behind `command`.
pub async fn execute(app: &App, actor: &Actor, command: ChatCommand) -> DomainResult<ChatReply> {
    let chat = &app.chat;
    match command {
        ChatCommand::Open(p) => {
            let request = RoomRequest { other_user_id: Some(p.other_user_id), ..RoomRequest::default() };
            chat.create_room(actor, &request).await.map(ChatReply::Open)
        }
        ChatCommand::Join(p) => chat.join(actor, &p.room_id).await.map(ChatReply::Join),
        ChatCommand::Leave(p) => chat.leave(actor, &p.room_id).await.map(|()| ChatReply::Leave(Done {})),
        ChatCommand::Send(input) => chat.send(actor, &input).await.map(ChatReply::Send),
        ChatCommand::History(p) => chat.history(actor, &p.room_id, p.before.as_deref(), p.limit, p.skip).await.map(ChatReply::History),
        ChatCommand::Typing(p) => chat.typing(actor, &p.room_id, p.typing).await.map(|()| ChatReply::Typing(Done {})),
        ChatCommand::Read(p) => chat.read(actor, &p.room_id, &p.message_id).await.map(ChatReply::Read),
        ChatCommand::React(p) => chat.react(actor, &p.message_id, &p.emoji, p.on).await.map(ChatReply::React),
        ChatCommand::Edit(p) => chat.edit(actor, &p.message_id, &p.text).await.map(|m| ChatReply::Edit(ChatMessageAck { message: m })),
        ChatCommand::Delete(p) => chat.delete(actor, &p.message_id).await.map(|()| ChatReply::Delete(Done {})),
    }
}
