//! Token buckets of one node, with `governor` (GCRA): one keyed limiter per class.

use std::collections::HashMap;
use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::ports::limits::{Bucket, LimitClass, RateLimiter};

/// Rate limits held in this process.
pub struct MemoryRateLimiter {
    limiters: HashMap<LimitClass, DefaultKeyedRateLimiter<String>>,
    clock: DefaultClock,
}

impl MemoryRateLimiter {
    /// One limiter per class; a class without a bucket is unlimited.
    pub fn new(buckets: &[(LimitClass, Bucket)]) -> Self {
        let limiters = buckets
            .iter()
            .filter_map(|(class, bucket)| {
                let quota = Quota::with_period(bucket.interval)?.allow_burst(NonZeroU32::new(bucket.burst.max(1))?);
                Some((*class, DefaultKeyedRateLimiter::keyed(quota)))
            })
            .collect();
        Self { limiters, clock: DefaultClock::default() }
    }

}

#[async_trait::async_trait]
impl RateLimiter for MemoryRateLimiter {
    fn forget_idle(&self) {
        for limiter in self.limiters.values() {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }

    async fn check(&self, class: LimitClass, subject: &str) -> Result<(), u64> {
        self.take(class, subject)
    }
}

impl MemoryRateLimiter {
    /// Takes one token now (the Redis limiter's fallback calls this directly).
    pub fn take(&self, class: LimitClass, subject: &str) -> Result<(), u64> {
        let Some(limiter) = self.limiters.get(&class) else { return Ok(()) };
        limiter.check_key(&subject.to_owned()).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::limits::{buckets, Rate};

    #[tokio::test]
    async fn a_burst_passes_then_the_bucket_says_how_long_to_wait() {
        let limiter = MemoryRateLimiter::new(&buckets(&[(LimitClass::Chat, Rate { per_second: 1, burst: 3 })]));
        for _ in 0..3 {
            assert!(limiter.check(LimitClass::Chat, "alice").await.is_ok());
        }
        let wait = limiter.check(LimitClass::Chat, "alice").await.unwrap_err();
        assert!(wait > 0 && wait <= 1000, "retry after {wait} ms");
        assert!(limiter.check(LimitClass::Chat, "bob").await.is_ok(), "buckets are per subject");
        assert!(limiter.check(LimitClass::Likes, "alice").await.is_ok(), "unconfigured classes are unlimited");
    }
}
