//! Who belongs to a chat room, for areas outside chat that address a room's members
//! (a call to a room rings its members).

use async_trait::async_trait;

use crate::ports::store::StoreResult;

/// Read access to chat room membership.
#[async_trait]
pub trait ChatMembers: Send + Sync {
    /// The member ids of a room; `None` when the room does not exist.
    async fn chat_room_members(&self, room_id: &str) -> StoreResult<Option<Vec<String>>>;
}
