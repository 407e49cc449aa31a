//! The `Origin` rule for state-changing requests (CSRF defence).
//!
//! A browser always sends `Origin` on cross-site and same-site POST/DELETE, so
//! a write that relies on a cookie must carry an allowed one. A request with
//! no `Origin` is not a browser's and passes only when its credential travels
//! explicitly (bearer header or JSON body), which a forged cross-site request
//! cannot know. CORS itself (actix-cors) only decides what browsers may read.
//!
//! A present Origin that is not allowed is refused by middleware on every
//! write before any handler runs: before authentication, before rate limits
//! count, before cookies are cleared (a cross-site form POST must not even
//! log the user out). The "cookie needs an Origin" half depends on which
//! credential the handler finds, so handlers (and the `LiveCaller` extractor)
//! apply [`AllowedOrigins::check`] once they know it.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, header};
use actix_web::middleware::Next;
use actix_web::web::Data;
use actix_web::{HttpRequest, ResponseError};
use nexus_common::http_credentials;

use crate::http::error::ApiError;

/// Whether a request may change state (everything but GET, HEAD, OPTIONS).
pub fn is_write(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Middleware: a write carrying an Origin outside `CORS_ORIGINS` is answered
/// 403 before anything else happens. Reads the origins from the app data
/// (`Data<AllowedOrigins>`).
pub async fn refuse_foreign_origin(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if is_write(request.method())
        && let Some(origin) = request.headers().get(header::ORIGIN)
        && let Some(allowed) = request.app_data::<Data<AllowedOrigins>>()
    {
        let origin = origin.to_str().unwrap_or("<not ASCII>");
        if !allowed.contains(origin) {
            let refusal = ApiError::OriginNotAllowed(origin.chars().take(100).collect());
            let response = refusal.error_response();
            return Ok(request.into_response(response).map_into_right_body());
        }
    }
    next.call(request)
        .await
        .map(ServiceResponse::map_into_left_body)
}

/// How a request authenticated itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// `Authorization: Bearer`.
    Bearer,
    /// A token in the JSON body.
    Body,
    /// A cookie the browser attached by itself.
    Cookie,
    /// Nothing yet (the request will be refused for another reason).
    None,
}

/// Exactly the configured origins (`CORS_ORIGINS`), in the form browsers
/// send them (the rule every service shares:
/// `nexus_common::http_credentials`).
#[derive(Debug, Clone)]
pub struct AllowedOrigins(Vec<String>);

impl AllowedOrigins {
    pub fn new(origins: &[String]) -> Self {
        Self(
            origins
                .iter()
                .map(|origin| http_credentials::normalise_origin(origin).to_owned())
                .collect(),
        )
    }

    pub fn contains(&self, origin: &str) -> bool {
        http_credentials::origin_allowed(&self.0, origin)
    }

    pub fn list(&self) -> &[String] {
        &self.0
    }

    /// Applies the rule to a state-changing request.
    pub fn check(&self, request: &HttpRequest, credential: Credential) -> Result<(), ApiError> {
        match request.headers().get(header::ORIGIN) {
            Some(origin) => {
                let origin = origin.to_str().unwrap_or("<not ASCII>");
                if self.contains(origin) {
                    Ok(())
                } else {
                    Err(ApiError::OriginNotAllowed(
                        origin.chars().take(100).collect(),
                    ))
                }
            }
            None if credential == Credential::Cookie => Err(ApiError::OriginRequired),
            None => Ok(()),
        }
    }
}
