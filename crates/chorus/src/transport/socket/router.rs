//! One fallback handler per socket routes every client event by name. Compared with a
//! handler per event it keeps per-socket memory small, and unknown events land here
//! too and get their `bad_request`. It reads the command's policy from the event name,
//! draws from its rate limit, asks the domain's admission rules, parses the command,
//! hands it to its area's executor and acks. Every other rule is the services' own.

use serde_json::Value;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, Event, SocketRef, TryData};
use socketioxide::socket::DisconnectReason;

use super::ack::{AckRequested, Answer, Bare, answer_in_dialect, reply};
use super::payload::Payload;
use super::session::Session;
use super::{call_commands, chat_commands, collab_commands, content_commands, live_commands, session_commands, social_commands};
use crate::adapters::wire::dialect::{self, Dialect};
use crate::domain::model::Actor;
use crate::domain::error::{DomainError, DomainResult};
use crate::ports::publisher::ConnectionId;
use crate::state::App;
use crate::transport::commands::payload::invalid_payload;
use crate::transport::commands::{Command, CommandKind, Policy, Reply, unknown_event};

/// Installs the command router and the disconnect handler on a new socket.
pub fn install<A: Adapter>(app: &App, s: &SocketRef<A>) {
    let router_app = app.clone();
    s.on_fallback(
        move |s: SocketRef<A>, Event(event): Event, Bare(bare): Bare, TryData(data): TryData<Payload>, AckRequested(wanted): AckRequested, ack: AckSender<A>| {
            let app = router_app.clone();
            async move {
                // An event without arguments has no payload to decode (a dialect takes
                // it as `{}`; a native command refuses it as not an object).
                let data = if bare { Ok(Value::Null) } else { data.map(|p| p.0).map_err(|e| invalid_payload("payload cannot be read", &e)) };
                let pass = app.commands.enter();
                let session = s.extensions.get::<Session>();
                let result = match &session {
                    _ if pass.is_none() => Err(DomainError::unavailable("the server is shutting down")),
                    Some(session) => {
                        // Held until the command is done (see `Session::closed`).
                        let closed = session.closed.read().await;
                        if *closed {
                            Err(DomainError::unavailable("the socket is closing"))
                        } else if let Some(dialect) = session.dialect {
                            let (result, answer) = in_dialect(&app, &s, session, dialect, &event, data).await;
                            return answer_in_dialect(&s, ack, wanted, &event, result, answer);
                        } else {
                            route(&app, &s, session, &event, data).await
                        }
                    }
                    None => Err(DomainError::unauthorized("no session")),
                };
                reply(&s, ack, wanted, &event, result);
            }
        },
    );
    let closing_app = app.clone();
    s.on_disconnect(move |s: SocketRef<A>, reason: DisconnectReason| {
        let app = closing_app.clone();
        // Tracked from the start, so a shutdown waits for it.
        let cleanup = app.cleanups.token();
        async move {
            closed(&app, &s, reason).await;
            drop(cleanup);
        }
    });
}

/// Whether a command takes its rate limit: a dialect's follow-up command does not (the
/// seed event took one, docs/dialects.md §0.2).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Limit {
    Take,
    Taken,
}

/// The checks of a command's policy, in this order, then its parsing and execution.
async fn route<A: Adapter>(app: &App, s: &SocketRef<A>, session: &Session, event: &str, data: Result<Value, DomainError>) -> Result<Reply, DomainError> {
    route_with(app, s, session, event, data, Limit::Take).await
}

async fn route_with<A: Adapter>(
    app: &App,
    s: &SocketRef<A>,
    session: &Session,
    event: &str,
    data: Result<Value, DomainError>,
    limit: Limit,
) -> Result<Reply, DomainError> {
    let actor = Actor { identity: session.identity(), connection: Some(ConnectionId(s.id.to_string())) };
    let kind = CommandKind::of(event);
    let policy = kind.map_or(Policy::UNKNOWN, CommandKind::policy);
    app.admission.ensure_sender(&actor, policy.demands())?;
    let data = data?;
    let checked = if limit == Limit::Take { app.limits.check(policy.limit, &actor.identity.user_id).await } else { Ok(()) };
    if let Err(retry_after_ms) = checked {
        metrics::counter!("chorus_rate_limited_total").increment(1);
        if app.settings.limits.abuse_disconnect_after > 0 && session.strikes.strike() >= app.settings.limits.abuse_disconnect_after {
            tracing::info!(sid = %s.id, "sustained rate abuse: disconnecting");
            let socket = s.clone();
            // After the refusal is acked, not before.
            tokio::spawn(async move {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                let _ = socket.disconnect();
            });
        }
        return Err(DomainError::rate_limited(retry_after_ms));
    }
    // One cap on every room a socket joins (its own user room aside), whatever the area.
    app.admission.ensure_room_for(policy.demands(), s.rooms().len())?;
    metrics::counter!("chorus_commands_total").increment(1);
    let kind = kind.ok_or_else(|| unknown_event(event))?;
    let reply = execute(app, s, session, &actor, kind.parse(data)?).await?;
    debug_assert_eq!(reply.kind(), kind, "an executor answered another command's ack");
    Ok(reply)
}

/// A dialect's client event: decoded into the native command behind it, which then
/// takes the native path (an event the dialect does not name is taken as a native
/// command). Returns the native ack `data`, and the dialect's answer to shape from it.
async fn in_dialect<A: Adapter>(
    app: &App,
    s: &SocketRef<A>,
    session: &Session,
    dialect: Dialect,
    event: &str,
    data: Result<Value, DomainError>,
) -> (DomainResult<Value>, Answer) {
    let data = match data {
        Ok(data) => dialect::or_empty(data),
        Err(e) => return (Err(e), Answer::default()),
    };
    let decoded = match dialect.decode(event, data.clone()) {
        Ok(Some(decoded)) => decoded,
        Ok(None) => return (route(app, s, session, event, Ok(data)).await.and_then(ack_data), Answer::default()),
        Err(e) => return (Err(e), Answer::default()),
    };
    // The request is kept only when a reply or a follow-up is made from it.
    let request = if decoded.reply.is_some() || decoded.then.is_some() { decoded.payload.clone() } else { Value::Null };
    let answer = Answer { shape: decoded.reply, request, silent_refusal: decoded.silent_refusal };
    let result = match decoded.command {
        Some(command) => route(app, s, session, command, Ok(decoded.payload)).await.and_then(ack_data),
        None => Ok(Value::Object(serde_json::Map::new())),
    };
    let follow_up = match (&result, decoded.then) {
        (Ok(data), Some(then)) => (then.make)(&answer.request, data).map(|next| (then, next)),
        _ => None,
    };
    if let Some((then, (command, payload))) = follow_up {
        // The seed event succeeds only if what follows does.
        let next = route_with(app, s, session, command, Ok(payload), Limit::Taken).await.and_then(ack_data);
        return match next {
            Err(e) => (Err(e), answer),
            Ok(data) if then.answers => (Ok(data), answer),
            Ok(_) => (result, answer),
        };
    }
    (result, answer)
}

/// A native ack's `data` as JSON.
fn ack_data(reply: Reply) -> DomainResult<Value> {
    serde_json::to_value(reply).map_err(|e| DomainError::internal(&e))
}

/// Hands a parsed command to its area's executor.
async fn execute<A: Adapter>(app: &App, s: &SocketRef<A>, session: &Session, actor: &Actor, command: Command) -> DomainResult<Reply> {
    match command {
        Command::Content(c) => content_commands::execute(app, actor, c).await.map(Reply::Content),
        Command::Session(c) => session_commands::execute(app, s, session, c).await.map(Reply::Session),
        Command::Social(c) => social_commands::execute(app, actor, c).await.map(Reply::Social),
        Command::Chat(c) => chat_commands::execute(app, actor, c).await.map(Reply::Chat),
        Command::Live(c) => live_commands::execute(app, actor, c).await.map(Reply::Live),
        Command::Collab(c) => collab_commands::execute(app, actor, c).await.map(Reply::Collab),
        Command::Calls(c) => call_commands::execute(app, actor, c).await.map(Reply::Calls),
    }
}

async fn closed<A: Adapter>(app: &App, s: &SocketRef<A>, reason: DisconnectReason) {
    if let Some(session) = s.extensions.get::<Session>() {
        // The socket is gone: its address slot is free at once, so a client that
        // reconnects right after its DISCONNECT is not refused for a socket that no
        // longer exists while the cleanup below runs.
        if let Some(ip) = &session.ip {
            app.sessions.address_closed(ip).await;
        }
        // Waits for the commands still running; later ones are refused.
        *session.closed.write().await = true;
    }
    let connection = ConnectionId(s.id.to_string());
    app.expiry.forget(s.id);
    // Content first: it takes the connection out of the viewer registry, stream rooms
    // included, so the live service reads the counts without it.
    app.content.connection_closed(&connection).await;
    app.live_streams.streams.connection_closed(&connection).await;
    app.chat.connection_closed(&connection).await;
    app.collab.connection_closed(&connection).await;
    app.calls.connection_closed(&connection).await;
    if let Some(session) = s.extensions.get::<Session>() {
        app.presence.disconnected(&session.identity().user_id, &connection).await;
        if let Some(dialect) = session.dialect {
            app.dialects.closed(dialect);
        }
    }
    metrics::gauge!("chorus_connected_sockets").decrement(1.0);
    tracing::debug!(sid = %s.id, ?reason, "socket closed");
    close_orphaned_connection(s, reason);
}

/// Chorus serves one namespace, so a connection whose socket left it (the client's
/// DISCONNECT, or ours) has nothing left to do; socketioxide would keep it open while
/// pings are answered, outside every socket cap. The client's own DISCONNECT closes it
/// at once; ours leaves a second for the DISCONNECT packet to reach a well-behaved
/// client, which then closes the connection itself.
fn close_orphaned_connection<A: Adapter>(s: &SocketRef<A>, reason: DisconnectReason) {
    let Some(connection) = s.req_parts().extensions.get::<engineioxide::EngineConnection>().cloned() else {
        return;
    };
    match reason {
        DisconnectReason::ClientNSDisconnect => connection.close(),
        DisconnectReason::ServerNSDisconnect => {
            tokio::spawn(async move {
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                connection.close();
            });
        }
        _ => {}
    }
}
