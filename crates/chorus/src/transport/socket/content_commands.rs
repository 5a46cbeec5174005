//! Runs the commands of content rooms, comments and rankings: the service call behind
//! each `ContentCommand`, and the shape of its ack.

use crate::domain::model::Actor;
use crate::domain::error::{DomainError, DomainResult};
use crate::state::App;
use crate::transport::commands::acks::{CommentAck, Done, RankingAck};
use crate::transport::commands::content::{ContentCommand, ContentReply};

/// Calls the service behind `command`.
pub async fn execute(app: &App, actor: &Actor, command: ContentCommand) -> DomainResult<ContentReply> {
    let content = &app.content;
    match command {
        ContentCommand::Join(p) => content.join(actor, &p.content_id).await.map(ContentReply::Join),
        ContentCommand::Leave(p) => content.leave(actor, &p.content_id).await.map(|()| ContentReply::Leave(Done {})),
        ContentCommand::Like(p) => content.like(actor, &p.content_id, p.like).await.map(ContentReply::Like),
        ContentCommand::Comment(p) => content.comment(actor, &p.content_id, &p.text, p.parent_id.as_deref()).await.map(ContentReply::Comment),
        ContentCommand::View(p) => content.view(&actor.identity.user_id, &p.content_id).await.map(ContentReply::View),
        ContentCommand::Share(p) => content.share(actor, &p.content_id, p.channel.as_deref()).await.map(ContentReply::Share),
        ContentCommand::Progress(input) => content.progress(actor, input).await.map(|()| ContentReply::Progress(Done {})),
        ContentCommand::React(p) => content.react(actor, &p.comment_id, &p.emoji, p.on).await.map(ContentReply::React),
        ContentCommand::EditComment(p) => content.edit_comment(actor, &p.comment_id, &p.text).await.map(|c| ContentReply::EditComment(CommentAck { comment: c })),
        ContentCommand::DeleteComment(p) => content.delete_comment(actor, &p.comment_id).await.map(|()| ContentReply::DeleteComment(Done {})),
        ContentCommand::Typing(p) => content.typing(actor, &p.content_id, p.typing).await.map(|()| ContentReply::Typing(Done {})),
        ContentCommand::SubscribeRanking(p) => {
            let connection = actor.connection.clone().ok_or_else(|| DomainError::bad_request("no connection"))?;
            app.rankings.subscribe(&connection, &p.scope, p.limit).await.map(|items| ContentReply::SubscribeRanking(RankingAck { items }))
        }
        ContentCommand::UnsubscribeRanking(p) => {
            let connection = actor.connection.clone().ok_or_else(|| DomainError::bad_request("no connection"))?;
            app.rankings.unsubscribe(&connection, &p.scope).map(|()| ContentReply::UnsubscribeRanking(Done {}))
        }
    }
}
