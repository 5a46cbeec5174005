//! JWT verification (PROTOCOL.md §1): the algorithm is pinned by configuration, so
//! `alg: none` and algorithm switching are refused; `sub` and `exp` are required;
//! `nbf` and `iat` may not lie in the future (beyond the leeway); `iss`/`aud` are
//! checked when configured; `sub` is an id (no whitespace or control characters).

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

/// Whether `sub` can be a user id: 1–128 bytes, no whitespace, no control characters
/// (C0, DEL, C1), and no invisible format characters (bidi overrides, zero-width), so an
/// id never forges or hides text in a log line or a client's screen.
fn valid_subject(sub: &str) -> bool {
    !sub.is_empty()
        && sub.len() <= crate::domain::text::MAX_ID_LEN
        && !sub.chars().any(|c| c.is_whitespace() || c.is_control() || is_invisible_format(c))
}

/// Unicode format characters that change how surrounding text shows (general category
/// Cf: soft hyphen, zero-width, bidi marks, embeddings, overrides and isolates, BOM).
fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{AD}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}' | '\u{FEFF}')
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
        // A token that is not valid yet is refused like any invalid one (`auth_invalid`).
        validation.validate_nbf = true;
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
        if !valid_subject(&c.sub) {
            return Err(TokenRefusal::Invalid);
        }
        // Revocation refuses tokens issued before a cut-off: one that claims to be
        // issued in the future would escape every revocation.
        let latest_issue = time::OffsetDateTime::now_utc().unix_timestamp().saturating_add_unsigned(self.validation.leeway);
        if c.iat.is_some_and(|iat| iat > latest_issue) {
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

    fn signed(claims: &serde_json::Value) -> String {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &EncodingKey::from_secret(b"s3cret")).unwrap()
    }

    fn now() -> i64 {
        time::OffsetDateTime::now_utc().unix_timestamp()
    }

    fn with_leeway(secs: u64) -> TokenVerifier {
        TokenVerifier::new(&VerificationKey::Shared(Secret::new("s3cret")), None, None, secs).unwrap()
    }

    #[test]
    fn a_token_not_valid_yet_is_refused_unless_within_the_leeway() {
        let later = signed(&serde_json::json!({"sub": "alice", "exp": now() + 7200, "nbf": now() + 3600}));
        assert_eq!(verifier().verify(&later), Err(TokenRefusal::Invalid));
        let skewed = signed(&serde_json::json!({"sub": "alice", "exp": now() + 7200, "nbf": now() + 3}));
        assert_eq!(with_leeway(10).verify(&skewed).map(|w| w.user_id), Ok("alice".to_owned()));
        assert_eq!(verifier().verify(&skewed), Err(TokenRefusal::Invalid));
        let started = signed(&serde_json::json!({"sub": "alice", "exp": now() + 7200, "nbf": now() - 60}));
        assert!(verifier().verify(&started).is_ok());
        let mistyped = signed(&serde_json::json!({"sub": "alice", "exp": now() + 7200, "nbf": "soon"}));
        assert_eq!(verifier().verify(&mistyped), Err(TokenRefusal::Invalid));
    }

    #[test]
    fn a_token_issued_in_the_future_is_refused_so_it_cannot_escape_revocation() {
        let ten_years = signed(&serde_json::json!({"sub": "alice", "exp": now() + 7200, "iat": now() + 10 * 365 * 86_400}));
        assert_eq!(verifier().verify(&ten_years), Err(TokenRefusal::Invalid));
        let soon = now() + 3;
        let skewed = signed(&serde_json::json!({"sub": "alice", "exp": now() + 7200, "iat": soon}));
        assert_eq!(with_leeway(10).verify(&skewed).map(|w| w.issued_at), Ok(Some(soon)));
        assert_eq!(verifier().verify(&skewed), Err(TokenRefusal::Invalid));
        let fresh = signed(&serde_json::json!({"sub": "alice", "exp": now() + 7200, "iat": now()}));
        assert!(verifier().verify(&fresh).is_ok());
    }

    #[test]
    fn a_subject_with_control_or_invisible_characters_is_refused() {
        for sub in ["al\0ice", "al\u{7}ice", "\u{1b}[31mred", "al\u{7f}ice", "al\u{85}ice", "al\u{9b}ice", "al ice", "al\tice", "\u{202e}ecila", "al\u{200b}ice", ""] {
            let t = signed(&serde_json::json!({"sub": sub, "exp": now() + 60}));
            assert_eq!(verifier().verify(&t), Err(TokenRefusal::Invalid), "{sub:?}");
        }
        for sub in ["alice", "user_42", "user-42@example.com", "ユーザー", "Zoë"] {
            let t = signed(&serde_json::json!({"sub": sub, "exp": now() + 60}));
            assert_eq!(verifier().verify(&t).map(|w| w.user_id), Ok(sub.to_owned()));
        }
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
