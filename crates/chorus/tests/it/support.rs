//! Test harness: a real Chorus node on an ephemeral port with a fresh SQLite file, and
//! a small Socket.IO v5 client over WebSocket that speaks the wire protocol exactly.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use chorus::auth::jwt::issue_token;
use chorus::auth::secret::Secret;
use chorus::{Application, Settings};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

pub const SECRET: &str = "integration-test-secret";
pub const SERVER_KEY: &str = "integration-server-key";
pub const WAIT: Duration = Duration::from_secs(5);

/// A running node.
pub struct TestApp {
    pub addr: SocketAddr,
    pub http: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    _dir: tempfile::TempDir,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn token(&self, user: &str) -> String {
        token_for(user, 3600)
    }

    /// Connects a socket as `user` with `auth.token`.
    pub async fn socket(&self, user: &str) -> TestSocket {
        TestSocket::connect(self.addr, Some(json!({ "token": self.token(user) })), "", None)
            .await
            .unwrap_or_else(|e| panic!("connect as {user} refused: {e:?}"))
    }

    /// REST call with a bearer token (user JWT or server key).
    pub async fn rest(&self, method: reqwest::Method, path: &str, bearer: Option<&str>, body: Option<Value>) -> (u16, Value) {
        let mut req = self.http.request(method, self.url(path));
        if let Some(b) = bearer {
            req = req.bearer_auth(b);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.expect("request sent");
        let status = res.status().as_u16();
        let body = res.json::<Value>().await.unwrap_or(Value::Null);
        (status, body)
    }

    /// Stops the node gracefully and asserts it stopped cleanly.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            let out = tokio::time::timeout(Duration::from_secs(10), h).await.expect("shutdown in time");
            out.expect("server task").expect("server run");
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

pub fn token_for(user: &str, ttl: i64) -> String {
    issue_token(&Secret::new(SECRET), user, Some(&format!("{user} name")), ttl, &Default::default()).expect("token")
}

/// Settings of a test node: port 0, a fresh SQLite file, short tick.
pub fn test_settings(dir: &tempfile::TempDir) -> Settings {
    let mut s = Settings::default();
    s.server.listen = "127.0.0.1:0".parse().expect("addr");
    s.store.database_url = format!("sqlite://{}", dir.path().join("chorus.db").display()).into();
    s.auth.jwt_secret = Some(Secret::new(SECRET));
    s.auth.server_key = Some(Secret::new(SERVER_KEY));
    s.auth.jwt_leeway = Duration::ZERO;
    s.content.tick = Duration::from_millis(50);
    s.content.typing_ttl = Duration::from_millis(300);
    // Tests connect many sockets from one address quickly; the limits have their own tests.
    s.limits.rates_enabled = false;
    s.limits.max_sockets_per_user = 0;
    s.limits.max_sockets_per_ip = 0;
    s
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(tweak: impl FnOnce(&mut Settings)) -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut settings = test_settings(&dir);
    tweak(&mut settings);
    let app = Application::build(settings).await.expect("build app");
    let addr = app.local_addr().expect("addr");
    let (tx, rx) = oneshot::channel::<()>();
    let handle = tokio::spawn(app.run_until(async move {
        let _ = rx.await;
    }));
    TestApp { addr, http: reqwest::Client::new(), shutdown: Some(tx), handle: Some(handle), _dir: dir }
}

/// A node on the SQLite file `chorus.db` in `data_dir`, which outlives the node: stop
/// it and spawn another on the same directory to restart with the same data.
pub async fn spawn_app_on(data_dir: &std::path::Path, tweak: impl FnOnce(&mut Settings)) -> TestApp {
    let own = tempfile::tempdir().expect("tempdir");
    let mut settings = test_settings(&own);
    settings.store.database_url = format!("sqlite://{}", data_dir.join("chorus.db").display()).into();
    tweak(&mut settings);
    let app = Application::build(settings).await.expect("build app");
    let addr = app.local_addr().expect("addr");
    let (tx, rx) = oneshot::channel::<()>();
    let handle = tokio::spawn(app.run_until(async move {
        let _ = rx.await;
    }));
    TestApp { addr, http: reqwest::Client::new(), shutdown: Some(tx), handle: Some(handle), _dir: own }
}

/// Why a connection was refused.
#[derive(Debug)]
pub struct Refused {
    pub message: String,
    pub data: Value,
}

/// Waiting callers by ack id, and acks that arrived before anyone waited.
#[derive(Default)]
pub struct AckTable {
    waiting: HashMap<i64, oneshot::Sender<Value>>,
    unclaimed: HashMap<i64, Value>,
}

type Acks = Arc<Mutex<AckTable>>;

/// A Socket.IO client on the default namespace, WebSocket transport.
pub struct TestSocket {
    pub sid: String,
    out: mpsc::UnboundedSender<Message>,
    events: mpsc::UnboundedReceiver<(String, Value)>,
    acks: Acks,
    next_ack: AtomicI64,
    /// Events seen while waiting for another one, kept in order.
    backlog: Vec<(String, Value)>,
    closed: Arc<tokio::sync::Notify>,
    closed_flag: Arc<std::sync::atomic::AtomicBool>,
}

impl TestSocket {
    /// Opens the WebSocket, sends CONNECT with `auth` (and any `extra` text frames
    /// right after it, before the server's answer) and waits for the answer.
    pub async fn connect(addr: SocketAddr, auth: Option<Value>, query: &str, header: Option<(&str, String)>) -> Result<Self, Refused> {
        Self::connect_with_early(addr, auth, query, header, Vec::new()).await
    }

    pub async fn connect_with_early(
        addr: SocketAddr,
        auth: Option<Value>,
        query: &str,
        header: Option<(&str, String)>,
        mut early: Vec<String>,
    ) -> Result<Self, Refused> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket{query}");
        let mut req = url.into_client_request().expect("request");
        if let Some((name, value)) = header {
            req.headers_mut().insert(
                http::HeaderName::from_bytes(name.as_bytes()).expect("header name"),
                value.parse().expect("header value"),
            );
        }
        let (ws, _) = tokio_tungstenite::connect_async(req).await.expect("websocket handshake");
        let (mut sink, mut stream) = ws.split();
        // Engine.IO open packet.
        let open = next_text(&mut stream).await.expect("open packet");
        assert!(open.starts_with('0'), "expected an open packet, got {open}");
        let connect = match &auth {
            Some(a) => format!("40{a}"),
            None => "40".to_owned(),
        };
        sink.send(Message::text(connect)).await.expect("send connect");
        // The CONNECT answer (pings may come first only after ping interval).
        let mut pending_events = Vec::new();
        let sid = loop {
            let text = next_text(&mut stream).await.expect("connect answer");
            if let Some(body) = text.strip_prefix("40") {
                let v: Value = serde_json::from_str(body).expect("connect body");
                // What the official client does with its buffered emits: send them the
                // moment the CONNECT answer arrives, before anything else.
                for frame in early.drain(..) {
                    sink.send(Message::text(frame)).await.expect("send early frame");
                }
                break v["sid"].as_str().unwrap_or_default().to_owned();
            } else if let Some(body) = text.strip_prefix("44") {
                let v: Value = serde_json::from_str(body).expect("connect_error body");
                return Err(Refused { message: v["message"].as_str().unwrap_or_default().to_owned(), data: v["data"].clone() });
            } else {
                pending_events.push(text);
            }
        };
        let (out_tx, mut out_rx) = mpsc::unbounded_channel::<Message>();
        let (ev_tx, ev_rx) = mpsc::unbounded_channel::<(String, Value)>();
        let acks: Acks = Arc::new(Mutex::new(AckTable::default()));
        let closed = Arc::new(tokio::sync::Notify::new());
        let closed_flag = Arc::new(std::sync::atomic::AtomicBool::new(false));
        tokio::spawn(async move {
            while let Some(m) = out_rx.recv().await {
                if sink.send(m).await.is_err() {
                    break;
                }
            }
        });
        let reader_acks = acks.clone();
        let reader_out = out_tx.clone();
        let (reader_closed, reader_flag) = (closed.clone(), closed_flag.clone());
        tokio::spawn(async move {
            for text in pending_events {
                handle_frame(&text, &reader_out, &ev_tx, &reader_acks).await;
            }
            while let Some(text) = next_text(&mut stream).await {
                handle_frame(&text, &reader_out, &ev_tx, &reader_acks).await;
            }
            reader_flag.store(true, Ordering::SeqCst);
            reader_closed.notify_waiters();
        });
        Ok(Self {
            sid,
            out: out_tx,
            events: ev_rx,
            acks,
            next_ack: AtomicI64::new(1),
            backlog: Vec::new(),
            closed,
            closed_flag,
        })
    }

    /// Sends a raw Engine.IO text frame.
    pub fn send_raw(&self, text: impl Into<String>) {
        let _ = self.out.send(Message::text(text.into()));
    }

    /// Emits without an ack.
    pub fn emit(&self, event: &str, data: Value) {
        self.send_raw(format!("42{}", json!([event, data])));
    }

    /// Emits and waits for the ack body.
    pub async fn call(&self, event: &str, data: Value) -> Value {
        let id = self.next_ack.fetch_add(1, Ordering::SeqCst);
        let (tx, rx) = oneshot::channel();
        self.acks.lock().await.waiting.insert(id, tx);
        self.send_raw(format!("42{id}{}", json!([event, data])));
        tokio::time::timeout(WAIT, rx)
            .await
            .unwrap_or_else(|_| panic!("no ack for {event} within {WAIT:?}"))
            .expect("ack channel")
    }

    /// The ack of a frame sent by hand (`send_raw` or early frames) with this id.
    pub async fn ack_for(&self, id: i64) -> Value {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Some(v) = self.acks.lock().await.unclaimed.remove(&id) {
                return v;
            }
            assert!(tokio::time::Instant::now() < deadline, "no ack {id} within {WAIT:?}");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// Emits and expects `{ok: true}`; returns `data`.
    pub async fn ok(&self, event: &str, data: Value) -> Value {
        let ack = self.call(event, data).await;
        assert_eq!(ack["ok"], json!(true), "{event} failed: {ack}");
        ack["data"].clone()
    }

    /// Emits and expects `{ok: false}`; returns the error code.
    pub async fn err(&self, event: &str, data: Value) -> String {
        let ack = self.call(event, data).await;
        assert_eq!(ack["ok"], json!(false), "{event} should fail: {ack}");
        ack["error"]["code"].as_str().unwrap_or_default().to_owned()
    }

    /// Waits for the next `event` matching `pred`; other events are kept for later.
    pub async fn expect(&mut self, event: &str, pred: impl Fn(&Value) -> bool) -> Value {
        if let Some(pos) = self.backlog.iter().position(|(e, v)| e == event && pred(v)) {
            return self.backlog.remove(pos).1;
        }
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Some((e, v))) if e == event && pred(&v) => return v,
                Ok(Some(other)) => self.backlog.push(other),
                Ok(None) => panic!("socket closed while waiting for {event}"),
                Err(_) => panic!("no {event} within {WAIT:?}; seen: {:?}", self.backlog),
            }
        }
    }

    /// Asserts that no `event` arrives within `window`.
    pub async fn expect_none(&mut self, event: &str, window: Duration) {
        assert!(!self.backlog.iter().any(|(e, _)| e == event), "unexpected {event}: {:?}", self.backlog);
        let deadline = tokio::time::Instant::now() + window;
        while let Ok(Some((e, v))) = tokio::time::timeout_at(deadline, self.events.recv()).await {
            assert_ne!(e, event, "unexpected {event}: {v}");
            self.backlog.push((e, v));
        }
    }

    /// Waits until the server closes the connection.
    pub async fn closed_within(&self, window: Duration) -> bool {
        if self.closed_flag.load(Ordering::SeqCst) {
            return true;
        }
        let notified = self.closed.notified();
        if self.closed_flag.load(Ordering::SeqCst) {
            return true;
        }
        tokio::time::timeout(window, notified).await.is_ok() || self.closed_flag.load(Ordering::SeqCst)
    }

    pub fn close(&self) {
        let _ = self.out.send(Message::Close(None));
    }
}

async fn next_text<S>(stream: &mut S) -> Option<String>
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        match stream.next().await? {
            Ok(Message::Text(t)) => return Some(t.to_string()),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
}

async fn handle_frame(text: &str, out: &mpsc::UnboundedSender<Message>, events: &mpsc::UnboundedSender<(String, Value)>, acks: &Acks) {
    if text == "2" {
        let _ = out.send(Message::text("3"));
        return;
    }
    if let Some(body) = text.strip_prefix("42") {
        if let Ok(Value::Array(mut items)) = serde_json::from_str::<Value>(body)
            && !items.is_empty()
        {
            let name = items.remove(0).as_str().unwrap_or_default().to_owned();
            let data = items.into_iter().next().unwrap_or(Value::Null);
            let _ = events.send((name, data));
        }
    } else if let Some(body) = text.strip_prefix("43") {
        let digits: String = body.chars().take_while(char::is_ascii_digit).collect();
        let rest = &body[digits.len()..];
        if let (Ok(id), Ok(Value::Array(items))) = (digits.parse::<i64>(), serde_json::from_str::<Value>(rest)) {
            let body = items.into_iter().next().unwrap_or(Value::Null);
            let mut table = acks.lock().await;
            match table.waiting.remove(&id) {
                Some(tx) => {
                    let _ = tx.send(body);
                }
                None => {
                    table.unclaimed.insert(id, body);
                }
            }
        }
    } else if text.starts_with("41") {
        let _ = events.send(("disconnect".into(), Value::Null));
        // A namespace disconnect ends the session: treat it as closed.
        let _ = out.send(Message::Close(None));
    }
}

/// An event payload without its top-level `seq` (the cluster-wide resume sequence every
/// published server event carries, docs/protocol.md §1.1), for whole-payload comparisons.
pub fn without_seq(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(obj) = v.as_object_mut() {
        obj.remove("seq");
    }
    v
}

/// Asserts a published event carries a positive integer `seq`, then returns the payload
/// without it.
pub fn checked_seq(v: &Value) -> Value {
    assert!(v["seq"].as_u64().is_some_and(|n| n > 0), "seq is a positive integer: {v}");
    without_seq(v)
}

/// Where the tests reach PostgreSQL as an administrator (to create and drop databases).
const PG_ADMIN_DEFAULT: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A fresh PostgreSQL database for one test, dropped by `drop_now`, or when it goes out
/// of scope, also when its test fails (the panic unwinds through `Drop`). A missing
/// server fails the test loudly (scripts/ensure-services.sh starts one).
pub struct PgDatabase {
    admin_url: String,
    name: String,
    pub url: String,
    dropped: bool,
}

impl PgDatabase {
    pub async fn create() -> Self {
        use sqlx::Connection;
        let admin_url = std::env::var("CHORUS_TEST_PG_ADMIN_URL").unwrap_or_else(|_| PG_ADMIN_DEFAULT.to_owned());
        let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap_or_else(|e| {
            panic!("PostgreSQL is required and not reachable at {admin_url}: {e}. Run scripts/ensure-services.sh")
        });
        let name = format!("chorus_test_{}", uuid::Uuid::now_v7().simple());
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await.expect("create database");
        let url = match admin_url.rfind('/') {
            Some(i) => format!("{}/{name}", &admin_url[..i]),
            None => panic!("admin url needs a database path"),
        };
        Self { admin_url, name, url, dropped: false }
    }

    /// The database's name on the server.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether a database of this name exists on the server.
    pub async fn exists(name: &str) -> bool {
        use sqlx::Connection;
        let admin_url = std::env::var("CHORUS_TEST_PG_ADMIN_URL").unwrap_or_else(|_| PG_ADMIN_DEFAULT.to_owned());
        let mut admin = sqlx::PgConnection::connect(&admin_url).await.expect("admin connect");
        let found: Option<(i32,)> = sqlx::query_as("SELECT 1 FROM pg_database WHERE datname = $1").bind(name).fetch_optional(&mut admin).await.expect("query pg_database");
        found.is_some()
    }

    pub async fn drop_now(mut self) {
        drop_database(&self.admin_url, &self.name).await.expect("drop database");
        self.dropped = true;
    }
}

async fn drop_database(admin_url: &str, name: &str) -> Result<(), sqlx::Error> {
    use sqlx::Connection;
    let mut admin = sqlx::PgConnection::connect(admin_url).await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut admin).await?;
    Ok(())
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if self.dropped {
            return;
        }
        // Not dropped yet: the test failed (or forgot). `Drop` cannot await, and the test's
        // runtime may be unwinding, so a thread of its own with its own runtime drops it.
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        let done = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(drop_database(&admin_url, &name)).map_err(std::io::Error::other)
        })
        .join();
        if !matches!(done, Ok(Ok(()))) {
            eprintln!("could not drop the test database {}: {done:?}", self.name);
        }
    }
}

/// A write's event, not asked for: the store tests look at the stored outcome.
pub fn silent<T>() -> chorus::ports::outbox::Tells<T> {
    Box::new(|_| None)
}
