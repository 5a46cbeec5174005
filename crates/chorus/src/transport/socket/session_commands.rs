//! Runs the commands of a socket's own session: `auth:refresh` replaces the identity
//! and moves the token deadline.

use socketioxide::adapter::Adapter;
use socketioxide::extract::SocketRef;

use super::session::Session;
use crate::auth::jwt::TokenRefusal;
use crate::domain::error::{DomainError, DomainResult};
use crate::state::App;
use crate::transport::commands::acks::Refreshed;
use crate::transport::commands::session::{SessionCommand, SessionReply};

/// Runs `command` on the socket `s` and its session.
pub async fn execute<A: Adapter>(app: &App, s: &SocketRef<A>, session: &Session, command: SessionCommand) -> DomainResult<SessionReply> {
    match command {
        SessionCommand::Refresh(p) => refresh(app, s, session, &p.token).await.map(SessionReply::Refresh),
    }
}

/// `auth:refresh`: a newer token for the same user moves the socket's deadline.
async fn refresh<A: Adapter>(app: &App, s: &SocketRef<A>, session: &Session, token: &str) -> DomainResult<Refreshed> {
    let current = session.identity();
    let fresh = app.verifier.verify(token).await.map_err(|r| match r {
        // The token may be good: the identity provider's key set has not arrived yet.
        TokenRefusal::Unavailable => DomainError::unavailable(format!("token not checked: {}", r.code())),
        _ => DomainError::unauthorized(format!("token refused: {}", r.code())),
    })?;
    if fresh.user_id != current.user_id {
        return Err(DomainError::forbidden("a refresh token must be for the same user"));
    }
    if let Some(code) = app.sanctions.refusal(&fresh) {
        return Err(DomainError::unauthorized(format!("token refused: {code}")));
    }
    let expires_at = fresh.expires_at;
    session.replace_identity(fresh);
    app.expiry.schedule(s.id, expires_at.saturating_add(app.settings.auth.jwt_leeway.as_secs().min(30) as i64));
    Ok(Refreshed { expires_at: crate::domain::time::Timestamp(expires_at.saturating_mul(1000)) })
}
