//! RabbitMQ links of one instance, each its own connection kept up by
//! `nexus_common::amqp::supervise` (lapin does not recover by itself):
//! - [`revocation`]: consumes session and group events;
//! - [`relay`]: carries room messages and presence between instances.
//!
//! Links only: what the service does with what arrives is behind a trait
//! each link defines ([`relay::RelayInbound`],
//! [`revocation::SessionEvents`]), implemented in `dispatch`.

pub mod relay;
pub mod revocation;
