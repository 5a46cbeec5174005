//! Wire-level attacks on the two vendored protocol crates (vendor/*/PATCH.md):
//!
//! * an ack id that does not fit the ack id type (socketioxide uses `i64`) must be a
//!   parse error that closes the connection, never an event run without its ack (the
//!   client would retry it and duplicate a share or a comment);
//! * a second WebSocket upgrade of one polling session, concurrent with the first or
//!   after it, must be closed at once and leave the session to the first.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use crate::support::{SERVER_KEY, TestApp, WAIT, spawn_app, token_for};

/// The content the oversize-ack attacks aim at: it must never be written.
const TARGET: &str = "wire-target";
/// The attacking user.
const ATTACKER: &str = "mallory";
/// How long a connection that should have been closed may stay silent.
const QUIET: Duration = Duration::from_secs(3);
/// Ack ids that do not fit socketioxide's `i64` ack id: i64::MAX + 1, u64::MAX,
/// u64::MAX + 1 (2^64), and a 30-digit number.
const OVERSIZE_ACK_IDS: [&str; 4] = ["9223372036854775808", "18446744073709551615", "18446744073709551616", "123456789012345678901234567890"];
/// The ack id of the probe that tells a live session from a closed one.
const PROBE: u64 = 77_000;

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// What a raw WebSocket heard next.
#[derive(Debug, PartialEq)]
enum Heard {
    Text(String),
    Closed,
    Quiet,
}

/// The next text frame within `within`, or the close, or silence; the server's pings
/// are answered on the way.
async fn heard(ws: &mut Ws, within: Duration) -> Heard {
    let deadline = Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Err(_) => return Heard::Quiet,
            Ok(None | Some(Err(_)) | Some(Ok(Message::Close(_)))) => return Heard::Closed,
            Ok(Some(Ok(Message::Text(t)))) if t.as_str() == "2" => {
                let _ = ws.send(Message::text("3")).await;
            }
            Ok(Some(Ok(Message::Text(t)))) => return Heard::Text(t.to_string()),
            Ok(Some(Ok(_))) => {}
        }
    }
}

/// Waits for an ack whose frame starts with `43{id}[`; any other text is skipped.
async fn ack_or_close(ws: &mut Ws, id: &str, within: Duration) -> Heard {
    let prefix = format!("43{id}[");
    let deadline = Instant::now() + within;
    loop {
        match heard(ws, deadline.saturating_duration_since(Instant::now())).await {
            Heard::Text(t) if t.starts_with(&prefix) => return Heard::Text(t),
            Heard::Text(_) => {}
            other => return other,
        }
    }
}

/// The ack body of an `43<id>[body]` frame.
fn ack_body(frame: &str, id: &str) -> Value {
    let items: Value = serde_json::from_str(&frame[2 + id.len()..]).unwrap_or(Value::Null);
    items[0].clone()
}

/// A WebSocket session CONNECTed to `/` as `user`.
async fn connected_ws(addr: std::net::SocketAddr, user: &str) -> Ws {
    let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.expect("websocket handshake");
    match heard(&mut ws, WAIT).await {
        Heard::Text(open) => assert!(open.starts_with("0{"), "expected an open packet, got {open}"),
        other => panic!("no open packet: {other:?}"),
    }
    ws.send(Message::text(format!("40{}", json!({"token": token_for(user, 600)})))).await.expect("CONNECT sent");
    match heard(&mut ws, WAIT).await {
        Heard::Text(answer) => assert!(answer.starts_with("40{"), "expected the CONNECT answer, got {answer}"),
        other => panic!("no CONNECT answer: {other:?}"),
    }
    ws
}

fn probe_packet() -> String {
    format!("42{PROBE}[\"hostile:probe\",{{}}]")
}

/// Sends the probe on `ws` and asserts the session answers it (`bad_request`, as for any
/// unknown event).
async fn assert_answers_probe(ws: &mut Ws, what: &str) {
    ws.send(Message::text(probe_packet())).await.unwrap_or_else(|e| panic!("{what}: probe not sent: {e}"));
    match ack_or_close(ws, &PROBE.to_string(), WAIT).await {
        Heard::Text(frame) => {
            let body = ack_body(&frame, &PROBE.to_string());
            assert_eq!(body["error"]["code"], "bad_request", "{what}: {frame}");
        }
        other => panic!("{what}: the session did not answer the probe: {other:?}"),
    }
}

/// An Engine.IO long-polling session driven by hand.
struct Poll {
    http: reqwest::Client,
    url: String,
    sid: String,
}

impl Poll {
    /// Handshake, then CONNECT to `/` as `user`.
    async fn connected(app: &TestApp, user: &str) -> Self {
        let res = app.http.get(app.url("/socket.io/?EIO=4&transport=polling")).send().await.expect("polling handshake");
        assert_eq!(res.status(), 200);
        let body = res.text().await.expect("open body");
        let open: Value = serde_json::from_str(body.strip_prefix('0').expect("an open packet")).expect("open json");
        let sid = open["sid"].as_str().expect("sid").to_owned();
        let poll = Self { http: app.http.clone(), url: app.url(&format!("/socket.io/?EIO=4&transport=polling&sid={sid}")), sid };
        assert_eq!(poll.post(format!("40{}", json!({"token": token_for(user, 600)}))).await, 200);
        let deadline = Instant::now() + WAIT;
        loop {
            assert!(Instant::now() < deadline, "no CONNECT answer over polling");
            if let Some(packets) = poll.get(WAIT).await
                && packets.iter().any(|p| p.starts_with("40{"))
            {
                return poll;
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

    /// One long poll (a ping in it is answered): the packets, or `None` when the session
    /// is gone or nothing came.
    async fn get(&self, within: Duration) -> Option<Vec<String>> {
        let res = tokio::time::timeout(within, self.http.get(&self.url).send()).await.ok()?.ok()?;
        if res.status() != 200 {
            return None;
        }
        let body = res.text().await.ok()?;
        let packets: Vec<String> = body.split('\x1e').map(str::to_owned).collect();
        if packets.iter().any(|p| p == "2") {
            self.post("3").await;
        }
        Some(packets)
    }

    /// Whether the session ends within `within` (a 400, or a CLOSE packet), with no ack
    /// starting with `43{id}[` on the way.
    async fn closed_without_ack(&self, id: &str, within: Duration) -> Result<(), String> {
        let prefix = format!("43{id}[");
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            let res = match tokio::time::timeout_at(deadline, self.http.get(&self.url).send()).await {
                Err(_) => break,
                Ok(Err(_)) => return Ok(()),
                Ok(Ok(res)) => res,
            };
            if res.status() != 200 {
                return Ok(());
            }
            let body = res.text().await.unwrap_or_default();
            for packet in body.split('\x1e') {
                if packet.starts_with(&prefix) {
                    return Err(format!("acknowledged: {packet}"));
                }
                if packet == "1" {
                    return Ok(());
                }
            }
        }
        Err(format!("still open after {within:?}"))
    }
}

/// `TARGET` was registered and has no shares and no comments.
async fn assert_target_untouched(app: &TestApp, after: &str) {
    let (status, body) = app.rest(Method::GET, &format!("/api/content/{TARGET}"), None, None).await;
    assert_eq!(status, 200, "after {after}: {body}");
    for key in ["shares", "comments"] {
        assert_eq!(body["data"]["counts"][key], 0, "after {after}: {TARGET} was written: {body}");
    }
    let (status, page) = app.rest(Method::GET, &format!("/api/content/{TARGET}/comments"), None, None).await;
    assert_eq!(status, 200, "after {after}: {page}");
    assert_eq!(page["data"]["comments"], json!([]), "after {after}: a comment was stored");
}

async fn register_target(app: &TestApp) {
    let (status, body) = app
        .rest(Method::PUT, &format!("/api/server/content/{TARGET}"), Some(SERVER_KEY), Some(json!({"type": "video", "ownerId": "owner"})))
        .await;
    assert_eq!(status, 200, "{body}");
}

/// The commands a retrying client would duplicate, as `42<id>[...]` frames.
fn commands_with_ack(id: &str) -> Vec<String> {
    vec![
        format!("42{id}{}", json!(["content:share", {"contentId": TARGET, "channel": "sms"}])),
        format!("42{id}{}", json!(["content:comment", {"contentId": TARGET, "text": "duplicated?"}])),
    ]
}

// ---------------------------------------------------------------------------------
// (A) Ack ids that do not fit.
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn an_event_whose_ack_id_overflows_closes_the_connection_and_never_runs() {
    let app = spawn_app().await;
    register_target(&app).await;
    let mut failures = Vec::new();
    for id in OVERSIZE_ACK_IDS {
        for frame in commands_with_ack(id) {
            // Over WebSocket: the connection is closed, no ack, nothing written.
            let mut ws = connected_ws(app.addr, ATTACKER).await;
            ws.send(Message::text(frame.clone())).await.expect("frame sent");
            match ack_or_close(&mut ws, id, QUIET).await {
                Heard::Closed => {}
                other => failures.push(format!("websocket {frame:.60}: expected a close, got {other:?}")),
            }
            // Over long-polling: the session is closed the same way.
            let poll = Poll::connected(&app, ATTACKER).await;
            poll.post(frame.clone()).await;
            if let Err(e) = poll.closed_without_ack(id, QUIET).await {
                failures.push(format!("polling {frame:.60}: {e}"));
                poll.post("1").await;
            }
        }
    }
    // A binary event (placeholder and attachment) with an oversize ack id, over WebSocket.
    let mut ws = connected_ws(app.addr, ATTACKER).await;
    let id = OVERSIZE_ACK_IDS[2];
    ws.send(Message::text(format!("451-{id}[\"content:share\",{{\"contentId\":\"{TARGET}\",\"blob\":{{\"_placeholder\":true,\"num\":0}}}}]")))
        .await
        .expect("binary header sent");
    ws.send(Message::binary(vec![1u8, 2, 3])).await.ok();
    match ack_or_close(&mut ws, id, QUIET).await {
        Heard::Closed => {}
        other => failures.push(format!("websocket binary event: expected a close, got {other:?}")),
    }
    // First what a retrying client would have duplicated, then how each was refused.
    assert_target_untouched(&app, "oversize ack ids").await;
    assert!(failures.is_empty(), "{} oversize ack ids were not refused:\n{}", failures.len(), failures.join("\n"));
    // The attackers' sessions were released.
    let deadline = Instant::now() + WAIT;
    loop {
        let (_, stats) = app.rest(Method::GET, "/api/server/stats", Some(SERVER_KEY), None).await;
        if stats["data"]["connectedSockets"] == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "sockets of refused packets remain: {stats}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.stop().await;
}

#[tokio::test]
async fn ack_ids_up_to_the_largest_that_fits_are_still_acknowledged() {
    let app = spawn_app().await;
    let mut ws = connected_ws(app.addr, "sharer").await;
    // The official clients count from 0; i64::MAX is the largest id socketioxide keeps.
    let ids = ["0", "1", "42", "9223372036854775807"];
    for id in ids {
        ws.send(Message::text(format!("42{id}{}", json!(["content:share", {"contentId": "wire-ok", "channel": "sms"}]))))
            .await
            .expect("share sent");
        match ack_or_close(&mut ws, id, WAIT).await {
            Heard::Text(frame) => assert_eq!(ack_body(&frame, id)["ok"], true, "ack id {id}: {frame}"),
            other => panic!("ack id {id}: expected its ack, got {other:?}"),
        }
    }
    // Leading zeros are the same small number, answered under it.
    ws.send(Message::text(format!("42000000000000000000000000000007{}", json!(["content:share", {"contentId": "wire-ok"}]))))
        .await
        .expect("share sent");
    match ack_or_close(&mut ws, "7", WAIT).await {
        Heard::Text(frame) => assert_eq!(ack_body(&frame, "7")["ok"], true, "{frame}"),
        other => panic!("ack id 000…7: expected ack 7, got {other:?}"),
    }
    let (status, body) = app.rest(Method::GET, "/api/content/wire-ok", None, None).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["data"]["counts"]["shares"].as_u64().is_some_and(|n| n >= 1), "{body}");
    // Over polling too.
    let poll = Poll::connected(&app, "sharer").await;
    let id = "9223372036854775807";
    assert_eq!(poll.post(format!("42{id}{}", json!(["content:share", {"contentId": "wire-ok"}]))).await, 200);
    let deadline = Instant::now() + WAIT;
    'answered: loop {
        assert!(Instant::now() < deadline, "polling: no ack {id}");
        for packet in poll.get(WAIT).await.unwrap_or_default() {
            if packet.starts_with(&format!("43{id}[")) {
                assert_eq!(ack_body(&packet, id)["ok"], true, "{packet}");
                break 'answered;
            }
        }
    }
    poll.post("1").await;
    app.stop().await;
}

// ---------------------------------------------------------------------------------
// (B) A second WebSocket upgrade of one polling session.
// ---------------------------------------------------------------------------------

/// Opens a WebSocket upgrade of the polling session `sid` and sends the probe ping.
async fn start_upgrade(addr: std::net::SocketAddr, sid: &str) -> Ws {
    let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket&sid={sid}");
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.expect("upgrade handshake");
    // The send fails if the server already closed a refused upgrade; the read says so.
    let _ = ws.send(Message::text("2probe")).await;
    ws
}

/// Finishes the upgrade of a WebSocket that got `3probe`.
async fn finish_upgrade(ws: &mut Ws) {
    ws.send(Message::text("5")).await.expect("UPGRADE sent");
}

async fn connected_sockets(app: &TestApp) -> Value {
    let (_, stats) = app.rest(Method::GET, "/api/server/stats", Some(SERVER_KEY), None).await;
    stats["data"]["connectedSockets"].clone()
}

#[tokio::test]
async fn a_second_upgrade_while_the_first_is_in_flight_is_closed_at_once() {
    let app = spawn_app().await;
    let poll = Poll::connected(&app, "upgrader").await;
    let mut first = start_upgrade(app.addr, &poll.sid).await;
    assert_eq!(heard(&mut first, WAIT).await, Heard::Text("3probe".into()), "the first upgrade's probe");

    // The first upgrade has its `3probe` and no `5` yet: a second one is refused.
    let mut second = start_upgrade(app.addr, &poll.sid).await;
    let started = Instant::now();
    assert_eq!(heard(&mut second, QUIET).await, Heard::Closed, "the second upgrade was not closed");
    assert!(started.elapsed() < Duration::from_secs(2), "the second upgrade was closed only after {:?}", started.elapsed());

    // The first upgrade completes and the session works over it.
    finish_upgrade(&mut first).await;
    assert_answers_probe(&mut first, "after the upgrade").await;

    // An upgrade of a session that is already on WebSocket is refused too.
    let mut late = start_upgrade(app.addr, &poll.sid).await;
    assert_eq!(heard(&mut late, QUIET).await, Heard::Closed, "an upgrade of an upgraded session was not closed");
    assert_answers_probe(&mut first, "after a late upgrade").await;
    assert_eq!(connected_sockets(&app).await, 1);
    app.stop().await;
}

#[tokio::test]
async fn racing_upgrades_of_one_session_leave_one_winner_and_close_the_loser() {
    let app = spawn_app().await;
    for round in 0..5 {
        let poll = Poll::connected(&app, &format!("racer-{round}")).await;
        let (mut a, mut b) = tokio::join!(start_upgrade(app.addr, &poll.sid), start_upgrade(app.addr, &poll.sid));
        let (heard_a, heard_b) = tokio::join!(heard(&mut a, QUIET), heard(&mut b, QUIET));
        let probe = Heard::Text("3probe".into());
        let (mut winner, mut loser) = match (heard_a, heard_b) {
            (x, Heard::Closed) if x == probe => (a, b),
            (Heard::Closed, y) if y == probe => (b, a),
            other => panic!("round {round}: expected one 3probe and one close, got {other:?}"),
        };
        finish_upgrade(&mut winner).await;
        assert_answers_probe(&mut winner, &format!("round {round}: the winner")).await;
        assert_eq!(heard(&mut loser, Duration::from_millis(100)).await, Heard::Closed, "round {round}: the loser");
        let _ = winner.close(None).await;
    }
    let deadline = Instant::now() + WAIT;
    while connected_sockets(&app).await != 0 {
        assert!(Instant::now() < deadline, "sockets of the races remain");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.stop().await;
}
