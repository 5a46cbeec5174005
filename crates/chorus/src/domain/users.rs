//! Profiles: who a user id is, for user summaries. Profiles come from the server API
//! and from token claims; claims are written once per distinct claim set, not per call.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;

use super::error::DomainResult;
use super::model::{Identity, UserSummary};
use crate::ports::store::{ProfileUpdate, UserStore};

/// The profile fields a token claims: username, avatar, verified.
type ClaimedProfile = (Option<String>, Option<String>, bool);

/// Upper bound of the claim cache; past it the cache starts over.
const CLAIM_CACHE_LIMIT: usize = 100_000;

/// Reads and writes user profiles.
pub struct UserDirectory {
    store: Arc<dyn UserStore>,
    /// Claim sets already written, so a reconnecting user costs no write.
    seen_claims: Mutex<HashMap<String, ClaimedProfile>>,
}

impl UserDirectory {
    pub fn new(store: Arc<dyn UserStore>) -> Self {
        Self { store, seen_claims: Mutex::new(HashMap::new()) }
    }

    /// Records the profile fields a token carries (first sight or when they change).
    pub async fn remember_claims(&self, who: &Identity) -> DomainResult<()> {
        let key = (who.username.clone(), who.avatar.clone(), who.verified);
        {
            let seen = self.seen_claims.lock();
            if seen.get(&who.user_id) == Some(&key) {
                return Ok(());
            }
        }
        self.store
            .upsert_profile(&ProfileUpdate {
                id: who.user_id.clone(),
                username: who.username.clone(),
                avatar: who.avatar.clone(),
                verified: who.verified.then_some(true),
                authoritative: false,
            })
            .await?;
        let mut seen = self.seen_claims.lock();
        if seen.len() >= CLAIM_CACHE_LIMIT {
            seen.clear();
        }
        seen.insert(who.user_id.clone(), key);
        Ok(())
    }

    /// Server API profile upsert.
    pub async fn upsert(&self, update: &ProfileUpdate) -> DomainResult<UserSummary> {
        let user = self.store.upsert_profile(update).await?;
        self.seen_claims.lock().remove(&update.id);
        Ok(user)
    }

    /// The summary of a user; an unknown user is summarized by its id.
    pub async fn summary(&self, id: &str) -> DomainResult<UserSummary> {
        Ok(self.store.user(id).await?.unwrap_or_else(|| UserSummary::unknown(id)))
    }

    pub async fn by_username(&self, username: &str) -> DomainResult<Option<UserSummary>> {
        Ok(self.store.user_by_username(username).await?)
    }
}
