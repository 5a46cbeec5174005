//! Runs the commands of call signalling: the calls service call behind each
//! `CallCommand`, and the shape of its ack.

use crate::domain::model::Actor;
use crate::domain::error::DomainResult;
use crate::state::App;
use crate::transport::commands::acks::Done;
use crate::transport::commands::calls::{CallCommand, CallReply};

/// Calls the service behind `command`.
pub async fn execute(app: &App, actor: &Actor, command: CallCommand) -> DomainResult<CallReply> {
    let calls = &app.calls;
    match command {
        CallCommand::Invite(input) => calls.invite(actor, &input).await.map(CallReply::Invite),
        CallCommand::Accept(p) => calls.accept(actor, &p.call_id).await.map(CallReply::Accept),
        CallCommand::Reject(p) => calls.reject(actor, &p.call_id).await.map(|()| CallReply::Reject(Done {})),
        CallCommand::End(p) => calls.end(actor, &p.call_id).await.map(|()| CallReply::End(Done {})),
        CallCommand::Signal(p) => calls.signal(actor, &p.call_id, &p.to_user_id, &p.signal).await.map(|()| CallReply::Signal(Done {})),
    }
}
