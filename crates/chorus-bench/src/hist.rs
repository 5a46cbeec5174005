//! Latency histograms: log-linear buckets over microseconds (16 sub-buckets per power of
//! two, so a quantile is within about 6% of the true value), cheap enough to record
//! every delivery.

use std::sync::atomic::{AtomicU64, Ordering};

const SUB_BITS: u32 = 4;
const SUB: u64 = 1 << SUB_BITS;
/// Covers values up to 2^40 µs (about 12 days).
pub const BUCKETS: usize = (SUB as usize) * 38;

/// Bucket index of a value in microseconds.
pub fn index(v: u64) -> usize {
    if v < SUB {
        return v as usize;
    }
    let p = 63 - v.leading_zeros(); // p >= SUB_BITS
    let i = (u64::from(p - SUB_BITS + 1) << SUB_BITS) + ((v >> (p - SUB_BITS)) & (SUB - 1));
    (i as usize).min(BUCKETS - 1)
}

/// A representative value (the middle) of bucket `i`, in microseconds.
pub fn value(i: usize) -> u64 {
    let i = i as u64;
    if i < SUB {
        return i;
    }
    let p = (i >> SUB_BITS) + u64::from(SUB_BITS) - 1;
    let low = (SUB + (i & (SUB - 1))) << (p - u64::from(SUB_BITS));
    let width = 1u64 << (p - u64::from(SUB_BITS));
    low + width / 2
}

/// A histogram that many tasks record into without locks.
pub struct AtomicHist {
    counts: Box<[AtomicU64]>,
    max: AtomicU64,
}

impl Default for AtomicHist {
    fn default() -> Self {
        Self {
            counts: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            max: AtomicU64::new(0),
        }
    }
}

impl AtomicHist {
    pub fn record(&self, us: u64) {
        self.counts[index(us)].fetch_add(1, Ordering::Relaxed);
        if us > self.max.load(Ordering::Relaxed) {
            self.max.fetch_max(us, Ordering::Relaxed);
        }
    }

    /// Adds the counts into `into` and zeroes this histogram.
    pub fn drain_into(&self, into: &mut Hist) {
        for (dst, src) in into.counts.iter_mut().zip(self.counts.iter()) {
            *dst += src.swap(0, Ordering::Relaxed);
        }
        into.max = into.max.max(self.max.swap(0, Ordering::Relaxed));
    }
}

/// A plain histogram, for one task or for a merged snapshot.
#[derive(Clone)]
pub struct Hist {
    counts: Vec<u64>,
    max: u64,
}

impl Default for Hist {
    fn default() -> Self {
        Self {
            counts: vec![0; BUCKETS],
            max: 0,
        }
    }
}

impl Hist {
    pub fn record(&mut self, us: u64) {
        self.counts[index(us)] += 1;
        self.max = self.max.max(us);
    }

    pub fn merge(&mut self, other: &Hist) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.max = self.max.max(other.max);
    }

    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The value at quantile `q` (0..=1) in microseconds; 0 when empty.
    pub fn quantile(&self, q: f64) -> u64 {
        let total = self.count();
        if total == 0 {
            return 0;
        }
        let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return value(i).min(self.max);
            }
        }
        self.max
    }

    pub fn max(&self) -> u64 {
        self.max
    }

    /// `{p50, p99, max}` in milliseconds, for the JSON result.
    pub fn summary_ms(&self) -> serde_json::Value {
        serde_json::json!({
            "count": self.count(),
            "p50": ms(self.quantile(0.50)),
            "p99": ms(self.quantile(0.99)),
            "max": ms(self.max),
        })
    }
}

/// Microseconds as milliseconds rounded to 0.01.
pub fn ms(us: u64) -> f64 {
    (us as f64 / 10.0).round() / 100.0
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_bucket_value_maps_back_to_its_bucket() {
        for i in 0..BUCKETS {
            assert_eq!(index(value(i)), i, "bucket {i}");
        }
    }

    #[test]
    fn bucket_values_are_within_seven_percent() {
        for v in [17u64, 100, 999, 12_345, 1_000_000, 987_654_321] {
            let got = value(index(v)) as f64;
            assert!((got - v as f64).abs() / (v as f64) < 0.07, "{v} -> {got}");
        }
    }

    #[test]
    fn quantiles_of_a_uniform_spread() {
        let mut h = Hist::default();
        for v in 1..=1000u64 {
            h.record(v * 1000);
        }
        let p50 = h.quantile(0.5) as f64;
        let p99 = h.quantile(0.99) as f64;
        assert!((p50 - 500_000.0).abs() < 35_000.0, "{p50}");
        assert!((p99 - 990_000.0).abs() < 70_000.0, "{p99}");
        assert_eq!(h.max(), 1_000_000);
        assert_eq!(h.count(), 1000);
    }

    #[test]
    fn atomic_hist_drains_and_resets() {
        let a = AtomicHist::default();
        a.record(5);
        a.record(5000);
        let mut h = Hist::default();
        a.drain_into(&mut h);
        assert_eq!(h.count(), 2);
        assert_eq!(h.max(), 5000);
        let mut again = Hist::default();
        a.drain_into(&mut again);
        assert_eq!(again.count(), 0);
    }
}
