//! nexus-testkit: what the tests of every Nexus crate share, so each crate's
//! `tests/*/helpers.rs` keeps only what is specific to it.
//!
//! Dev-only (`publish = false`, used under `[dev-dependencies]` and by
//! examples and benches): nothing here ships in a service. Everything runs
//! the real components on loopback (Postgres with a fresh database per test,
//! session-store and auth-service on port 0, RabbitMQ with per-test exchange
//! names, a real socket.io-client in Node); the only stand-in is Supabase,
//! which is a third-party service, served here as a JWKS on 127.0.0.1:0.
//!
//! Failures panic with a message saying what was expected: these functions
//! run only inside tests.
//!
//! - [`database`]: a uniquely named Postgres database, dropped even when the
//!   test panics.
//! - [`store`]: a real session-store on a fresh database, and read-only
//!   probes of what it holds over gRPC (other services' tests never read its
//!   tables with SQL).
//! - [`supabase`]: the fake Supabase (HS256 secret, EC and RSA keys, claims).
//! - [`jwks`]: a JWKS document served over HTTP on loopback.
//! - [`auth`]: a settings builder for auth-service and a running app with
//!   typed request helpers.
//! - [`amqp`]: per-test exchange names, a consumer that collects events, a
//!   publisher, clean-up.
//! - [`socketio`]: the real socket.io-client (`node e2e/client.mjs`) driven
//!   over stdin/stdout, and `e2e/` scripts run to completion.
//! - [`wait`]: polling with a deadline, free ports, test logging.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

pub mod amqp;
pub mod auth;
pub mod database;
pub mod jwks;
pub mod socketio;
pub mod store;
pub mod supabase;
pub mod wait;

pub use database::TestDatabase;
pub use store::TestStore;
