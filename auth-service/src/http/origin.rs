//! The `Origin` rule for state-changing requests (CSRF defence).
//!
//! A browser always sends `Origin` on cross-site and same-site POST/DELETE, so
//! a write that relies on a cookie must carry an allowed one. A request with
//! no `Origin` is not a browser's and passes only when its credential travels
//! explicitly (bearer header or JSON body), which a forged cross-site request
//! cannot know. CORS itself (actix-cors) only decides what browsers may read.

use actix_web::HttpRequest;
use actix_web::http::header;

use crate::http::error::ApiError;

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

/// Exactly the configured origins (`CORS_ORIGINS`).
#[derive(Debug, Clone)]
pub struct AllowedOrigins(Vec<String>);

impl AllowedOrigins {
    pub fn new(origins: &[String]) -> Self {
        Self(
            origins
                .iter()
                .map(|origin| origin.trim_end_matches('/').to_owned())
                .collect(),
        )
    }

    pub fn contains(&self, origin: &str) -> bool {
        self.0.iter().any(|allowed| allowed == origin)
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
