//! Session use cases: create (idempotent per Supabase session), find, read the
//! refresh state, validate, revoke, list.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamptz};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use super::{RefreshState, Repository, RepositoryError, SessionRow, revoke_ids};
use crate::db::prepared::Prepared;
use crate::db::schema::{refresh_tokens, user_sessions};
use crate::domain::{
    Generation, IpAddress, KeyId, Lifetimes, RecordedReason, RefreshSecret, RevokeReason,
    SessionId, SessionStatus, SupabaseSessionId, TokenHash, UserAgent, UserId, new_session_id,
};

/// Most sessions one listing returns (newest first).
pub const LIST_LIMIT: i64 = 500;

/// Most session ids one ValidateSessions call takes (shared with callers).
pub use nexus_domain::limits::VALIDATE_BATCH_MAX;

/// A validated CreateSession request.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub user_id: UserId,
    pub user_agent: Option<UserAgent>,
    pub ip_address: Option<IpAddress>,
    pub supabase_session_id: Option<SupabaseSessionId>,
    pub refresh_secret: RefreshSecret,
    pub token_hash: TokenHash,
    pub key_id: KeyId,
}

/// CreateSession's result: the (new or existing) session's refresh state,
/// and the sessions revoked to keep the user within the per-user cap.
#[derive(Debug)]
pub struct Created {
    pub state: RefreshState,
    pub created: bool,
    pub evicted: Vec<SessionRow>,
}

/// Serialises session creation per user (a transaction-scoped advisory lock
/// keyed by the user id), so concurrent creates cannot both slip under the
/// per-user cap.
const LOCK_USER: &str =
    "SELECT pg_advisory_xact_lock(hashtextextended('nexus.user_sessions:' || $1, 0))";

/// The user's live sessions beyond the newest `$2` by last activity: the ones
/// the cap evicts (least recently seen first to go).
const OVER_CAP: &str = "SELECT id FROM user_sessions \
     WHERE user_id = $1 AND revoked_at IS NULL AND created_at > $3 AND last_seen_at > $4 \
     ORDER BY last_seen_at DESC, created_at DESC, id DESC OFFSET $2 \
     FOR UPDATE";

impl Repository {
    /// Creates a session with refresh generation 1, or returns the live session
    /// already bridged from the same Supabase session. A concurrent create for
    /// the same Supabase session loses on the unique partial index; it then
    /// retries and finds the winner.
    pub async fn create_session(&self, new: &NewSession) -> Result<Created, RepositoryError> {
        let lifetimes = self.lifetimes;
        let max_sessions = self.max_sessions_per_user;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut conn = self.conn().await?;
            let now = Utc::now();
            let result = conn
                .transaction::<_, RepositoryError, _>(async |conn| {
                    let created = create_in_transaction(conn, new, lifetimes, now).await?;
                    if !created.created {
                        return Ok(created);
                    }
                    let evicted =
                        evict_over_cap(conn, &new.user_id, max_sessions, lifetimes, now).await?;
                    Ok(Created { evicted, ..created })
                })
                .await;
            match result {
                Err(error) if error.is_unique_violation() && attempt < 3 => {
                    tracing::debug!(
                        attempt,
                        "concurrent create for one Supabase session, retrying"
                    );
                }
                other => return other,
            }
        }
    }

    /// The live session bridged from a user's Supabase session.
    pub async fn find_bridged(
        &self,
        user_id: &UserId,
        supabase_session_id: &SupabaseSessionId,
    ) -> Result<SessionRow, RepositoryError> {
        let now = Utc::now();
        let mut conn = self.conn().await?;
        user_sessions::table
            .filter(user_sessions::user_id.eq(user_id.as_str()))
            .filter(user_sessions::supabase_session_id.eq(supabase_session_id.as_str()))
            .filter(user_sessions::revoked_at.is_null())
            .filter(user_sessions::created_at.gt(self.lifetimes.created_cutoff(now)))
            .filter(user_sessions::last_seen_at.gt(self.lifetimes.idle_cutoff(now)))
            .order(user_sessions::created_at.desc())
            .select(SessionRow::as_select())
            .first(&mut conn)
            .await
            .optional()?
            .ok_or(RepositoryError::NotFound)
    }

    /// The session, its secret and its current generation with key id.
    pub async fn refresh_state(
        &self,
        session_id: &SessionId,
    ) -> Result<RefreshState, RepositoryError> {
        let mut conn = self.conn().await?;
        let (row, secret) = user_sessions::table
            .find(session_id.as_str())
            .select((SessionRow::as_select(), user_sessions::refresh_secret))
            .first::<(SessionRow, Option<Vec<u8>>)>(&mut conn)
            .await
            .optional()?
            .ok_or(RepositoryError::NotFound)?;
        state_of(&mut conn, row, secret).await
    }

    /// The session's state. Reading is one cached `SELECT`; only when
    /// `last_seen_at` is older than the touch interval (at most about once a
    /// minute per session) a conditional `UPDATE` follows, which concurrent
    /// validators cannot repeat (its condition no longer holds once written).
    pub async fn validate(&self, session_id: &SessionId) -> Result<SessionRow, RepositoryError> {
        let now = Utc::now();
        let lifetimes = self.lifetimes;
        let mut conn = self.conn().await?;
        let row = user_sessions::table
            .find(session_id.as_str())
            .select(SessionRow::as_select())
            .first(&mut conn)
            .await
            .optional()?
            .ok_or(RepositoryError::NotFound)?;
        let touch_before = now - lifetimes.touch_interval();
        let stale = row.last_seen_at < touch_before;
        let active = lifetimes.status(row.created_at, row.last_seen_at, row.revoked_at, now)
            == SessionStatus::Active;
        if !(stale && active) {
            return Ok(row);
        }
        let touched = Prepared(
            diesel::update(
                user_sessions::table
                    .find(session_id.as_str())
                    .filter(user_sessions::revoked_at.is_null())
                    .filter(user_sessions::last_seen_at.lt(touch_before)),
            )
            .set(user_sessions::last_seen_at.eq(now))
            .returning(SessionRow::as_returning()),
        )
        .get_result(&mut conn)
        .await
        .optional()?;
        Ok(touched.unwrap_or(row))
    }

    /// [`Self::validate`] for many sessions: one `SELECT ... WHERE id =
    /// ANY($1)`, then (only for active sessions not touched within the touch
    /// interval) one conditional `UPDATE` of them all. Returns the rows that
    /// exist, in no particular order; unknown ids are simply absent.
    pub async fn validate_many(
        &self,
        ids: &[SessionId],
    ) -> Result<Vec<SessionRow>, RepositoryError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let now = Utc::now();
        let lifetimes = self.lifetimes;
        let ids: Vec<String> = ids.iter().map(|id| id.as_str().to_owned()).collect();
        let mut conn = self.conn().await?;
        let mut rows: Vec<SessionRow> = Prepared(
            user_sessions::table
                .filter(user_sessions::id.eq_any(ids.as_slice()))
                .select(SessionRow::as_select()),
        )
        .load(&mut conn)
        .await?;
        let touch_before = now - lifetimes.touch_interval();
        let stale: Vec<String> = rows
            .iter()
            .filter(|row| {
                row.last_seen_at < touch_before
                    && lifetimes.status(row.created_at, row.last_seen_at, row.revoked_at, now)
                        == SessionStatus::Active
            })
            .map(|row| row.id.clone())
            .collect();
        if stale.is_empty() {
            return Ok(rows);
        }
        let touched: Vec<SessionRow> = Prepared(
            diesel::update(
                user_sessions::table
                    .filter(user_sessions::id.eq_any(stale.as_slice()))
                    .filter(user_sessions::revoked_at.is_null())
                    .filter(user_sessions::last_seen_at.lt(touch_before)),
            )
            .set(user_sessions::last_seen_at.eq(now))
            .returning(SessionRow::as_returning()),
        )
        .get_results(&mut conn)
        .await?;
        let mut touched: std::collections::HashMap<String, SessionRow> = touched
            .into_iter()
            .map(|row| (row.id.clone(), row))
            .collect();
        for row in &mut rows {
            if let Some(fresh) = touched.remove(&row.id) {
                *row = fresh;
            }
        }
        Ok(rows)
    }

    /// Revokes one session of `user_id`. Another user's session is NOT_FOUND.
    /// Returns whether this call revoked it, and the session.
    pub async fn revoke_session(
        &self,
        session_id: &SessionId,
        user_id: &UserId,
        reason: &RecordedReason,
    ) -> Result<(bool, SessionRow), RepositoryError> {
        let now = Utc::now();
        let mut conn = self.conn().await?;
        conn.transaction::<_, RepositoryError, _>(async |conn| {
            let row = user_sessions::table
                .filter(user_sessions::id.eq(session_id.as_str()))
                .filter(user_sessions::user_id.eq(user_id.as_str()))
                .select(SessionRow::as_select())
                .for_update()
                .first(conn)
                .await
                .optional()?
                .ok_or(RepositoryError::NotFound)?;
            if row.revoked_at.is_some() {
                return Ok((false, row));
            }
            let mut revoked = revoke_ids(conn, std::slice::from_ref(&row.id), reason, now).await?;
            Ok((true, revoked.pop().unwrap_or(row)))
        })
        .await
    }

    /// Revokes the user's live sessions, except one when given.
    pub async fn revoke_user_sessions(
        &self,
        user_id: &UserId,
        except: Option<&SessionId>,
        reason: &RecordedReason,
    ) -> Result<Vec<SessionRow>, RepositoryError> {
        let now = Utc::now();
        let lifetimes = self.lifetimes;
        let keep: Vec<&str> = except.map(SessionId::as_str).into_iter().collect();
        let mut conn = self.conn().await?;
        conn.transaction::<_, RepositoryError, _>(async |conn| {
            let ids: Vec<String> = user_sessions::table
                .filter(user_sessions::user_id.eq(user_id.as_str()))
                .filter(user_sessions::revoked_at.is_null())
                .filter(user_sessions::created_at.gt(lifetimes.created_cutoff(now)))
                .filter(user_sessions::last_seen_at.gt(lifetimes.idle_cutoff(now)))
                .filter(user_sessions::id.ne_all(&keep))
                .select(user_sessions::id)
                .for_update()
                .load(conn)
                .await?;
            Ok(revoke_ids(conn, &ids, reason, now).await?)
        })
        .await
    }

    /// A user's sessions, newest first; ended ones only when asked.
    pub async fn list(
        &self,
        user_id: &UserId,
        include_ended: bool,
    ) -> Result<Vec<SessionRow>, RepositoryError> {
        let now = Utc::now();
        let mut query = user_sessions::table
            .filter(user_sessions::user_id.eq(user_id.as_str()))
            .select(SessionRow::as_select())
            .order((user_sessions::created_at.desc(), user_sessions::id.desc()))
            .limit(LIST_LIMIT)
            .into_boxed();
        if !include_ended {
            query = query
                .filter(user_sessions::revoked_at.is_null())
                .filter(user_sessions::created_at.gt(self.lifetimes.created_cutoff(now)))
                .filter(user_sessions::last_seen_at.gt(self.lifetimes.idle_cutoff(now)));
        }
        let mut conn = self.conn().await?;
        Ok(query.load(&mut conn).await?)
    }
}

async fn create_in_transaction(
    conn: &mut AsyncPgConnection,
    new: &NewSession,
    lifetimes: Lifetimes,
    now: DateTime<Utc>,
) -> Result<Created, RepositoryError> {
    Prepared(diesel::sql_query(LOCK_USER).bind::<Text, _>(new.user_id.as_str()))
        .execute(conn)
        .await?;
    if let Some(supabase_session_id) = &new.supabase_session_id {
        let existing = user_sessions::table
            .filter(user_sessions::user_id.eq(new.user_id.as_str()))
            .filter(user_sessions::supabase_session_id.eq(supabase_session_id.as_str()))
            .filter(user_sessions::revoked_at.is_null())
            .select((SessionRow::as_select(), user_sessions::refresh_secret))
            .for_update()
            .load::<(SessionRow, Option<Vec<u8>>)>(conn)
            .await?;
        for (row, secret) in existing {
            let status = lifetimes.status(row.created_at, row.last_seen_at, row.revoked_at, now);
            if status == SessionStatus::Active {
                let state = state_of(conn, row, secret).await?;
                return Ok(Created {
                    state,
                    created: false,
                    evicted: Vec::new(),
                });
            }
            revoke_ids(
                conn,
                std::slice::from_ref(&row.id),
                &RevokeReason::Expired.into(),
                now,
            )
            .await?;
        }
    }
    let session_id = new_session_id();
    let row = diesel::insert_into(user_sessions::table)
        .values((
            user_sessions::id.eq(session_id.as_str()),
            user_sessions::user_id.eq(new.user_id.as_str()),
            user_sessions::user_agent.eq(new.user_agent.as_ref().map(UserAgent::as_str)),
            user_sessions::ip_address.eq(new.ip_address.map(IpAddress::to_text)),
            user_sessions::created_at.eq(now),
            user_sessions::last_seen_at.eq(now),
            user_sessions::supabase_session_id.eq(new
                .supabase_session_id
                .as_ref()
                .map(SupabaseSessionId::as_str)),
            user_sessions::refresh_secret.eq(Some(new.refresh_secret.as_bytes())),
            user_sessions::current_generation.eq(Generation::FIRST.to_stored()),
        ))
        .returning(SessionRow::as_returning())
        .get_result(conn)
        .await?;
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::session_id.eq(session_id.as_str()),
            refresh_tokens::token_hash.eq(new.token_hash.as_str()),
            refresh_tokens::created_at.eq(now),
            refresh_tokens::generation.eq(Some(Generation::FIRST.to_stored())),
            refresh_tokens::key_id.eq(Some(new.key_id.as_str())),
            refresh_tokens::expires_at.eq(Some(lifetimes.lifetime_end(now))),
        ))
        .execute(conn)
        .await?;
    Ok(Created {
        state: RefreshState {
            session: row,
            refresh_secret: new.refresh_secret.as_bytes().to_vec(),
            current_generation: Generation::FIRST,
            current_key_id: new.key_id.as_str().to_owned(),
        },
        created: true,
        evicted: Vec::new(),
    })
}

/// Revokes the user's least recently seen live sessions beyond `max`.
async fn evict_over_cap(
    conn: &mut AsyncPgConnection,
    user_id: &UserId,
    max: u32,
    lifetimes: Lifetimes,
    now: DateTime<Utc>,
) -> Result<Vec<SessionRow>, RepositoryError> {
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = Text)]
        id: String,
    }
    let ids: Vec<String> = Prepared(
        diesel::sql_query(OVER_CAP)
            .bind::<Text, _>(user_id.as_str())
            .bind::<BigInt, _>(i64::from(max))
            .bind::<Timestamptz, _>(lifetimes.created_cutoff(now))
            .bind::<Timestamptz, _>(lifetimes.idle_cutoff(now)),
    )
    .load::<Id>(conn)
    .await?
    .into_iter()
    .map(|row| row.id)
    .collect();
    if !ids.is_empty() {
        tracing::info!(user_id = %user_id.as_str(), evicted = ids.len(), "per-user session cap reached; revoking the least recently seen");
    }
    Ok(revoke_ids(conn, &ids, &RevokeReason::SessionLimit.into(), now).await?)
}

/// Completes a refresh state with the current generation's key id.
async fn state_of(
    conn: &mut AsyncPgConnection,
    row: SessionRow,
    secret: Option<Vec<u8>>,
) -> Result<RefreshState, RepositoryError> {
    let Some(refresh_secret) = secret else {
        return Err(RepositoryError::NoRefreshSecret);
    };
    // Rows adopted from the old backend store generation 0 (and no secret).
    let current_generation =
        Generation::from_stored(row.current_generation).ok_or(RepositoryError::NoRefreshSecret)?;
    let current_key_id = current_key_id(conn, &row.id, current_generation).await?;
    Ok(RefreshState {
        session: row,
        refresh_secret,
        current_generation,
        current_key_id,
    })
}

/// The key id the given generation was derived with.
pub(super) async fn current_key_id(
    conn: &mut AsyncPgConnection,
    session_id: &str,
    generation: Generation,
) -> Result<String, RepositoryError> {
    refresh_tokens::table
        .filter(refresh_tokens::session_id.eq(session_id))
        .filter(refresh_tokens::generation.eq(Some(generation.to_stored())))
        .select(refresh_tokens::key_id)
        .first::<Option<String>>(conn)
        .await
        .optional()?
        .flatten()
        .ok_or(RepositoryError::NoRefreshSecret)
}
