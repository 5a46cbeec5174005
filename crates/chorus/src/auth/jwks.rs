//! The key set of an identity provider (`jwt_jwks_url`): a JSON Web Key Set fetched
//! over HTTP, kept for as long as its `Cache-Control: max-age` says (bounded), and the
//! key for a token chosen by its `kid`. A `kid` the set does not hold makes one refetch
//! at most per cooldown, shared by every caller that waits for it, so a flood of
//! forged tokens cannot hammer the provider. When the provider is down or answers
//! something that is not a usable key set, the last good set keeps serving.
//!
//! Only signing keys of three kinds are taken: RSA (RS256, RS384, RS512), EC on P-256
//! (ES256) and OKP on Ed25519 (EdDSA). A shared secret (`kty: oct`) is never taken from
//! a key set, so no HS* token passes, and `alg: none` is no algorithm at all.

use std::sync::Arc;
use std::time::Duration;

use http::HeaderMap;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyOperations, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use parking_lot::RwLock;
use serde::Deserialize;
use tokio::time::Instant;

use crate::domain::error::error_chain;

/// Every algorithm a key of a set may verify.
pub const ALGORITHMS: [Algorithm; 5] = [Algorithm::RS256, Algorithm::RS384, Algorithm::RS512, Algorithm::ES256, Algorithm::EdDSA];

/// Largest key set read: a provider's set is a few kilobytes.
const MAX_SET_BYTES: usize = 256 * 1024;

/// How often the set is fetched, and how long a fetch may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JwksTiming {
    /// Least time between two refetches caused by unknown `kid`s (30 s).
    pub refetch_cooldown: Duration,
    /// Shortest time a set is kept, whatever its `max-age`, and the wait before the
    /// background refresh tries again after a failed fetch (30 s).
    pub min_ttl: Duration,
    /// Longest time a set is kept, whatever its `max-age` (24 h).
    pub max_ttl: Duration,
    /// How long a set without `max-age` is kept (5 min).
    pub default_ttl: Duration,
    /// How long one fetch may take, answer included (5 s).
    pub timeout: Duration,
}

impl Default for JwksTiming {
    fn default() -> Self {
        Self {
            refetch_cooldown: Duration::from_secs(30),
            min_ttl: Duration::from_secs(30),
            max_ttl: Duration::from_secs(24 * 3600),
            default_ttl: Duration::from_secs(300),
            timeout: Duration::from_secs(5),
        }
    }
}

impl JwksTiming {
    /// How long a set answered with `headers` is kept: its `max-age` (`no-cache` and
    /// `no-store` count as 0), else the default, within the bounds.
    pub fn ttl(&self, headers: &HeaderMap) -> Duration {
        max_age(headers).unwrap_or(self.default_ttl).clamp(self.min_ttl, self.max_ttl)
    }
}

/// The `max-age` of a `Cache-Control` header, if it has one.
fn max_age(headers: &HeaderMap) -> Option<Duration> {
    let mut age = None;
    for value in headers.get_all(http::header::CACHE_CONTROL) {
        let Ok(text) = value.to_str() else { continue };
        for directive in text.split(',').map(|d| d.trim().to_ascii_lowercase()) {
            if directive == "no-cache" || directive == "no-store" {
                return Some(Duration::ZERO);
            }
            if let Some(secs) = directive.strip_prefix("max-age=") {
                // An unreadable max-age is as if absent; an enormous one is bounded later.
                age = secs.trim_matches('"').parse::<u64>().ok().map(Duration::from_secs).or(age);
            }
        }
    }
    age
}

/// Why no key of the set verifies a token; each refuses the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRefusal {
    /// No key set has been fetched since startup: the provider has not answered yet.
    NoKeySet,
    /// No key of the set has the token's `kid`, even after a refetch (or the refetch
    /// was not allowed yet: one per cooldown).
    UnknownKid,
    /// The token names no `kid` and the set holds more than one key.
    KidRequired,
    /// The key's `alg`, or its type, does not fit the token's `alg`.
    AlgorithmMismatch,
}

/// Why a fetch brought no usable key set; the last good set is kept.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("the key set request failed")]
    Request(#[source] reqwest::Error),
    #[error("the key set URL answered {0}")]
    Status(http::StatusCode),
    #[error("the key set is larger than {MAX_SET_BYTES} bytes")]
    TooLarge,
    #[error("the answer is not a JSON Web Key Set")]
    Malformed(#[source] serde_json::Error),
    #[error("no key of the set is a signing key of RS256/384/512, ES256 or EdDSA")]
    NoUsableKey,
}

impl FetchError {
    /// A machine-readable name of the failure, for logs and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Request(_) => "jwks_unreachable",
            Self::Status(_) => "jwks_status",
            Self::TooLarge => "jwks_too_large",
            Self::Malformed(_) => "jwks_malformed",
            Self::NoUsableKey => "jwks_no_usable_key",
        }
    }
}

/// One key of the set, ready to verify.
pub struct SigningKey {
    /// The key's `kid`, which tokens name in their header.
    pub kid: Option<String>,
    /// The algorithms it verifies: its `alg` when it names one, else every algorithm
    /// of its type.
    pub algorithms: Vec<Algorithm>,
    /// The public key itself.
    pub decoding: DecodingKey,
}

impl SigningKey {
    /// Reads a key of a set; `Err` says why it is not taken.
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, &'static str> {
        if jwk.common.public_key_use.as_ref().is_some_and(|u| *u != PublicKeyUse::Signature) {
            return Err("not a signing key (use)");
        }
        if jwk.common.key_operations.as_ref().is_some_and(|ops| !ops.contains(&KeyOperations::Verify)) {
            return Err("not a verification key (key_ops)");
        }
        let fitting: &[Algorithm] = match &jwk.algorithm {
            AlgorithmParameters::RSA(_) => &[Algorithm::RS256, Algorithm::RS384, Algorithm::RS512],
            AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P256 => &[Algorithm::ES256],
            AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => &[Algorithm::EdDSA],
            AlgorithmParameters::OctetKey(_) => return Err("a shared secret (kty oct) is never taken from a key set"),
            _ => return Err("unsupported key type or curve"),
        };
        let algorithms = match jwk.common.key_algorithm {
            None => fitting.to_vec(),
            Some(alg) => match Algorithm::try_from(alg) {
                Ok(alg) if fitting.contains(&alg) => vec![alg],
                _ => return Err("its alg does not fit its key type"),
            },
        };
        let decoding = DecodingKey::from_jwk(jwk).map_err(|_| "its key material is invalid")?;
        Ok(Self { kid: jwk.common.key_id.clone(), algorithms, decoding })
    }
}

/// The usable keys of a JSON Web Key Set document. A key that cannot be read, or is
/// not a signing key Chorus verifies with, is left out (and logged); a set with none
/// left is an error.
pub fn parse_set(body: &[u8]) -> Result<Vec<Arc<SigningKey>>, FetchError> {
    /// The document, its keys one by one, so one odd key does not spoil the others.
    #[derive(Deserialize)]
    struct Document {
        keys: Vec<serde_json::Value>,
    }
    let document: Document = serde_json::from_slice(body).map_err(FetchError::Malformed)?;
    let mut keys = Vec::with_capacity(document.keys.len());
    for raw in document.keys {
        let kid = raw.get("kid").and_then(|k| k.as_str()).map(str::to_owned);
        let read = serde_json::from_value::<Jwk>(raw).map_err(|_| "not a JSON Web Key").and_then(|jwk| SigningKey::from_jwk(&jwk));
        match read {
            Ok(key) => keys.push(Arc::new(key)),
            Err(why) => tracing::warn!(kid = kid.as_deref().unwrap_or("-"), why, "a key of the JWKS set is left out"),
        }
    }
    if keys.is_empty() {
        return Err(FetchError::NoUsableKey);
    }
    Ok(keys)
}

/// A key set as fetched once.
struct KeySet {
    keys: Vec<Arc<SigningKey>>,
    /// Bumped by every fetch that stored a set (0: none yet), so a caller that waited
    /// for a refetch knows whether one ran while it waited.
    generation: u64,
    /// When the set is due to be fetched again.
    fresh_until: Instant,
}

impl KeySet {
    /// The key that verifies a token with this header.
    fn find(&self, kid: Option<&str>, alg: Algorithm) -> Result<Arc<SigningKey>, KeyRefusal> {
        if self.generation == 0 {
            return Err(KeyRefusal::NoKeySet);
        }
        let candidates: Vec<&Arc<SigningKey>> = match kid {
            Some(kid) => self.keys.iter().filter(|k| k.kid.as_deref() == Some(kid)).collect(),
            None if self.keys.len() == 1 => self.keys.iter().collect(),
            None => return Err(KeyRefusal::KidRequired),
        };
        if candidates.is_empty() {
            return Err(KeyRefusal::UnknownKid);
        }
        candidates.into_iter().find(|k| k.algorithms.contains(&alg)).cloned().ok_or(KeyRefusal::AlgorithmMismatch)
    }
}

/// When fetches were last made.
#[derive(Default)]
struct FetchLog {
    /// The last fetch of any cause (startup, refresh, unknown `kid`).
    last_attempt: Option<Instant>,
    /// The last fetch caused by an unknown `kid`: the cooldown counts from here.
    last_miss_fetch: Option<Instant>,
}

/// An identity provider's key set, shared by every verification.
pub struct JwksKeys {
    url: String,
    http: reqwest::Client,
    timing: JwksTiming,
    /// The current set: read on every verification without waiting on any I/O.
    current: RwLock<Arc<KeySet>>,
    /// Held while a fetch runs, so concurrent callers wait for the one fetch instead
    /// of making their own.
    fetches: tokio::sync::Mutex<FetchLog>,
}

impl JwksKeys {
    /// A key set at `url` (http or https), empty until the first fetch.
    pub fn new(url: &str, timing: JwksTiming) -> anyhow::Result<Self> {
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            anyhow::bail!("jwt_jwks_url must start with https:// or http://; got {url:?}");
        }
        let http = reqwest::Client::builder()
            .timeout(timing.timeout)
            .connect_timeout(timing.timeout)
            .build()
            .map_err(|e| anyhow::anyhow!("the JWKS client: {e}"))?;
        let empty = KeySet { keys: Vec::new(), generation: 0, fresh_until: Instant::now() };
        Ok(Self { url: url.to_owned(), http, timing, current: RwLock::new(Arc::new(empty)), fetches: tokio::sync::Mutex::default() })
    }

    /// The URL the set is fetched from.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Whether a set has been fetched (tokens are refused until one has).
    pub fn is_loaded(&self) -> bool {
        self.snapshot().generation > 0
    }

    fn snapshot(&self) -> Arc<KeySet> {
        self.current.read().clone()
    }

    /// Fetches the set now (at startup), waiting for a fetch already running.
    pub async fn fetch_now(&self) -> Result<(), FetchError> {
        let mut log = self.fetches.lock().await;
        self.fetch_locked(&mut log).await
    }

    /// The key for a token whose header names `kid` and `alg`. A cached `kid` is
    /// answered from memory; an unknown one (or no set yet) refetches, at most once
    /// per cooldown.
    pub async fn key_for(&self, kid: Option<&str>, alg: Algorithm) -> Result<Arc<SigningKey>, KeyRefusal> {
        let seen = self.snapshot();
        match seen.find(kid, alg) {
            Err(KeyRefusal::UnknownKid | KeyRefusal::NoKeySet) => {}
            found => return found,
        }
        let mut log = self.fetches.lock().await;
        if self.snapshot().generation == seen.generation {
            let now = Instant::now();
            let cooling = log.last_miss_fetch.is_some_and(|t| now.duration_since(t) < self.timing.refetch_cooldown);
            if !cooling {
                log.last_miss_fetch = Some(now);
                // A failure is logged there, and the token is refused below.
                let _ = self.fetch_locked(&mut log).await;
            }
        }
        drop(log);
        self.snapshot().find(kid, alg)
    }

    /// Keeps the set fresh until the task is stopped: fetches again when it is due
    /// (its TTL), and after a failure waits `min_ttl` before the next try.
    pub async fn keep_fresh(self: Arc<Self>) {
        loop {
            let due = self.refresh_due(&*self.fetches.lock().await);
            tokio::time::sleep_until(due).await;
            let mut log = self.fetches.lock().await;
            // An unknown `kid` may have refetched while this one slept.
            if self.refresh_due(&log) <= Instant::now() {
                // A failure is logged there; the last good set keeps serving.
                let _ = self.fetch_locked(&mut log).await;
            }
        }
    }

    fn refresh_due(&self, log: &FetchLog) -> Instant {
        let fresh_until = self.snapshot().fresh_until;
        log.last_attempt.map_or(fresh_until, |t| fresh_until.max(t + self.timing.min_ttl))
    }

    /// One fetch, with the fetch lock held: a good set replaces the current one; a
    /// failure keeps it and is logged.
    async fn fetch_locked(&self, log: &mut FetchLog) -> Result<(), FetchError> {
        log.last_attempt = Some(Instant::now());
        match self.download().await {
            Ok((keys, ttl)) => {
                metrics::counter!("chorus_jwks_fetches_total", "outcome" => "ok").increment(1);
                let generation = self.snapshot().generation + 1;
                tracing::debug!(url = %self.url, keys = keys.len(), ttl_secs = ttl.as_secs(), "JWKS key set fetched");
                *self.current.write() = Arc::new(KeySet { keys, generation, fresh_until: Instant::now() + ttl });
                Ok(())
            }
            Err(e) => {
                metrics::counter!("chorus_jwks_fetches_total", "outcome" => e.code()).increment(1);
                let serving = self.snapshot().keys.len();
                tracing::warn!(url = %self.url, code = e.code(), error = %error_chain(&e), serving, "JWKS fetch failed; keeping the last good key set");
                Err(e)
            }
        }
    }

    /// GETs the set and reads its keys and how long to keep them.
    async fn download(&self) -> Result<(Vec<Arc<SigningKey>>, Duration), FetchError> {
        let mut answer = self
            .http
            .get(&self.url)
            .header(http::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(FetchError::Request)?;
        if !answer.status().is_success() {
            return Err(FetchError::Status(answer.status()));
        }
        if answer.content_length().is_some_and(|n| n > MAX_SET_BYTES as u64) {
            return Err(FetchError::TooLarge);
        }
        let ttl = self.timing.ttl(answer.headers());
        let mut body = Vec::new();
        while let Some(chunk) = answer.chunk().await.map_err(FetchError::Request)? {
            if body.len() + chunk.len() > MAX_SET_BYTES {
                return Err(FetchError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok((parse_set(&body)?, ttl))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cache_control(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(http::header::CACHE_CONTROL, value.parse().unwrap());
        headers
    }

    #[test]
    fn a_sets_lifetime_is_its_max_age_within_the_bounds() {
        let t = JwksTiming::default();
        assert_eq!(t.ttl(&cache_control("public, max-age=600, must-revalidate")), Duration::from_secs(600));
        assert_eq!(t.ttl(&cache_control("max-age=1")), Duration::from_secs(30), "at least min_ttl");
        assert_eq!(t.ttl(&cache_control("max-age=99999999999")), Duration::from_secs(24 * 3600), "at most max_ttl");
        assert_eq!(t.ttl(&HeaderMap::new()), Duration::from_secs(300), "no header: the default");
        assert_eq!(t.ttl(&cache_control("max-age=soon")), Duration::from_secs(300), "unreadable: the default");
        assert_eq!(t.ttl(&cache_control("no-store")), Duration::from_secs(30), "no-store: as short as allowed");
        assert_eq!(t.ttl(&cache_control("Max-Age=120")), Duration::from_secs(120), "directives are case-insensitive");
    }

    /// The public JWK of an Ed25519 key, as a provider publishes it.
    fn ed25519_jwk(kid: &str, alg: Option<&str>) -> serde_json::Value {
        let mut jwk = json!({"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "kid": kid, "use": "sig"});
        if let Some(alg) = alg {
            jwk["alg"] = json!(alg);
        }
        jwk
    }

    fn key(value: serde_json::Value) -> Result<SigningKey, &'static str> {
        SigningKey::from_jwk(&serde_json::from_value(value).unwrap())
    }

    #[test]
    fn a_key_verifies_only_the_algorithms_of_its_type_or_its_alg() {
        assert_eq!(key(ed25519_jwk("a", None)).map(|k| k.algorithms), Ok(vec![Algorithm::EdDSA]));
        assert_eq!(key(ed25519_jwk("a", Some("EdDSA"))).map(|k| k.algorithms), Ok(vec![Algorithm::EdDSA]));
        assert!(key(ed25519_jwk("a", Some("RS256"))).is_err(), "an alg that does not fit the key type");
        assert!(key(ed25519_jwk("a", Some("HS256"))).is_err());
        let rsa = json!({"kty": "RSA", "n": "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw", "e": "AQAB", "kid": "r"});
        assert_eq!(key(rsa.clone()).map(|k| k.algorithms), Ok(vec![Algorithm::RS256, Algorithm::RS384, Algorithm::RS512]));
        let mut rs512 = rsa.clone();
        rs512["alg"] = json!("RS512");
        assert_eq!(key(rs512).map(|k| k.algorithms), Ok(vec![Algorithm::RS512]));
        let mut ps256 = rsa.clone();
        ps256["alg"] = json!("PS256");
        assert!(key(ps256).is_err(), "PSS is not among the algorithms");
        let mut encryption = rsa;
        encryption["use"] = json!("enc");
        assert!(key(encryption).is_err(), "an encryption key is not a signing key");
        assert!(key(json!({"kty": "oct", "k": "c2VjcmV0", "kid": "s"})).is_err(), "never a shared secret");
        let p384 = json!({"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA", "kid": "e"});
        assert!(key(p384).is_err(), "only P-256");
    }

    #[test]
    fn a_set_keeps_its_usable_keys_and_one_without_any_is_refused() {
        let body = json!({"keys": [
            ed25519_jwk("good", None),
            {"kty": "oct", "k": "c2VjcmV0", "kid": "secret"},
            {"kty": "EC", "crv": "X25519", "x": "AA", "kid": "odd-curve"},
            {"not": "a key"},
        ]});
        let keys = parse_set(body.to_string().as_bytes()).unwrap();
        assert_eq!(keys.iter().map(|k| k.kid.as_deref()).collect::<Vec<_>>(), vec![Some("good")]);
        let none = json!({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]});
        assert!(matches!(parse_set(none.to_string().as_bytes()), Err(FetchError::NoUsableKey)));
        assert!(matches!(parse_set(b"<html>maintenance</html>"), Err(FetchError::Malformed(_))));
        assert!(matches!(parse_set(b"{\"keys\": 5}"), Err(FetchError::Malformed(_))));
    }

    fn set_of(values: Vec<serde_json::Value>) -> KeySet {
        let keys = parse_set(json!({ "keys": values }).to_string().as_bytes()).unwrap();
        KeySet { keys, generation: 1, fresh_until: Instant::now() }
    }

    #[test]
    fn a_token_without_kid_needs_a_set_of_exactly_one_key() {
        let one = set_of(vec![ed25519_jwk("a", None)]);
        assert!(one.find(None, Algorithm::EdDSA).is_ok());
        let two = set_of(vec![ed25519_jwk("a", None), ed25519_jwk("b", None)]);
        assert_eq!(two.find(None, Algorithm::EdDSA).err(), Some(KeyRefusal::KidRequired));
        assert!(two.find(Some("b"), Algorithm::EdDSA).is_ok());
        assert_eq!(two.find(Some("c"), Algorithm::EdDSA).err(), Some(KeyRefusal::UnknownKid));
        assert_eq!(two.find(Some("a"), Algorithm::RS256).err(), Some(KeyRefusal::AlgorithmMismatch));
        let empty = KeySet { keys: Vec::new(), generation: 0, fresh_until: Instant::now() };
        assert_eq!(empty.find(Some("a"), Algorithm::EdDSA).err(), Some(KeyRefusal::NoKeySet));
    }

    #[test]
    fn only_http_urls_name_a_key_set() {
        assert!(JwksKeys::new("ftp://idp.example/keys", JwksTiming::default()).is_err());
        assert!(JwksKeys::new("/etc/jwks.json", JwksTiming::default()).is_err());
        assert!(JwksKeys::new("https://idp.example/.well-known/jwks.json", JwksTiming::default()).is_ok());
    }
}
