//! The bridge, refresh and logout JSON bodies through the service's one body
//! rule (`http::body::parse_bytes`): JSON only, empty means default, errors
//! that never echo the body. Never panics; a refusal is always one of the
//! fixed messages (so nothing of the body, which may hold a token, is in it).
//!
//! The first oracle ("the message does not contain the body") crashed on a
//! body that spelled part of the fixed message itself; the regression test is
//! `http::body::tests::refusals_are_fixed_messages_whatever_the_body_says`.
#![no_main]

use auth_service::http::body::parse_bytes;
use auth_service::http::routes::bridge::BridgeRequest;
use auth_service::http::routes::logout::LogoutRequest;
use auth_service::http::routes::refresh::RefreshRequest;
use libfuzzer_sys::fuzz_target;

fn check<T: serde::de::DeserializeOwned + Default>(content_type: Option<&str>, body: &[u8]) {
    if let Err(error) = parse_bytes::<T>(content_type, body) {
        let message = error.to_string();
        assert!(
            auth_service::http::body::is_fixed_refusal(&message),
            "not a fixed refusal: {message}"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let content_type = match selector % 4 {
        0 => Some("application/json"),
        1 => Some("application/json; charset=utf-8"),
        2 => Some("text/plain"),
        _ => None,
    };
    check::<BridgeRequest>(content_type, body);
    check::<RefreshRequest>(content_type, body);
    check::<LogoutRequest>(content_type, body);
});
