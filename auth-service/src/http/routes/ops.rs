//! Operational endpoints: JWKS, liveness, readiness, Prometheus metrics.

use actix_web::HttpResponse;
use actix_web::http::header;
use actix_web::web::{self, Data, ServiceConfig};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use crate::http::context::HttpContext;
use crate::http::envelope::{Failure, Nothing, Success};
use crate::http::route_module::RouteModule;
use crate::state::AppState;

pub const ROUTES: RouteModule = RouteModule {
    register,
    openapi: Api::openapi,
};

fn register(routes: &mut ServiceConfig) {
    routes
        .route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route("/metrics", web::get().to(metrics))
        .route("/api/auth/.well-known/jwks.json", web::get().to(jwks));
}

#[derive(OpenApi)]
#[openapi(paths(jwks, healthz, readyz, metrics))]
struct Api;

/// `GET /api/auth/.well-known/jwks.json`: the public keys of access tokens
/// (plain JWKS, not the envelope, so standard verifiers read it).
#[utoipa::path(
    get,
    path = "/api/auth/.well-known/jwks.json",
    tag = "operations",
    responses((status = 200, description = "JSON Web Key Set of the access-token signing keys", body = Object))
)]
pub async fn jwks(state: Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .json(state.access_keys.jwks())
}

/// `GET /healthz`: the process is up.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    responses((status = 200, description = "The process is up", body = Success<Nothing>))
)]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Success::new("ok", Nothing {}))
}

#[derive(Serialize, ToSchema)]
struct Readiness {
    /// session-store answers its health check.
    session_store: bool,
    /// The event publisher holds a broker connection.
    broker: bool,
}

#[derive(Serialize, ToSchema)]
struct NotReady<'a> {
    #[serde(flatten)]
    failure: Failure<'a>,
    #[serde(flatten)]
    readiness: Readiness,
}

/// `GET /readyz`: session-store answers its health check and the event
/// publisher holds a broker connection.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    responses(
        (status = 200, description = "Ready", body = Success<Readiness>),
        (status = 503, description = "A dependency is not reachable", body = NotReady)
    )
)]
pub async fn readyz(state: Data<AppState>) -> HttpResponse {
    let readiness = Readiness {
        session_store: state.store.is_healthy().await,
        broker: state.events.is_connected(),
    };
    if readiness.session_store && readiness.broker {
        HttpResponse::Ok().json(Success::new("ready", readiness))
    } else {
        let failure = Failure::new("not ready", "service_unavailable");
        HttpResponse::ServiceUnavailable().json(NotReady { failure, readiness })
    }
}

/// `GET /metrics`: Prometheus text format.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses((status = 200, description = "Prometheus metrics", body = String, content_type = "text/plain"))
)]
pub async fn metrics(http: Data<HttpContext>) -> HttpResponse {
    let body = http
        .metrics
        .as_ref()
        .map(|handle| handle.render())
        .unwrap_or_default();
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(body)
}
