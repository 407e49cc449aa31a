//! realtime-service integration tests: real session-store, real RabbitMQ,
//! real socket.io-client (Node). See helpers.rs for the harness.

mod helpers;

mod connect;
mod groups;
mod instances;
mod operations;
mod revocation;
mod rooms;
mod through_auth;
