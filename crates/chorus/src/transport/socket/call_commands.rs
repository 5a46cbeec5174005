//! Runs the commands of call signalling: the calls service call behind each
//! `CallCommand`, and the shape of its ack.

use serde_json::{Value, json};

use super::ack::ack_data;
use crate::domain::model::Actor;
use crate::domain::error::DomainResult;
use crate::state::App;
use crate::transport::commands::calls::CallCommand;

/// Calls the service behind `command`.
pub async fn execute(app: &App, actor: &Actor, command: CallCommand) -> DomainResult<Value> {
    let calls = &app.calls;
    match command {
        CallCommand::Invite(input) => ack_data(calls.invite(actor, &input).await),
        CallCommand::Accept(p) => ack_data(calls.accept(actor, &p.call_id).await),
        CallCommand::Reject(p) => calls.reject(actor, &p.call_id).await.map(|()| json!({})),
        CallCommand::End(p) => calls.end(actor, &p.call_id).await.map(|()| json!({})),
        CallCommand::Signal(p) => calls.signal(actor, &p.call_id, &p.to_user_id, &p.signal).await.map(|()| json!({})),
    }
}
