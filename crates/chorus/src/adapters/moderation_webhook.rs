//! The external moderator over HTTP: `POST {url}` with `{surface, text}`, answered by
//! `{"allow": bool, "reason"?, "severity"?}` (or `{"action": "allow"|"block", ...}`).
//! It implements the domain's `ExternalModerator` contract, the pipeline's one piece
//! of I/O. Plain HTTP only (the
//! client is built without TLS): point it at a local sidecar or gateway.

use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::json;

use crate::domain::moderation::{ExternalModerator, Severity, Surface, Verdict};

/// Largest answer read from the webhook.
const MAX_ANSWER_BYTES: usize = 16 * 1024;

/// A webhook answer.
#[derive(Debug, Deserialize)]
struct Answer {
    allow: Option<bool>,
    action: Option<String>,
    reason: Option<String>,
    severity: Option<String>,
}

/// Asks an HTTP endpoint.
pub struct HttpModerator {
    client: reqwest::Client,
    url: String,
}

impl HttpModerator {
    /// Refuses URLs that are not `http://` (this build has no TLS).
    pub fn new(url: &str, timeout: Duration) -> anyhow::Result<Self> {
        if !url.starts_with("http://") {
            anyhow::bail!("moderation_webhook_url must be an http:// URL (this build has no TLS); got {url:?}");
        }
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .map_err(|e| anyhow::anyhow!("moderation webhook client: {e}"))?;
        Ok(Self { client, url: url.to_owned() })
    }
}

#[async_trait]
impl ExternalModerator for HttpModerator {
    async fn classify(&self, surface: Surface, text: &str) -> Result<Verdict, String> {
        let res = self
            .client
            .post(&self.url)
            .json(&json!({ "surface": surface.as_str(), "text": text }))
            .send()
            .await
            .map_err(|e| format!("request failed: {e}"))?;
        if !res.status().is_success() {
            return Err(format!("answered {}", res.status()));
        }
        let body = res.bytes().await.map_err(|e| format!("reading the answer: {e}"))?;
        if body.len() > MAX_ANSWER_BYTES {
            return Err("answer too large".into());
        }
        let answer: Answer = serde_json::from_slice(&body).map_err(|e| format!("answer is not the expected JSON: {e}"))?;
        verdict_of(answer)
    }
}

fn verdict_of(a: Answer) -> Result<Verdict, String> {
    let allow = match (a.allow, a.action.as_deref()) {
        (Some(allow), _) => allow,
        (None, Some("allow")) => true,
        (None, Some("block")) => false,
        _ => return Err("answer has neither allow nor action".into()),
    };
    if allow {
        return Ok(Verdict::Allow);
    }
    let reason = a.reason.filter(|r| !r.trim().is_empty()).map_or_else(|| "flagged by moderation".to_owned(), |r| r.chars().take(200).collect());
    let severity = a.severity.as_deref().and_then(Severity::parse).unwrap_or(Severity::Medium);
    Ok(Verdict::Block { reason, severity })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_map_to_verdicts() {
        let a = |v: serde_json::Value| verdict_of(serde_json::from_value(v).unwrap());
        assert_eq!(a(json!({"allow": true})), Ok(Verdict::Allow));
        assert_eq!(a(json!({"action": "allow"})), Ok(Verdict::Allow));
        assert_eq!(
            a(json!({"allow": false, "reason": "hate", "severity": "high"})),
            Ok(Verdict::Block { reason: "hate".into(), severity: Severity::High })
        );
        assert_eq!(
            a(json!({"action": "block"})),
            Ok(Verdict::Block { reason: "flagged by moderation".into(), severity: Severity::Medium })
        );
        assert!(a(json!({"score": 0.9})).is_err());
    }

    #[test]
    fn only_plain_http_urls_are_accepted() {
        assert!(HttpModerator::new("https://mod.example", Duration::from_millis(100)).is_err());
        assert!(HttpModerator::new("http://127.0.0.1:9/check", Duration::from_millis(100)).is_ok());
    }
}
