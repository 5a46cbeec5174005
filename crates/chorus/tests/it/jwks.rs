//! Tokens of an identity provider (`jwt_jwks_url`), checked against a local JWKS
//! server whose key set, answer and request count each test controls: every
//! algorithm, rotation, a provider that is down, unknown `kid`s, `alg` mismatches and
//! the set's lifetime.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chorus::auth::jwks::{JwksKeys, JwksTiming};
use chorus::auth::jwt::{ClaimNames, TokenRefusal, TokenVerifier, VerificationKey};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::support::{TestApp, TestSocket, spawn_app_with};

/// What the provider answers.
#[derive(Clone)]
enum Answer {
    /// The key set, with this `Cache-Control` header when given.
    Set { keys: Vec<Value>, cache_control: Option<String> },
    /// An error status, as a provider in trouble answers.
    Status(StatusCode),
    /// A 200 whose body is no key set (a captive portal, a maintenance page).
    Garbage,
}

/// A local JWKS endpoint.
struct Provider {
    answer: parking_lot::Mutex<Answer>,
    requests: AtomicUsize,
    url: String,
}

impl Provider {
    async fn start(answer: Answer) -> Arc<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/.well-known/jwks.json", listener.local_addr().unwrap());
        let provider = Arc::new(Self { answer: parking_lot::Mutex::new(answer), requests: AtomicUsize::new(0), url });
        let router = axum::Router::new().route("/.well-known/jwks.json", axum::routing::get(serve)).with_state(provider.clone());
        tokio::spawn(async move { axum::serve(listener, router).await });
        provider
    }

    fn answer(&self, answer: Answer) {
        *self.answer.lock() = answer;
    }

    fn publish(&self, keys: &[&TestKey]) {
        self.answer(Answer::Set { keys: keys.iter().map(|k| k.jwk()).collect(), cache_control: None });
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// Waits (at most 5 s) until the provider has been asked `n` times in all.
    async fn wait_for_requests(&self, n: usize) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while self.requests() < n {
            assert!(tokio::time::Instant::now() < deadline, "the provider was asked {} times, not {n}", self.requests());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn serve(State(provider): State<Arc<Provider>>) -> Response {
    provider.requests.fetch_add(1, Ordering::SeqCst);
    let answer = provider.answer.lock().clone();
    match answer {
        Answer::Set { keys, cache_control } => {
            let mut headers = HeaderMap::new();
            if let Some(value) = cache_control {
                headers.insert(header::CACHE_CONTROL, HeaderValue::from_str(&value).unwrap());
            }
            (headers, axum::Json(json!({ "keys": keys }))).into_response()
        }
        Answer::Status(status) => (status, "provider trouble").into_response(),
        Answer::Garbage => "<html>down for maintenance</html>".into_response(),
    }
}

/// A signing key of one type, with the `kid` it is published under.
struct TestKey {
    kid: String,
    alg: Algorithm,
    encoding: EncodingKey,
}

impl TestKey {
    fn ed25519(kid: &str) -> Self {
        let key = ed25519_dalek::SigningKey::generate(&mut rand_core::OsRng);
        // PKCS#8 v1 (RFC 8410) of the seed alone, the form jsonwebtoken reads (dalek's
        // own encoder writes v2, with the public key).
        let mut der = vec![0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];
        der.extend_from_slice(&key.to_bytes());
        Self { kid: kid.to_owned(), alg: Algorithm::EdDSA, encoding: EncodingKey::from_ed_der(&der) }
    }

    fn p256(kid: &str) -> Self {
        use p256::pkcs8::EncodePrivateKey;
        let key = p256::SecretKey::random(&mut rand_core::OsRng);
        let pem = key.to_pkcs8_pem(Default::default()).unwrap();
        Self { kid: kid.to_owned(), alg: Algorithm::ES256, encoding: EncodingKey::from_ec_pem(pem.as_bytes()).unwrap() }
    }

    fn rsa(kid: &str) -> Self {
        use rsa::pkcs1::EncodeRsaPrivateKey;
        let key = rsa::RsaPrivateKey::new(&mut rand_core::OsRng, 2048).unwrap();
        let pem = key.to_pkcs1_pem(Default::default()).unwrap();
        Self { kid: kid.to_owned(), alg: Algorithm::RS256, encoding: EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap() }
    }

    /// The public JWK a provider publishes, with `kid` and `alg`.
    fn jwk(&self) -> Value {
        let mut jwk = Jwk::from_encoding_key(&self.encoding, self.alg).unwrap();
        jwk.common.key_id = Some(self.kid.clone());
        serde_json::to_value(jwk).unwrap()
    }

    /// The same JWK without `alg`, as many providers publish it.
    fn jwk_without_alg(&self) -> Value {
        let mut jwk = self.jwk();
        jwk.as_object_mut().unwrap().remove("alg");
        jwk
    }

    /// A token for `user` signed with this key, its header naming `kid` and `alg`.
    fn sign_as(&self, user: &str, kid: Option<&str>, alg: Algorithm) -> String {
        let mut header = Header::new(alg);
        header.kid = kid.map(str::to_owned);
        let claims = json!({"sub": user, "exp": time::OffsetDateTime::now_utc().unix_timestamp() + 3600});
        jsonwebtoken::encode(&header, &claims, &self.encoding).unwrap()
    }

    fn sign(&self, user: &str) -> String {
        self.sign_as(user, Some(&self.kid), self.alg)
    }
}

/// A node that checks tokens against `provider` (with the production timing).
async fn node_of(provider: &Provider) -> TestApp {
    let url = provider.url.clone();
    spawn_app_with(move |s| {
        s.auth.jwt_secret = None;
        s.auth.jwt_jwks_url = Some(url);
    })
    .await
}

/// Connects with `token`; the user id of `session:ready`, or the refusal's code.
async fn connect(app: &TestApp, token: &str) -> Result<String, String> {
    match TestSocket::connect(app.addr, Some(json!({ "token": token })), "", None).await {
        Ok(mut socket) => Ok(socket.expect("session:ready", |_| true).await["userId"].as_str().unwrap_or_default().to_owned()),
        Err(refused) => Err(refused.data["code"].as_str().unwrap_or_default().to_owned()),
    }
}

/// Timing of a key set under test: production values unless a test shortens them.
fn timing() -> JwksTiming {
    JwksTiming::default()
}

/// A verifier over a key set of `provider`, fetched once, with `timing`.
async fn verifier_of(provider: &Provider, timing: JwksTiming) -> (Arc<JwksKeys>, TokenVerifier) {
    let keys = Arc::new(JwksKeys::new(&provider.url, timing).unwrap());
    // A provider that is down at this point is part of some tests.
    let _ = keys.fetch_now().await;
    let verifier = TokenVerifier::new(&VerificationKey::Jwks(keys.clone()), None, None, 0, ClaimNames::default()).unwrap();
    (keys, verifier)
}

async fn user_of(verifier: &TokenVerifier, token: &str) -> Result<String, TokenRefusal> {
    verifier.verify(token).await.map(|who| who.user_id)
}

#[tokio::test]
async fn rs256_es256_and_eddsa_tokens_of_the_set_connect_and_call_rest() {
    let (rsa, ec, ed) = (TestKey::rsa("rsa-1"), TestKey::p256("ec-1"), TestKey::ed25519("ed-1"));
    let provider = Provider::start(Answer::Garbage).await;
    provider.publish(&[&rsa, &ec, &ed]);
    let app = node_of(&provider).await;
    assert_eq!(connect(&app, &rsa.sign("ann")).await, Ok("ann".to_owned()));
    assert_eq!(connect(&app, &ec.sign("bob")).await, Ok("bob".to_owned()));
    assert_eq!(connect(&app, &ed.sign("cat")).await, Ok("cat".to_owned()));
    let (status, _) = app.rest(reqwest::Method::GET, "/api/notifications", Some(&ed.sign("cat")), None).await;
    assert_eq!(status, 200);
    assert_eq!(provider.requests(), 1, "cached kids are verified from memory");
    app.stop().await;
}

#[tokio::test]
async fn a_new_kid_is_accepted_without_restart_and_a_removed_one_is_refused() {
    let (old, new) = (TestKey::ed25519("2026-01"), TestKey::ed25519("2026-02"));
    let provider = Provider::start(Answer::Garbage).await;
    provider.publish(&[&old]);
    let app = node_of(&provider).await;
    assert_eq!(connect(&app, &old.sign("ann")).await, Ok("ann".to_owned()));
    // The provider rotates: the new key replaces the old one.
    provider.publish(&[&new]);
    assert_eq!(connect(&app, &new.sign("ann")).await, Ok("ann".to_owned()), "the unknown kid refetched the set");
    assert_eq!(connect(&app, &old.sign("ann")).await, Err("auth_invalid".to_owned()), "the removed key is gone");
    assert_eq!(provider.requests(), 2);
    app.stop().await;
}

#[tokio::test]
async fn a_token_whose_kid_is_unknown_or_whose_key_is_not_in_the_set_is_refused() {
    let (published, stranger) = (TestKey::ed25519("published"), TestKey::ed25519("stranger"));
    let provider = Provider::start(Answer::Garbage).await;
    provider.publish(&[&published]);
    let app = node_of(&provider).await;
    assert_eq!(connect(&app, &stranger.sign("mallory")).await, Err("auth_invalid".to_owned()), "unknown kid");
    // Signed by another key under a kid of the set: the signature does not verify.
    let forged = stranger.sign_as("mallory", Some("published"), Algorithm::EdDSA);
    assert_eq!(connect(&app, &forged).await, Err("auth_invalid".to_owned()), "key not in the set");
    let (status, body) = app.rest(reqwest::Method::GET, "/api/notifications", Some(&forged), None).await;
    assert_eq!((status, body["error"]["message"].as_str().is_some_and(|m| m.starts_with("auth_invalid"))), (401, true), "{body}");
    app.stop().await;
}

#[tokio::test]
async fn a_token_whose_alg_does_not_fit_its_key_is_refused_without_a_refetch() {
    let (rsa, ec, ed) = (TestKey::rsa("rsa"), TestKey::p256("ec"), TestKey::ed25519("ed"));
    let provider = Provider::start(Answer::Garbage).await;
    // The RSA key is published for RS256 only; the Ed25519 key names no alg.
    provider.answer(Answer::Set { keys: vec![rsa.jwk(), ec.jwk(), ed.jwk_without_alg()], cache_control: None });
    let (_, verifier) = verifier_of(&provider, timing()).await;
    assert_eq!(user_of(&verifier, &rsa.sign("ann")).await, Ok("ann".to_owned()));
    assert_eq!(user_of(&verifier, &ed.sign("bob")).await, Ok("bob".to_owned()), "a key without alg takes its type's");
    let mismatches = [
        ("an RSA token under the EdDSA key's kid", rsa.sign_as("m", Some("ed"), Algorithm::RS256)),
        ("an ES256 token under the RSA key's kid", ec.sign_as("m", Some("rsa"), Algorithm::ES256)),
        ("RS384 where the key says RS256", rsa.sign_as("m", Some("rsa"), Algorithm::RS384)),
        ("an EdDSA token under the EC key's kid", ed.sign_as("m", Some("ec"), Algorithm::EdDSA)),
    ];
    for (what, token) in mismatches {
        assert_eq!(user_of(&verifier, &token).await, Err(TokenRefusal::Invalid), "{what}");
    }
    assert_eq!(provider.requests(), 1, "a known kid with the wrong alg causes no refetch");
    app_refuses_the_mismatch_with_auth_invalid(&provider, &rsa).await;
}

/// The same refusal over the wire: `connect_error` with `auth_invalid`.
async fn app_refuses_the_mismatch_with_auth_invalid(provider: &Provider, rsa: &TestKey) {
    let app = node_of(provider).await;
    assert_eq!(connect(&app, &rsa.sign_as("m", Some("ed"), Algorithm::RS256)).await, Err("auth_invalid".to_owned()));
    app.stop().await;
}

#[tokio::test]
async fn hs256_and_none_tokens_are_refused_even_when_the_set_publishes_a_secret() {
    let ed = TestKey::ed25519("ed");
    let provider = Provider::start(Answer::Garbage).await;
    // A shared secret in the set (`kty: oct`) is never taken.
    let secret = json!({"kty": "oct", "kid": "shared", "alg": "HS256", "k": "c2hhcmVkLXNlY3JldA"});
    provider.answer(Answer::Set { keys: vec![ed.jwk(), secret], cache_control: None });
    let (_, verifier) = verifier_of(&provider, timing()).await;
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("shared".into());
    let claims = json!({"sub": "mallory", "exp": time::OffsetDateTime::now_utc().unix_timestamp() + 3600});
    let hs256 = jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(b"shared-secret")).unwrap();
    assert_eq!(user_of(&verifier, &hs256).await, Err(TokenRefusal::Invalid));
    header.kid = Some("ed".into());
    let hs256_under_ed = jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(b"shared-secret")).unwrap();
    assert_eq!(user_of(&verifier, &hs256_under_ed).await, Err(TokenRefusal::Invalid));
    // {"alg":"none","kid":"ed"}.{"sub":"mallory","exp":9999999999}.
    let none = "eyJhbGciOiJub25lIiwia2lkIjoiZWQifQ.eyJzdWIiOiJtYWxsb3J5IiwiZXhwIjo5OTk5OTk5OTk5fQ.";
    assert_eq!(user_of(&verifier, none).await, Err(TokenRefusal::Invalid));
    assert_eq!(provider.requests(), 1, "a refused algorithm never reaches the key set");
}

#[tokio::test]
async fn a_flood_of_unknown_kids_makes_at_most_one_refetch_per_cooldown() {
    let (known, stranger) = (TestKey::ed25519("known"), TestKey::ed25519("stranger"));
    let provider = Provider::start(Answer::Garbage).await;
    provider.publish(&[&known]);
    let cooldown = Duration::from_secs(1);
    let (_, verifier) = verifier_of(&provider, JwksTiming { refetch_cooldown: cooldown, ..timing() }).await;
    let waves: Vec<Vec<String>> = (0..3)
        .map(|wave| (0..1000).map(|i| stranger.sign_as("mallory", Some(&format!("forged-{wave}-{i}")), Algorithm::EdDSA)).collect())
        .collect();
    // Every token of a wave is checked at once.
    let (verifier, waves) = (&verifier, &waves);
    let flood = move |wave: usize| futures_util::future::join_all(waves[wave].iter().map(move |t| user_of(verifier, t)));
    let all_refused = |results: Vec<Result<String, TokenRefusal>>| results.len() == 1000 && results.iter().all(|r| *r == Err(TokenRefusal::Invalid));
    let started = tokio::time::Instant::now();
    assert!(all_refused(flood(0).await));
    let first_wave_done = tokio::time::Instant::now();
    assert!(all_refused(flood(1).await));
    assert!(started.elapsed() < cooldown, "the floods outlasted the cooldown; the count below would not mean much");
    assert_eq!(provider.requests(), 2, "the startup fetch and one refetch shared by 2000 tokens");
    assert_eq!(user_of(verifier, &known.sign("ann")).await, Ok("ann".to_owned()), "good tokens still pass");
    tokio::time::sleep_until(first_wave_done + cooldown).await;
    assert!(all_refused(flood(2).await));
    assert_eq!(provider.requests(), 3, "one more refetch once the cooldown has passed");
}

#[tokio::test]
async fn while_the_provider_is_down_the_last_good_set_keeps_serving() {
    let (cached, unknown) = (TestKey::ed25519("cached"), TestKey::ed25519("unknown"));
    let provider = Provider::start(Answer::Garbage).await;
    // Fetched again every 50 ms, so the refreshes meet the outage.
    provider.answer(Answer::Set { keys: vec![cached.jwk()], cache_control: Some("max-age=0".into()) });
    let fast = JwksTiming { min_ttl: Duration::from_millis(50), refetch_cooldown: Duration::from_millis(50), ..timing() };
    let (keys, verifier) = verifier_of(&provider, fast).await;
    let refresh = tokio::spawn(keys.keep_fresh());
    for outage in [Answer::Status(StatusCode::SERVICE_UNAVAILABLE), Answer::Garbage] {
        let before = provider.requests();
        provider.answer(outage);
        // Two refreshes at least have met the outage.
        provider.wait_for_requests(before + 3).await;
        assert_eq!(user_of(&verifier, &cached.sign("ann")).await, Ok("ann".to_owned()));
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(user_of(&verifier, &unknown.sign("bob")).await, Err(TokenRefusal::Invalid), "nothing new to learn");
    }
    refresh.abort();
}

#[tokio::test]
async fn a_node_whose_provider_is_unreachable_starts_and_refuses_tokens_as_unavailable() {
    let key = TestKey::ed25519("k");
    // A port nothing listens on.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks.json", closed.local_addr().unwrap());
    drop(closed);
    let app = spawn_app_with(move |s| {
        s.auth.jwt_secret = None;
        s.auth.jwt_jwks_url = Some(url);
    })
    .await;
    assert_eq!(connect(&app, &key.sign("ann")).await, Err("auth_unavailable".to_owned()));
    let (status, body) = app.rest(reqwest::Method::GET, "/api/notifications", Some(&key.sign("ann")), None).await;
    assert_eq!(status, 503, "{body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| m.starts_with("auth_unavailable")), "{body}");
    // The server API does not depend on the provider.
    let (status, _) = app.rest(reqwest::Method::GET, "/api/server/stats", Some(crate::support::SERVER_KEY), None).await;
    assert_eq!(status, 200);
    app.stop().await;
}

#[tokio::test]
async fn a_set_that_arrives_after_startup_is_used_as_soon_as_it_is_fetched() {
    let key = TestKey::ed25519("k");
    let provider = Provider::start(Answer::Status(StatusCode::BAD_GATEWAY)).await;
    let fast = JwksTiming { min_ttl: Duration::from_millis(50), ..timing() };
    let (keys, verifier) = verifier_of(&provider, fast).await;
    assert!(!keys.is_loaded());
    assert_eq!(user_of(&verifier, &key.sign("ann")).await, Err(TokenRefusal::Unavailable), "refetched once, still down");
    provider.publish(&[&key]);
    let refresh = tokio::spawn(keys.clone().keep_fresh());
    provider.wait_for_requests(3).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !keys.is_loaded() {
        assert!(tokio::time::Instant::now() < deadline, "the set never loaded");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(user_of(&verifier, &key.sign("ann")).await, Ok("ann".to_owned()));
    refresh.abort();
}

#[tokio::test]
async fn the_sets_max_age_decides_when_it_is_fetched_again_within_the_bounds() {
    let (kept, dropped) = (TestKey::ed25519("kept"), TestKey::ed25519("dropped"));
    let provider = Provider::start(Answer::Garbage).await;
    let bounds = JwksTiming { min_ttl: Duration::from_millis(100), max_ttl: Duration::from_secs(3600), ..timing() };
    // max-age=1: fetched again after a second, not before.
    provider.answer(Answer::Set { keys: vec![kept.jwk(), dropped.jwk()], cache_control: Some("public, max-age=1".into()) });
    let (keys, verifier) = verifier_of(&provider, bounds).await;
    let refresh = tokio::spawn(keys.clone().keep_fresh());
    provider.answer(Answer::Set { keys: vec![kept.jwk()], cache_control: Some("max-age=86400".into()) });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(provider.requests(), 1, "the set is fresh for a second");
    assert_eq!(user_of(&verifier, &dropped.sign("ann")).await, Ok("ann".to_owned()));
    provider.wait_for_requests(2).await;
    // The refresh dropped the key the provider no longer publishes.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while user_of(&verifier, &dropped.sign("ann")).await.is_ok() {
        assert!(tokio::time::Instant::now() < deadline, "the dropped key is still accepted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(user_of(&verifier, &kept.sign("ann")).await, Ok("ann".to_owned()));
    refresh.abort();
    // A max-age beyond the upper bound is cut to it: 200 ms here.
    let capped = JwksTiming { max_ttl: Duration::from_millis(200), ..bounds };
    let before = provider.requests();
    let (keys, _) = verifier_of(&provider, capped).await;
    let refresh = tokio::spawn(keys.keep_fresh());
    provider.wait_for_requests(before + 2).await;
    refresh.abort();
}
