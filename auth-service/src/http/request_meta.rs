//! What a request says about its client: IP (behind trusted proxies) and
//! user agent, as recorded on the session.

use std::net::IpAddr;

use actix_web::HttpRequest;
use actix_web::http::header;
use nexus_common::client_ip::{RateLimitKey, TrustedProxies};
use nexus_common::http_credentials;

/// The client IP: the right-most `X-Forwarded-For` hop not in
/// `TRUSTED_PROXIES`, believed only when the direct peer is trusted.
pub fn client_ip(request: &HttpRequest, proxies: &TrustedProxies) -> Option<IpAddr> {
    let peer = request.peer_addr()?.ip();
    let forwarded = request
        .headers()
        .get_all(header::X_FORWARDED_FOR)
        .filter_map(|value| value.to_str().ok());
    Some(proxies.client_ip(peer, forwarded))
}

/// The user agent, cut to what session-store keeps (the shared
/// `MAX_USER_AGENT_CHARS`).
pub fn user_agent(request: &HttpRequest) -> Option<String> {
    request
        .headers()
        .get(header::USER_AGENT)
        .and_then(|value| value.to_str().ok())
        .map(|agent| {
            agent
                .chars()
                .filter(|c| !c.is_control())
                .take(nexus_domain::limits::MAX_USER_AGENT_CHARS)
                .collect::<String>()
        })
        .filter(|agent| !agent.is_empty())
}

/// The bearer token of the `Authorization` header, if any (the rule every
/// service shares: `nexus_common::http_credentials`).
pub fn bearer(request: &HttpRequest) -> Option<&str> {
    let value = request
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    http_credentials::bearer_token(value)
}

/// The value of the first of `names` present with a non-empty value (the
/// shared cookie rule, `nexus_common::http_credentials`).
pub fn cookie(request: &HttpRequest, names: &[&str]) -> Option<String> {
    let headers: Vec<&str> = request
        .headers()
        .get_all(header::COOKIE)
        .filter_map(|value| value.to_str().ok())
        .collect();
    http_credentials::first_cookie(&headers, names).map(str::to_owned)
}

/// The key the request counts under for per-client rate limits (IPv6 per
/// /64; an unknown address shares one bucket rather than passing).
pub fn rate_limit_key(request: &HttpRequest, proxies: &TrustedProxies) -> RateLimitKey {
    RateLimitKey::of(client_ip(request, proxies))
}
