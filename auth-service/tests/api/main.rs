//! auth-service integration tests: a real session-store on a fresh Postgres
//! database, real RabbitMQ, the real HTTP server on port 0.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bridge;
mod groups;
mod helpers;
mod logout;
mod openapi;
mod ops;
mod refresh;
mod security;
mod sessions;
mod store_down;
mod supabase_tokens;
