//! `chorus-bench feed`: `feed:refresh` fan-out from one creator to N online followers.
//!
//! N followers follow the creator over REST (`POST /api/users/{id}/follow`), connect and
//! send `feed:subscribe`; optionally M more follow without connecting (the fan-out still
//! pages through them). Then, `--reps` times, the creator sends `feed:new_content` and
//! the bench measures the time from that command to the last `feed:refresh` received,
//! and the fan-out rate. All along, a side client sends `content:like` at a steady rate:
//! its ack latency during each fan-out, against the quiet time between fan-outs, shows
//! whether the fan-out stalls other commands.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::bail;
use serde_json::{Value, json};

use crate::chat::merge;
use crate::engage::{self, Client, Common, CpuMeter, Env, OnFrame, RssPeak, Setup, Tally};
use crate::hist::{Hist, ms};
use crate::{lock, now_us, wire};

#[derive(clap::Args, Clone, Debug)]
pub struct FeedArgs {
    #[command(flatten)]
    pub common: Common,
    /// Followers that connect and subscribe to their feed.
    #[arg(long, default_value_t = 10_000)]
    pub followers: usize,
    /// More followers that follow but never connect (addressed by the fan-out, offline).
    #[arg(long, default_value_t = 0)]
    pub offline_followers: usize,
    /// Times the creator announces new content.
    #[arg(long, default_value_t = 5)]
    pub reps: usize,
    /// Seconds of quiet between two announcements (the side client's baseline).
    #[arg(long, default_value_t = 3.0)]
    pub gap_secs: f64,
    /// `content:like` commands per second from the side client.
    #[arg(long, default_value_t = 50.0)]
    pub side_rate: f64,
    /// Longest wait for one fan-out to reach everyone, in seconds.
    #[arg(long, default_value_t = 30.0)]
    pub fanout_max_secs: f64,
    /// Parallel connections for the follow requests.
    #[arg(long, default_value_t = 16)]
    pub http_conns: usize,
}

const REFRESH: usize = 0;
const OTHER: usize = 1;

/// One side command: send time (µs since the epoch), ack latency (µs), ok.
type SideSample = (u64, u64, bool);

pub async fn run(args: FeedArgs) -> anyhow::Result<Value> {
    let env = Arc::new(Env::new(args.common.clone()).await?);
    let creator = env.user("creator");
    println!(
        "[{}] feed: {} online + {} offline followers of {creator}",
        env.common.label, args.followers, args.offline_followers
    );

    // Follows first (the creator is offline, so each follow only stores a notification).
    let total = args.followers + args.offline_followers;
    let t = Instant::now();
    let failures = {
        let (env2, creator) = (env.clone(), creator.clone());
        let online = args.followers;
        engage::http_many(&env, total, args.http_conns, move |i, mut http| {
            let (env, creator) = (env2.clone(), creator.clone());
            async move {
                let r = async {
                    let name = if i < online {
                        format!("f{i}")
                    } else {
                        format!("o{i}")
                    };
                    let token = env.token(&env.user(&name))?;
                    http.json(
                        "POST",
                        &format!("/api/users/{creator}/follow"),
                        Some(&token),
                        None,
                    )
                    .await
                    .map(drop)
                }
                .await;
                (http, r)
            }
        })
        .await?
    };
    let follow_secs = t.elapsed().as_secs_f64();
    println!(
        "  {total} follows in {follow_secs:.1} s ({:.0}/s); failures {failures:?}",
        total as f64 / follow_secs
    );
    if !failures.is_empty() {
        bail!("follows failed: {failures:?}");
    }

    // Followers online, each subscribed to its feed.
    let tally = Arc::new(Tally::new(args.followers));
    let t0 = Arc::new(AtomicU64::new(0));
    let rss_before = env.server_rss_kb();
    let receivers = {
        let (tally, t0) = (tally.clone(), t0.clone());
        let on_frame: OnFrame = Arc::new(move |idx, name, _frame| {
            if name == "feed:refresh" {
                let now = now_us();
                tally.add(
                    idx,
                    REFRESH,
                    now,
                    Some(now.saturating_sub(t0.load(Ordering::Relaxed))),
                );
            } else {
                tally.add(idx, OTHER, 0, None);
            }
        });
        let env2 = env.clone();
        engage::spawn_receivers(
            &env,
            args.followers,
            move |i| Setup {
                user: env2.user(&format!("f{i}")),
                commands: vec![("feed:subscribe".into(), "{}".into())],
            },
            on_frame,
        )
        .await?
    };
    let joined = receivers.joined.len() as u64;
    println!(
        "  {joined} of {} followers connected and subscribed in {} s; failures {:?}",
        args.followers, receivers.connect_secs, receivers.failures
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_idle = env.server_rss_kb();

    let creator_client = Client::open(&env, &creator, None).await?;
    let side = Client::open(&env, &env.user("side"), None).await?;

    // The side client: content:like on its own item, all through the run.
    let samples: Arc<Mutex<Vec<SideSample>>> = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let side_task = {
        let (side, samples, stop) = (side.clone(), samples.clone(), stop.clone());
        let payload = format!(
            "{{\"contentId\":{}}}",
            crate::json_str(&env.user("side-item"))
        );
        let period = Duration::from_secs_f64(1.0 / args.side_rate.max(0.1));
        tokio::spawn(async move {
            let start = Instant::now();
            for k in 0u64.. {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                tokio::time::sleep_until((start + period.mul_f64(k as f64)).into()).await;
                let sent = now_us();
                let samples = samples.clone();
                let on_ack: engage::OnAck = Box::new(move |us, body| {
                    lock(&samples).push((sent, us, wire::ack_ok(body)));
                });
                if !side.send("content:like", &payload, on_ack).await {
                    break;
                }
            }
        })
    };
    tokio::time::sleep(Duration::from_secs_f64(args.gap_secs)).await;

    let mut reps = Vec::new();
    let mut windows = Vec::new();
    for rep in 0..args.reps {
        tally.reset();
        let cpu = CpuMeter::start(env.common.server_pid);
        let rss = RssPeak::start(env.common.server_pid);
        let content_id = env.user(&format!("post-{rep}"));
        let payload = json!({ "contentId": content_id, "contentType": "video", "title": format!("bench post {rep}") }).to_string();
        let started_us = now_us();
        t0.store(started_us, Ordering::Relaxed);
        let ack = creator_client
            .call("feed:new_content", &payload, Duration::from_secs(30))
            .await;
        let (ack_us, notified) = match &ack {
            Ok((us, body)) => (
                Some(*us),
                engage::ack_data("feed:new_content", body)
                    .ok()
                    .and_then(|d| d["followersNotified"].as_u64()),
            ),
            Err(_) => (None, None),
        };
        // Until every subscribed follower has its refresh, or it stops coming.
        let began = Instant::now();
        let (mut seen, mut last_change) = (0, Instant::now());
        loop {
            tokio::time::sleep(Duration::from_millis(20)).await;
            let got = tally.count(REFRESH);
            if got != seen {
                seen = got;
                last_change = Instant::now();
            }
            if got >= joined
                || last_change.elapsed() > Duration::from_secs(5)
                || began.elapsed().as_secs_f64() > args.fanout_max_secs
            {
                break;
            }
        }
        let used = cpu.stop();
        let received = tally.count(REFRESH);
        let last_us = tally.last_us();
        let fanout_ms = last_us.saturating_sub(started_us) as f64 / 1000.0;
        let per_s = if fanout_ms > 0.0 {
            received as f64 / (fanout_ms / 1000.0)
        } else {
            0.0
        };
        let lat = tally.take_latency();
        let (lo, hi) = tally.per_receiver_range(&receivers.joined);
        windows.push((started_us, last_us.max(started_us)));
        println!(
            "[{}] rep {rep}: feed:new_content ack {} ms (followersNotified {}); feed:refresh {received} of {joined} in {fanout_ms:.0} ms \
             = {per_s:.0}/s; arrival p50 {} p99 {} ms; per follower {lo}..{hi}; {}",
            env.common.label,
            ack_us.map_or("–".into(), |u| format!("{}", ms(u))),
            notified.map_or("?".into(), |n| n.to_string()),
            ms(lat.quantile(0.5)),
            ms(lat.quantile(0.99)),
            used.line()
        );
        let mut v = json!({
            "rep": rep,
            "new_content_ack_ms": ack_us.map(ms),
            "new_content_error": ack.as_ref().err().map(|e| format!("{e:#}")),
            "followers_notified": notified,
            "refresh_received": received,
            "refresh_expected": joined,
            "fanout_ms": (fanout_ms * 10.0).round() / 10.0,
            "deliveries_per_s": per_s.round(),
            "arrival_ms": lat.summary_ms(),
            "per_follower_min": lo,
            "per_follower_max": hi,
            "other_events": tally.count(OTHER),
            "server_rss_peak_kb": rss.peak_kb(),
        });
        merge(&mut v, used.to_json());
        reps.push(v);
        tokio::time::sleep(Duration::from_secs_f64(args.gap_secs)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let _ = side_task.await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let side_unacked = side.clear_pending();

    // The side client's acks: those sent during a fan-out, and the others.
    let (mut during, mut quiet) = (Hist::default(), Hist::default());
    let (mut during_failed, mut quiet_failed) = (0u64, 0u64);
    for &(sent, us, ok) in lock(&samples).iter() {
        let in_fanout = windows.iter().any(|&(a, b)| sent >= a && sent <= b);
        let (h, failed) = if in_fanout {
            (&mut during, &mut during_failed)
        } else {
            (&mut quiet, &mut quiet_failed)
        };
        h.record(us);
        if !ok {
            *failed += 1;
        }
    }
    println!(
        "  side client content:like acks: during fan-outs {} (p50 {} p99 {} max {} ms, refused {during_failed}); \
         between fan-outs {} (p50 {} p99 {} max {} ms, refused {quiet_failed}); unacked {side_unacked}",
        during.count(),
        ms(during.quantile(0.5)),
        ms(during.quantile(0.99)),
        ms(during.max()),
        quiet.count(),
        ms(quiet.quantile(0.5)),
        ms(quiet.quantile(0.99)),
        ms(quiet.max()),
    );
    receivers.stop();
    Ok(json!({
        "scenario": "feed",
        "server": env.common.label,
        "run": env.run,
        "date_unix": now_us() / 1_000_000,
        "followers": args.followers,
        "offline_followers": args.offline_followers,
        "followers_subscribed": joined,
        "connect_failures": receivers.failures,
        "connect_secs": receivers.connect_secs,
        "follow_secs": (follow_secs * 10.0).round() / 10.0,
        "rss_before_kb": rss_before,
        "rss_idle_kb": rss_idle,
        "side_rate": args.side_rate,
        "reps": reps,
        "side_during_fanout": { "ack_ms": during.summary_ms(), "refused": during_failed },
        "side_between": { "ack_ms": quiet.summary_ms(), "refused": quiet_failed },
        "side_unacked": side_unacked,
        "followers_disconnected": receivers.disconnected.load(Ordering::Relaxed),
        "disconnect_reasons": lock(&receivers.disconnect_reasons).clone(),
    }))
}

/// The Markdown rows of BENCHMARKS.md for a feed result.
pub fn report(r: &Value) {
    let f = |v: &Value| v.as_f64().map_or("–".into(), |x| format!("{x}"));
    println!(
        "| rep | new_content ack (ms) | refreshes received / subscribed | command → last refresh (ms) | fan-out deliveries/s | arrival p50 / p99 (ms) | CPU % server / bench / other |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    for s in r["reps"].as_array().into_iter().flatten() {
        println!(
            "| {} | {} | {} / {} | {} | {} | {} / {} | {} / {} / {} |",
            f(&s["rep"]),
            f(&s["new_content_ack_ms"]),
            f(&s["refresh_received"]),
            f(&s["refresh_expected"]),
            f(&s["fanout_ms"]),
            f(&s["deliveries_per_s"]),
            f(&s["arrival_ms"]["p50"]),
            f(&s["arrival_ms"]["p99"]),
            f(&s["server_cpu_pct"]),
            f(&s["bench_cpu_pct"]),
            f(&s["other_cpu_pct"]),
        );
    }
    println!();
    println!(
        "| side client `content:like` ({}/s) | acks | p50 (ms) | p99 (ms) | max (ms) | refused |",
        f(&r["side_rate"])
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for (name, key) in [
        ("sent during a fan-out", "side_during_fanout"),
        ("sent between fan-outs", "side_between"),
    ] {
        let s = &r[key];
        println!(
            "| {name} | {} | {} | {} | {} | {} |",
            f(&s["ack_ms"]["count"]),
            f(&s["ack_ms"]["p50"]),
            f(&s["ack_ms"]["p99"]),
            f(&s["ack_ms"]["max"]),
            f(&s["refused"]),
        );
    }
}
