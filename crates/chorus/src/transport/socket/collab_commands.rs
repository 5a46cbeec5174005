//! Runs the commands of collaborative documents: the service call behind each
//! `CollabCommand`, and the shape of its ack.

use crate::domain::model::Actor;
use crate::domain::error::DomainResult;
use crate::state::App;
use crate::transport::commands::acks::Done;
use crate::transport::commands::collab::{CollabCommand, CollabReply};

/// Calls the service behind `command`.
pub async fn execute(app: &App, actor: &Actor, command: CollabCommand) -> DomainResult<CollabReply> {
    let collab = &app.collab;
    match command {
        CollabCommand::Join(p) => collab.join(actor, &p.doc_id).await.map(CollabReply::Join),
        CollabCommand::Leave(p) => collab.leave(actor, &p.doc_id).await.map(|()| CollabReply::Leave(Done {})),
        CollabCommand::Update(p) => collab.update(actor, &p.doc_id, &p.update).await.map(|()| CollabReply::Update(Done {})),
        CollabCommand::Awareness(p) => collab.awareness(actor, &p.doc_id, &p.state).await.map(|()| CollabReply::Awareness(Done {})),
    }
}
