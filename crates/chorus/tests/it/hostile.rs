//! The bad-input suite (issue 5, item 7): malformed Engine.IO and Socket.IO packets over
//! a raw WebSocket and over HTTP long-polling, CONNECT abuse, malformed payloads for
//! every command, never-answered pings, half-finished upgrades, handshakes that never
//! CONNECT, and floods. After each attack the suite checks that the server is still up
//! and accepts new sockets, that a well-behaved client on the side still gets its events,
//! that nothing was written, that the attack's sockets were released, and that memory
//! is back near where it started.

use std::time::Duration;

use base64::Engine as _;
use futures_util::{SinkExt, StreamExt};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use crate::support::{SERVER_KEY, TestApp, TestSocket, WAIT, spawn_app_with, token_for};
use chorus::Settings;
use chorus::ports::limits::Rate;

/// The content the bystanders like and watch; no attack aims at it.
const PULSE: &str = "pulse";
/// The content attacks aim at: its counts and comments must never change.
const TARGET: &str = "target";
/// The attacking user.
const ATTACKER: &str = "mallory";
/// The ack id of the probe that tells a live connection from a dead or hung one.
const PROBE: u64 = 77_000;
/// Memory the process may keep after an attack (the server runs in this process).
const RSS_SLACK_KIB: u64 = 64 * 1024;
/// The payload limit of the malformed-packet tests.
const MAX_PAYLOAD: u64 = 64 * 1024;
/// Nesting depth of the deep-JSON cases (60 kB of brackets, under `MAX_PAYLOAD`).
const DEEP: usize = 30_000;

// ---------------------------------------------------------------------------------
// The arena: a node, a well-behaved pair of clients on the side, and the checks.
// ---------------------------------------------------------------------------------

/// Two well-behaved clients: one watches `PULSE`, the other toggles its like on it.
struct Side {
    watcher: TestSocket,
    liker: TestSocket,
    liked: bool,
}

impl Side {
    async fn join(app: &TestApp) -> Self {
        let watcher = app.socket("side-watcher").await;
        watcher.ok("content:join", json!({"contentId": PULSE})).await;
        let liker = app.socket("side-liker").await;
        Self { watcher, liker, liked: false }
    }

    /// The liker toggles its like; the watcher must see exactly that.
    async fn pulse(&mut self, after: &str) {
        self.liked = !self.liked;
        let liked = self.liked;
        let ack = self.liker.call("content:like", json!({"contentId": PULSE, "like": liked})).await;
        assert_eq!(ack["ok"], true, "after {after}: the bystander's like failed: {ack}");
        let seen = self.watcher.expect("content:like", |v| v["userId"] == "side-liker" && v["isLiked"] == liked).await;
        assert_eq!(seen["likesCount"], u64::from(liked), "after {after}: {seen}");
    }
}

struct Arena {
    app: TestApp,
    side: Side,
    baseline_kib: u64,
}

/// A node with `TARGET` registered to the attacker, the side clients connected and
/// warmed up, and the memory baseline taken.
async fn arena(tweak: impl FnOnce(&mut Settings)) -> Arena {
    let app = spawn_app_with(tweak).await;
    let (status, body) = app
        .rest(Method::PUT, &format!("/api/server/content/{TARGET}"), Some(SERVER_KEY), Some(json!({"type": "video", "ownerId": ATTACKER})))
        .await;
    assert_eq!(status, 200, "{body}");
    let mut side = Side::join(&app).await;
    side.pulse("warm-up").await;
    side.pulse("warm-up").await;
    let baseline_kib = rss_kib();
    Arena { app, side, baseline_kib }
}

/// Resident memory of this process, in KiB, after the allocator has handed freed heap
/// back to the system (glibc keeps freed pages around otherwise; that is no leak).
fn rss_kib() -> u64 {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        unsafe extern "C" {
            fn malloc_trim(pad: usize) -> std::ffi::c_int;
        }
        // SAFETY: malloc_trim only releases free heap memory; it has no preconditions.
        unsafe {
            malloc_trim(0);
        }
    }
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok()))
        .unwrap_or(0)
}

impl Arena {
    fn addr(&self) -> std::net::SocketAddr {
        self.app.addr
    }

    /// Everything that must hold after an attack.
    async fn assert_unharmed(&mut self, after: &str) {
        let app = &self.app;
        let health = app.http.get(app.url("/healthz")).send().await.expect("healthz answered");
        assert_eq!(health.status(), 200, "after {after}: healthz");
        let newcomer = TestSocket::connect(app.addr, Some(json!({"token": app.token("newcomer")})), "", None)
            .await
            .unwrap_or_else(|e| panic!("after {after}: a new socket was refused: {e:?}"));
        assert_eq!(newcomer.err("hostile:probe", json!({})).await, "bad_request", "after {after}");
        newcomer.close();
        assert!(newcomer.closed_within(WAIT).await);
        self.side.pulse(after).await;
        assert_target_untouched(app, after).await;
        // The attack's sockets are released: only the two side clients remain.
        let deadline = Instant::now() + WAIT;
        loop {
            let (_, stats) = app.rest(Method::GET, "/api/server/stats", Some(SERVER_KEY), None).await;
            if stats["data"]["connectedSockets"] == 2 {
                break;
            }
            assert!(Instant::now() < deadline, "after {after}: sockets not released: {stats}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let deadline = Instant::now() + WAIT;
        loop {
            let now = rss_kib();
            if now < self.baseline_kib + RSS_SLACK_KIB {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "after {after}: memory did not come back: {now} KiB resident, baseline {} KiB",
                self.baseline_kib
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// `TARGET` has no likes, comments, views or shares, and no comment is stored.
async fn assert_target_untouched(app: &TestApp, after: &str) {
    let (status, body) = app.rest(Method::GET, &format!("/api/content/{TARGET}"), None, None).await;
    assert_eq!(status, 200, "after {after}: {body}");
    let counts = &body["data"]["counts"];
    for key in ["likes", "comments", "views", "shares"] {
        assert_eq!(counts[key], 0, "after {after}: {TARGET} was written: {body}");
    }
    let (status, page) = app.rest(Method::GET, &format!("/api/content/{TARGET}/comments"), None, None).await;
    assert_eq!(status, 200, "after {after}: {page}");
    assert_eq!(page["data"]["comments"], json!([]), "after {after}: a comment was stored");
}

// ---------------------------------------------------------------------------------
// Raw clients: a WebSocket and a polling session that send whatever they are told.
// ---------------------------------------------------------------------------------

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// What became of a connection after an attack.
#[derive(Debug, Clone, PartialEq)]
enum Fate {
    /// The server closed it.
    Closed,
    /// It still answers: the body of the ack that was waited for.
    Answered(Value),
    /// Neither an answer nor a close: a hang, never acceptable.
    Hung,
}

/// One frame of an attack.
#[derive(Debug, Clone)]
enum Frame {
    Text(String),
    Binary(Vec<u8>),
    /// A WebSocket ping control frame (a no-op over polling).
    WsPing,
}

fn text(s: impl Into<String>) -> Frame {
    Frame::Text(s.into())
}

enum Next {
    Text(String),
    Closed,
    Quiet,
}

/// A WebSocket that speaks Engine.IO by hand.
struct RawWs {
    ws: Ws,
    /// Pings the server sent.
    pings: u32,
}

impl RawWs {
    /// Opens the WebSocket and reads the Engine.IO open packet; no CONNECT.
    async fn open(addr: std::net::SocketAddr) -> Self {
        let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
        let (ws, _) = tokio_tungstenite::connect_async(url).await.expect("websocket handshake");
        let mut raw = Self { ws, pings: 0 };
        match raw.next(WAIT, true).await {
            Next::Text(open) => assert!(open.starts_with("0{"), "expected an open packet, got {open}"),
            _ => panic!("no open packet"),
        }
        raw
    }

    /// Opens and CONNECTs to `/` as `user`.
    async fn connected(addr: std::net::SocketAddr, user: &str) -> Self {
        let mut raw = Self::open(addr).await;
        raw.text(format!("40{}", json!({"token": token_for(user, 600)}))).await;
        match raw.next(WAIT, true).await {
            Next::Text(answer) => assert!(answer.starts_with("40{"), "expected the CONNECT answer, got {answer}"),
            _ => panic!("no CONNECT answer"),
        }
        raw
    }

    async fn text(&mut self, t: impl Into<String>) {
        let _ = self.ws.send(Message::text(t.into())).await;
    }

    async fn send(&mut self, frame: &Frame) {
        let _ = match frame {
            Frame::Text(t) => self.ws.send(Message::text(t.clone())).await,
            Frame::Binary(b) => self.ws.send(Message::binary(b.clone())).await,
            Frame::WsPing => self.ws.send(Message::Ping(vec![1, 2, 3].into())).await,
        };
    }

    /// The next text frame within `within`; pings are counted and answered if asked.
    async fn next(&mut self, within: Duration, answer_pings: bool) -> Next {
        let deadline = Instant::now() + within;
        loop {
            match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Err(_) => return Next::Quiet,
                Ok(None | Some(Err(_)) | Some(Ok(Message::Close(_)))) => return Next::Closed,
                Ok(Some(Ok(Message::Text(t)))) if t.as_str() == "2" => {
                    self.pings += 1;
                    if answer_pings {
                        self.text("3").await;
                    }
                }
                Ok(Some(Ok(Message::Text(t)))) => return Next::Text(t.to_string()),
                Ok(Some(Ok(_))) => {}
            }
        }
    }

    /// Waits for the ack `id` (or the close, or silence).
    async fn ack(&mut self, id: u64) -> Fate {
        let prefix = format!("43{id}[");
        loop {
            match self.next(Duration::from_secs(3), true).await {
                Next::Text(t) if t.starts_with(&prefix) => {
                    let items: Value = serde_json::from_str(&t[prefix.len() - 1..]).unwrap_or(Value::Null);
                    return Fate::Answered(items[0].clone());
                }
                Next::Text(_) => {}
                Next::Closed => return Fate::Closed,
                Next::Quiet => return Fate::Hung,
            }
        }
    }

    /// Sends the probe (an unknown event with an ack) and reports the connection's fate.
    async fn fate(&mut self) -> Fate {
        self.text(probe_packet()).await;
        self.ack(PROBE).await
    }

    /// Reads until the server closes the connection, without answering pings.
    async fn closed_within(&mut self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        loop {
            match self.next(deadline.saturating_duration_since(Instant::now()), false).await {
                Next::Closed => return true,
                Next::Quiet => return false,
                Next::Text(_) => {}
            }
        }
    }
}

fn probe_packet() -> String {
    format!("42{PROBE}[\"hostile:probe\",{{}}]")
}

enum Polled {
    Packets(Vec<String>),
    Gone,
    Quiet,
}

/// An Engine.IO long-polling session driven by hand.
struct Poll {
    http: reqwest::Client,
    url: String,
    sid: String,
}

impl Poll {
    /// The polling handshake: `0{"sid":…}`.
    async fn open(app: &TestApp) -> Self {
        let res = app.http.get(app.url("/socket.io/?EIO=4&transport=polling")).send().await.expect("polling handshake");
        assert_eq!(res.status(), 200);
        let body = res.text().await.expect("open body");
        let open: Value = serde_json::from_str(body.strip_prefix('0').expect("an open packet")).expect("open json");
        let sid = open["sid"].as_str().expect("sid").to_owned();
        Self { http: app.http.clone(), url: app.url(&format!("/socket.io/?EIO=4&transport=polling&sid={sid}")), sid }
    }

    /// Handshake and CONNECT to `/` as `user`.
    async fn connected(app: &TestApp, user: &str) -> Self {
        let poll = Self::open(app).await;
        assert_eq!(poll.post(format!("40{}", json!({"token": token_for(user, 600)}))).await, 200);
        let deadline = Instant::now() + WAIT;
        loop {
            match poll.get(deadline.saturating_duration_since(Instant::now())).await {
                Polled::Packets(ps) if ps.iter().any(|p| p.starts_with("40{")) => return poll,
                Polled::Packets(ps) => {
                    if ps.iter().any(|p| p == "2") {
                        poll.post("3").await;
                    }
                }
                _ => panic!("no CONNECT answer over polling"),
            }
        }
    }

    /// POSTs a payload; the HTTP status (0 if the request failed).
    async fn post(&self, body: impl Into<reqwest::Body>) -> u16 {
        match self.http.post(&self.url).body(body).send().await {
            Ok(res) => res.status().as_u16(),
            Err(_) => 0,
        }
    }

    /// Sends one frame as a POST body (binary as `b<base64>`).
    async fn send(&self, frame: &Frame) -> u16 {
        match frame {
            Frame::Text(t) => self.post(t.clone()).await,
            Frame::Binary(b) => self.post(format!("b{}", base64::engine::general_purpose::STANDARD.encode(b))).await,
            Frame::WsPing => 200,
        }
    }

    /// One long poll.
    async fn get(&self, within: Duration) -> Polled {
        let res = match tokio::time::timeout(within, self.http.get(&self.url).send()).await {
            Err(_) => return Polled::Quiet,
            Ok(Err(_)) => return Polled::Gone,
            Ok(Ok(res)) => res,
        };
        if res.status() != 200 {
            return Polled::Gone;
        }
        match res.text().await {
            Ok(body) if !body.is_empty() => Polled::Packets(body.split('\x1e').map(str::to_owned).collect()),
            _ => Polled::Gone,
        }
    }

    /// Waits for the ack `id` over long polls (pings answered).
    async fn ack(&self, id: u64) -> Fate {
        let prefix = format!("43{id}[");
        let deadline = Instant::now() + Duration::from_secs(3);
        loop {
            match self.get(deadline.saturating_duration_since(Instant::now())).await {
                Polled::Packets(ps) => {
                    for p in ps {
                        if p == "2" {
                            self.post("3").await;
                        } else if p == "1" {
                            return Fate::Closed;
                        } else if p.starts_with(&prefix) {
                            let items: Value = serde_json::from_str(&p[prefix.len() - 1..]).unwrap_or(Value::Null);
                            return Fate::Answered(items[0].clone());
                        }
                    }
                }
                Polled::Gone => return Fate::Closed,
                Polled::Quiet => return Fate::Hung,
            }
        }
    }

    async fn fate(&self) -> Fate {
        if self.post(probe_packet()).await != 200 {
            return Fate::Closed;
        }
        self.ack(PROBE).await
    }

    /// Whether the session is gone within `within` (polled without answering pings).
    async fn gone_within(&self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            match self.get(deadline.saturating_duration_since(Instant::now())).await {
                Polled::Gone => return true,
                Polled::Packets(ps) if ps.iter().any(|p| p == "1") => return true,
                _ => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
        false
    }
}

// ---------------------------------------------------------------------------------
// The corpus of malformed packets.
// ---------------------------------------------------------------------------------

/// What an attack must end in.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// The server closes the connection.
    Closed,
    /// The connection lives on: the probe is answered.
    Alive,
    /// The command with this ack id is refused with `bad_request` and the connection lives on.
    BadRequest(u64),
    /// Closed or alive, but never hung.
    Either,
}

struct Case {
    name: String,
    frames: Vec<Frame>,
    expect: Expect,
}

fn case(name: impl Into<String>, frames: Vec<Frame>, expect: Expect) -> Case {
    Case { name: name.into(), frames, expect }
}

fn nested(open: &str, close: &str, depth: usize, leaf: &str) -> String {
    format!("{}{leaf}{}", open.repeat(depth), close.repeat(depth))
}

fn placeholder(n: i64) -> String {
    format!("{{\"_placeholder\":true,\"num\":{n}}}")
}

/// Malformed Engine.IO and Socket.IO packets (the connection is CONNECTed to `/`
/// before each case), with what each must end in.
fn corpus(max_payload: usize, websocket: bool) -> Vec<Case> {
    use Expect::*;
    let mut cases = vec![
        // Engine.IO: garbage, invalid and out-of-place packet types.
        case("empty text frame", vec![text("")], Either),
        case("garbage text", vec![text("hello, server")], Either),
        case("unknown engine.io type", vec![text("9")], Either),
        case("non-ascii type", vec![text("é")], Either),
        case("nul byte", vec![text("\u{0}")], Either),
        case("client sends OPEN", vec![text("0{\"sid\":\"x\"}")], Either),
        case("UPGRADE outside an upgrade", vec![text("5")], Either),
        case("NOOP from a client", vec![text("6")], Either),
        case("probe ping outside an upgrade", vec![text("2probe")], Either),
        case("probe pong outside an upgrade", vec![text("3probe")], Either),
        case("unsolicited pong", vec![text("3")], Alive),
        case("bad base64 binary", vec![text("b!!!")], Either),
        case("empty message", vec![text("4")], Either),
        case("garbage binary frame", vec![Frame::Binary(vec![0xff, 0x00, 0x13, 0x37])], Either),
        case("empty binary frame", vec![Frame::Binary(Vec::new())], Either),
        case("a packet as a binary frame", vec![Frame::Binary(b"42[\"x\",{}]".to_vec())], Either),
        case("websocket ping control frame", vec![Frame::WsPing], Alive),
        // Socket.IO: invalid packet types and bodies.
        case("unknown socket.io type 7", vec![text("47")], Closed),
        case("unknown socket.io type x", vec![text("4x[\"a\"]")], Closed),
        case("client sends CONNECT_ERROR", vec![text("44{\"message\":\"x\"}")], Closed),
        case("event without a body", vec![text("42")], Closed),
        case("event with truncated json", vec![text("42[\"content:like\",{")], Closed),
        case("event body is an object", vec![text("42{\"a\":1}")], Closed),
        case("event body is a string", vec![text("42\"content:like\"")], Closed),
        case("event body is null", vec![text("42null")], Closed),
        case("negative ack id", vec![text("42-5[\"x\",{}]")], Closed),
        case("fractional ack id", vec![text("421.5[\"x\",{}]")], Closed),
        // An ack id that does not fit is refused, not dropped: the command would run unacknowledged.
        case("ack id of 1,000 digits", vec![text(format!("42{}[\"hostile:x\",{{}}]", "9".repeat(1000)))], Closed),
        case("50 kB event name", vec![text(format!("4277009[\"{}\",{{}}]", "e".repeat(50_000)))], BadRequest(77_009)),
        // socketioxide reads event names as borrowed strings: a JSON escape in one is an
        // invalid name and closes the connection.
        case("control characters in an event name", vec![text("4277010[\"content:like\\u0000\\n\\u001b[31m\",{}]")], Closed),
        case("raw C1 control characters in an event name", vec![text("4277011[\"content:like\u{7f}\u{85}\u{9b}31m\",{}]")], BadRequest(77_011)),
        case("non-ascii namespace", vec![text("42/é,[\"x\",{}]")], Either),
        case("CONNECT to a non-ascii namespace", vec![text("40/é,{}")], Either),
        case("empty event array", vec![text("42[]")], Closed),
        // Non-string event names.
        case("numeric event name", vec![text("42[1,2]")], Closed),
        case("null event name", vec![text("42[null]")], Closed),
        case("object event name", vec![text("42[{}]")], Closed),
        case("array event name", vec![text("4277001[[\"content:like\"],{}]")], Closed),
        case("boolean event name", vec![text("42[true,{\"contentId\":\"target\"}]")], Closed),
        // Acks nobody asked for.
        case("unknown ack id", vec![text("43999[\"x\"]")], Alive),
        case("unknown ack id, binary", vec![text(format!("461-999[{}]", placeholder(0))), Frame::Binary(vec![1, 2, 3])], Alive),
        case("ack without an id", vec![text("43[\"x\"]")], Closed),
        case("ack with a negative id", vec![text("43-1[\"x\"]")], Closed),
        case("ack id overflowing i64", vec![text("4399999999999999999999999[\"x\"]")], Closed),
        case("ack without data", vec![text("43999")], Closed),
        // Attachment counts.
        case("placeholder without its attachment", vec![text(format!("451-[\"content:like\",{}]", placeholder(0)))], Closed),
        case("99999 attachments announced", vec![text(format!("4599999-[\"content:like\",{}]", placeholder(0)))], Closed),
        case("attachments overflowing usize", vec![text(format!("45184467440737095516160-[\"x\",{}]", placeholder(0)))], Closed),
        case("11 attachments", vec![text(format!("4511-[\"x\",{}]", placeholder(0)))], Closed),
        case("attachment count without digits", vec![text("45-[\"x\"]")], Closed),
        case("attachment count without a dash", vec![text("451[\"x\"]")], Closed),
        case("attachment count and nothing else", vec![text("451-")], Closed),
        case("one attachment too many", vec![text(format!("451-[\"x\",{}]", placeholder(0))), Frame::Binary(vec![1]), Frame::Binary(vec![2])], Closed),
        case(
            "placeholders pointing anywhere",
            vec![text(format!("452-77002[\"content:like\",{{\"contentId\":{}}},{}]", placeholder(99), placeholder(-1))), Frame::Binary(b"target".to_vec()), Frame::Binary(vec![0])],
            BadRequest(77_002),
        ),
        case(
            "ten attachments in a command",
            {
                let holders: Vec<String> = (0..10).map(placeholder).collect();
                let mut frames = vec![text(format!("4510-77003[\"content:like\",{{\"contentId\":[{}]}}]", holders.join(",")))];
                frames.extend((0..10u8).map(|i| Frame::Binary(vec![i; 64])));
                frames
            },
            BadRequest(77_003),
        ),
        case("zero attachments announced", vec![text("450-77004[\"content:like\",{\"contentId\":5}]")], BadRequest(77_004)),
        case("an attachment with no packet", vec![Frame::Binary(vec![7; 16])], Closed),
        // Deeply nested JSON.
        case("30,000 nested arrays in a payload", vec![text(format!("4277005[\"content:like\",{}]", nested("[", "]", DEEP, "")))], BadRequest(77_005)),
        case(
            "10,000 nested objects in a payload",
            vec![text(format!("4277006[\"content:like\",{}]", nested("{\"a\":", "}", DEEP / 3, "1")))],
            BadRequest(77_006),
        ),
        case(
            "30,000 nested arrays in a field",
            vec![text(format!("4277007[\"content:comment\",{{\"contentId\":\"{TARGET}\",\"text\":{}}}]", nested("[", "]", DEEP, "\"x\"")))],
            BadRequest(77_007),
        ),
        case("30,000 nested arrays as the event name", vec![text(format!("42{}", nested("[", "]", DEEP, "")))], Closed),
        case("30,000 nested arrays in an unknown ack", vec![text(format!("43999[{}]", nested("[", "]", DEEP, "")))], Alive),
        // Namespaces.
        case("event to an unknown namespace", vec![text(format!("42/nope,77008[\"content:like\",{{\"contentId\":\"{TARGET}\"}}]"))], Alive),
        case("disconnect from an unknown namespace", vec![text("41/nope,")], Alive),
        case("CONNECT to an unknown namespace", vec![text("40/nope,{}")], Alive),
        case("a second CONNECT", vec![text(format!("40{}", json!({"token": token_for("victim", 600)})))], Alive),
        // The event may still slip in before the socket is removed; then it is answered.
        case("DISCONNECT, then an event", vec![text("41")], Either),
        case("close", vec![text("1")], Closed),
        // Frames over the limit.
        case(
            "text frame over the limit",
            vec![text(format!("42[\"x\",\"{}\"]", "a".repeat(max_payload + 1024)))],
            if websocket { Closed } else { Either },
        ),
        case("binary frame over the limit", vec![Frame::Binary(vec![0; max_payload + 1024])], if websocket { Closed } else { Either }),
    ];
    // Reserved names are plain unknown events: refused, never a handler.
    for (i, name) in ["connect", "disconnect", "error", "connect_error", "disconnecting", "newListener", "", "__proto__"].into_iter().enumerate() {
        let id = 77_100 + i as u64;
        cases.push(case(format!("reserved event name {name:?}"), vec![text(format!("42{id}[\"{name}\",{{}}]"))], BadRequest(id)));
    }
    cases
}

fn check_fate(transport: &str, case: &Case, fate: &Fate, acked: Option<&Fate>, failures: &mut Vec<String>) {
    let ok = match (case.expect, fate) {
        (_, Fate::Hung) => false,
        (Expect::Closed, f) => *f == Fate::Closed,
        (Expect::Alive, Fate::Answered(a)) => a["error"]["code"] == "bad_request",
        // A closing socket refuses what still reaches it.
        (Expect::Either, Fate::Answered(a)) => a["error"]["code"] == "bad_request" || a["error"]["code"] == "unavailable",
        (Expect::Either, Fate::Closed) => true,
        (Expect::BadRequest(_), Fate::Answered(a)) => {
            a["error"]["code"] == "bad_request"
                && matches!(acked, Some(Fate::Answered(b)) if b["ok"] == false && b["error"]["code"] == "bad_request")
        }
        _ => false,
    };
    if !ok {
        failures.push(format!("{transport}: {}: expected {:?}, got {fate:?} (command ack: {acked:?})", case.name, case.expect));
    }
}

#[tokio::test]
async fn malformed_packets_over_websocket_close_or_refuse_never_hang_and_write_nothing() {
    let mut arena = arena(|s| s.server.max_payload_bytes = MAX_PAYLOAD).await;
    let mut failures = Vec::new();
    for case in corpus(MAX_PAYLOAD as usize, true) {
        let mut ws = RawWs::connected(arena.addr(), ATTACKER).await;
        for frame in &case.frames {
            ws.send(frame).await;
        }
        let acked = match case.expect {
            Expect::BadRequest(id) => Some(ws.ack(id).await),
            _ => None,
        };
        let fate = ws.fate().await;
        check_fate("websocket", &case, &fate, acked.as_ref(), &mut failures);
    }
    assert!(failures.is_empty(), "{} cases failed:\n{}", failures.len(), failures.join("\n"));
    arena.assert_unharmed("malformed packets over websocket").await;
    arena.app.stop().await;
}

#[tokio::test]
async fn malformed_packets_over_polling_close_or_refuse_never_hang_and_write_nothing() {
    let mut arena = arena(|s| s.server.max_payload_bytes = MAX_PAYLOAD).await;
    let mut failures = Vec::new();
    let mut cases = corpus(MAX_PAYLOAD as usize, false);
    // Polling payloads carry several packets, separated by \x1e.
    cases.push(case("separators only", vec![text("\x1e\x1e\x1e")], Expect::Either));
    cases.push(case("a bad packet among good ones", vec![text("3\x1e42[1,2]\x1e3")], Expect::Closed));
    cases.push(case("a refused command between pongs", vec![text("3\x1e4277200[\"error\",{}]\x1e3")], Expect::BadRequest(77_200)));
    cases.push(case("many small packets over the limit together", vec![text(vec!["3"; (MAX_PAYLOAD as usize) / 2 + 64].join("\x1e"))], Expect::Either));
    for case in cases {
        let poll = Poll::connected(&arena.app, ATTACKER).await;
        for frame in &case.frames {
            poll.send(frame).await;
        }
        let acked = match case.expect {
            Expect::BadRequest(id) => Some(poll.ack(id).await),
            _ => None,
        };
        let fate = poll.fate().await;
        check_fate("polling", &case, &fate, acked.as_ref(), &mut failures);
        // A live session is closed by its client, as a browser tab would.
        if fate != Fate::Closed {
            poll.post("1").await;
        }
    }
    // A body that is not UTF-8 at all.
    let poll = Poll::connected(&arena.app, ATTACKER).await;
    poll.post(vec![0xffu8, 0xfe, 0x34, 0x32, 0x80]).await;
    let fate = poll.fate().await;
    assert_ne!(fate, Fate::Hung, "polling: a non-UTF-8 body");
    if fate != Fate::Closed {
        poll.post("1").await;
    }
    assert!(failures.is_empty(), "{} cases failed:\n{}", failures.len(), failures.join("\n"));
    arena.assert_unharmed("malformed packets over polling").await;
    arena.app.stop().await;
}

#[tokio::test]
async fn connect_abuse_unknown_namespaces_second_connects_bad_auth_and_events_before_connect_are_harmless() {
    let mut arena = arena(|_| {}).await;
    let addr = arena.addr();
    let token = token_for(ATTACKER, 600);

    // An event before any CONNECT closes the connection and writes nothing.
    let mut early = RawWs::open(addr).await;
    early.text(format!("4277300[\"content:like\",{{\"contentId\":\"{TARGET}\"}}]")).await;
    assert_eq!(early.fate().await, Fate::Closed, "websocket: event before CONNECT");
    let poll = Poll::open(&arena.app).await;
    poll.post(format!("4277300[\"content:like\",{{\"contentId\":\"{TARGET}\"}}]")).await;
    assert_eq!(poll.fate().await, Fate::Closed, "polling: event before CONNECT");

    // A CONNECT to an unknown namespace gets CONNECT_ERROR; events to it are dropped;
    // the same connection can still CONNECT to `/`.
    let mut ws = RawWs::open(addr).await;
    ws.text(format!("40/admin,{}", json!({"token": token}))).await;
    match ws.next(WAIT, true).await {
        Next::Text(t) => assert!(t.starts_with("44/admin,"), "expected CONNECT_ERROR for /admin, got {t}"),
        _ => panic!("no CONNECT_ERROR for an unknown namespace"),
    }
    ws.text(format!("42/admin,77301[\"content:like\",{{\"contentId\":\"{TARGET}\"}}]")).await;
    ws.text(format!("40{}", json!({"token": token}))).await;
    match ws.next(WAIT, true).await {
        Next::Text(t) => assert!(t.starts_with("40{"), "expected the CONNECT answer, got {t}"),
        _ => panic!("no CONNECT answer after a refused namespace"),
    }
    assert!(matches!(ws.fate().await, Fate::Answered(_)));
    drop(ws);

    // A second CONNECT on a connected socket is ignored: no second answer, no new session.
    let mut ws = RawWs::connected(addr, ATTACKER).await;
    for _ in 0..20 {
        ws.text(format!("40{}", json!({"token": token_for("victim", 600)}))).await;
    }
    ws.text(probe_packet()).await;
    loop {
        match ws.next(WAIT, true).await {
            Next::Text(t) if t.starts_with(&format!("43{PROBE}[")) => break,
            Next::Text(t) => assert!(!t.starts_with("40") && !t.starts_with("44"), "a second CONNECT was answered: {t}"),
            _ => panic!("the socket died after a second CONNECT"),
        }
    }
    let (_, stats) = arena.app.rest(Method::GET, "/api/server/stats", Some(SERVER_KEY), None).await;
    assert_eq!(stats["data"]["connectedSockets"], 3, "{stats}");
    drop(ws);

    // Malformed handshake auth never connects.
    let huge = "t".repeat(50_000);
    for auth in [
        "[1,2]".to_owned(),
        "\"x\"".to_owned(),
        "{\"token\":5}".to_owned(),
        "null".to_owned(),
        "{".to_owned(),
        format!("{{\"token\":{}}}", nested("[", "]", DEEP, "")),
        format!("{{\"token\":\"{huge}\"}}"),
        format!("{{\"token\":\"{}\"}}", "a.b.c"),
    ] {
        let mut ws = RawWs::open(addr).await;
        ws.text(format!("40{auth}")).await;
        match ws.next(WAIT, true).await {
            Next::Text(t) => assert!(t.starts_with("44{"), "auth {:.40}: expected a refusal, got {t}", auth),
            Next::Closed => {}
            Next::Quiet => panic!("auth {auth:.40}: neither refused nor closed"),
        }
        let poll = Poll::open(&arena.app).await;
        poll.post(format!("40{auth}")).await;
        match poll.get(WAIT).await {
            Polled::Packets(ps) => assert!(ps.iter().all(|p| !p.starts_with("40")), "polling auth {auth:.40}: connected: {ps:?}"),
            Polled::Gone => {}
            Polled::Quiet => panic!("polling auth {auth:.40}: neither refused nor closed"),
        }
        poll.post("1").await;
    }
    arena.assert_unharmed("CONNECT abuse").await;
    arena.app.stop().await;
}

// ---------------------------------------------------------------------------------
// Malformed payloads for every command.
// ---------------------------------------------------------------------------------

/// Commands whose fields are all optional: `{}` is a valid payload for them.
const EMPTY_OBJECT_IS_VALID: &[&str] = &["notifications:list", "notifications:read", "feed:subscribe", "feed:unsubscribe", "gift:catalog", "wallet:balance"];

#[tokio::test]
async fn malformed_payloads_for_every_command_are_refused_with_a_code_and_write_nothing() {
    let mut arena = arena(|_| {}).await;
    let app = &arena.app;
    let token = app.token(ATTACKER);
    // Objects the attacker owns or belongs to, so that a refusal has to come from the
    // payload checks rather than from authorization.
    let mallory = app.socket(ATTACKER).await;
    let comment = mallory.ok("content:comment", json!({"contentId": "notes", "text": "original"})).await["comment"]["id"]
        .as_str()
        .expect("comment id")
        .to_owned();
    let (status, body) = app.rest(Method::POST, "/api/chat/rooms", Some(&token), Some(json!({"otherUserId": "friend"}))).await;
    assert!(status == 200 || status == 201, "{body}");
    let room = body["data"]["id"].as_str().expect("room id").to_owned();
    let message = mallory.ok("chat:send", json!({"roomId": room, "clientMsgId": "setup-1", "text": "original"})).await["message"]["id"]
        .as_str()
        .expect("message id")
        .to_owned();
    let mut streams = Vec::new();
    for owner in [ATTACKER, "friend"] {
        let (status, body) = app.rest(Method::POST, "/api/streams", Some(&app.token(owner)), Some(json!({"title": "show"}))).await;
        assert_eq!(status, 201, "{body}");
        let id = body["data"]["id"].as_str().expect("stream id").to_owned();
        let (status, body) = app.rest(Method::POST, &format!("/api/streams/{id}/status"), Some(&app.token(owner)), Some(json!({"status": "live"}))).await;
        assert_eq!(status, 200, "{body}");
        streams.push(id);
    }
    let (mine, theirs) = (streams[0].clone(), streams[1].clone());
    let (status, body) = app.rest(Method::POST, "/api/docs", Some(&token), Some(json!({"title": "Notes", "editorIds": []}))).await;
    assert_eq!(status, 201, "{body}");
    let doc = body["data"]["id"].as_str().expect("doc id").to_owned();
    // Coins, so that a gift or a boost could go through if a check were missing.
    let (status, body) = app
        .rest(Method::POST, &format!("/api/server/wallets/{ATTACKER}/credit"), Some(SERVER_KEY), Some(json!({"amount": 1000, "reference": "hostile"})))
        .await;
    assert_eq!(status, 200, "{body}");
    let soon = "2999-01-01T00:00:00Z";

    // Every command of the dispatchers, with a payload of the right shape.
    let commands: Vec<(&str, Value)> = vec![
        ("content:join", json!({"contentId": TARGET})),
        ("content:leave", json!({"contentId": TARGET})),
        ("content:view", json!({"contentId": TARGET})),
        ("content:like", json!({"contentId": TARGET, "like": true})),
        ("content:comment", json!({"contentId": TARGET, "text": "hi"})),
        ("content:comment", json!({"contentId": "notes", "text": "hi", "parentId": comment})),
        ("content:share", json!({"contentId": TARGET, "channel": "sms"})),
        ("content:progress", json!({"contentId": TARGET, "watchTime": 1.5, "completed": false, "quality": "720p", "buffering": 0.5})),
        ("comment:react", json!({"commentId": comment, "emoji": "+1", "on": true})),
        ("comment:edit", json!({"commentId": comment, "text": "edited"})),
        ("comment:delete", json!({"commentId": comment})),
        ("comment:typing", json!({"contentId": TARGET, "typing": true})),
        ("ranking:subscribe", json!({"scope": "type:video", "limit": 5})),
        ("ranking:unsubscribe", json!({"scope": "type:video"})),
        ("auth:refresh", json!({"token": token})),
        ("notifications:list", json!({"before": soon, "limit": 5, "unreadOnly": false})),
        ("notifications:read", json!({"ids": ["n-1"]})),
        ("feed:subscribe", json!({})),
        ("feed:unsubscribe", json!({})),
        ("channel:join", json!({"name": "blog-room"})),
        ("channel:leave", json!({"name": "blog-room"})),
        ("feed:new_content", json!({"contentId": "fresh", "contentType": "video", "title": "New"})),
        ("presence:set", json!({"status": "away"})),
        ("presence:subscribe", json!({"userIds": ["friend"]})),
        ("presence:unsubscribe", json!({"userIds": ["friend"]})),
        ("location:share", json!({"roomId": room, "lat": 1.0, "lng": 2.0, "accuracy": 5.0, "liveUntil": soon})),
        ("location:stop", json!({"roomId": room})),
        ("chat:open", json!({"otherUserId": "friend"})),
        ("chat:join", json!({"roomId": room})),
        ("chat:leave", json!({"roomId": room})),
        ("chat:send", json!({"roomId": room, "clientMsgId": "m-2", "kind": "text", "text": "hi", "replyTo": message})),
        ("chat:send", json!({"roomId": room, "clientMsgId": "m-3", "kind": "location", "location": {"lat": 1.0, "lng": 2.0}})),
        ("chat:history", json!({"roomId": room, "before": message, "limit": 5})),
        ("chat:typing", json!({"roomId": room, "typing": true})),
        ("chat:read", json!({"roomId": room, "messageId": message})),
        ("chat:react", json!({"messageId": message, "emoji": "+1", "on": true})),
        ("chat:edit", json!({"messageId": message, "text": "edited"})),
        ("chat:delete", json!({"messageId": message})),
        ("collab:join", json!({"docId": doc})),
        ("collab:leave", json!({"docId": doc})),
        ("collab:update", json!({"docId": doc, "update": "AAA="})),
        ("collab:awareness", json!({"docId": doc, "state": "cursor"})),
        ("call:invite", json!({"toUserId": "friend", "media": "audio"})),
        ("call:invite", json!({"roomId": room, "media": "video"})),
        ("call:accept", json!({"callId": "no-call"})),
        ("call:reject", json!({"callId": "no-call"})),
        ("call:end", json!({"callId": "no-call"})),
        ("call:signal", json!({"callId": "no-call", "toUserId": "friend", "signal": {"sdp": "v=0"}})),
        ("stream:join", json!({"streamId": mine})),
        ("stream:leave", json!({"streamId": mine})),
        ("stream:status", json!({"streamId": mine, "status": "paused"})),
        ("stream:chat", json!({"streamId": theirs, "text": "hi"})),
        ("stream:chat_delete", json!({"streamId": mine, "messageId": "no-message"})),
        ("stream:like", json!({"streamId": theirs, "count": 1})),
        ("stream:slow_mode", json!({"streamId": mine, "seconds": 5})),
        ("stream:moderate", json!({"streamId": mine, "userId": "friend", "action": "mute", "durationSec": 60, "reason": "spam"})),
        ("gift:send", json!({"streamId": theirs, "giftId": "rose", "count": 1, "clientTxId": "tx-1"})),
        ("gift:catalog", json!({})),
        ("wallet:balance", json!({})),
        ("battle:start", json!({"streamId": mine, "opponentStreamId": theirs, "durationSec": 60})),
        ("battle:accept", json!({"battleId": "no-battle"})),
        ("battle:decline", json!({"battleId": "no-battle"})),
        ("battle:get", json!({"battleId": "no-battle"})),
        ("battle:boost", json!({"battleId": "no-battle", "side": "a", "boostId": "boost", "clientTxId": "tx-2"})),
    ];

    let big = "x".repeat(50_000);
    let mut failures = Vec::new();
    fn refuse(what: String, ack: &Value, failures: &mut Vec<String>) {
        let code = ack["error"]["code"].as_str().unwrap_or_default();
        let message = ack["error"]["message"].as_str().unwrap_or_default();
        if ack["ok"] != false || code.is_empty() {
            failures.push(format!("{what} → {:.300}", ack.to_string()));
        } else if message.len() > 1000 {
            failures.push(format!("{what} → the refusal echoes {} bytes: {message:.100}…", message.len()));
        }
    }
    for (event, base) in &commands {
        for bad in [json!(5), json!("x"), json!(null), json!([]), json!({}), json!([base.clone()])] {
            let ack = mallory.call(event, bad.clone()).await;
            if bad == json!({}) && EMPTY_OBJECT_IS_VALID.contains(event) {
                assert!(ack["ok"].is_boolean(), "{event} {{}}: not an ack envelope: {ack}");
                continue;
            }
            refuse(format!("{event} {bad:.60}"), &ack, &mut failures);
        }
        let fields = base.as_object().expect("an object payload");
        for (key, value) in fields {
            // A 50 kB string in each string field, and in place of each other field.
            let (huge, what) = match value {
                Value::String(_) => (json!(big), "a 50 kB"),
                Value::Array(items) if items.iter().all(Value::is_string) => (json!([big]), "a 50 kB"),
                _ => (json!(big), "a 50 kB string for"),
            };
            let mut payload = base.clone();
            payload[key.as_str()] = huge;
            let ack = mallory.call(event, payload).await;
            refuse(format!("{event} with {what} {key}"), &ack, &mut failures);
        }
    }
    // Missing payloads and extra arguments.
    for (event, _) in &commands {
        mallory.send_raw(format!("4277400[\"{event}\"]"));
        match mallory.ack_for(77_400).await {
            ack if EMPTY_OBJECT_IS_VALID.contains(event) => assert!(ack["ok"].is_boolean(), "{event} without a payload: {ack}"),
            ack => refuse(format!("{event} without a payload"), &ack, &mut failures),
        }
    }
    assert!(failures.is_empty(), "{} malformed payloads were not refused:\n{}", failures.len(), failures.join("\n"));

    // Nothing was written: the setup's comment, message and coins are as they were.
    let (_, page) = app.rest(Method::GET, "/api/content/notes/comments", None, None).await;
    let texts: Vec<&str> = page["data"]["comments"].as_array().expect("comments").iter().filter_map(|c| c["text"].as_str()).collect();
    assert_eq!(texts, ["original"], "{page}");
    let (_, history) = app.rest(Method::GET, &format!("/api/chat/rooms/{room}/messages"), Some(&token), None).await;
    let texts: Vec<&str> = history["data"]["messages"].as_array().expect("messages").iter().filter_map(|m| m["text"].as_str()).collect();
    assert_eq!(texts, ["original"], "{history}");
    assert_eq!(mallory.ok("wallet:balance", json!({})).await["balance"], 1000);
    let (status, _) = app.rest(Method::GET, "/api/content/fresh", None, None).await;
    assert_eq!(status, 404, "feed:new_content registered an item from a refused payload");
    mallory.close();
    assert!(mallory.closed_within(WAIT).await);
    arena.assert_unharmed("malformed payloads for every command").await;
    arena.app.stop().await;
}

// ---------------------------------------------------------------------------------
// Heartbeats, upgrades and handshakes.
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn clients_that_never_answer_pings_are_disconnected_on_both_transports() {
    let mut arena = arena(|s| {
        s.server.ping_interval = Duration::from_millis(300);
        s.server.ping_timeout = Duration::from_millis(300);
    })
    .await;
    let mut deaf = RawWs::connected(arena.addr(), ATTACKER).await;
    assert!(deaf.closed_within(Duration::from_secs(5)).await, "a websocket client that never answers pings is still connected");
    assert!(deaf.pings >= 1, "it was never pinged");
    let poll = Poll::connected(&arena.app, ATTACKER).await;
    assert!(poll.gone_within(Duration::from_secs(5)).await, "a polling client that never answers pings is still connected");
    // A client that only ever sends pings of its own is not answering the server's.
    let mut chatty = RawWs::connected(arena.addr(), ATTACKER).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut closed = false;
    while Instant::now() < deadline {
        chatty.text("6").await;
        if let Next::Closed = chatty.next(Duration::from_millis(100), false).await {
            closed = true;
            break;
        }
    }
    assert!(closed, "a client sending noise instead of pongs is still connected");
    arena.assert_unharmed("never-answered pings").await;
    arena.app.stop().await;
}

/// Starts a WebSocket upgrade of a polling session and stops after the probe.
async fn half_upgrade(addr: std::net::SocketAddr, sid: &str) -> Ws {
    let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket&sid={sid}");
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.expect("upgrade handshake");
    ws.send(Message::text("2probe")).await.expect("probe sent");
    let answer = tokio::time::timeout(WAIT, ws.next()).await.expect("probe answered in time");
    match answer {
        Some(Ok(Message::Text(t))) => assert_eq!(t.as_str(), "3probe"),
        other => panic!("expected 3probe, got {other:?}"),
    }
    ws
}

/// Whether the server closes `ws` within `within`.
async fn ws_closed_within(ws: &mut Ws, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Err(_) => return false,
            Ok(None | Some(Err(_)) | Some(Ok(Message::Close(_)))) => return true,
            Ok(Some(Ok(_))) => {}
        }
    }
}

#[tokio::test]
async fn half_finished_upgrades_are_closed_even_when_the_client_keeps_the_session_alive() {
    // Engine.IO pauses the heartbeat while a transport upgrades, so the upgrade timeout
    // (10 s) is what bounds an upgrade that never completes.
    let mut arena = arena(|_| {}).await;
    let silent = async {
        // The probe, then silence.
        let poll = Poll::connected(&arena.app, ATTACKER).await;
        let mut ws = half_upgrade(arena.addr(), &poll.sid).await;
        assert!(ws_closed_within(&mut ws, Duration::from_secs(14)).await, "a silent half-upgrade is still open");
        assert!(poll.gone_within(Duration::from_secs(3)).await, "the session of a silent half-upgrade lives on");
    };
    let chatty = async {
        // The probe, then pongs and commands over polling, never the UPGRADE packet.
        let poll = Poll::connected(&arena.app, ATTACKER).await;
        let mut ws = half_upgrade(arena.addr(), &poll.sid).await;
        let feeder = async {
            for _ in 0..100 {
                let body = format!("3\x1e{}", probe_packet());
                if poll.post(body).await != 200 {
                    // The session is gone: the WebSocket side reports it.
                    std::future::pending::<()>().await;
                }
                tokio::time::sleep(Duration::from_millis(150)).await;
            }
        };
        tokio::select! {
            closed = ws_closed_within(&mut ws, Duration::from_secs(14)) => assert!(closed, "a half-upgrade kept busy over polling is still open"),
            () = feeder => panic!("a half-upgrade kept busy over polling was never closed"),
        }
        assert!(poll.gone_within(Duration::from_secs(3)).await, "the session of an abandoned upgrade lives on");
    };
    tokio::join!(silent, chatty);
    arena.assert_unharmed("half-finished upgrades").await;
    arena.app.stop().await;
}

#[tokio::test]
async fn thousands_of_handshakes_without_a_connect_are_closed_by_the_connect_timeout() {
    let mut arena = arena(|s| s.server.connect_timeout = Duration::from_millis(500)).await;
    let app = &arena.app;
    let sids: Vec<String> = futures_util::stream::iter(0..3000)
        .map(|_| async {
            let res = app.http.get(app.url("/socket.io/?EIO=4&transport=polling")).send().await.expect("handshake");
            let body = res.text().await.expect("open packet");
            let open: Value = serde_json::from_str(body.trim_start_matches('0')).expect("open json");
            open["sid"].as_str().expect("sid").to_owned()
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let mut sockets = Vec::new();
    for _ in 0..1000 {
        sockets.push(RawWs::open(app.addr).await);
    }
    for (i, ws) in sockets.iter_mut().enumerate() {
        assert!(ws.closed_within(Duration::from_secs(5)).await, "websocket {i} without CONNECT is still open");
    }
    drop(sockets);
    for sid in sids.iter().step_by(50) {
        let res = app.http.get(app.url(&format!("/socket.io/?EIO=4&transport=polling&sid={sid}"))).send().await.expect("poll");
        assert_eq!(res.status(), 400, "polling session {sid} without CONNECT still exists");
    }
    arena.assert_unharmed("3,000 polling and 1,000 websocket handshakes without CONNECT").await;
    arena.app.stop().await;
}

// ---------------------------------------------------------------------------------
// Floods.
// ---------------------------------------------------------------------------------

/// Reads a flooder's acks until the server closes it; the number of `rate_limited` acks.
async fn rate_limited_until_closed(ws: &mut RawWs) -> usize {
    let mut refused = 0;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match ws.next(deadline.saturating_duration_since(Instant::now()), true).await {
            Next::Text(t) if t.starts_with("43") => {
                let body = t.trim_start_matches(|c: char| c.is_ascii_digit());
                let items: Value = serde_json::from_str(body).unwrap_or(Value::Null);
                let error = &items[0]["error"];
                if error["code"] == "rate_limited" {
                    assert!(error["retryAfterMs"].as_u64().is_some_and(|ms| ms > 0), "{t}");
                    refused += 1;
                }
            }
            // A namespace DISCONNECT: the server dropped the socket.
            Next::Text(t) if t == "41" => return refused,
            Next::Text(_) => {}
            Next::Closed => return refused,
            Next::Quiet => panic!("the flooder was never disconnected ({refused} rate_limited acks)"),
        }
    }
}

#[tokio::test]
async fn a_flood_is_rate_limited_then_disconnected_and_other_clients_keep_their_events() {
    let mut arena = arena(|s| {
        s.limits.rates_enabled = true;
        s.limits.rates.likes = Rate { per_second: 10, burst: 30 };
        s.limits.abuse_disconnect_after = 100;
    })
    .await;
    let like = |id: usize| format!("42{id}[\"content:like\",{{\"contentId\":\"flood-item\",\"like\":true}}]");

    // Thousands of events from one WebSocket, as fast as it can write them.
    let mut flooder = RawWs::connected(arena.addr(), "ws-flooder").await;
    for i in 0..5000 {
        let _ = flooder.ws.feed(Message::text(like(i + 1))).await;
    }
    let _ = flooder.ws.flush().await;
    arena.side.pulse("a websocket flood in progress").await;
    let refused = rate_limited_until_closed(&mut flooder).await;
    assert!(refused >= 1, "no rate_limited ack");
    flooder.ws.close(None).await.ok();

    // The same over polling: one payload of thousands of packets.
    let poll = Poll::connected(&arena.app, "poll-flooder").await;
    let payload: Vec<String> = (0..3000).map(|i| like(i + 1)).collect();
    poll.post(payload.join("\x1e")).await;
    arena.side.pulse("a polling flood in progress").await;
    let mut refused = 0;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        assert!(Instant::now() < deadline, "the polling flooder was never disconnected");
        match poll.get(Duration::from_secs(5)).await {
            Polled::Packets(ps) => {
                refused += ps.iter().filter(|p| p.contains("\"rate_limited\"")).count();
                if ps.iter().any(|p| p == "1" || p == "41") {
                    break;
                }
                if ps.iter().any(|p| p == "2") {
                    poll.post("3").await;
                }
            }
            Polled::Gone => break,
            Polled::Quiet => panic!("the polling flooder hangs"),
        }
    }
    assert!(refused >= 1, "no rate_limited ack over polling");
    poll.post("1").await;

    // Likes are idempotent: each flooder's accepted likes count once.
    let (_, item) = arena.app.rest(Method::GET, "/api/content/flood-item", None, None).await;
    assert_eq!(item["data"]["counts"]["likes"], 2, "{item}");
    arena.assert_unharmed("floods").await;
    arena.app.stop().await;
}

#[tokio::test]
async fn malformed_engineio_handshakes_get_client_errors_and_leave_no_session() {
    let mut arena = arena(|_| {}).await;
    let app = &arena.app;
    let long = "s".repeat(10_000);
    for query in [
        "".to_owned(),
        "EIO=3&transport=polling".to_owned(),
        "EIO=5&transport=polling".to_owned(),
        "EIO=abc&transport=polling".to_owned(),
        "EIO=4".to_owned(),
        "EIO=4&transport=flash".to_owned(),
        "EIO=4&transport=polling&sid=unknown".to_owned(),
        "EIO=4&transport=polling&sid=".to_owned(),
        format!("EIO=4&transport=polling&sid={long}"),
        "EIO=4&transport=websocket".to_owned(),
    ] {
        for method in [Method::GET, Method::POST] {
            let res = app.http.request(method.clone(), app.url(&format!("/socket.io/?{query}"))).body("40").send().await.expect("answered");
            let status = res.status().as_u16();
            assert!((400..500).contains(&status), "{method} ?{query:.60}: {status}");
        }
    }
    // A WebSocket upgrade of a session that does not exist.
    let url = format!("ws://{}/socket.io/?EIO=4&transport=websocket&sid=nope", app.addr);
    if let Ok((mut ws, _)) = tokio_tungstenite::connect_async(url).await {
        ws.send(Message::text("2probe")).await.ok();
        assert!(ws_closed_within(&mut ws, WAIT).await, "an upgrade of an unknown session was kept open");
    }
    // Two long polls at once end the session (an Engine.IO rule), and nothing else.
    let poll = Poll::connected(app, ATTACKER).await;
    // (Three, so that at least two wait together even if one finds `session:ready`.)
    let within = Duration::from_secs(2);
    let _ = tokio::join!(poll.get(within), poll.get(within), poll.get(within));
    assert!(poll.gone_within(WAIT).await, "the session survived concurrent polls");
    arena.assert_unharmed("malformed handshakes").await;
    arena.app.stop().await;
}

#[tokio::test]
async fn a_client_that_leaves_the_namespace_cannot_keep_an_orphan_connection() {
    let mut arena = arena(|s| {
        s.server.ping_interval = Duration::from_millis(300);
        s.server.ping_timeout = Duration::from_millis(300);
        s.server.connect_timeout = Duration::from_millis(500);
        s.limits.max_sockets_per_ip = 5;
    })
    .await;
    // Each client sends DISCONNECT for `/` and then only answers pings: its connection
    // is closed, and it no longer counts against the per-address cap (ten of them pass
    // a cap of five). Each waits for its close before the next connects: the server
    // reads two connections in no fixed order, so a CONNECT sent right behind another
    // connection's DISCONNECT may be read first, while that socket still counts.
    for i in 0..10 {
        let mut ws = RawWs::connected(arena.addr(), ATTACKER).await;
        ws.text("41").await;
        let deadline = Instant::now() + Duration::from_secs(3);
        let mut closed = false;
        while Instant::now() < deadline {
            if let Next::Closed = ws.next(Duration::from_millis(100), true).await {
                closed = true;
                break;
            }
        }
        assert!(closed, "orphan connection {i} is still open");
    }
    arena.assert_unharmed("orphan connections").await;
    arena.app.stop().await;
}

#[tokio::test]
async fn commands_in_flight_when_a_socket_closes_leave_nothing_behind() {
    // A join still waiting on the store when the client sends DISCONNECT (or drops the
    // connection) must not register a viewer after the socket's cleanup has run.
    let mut arena = arena(|_| {}).await;
    let host = arena.app.token("host");
    let (status, body) = arena.app.rest(Method::POST, "/api/streams", Some(&host), Some(json!({"title": "race"}))).await;
    assert_eq!(status, 201, "{body}");
    let stream = body["data"]["id"].as_str().expect("stream id").to_owned();
    let (status, _) = arena.app.rest(Method::POST, &format!("/api/streams/{stream}/status"), Some(&host), Some(json!({"status": "live"}))).await;
    assert_eq!(status, 200);
    for i in 0..40 {
        let mut ws = RawWs::connected(arena.addr(), &format!("racer-{i}")).await;
        for (n, item) in ["race", "race-2", "race-3"].into_iter().enumerate() {
            ws.text(format!("42{}[\"content:join\",{{\"contentId\":\"{item}\"}}]", n + 1)).await;
        }
        ws.text(format!("424[\"stream:join\",{{\"streamId\":\"{stream}\"}}]")).await;
        if i % 2 == 0 {
            ws.text("41").await;
        }
        ws.ws.close(None).await.ok();
    }
    let deadline = Instant::now() + WAIT;
    loop {
        let mut counts = Vec::new();
        for item in ["race", "race-2", "race-3"] {
            let (_, body) = arena.app.rest(Method::GET, &format!("/api/content/{item}"), None, None).await;
            counts.push(body["data"]["viewerCount"].clone());
        }
        let (_, shown) = arena.app.rest(Method::GET, &format!("/api/streams/{stream}"), None, None).await;
        counts.push(shown["data"]["viewerCount"].clone());
        if counts.iter().all(|c| *c == 0) {
            break;
        }
        assert!(Instant::now() < deadline, "viewers of closed sockets remain: {counts:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    arena.assert_unharmed("commands in flight at close").await;
    arena.app.stop().await;
}
