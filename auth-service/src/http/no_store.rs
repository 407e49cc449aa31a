//! `Cache-Control: no-store` on every response that does not choose its own
//! caching.
//!
//! Bridge, refresh and logout carry or set tokens; errors of those endpoints
//! clear cookies; session lists are personal. No shared cache (a CDN, a
//! corporate proxy) and no browser back/forward cache may keep any of that,
//! so the default is no-store and only responses that are public by nature
//! (the JWKS) opt into caching by setting their own `Cache-Control`.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;

pub async fn default_no_store(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let mut response = next.call(request).await?;
    let headers = response.headers_mut();
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    Ok(response)
}
