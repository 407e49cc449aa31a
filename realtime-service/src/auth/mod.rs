//! Who is connecting: the token a handshake carries ([`credentials`]), and
//! the admission policy that turns it into a live backend session
//! ([`authenticator`]; session-store is reached through `crate::store`).
//! Refusals are the four codes of DESIGN.md ([`refusal`]).

pub mod authenticator;
pub mod credentials;
pub mod refusal;

pub use authenticator::{Authenticator, Identity};
pub use credentials::{Credentials, TokenSource};
pub use refusal::Refusal;
