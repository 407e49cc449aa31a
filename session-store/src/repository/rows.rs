//! Rows read back from the database.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::db::schema::user_sessions;
use crate::domain::Generation;

/// A `user_sessions` row without its secret (which only GetRefreshState and
/// CreateSession hand out).
#[derive(Debug, Clone, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = user_sessions)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct SessionRow {
    pub id: String,
    pub user_id: String,
    pub user_agent: Option<String>,
    pub ip_address: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoked_reason: Option<String>,
    pub supabase_session_id: Option<String>,
    pub current_generation: i64,
}

/// What a caller needs to derive a session's refresh tokens.
#[derive(Clone)]
pub struct RefreshState {
    pub session: SessionRow,
    pub refresh_secret: Vec<u8>,
    pub current_generation: Generation,
    pub current_key_id: String,
}

impl std::fmt::Debug for RefreshState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefreshState")
            .field("session", &self.session.id)
            .field("current_generation", &self.current_generation)
            .field("current_key_id", &self.current_key_id)
            .finish_non_exhaustive()
    }
}
