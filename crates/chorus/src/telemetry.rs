//! Logging and metrics set-up. Log lines never carry tokens: the HTTP trace layer
//! logs paths without query strings, and no handler logs credentials.

use std::ffi::OsStr;
use std::io::IsTerminal;
use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

static METRICS: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process-wide metrics recorder (once; later calls reuse it).
pub fn install_metrics() {
    METRICS.get_or_init(|| match PrometheusBuilder::new().install_recorder() {
        Ok(handle) => Some(handle),
        Err(e) => {
            tracing::warn!(error = %e, "metrics recorder not installed");
            None
        }
    });
}

/// The Prometheus text of every metric.
pub fn render_metrics() -> String {
    METRICS.get().and_then(Option::as_ref).map(PrometheusHandle::render).unwrap_or_default()
}

/// Libraries that see raw handshakes, headers or frames (and so tokens) at debug or
/// trace level. Their level is capped whatever `RUST_LOG` asks for.
const CREDENTIAL_SEEING: &[&str] = &["tungstenite", "tokio_tungstenite", "hyper", "hyper_util", "h2", "engineioxide", "socketioxide", "axum", "tower_http"];

/// Installs the log subscriber: `RUST_LOG` filters, `json` or `text` lines on stderr.
pub fn init_logging(format: &str) {
    let mut filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    for target in CREDENTIAL_SEEING {
        if let Ok(directive) = format!("{target}=info").parse() {
            filter = filter.add_directive(directive);
        }
    }
    // Logs go to stderr: stdout carries command output (`chorus token`).
    let ansi = colour_logs(std::io::stderr().is_terminal(), std::env::var_os("NO_COLOR").as_deref());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false).with_ansi(ansi).with_writer(std::io::stderr);
    let result = if format == "json" { builder.json().try_init() } else { builder.try_init() };
    if result.is_err() {
        // Already installed (tests start several servers in one process).
    }
}

/// Whether text log lines are coloured: only on a terminal, and never when `NO_COLOR`
/// is set to anything but the empty string (<https://no-color.org>). Under systemd, in
/// a pipe or in `> server.log` the lines carry no escape codes.
fn colour_logs(stderr_is_terminal: bool, no_color: Option<&OsStr>) -> bool {
    stderr_is_terminal && no_color.is_none_or(OsStr::is_empty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_are_coloured_only_on_a_terminal_without_no_color() {
        assert!(colour_logs(true, None));
        assert!(colour_logs(true, Some(OsStr::new(""))), "an empty NO_COLOR does not count");
        assert!(!colour_logs(true, Some(OsStr::new("1"))));
        assert!(!colour_logs(false, None), "a file or a pipe");
        assert!(!colour_logs(false, Some(OsStr::new("1"))));
    }
}
