//! auth-service: the Supabase session bridge, refresh-token rotation, logout
//! and session management, the access-token signing keys (JWKS), and the
//! session events. It talks to session-store over gRPC only and never opens
//! a database connection.
//!
//! Layers, each depending only on those after it: `http` (parse, call,
//! render) -> `app` (the use cases) -> `state`, `ports` (the store traits),
//! `keys`, `events`, `secret_cache` -> `domain`. The gRPC adapters `store` and
//! `group_store` implement the ports; `startup` wires everything together.

pub mod app;
pub mod config;
pub mod dev_token;
pub mod domain;
pub mod events;
pub mod group_store;
pub mod http;
pub mod keys;
pub mod metrics;
pub mod ports;
pub mod secret_cache;
pub mod startup;
pub mod state;
pub mod store;
