//! The session bridge: a Supabase token in, a backend session out.
//!
//! Idempotent per Supabase session: session-store returns the live backend
//! session already bridged from (`sub`, `session_id`), and its current refresh
//! token is re-derived from the returned state, so a frontend calling the
//! bridge on every auth state change keeps one session. A live session whose
//! current token was derived with a *retired* refresh key can never refresh
//! again, so it is replaced; one derived with a key this replica does not
//! hold yet (a rolling key change) is left alone and the caller retries.

use nexus_common::events::SessionEventKind;
use nexus_domain::RevokeReason;
use nexus_tokens::TokenError;

use crate::app::revocation;
use crate::domain::{Generation, RefreshSecret, UserId};
use crate::keys::refresh::RefreshToken;
use crate::metrics;
use crate::ports::{CreatedSession, NewSession, RefreshState, SessionView, StoreCallError};
use crate::secret_cache::CachedSecret;
use crate::state::{AppState, IssuedAccessToken};

/// Why a bridge failed.
#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    #[error("invalid Supabase token: {0}")]
    SupabaseToken(TokenError),
    /// The live session's refresh key is not held by this replica yet.
    #[error("the session's refresh key is not held by this replica yet")]
    RefreshKeyUnknown,
    #[error(transparent)]
    Store(#[from] StoreCallError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// What a bridge presents: the Supabase token and what the request says
/// about its client, recorded on a new session. `Debug` omits the token.
pub struct BridgeInput {
    pub supabase_token: String,
    pub user_agent: Option<String>,
    pub ip_address: Option<String>,
}

impl std::fmt::Debug for BridgeInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BridgeInput")
            .field("user_agent", &self.user_agent)
            .field("ip_address", &self.ip_address)
            .finish_non_exhaustive()
    }
}

/// The bridged session, its tokens, and who it is for.
#[derive(Debug)]
pub struct Bridged {
    pub session: SessionView,
    pub user: UserId,
    pub email: Option<String>,
    pub name: Option<String>,
    pub access: IssuedAccessToken,
    pub refresh_token: RefreshToken,
    /// False when the live session bridged from this Supabase session was
    /// returned.
    pub created: bool,
}

/// The Supabase user's claims that shape a session.
struct Supabase {
    user: UserId,
    session_id: Option<String>,
}

/// Verifies the Supabase token and creates (or returns) the backend session.
pub async fn bridge(state: &AppState, input: &BridgeInput) -> Result<Bridged, BridgeError> {
    let claims = state
        .supabase
        .verify(&input.supabase_token)
        .await
        .map_err(BridgeError::SupabaseToken)?;
    let user = UserId::parse(&claims.sub)
        .map_err(|error| BridgeError::SupabaseToken(TokenError::BadClaims(error.to_string())))?;
    tracing::info!(user_id = %user, "Supabase user validated");
    let supabase = Supabase {
        user: user.clone(),
        session_id: claims.session_id.clone(),
    };

    let mut outcome = create(state, &supabase, input).await?;
    revocation::announce_revoked(state, &outcome.evicted, RevokeReason::SessionLimit);
    let refresh_token = match derive_current(state, &outcome.state) {
        Some(token) => token,
        None if !state.refresh_keys.is_retired(&outcome.state.key_id) => {
            // Derived by a replica that already holds a key this one does not
            // (a rolling change of REFRESH_TOKEN_KEYS): the session is fine,
            // this replica is behind. Never end it for that.
            tracing::warn!(session_id = %outcome.state.session.id, key_id = %outcome.state.key_id, "bridged session uses a refresh key this replica does not hold");
            return Err(BridgeError::RefreshKeyUnknown);
        }
        None => {
            // The live session's current token was derived with a key listed
            // as retired: it can never be refreshed. Replace the session.
            let retired = &outcome.state.session.id;
            tracing::warn!(session_id = %retired, key_id = %outcome.state.key_id, "bridged session uses a retired refresh key; replacing it");
            match revocation::revoke(state, retired, &user, RevokeReason::RefreshKeyRetired).await {
                Ok(_) | Err(StoreCallError::NotFound) => {}
                Err(error) => return Err(error.into()),
            }
            outcome = create(state, &supabase, input).await?;
            revocation::announce_revoked(state, &outcome.evicted, RevokeReason::SessionLimit);
            derive_current(state, &outcome.state).ok_or_else(|| {
                anyhow::anyhow!("a new session was not derived with the current refresh key")
            })?
        }
    };
    let CreatedSession {
        state: refresh_state,
        created,
        ..
    } = outcome;
    let session = refresh_state.session;
    state.secrets.insert(
        session.id.clone(),
        CachedSecret {
            secret: refresh_state.secret,
            user: user.clone(),
        },
    );
    if created {
        metrics::bridge_outcome("created");
        tracing::info!(user_id = %user, session_id = %session.id, "Backend session created");
        state
            .events
            .publish(SessionEventKind::Created, &session.id, &user, None);
    } else {
        metrics::bridge_outcome("existing");
        tracing::info!(user_id = %user, session_id = %session.id, "Existing backend session returned");
    }

    let name = claims.display_name();
    let access = state.issue_access_token(&user, &session.id, name.clone())?;
    tracing::info!(user_id = %user, session_id = %session.id, generation = %refresh_state.generation, "Refresh token issued");
    Ok(Bridged {
        session,
        user,
        email: claims.email,
        name,
        access,
        refresh_token,
        created,
    })
}

/// Asks session-store for a session with a fresh secret (it returns the
/// live one bridged from the same Supabase session instead, if any).
async fn create(
    state: &AppState,
    supabase: &Supabase,
    input: &BridgeInput,
) -> Result<CreatedSession, StoreCallError> {
    let secret = RefreshSecret::random();
    state
        .store
        .create_session(NewSession {
            user: &supabase.user,
            user_agent: input.user_agent.clone(),
            ip_address: input.ip_address.clone(),
            supabase_session_id: supabase.session_id.clone(),
            secret: &secret,
            token_hash: state.refresh_keys.current_hash(Generation::FIRST, &secret),
            key_id: state.refresh_keys.current_key_id().as_str(),
        })
        .await
}

/// The session's current refresh token, if this replica holds its key.
fn derive_current(state: &AppState, refresh_state: &RefreshState) -> Option<RefreshToken> {
    state.refresh_keys.derive(
        &refresh_state.key_id,
        &refresh_state.session.id,
        refresh_state.generation,
        &refresh_state.secret,
    )
}
