//! One place that maps errors to gRPC statuses.
//!
//! Bad input says what is wrong (never echoing the value); a database that is
//! down is UNAVAILABLE so callers retry; anything else is a bug: logged with
//! its cause, answered INTERNAL with an opaque message.

use tonic::Status;

use crate::domain::InvalidInput;
use crate::repository::StoreError;

impl From<InvalidInput> for Status {
    fn from(error: InvalidInput) -> Self {
        Status::invalid_argument(error.to_string())
    }
}

impl From<StoreError> for Status {
    fn from(error: StoreError) -> Self {
        match &error {
            StoreError::NotFound => Status::not_found("session not found"),
            StoreError::GenerationNotFound => {
                Status::not_found("refresh token generation not found for this session")
            }
            StoreError::NoRefreshSecret => Status::failed_precondition(
                "session has no refresh secret (created before refresh rotation); bridge again",
            ),
            _ if error.is_unavailable() => {
                tracing::warn!(error = %error_chain(&error), "session database unavailable");
                Status::unavailable("session database unavailable, retry later")
            }
            _ => {
                tracing::error!(error = %error_chain(&error), "session-store internal error");
                Status::internal("internal error")
            }
        }
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
