//! What can go wrong in the repository, classified so the gRPC edge can pick
//! a status: missing rows, a database that is down, or a real bug. (Named
//! for where it comes from: auth-service's client has its own error for a
//! failed call to session-store.)

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::pooled_connection::PoolError;

#[derive(Debug, thiserror::Error)]
pub enum RepositoryError {
    #[error("session not found")]
    NotFound,
    #[error("refresh token generation not found")]
    GenerationNotFound,
    #[error("session has no refresh secret (it predates refresh rotation)")]
    NoRefreshSecret,
    #[error("session used every refresh generation")]
    GenerationsExhausted,
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database error")]
    Database(#[from] DieselError),
}

impl RepositoryError {
    pub(super) fn from_pool(error: diesel_async::pooled_connection::bb8::RunError) -> Self {
        match error {
            diesel_async::pooled_connection::bb8::RunError::TimedOut => {
                Self::Unavailable("timed out waiting for a database connection".to_owned())
            }
            diesel_async::pooled_connection::bb8::RunError::User(PoolError::ConnectionError(
                error,
            )) => Self::Unavailable(format!("cannot connect: {error}")),
            diesel_async::pooled_connection::bb8::RunError::User(PoolError::QueryError(error)) => {
                Self::Unavailable(format!("connection check failed: {error}"))
            }
        }
    }

    /// True when the database could not be reached or gave up (restart,
    /// statement timeout): worth retrying, answered as UNAVAILABLE.
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::Unavailable(_) => true,
            Self::Database(DieselError::DatabaseError(kind, info)) => {
                matches!(
                    kind,
                    DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand
                ) || is_transient_message(info.message())
            }
            _ => false,
        }
    }

    /// A unique-constraint violation (a concurrent create won the race).
    pub(super) fn is_unique_violation(&self) -> bool {
        matches!(
            self,
            Self::Database(DieselError::DatabaseError(
                DatabaseErrorKind::UniqueViolation,
                _
            ))
        )
    }
}

/// Postgres messages for errors diesel-async cannot classify by kind.
fn is_transient_message(message: &str) -> bool {
    const TRANSIENT: [&str; 5] = [
        "statement timeout",
        "terminating connection",
        "connection closed",
        "the database system is",
        "lock timeout",
    ];
    TRANSIENT.iter().any(|needle| message.contains(needle))
}
