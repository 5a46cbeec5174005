//! Rate limits: token buckets per key, cluster-wide (in memory on one node, in Redis
//! in cluster mode).

use std::time::Duration;

/// The classes of client activity that are limited separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LimitClass {
    /// New connections of one user.
    ConnectUser,
    /// New connections from one address.
    ConnectIp,
    Chat,
    Comments,
    Likes,
    Joins,
    Typing,
    Presence,
    /// Chat lines of one viewer in one live stream (the subject names both).
    StreamChat,
    /// Positions shared by one user (a throttle: one per `location_min_interval_ms`).
    Location,
    /// Everything else a client sends.
    Commands,
    /// REST calls of one user.
    RestUser,
    /// REST calls from one address (with or without a token).
    RestIp,
}

impl LimitClass {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ConnectUser => "connect_user",
            Self::ConnectIp => "connect_ip",
            Self::Chat => "chat",
            Self::Comments => "comments",
            Self::Likes => "likes",
            Self::Joins => "joins",
            Self::Typing => "typing",
            Self::Presence => "presence",
            Self::StreamChat => "stream_chat",
            Self::Location => "location",
            Self::Commands => "commands",
            Self::RestUser => "rest_user",
            Self::RestIp => "rest_ip",
        }
    }
}

/// A sustained rate with a burst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Rate {
    /// Tokens added per second.
    pub per_second: u32,
    /// Bucket size.
    pub burst: u32,
}

impl Rate {
    /// The bucket this rate fills; `None` for a zero rate, which means no limit.
    pub fn bucket(self) -> Option<Bucket> {
        (self.per_second > 0)
            .then(|| Bucket { interval: Duration::from_secs(1) / self.per_second, burst: self.burst.max(1) })
    }
}

/// The rule of one class's buckets: a token every `interval`, at most `burst` saved up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bucket {
    pub interval: Duration,
    pub burst: u32,
}

impl Bucket {
    /// At most one token per `interval`, nothing saved up: a throttle. `None` for a
    /// zero interval, which means no limit.
    pub fn spaced(interval: Duration) -> Option<Self> {
        (!interval.is_zero()).then_some(Self { interval, burst: 1 })
    }
}

/// The buckets of the classes whose rate is not zero.
pub fn buckets(rates: &[(LimitClass, Rate)]) -> Vec<(LimitClass, Bucket)> {
    rates.iter().filter_map(|(class, rate)| rate.bucket().map(|b| (*class, b))).collect()
}

/// Token buckets keyed by class and subject (a user id or an address).
#[async_trait::async_trait]
pub trait RateLimiter: Send + Sync {
    /// Takes one token; `Err(retry_after_ms)` when the bucket is empty. Answers
    /// promptly whatever the backing store does (the Redis one falls back to a local
    /// bucket), so a limit check never stalls a command.
    async fn check(&self, class: LimitClass, subject: &str) -> Result<(), u64>;
    /// Drops the state of subjects whose buckets are full again (keeps memory bounded).
    fn forget_idle(&self);
}
