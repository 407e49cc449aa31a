//! The HTTP surface: envelope, errors, cookies, request guards and routes.
//!
//! Handlers parse a request, call one use case in `crate::app` and render its
//! result; `error` maps each use case's error enum to the envelope.

pub mod api;
pub mod auth;
pub mod body;
pub mod caller;
pub mod context;
pub mod cookies;
pub mod envelope;
pub mod error;
pub mod no_store;
pub mod origin;
pub mod rate_limit;
pub mod request_meta;
pub mod route_module;
pub mod routes;
