//! Integration tests of session-store: real Postgres (a fresh database per
//! test), the real server on 127.0.0.1:0, a real tonic client over TCP.

mod auth;
mod create;
mod groups;
mod harness;
mod helpers;
mod input;
mod isolation;
mod migrations;
mod purge;
mod rotate;
mod schema;
mod supabase_rls;
mod tls;
mod unavailable;
mod validate;
mod validate_many;
