//! Finding the token in a Socket.IO handshake.
//!
//! In order: the CONNECT `auth` payload `{token}` (what socket.io-client's
//! `auth` option sends), an `Authorization: Bearer` header, the access-token
//! cookie. A cookie is sent by the browser on its own, also for a page on
//! another origin opening a WebSocket to us (CORS does not cover WebSocket
//! upgrades), so a cookie-only handshake must carry an `Origin` we allow.
//! Browsers send no `Origin` on a same-origin GET, which is what the
//! default polling-first handshake is; for that request (no `Origin` at all)
//! `Sec-Fetch-Site: same-origin` is accepted as the proof, and only that
//! value: browsers set it themselves and pages cannot forge it, and
//! `same-site` would admit a sibling subdomain. A non-browser client can
//! send any header, but it also has no victim's cookie to ride on.
//! Reading the header, the cookies and comparing origins follows the rules
//! every service shares (`nexus_common::http_credentials`).
//! Nothing here logs a token.

use axum::http::HeaderMap;
use axum::http::header::{AUTHORIZATION, COOKIE, ORIGIN};
use nexus_common::http_credentials::{self, SEC_FETCH_SITE};
use nexus_tokens::access::ACCESS_COOKIE_NAMES;
use serde_json::Value;

use crate::auth::Refusal;

/// Where the token came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSource {
    AuthPayload,
    BearerHeader,
    Cookie,
}

/// A presented token and its source.
pub struct Credentials {
    pub token: String,
    pub source: TokenSource,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl Credentials {
    /// The handshake's token, or `Unauthorized` when there is none (or only
    /// a cookie without an allowed `Origin`).
    pub fn from_handshake(
        auth: Option<&Value>,
        headers: &HeaderMap,
        allowed_origins: &[String],
    ) -> Result<Self, Refusal> {
        if let Some(token) = auth
            .and_then(|auth| auth.get("token"))
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|token| !token.is_empty())
        {
            return Ok(Self {
                token: token.to_owned(),
                source: TokenSource::AuthPayload,
            });
        }
        if let Some(token) = bearer(headers) {
            return Ok(Self {
                token,
                source: TokenSource::BearerHeader,
            });
        }
        if let Some(token) = access_cookie(headers) {
            if !same_origin_proof(headers, allowed_origins) {
                tracing::info!("cookie handshake refused: Origin missing or not allowed");
                return Err(Refusal::Unauthorized);
            }
            return Ok(Self {
                token,
                source: TokenSource::Cookie,
            });
        }
        Err(Refusal::Unauthorized)
    }
}

/// An allowed `Origin`, or no `Origin` and `Sec-Fetch-Site: same-origin`.
fn same_origin_proof(headers: &HeaderMap, allowed_origins: &[String]) -> bool {
    match headers.get(ORIGIN) {
        Some(origin) => origin
            .to_str()
            .is_ok_and(|origin| http_credentials::origin_allowed(allowed_origins, origin)),
        None => http_credentials::is_same_origin_fetch(
            headers
                .get_all(SEC_FETCH_SITE)
                .iter()
                .map(|value| value.as_bytes()),
        ),
    }
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    http_credentials::bearer_token(value).map(str::to_owned)
}

fn access_cookie(headers: &HeaderMap) -> Option<String> {
    let values: Vec<&str> = headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .collect();
    http_credentials::first_cookie(&values, &ACCESS_COOKIE_NAMES).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn the_host_prefixed_access_cookie_is_read_too() {
        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            HeaderValue::from_static("a=1; __Host-nexus_access_token=hk"),
        );
        headers.insert(ORIGIN, HeaderValue::from_static("http://localhost:5173"));
        let credentials =
            Credentials::from_handshake(None, &headers, &origins()).expect("cookie accepted");
        assert_eq!(credentials.token, "hk");
    }

    fn origins() -> Vec<String> {
        vec!["http://localhost:5173".to_owned()]
    }

    #[test]
    fn auth_payload_wins_then_bearer_then_cookie() {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Bearer hdr"));
        headers.insert(
            COOKIE,
            HeaderValue::from_static("a=1; nexus_access_token=ck"),
        );
        headers.insert(ORIGIN, HeaderValue::from_static("http://localhost:5173"));
        let auth = serde_json::json!({"token": "pl"});
        let c = Credentials::from_handshake(Some(&auth), &headers, &origins()).expect("token");
        assert_eq!(
            (c.token.as_str(), c.source),
            ("pl", TokenSource::AuthPayload)
        );
        let c = Credentials::from_handshake(None, &headers, &origins()).expect("token");
        assert_eq!(
            (c.token.as_str(), c.source),
            ("hdr", TokenSource::BearerHeader)
        );
        headers.remove(AUTHORIZATION);
        let c = Credentials::from_handshake(None, &headers, &origins()).expect("token");
        assert_eq!((c.token.as_str(), c.source), ("ck", TokenSource::Cookie));
    }

    #[test]
    fn cookie_needs_an_allowed_origin() {
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_static("nexus_access_token=ck"));
        assert_eq!(
            Credentials::from_handshake(None, &headers, &origins()).map(|c| c.source),
            Err(Refusal::Unauthorized)
        );
        headers.insert(ORIGIN, HeaderValue::from_static("https://evil.example"));
        assert!(Credentials::from_handshake(None, &headers, &origins()).is_err());
    }

    #[test]
    fn without_origin_only_sec_fetch_site_same_origin_proves_it() {
        let with = |values: &[&'static str], origin: Option<&'static str>| {
            let mut headers = HeaderMap::new();
            headers.insert(COOKIE, HeaderValue::from_static("nexus_access_token=ck"));
            for value in values {
                headers.append(SEC_FETCH_SITE, HeaderValue::from_static(value));
            }
            if let Some(origin) = origin {
                headers.insert(ORIGIN, HeaderValue::from_static(origin));
            }
            Credentials::from_handshake(None, &headers, &origins()).map(|c| c.source)
        };
        assert_eq!(with(&["same-origin"], None), Ok(TokenSource::Cookie));
        for refused in [
            &["same-site"][..],
            &["cross-site"],
            &["none"],
            &["Same-Origin "],
            &["same-origin", "same-origin"],
            &["same-origin", "cross-site"],
        ] {
            assert_eq!(
                with(refused, None),
                Err(Refusal::Unauthorized),
                "{refused:?}"
            );
        }
        // A present Origin decides alone: a foreign one is not rescued.
        assert_eq!(
            with(&["same-origin"], Some("https://evil.example")),
            Err(Refusal::Unauthorized)
        );
    }

    #[test]
    fn a_configured_origin_with_a_trailing_slash_admits_the_cookie() {
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_static("nexus_access_token=ck"));
        headers.insert(ORIGIN, HeaderValue::from_static("http://localhost:5173"));
        let configured = vec!["http://localhost:5173/".to_owned()];
        let c = Credentials::from_handshake(None, &headers, &configured).expect("cookie");
        assert_eq!(c.source, TokenSource::Cookie);
    }

    #[test]
    fn nothing_presented_is_unauthorized() {
        let auth = serde_json::json!({"token": ""});
        assert!(Credentials::from_handshake(Some(&auth), &HeaderMap::new(), &origins()).is_err());
    }
}
