//! session-store: the gRPC service that alone owns the Postgres tables
//! `user_sessions` and `refresh_tokens` (see DESIGN.md, "Postgres" and "gRPC").
//!
//! Layers, outside in: `grpc` (prost <-> domain, status mapping, token check)
//! -> `repository` (diesel, one transaction per use case) -> `db` (pool,
//! TLS, migrations). `domain` holds the validated values they exchange.

pub mod config;
pub mod db;
pub mod domain;
pub mod grpc;
pub mod health_probe;
pub mod metrics;
pub mod purge;
pub mod repository;
pub mod startup;
