//! The `SESSION_STORE_TOKEN` check: every SessionStore call must carry
//! `authorization: Bearer <token>` when a token is configured. Compared in
//! constant time; the presented value is never logged.

use std::sync::Arc;

use nexus_common::store_client::{AUTHORIZATION_METADATA, token_matches};
use tonic::service::Interceptor;
use tonic::{Request, Status};

/// Interceptor that requires the configured bearer token (or nothing when
/// no token is configured; startup then refuses non-loopback addresses).
#[derive(Clone, Default)]
pub struct RequireToken {
    expected: Option<Arc<[u8]>>,
}

impl RequireToken {
    pub fn new(token: Option<&str>) -> Self {
        Self {
            expected: token.map(|token| Arc::from(format!("Bearer {token}").into_bytes())),
        }
    }
}

impl Interceptor for RequireToken {
    fn call(&mut self, request: Request<()>) -> Result<Request<()>, Status> {
        let Some(expected) = &self.expected else {
            return Ok(request);
        };
        let presented = request
            .metadata()
            .get(AUTHORIZATION_METADATA)
            .map(|value| value.as_bytes());
        if presented.is_some_and(|presented| token_matches(presented, expected)) {
            Ok(request)
        } else {
            Err(Status::unauthenticated(
                "missing or wrong session-store token (authorization: Bearer <SESSION_STORE_TOKEN>)",
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_auth(value: Option<&str>) -> Request<()> {
        let mut request = Request::new(());
        if let Some(value) = value {
            request
                .metadata_mut()
                .insert(AUTHORIZATION_METADATA, value.parse().unwrap());
        }
        request
    }

    #[test]
    fn checks_the_bearer_token_only_when_configured() {
        let mut open = RequireToken::new(None);
        assert!(open.call(with_auth(None)).is_ok());
        let mut guarded = RequireToken::new(Some("s3cret"));
        assert!(guarded.call(with_auth(Some("Bearer s3cret"))).is_ok());
        let denied = guarded.call(with_auth(Some("Bearer wrong"))).unwrap_err();
        assert_eq!(denied.code(), tonic::Code::Unauthenticated);
        assert!(guarded.call(with_auth(None)).is_err());
        assert!(guarded.call(with_auth(Some("s3cret"))).is_err());
    }
}
