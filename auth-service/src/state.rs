//! What the use cases (`app`) work with, built once at start and
//! shared: the token verifiers and keys, the store ports, the event
//! publisher and the refresh-secret cache.
//!
//! Nothing here knows HTTP: cookies, the Origin rule, client addresses and
//! rate limits belong to the HTTP layer (`http::context::HttpContext`), so
//! `state` never imports `http` and the use cases can run without a server.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use nexus_tokens::access::{AUDIENCE, AccessClaims, AccessTokenVerifier, ISSUER};
use nexus_tokens::supabase::SupabaseVerifier;

use crate::domain::{SessionId, UserId};
use crate::events::EventPublisher;
use crate::keys::access::AccessKeys;
use crate::keys::refresh::RefreshKeyring;
use crate::keys::room_grant::RoomGrantSigner;
use crate::ports::{GroupStorePort, SessionStorePort};
use crate::secret_cache::SecretCache;

#[derive(Debug)]
pub struct AppState {
    pub supabase: SupabaseVerifier,
    pub access_keys: Arc<AccessKeys>,
    pub access_verifier: AccessTokenVerifier,
    pub refresh_keys: Arc<RefreshKeyring>,
    pub store: Arc<dyn SessionStorePort>,
    pub groups: Arc<dyn GroupStorePort>,
    /// `None` without `ROOM_GRANT_KEYS`: no grants are issued.
    pub room_grants: Option<Arc<RoomGrantSigner>>,
    pub events: EventPublisher,
    pub secrets: SecretCache,
    pub access_ttl: Duration,
    pub reuse_interval: Duration,
}

/// A signed access token and when it expires. `Debug` does not print it.
pub struct IssuedAccessToken {
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for IssuedAccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedAccessToken")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// Signs an access token for `session` of `user`.
    pub fn issue_access_token(
        &self,
        user: &UserId,
        session: &SessionId,
        name: Option<String>,
    ) -> anyhow::Result<IssuedAccessToken> {
        let now = Utc::now();
        let ttl = chrono::Duration::from_std(self.access_ttl)?;
        let expires_at = now + ttl;
        let claims = AccessClaims {
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            sub: user.to_string(),
            sid: session.to_string(),
            iat: now.timestamp(),
            exp: expires_at.timestamp(),
            jti: uuid::Uuid::new_v4().to_string(),
            name,
        };
        let token = self.access_keys.sign(&claims)?;
        tracing::info!(user_id = %user, session_id = %session, "Access token generated");
        Ok(IssuedAccessToken { token, expires_at })
    }
}
