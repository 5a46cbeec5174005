//! Runs the commands of collaborative documents: the service call behind each
//! `CollabCommand`, and the shape of its ack.

use serde_json::{Value, json};

use super::ack::ack_data;
use crate::domain::model::Actor;
use crate::domain::error::DomainResult;
use crate::state::App;
use crate::transport::commands::collab::CollabCommand;

/// Calls the service behind `command`.
pub async fn execute(app: &App, actor: &Actor, command: CollabCommand) -> DomainResult<Value> {
    let collab = &app.collab;
    match command {
        CollabCommand::Join(p) => ack_data(collab.join(actor, &p.doc_id).await),
        CollabCommand::Leave(p) => collab.leave(actor, &p.doc_id).await.map(|()| json!({})),
        CollabCommand::Update(p) => collab.update(actor, &p.doc_id, &p.update).await.map(|()| json!({})),
        CollabCommand::Awareness(p) => collab.awareness(actor, &p.doc_id, &p.state).await.map(|()| json!({})),
    }
}
