//! Server-wide sanctions (PROTOCOL.md §11 moderation without a stream scope): a ban
//! disconnects every socket of the user and refuses new ones; a mute refuses what
//! the user posts; a token revocation refuses every token issued before it. Every
//! action is written to the audit log. Sanctions are cached in memory: checks on
//! connect and on every post cost no database read.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::RwLock;
use serde::Serialize;

use super::events::AccountEvent;
use super::error::{DomainError, DomainResult};
use super::model::Identity;
use super::text::{short_label, valid_id};
use super::time::Timestamp;
use crate::ports::publisher::{EventPublisher, Room};
use crate::ports::sanctions_store::{AuditEntry, SanctionRecord, SanctionStore};

/// Longest timed sanction.
const MAX_DURATION_SEC: i64 = 10 * 365 * 24 * 3600;

#[derive(Default)]
struct Cache {
    /// (user, kind) → end (`None` = until lifted).
    sanctions: HashMap<(String, String), Option<Timestamp>>,
    /// user → tokens issued before this are refused.
    revoked_before: HashMap<String, Timestamp>,
}

async fn read_cache(store: &dyn SanctionStore) -> DomainResult<Cache> {
    let mut cache = Cache::default();
    for s in store.active_sanctions(Timestamp::now()).await? {
        cache.sanctions.insert((s.user_id, s.kind), s.until);
    }
    for (user, before) in store.revocations().await? {
        cache.revoked_before.insert(user, before);
    }
    Ok(cache)
}

/// Result of a server-wide ban, unban, mute or unmute.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SanctionApplied {
    pub user_id: String,
    /// `ban`, `unban`, `mute` or `unmute`.
    pub action: &'static str,
    /// Always `global`: stream-scoped sanctions are the live area's.
    pub scope: &'static str,
    /// When a timed ban or mute ends; `null` for one until lifted, and for a lift.
    pub until: Option<Timestamp>,
}

/// Result of a token revocation.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokensRevoked {
    pub user_id: String,
    /// Tokens issued before this are refused.
    pub revoked_before: Timestamp,
}

/// Server-wide sanctions and the moderation audit log.
pub struct AccountSanctions {
    store: Arc<dyn SanctionStore>,
    publisher: Arc<dyn EventPublisher>,
    cache: RwLock<Cache>,
}

impl AccountSanctions {
    /// Loads the sanctions in force.
    pub async fn load(store: Arc<dyn SanctionStore>, publisher: Arc<dyn EventPublisher>) -> DomainResult<Self> {
        let cache = read_cache(store.as_ref()).await?;
        Ok(Self { store, publisher, cache: RwLock::new(cache) })
    }

    /// Reads the sanctions in force again. In cluster mode another node may have
    /// banned, muted or revoked (its sockets are closed cluster-wide at once; this
    /// brings the refusal of new connections and posts on this node in step).
    pub async fn reload(&self) -> DomainResult<()> {
        let cache = read_cache(self.store.as_ref()).await?;
        *self.cache.write() = cache;
        Ok(())
    }

    fn in_force(&self, user_id: &str, kind: &str) -> bool {
        match self.cache.read().sanctions.get(&(user_id.to_owned(), kind.to_owned())) {
            None => false,
            Some(None) => true,
            Some(Some(until)) => *until > Timestamp::now(),
        }
    }

    /// Why a connection (or REST call) of this identity is refused, if it is:
    /// `banned`, or `auth_invalid` for a revoked token.
    pub fn refusal(&self, who: &Identity) -> Option<&'static str> {
        if who.guest {
            return None;
        }
        if self.in_force(&who.user_id, "ban") {
            return Some("banned");
        }
        let revoked = self.cache.read().revoked_before.get(&who.user_id).copied();
        match (revoked, who.issued_at) {
            (Some(before), Some(iat)) if iat.saturating_mul(1000) >= before.millis() => None,
            (Some(_), _) => Some("auth_invalid"),
            (None, _) => None,
        }
    }

    /// Refuses a post (comment, chat message, stream chat) by a muted user.
    pub fn ensure_may_post(&self, user_id: &str) -> DomainResult<()> {
        if self.in_force(user_id, "mute") {
            return Err(DomainError::forbidden("you are muted"));
        }
        Ok(())
    }

    /// `POST /api/server/moderation/{ban|unban|mute|unmute}` without a stream scope.
    pub async fn apply(&self, action: &str, user_id: &str, duration_sec: Option<i64>, reason: Option<&str>) -> DomainResult<SanctionApplied> {
        let user_id = valid_id("userId", user_id)?.to_owned();
        let reason = short_label("reason", reason, 500)?;
        if let Some(d) = duration_sec
            && !(1..=MAX_DURATION_SEC).contains(&d) {
                return Err(DomainError::bad_request("durationSec must be 1 to 10 years"));
            }
        let now = Timestamp::now();
        let until = duration_sec.map(|d| now.plus_millis(d * 1000));
        let (action, kind, lift) = match action {
            "ban" => ("ban", "ban", false),
            "unban" => ("unban", "ban", true),
            "mute" => ("mute", "mute", false),
            "unmute" => ("unmute", "mute", true),
            _ => return Err(DomainError::bad_request("action must be ban, unban, mute or unmute")),
        };
        if lift {
            self.store.remove_sanction(&user_id, kind).await?;
            self.cache.write().sanctions.remove(&(user_id.clone(), kind.to_owned()));
        } else {
            let record = SanctionRecord { user_id: user_id.clone(), kind: kind.to_owned(), until, reason: reason.clone() };
            let banned = (kind == "ban").then(|| AccountEvent::Banned {
                user_id: user_id.clone(),
                stream_id: None,
                by: None,
                until,
                reason: reason.clone(),
                at: now,
            });
            // The ban is told to the app's backend only (the outbox); its sockets close below.
            self.store.put_sanction(&record, now, Box::new(move |_| banned.map(Into::into))).await?;
            self.cache.write().sanctions.insert((user_id.clone(), kind.to_owned()), until);
        }
        self.audit("backend", action, &user_id, "global", reason.as_deref(), duration_sec).await?;
        if action == "ban" {
            self.publisher.disconnect_room(&Room::User(user_id.clone())).await;
        }
        Ok(SanctionApplied { user_id, action, scope: "global", until })
    }

    /// Refuses every token of the user issued until now and closes their sockets.
    pub async fn revoke_tokens(&self, user_id: &str, reason: Option<&str>) -> DomainResult<TokensRevoked> {
        let user_id = valid_id("userId", user_id)?.to_owned();
        let reason = short_label("reason", reason, 500)?;
        // Whole seconds, as `iat` is: a token issued in this same second is refused too.
        let now = Timestamp((Timestamp::now().millis() / 1000 + 1) * 1000);
        self.store.revoke_tokens_before(&user_id, now).await?;
        self.cache.write().revoked_before.insert(user_id.clone(), now);
        self.audit("backend", "revoke_tokens", &user_id, "global", reason.as_deref(), None).await?;
        self.publisher.disconnect_room(&Room::User(user_id.clone())).await;
        Ok(TokensRevoked { user_id, revoked_before: now })
    }

    /// Records a moderation action in the audit log.
    pub async fn audit(&self, actor: &str, action: &str, user_id: &str, scope: &str, reason: Option<&str>, duration_sec: Option<i64>) -> DomainResult<()> {
        self.store
            .append_audit(&AuditEntry {
                id: uuid::Uuid::now_v7().to_string(),
                actor: actor.to_owned(),
                action: action.to_owned(),
                user_id: user_id.to_owned(),
                scope: scope.to_owned(),
                reason: reason.map(str::to_owned),
                duration_sec,
                at: Timestamp::now(),
            })
            .await?;
        Ok(())
    }

    /// Records an action that already took effect: a failed audit write is logged, not
    /// reported to the caller as a failure of the action.
    pub async fn record(&self, actor: &str, action: &str, user_id: &str, scope: &str, reason: Option<&str>, duration_sec: Option<i64>) {
        if let Err(e) = self.audit(actor, action, user_id, scope, reason, duration_sec).await {
            tracing::error!(error = %e.chain(), "moderation audit entry not written");
        }
    }

    /// The audit log, newest first.
    pub async fn audit_log(&self, before: Option<&str>, limit: Option<u32>) -> DomainResult<Vec<AuditEntry>> {
        if let Some(b) = before {
            valid_id("before", b)?;
        }
        let limit = match limit {
            None => 50,
            Some(l) if (1..=200).contains(&l) => l,
            Some(_) => return Err(DomainError::bad_request("limit must be 1-200")),
        };
        Ok(self.store.audit(before, limit).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape<T: serde::Serialize>(value: &T) -> String {
        serde_json::to_string(value).unwrap()
    }

    #[test]
    fn results_keep_their_acked_shape_with_a_null_until() {
        let lifted = SanctionApplied { user_id: "u".into(), action: "unban", scope: "global", until: None };
        assert_eq!(shape(&lifted), r#"{"userId":"u","action":"unban","scope":"global","until":null}"#);
        let at = Timestamp(1_700_000_000_000);
        let timed = SanctionApplied { user_id: "u".into(), action: "mute", scope: "global", until: Some(at) };
        assert_eq!(shape(&timed), format!(r#"{{"userId":"u","action":"mute","scope":"global","until":{}}}"#, shape(&at)));
        let revoked = TokensRevoked { user_id: "u".into(), revoked_before: at };
        assert_eq!(shape(&revoked), format!(r#"{{"userId":"u","revokedBefore":{}}}"#, shape(&at)));
    }
}
