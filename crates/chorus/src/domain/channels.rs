//! Channels: named broadcast rooms (`channel:{name}`, docs/protocol.md §3). A socket
//! joins one by name; the app's backend sends into it through the server API
//! (`POST /api/server/emit {to: {room: "channel:blog"}}`). Chorus stores nothing about
//! a channel and sends nothing of its own there: it is the room kind for what only the
//! backend says (a blog's new posts, a site-wide ticker).

use std::sync::Arc;

use super::error::{DomainError, DomainResult};
use super::model::Actor;
use super::text::valid_id;
use crate::ports::publisher::{EventPublisher, Room};

/// Joins and leaves channels.
pub struct Channels {
    publisher: Arc<dyn EventPublisher>,
}

impl Channels {
    pub fn new(publisher: Arc<dyn EventPublisher>) -> Self {
        Self { publisher }
    }

    /// `channel:join`: the socket hears what is sent to the channel.
    pub fn join(&self, actor: &Actor, name: &str) -> DomainResult<()> {
        let name = valid_id("name", name)?;
        let connection = actor.connection.as_ref().ok_or_else(|| DomainError::bad_request("join needs a socket"))?;
        self.publisher.join(connection, Room::Channel(name.to_owned()));
        Ok(())
    }

    /// `channel:leave`.
    pub fn leave(&self, actor: &Actor, name: &str) -> DomainResult<()> {
        let name = valid_id("name", name)?;
        let connection = actor.connection.as_ref().ok_or_else(|| DomainError::bad_request("leave needs a socket"))?;
        self.publisher.leave(connection, Room::Channel(name.to_owned()));
        Ok(())
    }
}
