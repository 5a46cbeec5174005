//! Events of notifications, follows and feeds, presence and live location.

use crate::domain::chat::model::Location;
use crate::domain::model::{ContentId, UserId, UserSummary};
use crate::domain::notifications::{Announcement, NotificationView};
use crate::domain::presence::PresenceView;
use crate::domain::time::Timestamp;

/// Something that happened to a user's inbox, feed, presence or shared location.
#[derive(Debug, Clone, PartialEq)]
pub enum SocialEvent {
    /// A notification was stored (or folded into its group); `unread_count` is the
    /// recipient's new count.
    NotificationStored { recipient: UserId, notification: NotificationView, unread_count: i64 },
    /// Notifications were marked read; `unread_count` is what is left unread.
    UnreadCounted { unread_count: i64 },
    /// An operator announced something to everyone online.
    Announced { announcement: Announcement },
    /// `follower` started following `followee`. No wire event: the followee hears of
    /// it through a notification.
    Followed { follower: UserId, followee: UserId, at: Timestamp },
    /// A followed creator published new content.
    NewContentPublished { content_id: ContentId, content_type: String, title: Option<String>, creator: UserSummary, at: Timestamp },
    /// How others now see a user (`presence` as a watcher reads it).
    PresenceChanged { user_id: UserId, presence: PresenceView },
    /// A member shared a position with a chat room's members.
    LocationShared {
        room_id: String,
        user_id: UserId,
        location: Location,
        accuracy: Option<f64>,
        at: Timestamp,
        live_until: Option<Timestamp>,
    },
    /// A member's live share in a room ended (stopped, or its time ran out).
    LocationStopped { room_id: String, user_id: UserId, at: Timestamp },
}

impl SocialEvent {
    /// Whether the event is a coalesced snapshot (see `DomainEvent::is_snapshot`):
    /// none of this area's are.
    pub fn is_snapshot(&self) -> bool {
        false
    }
}
