//! Connection set-up: authentication in a connect middleware (it runs before the
//! CONNECT ack, so the command handlers registered here exist before the client can
//! emit anything), then `session:ready` once connected.

use std::fmt;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::json;
use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;
use socketioxide_core::adapter::DefinedAdapter;
use socketioxide::extract::{SocketRef, TryData};
use socketioxide::handler::ConnectHandler;

use super::router;
use super::session::Session;
use crate::adapters::sequenced_publisher::Opening;
use crate::adapters::socketio_publisher::{frames, socket_room};
use crate::adapters::wire::dialect::{self, Dialect, Selection, Speaks};
use crate::adapters::wire::native::session::SessionReady;
use crate::adapters::wire::native::wire;
use crate::auth::jwt::TokenRefusal;
use crate::domain::resume::ResumeRequest;
use crate::domain::model::Identity;
use crate::domain::time::Timestamp;
use crate::ports::publisher::ConnectionId;
use crate::state::App;

/// The handshake `auth` object.
#[derive(Debug, Default, Deserialize)]
pub struct HandshakeAuth {
    #[serde(default)]
    pub token: Option<String>,
    /// `{sessionId, lastSeq}` of a session to resume (PROTOCOL.md §1). Kept loose: a
    /// malformed one only means no resume, never a lost token.
    #[serde(default)]
    pub resume: Option<serde_json::Value>,
    /// The dialect the client speaks (docs/dialects.md); `native` or absent: the
    /// server's default.
    #[serde(default)]
    pub dialect: Option<String>,
}

impl HandshakeAuth {
    pub fn resume_request(&self) -> Option<ResumeRequest> {
        let resume = self.resume.as_ref()?;
        let session_id = resume.get("sessionId")?.as_str().filter(|id| !id.is_empty() && id.len() <= 64)?;
        let last_seq = resume.get("lastSeq").and_then(|v| v.as_u64().or_else(|| v.as_f64().map(|f| f.max(0.0) as u64)));
        Some(ResumeRequest { session_id: session_id.to_owned(), last_seq: last_seq.unwrap_or(0) })
    }
}

/// The session the connect middleware opened, for `session_started` to finish (the
/// node's delivery lock is held until then; see `SequencedPublisher::open`).
#[derive(Clone)]
struct PendingStart(Arc<parking_lot::Mutex<Option<Opening>>>);

/// A refused connection: becomes `connect_error` with `message` ("unauthorized" for a
/// refused identity) and `data.code` (the vendored parser writes this JSON object as
/// the packet payload).
#[derive(Debug)]
pub struct Refusal {
    code: &'static str,
    message: String,
}

impl Refusal {
    /// The refusal of who the client is: `message: "unauthorized"`.
    pub fn of(code: &'static str) -> Self {
        Self { code, message: "unauthorized".to_owned() }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", json!({ "message": self.message, "data": { "code": self.code } }))
    }
}

/// Registers the default namespace. A remote adapter's result must be awaited (it
/// subscribes the node to the cluster's channels).
pub fn register<A: Adapter + DefinedAdapter>(io: &SocketIo<A>, app: App) -> A::InitRes {
    let on_connect = {
        let app = app.clone();
        move |s: SocketRef<A>| {
            let app = app.clone();
            async move { session_started(app, s).await }
        }
    };
    let authenticate = move |s: SocketRef<A>, TryData(auth): TryData<Option<HandshakeAuth>>| {
        let app = app.clone();
        async move { authenticate(app, s, auth.ok().flatten().unwrap_or_default()).await }
    };
    io.ns("/", on_connect.with(authenticate))
}

/// The dialect the connection speaks: `auth.dialect`, then `?dialect=`, then the
/// server's `dialect` setting; `native` names the native protocol. An unknown name is
/// refused with `bad_request`.
fn spoken_dialect<A: Adapter>(app: &App, s: &SocketRef<A>, auth: &HandshakeAuth) -> Result<Option<Dialect>, Refusal> {
    let named = auth.dialect.clone().or_else(|| query_value(s, "dialect"));
    match named {
        None => Ok(app.dialect),
        Some(name) => match dialect::select(&name) {
            Ok(Selection::Native) => Ok(None),
            Ok(Selection::Dialect(d)) => Ok(Some(d)),
            Err(e) => Err(Refusal { code: e.code.as_str(), message: e.message }),
        },
    }
}

/// A parameter of the handshake's query string, percent-decoded.
fn query_value<A: Adapter>(s: &SocketRef<A>, key: &str) -> Option<String> {
    s.req_parts().uri.query().and_then(|q| {
        q.split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == key)
            .map(|(_, v)| percent_decode(v))
    })
}

/// The token, from `auth.token`, then `Authorization: Bearer`, then `?token=`.
fn presented_token<A: Adapter>(s: &SocketRef<A>, auth: &HandshakeAuth) -> Option<String> {
    if let Some(t) = auth.token.as_ref().filter(|t| !t.is_empty()) {
        return Some(t.clone());
    }
    let parts = s.req_parts();
    if let Some(h) = parts.headers.get(http::header::AUTHORIZATION).and_then(|v| v.to_str().ok())
        && let Some(t) = h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")) {
            return Some(t.trim().to_owned());
        }
    query_value(s, "token")
}

fn percent_decode(v: &str) -> String {
    let bytes = v.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match escaped {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The peer address of the handshake request.
fn peer_ip<A: Adapter>(s: &SocketRef<A>) -> Option<String> {
    s.req_parts()
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|info| info.0.ip().to_string())
}

/// The user's connection rate and socket cap (PROTOCOL.md §1 `too_many_connections`).
/// The address rate is taken earlier, on the Engine.IO handshake
/// (`transport/http/connect_gate.rs`), where a refusal is one the clients retry.
async fn admit(app: &App, user_id: &str) -> Result<(), Refusal> {
    use crate::ports::limits::LimitClass;
    let settings = &app.settings;
    if app.limits.check(LimitClass::ConnectUser, user_id).await.is_err() {
        return Err(Refusal::of("too_many_connections"));
    }
    if settings.limits.max_sockets_per_user > 0 && app.sessions.sessions_of(user_id).await >= settings.limits.max_sockets_per_user {
        return Err(Refusal::of("too_many_connections"));
    }
    Ok(())
}

async fn authenticate<A: Adapter>(app: App, s: SocketRef<A>, auth: HandshakeAuth) -> Result<(), Refusal> {
    let dialect = spoken_dialect(&app, &s, &auth)?;
    let identity = match presented_token(&s, &auth) {
        Some(token) => app.verifier.verify(&token).await.map_err(|r| Refusal::of(r.code()))?,
        None if app.settings.auth.allow_guests => Identity {
            user_id: format!("guest-{}", s.id),
            username: None,
            avatar: None,
            verified: false,
            roles: Vec::new(),
            expires_at: i64::MAX,
            guest: true,
            issued_at: None,
        },
        None => return Err(Refusal::of(TokenRefusal::Missing.code())),
    };
    if let Some(code) = app.sanctions.refusal(&identity) {
        return Err(Refusal::of(code));
    }
    let ip = peer_ip(&s);
    admit(&app, &identity.user_id).await?;
    if let Some(ip) = &ip {
        let held = app.sessions.address_opened(ip).await;
        if app.settings.limits.max_sockets_per_ip > 0 && held > app.settings.limits.max_sockets_per_ip {
            app.sessions.address_closed(ip).await;
            return Err(Refusal::of("too_many_connections"));
        }
    }
    if !identity.guest
        && let Err(e) = app.users.remember_claims(&identity).await
    {
        tracing::warn!(user = %identity.user_id, error = %e.chain(), "could not store token profile");
    }
    // Last, as nothing below may publish: the opening holds the delivery lock. It joins
    // the user room (and a resumed session's rooms).
    let closed: Arc<tokio::sync::RwLock<bool>> = Arc::default();
    let probe = closed.clone();
    let closing = Box::new(move || probe.try_read().map_or(true, |c| *c));
    let opening = app.resume.open(&ConnectionId(s.id.to_string()), &identity.user_id, auth.resume_request(), closing).await;
    if let Some(dialect) = dialect {
        s.extensions.insert(Speaks(dialect));
        s.join(dialect.everyone_room());
    }
    for room in &opening.join {
        s.join(socket_room(&s, room));
    }
    s.extensions.insert(PendingStart(Arc::new(parking_lot::Mutex::new(Some(opening)))));
    s.extensions.insert(Session::open(identity, ip, closed, dialect));
    router::install(&app, &s);
    Ok(())
}

async fn session_started<A: Adapter>(app: App, s: SocketRef<A>) {
    let Some(session) = s.extensions.get::<Session>() else {
        tracing::error!(sid = %s.id, "connected socket has no session");
        return;
    };
    // Missed events first, before the delivery lock is released (on drop): nothing
    // newer can overtake them.
    let opening = s.extensions.remove::<PendingStart>().and_then(|p| p.0.lock().take());
    let started = opening.as_ref().map(|o| o.started.clone());
    if let Some(dialect) = session.dialect {
        app.dialects.opened(dialect);
    }
    if let Some(opening) = &opening {
        for (event, payload) in opening.missed() {
            let sent = match session.dialect {
                Some(dialect) => frames(dialect, event, payload).into_iter().try_for_each(|(name, p)| s.emit(name, p.as_ref())),
                None => s.emit(event, payload),
            };
            if let Err(e) = sent {
                tracing::debug!(sid = %s.id, error = %e, "missed event not delivered");
            }
        }
    }
    drop(opening);
    let who = session.identity();
    let connection = ConnectionId(s.id.to_string());
    app.presence.connected(&who.user_id, &connection).await;
    if !who.guest {
        // The verifier accepted the token within the leeway; close at the same bound.
        app.expiry.schedule(s.id, who.expires_at.saturating_add(app.settings.auth.jwt_leeway.as_secs().min(30) as i64));
    }
    metrics::gauge!("chorus_connected_sockets").increment(1.0);
    let unread = if who.guest {
        0
    } else {
        app.notifications.unread_count(&who.user_id).await.unwrap_or_else(|e| {
            tracing::warn!(error = %e.chain(), "unread count unavailable at connect");
            0
        })
    };
    let sid = s.id.to_string();
    let ready = SessionReady {
        user_id: &who.user_id,
        sid: &sid,
        server_time: Timestamp::now(),
        session_id: started.as_ref().map(|st| st.session_id.as_str()),
        recovered: started.as_ref().is_some_and(|st| st.recovered),
        unread_notifications: unread,
    };
    // As a JSON value, so its keys go out in the order every other event's do.
    let (name, ready) = wire(&ready);
    if let Err(e) = s.emit(name, &ready) {
        tracing::debug!(sid = %s.id, error = %e, "session:ready not delivered");
    }
}
