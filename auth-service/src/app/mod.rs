//! The use cases of auth-service, one module each, free of HTTP.
//!
//! A handler in `http::routes` parses the request, calls one function here and
//! renders what it returns; each use case has its own error enum, which
//! `http::error` maps to the envelope and status code. The use cases work on
//! `state::AppState`: token verifiers and keys, the
//! session-store and group-store *ports* (`ports`), the event
//! publisher and the refresh-secret cache. So the rules (who is a live caller,
//! how a refresh token rotates, what a reuse does) are driven in tests
//! directly, against a real session-store, without a server
//! (`tests/usecases.rs`).
//!
//! Dependencies point one way: `http -> app -> state/ports/keys/domain`;
//! nothing here imports `http`.

pub mod bridge;
pub mod caller;
pub mod groups;
pub mod logout;
pub mod refresh;
pub mod revocation;
pub mod sessions;
