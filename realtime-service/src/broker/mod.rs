//! RabbitMQ links of one instance, each its own connection that reconnects
//! with backoff (lapin does not recover by itself):
//! - [`revocation`]: consumes session events and drops ended sessions' sockets;
//! - [`relay`]: carries room messages and presence between instances.

pub mod relay;
pub mod revocation;
