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
