//! How a group of routes joins the service: it registers its handlers with
//! actix and brings their OpenAPI operations, in one value.
//!
//! A route module defines
//!
//! ```ignore
//! pub const ROUTES: RouteModule = RouteModule { register, openapi: Api::openapi };
//! fn register(routes: &mut ServiceConfig) { routes.route("/api/x", web::get().to(handler)); }
//! #[derive(utoipa::OpenApi)] #[openapi(paths(handler))] struct Api;
//! ```
//!
//! and joins with one line in `http::api::ROUTE_MODULES`. Register full paths
//! (no `web::scope`): the contract test (`tests/api/openapi.rs`) reads the
//! patterns actix actually registered and fails for any route without a spec
//! entry, and for any spec entry without a route.

use actix_web::web::ServiceConfig;

/// One group of routes and its part of the OpenAPI document.
#[derive(Clone, Copy)]
pub struct RouteModule {
    pub register: fn(&mut ServiceConfig),
    pub openapi: fn() -> utoipa::openapi::OpenApi,
}

impl std::fmt::Debug for RouteModule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RouteModule")
    }
}
