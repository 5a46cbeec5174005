//! Plumbing shared by the engagement scenarios (`chat`, `feed`, `stream`): the flags
//! every scenario takes, a keep-alive HTTP/1.1 client for the REST setup calls, a
//! command client (one socket, commands with ack callbacks, events to a handler),
//! passive receivers (connect, a few setup commands, then count frames), sharded
//! event counters and a CPU meter over `/proc`.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::hist::{AtomicHist, Hist};
use crate::wire::{self, Frame};
use crate::{Endpoint, Ws, jwt, lock, now_us, procfs};

/// Flags every engagement scenario takes.
#[derive(clap::Args, Clone, Debug)]
pub struct Common {
    /// Base URL of the Chorus server (http://HOST:PORT).
    #[arg(long, default_value = "http://127.0.0.1:3000")]
    pub url: String,
    /// Name of the server in the results.
    #[arg(long, default_value = "chorus")]
    pub label: String,
    /// HS256 secret the user tokens are signed with (Chorus's --jwt-secret).
    #[arg(long, default_value = "bench-secret")]
    pub jwt_secret: String,
    /// Chorus's server API key (the stream scenario credits wallets with it).
    #[arg(long)]
    pub server_key: Option<String>,
    /// Server process id, for resident memory and CPU time from /proc.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Threads of the load generator.
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// Also write the `RESULT {json}` line to this file.
    #[arg(long)]
    pub json_out: Option<PathBuf>,
    /// Handshakes (or HTTP setup calls) in flight at once.
    #[arg(long, default_value_t = 100)]
    pub connect_concurrency: usize,
    /// Seconds allowed for one connection's handshake and setup commands.
    #[arg(long, default_value_t = 30.0)]
    pub handshake_timeout: f64,
    /// Prefix of every user id, room title and idempotency key of this run (default:
    /// derived from the clock, so runs against one database never collide).
    #[arg(long)]
    pub run_id: Option<String>,
}

/// What a scenario needs to reach the server.
pub struct Env {
    pub common: Common,
    pub ep: Endpoint,
    pub host: String,
    /// Prefix of this run's ids.
    pub run: String,
}

impl Env {
    pub async fn new(common: Common) -> anyhow::Result<Self> {
        let host = crate::host_port(&common.url)?;
        let ws_config = WebSocketConfig::default()
            .read_buffer_size(4 * 1024)
            .write_buffer_size(0);
        let ep = Endpoint::resolve(&common.url, ws_config).await?;
        let run = common
            .run_id
            .clone()
            .unwrap_or_else(|| format!("b{}", base36(now_us() / 1_000_000)));
        Ok(Self {
            common,
            ep,
            host,
            run,
        })
    }

    /// A user id of this run.
    pub fn user(&self, name: &str) -> String {
        format!("{}-{name}", self.run)
    }

    /// A day-long HS256 token for `user`.
    pub fn token(&self, user: &str) -> anyhow::Result<String> {
        jwt::mint(
            self.common.jwt_secret.as_bytes(),
            user,
            Some(user),
            now_us() / 1_000_000 + 86_400,
        )
    }

    pub fn handshake_limit(&self) -> Duration {
        Duration::from_secs_f64(self.common.handshake_timeout)
    }

    /// A new keep-alive HTTP connection to the server.
    pub async fn http(&self) -> anyhow::Result<Http> {
        Http::open(self.ep.addr, &self.host).await
    }

    /// The server's resident memory in KiB.
    pub fn server_rss_kb(&self) -> Option<u64> {
        self.common.server_pid.and_then(|p| procfs::rss_kb(Some(p)))
    }
}

fn base36(mut n: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// Prints the `RESULT {json}` line and writes it to `--json-out` when given.
pub fn emit_result(common: &Common, result: &Value) -> anyhow::Result<()> {
    let line = format!("RESULT {}", serde_json::to_string(result)?);
    println!("{line}");
    if let Some(path) = &common.json_out {
        std::fs::write(path, format!("{line}\n"))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// HTTP

/// One keep-alive HTTP/1.1 connection (loopback only, no TLS).
pub struct Http {
    io: BufReader<TcpStream>,
    host: String,
}

impl Http {
    async fn open(addr: std::net::SocketAddr, host: &str) -> anyhow::Result<Self> {
        let tcp = TcpStream::connect(addr).await.context("http connect")?;
        tcp.set_nodelay(true)?;
        Ok(Self {
            io: BufReader::new(tcp),
            host: host.to_owned(),
        })
    }

    /// Sends one request and reads the whole response: `(status, body)`.
    pub async fn request(
        &mut self,
        method: &str,
        path: &str,
        bearer: Option<&str>,
        body: Option<&str>,
    ) -> anyhow::Result<(u16, String)> {
        let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\n", self.host);
        if let Some(token) = bearer {
            req.push_str(&format!("Authorization: Bearer {token}\r\n"));
        }
        let body = body.unwrap_or("");
        if !body.is_empty() || method != "GET" {
            req.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                body.len()
            ));
        }
        req.push_str("\r\n");
        req.push_str(body);
        self.io.get_mut().write_all(req.as_bytes()).await?;

        let mut line = String::new();
        if self.io.read_line(&mut line).await? == 0 {
            bail!("connection closed before the response");
        }
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| anyhow!("bad status line: {line:?}"))?;
        let (mut length, mut chunked) = (None, false);
        loop {
            line.clear();
            if self.io.read_line(&mut line).await? == 0 {
                bail!("connection closed in the headers");
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                let value = value.trim();
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.parse::<usize>().ok();
                } else if name.eq_ignore_ascii_case("transfer-encoding") {
                    chunked = value.eq_ignore_ascii_case("chunked");
                }
            }
        }
        let mut out = Vec::new();
        if chunked {
            loop {
                line.clear();
                self.io.read_line(&mut line).await?;
                let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                    .map_err(|_| anyhow!("bad chunk size {line:?}"))?;
                let mut chunk = vec![0; size + 2];
                self.io.read_exact(&mut chunk).await?;
                if size == 0 {
                    break;
                }
                out.extend_from_slice(&chunk[..size]);
            }
        } else if let Some(n) = length {
            out.resize(n, 0);
            self.io.read_exact(&mut out).await?;
        } else {
            self.io.read_to_end(&mut out).await?;
        }
        Ok((status, String::from_utf8_lossy(&out).into_owned()))
    }

    /// A request whose answer must be a 2xx `{"success":true,"data":…}`: returns `data`.
    pub async fn json(
        &mut self,
        method: &str,
        path: &str,
        bearer: Option<&str>,
        body: Option<&Value>,
    ) -> anyhow::Result<Value> {
        let body = body.map(Value::to_string);
        let (status, text) = self.request(method, path, bearer, body.as_deref()).await?;
        if !(200..300).contains(&status) {
            bail!("{method} {path}: HTTP {status}: {}", clip(&text, 300));
        }
        let v: Value = serde_json::from_str(&text)
            .with_context(|| format!("{method} {path}: not JSON: {}", clip(&text, 200)))?;
        Ok(v.get("data").cloned().unwrap_or(v))
    }
}

/// At most `n` bytes of `s`, on a character boundary.
pub fn clip(s: &str, n: usize) -> &str {
    let mut end = s.len().min(n);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Runs `f(i)` for `i` in `0..n` on `conns` keep-alive connections in parallel; returns
/// the failures by message.
pub async fn http_many<F, Fut>(
    env: &Arc<Env>,
    n: usize,
    conns: usize,
    f: F,
) -> anyhow::Result<BTreeMap<String, u64>>
where
    F: Fn(usize, Http) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = (Http, anyhow::Result<()>)> + Send,
{
    let f = Arc::new(f);
    let next = Arc::new(AtomicU64::new(0));
    let failures = Arc::new(Mutex::new(BTreeMap::<String, u64>::new()));
    let mut workers = Vec::new();
    for _ in 0..conns.max(1).min(n.max(1)) {
        let (f, next, failures, env) = (f.clone(), next.clone(), failures.clone(), env.clone());
        workers.push(tokio::spawn(async move {
            let mut http = match env.http().await {
                Ok(h) => h,
                Err(e) => {
                    *lock(&failures).entry(format!("{e:#}")).or_default() += 1;
                    return;
                }
            };
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                if i >= n {
                    return;
                }
                let (h, r) = f(i, http).await;
                http = h;
                if let Err(e) = r {
                    *lock(&failures)
                        .entry(clip(&format!("{e:#}"), 200).to_owned())
                        .or_default() += 1;
                    // The connection may be broken: start a new one.
                    match env.http().await {
                        Ok(h) => http = h,
                        Err(_) => return,
                    }
                }
            }
        }));
    }
    for w in workers {
        w.await?;
    }
    Ok(lock(&failures).clone())
}

// ---------------------------------------------------------------------------------------
// The command client

/// Called with `(event name, whole frame)` for every event a client receives.
pub type OnEvent = Arc<dyn Fn(&str, &str) + Send + Sync>;
/// Called with `(µs from send to ack, ack payload)` when a command is acknowledged.
pub type OnAck = Box<dyn FnOnce(u64, &str) + Send>;

/// One socket that sends commands with ack ids; a reader task calls each command's
/// callback when its ack arrives, hands every event to `on_event` and answers pings.
pub struct Client {
    sink: tokio::sync::Mutex<SplitSink<Ws, Message>>,
    pending: Mutex<HashMap<u64, (Instant, OnAck)>>,
    next_id: AtomicU64,
    alive: AtomicBool,
}

impl Client {
    /// Connects as `user` (a fresh token) and starts the reader.
    pub async fn open(
        env: &Env,
        user: &str,
        on_event: Option<OnEvent>,
    ) -> anyhow::Result<Arc<Self>> {
        let token = env.token(user)?;
        let ws = tokio::time::timeout(env.handshake_limit(), crate::connect(&env.ep, &token))
            .await
            .map_err(|_| anyhow!("handshake timed out"))??;
        let (sink, mut stream) = ws.split();
        let client = Arc::new(Self {
            sink: tokio::sync::Mutex::new(sink),
            pending: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            alive: AtomicBool::new(true),
        });
        let me = client.clone();
        tokio::spawn(async move {
            while let Some(Ok(msg)) = stream.next().await {
                let Message::Text(text) = msg else { continue };
                let s = text.as_str();
                match wire::classify(s) {
                    Frame::Ack(id, body) => {
                        let entry = lock(&me.pending).remove(&id);
                        if let Some((sent, on_ack)) = entry {
                            on_ack(sent.elapsed().as_micros() as u64, body);
                        }
                    }
                    Frame::Event(name) => {
                        if let Some(f) = &on_event {
                            f(name, s);
                        }
                    }
                    Frame::Ping if me.sink.lock().await.send(Message::text("3")).await.is_err() => {
                        break;
                    }
                    Frame::Closed => break,
                    _ => {}
                }
            }
            me.alive.store(false, Ordering::Relaxed);
        });
        Ok(client)
    }

    /// Sends `event` with the JSON object `payload` and an ack id; `on_ack` runs when the
    /// ack arrives. False when the socket is gone (the callback is dropped).
    pub async fn send(&self, event: &str, payload: &str, on_ack: OnAck) -> bool {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let frame = format!("42{id}[\"{event}\",{payload}]");
        lock(&self.pending).insert(id, (Instant::now(), on_ack));
        let sent = self
            .sink
            .lock()
            .await
            .send(Message::text(frame))
            .await
            .is_ok();
        if !sent {
            lock(&self.pending).remove(&id);
            self.alive.store(false, Ordering::Relaxed);
        }
        sent
    }

    /// Sends a command and waits (at most `limit`) for its ack: `(latency µs, payload)`.
    pub async fn call(
        &self,
        event: &str,
        payload: &str,
        limit: Duration,
    ) -> anyhow::Result<(u64, String)> {
        let (tx, rx) = oneshot::channel();
        let on_ack: OnAck = Box::new(move |us, body| {
            let _ = tx.send((us, body.to_owned()));
        });
        if !self.send(event, payload, on_ack).await {
            bail!("{event}: the socket is closed");
        }
        match tokio::time::timeout(limit, rx).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(_)) => bail!("{event}: the socket closed before the ack"),
            Err(_) => bail!("{event}: no ack within {limit:?}"),
        }
    }

    /// Like `call`, but the ack must say `ok:true`; returns its `data`.
    pub async fn call_ok(
        &self,
        event: &str,
        payload: &str,
        limit: Duration,
    ) -> anyhow::Result<Value> {
        let (_, body) = self.call(event, payload, limit).await?;
        ack_data(event, &body)
    }

    /// Commands sent and not acknowledged yet.
    pub fn pending(&self) -> usize {
        lock(&self.pending).len()
    }

    /// Forgets the unacknowledged commands; returns how many there were.
    pub fn clear_pending(&self) -> usize {
        let mut p = lock(&self.pending);
        let n = p.len();
        p.clear();
        n
    }

    pub fn is_alive(&self) -> bool {
        self.alive.load(Ordering::Relaxed)
    }
}

/// The `data` of an `ok:true` ack payload (`[{"ok":true,"data":…}]`).
pub fn ack_data(event: &str, body: &str) -> anyhow::Result<Value> {
    let v: Value =
        serde_json::from_str(body).with_context(|| format!("{event}: ack is not JSON"))?;
    let ack = v.get(0).ok_or_else(|| anyhow!("{event}: empty ack"))?;
    if ack.get("ok").and_then(Value::as_bool) != Some(true) {
        bail!("{event} refused: {}", clip(body, 300));
    }
    Ok(ack.get("data").cloned().unwrap_or(Value::Null))
}

/// Opens `n` clients (`user(i)`), `concurrency` handshakes at a time; fails if any fails.
pub async fn open_clients(
    env: &Arc<Env>,
    n: usize,
    user: impl Fn(usize) -> String,
    on_event: impl Fn(usize) -> Option<OnEvent>,
) -> anyhow::Result<Vec<Arc<Client>>> {
    let gate = Arc::new(Semaphore::new(env.common.connect_concurrency.max(1)));
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let (env, gate, user, on_event) = (env.clone(), gate.clone(), user(i), on_event(i));
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire_owned().await?;
            Client::open(&env, &user, on_event).await
        }));
    }
    let mut clients = Vec::with_capacity(n);
    for (i, t) in tasks.into_iter().enumerate() {
        clients.push(t.await?.with_context(|| format!("client {i}"))?);
    }
    Ok(clients)
}

// ---------------------------------------------------------------------------------------
// Passive receivers

/// Sends `42<id>[event, payload]` and waits for ack `id` with `ok:true` (answering pings).
async fn setup_command(ws: &mut Ws, id: u64, event: &str, payload: &str) -> anyhow::Result<()> {
    ws.send(Message::text(format!("42{id}[\"{event}\",{payload}]")))
        .await?;
    loop {
        let text = crate::next_text(ws).await?;
        match wire::classify(&text) {
            Frame::Ack(got, body) if got == id => {
                if wire::ack_ok(body) {
                    return Ok(());
                }
                bail!("{event} refused: {}", clip(body, 200));
            }
            Frame::Ping => ws.send(Message::text("3")).await?,
            Frame::Closed => bail!("closed during {event}"),
            _ => {}
        }
    }
}

/// Called with `(receiver index, event name, whole frame)` for each event received.
pub type OnFrame = Arc<dyn Fn(usize, &str, &str) + Send + Sync>;

/// How one passive receiver connects: its user and the commands it sends first.
pub struct Setup {
    pub user: String,
    pub commands: Vec<(String, String)>,
}

/// Passive receivers that are connected and set up.
pub struct Receivers {
    pub joined: Vec<usize>,
    pub failures: BTreeMap<String, u64>,
    pub connect_secs: f64,
    pub disconnected: Arc<AtomicU64>,
    pub disconnect_reasons: Arc<Mutex<BTreeMap<String, u64>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Receivers {
    /// Stops every receiver (drops its socket).
    pub fn stop(&self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Connects `n` passive receivers, runs each one's setup commands, then hands every
/// event they receive to `on_frame` until the run ends. Returns once all are set up or
/// failed.
pub async fn spawn_receivers(
    env: &Arc<Env>,
    n: usize,
    setup: impl Fn(usize) -> Setup,
    on_frame: OnFrame,
) -> anyhow::Result<Receivers> {
    let started = Instant::now();
    let gate = Arc::new(Semaphore::new(env.common.connect_concurrency.max(1)));
    let (ready_tx, mut ready_rx) = mpsc::unbounded_channel::<(usize, Result<(), String>)>();
    let disconnected = Arc::new(AtomicU64::new(0));
    let reasons = Arc::new(Mutex::new(BTreeMap::<String, u64>::new()));
    let mut tasks = Vec::with_capacity(n);
    for idx in 0..n {
        let permit = gate.clone().acquire_owned().await?;
        let (env, ready, on_frame, s) =
            (env.clone(), ready_tx.clone(), on_frame.clone(), setup(idx));
        let (disconnected, reasons) = (disconnected.clone(), reasons.clone());
        tasks.push(tokio::spawn(async move {
            let work = async {
                let token = env.token(&s.user)?;
                let mut ws = crate::connect(&env.ep, &token).await?;
                for (i, (event, payload)) in s.commands.iter().enumerate() {
                    setup_command(&mut ws, i as u64 + 1, event, payload).await?;
                }
                anyhow::Ok(ws)
            };
            let mut ws = match tokio::time::timeout(env.handshake_limit(), work).await {
                Ok(Ok(ws)) => ws,
                Ok(Err(e)) => {
                    let _ = ready.send((idx, Err(clip(&format!("{e:#}"), 200).to_owned())));
                    return;
                }
                Err(_) => {
                    let _ = ready.send((idx, Err("handshake timed out".into())));
                    return;
                }
            };
            drop(permit);
            let _ = ready.send((idx, Ok(())));
            drop(ready);
            let reason = loop {
                let Some(msg) = ws.next().await else {
                    break "stream ended".to_owned();
                };
                let text = match msg {
                    Ok(Message::Text(t)) => t,
                    Ok(Message::Close(frame)) => break format!("close frame {frame:?}"),
                    Ok(_) => continue,
                    Err(e) => break format!("error: {e}"),
                };
                let s = text.as_str();
                match wire::classify(s) {
                    Frame::Event(name) => on_frame(idx, name, s),
                    Frame::Ping => {
                        if let Err(e) = ws.send(Message::text("3")).await {
                            break format!("pong failed: {e}");
                        }
                    }
                    Frame::Closed => break format!("server closed: {s}"),
                    _ => {}
                }
            };
            disconnected.fetch_add(1, Ordering::Relaxed);
            *lock(&reasons).entry(reason).or_default() += 1;
        }));
    }
    drop(ready_tx);
    let mut joined = Vec::with_capacity(n);
    let mut failures = BTreeMap::new();
    while let Some((idx, outcome)) = ready_rx.recv().await {
        match outcome {
            Ok(()) => {
                joined.push(idx);
                if joined.len() % 2000 == 0 {
                    println!(
                        "  {} receivers set up ({:.1} s)",
                        joined.len(),
                        started.elapsed().as_secs_f64()
                    );
                }
            }
            Err(e) => *failures.entry(e).or_default() += 1,
        }
    }
    joined.sort_unstable();
    Ok(Receivers {
        joined,
        failures,
        connect_secs: (started.elapsed().as_secs_f64() * 10.0).round() / 10.0,
        disconnected,
        disconnect_reasons: reasons,
        tasks,
    })
}

// ---------------------------------------------------------------------------------------
// Counters

/// Kinds of event a scenario counts apart.
pub const KINDS: usize = 8;

/// Counters of a slice of the receivers; sharded so two cores rarely touch one line.
#[repr(align(128))]
#[derive(Default)]
pub struct Shard {
    pub n: [AtomicU64; KINDS],
    /// Latest arrival (µs since the epoch) of a counted delivery.
    pub last_us: AtomicU64,
    /// Delivery latencies.
    pub lat: AtomicHist,
}

const SHARDS: usize = 32;

/// Event counts by kind, per-receiver delivery counts, and latencies.
pub struct Tally {
    shards: Vec<Shard>,
    per_receiver: Vec<AtomicU64>,
}

impl Tally {
    pub fn new(receivers: usize) -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Shard::default()).collect(),
            per_receiver: (0..receivers).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// Counts one event of `kind` at receiver `idx`; a delivery (`lat_us` given) also
    /// moves the last-arrival time and the receiver's own count.
    pub fn add(&self, idx: usize, kind: usize, now: u64, lat_us: Option<u64>) {
        let shard = &self.shards[idx % SHARDS];
        shard.n[kind].fetch_add(1, Ordering::Relaxed);
        if let Some(lat) = lat_us {
            shard.lat.record(lat);
            shard.last_us.fetch_max(now, Ordering::Relaxed);
            if let Some(c) = self.per_receiver.get(idx) {
                c.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Counts a delivery without a latency sample.
    pub fn add_delivery(&self, idx: usize, kind: usize, now: u64) {
        let shard = &self.shards[idx % SHARDS];
        shard.n[kind].fetch_add(1, Ordering::Relaxed);
        shard.last_us.fetch_max(now, Ordering::Relaxed);
        if let Some(c) = self.per_receiver.get(idx) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn count(&self, kind: usize) -> u64 {
        self.shards
            .iter()
            .map(|s| s.n[kind].load(Ordering::Relaxed))
            .sum()
    }

    pub fn last_us(&self) -> u64 {
        self.shards
            .iter()
            .map(|s| s.last_us.load(Ordering::Relaxed))
            .max()
            .unwrap_or(0)
    }

    /// The latencies recorded since the last call (the shards are emptied).
    pub fn take_latency(&self) -> Hist {
        let mut h = Hist::default();
        for s in &self.shards {
            s.lat.drain_into(&mut h);
        }
        h
    }

    /// Min and max per-receiver delivery counts over `joined`.
    pub fn per_receiver_range(&self, joined: &[usize]) -> (u64, u64) {
        let (mut lo, mut hi) = (u64::MAX, 0);
        for &i in joined {
            let c = self
                .per_receiver
                .get(i)
                .map_or(0, |c| c.load(Ordering::Relaxed));
            lo = lo.min(c);
            hi = hi.max(c);
        }
        if joined.is_empty() { (0, 0) } else { (lo, hi) }
    }

    /// Zeroes every counter, latency and per-receiver count.
    pub fn reset(&self) {
        for s in &self.shards {
            for c in &s.n {
                c.store(0, Ordering::Relaxed);
            }
            s.last_us.store(0, Ordering::Relaxed);
            s.lat.drain_into(&mut Hist::default());
        }
        for c in &self.per_receiver {
            c.store(0, Ordering::Relaxed);
        }
    }
}

/// Acks of one command kind: ok, refusals by code, latencies.
#[derive(Default)]
pub struct AckStats {
    pub sent: AtomicU64,
    pub ok: AtomicU64,
    pub errors: Mutex<BTreeMap<String, u64>>,
    pub lat: Mutex<Hist>,
    /// Latest ack arrival (µs since the epoch).
    pub last_us: AtomicU64,
}

impl AckStats {
    /// Records one ack: latency, ok or the refusal's code. Returns whether it was ok.
    pub fn record(&self, us: u64, body: &str) -> bool {
        lock(&self.lat).record(us);
        self.last_us.fetch_max(now_us(), Ordering::Relaxed);
        if wire::ack_ok(body) {
            self.ok.fetch_add(1, Ordering::Relaxed);
            true
        } else {
            *lock(&self.errors)
                .entry(crate::error_code(body))
                .or_default() += 1;
            false
        }
    }

    pub fn reset(&self) {
        self.sent.store(0, Ordering::Relaxed);
        self.ok.store(0, Ordering::Relaxed);
        self.last_us.store(0, Ordering::Relaxed);
        lock(&self.errors).clear();
        *lock(&self.lat) = Hist::default();
    }

    pub fn refused(&self) -> u64 {
        lock(&self.errors).values().sum()
    }

    /// `{sent, ok, refused: {code: n}, ack_ms: {count, p50, p99, max}}`.
    pub fn to_json(&self) -> Value {
        json!({
            "sent": self.sent.load(Ordering::Relaxed),
            "ok": self.ok.load(Ordering::Relaxed),
            "refused": lock(&self.errors).clone(),
            "ack_ms": lock(&self.lat).summary_ms(),
        })
    }
}

// ---------------------------------------------------------------------------------------
// CPU

/// CPU time of the server, this process and the whole machine over a window.
pub struct CpuMeter {
    pid: Option<u32>,
    started: Instant,
    server: Option<u64>,
    bench: Option<u64>,
    machine: Option<(u64, u64)>,
}

/// CPU use over a window, in % of one core (the machine has 100% × cores).
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuUse {
    pub server: Option<f64>,
    pub bench: Option<f64>,
    /// Everything else: the machine minus the server and the load generator.
    pub other: Option<f64>,
    pub steal: Option<f64>,
}

impl CpuMeter {
    pub fn start(pid: Option<u32>) -> Self {
        Self {
            pid,
            started: Instant::now(),
            server: pid.and_then(|p| procfs::cpu_ticks(Some(p))),
            bench: procfs::cpu_ticks(None),
            machine: procfs::machine_ticks(),
        }
    }

    pub fn stop(&self) -> CpuUse {
        let secs = self.started.elapsed().as_secs_f64().max(1e-3);
        let pct =
            |ticks: u64| (ticks as f64 / procfs::TICKS_PER_SEC / secs * 1000.0).round() / 10.0;
        let server = match (
            self.server,
            self.pid.and_then(|p| procfs::cpu_ticks(Some(p))),
        ) {
            (Some(a), Some(b)) => Some(pct(b.saturating_sub(a))),
            _ => None,
        };
        let bench = match (self.bench, procfs::cpu_ticks(None)) {
            (Some(a), Some(b)) => Some(pct(b.saturating_sub(a))),
            _ => None,
        };
        let (machine, steal) = match (self.machine, procfs::machine_ticks()) {
            (Some(a), Some(b)) => (
                Some(pct(b.0.saturating_sub(a.0))),
                Some(pct(b.1.saturating_sub(a.1))),
            ),
            _ => (None, None),
        };
        let other = match (machine, bench) {
            (Some(m), Some(b)) => {
                Some(((m - b - server.unwrap_or(0.0)).max(0.0) * 10.0).round() / 10.0)
            }
            _ => None,
        };
        CpuUse {
            server,
            bench,
            other,
            steal,
        }
    }
}

impl CpuUse {
    pub fn to_json(self) -> Value {
        json!({
            "server_cpu_pct": self.server,
            "bench_cpu_pct": self.bench,
            "other_cpu_pct": self.other,
            "steal_pct": self.steal,
        })
    }

    pub fn line(self) -> String {
        format!(
            "CPU (% of one core): server {}, bench {}, other processes {}, stolen {}",
            crate::opt(self.server),
            crate::opt(self.bench),
            crate::opt(self.other),
            crate::opt(self.steal)
        )
    }
}

/// Samples the server's RSS every 500 ms until dropped; keeps the largest value.
pub struct RssPeak {
    peak: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl RssPeak {
    pub fn start(pid: Option<u32>) -> Self {
        let peak = Arc::new(AtomicU64::new(0));
        let p = peak.clone();
        let task = tokio::spawn(async move {
            let Some(pid) = pid else { return };
            loop {
                if let Some(kb) = procfs::rss_kb(Some(pid)) {
                    p.fetch_max(kb, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        });
        Self { peak, task }
    }

    pub fn peak_kb(&self) -> Option<u64> {
        Some(self.peak.load(Ordering::Relaxed)).filter(|&k| k > 0)
    }
}

impl Drop for RssPeak {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The milliseconds of a UUIDv7 (its first 48 bits) as µs since the epoch: Chorus's
/// ids are v7, so an event that carries one carries the time the server made it.
pub fn uuid7_us(id: &str) -> Option<u64> {
    let hex: String = id.chars().filter(|c| *c != '-').take(12).collect();
    if hex.len() != 12 {
        return None;
    }
    u64::from_str_radix(&hex, 16).ok().map(|ms| ms * 1000)
}

/// The string value of the first `"key":"…"` in a frame, without parsing JSON.
pub fn str_field<'a>(frame: &'a str, key: &str) -> Option<&'a str> {
    let pat = format!("\"{key}\":\"");
    let at = frame.find(&pat)? + pat.len();
    let rest = &frame[at..];
    Some(&rest[..rest.find('"')?])
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn uuid7_time_is_its_first_48_bits() {
        // 0x018f_3c5a_1b2c ms.
        assert_eq!(
            uuid7_us("018f3c5a-1b2c-7000-8000-000000000000"),
            Some(0x018f_3c5a_1b2c * 1000)
        );
        assert_eq!(uuid7_us("xyz"), None);
    }

    #[test]
    fn str_field_reads_the_first_match() {
        let f = r#"42["gift:sent",{"streamId":"s1","transactionId":"t-1","x":1}]"#;
        assert_eq!(str_field(f, "transactionId"), Some("t-1"));
        assert_eq!(str_field(f, "streamId"), Some("s1"));
        assert_eq!(str_field(f, "nope"), None);
    }

    #[test]
    fn base36_spells_numbers() {
        assert_eq!(base36(0), "0");
        assert_eq!(base36(35), "z");
        assert_eq!(base36(36), "10");
    }

    #[test]
    fn tally_counts_and_resets() {
        let t = Tally::new(4);
        t.add(1, 0, 10, Some(5));
        t.add(2, 0, 20, Some(7));
        t.add(3, 1, 30, None);
        assert_eq!(t.count(0), 2);
        assert_eq!(t.count(1), 1);
        assert_eq!(t.last_us(), 20);
        assert_eq!(t.per_receiver_range(&[1, 2, 3]), (0, 1));
        assert_eq!(t.take_latency().count(), 2);
        t.reset();
        assert_eq!(t.count(0), 0);
        assert_eq!(t.last_us(), 0);
    }
}
