//! Commands of the socket's own session (PROTOCOL.md §1): `auth:refresh`.

use serde::Deserialize;

command_table! {
    /// A command of the socket's session.
    pub enum SessionCommand, kind SessionKind {
        /// A newer token for the same user moves the socket's deadline.
        "auth:refresh" => Refresh(Refresh) [Commands],
    }
}

/// `auth:refresh`.
#[derive(Debug, Deserialize)]
pub struct Refresh {
    /// The new JWT.
    pub token: String,
}
