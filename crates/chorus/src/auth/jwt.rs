//! JWT verification (PROTOCOL.md §1): the algorithm is pinned by configuration (or,
//! with an identity provider's key set, by the key the token's `kid` names), so
//! `alg: none` and algorithm switching are refused; the user id claim (`sub` unless
//! `jwt_user_claim` names another) and `exp` are required; `nbf` and `iat` may not lie
//! in the future (beyond the leeway); `iss`/`aud` are checked when configured; the user
//! id is an id (no whitespace or control characters), or a whole number taken as its
//! decimal string.

use std::fmt;
use std::sync::Arc;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::de::{DeserializeOwned, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use super::jwks::{self, JwksKeys, KeyRefusal};
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
    /// The identity provider's key set has not been fetched yet: the token may be
    /// good, so the client should try again later rather than drop it.
    Unavailable,
}

impl TokenRefusal {
    pub fn code(self) -> &'static str {
        match self {
            Self::Missing => "auth_missing",
            Self::Invalid => "auth_invalid",
            Self::Expired => "auth_expired",
            Self::Unavailable => "auth_unavailable",
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
    /// An identity provider's key set (`jwt_jwks_url`): the key a token's `kid` names.
    Jwks(Arc<JwksKeys>),
}

impl From<KeyRefusal> for TokenRefusal {
    fn from(refusal: KeyRefusal) -> Self {
        match refusal {
            KeyRefusal::NoKeySet => Self::Unavailable,
            KeyRefusal::UnknownKid | KeyRefusal::KidRequired | KeyRefusal::AlgorithmMismatch => Self::Invalid,
        }
    }
}

/// The claims `issue_token` writes (the verifier reads a token's claims by name, since
/// the user id and display name claims are configured).
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

/// Longest display name kept, in characters.
const MAX_NAME_CHARS: usize = 64;

/// Longest avatar kept, in characters.
const MAX_AVATAR_CHARS: usize = 512;

/// Largest numeric user id: beyond 2^53 - 1 a JSON number is not exact in JavaScript,
/// so the app that minted it may not agree on which user it names.
const MAX_NUMERIC_USER_ID: u64 = (1 << 53) - 1;

/// Which claims carry the user id and the display name (`jwt_user_claim`,
/// `jwt_name_claim`): apps that already sign tokens keep their own claim names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimNames {
    /// The claim holding the user id; `sub` by default.
    pub user: String,
    /// The claim holding the display name; `None` reads `username`, else `name`.
    pub name: Option<String>,
}

impl Default for ClaimNames {
    fn default() -> Self {
        Self { user: "sub".to_owned(), name: None }
    }
}

/// Checks user tokens.
pub struct TokenVerifier {
    keys: Keys,
    /// The rules of each algorithm a token may use: the one of a fixed key, or one per
    /// `jwks::ALGORITHMS` with a key set. A token of any other algorithm is refused
    /// before a key is looked up.
    validations: Vec<Validation>,
    /// Clock skew tolerated, in seconds (at most `MAX_LEEWAY_SECS`).
    leeway: u64,
    claims: ClaimNames,
}

/// The keys a verifier checks signatures with.
enum Keys {
    /// One key of one algorithm.
    Fixed(DecodingKey),
    /// An identity provider's key set: the key a token's `kid` names.
    Jwks(Arc<JwksKeys>),
}

/// A token's claims by name (the user id and display name claims are configured, so
/// no fixed struct can hold them). A claim Chorus reads refuses the token when it is
/// repeated, as a derived struct refuses a repeated field; a repeated claim Chorus does
/// not read is ignored.
struct ClaimSet {
    claims: Map<String, Value>,
    repeated: Vec<String>,
}

impl<'de> Deserialize<'de> for ClaimSet {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ClaimSetVisitor;
        impl<'de> Visitor<'de> for ClaimSetVisitor {
            type Value = ClaimSet;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object of claims")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<ClaimSet, M::Error> {
                let mut set = ClaimSet { claims: Map::new(), repeated: Vec::new() };
                while let Some((name, value)) = map.next_entry::<String, Value>()? {
                    if set.claims.contains_key(&name) {
                        set.repeated.push(name.clone());
                    }
                    set.claims.insert(name, value);
                }
                Ok(set)
            }
        }
        deserializer.deserialize_map(ClaimSetVisitor)
    }
}

impl ClaimSet {
    /// The claim `name` as it was written; a repeated claim is refused.
    fn raw(&self, name: &str) -> Result<Option<&Value>, TokenRefusal> {
        if self.repeated.iter().any(|r| r == name) {
            return Err(TokenRefusal::Invalid);
        }
        Ok(self.claims.get(name))
    }

    /// The claim `name` read as a `T` (absent: `None`); a claim of another type is
    /// refused, as a mistyped claim always was.
    fn typed<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, TokenRefusal> {
        self.raw(name)?.map(|v| T::deserialize(v).map_err(|_| TokenRefusal::Invalid)).transpose()
    }

    /// The user id: a string that `valid_subject` accepts, or a whole number from 0 to
    /// 2^53 - 1 as its decimal string. Anything else, or no such claim, is refused.
    fn user_id(&self, claim: &str) -> Result<String, TokenRefusal> {
        match self.raw(claim)? {
            Some(Value::String(id)) if valid_subject(id) => Ok(id.clone()),
            Some(Value::Number(n)) => match n.as_u64() {
                Some(id) if id <= MAX_NUMERIC_USER_ID => Ok(id.to_string()),
                _ => Err(TokenRefusal::Invalid),
            },
            _ => Err(TokenRefusal::Invalid),
        }
    }

    /// The display name: the configured claim when it is a string (any other value is
    /// ignored), else `username`, else `name`, as strings.
    fn display_name(&self, claim: Option<&str>) -> Result<Option<String>, TokenRefusal> {
        let name = match claim {
            Some(claim) => self.raw(claim)?.and_then(Value::as_str).map(str::to_owned),
            None => self.typed::<Option<String>>("username")?.flatten().or(self.typed::<Option<String>>("name")?.flatten()),
        };
        Ok(name.map(|n| n.chars().take(MAX_NAME_CHARS).collect()))
    }
}

/// Whether a string claim can be a user id: 1–128 bytes, no whitespace, no control characters
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
    pub fn new(
        key: &VerificationKey,
        issuer: Option<&str>,
        audience: Option<&str>,
        leeway_secs: u64,
        claims: ClaimNames,
    ) -> anyhow::Result<Self> {
        let leeway = leeway_secs.min(MAX_LEEWAY_SECS);
        let rules = |alg| validation(alg, issuer, audience, leeway);
        let (keys, validations) = match key {
            VerificationKey::Shared(secret) => {
                (Keys::Fixed(DecodingKey::from_secret(secret.expose().as_bytes())), vec![rules(Algorithm::HS256)])
            }
            VerificationKey::PublicPem(pem) => {
                if let Ok(key) = DecodingKey::from_rsa_pem(pem.as_bytes()) {
                    (Keys::Fixed(key), vec![rules(Algorithm::RS256)])
                } else {
                    let key = DecodingKey::from_ec_pem(pem.as_bytes())
                        .map_err(|e| anyhow::anyhow!("jwt public key is neither an RSA nor an EC PEM key: {e}"))?;
                    (Keys::Fixed(key), vec![rules(Algorithm::ES256)])
                }
            }
            VerificationKey::Jwks(keys) => (Keys::Jwks(keys.clone()), jwks::ALGORITHMS.map(rules).to_vec()),
        };
        Ok(Self { keys, validations, leeway, claims })
    }

    /// Checks the signature and the standard claims, and returns the claims.
    async fn decode(&self, token: &str) -> Result<ClaimSet, TokenRefusal> {
        let refusal = |e: jsonwebtoken::errors::Error| match e.kind() {
            ErrorKind::ExpiredSignature => TokenRefusal::Expired,
            _ => TokenRefusal::Invalid,
        };
        let header = jsonwebtoken::decode_header(token).map_err(refusal)?;
        let validation = self.validations.iter().find(|v| v.algorithms == [header.alg]).ok_or(TokenRefusal::Invalid)?;
        let data = match &self.keys {
            Keys::Fixed(key) => jsonwebtoken::decode::<ClaimSet>(token, key, validation),
            Keys::Jwks(keys) => {
                let key = keys.key_for(header.kid.as_deref(), header.alg).await?;
                jsonwebtoken::decode::<ClaimSet>(token, &key.decoding, validation)
            }
        }
        .map_err(refusal)?;
        Ok(data.claims)
    }

    /// Verifies a token and returns who it speaks for.
    pub async fn verify(&self, token: &str) -> Result<Identity, TokenRefusal> {
        let token = token.trim();
        if token.is_empty() {
            return Err(TokenRefusal::Missing);
        }
        if token.len() > 8 * 1024 {
            return Err(TokenRefusal::Invalid);
        }
        let c = self.decode(token).await?;
        let user_id = c.user_id(&self.claims.user)?;
        // The library checked that `exp` is a number; Chorus keeps it as whole seconds.
        let expires_at = c.typed::<i64>("exp")?.ok_or(TokenRefusal::Invalid)?;
        let issued_at = c.typed::<Option<i64>>("iat")?.flatten();
        // Revocation refuses tokens issued before a cut-off: one that claims to be
        // issued in the future would escape every revocation.
        let latest_issue = time::OffsetDateTime::now_utc().unix_timestamp().saturating_add_unsigned(self.leeway);
        if issued_at.is_some_and(|iat| iat > latest_issue) {
            return Err(TokenRefusal::Invalid);
        }
        let roles = c
            .typed::<Vec<String>>("roles")?
            .unwrap_or_default()
            .iter()
            .filter_map(|r| match r.as_str() {
                "admin" => Some(Role::Admin),
                "moderator" => Some(Role::Moderator),
                _ => None,
            })
            .collect();
        Ok(Identity {
            user_id,
            username: c.display_name(self.claims.name.as_deref())?,
            avatar: c.typed::<Option<String>>("avatar")?.flatten().map(|a| a.chars().take(MAX_AVATAR_CHARS).collect()),
            verified: c.typed::<bool>("verified")?.unwrap_or(false),
            roles,
            expires_at,
            guest: false,
            issued_at,
        })
    }
}

/// The rules every token of `alg` is checked by.
fn validation(alg: Algorithm, issuer: Option<&str>, audience: Option<&str>, leeway: u64) -> Validation {
    let mut validation = Validation::new(alg);
    validation.leeway = leeway;
    // The user id claim, `sub` or another, is required by `verify` itself: the library
    // would refuse a numeric `sub`, which the user id rule accepts.
    validation.set_required_spec_claims(&["exp"]);
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
    validation
}

/// Mints HS256 tokens (development and `chorus token`).
pub fn issue_token(secret: &Secret, user: &str, name: Option<&str>, ttl_secs: i64, names: &ClaimNames) -> anyhow::Result<String> {
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
    // The id and the name also under the claims this server reads them from.
    let mut claims = serde_json::to_value(&claims)?;
    if let Some(fields) = claims.as_object_mut() {
        fields.insert(names.user.clone(), serde_json::Value::String(user.to_owned()));
        if let (Some(claim), Some(name)) = (&names.name, name) {
            fields.insert(claim.clone(), serde_json::Value::String(name.to_owned()));
        }
    }
    Ok(jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(secret.expose().as_bytes()))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verifier() -> TokenVerifier {
        TokenVerifier::new(&VerificationKey::Shared(Secret::new("s3cret")), None, None, 0, ClaimNames::default()).unwrap()
    }

    #[tokio::test]
    async fn a_token_it_issued_carries_the_configured_claims() {
        let names = ClaimNames { user: "userId".into(), name: Some("displayName".into()) };
        let t = issue_token(&Secret::new("s3cret"), "7", Some("Ann"), 60, &names).unwrap();
        let verifier = TokenVerifier::new(&VerificationKey::Shared(Secret::new("s3cret")), None, None, 0, names).unwrap();
        let identity = verifier.verify(&t).await.unwrap();
        assert_eq!((identity.user_id.as_str(), identity.username.as_deref()), ("7", Some("Ann")));
    }

    #[tokio::test]
    async fn a_token_it_issued_is_accepted_with_its_claims() {
        let t = issue_token(&Secret::new("s3cret"), "alice", Some("Alice"), 60, &ClaimNames::default()).unwrap();
        let who = verifier().verify(&t).await.unwrap();
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
        TokenVerifier::new(&VerificationKey::Shared(Secret::new("s3cret")), None, None, secs, ClaimNames::default()).unwrap()
    }

    /// A verifier that reads the user id from `user` and, when given, the display name
    /// from `name`.
    fn reading(user: &str, name: Option<&str>) -> TokenVerifier {
        let claims = ClaimNames { user: user.to_owned(), name: name.map(str::to_owned) };
        TokenVerifier::new(&VerificationKey::Shared(Secret::new("s3cret")), None, None, 0, claims).unwrap()
    }

    #[tokio::test]
    async fn a_token_not_valid_yet_is_refused_unless_within_the_leeway() {
        let later = signed(&serde_json::json!({"sub": "alice", "exp": now() + 7200, "nbf": now() + 3600}));
        assert_eq!(verifier().verify(&later).await, Err(TokenRefusal::Invalid));
        let skewed = signed(&serde_json::json!({"sub": "alice", "exp": now() + 7200, "nbf": now() + 3}));
        assert_eq!(with_leeway(10).verify(&skewed).await.map(|w| w.user_id), Ok("alice".to_owned()));
        assert_eq!(verifier().verify(&skewed).await, Err(TokenRefusal::Invalid));
        let started = signed(&serde_json::json!({"sub": "alice", "exp": now() + 7200, "nbf": now() - 60}));
        assert!(verifier().verify(&started).await.is_ok());
        let mistyped = signed(&serde_json::json!({"sub": "alice", "exp": now() + 7200, "nbf": "soon"}));
        assert_eq!(verifier().verify(&mistyped).await, Err(TokenRefusal::Invalid));
    }

    #[tokio::test]
    async fn a_token_issued_in_the_future_is_refused_so_it_cannot_escape_revocation() {
        let ten_years = signed(&serde_json::json!({"sub": "alice", "exp": now() + 7200, "iat": now() + 10 * 365 * 86_400}));
        assert_eq!(verifier().verify(&ten_years).await, Err(TokenRefusal::Invalid));
        let soon = now() + 3;
        let skewed = signed(&serde_json::json!({"sub": "alice", "exp": now() + 7200, "iat": soon}));
        assert_eq!(with_leeway(10).verify(&skewed).await.map(|w| w.issued_at), Ok(Some(soon)));
        assert_eq!(verifier().verify(&skewed).await, Err(TokenRefusal::Invalid));
        let fresh = signed(&serde_json::json!({"sub": "alice", "exp": now() + 7200, "iat": now()}));
        assert!(verifier().verify(&fresh).await.is_ok());
    }

    #[tokio::test]
    async fn a_subject_with_control_or_invisible_characters_is_refused() {
        for sub in ["al\0ice", "al\u{7}ice", "\u{1b}[31mred", "al\u{7f}ice", "al\u{85}ice", "al\u{9b}ice", "al ice", "al\tice", "\u{202e}ecila", "al\u{200b}ice", ""] {
            let t = signed(&serde_json::json!({"sub": sub, "exp": now() + 60}));
            assert_eq!(verifier().verify(&t).await, Err(TokenRefusal::Invalid), "{sub:?}");
        }
        for sub in ["alice", "user_42", "user-42@example.com", "ユーザー", "Zoë"] {
            let t = signed(&serde_json::json!({"sub": sub, "exp": now() + 60}));
            assert_eq!(verifier().verify(&t).await.map(|w| w.user_id), Ok(sub.to_owned()));
        }
    }

    #[tokio::test]
    async fn expired_wrongly_signed_and_unsigned_tokens_are_refused() {
        let expired = issue_token(&Secret::new("s3cret"), "alice", None, -120, &ClaimNames::default()).unwrap();
        assert_eq!(verifier().verify(&expired).await, Err(TokenRefusal::Expired));
        let other = issue_token(&Secret::new("other"), "alice", None, 60, &ClaimNames::default()).unwrap();
        assert_eq!(verifier().verify(&other).await, Err(TokenRefusal::Invalid));
        // {"alg":"none","typ":"JWT"}.{"sub":"alice","exp":9999999999}.
        let none = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6OTk5OTk5OTk5OX0.";
        assert_eq!(verifier().verify(none).await, Err(TokenRefusal::Invalid));
        assert_eq!(verifier().verify("").await, Err(TokenRefusal::Missing));
        assert_eq!(verifier().verify("garbage").await, Err(TokenRefusal::Invalid));
    }

    #[tokio::test]
    async fn a_user_claim_other_than_sub_carries_the_user_id_and_sub_is_not_required() {
        let t = signed(&serde_json::json!({"userId": "u-17", "exp": now() + 60}));
        assert_eq!(reading("userId", None).verify(&t).await.map(|w| w.user_id), Ok("u-17".to_owned()));
        // With `sub` present too, the configured claim still names the user.
        let both = signed(&serde_json::json!({"sub": "someone-else", "userId": "u-17", "exp": now() + 60}));
        assert_eq!(reading("userId", None).verify(&both).await.map(|w| w.user_id), Ok("u-17".to_owned()));
        // The default verifier still requires `sub`.
        assert_eq!(verifier().verify(&t).await, Err(TokenRefusal::Invalid));
    }

    #[tokio::test]
    async fn a_numeric_user_claim_is_taken_as_its_decimal_string() {
        let t = signed(&serde_json::json!({"id": 42, "exp": now() + 60}));
        assert_eq!(reading("id", None).verify(&t).await.map(|w| w.user_id), Ok("42".to_owned()));
        let zero = signed(&serde_json::json!({"id": 0, "exp": now() + 60}));
        assert_eq!(reading("id", None).verify(&zero).await.map(|w| w.user_id), Ok("0".to_owned()));
        let largest = signed(&serde_json::json!({"id": 9_007_199_254_740_991_u64, "exp": now() + 60}));
        assert_eq!(reading("id", None).verify(&largest).await.map(|w| w.user_id), Ok("9007199254740991".to_owned()));
        let numeric_sub = signed(&serde_json::json!({"sub": 12345, "exp": now() + 60}));
        assert_eq!(verifier().verify(&numeric_sub).await.map(|w| w.user_id), Ok("12345".to_owned()));
    }

    #[tokio::test]
    async fn a_mongo_id_string_is_a_user_id() {
        let t = signed(&serde_json::json!({"_id": "507f1f77bcf86cd799439011", "exp": now() + 60}));
        assert_eq!(reading("_id", None).verify(&t).await.map(|w| w.user_id), Ok("507f1f77bcf86cd799439011".to_owned()));
    }

    #[tokio::test]
    async fn a_user_claim_that_is_not_a_whole_number_or_an_id_string_is_refused() {
        let refused = [
            serde_json::json!(-1),
            serde_json::json!(4.5),
            serde_json::json!(42.0),
            serde_json::json!(9_007_199_254_740_992_u64),
            serde_json::json!(true),
            serde_json::json!({"id": 1}),
            serde_json::json!([1]),
            serde_json::Value::Null,
            serde_json::json!(""),
            serde_json::json!("with space"),
        ];
        for id in refused {
            let t = signed(&serde_json::json!({"userId": id, "sub": "fallback", "exp": now() + 60}));
            assert_eq!(reading("userId", None).verify(&t).await, Err(TokenRefusal::Invalid), "{id}");
        }
        let missing = signed(&serde_json::json!({"sub": "fallback", "exp": now() + 60}));
        assert_eq!(reading("userId", None).verify(&missing).await, Err(TokenRefusal::Invalid), "no userId");
        // `exp` is still required whatever the user claim.
        let no_exp = signed(&serde_json::json!({"userId": "u-17"}));
        assert_eq!(reading("userId", None).verify(&no_exp).await, Err(TokenRefusal::Invalid), "no exp");
        // A repeated user claim is refused, as a repeated `sub` always was.
        let twice = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &RepeatedUserId, &EncodingKey::from_secret(b"s3cret")).unwrap();
        assert_eq!(reading("userId", None).verify(&twice).await, Err(TokenRefusal::Invalid), "userId twice");
    }

    /// Claims that name `userId` twice, which `serde_json::Value` cannot hold.
    struct RepeatedUserId;

    impl Serialize for RepeatedUserId {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            use serde::ser::SerializeMap;
            let mut m = s.serialize_map(Some(3))?;
            m.serialize_entry("userId", "ann")?;
            m.serialize_entry("userId", "mallory")?;
            m.serialize_entry("exp", &(now() + 60))?;
            m.end()
        }
    }

    #[tokio::test]
    async fn the_name_claim_picks_the_display_name() {
        let t = signed(&serde_json::json!({"userId": 7, "displayName": "Ann", "username": "ann_1", "name": "A.", "exp": now() + 60}));
        assert_eq!(reading("userId", Some("displayName")).verify(&t).await.map(|w| w.username), Ok(Some("Ann".to_owned())));
        // Not a string: as if absent, and `username`/`name` are not read instead.
        let numeric = signed(&serde_json::json!({"userId": 7, "displayName": 5, "username": "ann_1", "exp": now() + 60}));
        assert_eq!(reading("userId", Some("displayName")).verify(&numeric).await.map(|w| w.username), Ok(None));
        // Cut like every display name.
        let long = signed(&serde_json::json!({"userId": 7, "displayName": "a".repeat(100), "exp": now() + 60}));
        assert_eq!(reading("userId", Some("displayName")).verify(&long).await.map(|w| w.username.map(|n| n.len())), Ok(Some(64)));
        // Unset: `username`, else `name`.
        assert_eq!(reading("userId", None).verify(&t).await.map(|w| w.username), Ok(Some("ann_1".to_owned())));
        let only_name = signed(&serde_json::json!({"sub": "ann", "name": "A.", "exp": now() + 60}));
        assert_eq!(verifier().verify(&only_name).await.map(|w| w.username), Ok(Some("A.".to_owned())));
    }
}
