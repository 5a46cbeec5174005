//! Commands of the socket's own session (PROTOCOL.md §1): `auth:refresh`.

use serde::Deserialize;

use super::acks::Refreshed;

command_table! {
    /// A command of the socket's session.
    pub enum SessionCommand, kind SessionKind, reply SessionReply {
        /// A newer token for the same user moves the socket's deadline.
        "auth:refresh" => Refresh(Refresh) -> Refreshed [Commands],
    }
}

/// `auth:refresh`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct Refresh {
    /// The new JWT.
    pub token: String,
}
