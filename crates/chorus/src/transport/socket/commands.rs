//! Client commands: payload shapes (unknown fields ignored, wrong types refused) and
//! the service call behind each event name.

use std::future::Future;

use serde::Deserialize;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use socketioxide::adapter::Adapter;
use socketioxide::extract::SocketRef;

use super::connect::Session;
use crate::domain::content::{Actor, ProgressInput};
use crate::domain::error::{DomainError, DomainResult};
use crate::state::App;

/// What a guest may send.
pub const GUEST_EVENTS: &[&str] = &["content:join", "content:leave", "content:view", "stream:join", "stream:leave"];

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ContentRef {
    content_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Like {
    content_id: String,
    like: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PostComment {
    content_id: String,
    text: String,
    parent_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Share {
    content_id: String,
    channel: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct React {
    comment_id: String,
    emoji: String,
    on: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EditComment {
    comment_id: String,
    text: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CommentRef {
    comment_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Typing {
    content_id: String,
    typing: bool,
}

#[derive(Deserialize)]
struct RankingSubscribe {
    scope: String,
    limit: Option<i64>,
}

#[derive(Deserialize)]
struct RankingUnsubscribe {
    scope: String,
}

#[derive(Deserialize)]
struct Refresh {
    token: String,
}

/// Parses the payload, runs the command and serializes its result.
pub async fn run<P, T, F, Fut>(data: Value, f: F) -> DomainResult<Value>
where
    P: DeserializeOwned,
    T: Serialize,
    F: FnOnce(P) -> Fut,
    Fut: Future<Output = DomainResult<T>>,
{
    let payload: P = decode(data)?;
    let out = f(payload).await?;
    serde_json::to_value(out).map_err(|e| DomainError::internal(&e))
}

/// Decodes a command payload: a JSON object of the shape `P` (unknown fields ignored).
pub(crate) fn decode<P: DeserializeOwned>(data: Value) -> DomainResult<P> {
    if !data.is_object() {
        return Err(DomainError::bad_request("payload must be a JSON object"));
    }
    serde_json::from_value(data).map_err(|e| invalid_payload("invalid payload", &e))
}

/// A `bad_request` for a payload that does not decode. Serde quotes the offending value
/// in full (`invalid type: string "…"`), so the message is cut: an ack never echoes
/// a client's megabyte back.
pub(crate) fn invalid_payload(what: &str, cause: &dyn std::fmt::Display) -> DomainError {
    const MAX_CHARS: usize = 200;
    let cause = cause.to_string();
    let mut message = format!("{what}: {}", cause.chars().filter(|c| !c.is_control()).take(MAX_CHARS).collect::<String>());
    if cause.chars().count() > MAX_CHARS {
        message.push('…');
    }
    DomainError::bad_request(message)
}

/// The payload of commands that take no arguments: any JSON object.
#[derive(Deserialize)]
pub(crate) struct NoArguments {}

/// Refuses a payload that is not a JSON object, for commands that take no arguments.
pub(crate) fn no_arguments(data: Value) -> DomainResult<()> {
    decode::<NoArguments>(data).map(|NoArguments {}| ())
}

/// Decodes `payload` as the shape `P` and drops it (`check_payload`).
pub(crate) fn shape<P: DeserializeOwned>(payload: &Value) -> DomainResult<()> {
    decode::<P>(payload.clone()).map(drop)
}

/// The refusal of an event no dispatcher knows.
pub(crate) fn unknown_event(event: &str) -> DomainError {
    DomainError::bad_request(format!("unknown event: {}", printable(event)))
}

/// Routes one event to its service call.
pub async fn dispatch<A: Adapter>(app: &App, s: &SocketRef<A>, session: &Session, actor: &Actor, event: &str, data: Value) -> DomainResult<Value> {
    let content = &app.content;
    match event {
        "content:join" => run(data, |p: ContentRef| async move { content.join(actor, &p.content_id).await }).await,
        "content:leave" => run(data, |p: ContentRef| async move { content.leave(actor, &p.content_id).await.map(|()| json!({})) }).await,
        "content:like" => run(data, |p: Like| async move { content.like(actor, &p.content_id, p.like).await }).await,
        "content:comment" => {
            run(data, |p: PostComment| async move { content.comment(actor, &p.content_id, &p.text, p.parent_id.as_deref()).await }).await
        }
        "content:view" => run(data, |p: ContentRef| async move { content.view(&actor.identity.user_id, &p.content_id).await }).await,
        "content:share" => run(data, |p: Share| async move { content.share(actor, &p.content_id, p.channel.as_deref()).await }).await,
        "content:progress" => run(data, |p: ProgressInput| async move { content.progress(actor, p).await.map(|()| json!({})) }).await,
        "comment:react" => run(data, |p: React| async move { content.react(actor, &p.comment_id, &p.emoji, p.on).await }).await,
        "comment:edit" => {
            run(data, |p: EditComment| async move {
                content.edit_comment(actor, &p.comment_id, &p.text).await.map(|c| json!({ "comment": c }))
            })
            .await
        }
        "comment:delete" => {
            run(data, |p: CommentRef| async move { content.delete_comment(actor, &p.comment_id).await.map(|()| json!({})) })
                .await
        }
        "comment:typing" => {
            run(data, |p: Typing| async move { content.typing(actor, &p.content_id, p.typing).await.map(|()| json!({})) })
                .await
        }
        "ranking:subscribe" => {
            run(data, |p: RankingSubscribe| async move {
                let connection = actor.connection.clone().ok_or_else(|| DomainError::bad_request("no connection"))?;
                app.rankings.subscribe(&connection, &p.scope, p.limit).await.map(|items| json!({ "items": items }))
            })
            .await
        }
        "ranking:unsubscribe" => {
            run(data, |p: RankingUnsubscribe| async move {
                let connection = actor.connection.clone().ok_or_else(|| DomainError::bad_request("no connection"))?;
                app.rankings.unsubscribe(&connection, &p.scope).map(|()| json!({}))
            })
            .await
        }
        "auth:refresh" => run(data, |p: Refresh| async move { refresh(app, s, session, &p.token) }).await,
        e if e.starts_with("notifications:") || e.starts_with("feed:") || e.starts_with("presence:") || e.starts_with("location:") => {
            super::social_commands::dispatch(app, actor, e, data).await
        }
        e if e.starts_with("chat:") => super::chat_commands::dispatch(app, actor, e, data).await,
        e if e.starts_with("collab:") || e.starts_with("call:") => super::collab_commands::dispatch(app, actor, e, data).await,
        e if e.starts_with("stream:") || e.starts_with("gift:") || e.starts_with("battle:") || e.starts_with("wallet:") => {
            super::live_commands::dispatch(app, actor, e, data).await
        }
        _ => Err(unknown_event(event)),
    }
}

/// The payload decoding of the command router alone, without any service call or I/O
/// (for the fuzz target in `fuzz/` and for tests): `Ok` when `dispatch` would hand
/// `payload` to a service, the same `bad_request` as `dispatch` otherwise.
pub fn check_payload(event: &str, payload: &Value) -> DomainResult<()> {
    match event {
        "content:join" | "content:leave" | "content:view" => shape::<ContentRef>(payload),
        "content:like" => shape::<Like>(payload),
        "content:comment" => shape::<PostComment>(payload),
        "content:share" => shape::<Share>(payload),
        "content:progress" => shape::<ProgressInput>(payload),
        "comment:react" => shape::<React>(payload),
        "comment:edit" => shape::<EditComment>(payload),
        "comment:delete" => shape::<CommentRef>(payload),
        "comment:typing" => shape::<Typing>(payload),
        "ranking:subscribe" => shape::<RankingSubscribe>(payload),
        "ranking:unsubscribe" => shape::<RankingUnsubscribe>(payload),
        "auth:refresh" => shape::<Refresh>(payload),
        e if e.starts_with("notifications:") || e.starts_with("feed:") || e.starts_with("presence:") || e.starts_with("location:") => {
            super::social_commands::check_payload(e, payload)
        }
        e if e.starts_with("chat:") => super::chat_commands::check_payload(e, payload),
        e if e.starts_with("collab:") || e.starts_with("call:") => super::collab_commands::check_payload(e, payload),
        e if e.starts_with("stream:") || e.starts_with("gift:") || e.starts_with("battle:") || e.starts_with("wallet:") => {
            super::live_commands::check_payload(e, payload)
        }
        _ => Err(unknown_event(event)),
    }
}

/// `auth:refresh`: a newer token for the same user moves the socket's deadline.
fn refresh<A: Adapter>(app: &App, s: &SocketRef<A>, session: &Session, token: &str) -> DomainResult<Value> {
    let current = session.identity();
    let fresh = app
        .verifier
        .verify(token)
        .map_err(|r| DomainError::unauthorized(format!("token refused: {}", r.code())))?;
    if fresh.user_id != current.user_id {
        return Err(DomainError::forbidden("a refresh token must be for the same user"));
    }
    if let Some(code) = app.sanctions.refusal(&fresh) {
        return Err(DomainError::unauthorized(format!("token refused: {code}")));
    }
    let expires_at = fresh.expires_at;
    session.replace_identity(fresh);
    app.expiry.schedule(s.id, expires_at.saturating_add(app.settings.jwt_leeway_secs.min(30) as i64));
    Ok(json!({ "expiresAt": crate::domain::time::Timestamp(expires_at.saturating_mul(1000)) }))
}

/// An event name safe to echo back: at most 64 printable characters.
fn printable(event: &str) -> String {
    event.chars().filter(|c| !c.is_control()).take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every command of the dispatchers with a payload of the right shape.
    fn commands() -> Vec<(&'static str, Value)> {
        let id = "x1";
        vec![
            ("content:join", json!({"contentId": id})),
            ("content:leave", json!({"contentId": id})),
            ("content:view", json!({"contentId": id})),
            ("content:like", json!({"contentId": id, "like": true})),
            ("content:comment", json!({"contentId": id, "text": "hi", "parentId": id})),
            ("content:share", json!({"contentId": id, "channel": "sms"})),
            ("content:progress", json!({"contentId": id, "watchTime": 3.5, "completed": true})),
            ("comment:react", json!({"commentId": id, "emoji": "+1"})),
            ("comment:edit", json!({"commentId": id, "text": "hi"})),
            ("comment:delete", json!({"commentId": id})),
            ("comment:typing", json!({"contentId": id, "typing": true})),
            ("ranking:subscribe", json!({"scope": "type:video", "limit": 5})),
            ("ranking:unsubscribe", json!({"scope": "type:video"})),
            ("auth:refresh", json!({"token": "t"})),
            ("notifications:list", json!({"limit": 5, "unreadOnly": true})),
            ("notifications:read", json!({"ids": [id]})),
            ("feed:subscribe", json!({})),
            ("feed:unsubscribe", json!({})),
            ("feed:new_content", json!({"contentId": id, "contentType": "video"})),
            ("presence:set", json!({"status": "away"})),
            ("presence:subscribe", json!({"userIds": [id]})),
            ("presence:unsubscribe", json!({"userIds": [id]})),
            ("location:share", json!({"roomId": id, "lat": 1.0, "lng": 2.0})),
            ("location:stop", json!({"roomId": id})),
            ("chat:join", json!({"roomId": id})),
            ("chat:leave", json!({"roomId": id})),
            ("chat:send", json!({"roomId": id, "clientMsgId": "m1", "text": "hi"})),
            ("chat:history", json!({"roomId": id, "limit": 5})),
            ("chat:typing", json!({"roomId": id, "typing": false})),
            ("chat:read", json!({"roomId": id, "messageId": id})),
            ("chat:react", json!({"messageId": id, "emoji": "+1"})),
            ("chat:edit", json!({"messageId": id, "text": "hi"})),
            ("chat:delete", json!({"messageId": id})),
            ("collab:join", json!({"docId": id})),
            ("collab:leave", json!({"docId": id})),
            ("collab:update", json!({"docId": id, "update": "AA=="})),
            ("collab:awareness", json!({"docId": id, "state": {"cursor": 1}})),
            ("call:invite", json!({"toUserId": id, "media": "audio"})),
            ("call:accept", json!({"callId": id})),
            ("call:reject", json!({"callId": id})),
            ("call:end", json!({"callId": id})),
            ("call:signal", json!({"callId": id, "toUserId": id, "signal": {"sdp": "v=0"}})),
            ("stream:join", json!({"streamId": id})),
            ("stream:leave", json!({"streamId": id})),
            ("stream:status", json!({"streamId": id, "status": "live"})),
            ("stream:chat", json!({"streamId": id, "text": "hi"})),
            ("stream:chat_delete", json!({"streamId": id, "messageId": id})),
            ("stream:like", json!({"streamId": id, "count": 3})),
            ("stream:slow_mode", json!({"streamId": id, "seconds": 5})),
            ("stream:moderate", json!({"streamId": id, "userId": id, "action": "mute"})),
            ("gift:send", json!({"streamId": id, "giftId": "rose", "count": 1, "clientTxId": "t1"})),
            ("gift:catalog", json!({})),
            ("wallet:balance", json!({})),
            ("battle:start", json!({"streamId": id, "opponentStreamId": id, "durationSec": 60})),
            ("battle:accept", json!({"battleId": id})),
            ("battle:decline", json!({"battleId": id})),
            ("battle:get", json!({"battleId": id})),
            ("battle:boost", json!({"battleId": id, "side": "a", "boostId": "boost", "clientTxId": "t2"})),
        ]
    }

    #[test]
    fn every_command_accepts_its_shape_with_unknown_fields_and_refuses_anything_but_an_object() {
        for (event, payload) in commands() {
            assert_eq!(check_payload(event, &payload), Ok(()), "{event} {payload}");
            let mut extra = payload.clone();
            if let Some(o) = extra.as_object_mut() {
                o.insert("unknownField".into(), json!({"deep": [1, 2]}));
            }
            assert_eq!(check_payload(event, &extra), Ok(()), "{event}: unknown fields are ignored");
            for bad in [json!(5), json!("x"), json!(null), json!([]), json!([payload.clone()]), json!(true)] {
                let e = check_payload(event, &bad).expect_err(event);
                assert_eq!((e.code, e.message.as_str()), (crate::domain::error::ErrorCode::BadRequest, "payload must be a JSON object"));
            }
        }
    }

    #[test]
    fn a_field_of_the_wrong_type_is_a_bad_request() {
        for (event, payload) in commands() {
            let Some(fields) = payload.as_object() else { continue };
            for key in fields.keys() {
                // Opaque fields take any JSON value.
                if matches!(key.as_str(), "state" | "signal") {
                    continue;
                }
                let mut bad = payload.clone();
                bad[key.as_str()] = json!({"not": "a scalar"});
                let e = check_payload(event, &bad).expect_err(&format!("{event}.{key}"));
                assert_eq!(e.code, crate::domain::error::ErrorCode::BadRequest, "{event}.{key}");
            }
        }
    }

    #[test]
    fn unknown_and_reserved_event_names_are_refused_without_echoing_control_characters() {
        for event in ["", "connect", "disconnect", "error", "connect_error", "newListener", "chat:", "chat:nope", "stream:\u{7}x", "x".repeat(10_000).as_str()] {
            let e = check_payload(event, &json!({})).expect_err(event);
            assert!(e.message.starts_with("unknown event"), "{event}: {}", e.message);
            assert!(!e.message.chars().any(char::is_control) && e.message.len() < 100);
        }
    }

    #[test]
    fn a_refusal_never_echoes_a_long_value() {
        let long = "a".repeat(100_000);
        for payload in [json!({"contentId": "x", "like": long}), json!({"contentId": [long]}), json!({"contentId": {long.as_str(): 1}})] {
            let e = check_payload("content:like", &payload).expect_err("wrong types");
            assert!(e.message.chars().count() < 300, "{} chars", e.message.len());
        }
    }

    #[test]
    fn deeply_nested_payloads_are_refused() {
        let mut deep = json!("leaf");
        for _ in 0..100 {
            deep = json!([deep]);
        }
        let e = check_payload("collab:awareness", &json!({"docId": "d", "update": deep.clone(), "state": "x"}));
        assert_eq!(e, Ok(()), "an opaque field may nest");
        assert!(check_payload("content:like", &json!({"contentId": deep})).is_err());
    }
}
