//! `chorus-bench`: the load generator that measures Chorus against the reference servers.
//!
//! `chorus-bench run` opens N receiver connections to one content room, measures the
//! server's idle memory per connection, then drives likes and comments from M publishers
//! at one or more fixed rates and reports deliveries per second, lost deliveries, ack
//! latency and delivery latency for each rate. `chorus-bench report` turns the one-line
//! JSON results of several runs into the Markdown tables of BENCHMARKS.md.

mod chat;
mod engage;
mod feed;
mod hist;
mod jwt;
mod procfs;
mod stream;
mod wire;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU8, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, anyhow, bail};
use clap::{Parser, Subcommand};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{Semaphore, mpsc};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use hist::{AtomicHist, Hist, ms};
use wire::Frame;

type Ws = WebSocketStream<TcpStream>;

#[derive(Parser)]
#[command(
    version,
    about = "Load generator for Chorus and the reference Socket.IO servers"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Connect receivers, measure idle memory, then broadcast at each rate.
    Run(Box<RunArgs>),
    /// Connect one socket, join, like and comment once, and print every frame: a quick
    /// look at a server's ack and broadcast shapes.
    Probe {
        #[arg(long, default_value = "http://127.0.0.1:3000")]
        url: String,
        #[arg(long, default_value = "bench-content")]
        content_id: String,
        #[arg(long, default_value = "bench-secret")]
        jwt_secret: String,
    },
    /// Engagement: persisted chat messages per second (`chat:send`, acked after a
    /// durable write), ack latency, and a check that the store holds what was acked.
    Chat(Box<chat::ChatArgs>),
    /// Engagement: `feed:refresh` fan-out from one creator to N online followers, with a
    /// side client's ack latency during the fan-out.
    Feed(Box<feed::FeedArgs>),
    /// Engagement: one live stream with N viewers, `stream:chat` and `gift:send` traffic.
    Stream(Box<stream::StreamArgs>),
    /// Print the Markdown tables of `chat`, `feed` and `stream` result files.
    EngageReport {
        /// Result files written by `--json-out` (or captured stdout).
        files: Vec<PathBuf>,
    },
    /// Print Markdown tables from files holding `RESULT {json}` lines.
    Report {
        /// Result files written by `run --json-out` (or captured stdout).
        files: Vec<PathBuf>,
    },
}

#[derive(clap::Args, Clone)]
struct RunArgs {
    /// Base URL of the server (http://HOST:PORT); the bench connects to
    /// ws://HOST:PORT/socket.io/?EIO=4&transport=websocket.
    #[arg(long, default_value = "http://127.0.0.1:3000")]
    url: String,
    /// Name of the server in the results.
    #[arg(long, default_value = "server")]
    label: String,
    /// Receiver connections, all joined to the content room.
    #[arg(long, default_value_t = 1000)]
    receivers: usize,
    /// Publisher connections (not in the room) that send the likes and comments.
    #[arg(long, default_value_t = 10)]
    publishers: usize,
    /// Publish rates to run in turn, in commands per second across all publishers
    /// (deliveries per second offered = rate × receivers). Comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "10")]
    rates: Vec<f64>,
    /// Seconds of publishing at each rate.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// The content id whose room everyone joins.
    #[arg(long, default_value = "bench-content")]
    content_id: String,
    /// HS256 secret the tokens are signed with (Chorus's --jwt-secret).
    #[arg(long, default_value = "bench-secret")]
    jwt_secret: String,
    /// Server key; when given, the content is registered first with
    /// PUT /api/server/content/{id} (Chorus only).
    #[arg(long)]
    server_key: Option<String>,
    /// Likes to comments, as `L:C` (`1:0` is likes only).
    #[arg(long, default_value = "1:1")]
    mix: String,
    /// Server process id, for resident memory and CPU time from /proc.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Handshakes in flight at once while connecting receivers.
    #[arg(long, default_value_t = 100)]
    connect_concurrency: usize,
    /// Seconds to wait after all receivers joined before reading idle memory.
    #[arg(long, default_value_t = 5.0)]
    idle_secs: f64,
    /// Seconds without a new delivery after which a rate's drain ends.
    #[arg(long, default_value_t = 3.0)]
    drain_quiet_secs: f64,
    /// Longest drain after publishing stops, in seconds.
    #[arg(long, default_value_t = 20.0)]
    drain_max_secs: f64,
    /// A rate passes when ack p99 and delivery p99 stay under this (milliseconds) and
    /// nothing is lost, unacked or refused.
    #[arg(long, default_value_t = 1000.0)]
    max_p99_ms: f64,
    /// Run every rate even after one fails (default: stop at the first failure).
    #[arg(long)]
    keep_going: bool,
    /// A rate that fails while other processes kept the machine more than 20% busy (or
    /// the hypervisor stole over 10%) is run again this many times, after waiting (up to
    /// a minute) for the machine to be quiet.
    #[arg(long, default_value_t = 1)]
    noisy_retries: u32,
    /// Threads of the load generator (1 = a current-thread runtime).
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Also write the `RESULT {json}` line to this file.
    #[arg(long)]
    json_out: Option<PathBuf>,
    /// Seconds allowed for one connection's handshake and join.
    #[arg(long, default_value_t = 30.0)]
    handshake_timeout: f64,
    /// Cluster runs: spread the receivers round-robin over these nodes (base URLs);
    /// publishers stay on --url, so receivers elsewhere measure cross-node delivery.
    #[arg(long, value_delimiter = ',')]
    receiver_urls: Vec<String>,
    /// Every Nth receiver speaks the `video` dialect (Chorus only; 2 = half of them):
    /// it connects with `auth.dialect = "video"`, joins with `video:join` and counts
    /// `video:like` and `video:comment` (0 = every receiver is native).
    #[arg(long, default_value_t = 0)]
    video_every: usize,
    /// Cluster runs: other server processes (the other nodes, Redis) whose CPU counts as
    /// the server's, not as noise.
    #[arg(long, value_delimiter = ',')]
    extra_server_pids: Vec<u32>,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Run(args) => {
            // One thread runs a current-thread runtime: no cross-thread wake-ups, and the
            // server keeps the other core to itself.
            let rt = if args.threads <= 1 {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?
            } else {
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(args.threads)
                    .enable_all()
                    .build()?
            };
            let result = rt.block_on(run(*args.clone()))?;
            // Dropping thousands of sockets is quicker than closing each politely.
            rt.shutdown_background();
            let line = format!("RESULT {}", serde_json::to_string(&result)?);
            println!("{line}");
            if let Some(path) = &args.json_out {
                std::fs::write(path, format!("{line}\n"))
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            Ok(())
        }
        Command::Chat(args) => {
            let common = args.common.clone();
            engage_main(&common, chat::run(*args))
        }
        Command::Feed(args) => {
            let common = args.common.clone();
            engage_main(&common, feed::run(*args))
        }
        Command::Stream(args) => {
            let common = args.common.clone();
            engage_main(&common, stream::run(*args))
        }
        Command::EngageReport { files } => engage_report(&files),
        Command::Report { files } => report(&files),
        Command::Probe {
            url,
            content_id,
            jwt_secret,
        } => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(probe(url, content_id, jwt_secret)),
    }
}

/// Runs one engagement scenario on its own runtime and prints its `RESULT` line.
fn engage_main(
    common: &engage::Common,
    scenario: impl std::future::Future<Output = anyhow::Result<Value>>,
) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(common.threads.max(1))
        .enable_all()
        .build()?;
    let result = rt.block_on(scenario)?;
    rt.shutdown_background();
    engage::emit_result(common, &result)
}

/// `engage-report`: the Markdown tables of each engagement result, by scenario.
fn engage_report(files: &[PathBuf]) -> anyhow::Result<()> {
    for f in files {
        let text =
            std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
        for line in text.lines() {
            let Some(j) = line.strip_prefix("RESULT ") else {
                continue;
            };
            let r: Value = serde_json::from_str(j)?;
            let when = r["date_unix"].as_u64().unwrap_or(0);
            println!(
                "**{}** against {} (run {}, unix time {when}):\n",
                r["scenario"].as_str().unwrap_or("?"),
                r["server"].as_str().unwrap_or("?"),
                r["run"].as_str().unwrap_or("?")
            );
            match r["scenario"].as_str() {
                Some("chat") => chat::report(&r),
                Some("feed") => feed::report(&r),
                Some("stream") => stream::report(&r),
                _ => println!("(not an engagement result)"),
            }
            println!();
        }
    }
    Ok(())
}

fn opt(x: Option<f64>) -> String {
    x.map_or_else(|| "?".into(), |x| format!("{x}"))
}

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// JSON string literal of `s`.
fn json_str(s: &str) -> String {
    Value::from(s).to_string()
}

// ---------------------------------------------------------------------------------------
// Shared counters

const SHARDS: usize = 32;

/// Counters of a slice of the receivers; sharded so two cores rarely touch one line.
#[repr(align(128))]
#[derive(Default)]
struct RecvShard {
    likes: AtomicU64,
    comments: AtomicU64,
    counts: AtomicU64,
    viewers: AtomicU64,
    other: AtomicU64,
    /// Latest delivery time seen (µs since the epoch).
    last_us: AtomicU64,
    /// Like broadcasts: receive time minus the server's `timestamp` field.
    like_lat: AtomicHist,
    /// Comment broadcasts: receive time minus the publisher's send time in the text.
    comment_lat: AtomicHist,
}

struct RecvStats {
    shards: Vec<RecvShard>,
    /// Deliveries (likes + comments) per receiver in the current rate.
    per_receiver: Vec<AtomicU32>,
    disconnected: AtomicU64,
    disconnect_reasons: Mutex<BTreeMap<String, u64>>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Like,
    Comment,
}

#[derive(Default)]
struct PubStats {
    sent: AtomicU64,
    ok: AtomicU64,
    errors: Mutex<BTreeMap<String, u64>>,
    ack: Mutex<Hist>,
    disconnected: AtomicU64,
}

/// Where and how to open a Socket.IO WebSocket.
struct Endpoint {
    addr: SocketAddr,
    ws_url: String,
    ws_config: WebSocketConfig,
}

impl Endpoint {
    async fn resolve(url: &str, ws_config: WebSocketConfig) -> anyhow::Result<Self> {
        let host = host_port(url)?;
        let addr = tokio::net::lookup_host(&host)
            .await?
            .next()
            .ok_or_else(|| anyhow!("cannot resolve {host}"))?;
        Ok(Self {
            addr,
            ws_url: format!("ws://{host}/socket.io/?EIO=4&transport=websocket"),
            ws_config,
        })
    }
}

struct Ctx {
    args: RunArgs,
    ep: Endpoint,
    /// Where receivers connect (round-robin); empty = `ep`.
    receiver_eps: Vec<Endpoint>,
    /// Comment delivery latency per receiver node (index as in `receiver_eps`).
    node_lat: Vec<AtomicHist>,
    recv: RecvStats,
    pubs: PubStats,
}

impl Ctx {
    /// The node receiver `idx` connects to.
    fn receiver_node(&self, idx: usize) -> (usize, &Endpoint) {
        match self.receiver_eps.len() {
            0 => (0, &self.ep),
            n => (idx % n, &self.receiver_eps[idx % n]),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

// ---------------------------------------------------------------------------------------
// Connections

/// Opens the WebSocket, waits for the Engine.IO open packet, connects the default
/// namespace with `{"token"}` auth and waits for the CONNECT ack.
async fn connect(ep: &Endpoint, token: &str) -> anyhow::Result<Ws> {
    connect_speaking(ep, token, None).await
}

/// `connect`, with `auth.dialect` when a dialect is named.
async fn connect_speaking(ep: &Endpoint, token: &str, dialect: Option<&str>) -> anyhow::Result<Ws> {
    let tcp = TcpStream::connect(ep.addr).await.context("tcp connect")?;
    tcp.set_nodelay(true)?;
    let (mut ws, _) =
        tokio_tungstenite::client_async_with_config(ep.ws_url.as_str(), tcp, Some(ep.ws_config))
            .await
            .context("websocket handshake")?;
    loop {
        let text = next_text(&mut ws).await?;
        match wire::classify(&text) {
            Frame::Open => break,
            Frame::Ping => ws.send(Message::text("3")).await?,
            _ => {}
        }
    }
    let auth = match dialect {
        Some(d) => format!("40{{\"token\":{},\"dialect\":{}}}", json_str(token), json_str(d)),
        None => format!("40{{\"token\":{}}}", json_str(token)),
    };
    ws.send(Message::text(auth)).await?;
    loop {
        let text = next_text(&mut ws).await?;
        match wire::classify(&text) {
            Frame::Connected => return Ok(ws),
            Frame::Refused(why) => bail!("connect refused: {why}"),
            Frame::Closed => bail!("closed during connect"),
            Frame::Ping => ws.send(Message::text("3")).await?,
            _ => {}
        }
    }
}

async fn next_text(ws: &mut Ws) -> anyhow::Result<String> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => return Ok(t.as_str().to_owned()),
            Some(Ok(Message::Close(_))) | None => bail!("connection closed"),
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(e.into()),
        }
    }
}

/// Sends `content:join` (`video:join` in the video dialect) with ack id 0 and waits
/// for an `ok:true` ack.
async fn join(ws: &mut Ws, content_id: &str, dialect: Option<&str>) -> anyhow::Result<()> {
    let event = if dialect == Some("video") { "video:join" } else { "content:join" };
    ws.send(Message::text(format!(
        "420[\"{event}\",{{\"contentId\":{}}}]",
        json_str(content_id)
    )))
    .await?;
    loop {
        let text = next_text(ws).await?;
        match wire::classify(&text) {
            Frame::Ack(0, body) if wire::ack_ok(body) => return Ok(()),
            Frame::Ack(0, body) => bail!("join refused: {body}"),
            Frame::Ping => ws.send(Message::text("3")).await?,
            Frame::Closed => bail!("closed during join"),
            _ => {}
        }
    }
}

/// One receiver: connect, join, report, then count deliveries until the socket closes.
async fn receiver(
    ctx: Arc<Ctx>,
    idx: usize,
    permit: tokio::sync::OwnedSemaphorePermit,
    ready: mpsc::UnboundedSender<(usize, Result<(), String>)>,
) {
    let setup = async {
        let token = jwt::mint(
            ctx.args.jwt_secret.as_bytes(),
            &format!("bench-r{idx}"),
            Some(&format!("receiver {idx}")),
            now_us() / 1_000_000 + 86_400,
        )?;
        let dialect = (ctx.args.video_every > 0 && idx % ctx.args.video_every == 0).then_some("video");
        let mut ws = connect_speaking(ctx.receiver_node(idx).1, &token, dialect).await?;
        join(&mut ws, &ctx.args.content_id, dialect).await?;
        anyhow::Ok(ws)
    };
    let limit = Duration::from_secs_f64(ctx.args.handshake_timeout);
    let ws = match tokio::time::timeout(limit, setup).await {
        Ok(Ok(ws)) => ws,
        Ok(Err(e)) => {
            let _ = ready.send((idx, Err(format!("{e:#}"))));
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
    let reason = receive_loop(&ctx, idx, ws).await;
    ctx.recv.disconnected.fetch_add(1, Ordering::Relaxed);
    *lock(&ctx.recv.disconnect_reasons)
        .entry(reason)
        .or_default() += 1;
}

/// Counts deliveries and answers pings; returns why the connection ended.
async fn receive_loop(ctx: &Ctx, idx: usize, mut ws: Ws) -> String {
    let shard = &ctx.recv.shards[idx % SHARDS];
    let mine = &ctx.recv.per_receiver[idx];
    let node_lat = ctx.node_lat.get(ctx.receiver_node(idx).0);
    while let Some(msg) = ws.next().await {
        let text = match msg {
            Ok(Message::Text(t)) => t,
            Ok(Message::Close(frame)) => return format!("close frame {frame:?}"),
            Ok(_) => continue,
            Err(e) => return format!("error: {e}"),
        };
        let s = text.as_str();
        match wire::classify(s) {
            Frame::Event("content:like" | "video:like") => {
                let now = now_us();
                shard.likes.fetch_add(1, Ordering::Relaxed);
                mine.fetch_add(1, Ordering::Relaxed);
                if let Some(sent) = wire::timestamp_us(s) {
                    shard.like_lat.record(now.saturating_sub(sent));
                }
                shard.last_us.fetch_max(now, Ordering::Relaxed);
            }
            Frame::Event("content:comment" | "video:comment") => {
                let now = now_us();
                shard.comments.fetch_add(1, Ordering::Relaxed);
                mine.fetch_add(1, Ordering::Relaxed);
                if let Some(sent) = wire::comment_sent_us(s).or_else(|| wire::timestamp_us(s)) {
                    shard.comment_lat.record(now.saturating_sub(sent));
                    if let Some(h) = node_lat {
                        h.record(now.saturating_sub(sent));
                    }
                }
                shard.last_us.fetch_max(now, Ordering::Relaxed);
            }
            Frame::Event("content:counts") => {
                shard.counts.fetch_add(1, Ordering::Relaxed);
            }
            Frame::Event("content:viewers") => {
                shard.viewers.fetch_add(1, Ordering::Relaxed);
            }
            Frame::Event(_) => {
                shard.other.fetch_add(1, Ordering::Relaxed);
            }
            Frame::Ping => {
                if let Err(e) = ws.send(Message::text("3")).await {
                    return format!("pong failed: {e}");
                }
            }
            Frame::Closed => return format!("server closed: {s}"),
            _ => {}
        }
    }
    "stream ended".into()
}

/// A publisher connection: commands go out through `sink`, acks come back on a reader task.
struct Publisher {
    idx: usize,
    sink: tokio::sync::Mutex<SplitSink<Ws, Message>>,
    /// Ack id → (send time, kind) of commands not yet acknowledged.
    pending: Mutex<HashMap<u64, (Instant, Kind)>>,
    next_id: AtomicU64,
    /// `isLiked` of the latest like ack: 0 none yet, 1 false, 2 true.
    like_state: AtomicU8,
    /// Like acks in this rate that repeated the previous ack's `isLiked`. Toggles
    /// alternate, so each repeat is a toggle the server acknowledged without applying
    /// (or, rarer, two acks that arrived out of order).
    like_repeats: AtomicU64,
}

async fn open_publisher(ctx: Arc<Ctx>, idx: usize) -> anyhow::Result<Arc<Publisher>> {
    let token = jwt::mint(
        ctx.args.jwt_secret.as_bytes(),
        &format!("bench-p{idx}"),
        Some(&format!("publisher {idx}")),
        now_us() / 1_000_000 + 86_400,
    )?;
    let ws = connect(&ctx.ep, &token).await?;
    let (sink, stream) = ws.split();
    let publisher = Arc::new(Publisher {
        idx,
        sink: tokio::sync::Mutex::new(sink),
        pending: Mutex::new(HashMap::new()),
        next_id: AtomicU64::new(1),
        like_state: AtomicU8::new(0),
        like_repeats: AtomicU64::new(0),
    });
    tokio::spawn(read_acks(ctx, publisher.clone(), stream));
    Ok(publisher)
}

async fn read_acks(ctx: Arc<Ctx>, p: Arc<Publisher>, mut stream: SplitStream<Ws>) {
    while let Some(Ok(msg)) = stream.next().await {
        let Message::Text(text) = msg else { continue };
        match wire::classify(text.as_str()) {
            Frame::Ack(id, body) => {
                let Some((sent, kind)) = lock(&p.pending).remove(&id) else {
                    continue;
                };
                lock(&ctx.pubs.ack).record(sent.elapsed().as_micros() as u64);
                if wire::ack_ok(body) {
                    ctx.pubs.ok.fetch_add(1, Ordering::Relaxed);
                    let state = if body.contains("\"isLiked\":true") {
                        2
                    } else if body.contains("\"isLiked\":false") {
                        1
                    } else {
                        0
                    };
                    if kind == Kind::Like
                        && state != 0
                        && p.like_state.swap(state, Ordering::Relaxed) == state
                    {
                        p.like_repeats.fetch_add(1, Ordering::Relaxed);
                    }
                } else {
                    *lock(&ctx.pubs.errors).entry(error_code(body)).or_default() += 1;
                }
            }
            Frame::Ping if p.sink.lock().await.send(Message::text("3")).await.is_err() => break,
            Frame::Closed => break,
            _ => {}
        }
    }
    ctx.pubs.disconnected.fetch_add(1, Ordering::Relaxed);
}

/// The `error.code` of a refusal ack (`[{"ok":false,"error":{"code":..}}]`).
fn error_code(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| {
            v.get(0)?
                .get("error")?
                .get("code")?
                .as_str()
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "unparsed_ack".into())
}

/// How one publisher sends its share of one rate.
struct Schedule {
    start: Instant,
    duration: Duration,
    period: Duration,
    offset: Duration,
    publishers: usize,
    mix: (u64, u64),
}

async fn publish(ctx: Arc<Ctx>, p: Arc<Publisher>, s: Schedule) {
    let content = json_str(&ctx.args.content_id);
    let end = s.start + s.duration;
    for k in 0u64.. {
        let at = s.start + s.offset + s.period.mul_f64(k as f64);
        if at >= end {
            break;
        }
        tokio::time::sleep_until(at.into()).await;
        let global = k * s.publishers as u64 + p.idx as u64;
        let kind = if global % (s.mix.0 + s.mix.1) < s.mix.0 {
            Kind::Like
        } else {
            Kind::Comment
        };
        let id = p.next_id.fetch_add(1, Ordering::Relaxed);
        let frame = match kind {
            Kind::Like => format!("42{id}[\"content:like\",{{\"contentId\":{content}}}]"),
            Kind::Comment => format!(
                "42{id}[\"content:comment\",{{\"contentId\":{content},\"text\":\"bench {} p{} s{k}\"}}]",
                now_us(),
                p.idx
            ),
        };
        lock(&p.pending).insert(id, (Instant::now(), kind));
        ctx.pubs.sent.fetch_add(1, Ordering::Relaxed);
        if p.sink
            .lock()
            .await
            .send(Message::text(frame))
            .await
            .is_err()
        {
            lock(&p.pending).remove(&id);
            break;
        }
    }
}

// ---------------------------------------------------------------------------------------
// The run

fn parse_mix(mix: &str) -> anyhow::Result<(u64, u64)> {
    let (l, c) = mix
        .split_once(':')
        .ok_or_else(|| anyhow!("--mix must look like 1:1"))?;
    let (l, c): (u64, u64) = (l.trim().parse()?, c.trim().parse()?);
    if l + c == 0 {
        bail!("--mix must not be 0:0");
    }
    Ok((l, c))
}

fn host_port(url: &str) -> anyhow::Result<String> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("ws://"))
        .ok_or_else(|| anyhow!("--url must start with http:// or ws:// (no TLS)"))?;
    Ok(rest.split('/').next().unwrap_or(rest).to_owned())
}

/// A minimal HTTP/1.1 request (loopback only); returns the status code.
async fn http_request(
    addr: SocketAddr,
    host: &str,
    method: &str,
    path: &str,
    bearer: &str,
    body: &str,
) -> anyhow::Result<u16> {
    let mut tcp = TcpStream::connect(addr).await?;
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {bearer}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    tcp.write_all(req.as_bytes()).await?;
    let mut resp = Vec::new();
    tcp.read_to_end(&mut resp).await?;
    let head = String::from_utf8_lossy(&resp[..resp.len().min(64)]).into_owned();
    head.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| anyhow!("bad HTTP response: {head}"))
}

async fn run(args: RunArgs) -> anyhow::Result<Value> {
    let mix = parse_mix(&args.mix)?;
    let host = host_port(&args.url)?;
    let ws_config = WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0);
    let ep = Endpoint::resolve(&args.url, ws_config).await?;
    let addr = ep.addr;
    let mut receiver_eps = Vec::with_capacity(args.receiver_urls.len());
    for url in &args.receiver_urls {
        receiver_eps.push(Endpoint::resolve(url, ws_config).await?);
    }
    let node_lat = (0..receiver_eps.len().max(1)).map(|_| AtomicHist::default()).collect();
    let ctx = Arc::new(Ctx {
        ep,
        receiver_eps,
        node_lat,
        recv: RecvStats {
            shards: (0..SHARDS).map(|_| RecvShard::default()).collect(),
            per_receiver: (0..args.receivers).map(|_| AtomicU32::new(0)).collect(),
            disconnected: AtomicU64::new(0),
            disconnect_reasons: Mutex::new(BTreeMap::new()),
        },
        pubs: PubStats::default(),
        args: args.clone(),
    });

    if let Some(key) = &args.server_key {
        let path = format!("/api/server/content/{}", args.content_id);
        let status = http_request(addr, &host, "PUT", &path, key, r#"{"type":"video"}"#).await?;
        println!("registered content {}: HTTP {status}", args.content_id);
    }

    // Idle memory: RSS before any bench connection, then with every receiver joined.
    let rss_before = args.server_pid.and_then(|p| procfs::rss_kb(Some(p)));
    println!(
        "[{}] connecting {} receivers ({} handshakes in flight)…",
        args.label, args.receivers, args.connect_concurrency
    );
    let connect_started = Instant::now();
    let gate = Arc::new(Semaphore::new(args.connect_concurrency.max(1)));
    let (ready_tx, mut ready_rx) = mpsc::unbounded_channel();
    let mut tasks = Vec::with_capacity(args.receivers);
    for idx in 0..args.receivers {
        let permit = gate.clone().acquire_owned().await?;
        tasks.push(tokio::spawn(receiver(
            ctx.clone(),
            idx,
            permit,
            ready_tx.clone(),
        )));
    }
    drop(ready_tx);
    let mut joined = Vec::with_capacity(args.receivers);
    let mut failures: BTreeMap<String, u64> = BTreeMap::new();
    while let Some((idx, outcome)) = ready_rx.recv().await {
        match outcome {
            Ok(()) => {
                joined.push(idx);
                if joined.len() % 1000 == 0 {
                    println!(
                        "  {} joined ({:.1} s)",
                        joined.len(),
                        connect_started.elapsed().as_secs_f64()
                    );
                }
            }
            Err(e) => *failures.entry(e).or_default() += 1,
        }
    }
    let connect_secs = connect_started.elapsed().as_secs_f64();
    println!(
        "  {} of {} joined in {connect_secs:.1} s; failures: {failures:?}",
        joined.len(),
        args.receivers
    );
    tokio::time::sleep(Duration::from_secs_f64(args.idle_secs)).await;
    let rss_after = args.server_pid.and_then(|p| procfs::rss_kb(Some(p)));
    let kb_per_conn = match (rss_before, rss_after, joined.len()) {
        (Some(b), Some(a), n) if n > 0 => Some((a as f64 - b as f64) / n as f64),
        _ => None,
    };
    let idle = json!({
        "rss_before_kb": rss_before,
        "rss_after_kb": rss_after,
        "kb_per_connection": kb_per_conn.map(|k| (k * 10.0).round() / 10.0),
        "disconnected_while_idle": ctx.recv.disconnected.load(Ordering::Relaxed),
    });
    println!("  idle memory: {idle}");

    let mut publishers = Vec::with_capacity(args.publishers);
    for idx in 0..args.publishers {
        publishers.push(
            open_publisher(ctx.clone(), idx)
                .await
                .with_context(|| format!("publisher {idx}"))?,
        );
    }

    let mut steps = Vec::new();
    'rates: for &rate in &args.rates {
        if joined.is_empty() || publishers.is_empty() || rate <= 0.0 {
            break;
        }
        let mut retries = args.noisy_retries;
        loop {
            let step = run_rate(&ctx, &publishers, &joined, rate, mix).await;
            let pass = step.get("pass").and_then(Value::as_bool).unwrap_or(false);
            let noisy = step.get("noisy").and_then(Value::as_bool).unwrap_or(false);
            steps.push(step);
            if pass {
                break;
            }
            if noisy && retries > 0 {
                retries -= 1;
                println!(
                    "  other work shared the machine during this rate: waiting for quiet, then again"
                );
                wait_quiet(args.server_pid, Duration::from_secs(60)).await;
                continue;
            }
            if !args.keep_going {
                println!("  stopping the ramp: this rate failed");
                break 'rates;
            }
            break;
        }
    }

    for t in &tasks {
        t.abort();
    }
    Ok(json!({
        "server": args.label,
        "url": args.url,
        "date_unix": now_us() / 1_000_000,
        "receivers": args.receivers,
        "receivers_joined": joined.len(),
        "connect_failures": failures,
        "connect_secs": (connect_secs * 10.0).round() / 10.0,
        "publishers": args.publishers,
        "mix": args.mix,
        "duration_s": args.duration,
        "idle": idle,
        "steps": steps,
    }))
}

/// CPU ticks of the server: the main process plus, in cluster runs, the other nodes
/// and Redis (`None` if any of them cannot be read).
fn server_ticks(args: &RunArgs) -> Option<u64> {
    let main = procfs::cpu_ticks(Some(args.server_pid?))?;
    args.extra_server_pids.iter().try_fold(main, |sum, &pid| Some(sum + procfs::cpu_ticks(Some(pid))?))
}

/// CPU of everything but the server and this process, in % of one core, over `window`.
async fn other_cpu_pct(server_pid: Option<u32>, window: Duration) -> Option<f64> {
    let m0 = procfs::machine_ticks()?;
    let s0 = server_pid
        .and_then(|p| procfs::cpu_ticks(Some(p)))
        .unwrap_or(0);
    let b0 = procfs::cpu_ticks(None)?;
    tokio::time::sleep(window).await;
    let m1 = procfs::machine_ticks()?;
    let s1 = server_pid
        .and_then(|p| procfs::cpu_ticks(Some(p)))
        .unwrap_or(0);
    let b1 = procfs::cpu_ticks(None)?;
    let other = (m1.0 - m0.0) as f64 - (s1 - s0) as f64 - (b1 - b0) as f64;
    Some((other.max(0.0) / procfs::TICKS_PER_SEC / window.as_secs_f64()) * 100.0)
}

/// Waits until other processes use under 10% of a core, for at most `limit`.
async fn wait_quiet(server_pid: Option<u32>, limit: Duration) {
    let started = Instant::now();
    while started.elapsed() < limit {
        match other_cpu_pct(server_pid, Duration::from_secs(2)).await {
            Some(pct) if pct >= 10.0 => {}
            _ => return,
        }
    }
}

/// Publishes at `rate` commands/s for the run's duration, drains, and measures.
async fn run_rate(
    ctx: &Arc<Ctx>,
    publishers: &[Arc<Publisher>],
    joined: &[usize],
    rate: f64,
    mix: (u64, u64),
) -> Value {
    let args = &ctx.args;
    // Start from zero: whatever arrived between rates is not this rate's.
    let mut scratch = Hist::default();
    for s in &ctx.recv.shards {
        for c in [
            &s.likes,
            &s.comments,
            &s.counts,
            &s.viewers,
            &s.other,
            &s.last_us,
        ] {
            c.store(0, Ordering::Relaxed);
        }
        s.like_lat.drain_into(&mut scratch);
        s.comment_lat.drain_into(&mut scratch);
    }
    for c in &ctx.recv.per_receiver {
        c.store(0, Ordering::Relaxed);
    }
    for h in &ctx.node_lat {
        h.drain_into(&mut scratch);
    }
    ctx.pubs.sent.store(0, Ordering::Relaxed);
    ctx.pubs.ok.store(0, Ordering::Relaxed);
    lock(&ctx.pubs.errors).clear();
    *lock(&ctx.pubs.ack) = Hist::default();
    for p in publishers {
        p.like_repeats.store(0, Ordering::Relaxed);
    }
    let disconnected_before = ctx.recv.disconnected.load(Ordering::Relaxed);

    let m = publishers.len();
    let duration = Duration::from_secs_f64(args.duration);
    let per_pub = rate / m as f64;
    let start = Instant::now() + Duration::from_millis(100);
    let start_us = now_us() + 100_000;
    let cpu0 = server_ticks(args);
    let self0 = procfs::cpu_ticks(None);
    let machine0 = procfs::machine_ticks();
    println!(
        "[{}] rate {rate} commands/s × {} receivers = {:.0} deliveries/s offered, {} s…",
        args.label,
        joined.len(),
        rate * joined.len() as f64,
        args.duration
    );
    let mut senders = Vec::with_capacity(m);
    for (i, p) in publishers.iter().enumerate() {
        let schedule = Schedule {
            start,
            duration,
            period: Duration::from_secs_f64(1.0 / per_pub),
            offset: Duration::from_secs_f64(i as f64 / rate),
            publishers: m,
            mix,
        };
        senders.push(tokio::spawn(publish(ctx.clone(), p.clone(), schedule)));
    }
    for s in senders {
        let _ = s.await;
    }
    let send_done = Instant::now();

    // Drain: until everything expected has arrived, or deliveries stop, or time is up.
    let received_now = || -> u64 {
        ctx.recv
            .shards
            .iter()
            .map(|s| s.likes.load(Ordering::Relaxed) + s.comments.load(Ordering::Relaxed))
            .sum()
    };
    let pending_now = || -> usize { publishers.iter().map(|p| lock(&p.pending).len()).sum() };
    let quiet = Duration::from_secs_f64(args.drain_quiet_secs);
    let mut last_seen = received_now();
    let mut last_change = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let got = received_now();
        let expected = ctx.pubs.ok.load(Ordering::Relaxed) * joined.len() as u64;
        let pending = pending_now();
        if got != last_seen {
            last_seen = got;
            last_change = Instant::now();
        }
        if pending == 0 && got >= expected {
            break;
        }
        if pending == 0 && last_change.elapsed() >= quiet {
            break;
        }
        if send_done.elapsed().as_secs_f64() >= args.drain_max_secs {
            break;
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    let server_cpu = match (cpu0, server_ticks(args)) {
        (Some(a), Some(b)) => {
            Some(((b - a) as f64 / procfs::TICKS_PER_SEC / elapsed * 1000.0).round() / 10.0)
        }
        _ => None,
    };
    let pct = |ticks: u64| (ticks as f64 / procfs::TICKS_PER_SEC / elapsed * 1000.0).round() / 10.0;
    let (machine_cpu, steal) = match (machine0, procfs::machine_ticks()) {
        (Some(a), Some(b)) => (Some(pct(b.0 - a.0)), Some(pct(b.1 - a.1))),
        _ => (None, None),
    };
    let self_cpu = match (self0, procfs::cpu_ticks(None)) {
        (Some(a), Some(b)) => {
            Some(((b - a) as f64 / procfs::TICKS_PER_SEC / elapsed * 1000.0).round() / 10.0)
        }
        _ => None,
    };

    // Snapshot.
    let (mut likes, mut comments, mut counts, mut viewers, mut other, mut last_us) =
        (0, 0, 0, 0, 0, 0);
    let (mut like_lat, mut comment_lat) = (Hist::default(), Hist::default());
    for s in &ctx.recv.shards {
        likes += s.likes.load(Ordering::Relaxed);
        comments += s.comments.load(Ordering::Relaxed);
        counts += s.counts.load(Ordering::Relaxed);
        viewers += s.viewers.load(Ordering::Relaxed);
        other += s.other.load(Ordering::Relaxed);
        last_us = last_us.max(s.last_us.load(Ordering::Relaxed));
        s.like_lat.drain_into(&mut like_lat);
        s.comment_lat.drain_into(&mut comment_lat);
    }
    let mut delivery_lat = like_lat.clone();
    delivery_lat.merge(&comment_lat);
    // Cluster runs: comment delivery latency seen by the receivers of each node.
    let by_node: Vec<Value> = ctx
        .node_lat
        .iter()
        .enumerate()
        .filter(|_| !args.receiver_urls.is_empty())
        .map(|(i, h)| {
            let mut hist = Hist::default();
            h.drain_into(&mut hist);
            json!({ "url": args.receiver_urls.get(i), "comment_delivery_ms": hist.summary_ms() })
        })
        .collect();
    let (mut min_rx, mut max_rx) = (u32::MAX, 0);
    for &i in joined {
        let c = ctx.recv.per_receiver[i].load(Ordering::Relaxed);
        min_rx = min_rx.min(c);
        max_rx = max_rx.max(c);
    }
    let unacked = {
        let mut n = 0;
        for p in publishers {
            let mut pending = lock(&p.pending);
            n += pending.len();
            pending.clear();
        }
        n
    };
    let toggles_not_applied: u64 = publishers
        .iter()
        .map(|p| p.like_repeats.load(Ordering::Relaxed))
        .sum();
    let sent = ctx.pubs.sent.load(Ordering::Relaxed);
    let ok = ctx.pubs.ok.load(Ordering::Relaxed);
    let errors = lock(&ctx.pubs.errors).clone();
    let refused: u64 = errors.values().sum();
    let ack = lock(&ctx.pubs.ack).clone();
    let received = likes + comments;
    let expected = ok * joined.len() as u64;
    let lost = expected.saturating_sub(received);
    let window_s = (last_us.saturating_sub(start_us) as f64 / 1e6).max(args.duration);
    let delivered_per_s = if received > 0 {
        received as f64 / window_s
    } else {
        0.0
    };
    let disconnected = ctx.recv.disconnected.load(Ordering::Relaxed) - disconnected_before;
    let other_cpu = match (machine_cpu, self_cpu) {
        (Some(m), Some(b)) => {
            Some(((m - b - server_cpu.unwrap_or(0.0)).max(0.0) * 10.0).round() / 10.0)
        }
        _ => None,
    };
    let noisy = other_cpu.is_some_and(|o| o > 20.0) || steal.is_some_and(|s| s > 10.0);
    let limit_us = (args.max_p99_ms * 1000.0) as u64;
    let pass = ok > 0
        && lost == 0
        && unacked == 0
        && refused == 0
        && disconnected == 0
        && ack.quantile(0.99) <= limit_us
        && delivery_lat.quantile(0.99) <= limit_us;

    println!(
        "  sent {sent}, acked ok {ok}, refused {refused} {errors:?}, unacked {unacked}, \
         like acks repeating the previous state (toggles not applied) {toggles_not_applied}\n  \
         deliveries: expected {expected}, received {received} (likes {likes}, comments {comments}), lost {lost}; \
         per receiver {min_rx}..{max_rx}; receivers disconnected {disconnected}\n  \
         delivered {delivered_per_s:.0}/s over {window_s:.1} s; ack p50 {} p99 {} max {} ms; \
         delivery p50 {} p99 {} max {} ms\n  \
         other events: counts {counts}, viewers {viewers}, other {other}\n  \
         CPU (% of one core): server {}, bench {}, other processes {}, stolen {}{} → {}",
        ms(ack.quantile(0.5)),
        ms(ack.quantile(0.99)),
        ms(ack.max()),
        ms(delivery_lat.quantile(0.5)),
        ms(delivery_lat.quantile(0.99)),
        ms(delivery_lat.max()),
        opt(server_cpu),
        opt(self_cpu),
        opt(other_cpu),
        opt(steal),
        if noisy { " (NOISY)" } else { "" },
        if pass { "PASS" } else { "FAIL" }
    );
    json!({
        "rate": rate,
        "offered_deliveries_per_s": (rate * joined.len() as f64).round(),
        "sent": sent,
        "acked_ok": ok,
        "refused": errors,
        "unacked": unacked,
        "like_ack_repeats": toggles_not_applied,
        "expected": expected,
        "received": received,
        "received_likes": likes,
        "received_comments": comments,
        "lost": lost,
        "deliveries_per_s": delivered_per_s.round(),
        "window_s": (window_s * 10.0).round() / 10.0,
        "per_receiver_min": if joined.is_empty() { 0 } else { min_rx },
        "per_receiver_max": max_rx,
        "receivers_disconnected": disconnected,
        "disconnect_reasons": lock(&ctx.recv.disconnect_reasons).clone(),
        "ack_ms": ack.summary_ms(),
        "delivery_ms": delivery_lat.summary_ms(),
        "like_delivery_ms": like_lat.summary_ms(),
        "comment_delivery_ms": comment_lat.summary_ms(),
        "by_node": by_node,
        "counts_events": counts,
        "viewers_events": viewers,
        "other_events": other,
        "server_cpu_pct": server_cpu,
        "bench_cpu_pct": self_cpu,
        "other_cpu_pct": other_cpu,
        "steal_pct": steal,
        "noisy": noisy,
        "server_rss_kb": args.server_pid.and_then(|p| procfs::rss_kb(Some(p))),
        "pass": pass,
    })
}

// ---------------------------------------------------------------------------------------
// Probe

async fn probe(url: String, content_id: String, jwt_secret: String) -> anyhow::Result<()> {
    let ep = Endpoint::resolve(&url, WebSocketConfig::default()).await?;
    let token = jwt::mint(
        jwt_secret.as_bytes(),
        "bench-probe",
        Some("probe"),
        now_us() / 1_000_000 + 3600,
    )?;
    let mut ws = connect(&ep, &token).await?;
    println!("connected");
    let content = json_str(&content_id);
    for frame in [
        format!("421[\"content:join\",{{\"contentId\":{content}}}]"),
        format!("422[\"content:like\",{{\"contentId\":{content}}}]"),
        format!(
            "423[\"content:comment\",{{\"contentId\":{content},\"text\":\"bench {} probe\"}}]",
            now_us()
        ),
        "424[\"no:such:event\",{}]".to_string(),
    ] {
        println!(">> {frame}");
        ws.send(Message::text(frame)).await?;
        let until = tokio::time::Instant::now() + Duration::from_millis(600);
        while let Ok(Some(msg)) = tokio::time::timeout_at(until, ws.next()).await {
            match msg? {
                Message::Text(t) if t.as_str() == "2" => ws.send(Message::text("3")).await?,
                Message::Text(t) => println!("<< {}", t.as_str()),
                other => println!("<< {other:?}"),
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Report

fn report(files: &[PathBuf]) -> anyhow::Result<()> {
    let mut results = Vec::new();
    for f in files {
        let text =
            std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
        for line in text.lines() {
            if let Some(j) = line.strip_prefix("RESULT ") {
                results.push(serde_json::from_str::<Value>(j)?);
            }
        }
    }
    let num = |v: &Value, k: &str| v.get(k).and_then(Value::as_f64);
    let fmt = |x: Option<f64>| x.map_or("–".to_string(), |x| format!("{x}"));

    println!(
        "| server | receivers joined | RSS before (MB) | RSS idle (MB) | KB per idle connection |"
    );
    println!("|---|---:|---:|---:|---:|");
    for r in &results {
        let idle = &r["idle"];
        let mb = |k: &str| num(idle, k).map(|kb| (kb / 102.4).round() / 10.0);
        println!(
            "| {} | {} | {} | {} | {} |",
            r["server"].as_str().unwrap_or("?"),
            fmt(num(r, "receivers_joined")),
            fmt(mb("rss_before_kb")),
            fmt(mb("rss_after_kb")),
            fmt(num(idle, "kb_per_connection")),
        );
    }
    println!();
    println!(
        "| server | commands/s | offered deliveries/s | delivered/s | lost | refused | ack p50 / p99 (ms) | delivery p50 / p99 / max (ms) | CPU % server / bench / other | result |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    for r in &results {
        for s in r["steps"].as_array().into_iter().flatten() {
            let refused: u64 = s["refused"]
                .as_object()
                .map_or(0, |o| o.values().filter_map(Value::as_u64).sum());
            let codes = s["refused"]
                .as_object()
                .filter(|o| !o.is_empty())
                .map(|o| format!(" {}", Value::Object(o.clone())))
                .unwrap_or_default();
            println!(
                "| {} | {} | {} | {} | {} | {}{} | {} / {} | {} / {} / {} | {} / {} / {} | {}{} |",
                r["server"].as_str().unwrap_or("?"),
                fmt(num(s, "rate")),
                fmt(num(s, "offered_deliveries_per_s")),
                fmt(num(s, "deliveries_per_s")),
                fmt(num(s, "lost")),
                refused,
                codes,
                fmt(num(&s["ack_ms"], "p50")),
                fmt(num(&s["ack_ms"], "p99")),
                fmt(num(&s["delivery_ms"], "p50")),
                fmt(num(&s["delivery_ms"], "p99")),
                fmt(num(&s["delivery_ms"], "max")),
                fmt(num(s, "server_cpu_pct")),
                fmt(num(s, "bench_cpu_pct")),
                fmt(num(s, "other_cpu_pct")),
                if s["pass"].as_bool().unwrap_or(false) {
                    "pass"
                } else {
                    "FAIL"
                },
                if s["noisy"].as_bool().unwrap_or(false) {
                    " (noisy)"
                } else {
                    ""
                },
            );
        }
    }
    println!();
    println!("| server | best passing rate (commands/s) | deliveries/s at that rate |");
    println!("|---|---:|---:|");
    for r in &results {
        let best = r["steps"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|s| s["pass"].as_bool().unwrap_or(false))
            .max_by(|a, b| {
                num(a, "deliveries_per_s")
                    .unwrap_or(0.0)
                    .total_cmp(&num(b, "deliveries_per_s").unwrap_or(0.0))
            });
        println!(
            "| {} | {} | {} |",
            r["server"].as_str().unwrap_or("?"),
            fmt(best.and_then(|s| num(s, "rate"))),
            fmt(best.and_then(|s| num(s, "deliveries_per_s"))),
        );
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    #[test]
    fn mix_parses_ratios() {
        assert_eq!(super::parse_mix("1:1").unwrap(), (1, 1));
        assert_eq!(super::parse_mix("3:1").unwrap(), (3, 1));
        assert!(super::parse_mix("0:0").is_err());
        assert!(super::parse_mix("x").is_err());
    }

    #[test]
    fn host_port_takes_the_authority() {
        assert_eq!(
            super::host_port("http://127.0.0.1:3000").unwrap(),
            "127.0.0.1:3000"
        );
        assert_eq!(
            super::host_port("ws://localhost:9/x").unwrap(),
            "localhost:9"
        );
        assert!(super::host_port("https://x").is_err());
    }

    #[test]
    fn error_code_reads_refusals() {
        let body = r#"[{"ok":false,"error":{"code":"rate_limited","message":"slow down","retryAfterMs":5}}]"#;
        assert_eq!(super::error_code(body), "rate_limited");
        assert_eq!(super::error_code("[1]"), "unparsed_ack");
    }
}
