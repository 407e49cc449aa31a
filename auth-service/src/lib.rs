//! auth-service: the Supabase session bridge, refresh-token rotation, logout
//! and session management, the access-token signing keys (JWKS), and the
//! session events. It talks to session-store over gRPC only and never opens
//! a database connection.

pub mod config;
pub mod dev_token;
pub mod domain;
pub mod events;
pub mod group_store;
pub mod http;
pub mod keys;
pub mod metrics;
pub mod secret_cache;
pub mod startup;
pub mod state;
pub mod store;
