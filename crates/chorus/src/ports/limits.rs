//! Rate limits: token buckets per key, cluster-wide (in memory on one node).

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
        }
    }
}

/// Token buckets keyed by class and subject (a user id or an address).
pub trait RateLimiter: Send + Sync {
    /// Takes one token; `Err(retry_after_ms)` when the bucket is empty.
    fn check(&self, class: LimitClass, subject: &str) -> Result<(), u64>;
    /// Drops the state of subjects whose buckets are full again (keeps memory bounded).
    fn forget_idle(&self);
}
