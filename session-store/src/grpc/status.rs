//! One place that maps errors to gRPC statuses.
//!
//! Bad input says what is wrong (never echoing the value); a database that is
//! down is UNAVAILABLE so callers retry; anything else is a bug: logged with
//! its cause, answered INTERNAL with an opaque message.

use tonic::Status;

use nexus_common::error_chain::error_chain;

use crate::domain::InvalidInput;
use crate::repository::RepositoryError;

impl From<InvalidInput> for Status {
    fn from(error: InvalidInput) -> Self {
        Status::invalid_argument(error.to_string())
    }
}

impl From<RepositoryError> for Status {
    fn from(error: RepositoryError) -> Self {
        match &error {
            RepositoryError::NotFound => Status::not_found("session not found"),
            RepositoryError::GenerationNotFound => {
                Status::not_found("refresh token generation not found for this session")
            }
            RepositoryError::NoRefreshSecret => Status::failed_precondition(
                "session has no refresh secret (created before refresh rotation); bridge again",
            ),
            RepositoryError::GenerationsExhausted => {
                Status::failed_precondition("session used every refresh generation; bridge again")
            }
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
