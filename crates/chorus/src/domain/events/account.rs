//! Events of the moderation of an account: bans (server-wide or in one stream) and
//! texts refused by moderation. No socket hears them (the banned user is disconnected,
//! the author of a refused text gets its refusal as the command's error); they are told
//! to the app's backend (webhooks).

use crate::domain::model::UserId;
use crate::domain::moderation::{Severity, Surface};
use crate::domain::time::Timestamp;

/// Something that happened in this area.
#[derive(Debug, Clone, PartialEq)]
pub enum AccountEvent {
    /// `user_id` was banned server-wide (`stream_id` is `None`) or from one stream, by
    /// `by` (`None`: the server API or an automatic rule), until `until` (`None`: until
    /// lifted).
    Banned { user_id: UserId, stream_id: Option<String>, by: Option<UserId>, until: Option<Timestamp>, reason: Option<String>, at: Timestamp },
    /// Moderation refused a text by `author_id` on `surface`; `place` is where it was
    /// posted (the content, chat room or stream id).
    TextBlocked { surface: Surface, place: String, author_id: UserId, reason: String, severity: Severity, at: Timestamp },
}

impl AccountEvent {
    /// Whether the event is a coalesced snapshot (see `DomainEvent::is_snapshot`).
    pub fn is_snapshot(&self) -> bool {
        false
    }
}
