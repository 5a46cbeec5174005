//! Rate limits shared by every node: one GCRA bucket per class and subject in Redis,
//! updated by one script on the Redis clock. While Redis is away each node limits on
//! its own buckets instead (the same rates, per node), so limits never block work.

use std::collections::HashMap;

use async_trait::async_trait;

use super::keys::Keys;
use super::link::RedisLink;
use super::scripts;
use crate::adapters::memory_limits::MemoryRateLimiter;
use crate::ports::limits::{Bucket, LimitClass, RateLimiter};

pub struct RedisRateLimiter {
    link: RedisLink,
    keys: Keys,
    /// Emission interval (ms) and burst per limited class.
    rates: HashMap<LimitClass, (f64, u32)>,
    local: MemoryRateLimiter,
    warned: std::sync::atomic::AtomicBool,
}

impl RedisRateLimiter {
    /// A class without a bucket is unlimited, as in memory.
    pub fn new(link: RedisLink, prefix: &str, buckets: &[(LimitClass, Bucket)]) -> Self {
        let by_class = buckets.iter().map(|(class, b)| (*class, (b.interval.as_secs_f64() * 1000.0, b.burst.max(1)))).collect();
        Self { link, keys: Keys::new(prefix), rates: by_class, local: MemoryRateLimiter::new(buckets), warned: false.into() }
    }

    fn fall_back(&self, class: LimitClass, subject: &str, error: Option<&redis::RedisError>) -> Result<(), u64> {
        use std::sync::atomic::Ordering;
        if let Some(e) = error {
            if e.is_io_error() || e.is_timeout() || e.is_connection_dropped() || e.is_connection_refusal() {
                self.link.mark_unhealthy();
            }
            if !self.warned.swap(true, Ordering::AcqRel) {
                tracing::warn!(error = %e, "rate limits: redis failed, limiting per node");
            } else {
                tracing::debug!(error = %e, "rate limit check fell back to the local bucket");
            }
        }
        self.local.take(class, subject)
    }
}

#[async_trait]
impl RateLimiter for RedisRateLimiter {
    async fn check(&self, class: LimitClass, subject: &str) -> Result<(), u64> {
        let Some((interval, burst)) = self.rates.get(&class).copied() else { return Ok(()) };
        if !self.link.is_healthy() {
            return self.fall_back(class, subject, None);
        }
        let mut inv = scripts::TAKE_TOKEN.prepare_invoke();
        inv.key(self.keys.bucket(class, subject)).arg(interval).arg(burst);
        let mut conn = self.link.conn();
        let answer = tokio::time::timeout(std::time::Duration::from_millis(1000), inv.invoke_async::<u64>(&mut conn)).await;
        match answer {
            Ok(Ok(0)) => {
                self.warned.store(false, std::sync::atomic::Ordering::Release);
                Ok(())
            }
            Ok(Ok(wait)) => Err(wait),
            Ok(Err(e)) => self.fall_back(class, subject, Some(&e)),
            Err(_) => {
                self.link.mark_unhealthy();
                self.fall_back(class, subject, None)
            }
        }
    }

    /// Redis buckets expire by themselves once full again; only the local fallback
    /// buckets need forgetting.
    fn forget_idle(&self) {
        self.local.forget_idle();
    }
}
