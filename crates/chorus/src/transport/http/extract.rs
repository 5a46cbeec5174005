//! Request extractors: the calling user (JWT), the app backend (server key), and a
//! JSON body whose rejections come back in the envelope.

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::envelope::ApiError;
use crate::auth::jwt::TokenRefusal;
use crate::auth::secret::keys_match;
use crate::domain::model::Actor;
use crate::domain::error::DomainError;
use crate::domain::model::Identity;
use crate::ports::limits::LimitClass;
use crate::state::App;

fn bearer(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
        .map(str::trim)
}

/// A user authenticated by `Authorization: Bearer <jwt>`.
pub struct AuthUser(pub Arc<Identity>);

impl AuthUser {
    /// The actor of a REST call (no socket).
    pub fn actor(&self) -> Actor {
        Actor { identity: self.0.clone(), connection: None }
    }
}

impl FromRequestParts<App> for AuthUser {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        limit(app, LimitClass::RestIp, peer_ip(parts).as_deref()).await?;
        let token = bearer(parts).ok_or_else(|| ApiError(DomainError::unauthorized("auth_missing: send Authorization: Bearer <token>")))?;
        let who = app
            .verifier
            .verify(token)
            .await
            .map_err(|r| ApiError(refused_token(r)))?;
        if let Some(code) = app.sanctions.refusal(&who) {
            return Err(ApiError(match code {
                "banned" => DomainError::forbidden("banned"),
                _ => DomainError::unauthorized(format!("{code}: token revoked")),
            }));
        }
        limit(app, LimitClass::RestUser, Some(&who.user_id)).await?;
        if let Err(e) = app.users.remember_claims(&who).await {
            tracing::warn!(user = %who.user_id, error = %e, "could not store token profile");
        }
        Ok(Self(Arc::new(who)))
    }
}

/// A refused user token as REST says it: `401 unauthorized` with the refusal's code,
/// or `503 unavailable` while the identity provider's key set has not arrived (the
/// token may be good: try again).
fn refused_token(refusal: TokenRefusal) -> DomainError {
    match refusal {
        TokenRefusal::Unavailable => DomainError::unavailable(format!("{}: the token keys are not loaded yet", refusal.code())),
        _ => DomainError::unauthorized(format!("{}: token refused", refusal.code())),
    }
}

/// Takes a REST token of `class` for `subject`; `rate_limited` (HTTP 429 with
/// `retryAfterMs`) when the bucket is empty. The server API is not limited.
async fn limit(app: &App, class: LimitClass, subject: Option<&str>) -> Result<(), ApiError> {
    let Some(subject) = subject else { return Ok(()) };
    app.limits.check(class, subject).await.map_err(|retry_after_ms| {
        metrics::counter!("chorus_rate_limited_total").increment(1);
        ApiError(DomainError::rate_limited(retry_after_ms))
    })
}

/// The caller's address, as the listener saw it.
fn peer_ip(parts: &Parts) -> Option<String> {
    parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|info| info.0.ip().to_string())
}

/// A user if a token is present and valid; guests otherwise (views allow guests).
pub struct MaybeUser(pub Option<Arc<Identity>>);

impl FromRequestParts<App> for MaybeUser {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        if bearer(parts).is_none() {
            limit(app, LimitClass::RestIp, peer_ip(parts).as_deref()).await?;
            return Ok(Self(None));
        }
        AuthUser::from_request_parts(parts, app).await.map(|u| Self(Some(u.0)))
    }
}

/// The app backend, authenticated by the server key. A user token never passes: it is
/// a valid credential that may not do this (`forbidden`), while a missing or wrong key
/// is no credential at all (`unauthorized`).
pub struct ServerCaller;

impl FromRequestParts<App> for ServerCaller {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let Some(key) = &app.server_key else {
            return Err(ApiError(DomainError::unavailable("the server API is off: configure a server key")));
        };
        match bearer(parts) {
            Some(presented) if keys_match(presented, key) => Ok(Self),
            Some(presented) if app.verifier.verify(presented).await.is_ok() => {
                Err(ApiError(DomainError::forbidden("a user token may not call the server API")))
            }
            Some(_) => Err(ApiError(DomainError::unauthorized("not the server key"))),
            None => Err(ApiError(DomainError::unauthorized("send Authorization: Bearer <server key>"))),
        }
    }
}

/// A JSON body; malformed or mistyped bodies are `bad_request` in the envelope.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned> FromRequest<App> for Body<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, app: &App) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, app).await {
            Ok(axum::Json(v)) => Ok(Self(v)),
            Err(JsonRejection::BytesRejection(e)) => Err(ApiError(DomainError::payload_too_large(e.body_text()))),
            Err(e) => Err(ApiError(DomainError::bad_request(e.body_text()))),
        }
    }
}

/// A JSON body whatever its `Content-Type` (none, or curl's default
/// `application/x-www-form-urlencoded`): for the dialect routes whose seed clients send
/// JSON without saying so (docs/dialects.md C-R9). A body that does not parse as JSON,
/// or has a field of the wrong type, is still a `bad_request`, and one over
/// `max_payload_bytes` is `payload_too_large`, as with [`Body`].
pub struct AnyTypeJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<App> for AnyTypeJson<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, app: &App) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, app)
            .await
            .map_err(|e| ApiError(DomainError::payload_too_large(e.body_text())))?;
        serde_json::from_slice(&bytes)
            .map(Self)
            .map_err(|e| ApiError(DomainError::bad_request(format!("invalid JSON body: {e}"))))
    }
}
