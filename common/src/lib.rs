//! Pieces every Nexus service shares.
//!
//! Kept deliberately small: configuration parsing (and refusing development
//! secrets in production), error chains for logs, reading bearer tokens,
//! cookies and origins from HTTP headers, telemetry, graceful shutdown,
//! client-IP resolution behind trusted proxies, the session-event wire format,
//! AMQP connection with backoff, the authenticated session-store client, and
//! the Prometheus recorder (installed with its histogram upkeep).
//! Anything specific to one service lives in that service.

pub mod amqp;
pub mod client_ip;
pub mod config;
pub mod dev_secrets;
pub mod error_chain;
pub mod events;
pub mod http_credentials;
pub mod prometheus;
pub mod redact;
pub mod shutdown;
pub mod store_client;
pub mod telemetry;
