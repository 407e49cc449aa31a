//! Cookie and X-Forwarded-For parsing as auth-service applies them: the
//! access/refresh cookie lookup (both name generations) and the client
//! address behind trusted proxies, with the rate-limit key derived from it.
//! Never panics; the client is never a trusted proxy unless nothing else is.
#![no_main]

use std::sync::OnceLock;

use actix_web::test::TestRequest;
use auth_service::http::request_meta;
use libfuzzer_sys::fuzz_target;
use nexus_common::client_ip::{RateLimitKey, TrustedProxies};
use nexus_tokens::access::{ACCESS_COOKIE_NAMES, REFRESH_COOKIE_NAMES};

fn proxies() -> &'static TrustedProxies {
    static PROXIES: OnceLock<TrustedProxies> = OnceLock::new();
    PROXIES.get_or_init(|| TrustedProxies::parse("127.0.0.1/32,::1/128,10.0.0.0/8").expect("cidrs"))
}

fuzz_target!(|data: &[u8]| {
    // First byte picks the peer, the rest splits into a cookie and an XFF value.
    let Some((&peer, rest)) = data.split_first() else {
        return;
    };
    let split = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
    let (cookie, forwarded) = rest.split_at(split);
    let peer = match peer % 3 {
        0 => "127.0.0.1:4000",
        1 => "[::1]:4000",
        _ => "203.0.113.9:4000",
    };
    let mut request = TestRequest::default().peer_addr(peer.parse().expect("peer"));
    if let Ok(cookie) = actix_web::http::header::HeaderValue::from_bytes(cookie) {
        request = request.insert_header(("cookie", cookie));
    }
    if let Ok(forwarded) = actix_web::http::header::HeaderValue::from_bytes(forwarded) {
        request = request.insert_header(("x-forwarded-for", forwarded));
    }
    let request = request.to_http_request();
    let _ = request_meta::cookie(&request, &ACCESS_COOKIE_NAMES);
    let _ = request_meta::cookie(&request, &REFRESH_COOKIE_NAMES);
    let _ = request_meta::user_agent(&request);
    let _ = request_meta::bearer(&request);
    let client = request_meta::client_ip(&request, proxies()).expect("peer is set");
    if peer.starts_with("203.") {
        assert_eq!(
            client.to_string(),
            "203.0.113.9",
            "untrusted peers are the client"
        );
    }
    let _ = RateLimitKey::of(Some(client)).to_string();
});
