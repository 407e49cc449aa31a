//! Reading the credentials a request presents: the backend access token from
//! `Authorization: Bearer` or the access cookie, the refresh token from the
//! JSON body or its cookie. Checking them, and whether the session behind
//! them is still live, is the use cases' job (`app::caller`,
//! `app::refresh`).

use actix_web::HttpRequest;
use nexus_tokens::access::{ACCESS_COOKIE_NAMES, REFRESH_COOKIE_NAMES};

use crate::http::origin::Credential;
use crate::http::request_meta;

/// The access token presented, and how.
pub fn presented_access_token(request: &HttpRequest) -> Option<(String, Credential)> {
    if let Some(token) = request_meta::bearer(request) {
        return Some((token.to_owned(), Credential::Bearer));
    }
    request_meta::cookie(request, &ACCESS_COOKIE_NAMES).map(|token| (token, Credential::Cookie))
}

/// The refresh token presented in the JSON body, else in its cookie.
pub fn presented_refresh_token(
    request: &HttpRequest,
    body_token: Option<String>,
) -> Option<(String, Credential)> {
    match body_token {
        Some(token) => Some((token, Credential::Body)),
        None => request_meta::cookie(request, &REFRESH_COOKIE_NAMES)
            .map(|token| (token, Credential::Cookie)),
    }
}
