//! The values every Nexus service passes to another, each defined once with
//! one rule.
//!
//! Before this crate, session-store, auth-service and realtime-service each
//! had their own `SessionId`/`UserId` with different rules, so an id one
//! service stored another could refuse. A value that crosses a crate
//! boundary (gRPC, a token claim, an event) lives here; a value only one
//! service knows (a room name, a group name, a refresh-token format) stays in
//! that service.
//!
//! Deliberately small: no I/O, no async, serde and thiserror only (utoipa
//! behind a feature for auth-service's OpenAPI document).

pub mod generation;
pub mod ids;
pub mod limits;
pub mod revoke;
pub mod status;

pub use generation::Generation;
pub use ids::{GroupId, InvalidId, SessionId, UserId};
pub use revoke::RevokeReason;
pub use status::SessionStatus;
