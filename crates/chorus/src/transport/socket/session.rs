//! The session of one socket: whom it speaks for (replaced by `auth:refresh`), where it
//! comes from, its rate refusals, and whether it has closed.

use std::sync::Arc;

use parking_lot::RwLock;

use crate::adapters::wire::dialect::Dialect;
use crate::domain::model::Identity;

/// Who a socket speaks for (replaced by `auth:refresh`), and where it comes from.
#[derive(Clone)]
pub struct Session {
    identity: Arc<RwLock<Arc<Identity>>>,
    /// The peer address, counted against the per-address cap.
    pub ip: Option<String>,
    /// Commands refused for rate in the current minute (sustained abuse disconnects).
    pub strikes: Arc<SessionStrikes>,
    /// `true` once the socket has closed. Commands hold it for reading while they run and
    /// the disconnect handler takes it for writing: the connection's state (viewers,
    /// rooms, subscriptions) is released only after the last command that could add to
    /// it, and commands that arrive later are refused.
    pub(crate) closed: Arc<tokio::sync::RwLock<bool>>,
    /// The dialect the socket speaks; `None`: the native protocol.
    pub dialect: Option<Dialect>,
}

impl Session {
    /// The session of a socket the connect middleware admitted.
    pub fn open(identity: Identity, ip: Option<String>, closed: Arc<tokio::sync::RwLock<bool>>, dialect: Option<Dialect>) -> Self {
        Self { identity: Arc::new(RwLock::new(Arc::new(identity))), ip, strikes: Arc::default(), closed, dialect }
    }

    /// Whom the socket speaks for now.
    pub fn identity(&self) -> Arc<Identity> {
        self.identity.read().clone()
    }

    /// Replaces the identity after a successful `auth:refresh`.
    pub fn replace_identity(&self, identity: Identity) {
        *self.identity.write() = Arc::new(identity);
    }
}

/// Rate refusals of one socket within a sliding minute.
#[derive(Default)]
pub struct SessionStrikes {
    window: parking_lot::Mutex<(Option<std::time::Instant>, u32)>,
}

impl SessionStrikes {
    /// Records a refusal; returns the refusals in the current minute.
    pub fn strike(&self) -> u32 {
        let now = std::time::Instant::now();
        let mut w = self.window.lock();
        match w.0 {
            Some(start) if now.duration_since(start) < std::time::Duration::from_secs(60) => w.1 += 1,
            _ => *w = (Some(now), 1),
        }
        w.1
    }
}
