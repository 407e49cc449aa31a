//! Operational endpoints: JWKS, liveness, readiness, Prometheus metrics.

use actix_web::HttpResponse;
use actix_web::http::header;
use actix_web::web::Data;
use serde::Serialize;

use crate::http::envelope::{Failure, Nothing, Success};
use crate::state::AppState;

/// `GET /api/auth/.well-known/jwks.json`: the public keys of access tokens
/// (plain JWKS, not the envelope, so standard verifiers read it).
pub async fn jwks(state: Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .json(state.access_keys.jwks())
}

/// `GET /healthz`: the process is up.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Success::new("ok", Nothing {}))
}

#[derive(Serialize)]
struct Readiness {
    session_store: bool,
    broker: bool,
}

/// `GET /readyz`: session-store answers its health check and the event
/// publisher holds a broker connection.
pub async fn readyz(state: Data<AppState>) -> HttpResponse {
    let readiness = Readiness {
        session_store: state.store.is_healthy().await,
        broker: state.events.is_connected(),
    };
    if readiness.session_store && readiness.broker {
        HttpResponse::Ok().json(Success::new("ready", readiness))
    } else {
        #[derive(Serialize)]
        struct NotReady<'a> {
            #[serde(flatten)]
            failure: Failure<'a>,
            #[serde(flatten)]
            readiness: Readiness,
        }
        let failure = Failure::new("not ready", "service_unavailable");
        HttpResponse::ServiceUnavailable().json(NotReady { failure, readiness })
    }
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(state: Data<AppState>) -> HttpResponse {
    let body = state
        .metrics
        .as_ref()
        .map(|handle| handle.render())
        .unwrap_or_default();
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(body)
}
