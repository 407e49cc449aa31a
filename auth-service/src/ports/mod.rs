//! Ports: what the use cases (`app`) need from the stores, as traits
//! and plain domain values.
//!
//! The use cases are written against these traits, not against the gRPC
//! clients, so the rules read without transport details and the dependency
//! points inwards: `http -> app -> ports/domain`, while the adapters
//! (`store`, `group_store`, the only users of prost types)
//! implement the traits. The tests drive the use cases with the real adapters
//! against a real session-store; the traits are the seam, not a place for
//! mocks.
//!
//! Methods return boxed futures so a port can be held as `Arc<dyn ...>`; one
//! allocation per call is nothing next to the gRPC round trip behind it.

pub mod groups;
pub mod sessions;

pub use groups::{GroupRole, GroupStoreError, GroupStorePort, GroupView, MemberView};
pub use sessions::{
    CreatedSession, NewSession, RefreshState, RotationOutcome, RotationRequest, SessionStatus,
    SessionStorePort, SessionView, StoreCallError,
};
