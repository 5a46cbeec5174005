//! When a failed delivery is tried again: exponential backoff with jitter, never sooner
//! than an endpoint's `Retry-After` asks, never later than the longest delay.

use std::time::Duration;

/// The delays between attempts of one delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Delay after the first failure, doubled after each further one.
    pub min: Duration,
    /// Longest delay.
    pub max: Duration,
}

impl RetryPolicy {
    /// The delay after `failures` failed attempts (1 for the first): `min · 2^(failures-1)`,
    /// capped at `max`, then drawn between half of it and all of it so deliveries that
    /// failed together don't come back together; at least `asked` (the endpoint's
    /// `Retry-After`, itself capped at `max`).
    pub fn delay(&self, failures: u32, asked: Option<Duration>) -> Duration {
        let doublings = failures.saturating_sub(1).min(30);
        let backoff = self.min.saturating_mul(1_u32 << doublings).min(self.max);
        let jittered = backoff.mul_f64(rand::random_range(0.5..=1.0));
        asked.map_or(jittered, |asked| jittered.max(asked.min(self.max)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: RetryPolicy = RetryPolicy { min: Duration::from_secs(1), max: Duration::from_secs(60) };

    #[test]
    fn each_failure_doubles_the_delay_within_its_jitter_until_the_cap() {
        for _ in 0..200 {
            for (failures, full) in [(1, 1), (2, 2), (3, 4), (4, 8), (7, 60), (40, 60)] {
                let d = POLICY.delay(failures, None);
                let full = Duration::from_secs(full);
                assert!(d >= full / 2 && d <= full, "failure {failures}: {d:?} not within [{:?}, {full:?}]", full / 2);
            }
        }
    }

    #[test]
    fn retry_after_is_honoured_up_to_the_longest_delay() {
        assert!(POLICY.delay(1, Some(Duration::from_secs(30))) >= Duration::from_secs(30));
        assert_eq!(POLICY.delay(1, Some(Duration::from_secs(3600))), Duration::from_secs(60));
    }
}
