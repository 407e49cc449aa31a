//! Turning a handshake token into a live backend session.
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

use base64::Engine;
use nexus_common::store_client::StoreClient;
use nexus_proto::session_v1::{
    FindBridgedSessionRequest, Session, SessionStatus, ValidateSessionRequest,
    ValidateSessionsRequest,
};
use nexus_tokens::TokenError;
use nexus_tokens::access::{AccessTokenVerifier, ISSUER};
use nexus_tokens::supabase::SupabaseVerifier;
use tonic::Code;

use crate::auth::{Credentials, Refusal, TokenSource};
use crate::domain::ids::{SessionId, UserId};

/// Who a socket belongs to.
#[derive(Debug, Clone)]
pub struct Identity {
    pub user: UserId,
    pub session: SessionId,
    /// Display name for hangouts and groups (never shown in dark rooms).
    pub name: Option<String>,
}

/// A session's state as session-store reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    Active,
    Revoked,
    Expired,
    /// session-store does not know it (purged, or never existed).
    Unknown,
}

impl SessionState {
    /// The reason sent to clients in `session:revoked`.
    pub fn reason(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Revoked => "session_revoked",
            Self::Expired => "session_expired",
            Self::Unknown => "session_unknown",
        }
    }
}

/// Verifies tokens and sessions.
pub struct Authenticator {
    access: AccessTokenVerifier,
    supabase: Option<SupabaseVerifier>,
    store: StoreClient,
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
        store: StoreClient,
    ) -> Self {
        Self {
            access,
            supabase,
            store,
        }
    }

    pub fn store(&self) -> &StoreClient {
        &self.store
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
        let mut store = self.store.clone();
        let bridged = store
            .find_bridged_session(FindBridgedSessionRequest {
                user_id: user.as_str().to_owned(),
                supabase_session_id: supabase_session,
            })
            .await
            .map_err(|status| match status.code() {
                Code::NotFound | Code::InvalidArgument => {
                    tracing::info!(
                        "refused: no live backend session bridged from this Supabase session"
                    );
                    Refusal::Unauthorized
                }
                _ => store_unavailable(&status),
            })?
            .into_inner();
        let session = SessionId::parse(&bridged.id).map_err(|_| Refusal::Unauthorized)?;
        self.admit(&session, &user).await?;
        Ok(Identity {
            user,
            session,
            name: claims.display_name(),
        })
    }

    /// The session must be active and belong to `user`.
    async fn admit(&self, session: &SessionId, user: &UserId) -> Result<(), Refusal> {
        let (state, owner) = self.session_state(session).await?;
        match state {
            SessionState::Active if owner.as_deref() == Some(user.as_str()) => Ok(()),
            SessionState::Active => {
                tracing::warn!("refused: token names a session of another user");
                Err(Refusal::Unauthorized)
            }
            SessionState::Revoked => Err(Refusal::SessionRevoked),
            SessionState::Expired => Err(Refusal::SessionExpired),
            SessionState::Unknown => Err(Refusal::Unauthorized),
        }
    }

    /// A session's state and owner; `Err(Unavailable)` when session-store
    /// cannot answer.
    pub async fn session_state(
        &self,
        session: &SessionId,
    ) -> Result<(SessionState, Option<String>), Refusal> {
        let mut store = self.store.clone();
        match store
            .validate_session(ValidateSessionRequest {
                session_id: session.as_str().to_owned(),
            })
            .await
        {
            Ok(response) => {
                let session: Session = response.into_inner();
                Ok((state_of(&session), Some(session.user_id)))
            }
            Err(status) if matches!(status.code(), Code::NotFound | Code::InvalidArgument) => {
                Ok((SessionState::Unknown, None))
            }
            Err(status) => Err(store_unavailable(&status)),
        }
    }

    /// The state of many sessions (at most [`VALIDATE_BATCH_MAX`]) in one
    /// `ValidateSessions` call, in the order given. Should session-store
    /// refuse the batch as malformed (an id of a shape it does not take),
    /// or not know the call yet, each session is asked about alone, so one
    /// odd id cannot hide the others' revocation.
    pub async fn sessions_state(
        &self,
        sessions: &[SessionId],
    ) -> Result<Vec<SessionState>, Refusal> {
        let mut store = self.store.clone();
        let request = ValidateSessionsRequest {
            session_ids: sessions
                .iter()
                .map(|session| session.as_str().to_owned())
                .collect(),
        };
        match store.validate_sessions(request).await {
            Ok(response) => {
                let response = response.into_inner();
                let states: std::collections::HashMap<String, SessionState> = response
                    .sessions
                    .iter()
                    .map(|session| (session.id.clone(), state_of(session)))
                    .collect();
                Ok(sessions
                    .iter()
                    .map(|session| {
                        states
                            .get(session.as_str())
                            .copied()
                            .unwrap_or(SessionState::Unknown)
                    })
                    .collect())
            }
            // A session-store from before ValidateSessions (rolling upgrade)
            // answers UNIMPLEMENTED.
            Err(status) if matches!(status.code(), Code::InvalidArgument | Code::Unimplemented) => {
                tracing::warn!(
                    code = ?status.code(),
                    message = status.message(),
                    "re-check: ValidateSessions refused a batch; asking one by one"
                );
                let mut states = Vec::with_capacity(sessions.len());
                for session in sessions {
                    states.push(self.session_state(session).await?.0);
                }
                Ok(states)
            }
            Err(status) => Err(store_unavailable(&status)),
        }
    }

    /// Whether session-store answers at all (for `/readyz`).
    pub async fn store_reachable(&self) -> bool {
        let probe = SessionId::parse("readiness-probe");
        match probe {
            Ok(probe) => self.session_state(&probe).await.is_ok(),
            Err(_) => false,
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

/// Most ids one `ValidateSessions` call takes (session-store's limit).
pub use nexus_domain::limits::VALIDATE_BATCH_MAX;

fn state_of(session: &Session) -> SessionState {
    match session.status() {
        SessionStatus::Active => SessionState::Active,
        SessionStatus::Revoked => SessionState::Revoked,
        SessionStatus::Expired => SessionState::Expired,
        SessionStatus::Unspecified => SessionState::Unknown,
    }
}

fn store_unavailable(status: &tonic::Status) -> Refusal {
    tracing::warn!(code = ?status.code(), message = status.message(), "session-store call failed");
    Refusal::Unavailable
}

/// The `iss` claim read WITHOUT verification, only to pick a verifier.
fn unverified_issuer(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    if payload.len() > 16 * 1024 {
        return None;
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("iss")?.as_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuer_is_read_without_verifying() {
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(br#"{"iss":"nexus-auth","sub":"u"}"#);
        assert_eq!(
            unverified_issuer(&format!("e30.{payload}.sig")).as_deref(),
            Some("nexus-auth")
        );
        assert_eq!(unverified_issuer("garbage"), None);
        assert_eq!(unverified_issuer("a.%%%.c"), None);
    }
}
