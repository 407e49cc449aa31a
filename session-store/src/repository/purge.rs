//! Deleting long-dead sessions in small batches, so no statement holds many
//! row locks or runs long (refresh rows go with them: ON DELETE CASCADE).

use chrono::{DateTime, Duration, Utc};
use diesel::sql_types::Timestamptz;
use diesel_async::RunQueryDsl;

use super::{Repository, RepositoryError};

/// Rows deleted per statement.
pub const PURGE_BATCH: usize = 500;

impl Repository {
    /// Deletes sessions revoked or expired for longer than `retention`;
    /// returns how many were deleted.
    pub async fn purge_dead(&self, retention: Duration) -> Result<usize, RepositoryError> {
        let now = Utc::now();
        let earlier = |instant: DateTime<Utc>, by: Duration| {
            instant
                .checked_sub_signed(by)
                .unwrap_or(DateTime::<Utc>::MIN_UTC)
        };
        let dead_before = earlier(now, retention);
        let created_before = earlier(dead_before, self.lifetimes.max_lifetime);
        let seen_before = earlier(dead_before, self.lifetimes.idle_timeout);
        let mut total = 0;
        loop {
            let mut conn = self.conn().await?;
            let deleted = diesel::sql_query(
                "DELETE FROM user_sessions WHERE id IN (
                    SELECT id FROM user_sessions
                    WHERE revoked_at < $1 OR created_at < $2 OR last_seen_at < $3
                    LIMIT 500
                 )",
            )
            .bind::<Timestamptz, _>(dead_before)
            .bind::<Timestamptz, _>(created_before)
            .bind::<Timestamptz, _>(seen_before)
            .execute(&mut conn)
            .await?;
            total += deleted;
            if deleted < PURGE_BATCH {
                return Ok(total);
            }
            drop(conn);
            tokio::task::yield_now().await;
        }
    }
}
