//! Rate limits: token buckets per key, cluster-wide (in memory on one node, in Redis
//! in cluster mode).

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
            Self::Commands => "commands",
            Self::RestUser => "rest_user",
            Self::RestIp => "rest_ip",
        }
    }
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
