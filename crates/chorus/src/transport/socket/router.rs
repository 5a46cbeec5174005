//! One fallback handler per socket routes every client event by name. Compared with a
//! handler per event it keeps per-socket memory small, and unknown events land here
//! too and get their `bad_request`.

use serde_json::Value;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, Event, SocketRef, TryData};
use socketioxide::socket::DisconnectReason;

use super::ack::{AckRequested, reply};
use super::commands;
use super::connect::Session;
use crate::domain::content::Actor;
use crate::domain::error::DomainError;
use crate::ports::limits::LimitClass;
use crate::ports::publisher::ConnectionId;
use crate::state::App;

/// Installs the command router and the disconnect handler on a new socket.
pub fn install<A: Adapter>(app: &App, s: &SocketRef<A>) {
    let router_app = app.clone();
    s.on_fallback(
        move |s: SocketRef<A>, Event(event): Event, TryData(data): TryData<Value>, AckRequested(wanted): AckRequested, ack: AckSender<A>| {
            let app = router_app.clone();
            async move {
                let data = data.map_err(|e| commands::invalid_payload("payload is not valid JSON", &e));
                let pass = app.commands.enter();
                let result = match s.extensions.get::<Session>() {
                    _ if pass.is_none() => Err(DomainError::unavailable("the server is shutting down")),
                    Some(session) => {
                        // Held until the command is done (see `Session::closed`).
                        let closed = session.closed.read().await;
                        if *closed {
                            Err(DomainError::unavailable("the socket is closing"))
                        } else {
                            route(&app, &s, &session, &event, data).await
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
        async move { closed(&app, &s, reason).await }
    });
}

async fn route<A: Adapter>(app: &App, s: &SocketRef<A>, session: &Session, event: &str, data: Result<Value, DomainError>) -> Result<Value, DomainError> {
    let actor = Actor { identity: session.identity(), connection: Some(ConnectionId(s.id.to_string())) };
    if actor.identity.guest && !commands::GUEST_EVENTS.contains(&event) {
        return Err(DomainError::unauthorized("guests may only join public rooms and record views"));
    }
    let data = data?;
    if let Err(retry_after_ms) = app.limits.check(limit_class(event), &actor.identity.user_id).await {
        metrics::counter!("chorus_rate_limited_total").increment(1);
        if app.settings.abuse_disconnect_after > 0 && session.strikes.strike() >= app.settings.abuse_disconnect_after {
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
    let joins_room = event.ends_with(":join") || event.ends_with(":subscribe");
    if joins_room && app.settings.max_rooms_per_socket > 0 && s.rooms().len() > app.settings.max_rooms_per_socket {
        return Err(DomainError::conflict(format!("a socket may be in at most {} rooms", app.settings.max_rooms_per_socket)));
    }
    if POSTING_EVENTS.contains(&event) {
        app.sanctions.ensure_may_post(&actor.identity.user_id)?;
    }
    metrics::counter!("chorus_commands_total").increment(1);
    commands::dispatch(app, s, session, &actor, event, data).await
}

async fn closed<A: Adapter>(app: &App, s: &SocketRef<A>, reason: DisconnectReason) {
    if let Some(session) = s.extensions.get::<Session>() {
        // Waits for the commands still running; later ones are refused.
        *session.closed.write().await = true;
    }
    let connection = ConnectionId(s.id.to_string());
    app.expiry.forget(s.id);
    app.content.connection_closed(&connection).await;
    app.chat.connection_closed(&connection).await;
    super::collab_commands::closed(app, &connection).await;
    if let Some(session) = s.extensions.get::<Session>() {
        app.presence.disconnected(&session.identity().user_id, &connection).await;
        if let Some(ip) = &session.ip {
            app.sessions.address_closed(ip).await;
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

/// Events that post text others read: a muted user may send none of them.
const POSTING_EVENTS: &[&str] = &["content:comment", "comment:edit", "chat:send", "chat:edit", "stream:chat"];

/// The token bucket an event draws from.
fn limit_class(event: &str) -> LimitClass {
    match event {
        "chat:send" | "stream:chat" | "location:share" => LimitClass::Chat,
        "content:comment" | "comment:edit" | "comment:delete" | "chat:edit" | "chat:delete" => LimitClass::Comments,
        "content:like" | "comment:react" | "chat:react" | "stream:like" | "content:view" | "content:share" => LimitClass::Likes,
        e if e.ends_with(":join") || e.ends_with(":subscribe") => LimitClass::Joins,
        e if e.ends_with(":typing") || e == "collab:awareness" => LimitClass::Typing,
        e if e.starts_with("presence:") => LimitClass::Presence,
        _ => LimitClass::Commands,
    }
}
