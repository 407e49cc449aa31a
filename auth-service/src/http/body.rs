//! JSON request bodies, strictly.
//!
//! An empty body is fine (bridge and refresh usually carry their token in a
//! header or cookie); a non-empty one must be `application/json` (415
//! otherwise) and well-formed (400). Parse errors never echo the body, which
//! may hold a token.

use actix_web::HttpRequest;
use actix_web::http::header;
use actix_web::web::Bytes;
use serde::de::DeserializeOwned;

use crate::http::error::ApiError;

pub fn parse<T: DeserializeOwned + Default>(
    request: &HttpRequest,
    body: &Bytes,
) -> Result<T, ApiError> {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok());
    parse_bytes(content_type, body)
}

/// The rule itself, on plain values (what the fuzz target drives).
pub fn parse_bytes<T: DeserializeOwned + Default>(
    content_type: Option<&str>,
    body: &[u8],
) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    let is_json = content_type
        .and_then(|value| value.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(ApiError::UnsupportedMediaType);
    }
    serde_json::from_slice(body).map_err(|error| {
        let what = match error.classify() {
            serde_json::error::Category::Data => "does not have the expected fields and types",
            _ => "is not valid JSON",
        };
        ApiError::BadRequest(format!(
            "The request body {what} (line {}, column {})",
            error.line(),
            error.column()
        ))
    })
}

/// Whether `message` is one of the fixed refusals above (nothing of the body
/// in it but line and column numbers).
pub fn is_fixed_refusal(message: &str) -> bool {
    if message == ApiError::UnsupportedMediaType.to_string() {
        return true;
    }
    let Some(rest) = [
        "The request body is not valid JSON",
        "The request body does not have the expected fields and types",
    ]
    .iter()
    .find_map(|prefix| message.strip_prefix(prefix)) else {
        return false;
    };
    let Some(numbers) = rest
        .strip_prefix(" (line ")
        .and_then(|rest| rest.strip_suffix(')'))
    else {
        return false;
    };
    let Some((line, column)) = numbers.split_once(", column ") else {
        return false;
    };
    line.parse::<usize>().is_ok() && column.parse::<usize>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, serde::Deserialize)]
    struct Body {
        #[serde(default)]
        #[allow(dead_code)]
        refresh_token: Option<String>,
    }

    /// Regression of the json_bodies fuzz target's first crash: a body that
    /// spells part of the refusal made "the message contains the body" true
    /// without any echo. The real property: refusals are fixed messages.
    #[test]
    fn refusals_are_fixed_messages_whatever_the_body_says() {
        let fuzzed = b"equest body is not valid JSON (line 1";
        for content_type in [Some("application/json"), Some("text/plain"), None] {
            let error = parse_bytes::<Body>(content_type, fuzzed).expect_err("refused");
            assert!(is_fixed_refusal(&error.to_string()), "{error}");
        }
        let secret = br#"{"refresh_token": 7, "nxr1.secret-token-value": 1}"#;
        let error = parse_bytes::<Body>(Some("application/json"), secret).expect_err("refused");
        assert!(is_fixed_refusal(&error.to_string()));
        assert!(!error.to_string().contains("secret-token-value"));
        assert!(parse_bytes::<Body>(Some("application/json"), b"  ").is_ok());
        assert!(!is_fixed_refusal(
            "The request body is not valid JSON (line 1, column x)"
        ));
    }
}
