//! Postgres access: connecting (with TLS when the URL asks for it), creating
//! the database, the connection pool and the embedded migrations.
//!
//! session-store is the only process in Nexus that opens a database connection.

pub mod connect;
pub mod migrations;
pub mod pool;
pub mod prepared;
pub mod schema;

pub use pool::{DbPool, build_pool};
