//! `chorus-bench chat`: persisted chat messages per second.
//!
//! N users (one socket each) share direct rooms (pairs) or group rooms created over
//! REST, and every user sends `chat:send` with a unique `clientMsgId` into their room on
//! a fixed open-loop schedule, at each total rate of the ramp for `--duration` seconds.
//! Chorus acknowledges a message only after its group-committed SQLite write, so
//! acked-ok messages per second is the persisted rate. After the ramp the bench resends
//! a sample with the same `clientMsgId`s (each must ack `duplicate: true`), then checks
//! that the store holds exactly the acked messages: by paging the REST history of a
//! sample of rooms, and by counting rows with the `sqlite3` CLI when `--db` names the
//! database file.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::engage::{self, AckStats, Client, Common, CpuMeter, Env, OnEvent, RssPeak, Tally};
use crate::hist::ms;
use crate::{json_str, lock, now_us, wire};

#[derive(clap::Args, Clone, Debug)]
pub struct ChatArgs {
    #[command(flatten)]
    pub common: Common,
    /// Users, one socket each; every one of them sends.
    #[arg(long, default_value_t = 200)]
    pub users: usize,
    /// Members per room: 2 makes direct rooms (pairs), more makes group rooms.
    #[arg(long, default_value_t = 2)]
    pub room_size: usize,
    /// Total `chat:send` rates to run in turn, messages per second. Comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "2000,5000,10000,15000")]
    pub rates: Vec<f64>,
    /// Seconds of sending at each rate.
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// The target: a rate meets it when every message is acked ok and ack p99 stays
    /// under this (milliseconds).
    #[arg(long, default_value_t = 50.0)]
    pub max_p99_ms: f64,
    /// Longest wait for acks and deliveries after sending stops, in seconds.
    #[arg(long, default_value_t = 20.0)]
    pub drain_max_secs: f64,
    /// Characters of each message's text (at least the send-time prefix).
    #[arg(long, default_value_t = 64)]
    pub text_chars: usize,
    /// The SQLite file Chorus writes to: the stored messages of this run are counted
    /// with `sqlite3` (read-only) and compared with the acks.
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// Rooms whose whole history is paged over REST and compared with their acks.
    #[arg(long, default_value_t = 4)]
    pub verify_rooms: usize,
    /// Acked messages sent again with the same clientMsgId after the ramp.
    #[arg(long, default_value_t = 200)]
    pub resend: usize,
}

/// Event kinds counted at the users' sockets.
const MESSAGE: usize = 0;
const OTHER: usize = 1;

struct Ctx {
    acks: AckStats,
    /// Acks with `duplicate: true` (none expected during the ramp).
    duplicates: AtomicU64,
    /// Acked new messages per room, over the whole run.
    per_room: Vec<AtomicU64>,
    /// Acked messages kept for the resend check: (user, room, clientMsgId, text).
    sample: Mutex<Vec<(usize, usize, String, String)>>,
    sample_max: usize,
    tally: Tally,
}

pub async fn run(args: ChatArgs) -> anyhow::Result<Value> {
    if args.users < 2 || args.room_size < 2 || !args.users.is_multiple_of(args.room_size) {
        bail!("--users must be a multiple of --room-size (at least 2)");
    }
    let env = Arc::new(Env::new(args.common.clone()).await?);
    let rooms_n = args.users / args.room_size;
    let ctx = Arc::new(Ctx {
        acks: AckStats::default(),
        duplicates: AtomicU64::new(0),
        per_room: (0..rooms_n).map(|_| AtomicU64::new(0)).collect(),
        sample: Mutex::new(Vec::new()),
        sample_max: args.resend,
        tally: Tally::new(args.users),
    });
    let user = |i: usize| env.user(&format!("c{i}"));
    let rss_before = env.server_rss_kb();

    println!(
        "[{}] chat: {} users in {rooms_n} {} rooms (run {})",
        env.common.label,
        args.users,
        if args.room_size == 2 {
            "direct"
        } else {
            "group"
        },
        env.run
    );
    let t = Instant::now();
    let clients = {
        let ctx = ctx.clone();
        engage::open_clients(&env, args.users, user, move |i| {
            let ctx = ctx.clone();
            let f: OnEvent = Arc::new(move |name, frame| {
                if name == "chat:message" {
                    let now = now_us();
                    let lat = wire::comment_sent_us(frame).map(|sent| now.saturating_sub(sent));
                    match lat {
                        Some(l) => ctx.tally.add(i, MESSAGE, now, Some(l)),
                        None => ctx.tally.add_delivery(i, MESSAGE, now),
                    }
                } else {
                    ctx.tally.add(i, OTHER, 0, None);
                }
            });
            Some(f)
        })
        .await?
    };
    println!(
        "  {} sockets connected in {:.1} s",
        clients.len(),
        t.elapsed().as_secs_f64()
    );

    // Rooms over REST: the first member of each creates it.
    let room_ids = create_rooms(&env, &args, rooms_n).await?;
    println!("  {} rooms created", room_ids.len());
    let room_of = |i: usize| i / args.room_size;

    let mut steps = Vec::new();
    for (step, &rate) in args.rates.iter().enumerate() {
        if rate <= 0.0 {
            continue;
        }
        steps.push(run_rate(&ctx, &env, &args, &clients, &room_ids, &room_of, step, rate).await);
    }

    // Idempotency: the same clientMsgId again stores nothing and acks the stored message.
    let resend = resend_sample(&ctx, &clients, &room_ids).await;

    // Durability: the store holds exactly the acked messages.
    let acked_total: u64 = ctx.per_room.iter().map(|c| c.load(Ordering::Relaxed)).sum();
    let verify = verify(&env, &args, &ctx, &room_ids, acked_total).await;
    println!("  verification: {verify}");

    let idle_rss = env.server_rss_kb();
    Ok(json!({
        "scenario": "chat",
        "server": env.common.label,
        "run": env.run,
        "date_unix": now_us() / 1_000_000,
        "users": args.users,
        "room_size": args.room_size,
        "rooms": rooms_n,
        "duration_s": args.duration,
        "max_p99_ms": args.max_p99_ms,
        "rss_before_kb": rss_before,
        "rss_after_kb": idle_rss,
        "steps": steps,
        "acked_new_total": acked_total,
        "resend": resend,
        "verify": verify,
    }))
}

async fn create_rooms(
    env: &Arc<Env>,
    args: &ChatArgs,
    rooms_n: usize,
) -> anyhow::Result<Vec<String>> {
    let ids = Arc::new(Mutex::new(vec![String::new(); rooms_n]));
    let size = args.room_size;
    let failures = {
        let (env2, ids) = (env.clone(), ids.clone());
        engage::http_many(env, rooms_n, 16, move |r, mut http| {
            let (env, ids) = (env2.clone(), ids.clone());
            async move {
                let result = async {
                    let creator = env.user(&format!("c{}", r * size));
                    let token = env.token(&creator)?;
                    let body = if size == 2 {
                        json!({ "otherUserId": env.user(&format!("c{}", r * size + 1)) })
                    } else {
                        let members: Vec<String> =
                            (1..size).map(|k| env.user(&format!("c{}", r * size + k))).collect();
                        json!({ "kind": "group", "title": format!("bench {r}"), "memberIds": members })
                    };
                    let room = http.json("POST", "/api/chat/rooms", Some(&token), Some(&body)).await?;
                    let id = room
                        .get("id")
                        .and_then(Value::as_str)
                        .context("room without id")?
                        .to_owned();
                    lock(&ids)[r] = id;
                    anyhow::Ok(())
                }
                .await;
                (http, result)
            }
        })
        .await?
    };
    if !failures.is_empty() {
        bail!("creating rooms failed: {failures:?}");
    }
    let ids = lock(&ids).clone();
    Ok(ids)
}

/// Text of a message: `bench <send µs> u<user> k<seq>` padded with words.
fn message_text(user: usize, k: u64, chars: usize) -> String {
    let mut text = format!("bench {} u{user} k{k}", now_us());
    let prefix = text.len();
    const WORDS: [&str; 6] = [" lorem", " ipsum", " dolor", " sit", " amet", " chorus"];
    let mut w = 0;
    while text.len() < chars {
        text.push_str(WORDS[w % WORDS.len()]);
        w += 1;
    }
    text.truncate(chars.max(prefix));
    text.truncate(text.trim_end().len());
    text
}

#[allow(clippy::too_many_arguments)]
async fn run_rate(
    ctx: &Arc<Ctx>,
    env: &Arc<Env>,
    args: &ChatArgs,
    clients: &[Arc<Client>],
    room_ids: &[String],
    room_of: &dyn Fn(usize) -> usize,
    step: usize,
    rate: f64,
) -> Value {
    ctx.acks.reset();
    ctx.duplicates.store(0, Ordering::Relaxed);
    ctx.tally.reset();
    let acked_before: u64 = ctx.per_room.iter().map(|c| c.load(Ordering::Relaxed)).sum();
    let n = clients.len();
    let duration = Duration::from_secs_f64(args.duration);
    let period = Duration::from_secs_f64(n as f64 / rate);
    let start = Instant::now() + Duration::from_millis(100);
    let start_us = now_us() + 100_000;
    println!(
        "[{}] {rate} chat:send/s across {n} users ({:.1}/s each) for {} s…",
        env.common.label,
        rate / n as f64,
        args.duration
    );
    let cpu = CpuMeter::start(env.common.server_pid);
    let rss = RssPeak::start(env.common.server_pid);
    let mut senders = Vec::with_capacity(n);
    for (i, client) in clients.iter().enumerate() {
        let (ctx, client) = (ctx.clone(), client.clone());
        let room = room_of(i);
        let room_id = json_str(&room_ids[room]);
        let run = env.run.clone();
        let chars = args.text_chars;
        let offset = Duration::from_secs_f64(i as f64 / rate);
        senders.push(tokio::spawn(async move {
            let end = start + duration;
            for k in 0u64.. {
                let at = start + offset + period.mul_f64(k as f64);
                if at >= end {
                    break;
                }
                tokio::time::sleep_until(at.into()).await;
                let cmid = format!("{run}-{step}-{i}-{k}");
                let text = message_text(i, k, chars);
                let payload = format!(
                    "{{\"roomId\":{room_id},\"clientMsgId\":{},\"text\":{}}}",
                    json_str(&cmid),
                    json_str(&text)
                );
                let c2 = ctx.clone();
                let on_ack: engage::OnAck = Box::new(move |us, body| {
                    if c2.acks.record(us, body) {
                        if body.contains("\"duplicate\":true") {
                            c2.duplicates.fetch_add(1, Ordering::Relaxed);
                        } else {
                            c2.per_room[room].fetch_add(1, Ordering::Relaxed);
                            let mut s = lock(&c2.sample);
                            if s.len() < c2.sample_max && k % 7 == 0 {
                                s.push((i, room, cmid, text));
                            }
                        }
                    }
                });
                ctx.acks.sent.fetch_add(1, Ordering::Relaxed);
                if !client.send("chat:send", &payload, on_ack).await {
                    break;
                }
            }
        }));
    }
    for s in senders {
        let _ = s.await;
    }
    let send_done = Instant::now();
    let room_size = args.room_size as u64;
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let pending: usize = clients.iter().map(|c| c.pending()).sum();
        let expected = new_acks(ctx, acked_before) * room_size;
        if pending == 0 && ctx.tally.count(MESSAGE) >= expected {
            break;
        }
        if send_done.elapsed().as_secs_f64() >= args.drain_max_secs {
            break;
        }
    }
    let used = cpu.stop();
    let unacked: usize = clients.iter().map(|c| c.clear_pending()).sum();
    let sent = ctx.acks.sent.load(Ordering::Relaxed);
    let ok = ctx.acks.ok.load(Ordering::Relaxed);
    let new = new_acks(ctx, acked_before);
    let duplicates = ctx.duplicates.load(Ordering::Relaxed);
    let refused = ctx.acks.refused();
    let errors = lock(&ctx.acks.errors).clone();
    let ack = lock(&ctx.acks.lat).clone();
    let last_ack = ctx.acks.last_us.load(Ordering::Relaxed);
    let window_s = (last_ack.saturating_sub(start_us) as f64 / 1e6).max(args.duration);
    let persisted_per_s = new as f64 / window_s;
    let received = ctx.tally.count(MESSAGE);
    let expected = new * room_size;
    let delivery = ctx.tally.take_latency();
    let last_delivery = ctx.tally.last_us();
    let delivery_window = (last_delivery.saturating_sub(start_us) as f64 / 1e6).max(args.duration);
    let disconnected = clients.iter().filter(|c| !c.is_alive()).count();
    let meets = unacked == 0
        && refused == 0
        && duplicates == 0
        && disconnected == 0
        && ok == sent
        && ack.quantile(0.99) as f64 <= args.max_p99_ms * 1000.0;
    println!(
        "  sent {sent}, acked ok {ok} (new {new}, duplicate {duplicates}), refused {refused} {errors:?}, unacked {unacked}\n  \
         persisted {persisted_per_s:.0} messages/s over {window_s:.1} s; ack p50 {} p99 {} max {} ms\n  \
         chat:message deliveries: expected {expected}, received {received} ({:.0}/s); delivery p50 {} p99 {} max {} ms; sockets closed {disconnected}\n  \
         {} → {}",
        ms(ack.quantile(0.5)),
        ms(ack.quantile(0.99)),
        ms(ack.max()),
        received as f64 / delivery_window,
        ms(delivery.quantile(0.5)),
        ms(delivery.quantile(0.99)),
        ms(delivery.max()),
        used.line(),
        if meets {
            "meets the target"
        } else {
            "MISSES the target"
        }
    );
    let mut v = json!({
        "rate": rate,
        "sent": sent,
        "acked_ok": ok,
        "acked_new": new,
        "duplicates": duplicates,
        "refused": errors,
        "unacked": unacked,
        "persisted_per_s": persisted_per_s.round(),
        "window_s": (window_s * 10.0).round() / 10.0,
        "ack_ms": ack.summary_ms(),
        "deliveries_expected": expected,
        "deliveries_received": received,
        "deliveries_per_s": (received as f64 / delivery_window).round(),
        "delivery_ms": delivery.summary_ms(),
        "other_events": ctx.tally.count(OTHER),
        "sockets_closed": disconnected,
        "server_rss_peak_kb": rss.peak_kb(),
        "meets_target": meets,
    });
    merge(&mut v, used.to_json());
    v
}

fn new_acks(ctx: &Ctx, before: u64) -> u64 {
    ctx.per_room
        .iter()
        .map(|c| c.load(Ordering::Relaxed))
        .sum::<u64>()
        - before
}

pub fn merge(into: &mut Value, from: Value) {
    if let (Some(a), Value::Object(b)) = (into.as_object_mut(), from) {
        a.extend(b);
    }
}

/// Sends a sample of acked messages again with the same clientMsgId: each must ack
/// ok with `duplicate: true` and the stored message's id.
async fn resend_sample(ctx: &Arc<Ctx>, clients: &[Arc<Client>], room_ids: &[String]) -> Value {
    let sample = lock(&ctx.sample).clone();
    let (mut duplicate, mut new, mut failed) = (0u64, 0u64, BTreeMap::<String, u64>::new());
    for (i, room, cmid, text) in &sample {
        let payload = format!(
            "{{\"roomId\":{},\"clientMsgId\":{},\"text\":{}}}",
            json_str(&room_ids[*room]),
            json_str(cmid),
            json_str(text)
        );
        match clients[*i]
            .call("chat:send", &payload, Duration::from_secs(10))
            .await
        {
            Ok((_, body)) if wire::ack_ok(&body) && body.contains("\"duplicate\":true") => {
                duplicate += 1
            }
            Ok((_, body)) if wire::ack_ok(&body) => new += 1,
            Ok((_, body)) => *failed.entry(crate::error_code(&body)).or_default() += 1,
            Err(e) => *failed.entry(format!("{e:#}")).or_default() += 1,
        }
    }
    println!(
        "  resent {} acked messages with their clientMsgId: {duplicate} acked duplicate, {new} stored again, failures {failed:?}",
        sample.len()
    );
    json!({ "resent": sample.len(), "acked_duplicate": duplicate, "stored_again": new, "failures": failed })
}

/// Counts what the store holds against what was acked.
async fn verify(
    env: &Arc<Env>,
    args: &ChatArgs,
    ctx: &Ctx,
    room_ids: &[String],
    acked_total: u64,
) -> Value {
    let mut out = json!({ "acked_new_total": acked_total });
    // 1. The whole run, from the SQLite file.
    if let Some(db) = &args.db {
        let query = format!(
            "SELECT COUNT(*) FROM chat_messages WHERE client_msg_id LIKE '{}-%';",
            env.run
        );
        let counted = std::process::Command::new("sqlite3")
            .arg("-readonly")
            .arg(db)
            .arg(&query)
            .output();
        match counted {
            Ok(o) if o.status.success() => {
                let text = String::from_utf8_lossy(&o.stdout);
                let stored: Option<u64> = text.trim().parse().ok();
                println!(
                    "  sqlite3 {}: {} stored messages of this run, {acked_total} acked",
                    db.display(),
                    crate::opt(stored.map(|s| s as f64))
                );
                merge(
                    &mut out,
                    json!({ "sqlite_stored": stored, "sqlite_matches_acks": stored == Some(acked_total) }),
                );
            }
            Ok(o) => {
                merge(
                    &mut out,
                    json!({ "sqlite_error": String::from_utf8_lossy(&o.stderr).trim() }),
                );
            }
            Err(e) => merge(&mut out, json!({ "sqlite_error": format!("sqlite3: {e}") })),
        }
    }
    // 2. A sample of rooms, paged over REST as a member reads them.
    let mut rooms = Vec::new();
    let step = (room_ids.len() / args.verify_rooms.max(1)).max(1);
    for r in (0..room_ids.len()).step_by(step).take(args.verify_rooms) {
        let acked = ctx.per_room[r].load(Ordering::Relaxed);
        let member = env.user(&format!("c{}", r * args.room_size));
        let counted = page_room(env, &member, &room_ids[r]).await;
        match counted {
            Ok((stored, distinct)) => rooms.push(json!({
                "room": r, "acked": acked, "stored": stored, "distinct_client_msg_ids": distinct, "matches": stored == acked && distinct == acked,
            })),
            Err(e) => rooms.push(json!({ "room": r, "acked": acked, "error": format!("{e:#}") })),
        }
    }
    let all_match = rooms.iter().all(|r| r["matches"].as_bool() == Some(true));
    merge(
        &mut out,
        json!({ "rest_rooms": rooms, "rest_matches_acks": all_match }),
    );
    out
}

/// Pages `GET /api/chat/rooms/{id}/messages` to the start: (messages of this run,
/// distinct clientMsgIds among them).
async fn page_room(env: &Arc<Env>, member: &str, room_id: &str) -> anyhow::Result<(u64, u64)> {
    let token = env.token(member)?;
    let mut http = env.http().await?;
    let prefix = format!("{}-", env.run);
    let mut before: Option<String> = None;
    let (mut stored, mut ids) = (0u64, std::collections::HashSet::new());
    loop {
        let path = match &before {
            Some(b) => format!("/api/chat/rooms/{room_id}/messages?limit=100&before={b}"),
            None => format!("/api/chat/rooms/{room_id}/messages?limit=100"),
        };
        let page = http.json("GET", &path, Some(&token), None).await?;
        for m in page["messages"].as_array().into_iter().flatten() {
            let cmid = m["clientMsgId"].as_str().unwrap_or("");
            if cmid.starts_with(&prefix) {
                stored += 1;
                ids.insert(cmid.to_owned());
            }
        }
        match page["nextCursor"].as_str() {
            Some(c) if page["hasMore"].as_bool() == Some(true) => before = Some(c.to_owned()),
            _ => break,
        }
    }
    Ok((stored, ids.len() as u64))
}

/// The Markdown rows of BENCHMARKS.md for a chat result.
pub fn report(r: &Value) {
    let f = |v: &Value| v.as_f64().map_or("–".into(), |x| format!("{x}"));
    println!(
        "| rate (msgs/s) | acked ok | persisted/s | refused | unacked | ack p50 / p99 / max (ms) | chat:message deliveries/s | CPU % server / bench / other | server RSS peak (MB) | target (p99 < {} ms, all acked) |",
        f(&r["max_p99_ms"])
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    for s in r["steps"].as_array().into_iter().flatten() {
        let refused: u64 = s["refused"]
            .as_object()
            .map_or(0, |o| o.values().filter_map(Value::as_u64).sum());
        println!(
            "| {} | {} | {} | {}{} | {} | {} / {} / {} | {} | {} / {} / {} | {} | {} |",
            f(&s["rate"]),
            f(&s["acked_ok"]),
            f(&s["persisted_per_s"]),
            refused,
            if refused > 0 {
                format!(" {}", s["refused"])
            } else {
                String::new()
            },
            f(&s["unacked"]),
            f(&s["ack_ms"]["p50"]),
            f(&s["ack_ms"]["p99"]),
            f(&s["ack_ms"]["max"]),
            f(&s["deliveries_per_s"]),
            f(&s["server_cpu_pct"]),
            f(&s["bench_cpu_pct"]),
            f(&s["other_cpu_pct"]),
            s["server_rss_peak_kb"]
                .as_f64()
                .map_or("–".into(), |k| format!("{:.0}", k / 1024.0)),
            if s["meets_target"].as_bool() == Some(true) {
                "met"
            } else {
                "**not met**"
            },
        );
    }
}
