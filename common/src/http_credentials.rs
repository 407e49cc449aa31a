//! Reading credentials from HTTP request headers, one way for every service:
//! the `Authorization: Bearer` token, a named cookie, and whether an
//! `Origin` is one we allow.
//!
//! auth-service (actix-web) and realtime-service (axum's `http`) had each
//! written these and drifted: one trimmed a trailing `/` from configured
//! origins and the other did not (so `CORS_ORIGINS=https://app.example/`
//! worked for one service only), one took the first cookie of a name even
//! when empty while the other looked on, one refused an `Authorization`
//! value with leading whitespace. The functions here take header values as
//! `&str`, so both frameworks call the same code.
//!
//! Rules:
//! - Bearer: scheme `Bearer` in any case, one or more spaces, a non-empty
//!   token; surrounding whitespace ignored. The token is returned as sent,
//!   whatever its size: the verifiers refuse one over
//!   `nexus_domain::limits::MAX_TOKEN_BYTES` as `token_too_large`, a refusal
//!   that says why (dropping it here would answer "no token" instead).
//! - Cookies: every `Cookie` header, `;`-separated `name=value` pairs, exact
//!   name; the first non-empty value wins (browsers send the most specific
//!   path first); surrounding double quotes are removed. No percent-decoding:
//!   our tokens are base64url and dots.
//! - Origins: configured origins are compared without a trailing `/` (a
//!   browser never sends one); the presented `Origin` must equal one
//!   exactly. `null` (sandboxed frames, `file:`) matches only if configured,
//!   which it is not by default.
//!
//! Nothing here logs a token.

/// The token of an `Authorization: Bearer <token>` header value.
pub fn bearer_token(authorization: &str) -> Option<&str> {
    let (scheme, token) = authorization.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The first non-empty value of cookie `name` in the given `Cookie` header
/// values.
pub fn cookie<'a>(
    cookie_headers: impl IntoIterator<Item = &'a str>,
    name: &str,
) -> Option<&'a str> {
    cookie_headers
        .into_iter()
        .flat_map(|header| header.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(key, _)| *key == name)
        .map(|(_, value)| value.trim().trim_matches('"'))
        .find(|value| !value.is_empty())
}

/// The value of the first of `names` (in that order) present with a
/// non-empty value, in the given `Cookie` header values.
pub fn first_cookie<'a>(cookie_headers: &[&'a str], names: &[&str]) -> Option<&'a str> {
    names
        .iter()
        .find_map(|name| cookie(cookie_headers.iter().copied(), name))
}

/// A configured origin in the form browsers send: no trailing `/`.
pub fn normalise_origin(configured: &str) -> &str {
    configured.trim().trim_end_matches('/')
}

/// Whether the presented `Origin` is one of the configured ones.
pub fn origin_allowed<S: AsRef<str>>(configured: &[S], origin: &str) -> bool {
    configured
        .iter()
        .any(|allowed| normalise_origin(allowed.as_ref()) == origin)
}

/// The header browsers set on every request and page scripts cannot set.
pub const SEC_FETCH_SITE: &str = "sec-fetch-site";

/// Whether the `Sec-Fetch-Site` values say a same-origin browser request:
/// exactly one value, exactly `same-origin` (`same-site` would admit a
/// sibling subdomain).
pub fn is_same_origin_fetch<'a>(sec_fetch_site: impl IntoIterator<Item = &'a [u8]>) -> bool {
    let mut values = sec_fetch_site.into_iter();
    matches!(
        (values.next(), values.next()),
        (Some(value), None) if value == b"same-origin"
    )
}

#[cfg(test)]
mod tests {
    use nexus_domain::limits::MAX_TOKEN_BYTES;

    use super::*;

    #[test]
    fn bearer_scheme_is_case_insensitive_and_spaces_are_ignored() {
        for (value, expected) in [
            ("Bearer abc", Some("abc")),
            ("bearer abc", Some("abc")),
            ("BEARER abc", Some("abc")),
            ("Bearer   abc  ", Some("abc")),
            ("  Bearer abc", Some("abc")),
            ("Bearer a.b.c", Some("a.b.c")),
            ("Bearer", None),
            ("Bearer ", None),
            ("Bearer    ", None),
            ("", None),
            ("Basic abc", None),
            ("Bearerabc", None),
            ("Token abc", None),
            ("Bearer\tabc", None),
        ] {
            assert_eq!(bearer_token(value), expected, "{value:?}");
        }
    }

    #[test]
    fn oversized_bearer_tokens_are_handed_on_for_the_verifier_to_refuse() {
        let huge = format!("Bearer {}", "a".repeat(MAX_TOKEN_BYTES + 1));
        let token = bearer_token(&huge).expect("handed on");
        assert_eq!(token.len(), MAX_TOKEN_BYTES + 1);
    }

    #[test]
    fn cookies_are_found_across_headers_and_pairs() {
        let headers = ["a=1; nexus_access_token=tok; b=2", "c=3"];
        assert_eq!(cookie(headers, "nexus_access_token"), Some("tok"));
        assert_eq!(cookie(headers, "c"), Some("3"));
        assert_eq!(cookie(headers, "missing"), None);
        // Exact names only.
        assert_eq!(cookie(["xnexus=1; nexus=2"], "nexus"), Some("2"));
        assert_eq!(cookie(["Nexus=1"], "nexus"), None);
        // Quotes are not part of the value; `=` inside a value is.
        assert_eq!(cookie(["t=\"q\""], "t"), Some("q"));
        assert_eq!(cookie(["t=a=b"], "t"), Some("a=b"));
        assert_eq!(cookie(std::iter::empty(), "t"), None);
    }

    #[test]
    fn the_first_non_empty_cookie_of_a_name_wins() {
        assert_eq!(cookie(["t=first; t=second"], "t"), Some("first"));
        assert_eq!(cookie(["t=; t=second"], "t"), Some("second"));
        assert_eq!(cookie(["t=", "t=\"\"", "t=third"], "t"), Some("third"));
        assert_eq!(cookie(["t=; t="], "t"), None);
    }

    #[test]
    fn first_cookie_follows_the_order_of_names() {
        let headers = ["plain=p; __Host-prefixed=h"];
        assert_eq!(
            first_cookie(&headers, &["__Host-prefixed", "plain"]),
            Some("h")
        );
        assert_eq!(
            first_cookie(&headers, &["plain", "__Host-prefixed"]),
            Some("p")
        );
        assert_eq!(first_cookie(&headers, &["none"]), None);
    }

    #[test]
    fn origins_match_exactly_after_trimming_configured_slashes() {
        let configured = [
            "http://localhost:5173/".to_owned(),
            "https://app.example".to_owned(),
        ];
        assert!(origin_allowed(&configured, "http://localhost:5173"));
        assert!(origin_allowed(&configured, "https://app.example"));
        assert!(!origin_allowed(&configured, "https://app.example/"));
        assert!(!origin_allowed(&configured, "https://app.example:443"));
        assert!(!origin_allowed(&configured, "http://app.example"));
        assert!(!origin_allowed(&configured, "https://evil.app.example"));
        assert!(!origin_allowed(&configured, ""));
        assert_eq!(
            normalise_origin(" https://a.example// "),
            "https://a.example"
        );
    }

    #[test]
    fn the_null_origin_is_refused_unless_configured() {
        assert!(!origin_allowed(&["https://a.example"], "null"));
        assert!(origin_allowed(&["null"], "null"));
    }

    #[test]
    fn only_a_single_same_origin_value_proves_a_same_origin_fetch() {
        let check = |values: &[&str]| is_same_origin_fetch(values.iter().map(|v| v.as_bytes()));
        assert!(check(&["same-origin"]));
        for refused in [
            &[][..],
            &["same-site"],
            &["cross-site"],
            &["none"],
            &["Same-Origin"],
            &["same-origin "],
            &["same-origin", "same-origin"],
            &["same-origin", "cross-site"],
        ] {
            assert!(!check(refused), "{refused:?}");
        }
    }
}
