//! Socket commands of collaborative documents and call signalling (PROTOCOL.md §10):
//! payload shapes and the service call behind each `collab:*` and `call:*` event.

use serde::Deserialize;
use serde_json::{Value, json};

use super::commands::{run, shape, unknown_event};
use crate::domain::calls::InviteInput;
use crate::domain::content::Actor;
use crate::domain::error::DomainResult;
use crate::ports::publisher::ConnectionId;
use crate::state::App;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DocRef {
    doc_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Update {
    doc_id: String,
    update: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Awareness {
    doc_id: String,
    /// Opaque to the server; `null` clears the sender's state for the others.
    #[serde(default)]
    state: Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Invite {
    to_user_id: Option<String>,
    room_id: Option<String>,
    media: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CallRef {
    call_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Signal {
    call_id: String,
    to_user_id: String,
    #[serde(default)]
    signal: Value,
}

/// Routes the `collab:*` and `call:*` events.
pub async fn dispatch(app: &App, actor: &Actor, event: &str, data: Value) -> DomainResult<Value> {
    let (collab, calls) = (&app.collab, &app.calls);
    match event {
        "collab:join" => run(data, |p: DocRef| async move { collab.join(actor, &p.doc_id).await }).await,
        "collab:leave" => run(data, |p: DocRef| async move { collab.leave(actor, &p.doc_id).await.map(|()| json!({})) }).await,
        "collab:update" => {
            run(data, |p: Update| async move { collab.update(actor, &p.doc_id, &p.update).await.map(|()| json!({})) }).await
        }
        "collab:awareness" => {
            run(data, |p: Awareness| async move { collab.awareness(actor, &p.doc_id, &p.state).await.map(|()| json!({})) }).await
        }
        "call:invite" => {
            run(data, |p: Invite| async move {
                calls.invite(actor, &InviteInput { to_user_id: p.to_user_id, room_id: p.room_id, media: p.media }).await
            })
            .await
        }
        "call:accept" => run(data, |p: CallRef| async move { calls.accept(actor, &p.call_id).await }).await,
        "call:reject" => run(data, |p: CallRef| async move { calls.reject(actor, &p.call_id).await.map(|()| json!({})) }).await,
        "call:end" => run(data, |p: CallRef| async move { calls.end(actor, &p.call_id).await.map(|()| json!({})) }).await,
        "call:signal" => {
            run(data, |p: Signal| async move {
                calls.signal(actor, &p.call_id, &p.to_user_id, &p.signal).await.map(|()| json!({}))
            })
            .await
        }
        _ => Err(unknown_event(event)),
    }
}

/// The payload decoding of `dispatch` alone (see `commands::check_payload`).
pub(crate) fn check_payload(event: &str, payload: &Value) -> DomainResult<()> {
    match event {
        "collab:join" | "collab:leave" => shape::<DocRef>(payload),
        "collab:update" => shape::<Update>(payload),
        "collab:awareness" => shape::<Awareness>(payload),
        "call:invite" => shape::<Invite>(payload),
        "call:accept" | "call:reject" | "call:end" => shape::<CallRef>(payload),
        "call:signal" => shape::<Signal>(payload),
        _ => Err(unknown_event(event)),
    }
}

/// A socket closed: it leaves its documents and drops out of its call.
pub async fn closed(app: &App, connection: &ConnectionId) {
    app.collab.connection_closed(connection).await;
    app.calls.connection_closed(connection).await;
}
