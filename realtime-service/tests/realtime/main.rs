//! realtime-service integration tests: real session-store, real RabbitMQ,
//! real socket.io-client (Node). See helpers.rs for the harness.

mod helpers;

mod bounds;
mod connect;
mod groups;
mod hangouts;
mod instances;
mod operations;
mod races;
mod raw;
mod recheck;
mod recovery;
mod revocation;
mod rooms;
mod startup_config;
mod through_auth;
