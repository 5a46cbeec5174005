//! JWT verification (PROTOCOL.md §1): the algorithm is pinned by configuration, so
//! `alg: none` and algorithm switching are refused; `sub` and `exp` are required;
//! `iss`/`aud` are checked when configured.

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::secret::Secret;
use crate::domain::model::{Identity, Role};

/// Longest clock skew ever tolerated.
pub const MAX_LEEWAY_SECS: u64 = 30;

/// Why a token was refused; each maps to a `connect_error` `data.code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenRefusal {
    Missing,
    Invalid,
    Expired,
}

impl TokenRefusal {
    pub fn code(self) -> &'static str {
        match self {
            Self::Missing => "auth_missing",
            Self::Invalid => "auth_invalid",
            Self::Expired => "auth_expired",
        }
    }
}

/// The key material tokens are checked against.
#[derive(Clone)]
pub enum VerificationKey {
    /// HS256 with a shared secret.
    Shared(Secret),
    /// RS256 or ES256 with a PEM public key.
    PublicPem(String),
}

/// Claims Chorus reads.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar: Option<String>,
    #[serde(default)]
    pub verified: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
}

/// Checks user tokens.
pub struct TokenVerifier {
    key: DecodingKey,
    validation: Validation,
}

impl TokenVerifier {
    pub fn new(key: &VerificationKey, issuer: Option<&str>, audience: Option<&str>, leeway_secs: u64) -> anyhow::Result<Self> {
        let (key, alg) = match key {
            VerificationKey::Shared(secret) => (DecodingKey::from_secret(secret.expose().as_bytes()), Algorithm::HS256),
            VerificationKey::PublicPem(pem) => {
                if let Ok(k) = DecodingKey::from_rsa_pem(pem.as_bytes()) {
                    (k, Algorithm::RS256)
                } else {
                    let k = DecodingKey::from_ec_pem(pem.as_bytes())
                        .map_err(|e| anyhow::anyhow!("jwt public key is neither an RSA nor an EC PEM key: {e}"))?;
                    (k, Algorithm::ES256)
                }
            }
        };
        let mut validation = Validation::new(alg);
        validation.leeway = leeway_secs.min(MAX_LEEWAY_SECS);
        validation.set_required_spec_claims(&["exp", "sub"]);
        validation.validate_exp = true;
        match audience {
            Some(aud) => validation.set_audience(&[aud]),
            None => validation.validate_aud = false,
        }
        if let Some(iss) = issuer {
            validation.set_issuer(&[iss]);
        }
        Ok(Self { key, validation })
    }

    /// Verifies a token and returns who it speaks for.
    pub fn verify(&self, token: &str) -> Result<Identity, TokenRefusal> {
        let token = token.trim();
        if token.is_empty() {
            return Err(TokenRefusal::Missing);
        }
        if token.len() > 8 * 1024 {
            return Err(TokenRefusal::Invalid);
        }
        let data = jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation).map_err(|e| match e.kind() {
            ErrorKind::ExpiredSignature => TokenRefusal::Expired,
            _ => TokenRefusal::Invalid,
        })?;
        let c = data.claims;
        if c.sub.is_empty() || c.sub.len() > crate::domain::text::MAX_ID_LEN || c.sub.chars().any(char::is_whitespace) {
            return Err(TokenRefusal::Invalid);
        }
        let roles = c
            .roles
            .iter()
            .filter_map(|r| match r.as_str() {
                "admin" => Some(Role::Admin),
                "moderator" => Some(Role::Moderator),
                _ => None,
            })
            .collect();
        Ok(Identity {
            user_id: c.sub,
            username: c.username.or(c.name).map(|n| n.chars().take(64).collect()),
            avatar: c.avatar.map(|a| a.chars().take(512).collect()),
            verified: c.verified,
            roles,
            expires_at: c.exp,
            guest: false,
            issued_at: c.iat,
        })
    }
}

/// Mints HS256 tokens (development and `chorus token`).
pub fn issue_token(secret: &Secret, user: &str, name: Option<&str>, ttl_secs: i64) -> anyhow::Result<String> {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let claims = Claims {
        sub: user.to_owned(),
        exp: now + ttl_secs,
        iat: Some(now),
        name: name.map(str::to_owned),
        username: None,
        avatar: None,
        verified: false,
        roles: Vec::new(),
    };
    Ok(jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(secret.expose().as_bytes()))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verifier() -> TokenVerifier {
        TokenVerifier::new(&VerificationKey::Shared(Secret::new("s3cret")), None, None, 0).unwrap()
    }

    #[test]
    fn a_token_it_issued_is_accepted_with_its_claims() {
        let t = issue_token(&Secret::new("s3cret"), "alice", Some("Alice"), 60).unwrap();
        let who = verifier().verify(&t).unwrap();
        assert_eq!(who.user_id, "alice");
        assert_eq!(who.username.as_deref(), Some("Alice"));
    }

    #[test]
    fn expired_wrongly_signed_and_unsigned_tokens_are_refused() {
        let expired = issue_token(&Secret::new("s3cret"), "alice", None, -120).unwrap();
        assert_eq!(verifier().verify(&expired), Err(TokenRefusal::Expired));
        let other = issue_token(&Secret::new("other"), "alice", None, 60).unwrap();
        assert_eq!(verifier().verify(&other), Err(TokenRefusal::Invalid));
        // {"alg":"none","typ":"JWT"}.{"sub":"alice","exp":9999999999}.
        let none = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6OTk5OTk5OTk5OX0.";
        assert_eq!(verifier().verify(none), Err(TokenRefusal::Invalid));
        assert_eq!(verifier().verify(""), Err(TokenRefusal::Missing));
        assert_eq!(verifier().verify("garbage"), Err(TokenRefusal::Invalid));
    }
}
