//! Runs the commands of content rooms, comments and rankings: the service call behind
//! each `ContentCommand`, and the shape of its ack.

use serde_json::{Value, json};

use super::ack::ack_data;
use crate::domain::model::Actor;
use crate::domain::error::{DomainError, DomainResult};
use crate::state::App;
use crate::transport::commands::content::ContentCommand;

/// Calls the service behind `command`.
pub async fn execute(app: &App, actor: &Actor, command: ContentCommand) -> DomainResult<Value> {
    let content = &app.content;
    match command {
        ContentCommand::Join(p) => ack_data(content.join(actor, &p.content_id).await),
        ContentCommand::Leave(p) => content.leave(actor, &p.content_id).await.map(|()| json!({})),
        ContentCommand::Like(p) => ack_data(content.like(actor, &p.content_id, p.like).await),
        ContentCommand::Comment(p) => ack_data(content.comment(actor, &p.content_id, &p.text, p.parent_id.as_deref()).await),
        ContentCommand::View(p) => ack_data(content.view(&actor.identity.user_id, &p.content_id).await),
        ContentCommand::Share(p) => ack_data(content.share(actor, &p.content_id, p.channel.as_deref()).await),
        ContentCommand::Progress(input) => content.progress(actor, input).await.map(|()| json!({})),
        ContentCommand::React(p) => ack_data(content.react(actor, &p.comment_id, &p.emoji, p.on).await),
        ContentCommand::EditComment(p) => content.edit_comment(actor, &p.comment_id, &p.text).await.map(|c| json!({ "comment": c })),
        ContentCommand::DeleteComment(p) => content.delete_comment(actor, &p.comment_id).await.map(|()| json!({})),
        ContentCommand::Typing(p) => content.typing(actor, &p.content_id, p.typing).await.map(|()| json!({})),
        ContentCommand::SubscribeRanking(p) => {
            let connection = actor.connection.clone().ok_or_else(|| DomainError::bad_request("no connection"))?;
            app.rankings.subscribe(&connection, &p.scope, p.limit).await.map(|items| json!({ "items": items }))
        }
        ContentCommand::UnsubscribeRanking(p) => {
            let connection = actor.connection.clone().ok_or_else(|| DomainError::bad_request("no connection"))?;
            app.rankings.unsubscribe(&connection, &p.scope).map(|()| json!({}))
        }
    }
}
