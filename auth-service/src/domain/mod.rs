//! Typed domain values ("parse, don't validate").
//!
//! Everything that crosses a trust boundary (an HTTP request, a gRPC answer, a
//! token claim) is parsed into one of these once, at the edge, so the rest of
//! the service never handles an unchecked string.

mod group;
mod ids;
mod refresh_secret;

pub use group::GroupId;
pub use ids::{Generation, SessionId, TokenHash, UserId};
pub use refresh_secret::RefreshSecret;
