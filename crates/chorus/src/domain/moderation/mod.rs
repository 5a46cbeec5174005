//! The moderation pipeline: one place that decides whether a text may be shown, for
//! every surface (stream chat now; comments and chat can call the same `check`).
//! Built-in rules run first (blocklist, links, spam shapes); when they pass and a
//! webhook is configured, the external moderator has the last word, within a timeout,
//! failing open or closed as configured.

pub mod confusables;
pub mod normalize;
pub mod rules;

use std::sync::Arc;

use async_trait::async_trait;
use serde::Serialize;

use self::rules::{AllCaps, Blocklist, LinkPolicy, Prepared, RepeatedCharacters, Rule};
use crate::config::Settings;
use crate::domain::events::AccountEvent;
use crate::domain::sanctions::AccountSanctions;
use crate::domain::time::Timestamp;
use crate::ports::outbox::OutboxStore;

/// Where a text is posted (the webhook and the logs are told).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Surface {
    StreamChat,
    Comment,
    Chat,
}

impl Surface {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::StreamChat => "stream_chat",
            Self::Comment => "comment",
            Self::Chat => "chat",
        }
    }
}

/// How bad a blocked text is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Low,
    Medium,
    High,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "low" => Self::Low,
            "medium" => Self::Medium,
            "high" => Self::High,
            _ => return None,
        })
    }
}

/// The decision on one text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    /// Not shown; `reason` is told to the author.
    Block { reason: String, severity: Severity },
    /// The external moderator failed and the pipeline fails closed: refuse the text
    /// without holding it against its author.
    Unavailable,
}

/// `comment,chat` → the surfaces `guard` checks.
fn parse_surfaces(text: &str) -> anyhow::Result<Vec<Surface>> {
    text.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| match t {
            "comment" | "comments" => Ok(Surface::Comment),
            "chat" => Ok(Surface::Chat),
            "stream_chat" => Ok(Surface::StreamChat),
            other => anyhow::bail!("moderation_surfaces: unknown surface {other:?} (use comment, chat)"),
        })
        .collect()
}

/// An external moderator (the webhook). Errors are failures to get an answer.
#[async_trait]
pub trait ExternalModerator: Send + Sync {
    async fn classify(&self, surface: Surface, text: &str) -> Result<Verdict, String>;
}

/// The rules of the pipeline.
#[derive(Debug, Clone)]
pub struct ModerationConfig {
    /// Comma-separated blocked words and phrases.
    pub blocklist: String,
    /// Refuse links (except to `allowed_domains`).
    pub block_links: bool,
    pub allowed_domains: String,
    /// Longest run of one character (0 = no limit).
    pub max_repeated_chars: usize,
    /// Texts with at least this many letters that are 80 % capitals are refused (0 = off).
    pub caps_min_letters: usize,
    /// Allow texts when the external moderator cannot answer.
    pub fail_open: bool,
    /// Surfaces besides stream chat that `guard` checks.
    pub guarded: Vec<Surface>,
}

impl Default for ModerationConfig {
    fn default() -> Self {
        Self {
            blocklist: String::new(),
            block_links: true,
            allowed_domains: String::new(),
            max_repeated_chars: 10,
            caps_min_letters: 12,
            fail_open: true,
            guarded: Vec::new(),
        }
    }
}

/// The pipeline.
pub struct Moderation {
    rules: Vec<Box<dyn Rule>>,
    external: Option<Arc<dyn ExternalModerator>>,
    fail_open: bool,
    /// Surfaces besides stream chat whose posts `guard` checks (`moderation_surfaces`).
    guarded: Vec<Surface>,
    /// Server-wide mutes (`POST /api/server/moderation/mute`): a muted user posts
    /// nothing. Always set on a node (`from_settings`); the rule tests go without.
    mutes: Option<Arc<AccountSanctions>>,
    /// Where a refused text is told to the app's backend (`moderation.blocked`); the
    /// rule tests go without.
    outbox: Option<Arc<dyn OutboxStore>>,
}

/// A text being posted: where, and by whom.
#[derive(Debug, Clone, Copy)]
pub struct Post<'a> {
    pub surface: Surface,
    /// The content, chat room or stream id.
    pub place: &'a str,
    pub author: &'a str,
}

impl Moderation {
    pub fn new(config: &ModerationConfig, external: Option<Arc<dyn ExternalModerator>>) -> Self {
        let mut rules: Vec<Box<dyn Rule>> = Vec::new();
        let blocklist = Blocklist::parse(&config.blocklist);
        if !blocklist.is_empty() {
            rules.push(Box::new(blocklist));
        }
        if config.block_links {
            rules.push(Box::new(LinkPolicy::blocking_except(&config.allowed_domains)));
        }
        if config.max_repeated_chars > 0 {
            rules.push(Box::new(RepeatedCharacters { max_run: config.max_repeated_chars }));
        }
        if config.caps_min_letters > 0 {
            rules.push(Box::new(AllCaps { min_letters: config.caps_min_letters, min_percent: 80 }));
        }
        Self { rules, external, fail_open: config.fail_open, guarded: config.guarded.clone(), mutes: None, outbox: None }
    }

    /// Refuses any post (comment, chat message, stream chat) by a user muted
    /// server-wide, on whichever door it comes (`forbidden`).
    pub fn ensure_may_post(&self, author: &str) -> crate::domain::error::DomainResult<()> {
        match &self.mutes {
            Some(mutes) => mutes.ensure_may_post(author),
            None => Ok(()),
        }
    }

    /// The pipeline a node runs with: `blocklist`, `moderation_*` settings, the external
    /// moderator the node built from `moderation_webhook_url`, if any, the node's
    /// server-wide mutes and its outbox.
    pub fn from_settings(
        s: &Settings,
        external: Option<Arc<dyn ExternalModerator>>,
        mutes: Arc<AccountSanctions>,
        outbox: Arc<dyn OutboxStore>,
    ) -> anyhow::Result<Self> {
        let block_links = match s.moderation.links.as_str() {
            "block" => true,
            "allow" => false,
            other => anyhow::bail!("moderation_links must be block or allow, not {other:?}"),
        };
        let config = ModerationConfig {
            blocklist: s.moderation.blocklist.clone(),
            block_links,
            allowed_domains: s.moderation.allowed_domains.clone(),
            max_repeated_chars: s.moderation.max_repeated_chars,
            caps_min_letters: s.moderation.caps_min_letters,
            fail_open: s.moderation.webhook_fail_open,
            guarded: parse_surfaces(&s.moderation.surfaces)?,
        };
        Ok(Self { mutes: Some(mutes), outbox: Some(outbox), ..Self::new(&config, external) })
    }

    /// The built-in rules alone (no I/O).
    pub fn check_rules(&self, text: &str) -> Verdict {
        let prepared = Prepared::new(text);
        self.rules.iter().find_map(|r| r.check(&prepared)).unwrap_or(Verdict::Allow)
    }

    /// For comments and chat: refuses a text the pipeline blocks on a guarded surface
    /// (`blocked`, told to the app's backend), or when a fail-closed webhook cannot
    /// answer (`unavailable`).
    pub async fn guard(&self, post: Post<'_>, text: &str) -> crate::domain::error::DomainResult<()> {
        use crate::domain::error::{DomainError, ErrorCode};
        if !self.guarded.contains(&post.surface) {
            return Ok(());
        }
        match self.check(post.surface, text).await {
            Verdict::Allow => Ok(()),
            Verdict::Block { reason, severity } => {
                self.tell_blocked(post, &reason, severity).await;
                Err(DomainError::new(ErrorCode::Blocked, format!("blocked: {reason}")))
            }
            Verdict::Unavailable => Err(DomainError::unavailable("moderation is unavailable, try again")),
        }
    }

    /// Tells the app's backend that a text was refused (`moderation.blocked`). The
    /// refusal stands whatever happens here: a failure to record it is logged.
    pub async fn tell_blocked(&self, post: Post<'_>, reason: &str, severity: Severity) {
        let Some(outbox) = &self.outbox else { return };
        let blocked = AccountEvent::TextBlocked {
            surface: post.surface,
            place: post.place.to_owned(),
            author_id: post.author.to_owned(),
            reason: reason.to_owned(),
            severity,
            at: Timestamp::now(),
        };
        if let Err(e) = outbox.record(blocked.into()).await {
            tracing::warn!(surface = post.surface.as_str(), error = %e.chain(), "a refused text was not told to the app's backend");
        }
    }

    /// Decides on a text posted on `surface`.
    pub async fn check(&self, surface: Surface, text: &str) -> Verdict {
        let verdict = match self.check_rules(text) {
            Verdict::Allow => match &self.external {
                None => Verdict::Allow,
                Some(external) => match external.classify(surface, text).await {
                    Ok(v) => v,
                    Err(e) => {
                        tracing::warn!(surface = surface.as_str(), error = %e, fail_open = self.fail_open, "moderation webhook failed");
                        metrics::counter!("chorus_moderation_webhook_failures_total").increment(1);
                        if self.fail_open { Verdict::Allow } else { Verdict::Unavailable }
                    }
                },
            },
            blocked => blocked,
        };
        if let Verdict::Block { severity, .. } = &verdict {
            metrics::counter!("chorus_moderation_blocked_total", "surface" => surface.as_str(), "severity" => severity.as_str()).increment(1);
        }
        verdict
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(Result<Verdict, String>);

    #[async_trait]
    impl ExternalModerator for Fixed {
        async fn classify(&self, _: Surface, _: &str) -> Result<Verdict, String> {
            self.0.clone()
        }
    }

    fn config(list: &str) -> ModerationConfig {
        ModerationConfig { blocklist: list.into(), ..ModerationConfig::default() }
    }

    #[tokio::test]
    async fn built_in_rules_decide_before_the_webhook_is_asked() {
        let external: Arc<dyn ExternalModerator> = Arc::new(Fixed(Ok(Verdict::Allow)));
        let m = Moderation::new(&config("darn"), Some(external));
        assert_eq!(m.check(Surface::StreamChat, "hello there").await, Verdict::Allow);
        assert!(matches!(m.check(Surface::StreamChat, "D4RN it").await, Verdict::Block { severity: Severity::High, .. }));
        assert!(matches!(m.check(Surface::Comment, "visit spam.xyz").await, Verdict::Block { severity: Severity::Medium, .. }));
    }

    #[tokio::test]
    async fn webhook_answers_count_and_failures_open_or_close_as_configured() {
        let flagged = Verdict::Block { reason: "toxic".into(), severity: Severity::Medium };
        let m = Moderation::new(&config(""), Some(Arc::new(Fixed(Ok(flagged.clone())))));
        assert_eq!(m.check(Surface::Chat, "you are mean").await, flagged);
        let open = Moderation::new(&config(""), Some(Arc::new(Fixed(Err("timeout".into())))));
        assert_eq!(open.check(Surface::Chat, "hi").await, Verdict::Allow);
        let closed = Moderation::new(&ModerationConfig { fail_open: false, ..config("") }, Some(Arc::new(Fixed(Err("timeout".into())))));
        assert_eq!(closed.check(Surface::Chat, "hi").await, Verdict::Unavailable);
    }
}
