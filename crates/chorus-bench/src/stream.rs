//! `chorus-bench stream`: one live stream with N viewers, stream chat and gifts.
//!
//! The owner creates a stream and takes it live over REST; the gift senders' wallets are
//! credited through the server API. N viewers connect and `stream:join`: most of them
//! only receive, C of them also chat and G of them also send gifts. For each step
//! `chat/s:gifts/s` the chatters send `stream:chat` and the gifters `gift:send` (a rose,
//! unique `clientTxId`) on a fixed open-loop schedule for `--duration` seconds, and the
//! bench counts what every viewer receives: `stream:chat` and `gift:sent` (one per
//! command per viewer), and the coalesced `stream:viewers`, `metrics:update`,
//! `throne:claimed`, `og:changed`.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::chat::merge;
use crate::engage::{
    self, AckStats, Common, CpuMeter, Env, OnEvent, OnFrame, RssPeak, Setup, Tally,
};
use crate::hist::ms;
use crate::{json_str, now_us, wire};

#[derive(clap::Args, Clone, Debug)]
pub struct StreamArgs {
    #[command(flatten)]
    pub common: Common,
    /// Viewers joined to the stream, chatters and gifters included.
    #[arg(long, default_value_t = 10_000)]
    pub viewers: usize,
    /// Viewers that send `stream:chat`.
    #[arg(long, default_value_t = 200)]
    pub chatters: usize,
    /// Viewers that send `gift:send`.
    #[arg(long, default_value_t = 50)]
    pub gifters: usize,
    /// Steps to run in turn, `chat/s:gifts/s`, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "200:50")]
    pub steps: Vec<String>,
    /// Seconds of each step.
    #[arg(long, default_value_t = 30.0)]
    pub duration: f64,
    /// The gift every gifter sends (from the catalog).
    #[arg(long, default_value = "rose")]
    pub gift: String,
    /// Longest wait for acks and deliveries after a step's sending stops, in seconds
    /// (what has not arrived by then is reported as not delivered).
    #[arg(long, default_value_t = 60.0)]
    pub drain_max_secs: f64,
    /// A step's drain also ends when no delivery arrived for this long, in seconds.
    #[arg(long, default_value_t = 3.0)]
    pub drain_quiet_secs: f64,
    /// Seconds to wait after every viewer joined before reading idle memory.
    #[arg(long, default_value_t = 5.0)]
    pub idle_secs: f64,
    /// Stop after the first step that loses deliveries or misses acks.
    #[arg(long)]
    pub stop_on_loss: bool,
}

const CHAT: usize = 0;
const GIFT: usize = 1;
const VIEWERS: usize = 2;
const METRICS: usize = 3;
const THRONE: usize = 4;
const OG: usize = 5;
const OTHER: usize = 6;

fn kind_of(name: &str) -> usize {
    match name {
        "stream:chat" => CHAT,
        "gift:sent" => GIFT,
        "stream:viewers" => VIEWERS,
        "metrics:update" => METRICS,
        "throne:claimed" => THRONE,
        "og:changed" => OG,
        _ => OTHER,
    }
}

/// Counts one frame of a viewer: chat and gifts with their latency.
fn count(tally: &Tally, idx: usize, name: &str, frame: &str) {
    let kind = kind_of(name);
    match kind {
        CHAT | GIFT => {
            let now = now_us();
            // Chat: the send time in the text; gifts: the transaction id is a UUIDv7,
            // whose first 48 bits are the millisecond the server made it.
            let sent = if kind == CHAT {
                wire::comment_sent_us(frame)
            } else {
                engage::str_field(frame, "transactionId").and_then(engage::uuid7_us)
            };
            match sent {
                Some(s) => tally.add(idx, kind, now, Some(now.saturating_sub(s))),
                None => tally.add_delivery(idx, kind, now),
            }
        }
        _ => tally.add(idx, kind, 0, None),
    }
}

fn parse_step(s: &str) -> anyhow::Result<(f64, f64)> {
    let (c, g) = s
        .split_once(':')
        .context("a step looks like 200:50 (chat/s:gifts/s)")?;
    Ok((c.trim().parse()?, g.trim().parse()?))
}

pub async fn run(args: StreamArgs) -> anyhow::Result<Value> {
    let steps: Vec<(f64, f64)> = args
        .steps
        .iter()
        .map(|s| parse_step(s))
        .collect::<anyhow::Result<_>>()?;
    if args.chatters + args.gifters > args.viewers {
        bail!("--chatters + --gifters must not exceed --viewers");
    }
    let server_key = args
        .common
        .server_key
        .clone()
        .context("--server-key is needed to credit the gifters' wallets")?;
    let env = Arc::new(Env::new(args.common.clone()).await?);
    let owner = env.user("owner");
    let owner_token = env.token(&owner)?;
    let mut http = env.http().await?;
    let stream = http
        .json(
            "POST",
            "/api/streams",
            Some(&owner_token),
            Some(&json!({ "title": format!("bench {}", env.run) })),
        )
        .await?;
    let stream_id = stream["id"]
        .as_str()
        .context("stream without id")?
        .to_owned();
    http.json(
        "POST",
        &format!("/api/streams/{stream_id}/status"),
        Some(&owner_token),
        Some(&json!({ "status": "live" })),
    )
    .await?;
    let catalog = http.json("GET", "/api/gifts", None, None).await?;
    let coins = catalog
        .as_array()
        .or_else(|| catalog["gifts"].as_array())
        .and_then(|items| {
            items
                .iter()
                .find(|g| g["id"].as_str() == Some(args.gift.as_str()))
        })
        .and_then(|g| g["coins"].as_i64())
        .with_context(|| format!("gift {} is not in the catalog: {catalog}", args.gift))?;
    println!(
        "[{}] stream {stream_id} live; {} viewers ({} chat, {} send {} at {coins} coins); steps {:?} for {} s each",
        env.common.label,
        args.viewers,
        args.chatters,
        args.gifters,
        args.gift,
        args.steps,
        args.duration
    );

    // Wallets: enough coins for every step, twice over.
    let gifts_each: f64 = steps
        .iter()
        .map(|(_, g)| g * args.duration / args.gifters.max(1) as f64)
        .sum();
    let amount = ((gifts_each.ceil() as i64 + 5) * coins * 2).max(100);
    let failures = {
        let (env2, key) = (env.clone(), server_key.clone());
        engage::http_many(&env, args.gifters, 8, move |i, mut http| {
            let (env, key) = (env2.clone(), key.clone());
            async move {
                let user = env.user(&format!("g{i}"));
                let body =
                    json!({ "amount": amount, "reference": format!("{}-credit-{i}", env.run) });
                let r = http
                    .json(
                        "POST",
                        &format!("/api/server/wallets/{user}/credit"),
                        Some(&key),
                        Some(&body),
                    )
                    .await
                    .map(drop);
                (http, r)
            }
        })
        .await?
    };
    if !failures.is_empty() {
        bail!("crediting wallets failed: {failures:?}");
    }
    println!(
        "  {} wallets credited with {amount} coins each",
        args.gifters
    );

    // Viewers: the passive ones first (indices 0..P), then chatters, then gifters.
    let passive = args.viewers - args.chatters - args.gifters;
    let tally = Arc::new(Tally::new(args.viewers));
    let rss_before = env.server_rss_kb();
    let join_payload = format!("{{\"streamId\":{}}}", json_str(&stream_id));
    let receivers = {
        let t = tally.clone();
        let on_frame: OnFrame = Arc::new(move |idx, name, frame| count(&t, idx, name, frame));
        let (env2, join) = (env.clone(), join_payload.clone());
        engage::spawn_receivers(
            &env,
            passive,
            move |i| Setup {
                user: env2.user(&format!("v{i}")),
                commands: vec![("stream:join".into(), join.clone())],
            },
            on_frame,
        )
        .await?
    };
    let actives = args.chatters + args.gifters;
    let chatters = args.chatters;
    let clients = {
        let t = tally.clone();
        let env2 = env.clone();
        engage::open_clients(
            &env,
            actives,
            move |j| {
                if j < chatters {
                    env2.user(&format!("c{j}"))
                } else {
                    env2.user(&format!("g{}", j - chatters))
                }
            },
            move |j| {
                let t = t.clone();
                let f: OnEvent = Arc::new(move |name, frame| count(&t, passive + j, name, frame));
                Some(f)
            },
        )
        .await?
    };
    for c in &clients {
        c.call_ok("stream:join", &join_payload, Duration::from_secs(30))
            .await?;
    }
    let mut joined = receivers.joined.clone();
    joined.extend(passive..args.viewers);
    let viewers_joined = joined.len() as u64;
    println!(
        "  {viewers_joined} viewers joined ({} passive in {} s, failures {:?})",
        receivers.joined.len(),
        receivers.connect_secs,
        receivers.failures
    );
    tokio::time::sleep(Duration::from_secs_f64(args.idle_secs)).await;
    let rss_idle = env.server_rss_kb();
    let kb_per_viewer = match (rss_before, rss_idle) {
        (Some(b), Some(a)) if viewers_joined > 0 => {
            Some(((a as f64 - b as f64) / viewers_joined as f64 * 10.0).round() / 10.0)
        }
        _ => None,
    };
    println!(
        "  server RSS {} → {} KB ({} KB per viewer)",
        crate::opt(rss_before.map(|x| x as f64)),
        crate::opt(rss_idle.map(|x| x as f64)),
        crate::opt(kb_per_viewer)
    );

    let chat_acks = Arc::new(AckStats::default());
    let gift_acks = Arc::new(AckStats::default());
    let mut results = Vec::new();
    for (step, &(chat_rate, gift_rate)) in steps.iter().enumerate() {
        tally.reset();
        chat_acks.reset();
        gift_acks.reset();
        let closed_before = receivers.disconnected.load(Ordering::Relaxed);
        let duration = Duration::from_secs_f64(args.duration);
        let start = Instant::now() + Duration::from_millis(100);
        let start_us = now_us() + 100_000;
        println!(
            "[{}] step {chat_rate} stream:chat/s + {gift_rate} gift:send/s × {viewers_joined} viewers = {:.0} deliveries/s offered, {} s…",
            env.common.label,
            (chat_rate + gift_rate) * viewers_joined as f64,
            args.duration
        );
        let cpu = CpuMeter::start(env.common.server_pid);
        let rss = RssPeak::start(env.common.server_pid);
        let mut senders = Vec::new();
        for (j, client) in clients.iter().enumerate() {
            let is_chatter = j < args.chatters;
            let (group, rate) = if is_chatter {
                (args.chatters, chat_rate)
            } else {
                (args.gifters, gift_rate)
            };
            if rate <= 0.0 {
                continue;
            }
            let k_in_group = if is_chatter { j } else { j - args.chatters };
            let period = Duration::from_secs_f64(group as f64 / rate);
            let offset = Duration::from_secs_f64(k_in_group as f64 / rate);
            let (client, acks) = (
                client.clone(),
                if is_chatter {
                    chat_acks.clone()
                } else {
                    gift_acks.clone()
                },
            );
            let (sid, gift, run) = (json_str(&stream_id), json_str(&args.gift), env.run.clone());
            senders.push(tokio::spawn(async move {
                let end = start + duration;
                for k in 0u64.. {
                    let at = start + offset + period.mul_f64(k as f64);
                    if at >= end {
                        break;
                    }
                    tokio::time::sleep_until(at.into()).await;
                    let (event, payload) = if is_chatter {
                        ("stream:chat", format!("{{\"streamId\":{sid},\"text\":\"bench {} v{j} k{k}\"}}", now_us()))
                    } else {
                        (
                            "gift:send",
                            format!(
                                "{{\"streamId\":{sid},\"giftId\":{gift},\"count\":1,\"clientTxId\":\"{run}-{step}-{j}-{k}\"}}"
                            ),
                        )
                    };
                    let a = acks.clone();
                    acks.sent.fetch_add(1, Ordering::Relaxed);
                    if !client.send(event, &payload, Box::new(move |us, body| {
                        a.record(us, body);
                    }))
                    .await
                    {
                        break;
                    }
                }
            }));
        }
        for s in senders {
            let _ = s.await;
        }
        let send_done = Instant::now();
        let quiet = Duration::from_secs_f64(args.drain_quiet_secs);
        let (mut seen, mut last_change) = (0u64, Instant::now());
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let got = tally.count(CHAT) + tally.count(GIFT);
            let expected = (chat_acks.ok.load(Ordering::Relaxed)
                + gift_acks.ok.load(Ordering::Relaxed))
                * viewers_joined;
            let pending: usize = clients.iter().map(|c| c.pending()).sum();
            if got != seen {
                seen = got;
                last_change = Instant::now();
            }
            if pending == 0 && got >= expected {
                break;
            }
            if last_change.elapsed() >= quiet && (pending == 0 || send_done.elapsed() >= quiet * 2)
            {
                break;
            }
            if send_done.elapsed().as_secs_f64() >= args.drain_max_secs {
                break;
            }
        }
        let used = cpu.stop();
        let unacked: usize = clients.iter().map(|c| c.clear_pending()).sum();
        let (chat_ok, gift_ok) = (
            chat_acks.ok.load(Ordering::Relaxed),
            gift_acks.ok.load(Ordering::Relaxed),
        );
        let expected = (chat_ok + gift_ok) * viewers_joined;
        let (chat_rx, gift_rx) = (tally.count(CHAT), tally.count(GIFT));
        let coalesced =
            tally.count(VIEWERS) + tally.count(METRICS) + tally.count(THRONE) + tally.count(OG);
        let received = chat_rx + gift_rx;
        let lost = expected.saturating_sub(received);
        let sent_total =
            chat_acks.sent.load(Ordering::Relaxed) + gift_acks.sent.load(Ordering::Relaxed);
        let undelivered = (sent_total * viewers_joined).saturating_sub(received);
        let window_s = (tally.last_us().saturating_sub(start_us) as f64 / 1e6).max(args.duration);
        let per_s = received as f64 / window_s;
        let all_per_s = (received + coalesced) as f64 / window_s;
        let lat = tally.take_latency();
        let (lo, hi) = tally.per_receiver_range(&joined);
        let closed = receivers.disconnected.load(Ordering::Relaxed) - closed_before
            + clients.iter().filter(|c| !c.is_alive()).count() as u64;
        let (chat_ack, gift_ack) = (engage_hist(&chat_acks), engage_hist(&gift_acks));
        let clean = lost == 0
            && unacked == 0
            && chat_acks.refused() == 0
            && gift_acks.refused() == 0
            && closed == 0;
        println!(
            "  stream:chat sent {} ok {chat_ok} refused {:?}; ack p50 {} p99 {} max {} ms\n  \
             gift:send sent {} ok {gift_ok} refused {:?}; ack p50 {} p99 {} max {} ms; unacked (both) {unacked}\n  \
             deliveries: expected {expected} (acked ok × viewers), received {received} (stream:chat {chat_rx}, gift:sent {gift_rx}), lost {lost}; \
             of sent × viewers {} not delivered by the end of the drain; per viewer {lo}..{hi}; viewers disconnected {closed}\n  \
             delivered {per_s:.0}/s over {window_s:.1} s ({all_per_s:.0}/s with {coalesced} coalesced: stream:viewers {}, metrics:update {}, throne:claimed {}, og:changed {}; other {})\n  \
             delivery p50 {} p99 {} max {} ms; server RSS peak {} KB\n  {}",
            chat_acks.sent.load(Ordering::Relaxed),
            crate::lock(&chat_acks.errors),
            ms(chat_ack.quantile(0.5)),
            ms(chat_ack.quantile(0.99)),
            ms(chat_ack.max()),
            gift_acks.sent.load(Ordering::Relaxed),
            crate::lock(&gift_acks.errors),
            ms(gift_ack.quantile(0.5)),
            ms(gift_ack.quantile(0.99)),
            ms(gift_ack.max()),
            undelivered,
            tally.count(VIEWERS),
            tally.count(METRICS),
            tally.count(THRONE),
            tally.count(OG),
            tally.count(OTHER),
            ms(lat.quantile(0.5)),
            ms(lat.quantile(0.99)),
            ms(lat.max()),
            crate::opt(rss.peak_kb().map(|k| k as f64)),
            used.line(),
        );
        let mut v = json!({
            "chat_rate": chat_rate,
            "gift_rate": gift_rate,
            "offered_deliveries_per_s": ((chat_rate + gift_rate) * viewers_joined as f64).round(),
            "stream_chat": chat_acks.to_json(),
            "gift_send": gift_acks.to_json(),
            "unacked": unacked,
            "expected": expected,
            "received": received,
            "received_chat": chat_rx,
            "received_gifts": gift_rx,
            "lost": lost,
            "sent_total": sent_total,
            "not_delivered_by_drain_end": undelivered,
            "coalesced": {
                "stream_viewers": tally.count(VIEWERS),
                "metrics_update": tally.count(METRICS),
                "throne_claimed": tally.count(THRONE),
                "og_changed": tally.count(OG),
            },
            "other_events": tally.count(OTHER),
            "deliveries_per_s": per_s.round(),
            "deliveries_with_coalesced_per_s": all_per_s.round(),
            "window_s": (window_s * 10.0).round() / 10.0,
            "delivery_ms": lat.summary_ms(),
            "per_viewer_min": lo,
            "per_viewer_max": hi,
            "viewers_disconnected": closed,
            "disconnect_reasons": crate::lock(&receivers.disconnect_reasons).clone(),
            "server_rss_peak_kb": rss.peak_kb(),
            "server_rss_end_kb": env.server_rss_kb(),
            "clean": clean,
        });
        merge(&mut v, used.to_json());
        results.push(v);
        if !clean && args.stop_on_loss {
            println!("  stopping: this step lost deliveries or acks");
            break;
        }
        // Whatever is still queued must not count in the next step: wait until the
        // deliveries stop (not measured).
        let settle = Instant::now();
        let mut last = tally.count(CHAT) + tally.count(GIFT);
        let mut quiet_since = Instant::now();
        while settle.elapsed() < Duration::from_secs(300)
            && quiet_since.elapsed() < Duration::from_secs(3)
        {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let now = tally.count(CHAT) + tally.count(GIFT);
            if now != last {
                last = now;
                quiet_since = Instant::now();
            }
        }
        let late = last - received;
        if late > 0 {
            println!(
                "  {late} more deliveries arrived after the drain, over {:.1} s (not counted)",
                settle.elapsed().as_secs_f64()
            );
        }
        if let Some(v) = results.last_mut() {
            merge(v, json!({ "late_deliveries_after_drain": late }));
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    receivers.stop();
    Ok(json!({
        "scenario": "stream",
        "server": env.common.label,
        "run": env.run,
        "date_unix": now_us() / 1_000_000,
        "stream_id": stream_id,
        "viewers": args.viewers,
        "viewers_joined": viewers_joined,
        "chatters": args.chatters,
        "gifters": args.gifters,
        "connect_failures": receivers.failures,
        "connect_secs": receivers.connect_secs,
        "duration_s": args.duration,
        "rss_before_kb": rss_before,
        "rss_idle_kb": rss_idle,
        "kb_per_viewer": kb_per_viewer,
        "steps": results,
    }))
}

fn engage_hist(a: &AckStats) -> crate::hist::Hist {
    crate::lock(&a.lat).clone()
}

/// The Markdown rows of BENCHMARKS.md for a stream result.
pub fn report(r: &Value) {
    let f = |v: &Value| v.as_f64().map_or("–".into(), |x| format!("{x}"));
    println!(
        "| chat/s + gifts/s | offered deliveries/s | delivered/s (chat + gifts) | with coalesced | lost | not delivered by drain end | refused | unacked | stream:chat ack p50 / p99 (ms) | gift:send ack p50 / p99 (ms) | delivery p50 / p99 (ms) | CPU % server / bench / other | server RSS peak (MB) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for s in r["steps"].as_array().into_iter().flatten() {
        let refused = |k: &str| {
            s[k]["refused"]
                .as_object()
                .map_or(0, |o| o.values().filter_map(Value::as_u64).sum::<u64>())
        };
        println!(
            "| {} + {} | {} | {} | {} | {} | {} | {} | {} | {} / {} | {} / {} | {} / {} | {} / {} / {} | {} |",
            f(&s["chat_rate"]),
            f(&s["gift_rate"]),
            f(&s["offered_deliveries_per_s"]),
            f(&s["deliveries_per_s"]),
            f(&s["deliveries_with_coalesced_per_s"]),
            f(&s["lost"]),
            f(&s["not_delivered_by_drain_end"]),
            refused("stream_chat") + refused("gift_send"),
            f(&s["unacked"]),
            f(&s["stream_chat"]["ack_ms"]["p50"]),
            f(&s["stream_chat"]["ack_ms"]["p99"]),
            f(&s["gift_send"]["ack_ms"]["p50"]),
            f(&s["gift_send"]["ack_ms"]["p99"]),
            f(&s["delivery_ms"]["p50"]),
            f(&s["delivery_ms"]["p99"]),
            f(&s["server_cpu_pct"]),
            f(&s["bench_cpu_pct"]),
            f(&s["other_cpu_pct"]),
            s["server_rss_peak_kb"]
                .as_f64()
                .map_or("–".into(), |k| format!("{:.0}", k / 1024.0)),
        );
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    #[test]
    fn steps_parse() {
        assert_eq!(super::parse_step("200:50").unwrap(), (200.0, 50.0));
        assert!(super::parse_step("200").is_err());
    }
}
