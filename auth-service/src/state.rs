//! Everything a request handler needs, built once at start and shared.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use metrics_exporter_prometheus::PrometheusHandle;
use nexus_common::client_ip::TrustedProxies;
use nexus_tokens::access::{AUDIENCE, AccessClaims, AccessTokenVerifier, ISSUER};
use nexus_tokens::supabase::SupabaseVerifier;

use crate::domain::{SessionId, UserId};
use crate::events::EventPublisher;
use crate::group_store::GroupStore;
use crate::http::cookies::CookieSettings;
use crate::http::origin::AllowedOrigins;
use crate::http::rate_limit::Limiters;
use crate::keys::access::AccessKeys;
use crate::keys::refresh::RefreshKeyring;
use crate::keys::room_grant::RoomGrantSigner;
use crate::secret_cache::SecretCache;
use crate::store::SessionStore;

#[derive(Debug)]
pub struct AppState {
    pub supabase: SupabaseVerifier,
    pub access_keys: Arc<AccessKeys>,
    pub access_verifier: AccessTokenVerifier,
    pub refresh_keys: Arc<RefreshKeyring>,
    pub store: SessionStore,
    pub groups: GroupStore,
    /// `None` without `ROOM_GRANT_KEYS`: no grants are issued.
    pub room_grants: Option<Arc<RoomGrantSigner>>,
    pub events: EventPublisher,
    pub secrets: SecretCache,
    pub cookies: CookieSettings,
    pub origins: AllowedOrigins,
    pub proxies: TrustedProxies,
    pub access_ttl: Duration,
    pub reuse_interval: Duration,
    pub limiters: Limiters,
    pub metrics: Option<PrometheusHandle>,
}

/// A signed access token and when it expires.
#[derive(Debug)]
pub struct IssuedAccessToken {
    pub token: String,
    pub expires_at: DateTime<Utc>,
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
