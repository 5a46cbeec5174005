//! The `chorus` binary as an operator runs it: configuration, `chorus token`,
//! graceful SIGTERM, and no token in any log line even at trace level.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::json;

use crate::support::TestSocket;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[tokio::test]
async fn the_binary_serves_accepts_its_own_dev_tokens_stops_on_sigterm_and_never_logs_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let bin = env!("CARGO_BIN_EXE_chorus");
    // No JWT secret: a development secret is generated and `chorus token` agrees with it.
    let mut server = Command::new(bin)
        .current_dir(dir.path())
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env("RUST_LOG", "trace")
        .env("CHORUS_DATABASE_URL", format!("sqlite://{}", dir.path().join("bin.db").display()))
        .env_remove("CHORUS_JWT_SECRET")
        .stdout(Stdio::from(std::fs::File::create(dir.path().join("out.log")).unwrap()))
        .stderr(Stdio::from(std::fs::File::create(dir.path().join("err.log")).unwrap()))
        .spawn()
        .expect("start chorus");
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let mut up = false;
    for _ in 0..100 {
        if http.get(format!("{base}/healthz")).send().await.is_ok_and(|r| r.status() == 200) {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up, "healthz never answered 200");
    let out = Command::new(bin)
        .current_dir(dir.path())
        .args(["token", "--user", "operator", "--name", "Op"])
        .env_remove("CHORUS_JWT_SECRET")
        .output()
        .expect("chorus token");
    assert!(out.status.success());
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(token.split('.').count() == 3, "a JWT: {token}");

    let addr = format!("127.0.0.1:{port}").parse().unwrap();
    let mut by_auth = TestSocket::connect(addr, Some(json!({"token": token})), "", None).await.expect("auth.token accepted");
    assert_eq!(by_auth.expect("session:ready", |_| true).await["userId"], "operator");
    TestSocket::connect(addr, None, &format!("&token={token}"), None).await.expect("query token accepted");
    TestSocket::connect(addr, None, "", Some(("authorization", format!("Bearer {token}")))).await.expect("header accepted");
    // A refused token must not be logged either.
    let refused = format!("{token}x");
    assert!(TestSocket::connect(addr, Some(json!({"token": refused})), "", None).await.is_err());
    let like = http.post(format!("{base}/api/content/bin-1/like")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(like.status(), 200);
    by_auth.ok("content:comment", json!({"contentId": "bin-1", "text": "logged?"})).await;

    // SIGTERM: graceful stop, exit code 0, sockets closed.
    let pid = server.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    assert!(by_auth.closed_within(Duration::from_secs(5)).await, "socket not closed on shutdown");
    let mut status = None;
    for _ in 0..100 {
        if let Some(s) = server.try_wait().unwrap() {
            status = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let status = status.unwrap_or_else(|| {
        let _ = server.kill();
        panic!("chorus did not exit within 10 s of SIGTERM")
    });
    assert!(status.success(), "exit status {status:?}");
    let mut logs = String::new();
    for file in ["err.log", "out.log"] {
        std::fs::File::open(dir.path().join(file)).unwrap().read_to_string(&mut logs).unwrap();
    }
    assert!(logs.contains("DEVELOPMENT secret"), "the dev secret warning is loud: {logs}");
    assert!(logs.contains(" INFO "), "text log lines: {logs}");
    assert!(!logs.contains('\u{1b}'), "log lines written to a file carry ANSI escape codes");
    // Shutdown stops the background tasks in a known order, and says so.
    let steps = ["stage=\"ticks\"", "doors closed", "stage=\"publishers\"", "stage=\"writers\"", "stage=\"stores\"", "chorus stopped"];
    let at: Vec<usize> = steps.iter().map(|s| logs.find(s).unwrap_or_else(|| panic!("no {s} in the shutdown log: {logs}"))).collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "shutdown steps out of order: {steps:?} at {at:?}");
    let signature = token.rsplit('.').next().unwrap();
    assert!(!logs.contains(signature), "a token reached the log");
    let secret = std::fs::read_to_string(dir.path().join(".chorus-dev-secret")).unwrap();
    assert!(!logs.contains(secret.trim()), "the dev secret reached the log");
}

/// The release build is what users download: no debug sections (it was 122 MB with line
/// tables); the `profiling` profile keeps line tables for perf (BENCHMARKS.md).
#[test]
fn the_release_profile_ships_no_debug_sections_and_profiling_keeps_line_tables() {
    use figment::Figment;
    use figment::providers::{Format, Toml};
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.toml");
    let profiles: serde_json::Value = Figment::from(Toml::file(manifest)).extract_inner("profile").unwrap();
    let release = &profiles["release"];
    assert!(matches!(release.get("debug"), None | Some(serde_json::Value::Bool(false))) || release["debug"] == 0 || release["debug"] == "none", "{release}");
    assert!(release["strip"] == "debuginfo" || release["strip"] == "symbols" || release["strip"] == true, "std's debug sections are stripped too: {release}");
    let profiling = &profiles["profiling"];
    assert_eq!((profiling["inherits"].clone(), profiling["debug"].clone()), (json!("release"), json!("line-tables-only")), "{profiling}");
    assert!(profiling["strip"] == "none" || profiling["strip"] == false, "{profiling}");
}
