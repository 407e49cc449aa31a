//! The admission policy: turning a handshake token into a live backend
//! session. Token checks go through the `tokens` crate; session-store is
//! asked through its adapter (`store`), so this module holds only the
//! decisions.
//!
//! Backend access token (`iss` = auth-service): signature via auth-service's
//! JWKS, then `ValidateSession(sid)`. Supabase access token in `auth.token`
//! (the existing frontend sends what it keeps in localStorage): verified like
//! the bridge does, mapped with `FindBridgedSession(sub, session_id)`, then
//! validated the same way. The two are told apart by the unverified `iss`,
//! which only picks the verifier; the signature check that follows decides.
//!
//! Failures on our side (JWKS or session-store unreachable) are `unavailable`
//! so the client retries instead of signing the user out.

use nexus_domain::SessionStatus;
use nexus_tokens::TokenError;
use nexus_tokens::access::{AccessTokenVerifier, ISSUER};
use nexus_tokens::grant::unverified_issuer;
use nexus_tokens::supabase::SupabaseVerifier;

use crate::auth::credentials::{Credentials, TokenSource};
use crate::auth::refusal::Refusal;
use crate::domain::ids::{SessionId, UserId};
use crate::store::{SessionLookup, SessionStore, StoreUnavailable};

/// Who a socket belongs to.
#[derive(Debug, Clone)]
pub struct Identity {
    pub user: UserId,
    pub session: SessionId,
    /// Display name for hangouts and groups (never shown in dark rooms).
    pub name: Option<String>,
}

/// Verifies tokens and sessions.
pub struct Authenticator {
    access: AccessTokenVerifier,
    supabase: Option<SupabaseVerifier>,
    store: SessionStore,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("access", &self.access)
            .field("supabase", &self.supabase)
            .finish_non_exhaustive()
    }
}

impl Authenticator {
    pub fn new(
        access: AccessTokenVerifier,
        supabase: Option<SupabaseVerifier>,
        store: SessionStore,
    ) -> Self {
        Self {
            access,
            supabase,
            store,
        }
    }

    /// The identity behind a handshake's token, or the refusal to send.
    pub async fn authenticate(&self, credentials: &Credentials) -> Result<Identity, Refusal> {
        let is_backend = unverified_issuer(&credentials.token).as_deref() == Some(ISSUER);
        if is_backend {
            self.backend(&credentials.token).await
        } else if credentials.source == TokenSource::AuthPayload {
            self.supabase(&credentials.token).await
        } else {
            tracing::info!(source = ?credentials.source, "refused: not a backend access token");
            Err(Refusal::Unauthorized)
        }
    }

    async fn backend(&self, token: &str) -> Result<Identity, Refusal> {
        let claims = self
            .access
            .verify(token)
            .await
            .map_err(|error| token_refusal(&error))?;
        let user = UserId::parse(&claims.sub).map_err(|_| Refusal::Unauthorized)?;
        let session = SessionId::parse(&claims.sid).map_err(|_| Refusal::Unauthorized)?;
        self.admit(&session, &user).await?;
        Ok(Identity {
            user,
            session,
            name: claims.name.filter(|name| !name.trim().is_empty()),
        })
    }

    async fn supabase(&self, token: &str) -> Result<Identity, Refusal> {
        let Some(verifier) = &self.supabase else {
            tracing::info!("refused: a Supabase token, but no Supabase keys are configured");
            return Err(Refusal::Unauthorized);
        };
        let claims = verifier
            .verify(token)
            .await
            .map_err(|error| token_refusal(&error))?;
        let user = UserId::parse(&claims.sub).map_err(|_| Refusal::Unauthorized)?;
        let Some(supabase_session) = claims.session_id.clone().filter(|id| !id.is_empty()) else {
            tracing::info!("refused: Supabase token without a session_id claim");
            return Err(Refusal::Unauthorized);
        };
        let Some(bridged) = self
            .store
            .bridged_session(&user, supabase_session)
            .await
            .map_err(|StoreUnavailable| Refusal::Unavailable)?
        else {
            tracing::info!("refused: no live backend session bridged from this Supabase session");
            return Err(Refusal::Unauthorized);
        };
        let session = SessionId::parse(&bridged).map_err(|_| Refusal::Unauthorized)?;
        self.admit(&session, &user).await?;
        Ok(Identity {
            user,
            session,
            name: claims.display_name(),
        })
    }

    /// The session must be active and belong to `user`.
    async fn admit(&self, session: &SessionId, user: &UserId) -> Result<(), Refusal> {
        let (state, owner) = self
            .store
            .session(session)
            .await
            .map_err(|StoreUnavailable| Refusal::Unavailable)?;
        match state {
            SessionLookup::ACTIVE if owner.as_deref() == Some(user.as_str()) => Ok(()),
            SessionLookup::ACTIVE => {
                tracing::warn!("refused: token names a session of another user");
                Err(Refusal::Unauthorized)
            }
            SessionLookup::Known(SessionStatus::Revoked) => Err(Refusal::SessionRevoked),
            SessionLookup::Known(SessionStatus::Expired) => Err(Refusal::SessionExpired),
            SessionLookup::Unknown => Err(Refusal::Unauthorized),
        }
    }
}

fn token_refusal(error: &TokenError) -> Refusal {
    if error.is_unavailable() {
        tracing::warn!("refused: token keys unavailable");
        Refusal::Unavailable
    } else {
        tracing::info!(code = error.code(), "refused: {error}");
        Refusal::Unauthorized
    }
}
