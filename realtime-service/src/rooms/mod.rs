//! Room state of one instance: who is present ([`presence`], merged with
//! what other instances report), recent messages and their sequence for
//! recovery ([`history`]), the hangouts created ([`hangouts`]), the
//! hangout creation quota ([`quota`]), one lock per room for membership
//! changes ([`locks`]), rooms whose history waits to be dropped
//! ([`vacancy`]), group rooms' expiries and removals ([`group_state`]).
//! The wire types shared by clients and the relay live here too.
//!
//! These are data structures with their own locks; none of them knows the
//! instance's `AppState`. What handlers do with them is in `events`,
//! `membership`, `groups` and `dispatch`.

pub mod group_state;
pub mod hangouts;
pub mod history;
pub mod locks;
pub mod presence;
pub mod quota;
pub mod vacancy;

use serde::{Deserialize, Serialize};

/// How a room member is shown. In dark rooms only `name` (the alias) is
/// set; the user id never leaves the server there.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Member {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A chat message as clients receive it (`room:message`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub room: String,
    pub id: String,
    /// Position in the room on the instance that emits it to this socket
    /// (strictly increasing there; see `history`). Relayed messages are
    /// re-sequenced by each receiving instance.
    #[serde(default)]
    pub seq: u64,
    /// The room buffer's epoch `seq` belongs to.
    #[serde(default)]
    pub epoch: String,
    pub from: Member,
    pub text: String,
    /// Milliseconds since the Unix epoch.
    pub ts: i64,
}
