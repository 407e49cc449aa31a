//! The gRPC edge: prost requests become domain values here (`convert`),
//! repository results become responses, errors become statuses (`status`),
//! and the shared token is checked before any handler runs (`auth`).

pub mod auth;
pub mod convert;
pub mod groups;
pub mod service;
pub mod status;

pub use auth::RequireToken;
pub use groups::GroupStoreService;
pub use service::SessionStoreService;
