//! The response envelope the original backend used and the frontend expects:
//! `{"success": true, "message": ..., ...data}` or
//! `{"success": false, "message": ..., "error": ...}`.

use serde::Serialize;
use utoipa::ToSchema;

/// A successful body: `message` plus the fields of `data` flattened in.
#[derive(Debug, Serialize, ToSchema)]
pub struct Success<'a, T: Serialize> {
    /// Always `true`.
    success: bool,
    message: &'a str,
    #[serde(flatten)]
    data: T,
}

impl<'a, T: Serialize> Success<'a, T> {
    pub fn new(message: &'a str, data: T) -> Self {
        Self {
            success: true,
            message,
            data,
        }
    }
}

/// A failure body: a human message and a stable machine code.
#[derive(Debug, Serialize, ToSchema)]
pub struct Failure<'a> {
    /// Always `false`.
    success: bool,
    /// What went wrong, for people.
    message: &'a str,
    /// A stable machine-readable code (`invalid_refresh_token`, `rate_limited`, ...).
    error: &'a str,
}

impl<'a> Failure<'a> {
    pub fn new(message: &'a str, error: &'a str) -> Self {
        Self {
            success: false,
            message,
            error,
        }
    }
}

/// Success without extra fields.
#[derive(Debug, Serialize, ToSchema)]
pub struct Nothing {}
