//! Token buckets of one node, with `governor` (GCRA): one keyed limiter per class.

use std::collections::HashMap;
use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::ports::limits::{LimitClass, RateLimiter};

/// A sustained rate with a burst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Rate {
    /// Tokens added per second.
    pub per_second: u32,
    /// Bucket size.
    pub burst: u32,
}

/// Rate limits held in this process.
pub struct MemoryRateLimiter {
    limiters: HashMap<LimitClass, DefaultKeyedRateLimiter<String>>,
    clock: DefaultClock,
}

impl MemoryRateLimiter {
    /// One limiter per class; a class without a rate (or a zero rate) is unlimited.
    pub fn new(rates: &[(LimitClass, Rate)]) -> Self {
        let limiters = rates
            .iter()
            .filter_map(|(class, rate)| {
                let per_second = NonZeroU32::new(rate.per_second)?;
                let burst = NonZeroU32::new(rate.burst.max(1))?;
                Some((*class, DefaultKeyedRateLimiter::keyed(Quota::per_second(per_second).allow_burst(burst))))
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

    #[tokio::test]
    async fn a_burst_passes_then_the_bucket_says_how_long_to_wait() {
        let limiter = MemoryRateLimiter::new(&[(LimitClass::Chat, Rate { per_second: 1, burst: 3 })]);
        for _ in 0..3 {
            assert!(limiter.check(LimitClass::Chat, "alice").await.is_ok());
        }
        let wait = limiter.check(LimitClass::Chat, "alice").await.unwrap_err();
        assert!(wait > 0 && wait <= 1000, "retry after {wait} ms");
        assert!(limiter.check(LimitClass::Chat, "bob").await.is_ok(), "buckets are per subject");
        assert!(limiter.check(LimitClass::Likes, "alice").await.is_ok(), "unconfigured classes are unlimited");
    }
}
