//! The session-store gRPC clients used by auth-service and realtime-service
//! (sessions, and group chats on the same server).
//!
//! The channel connects lazily, so a service starts (and answers `/readyz`
//! with 503) while session-store is still coming up, and reconnects by itself
//! after it restarts. When `SESSION_STORE_TOKEN` is configured every call
//! carries it as `authorization: Bearer <token>`.

use std::time::Duration;

use anyhow::Context;
use nexus_proto::session_v1::group_store_client::GroupStoreClient;
use nexus_proto::session_v1::session_store_client::SessionStoreClient;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

/// Metadata key callers put the shared token under.
pub const AUTHORIZATION_METADATA: &str = "authorization";

/// The client type both services hold (cheap to clone).
pub type StoreClient = SessionStoreClient<InterceptedService<Channel, BearerToken>>;

/// The group-chat client (`nexus.session.v1.GroupStore`, same server and token).
pub type GroupClient = GroupStoreClient<InterceptedService<Channel, BearerToken>>;

/// Adds `authorization: Bearer <SESSION_STORE_TOKEN>` to every request.
#[derive(Clone, Default)]
pub struct BearerToken(Option<MetadataValue<Ascii>>);

impl std::fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "BearerToken(<set>)"
        } else {
            "BearerToken(<none>)"
        })
    }
}

impl BearerToken {
    pub fn new(token: Option<&str>) -> anyhow::Result<Self> {
        token
            .map(|token| {
                format!("Bearer {token}")
                    .parse::<MetadataValue<Ascii>>()
                    .context("SESSION_STORE_TOKEN must be printable ASCII")
            })
            .transpose()
            .map(Self)
    }
}

impl Interceptor for BearerToken {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(value) = &self.0 {
            request
                .metadata_mut()
                .insert(AUTHORIZATION_METADATA, value.clone());
        }
        Ok(request)
    }
}

/// Settings for the client.
#[derive(Clone)]
pub struct StoreClientConfig {
    pub url: String,
    pub token: Option<String>,
    /// Per-call deadline, sent to the server as `grpc-timeout`.
    pub timeout: Duration,
}

impl std::fmt::Debug for StoreClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreClientConfig")
            .field("url", &crate::redact::url(&self.url))
            .field("token", &crate::redact::presence(self.token.as_ref()))
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl StoreClientConfig {
    /// From `SESSION_STORE_URL` and `SESSION_STORE_TOKEN`.
    pub fn from_env() -> Self {
        Self {
            url: crate::config::or_default(
                "SESSION_STORE_URL",
                crate::config::defaults::SESSION_STORE_URL,
            ),
            token: crate::config::optional("SESSION_STORE_TOKEN"),
            timeout: Duration::from_secs(3),
        }
    }
}

/// A lazily connecting client; fails only on a malformed URL or token.
pub fn connect_lazy(config: &StoreClientConfig) -> anyhow::Result<StoreClient> {
    Ok(SessionStoreClient::with_interceptor(
        lazy_channel(config)?,
        BearerToken::new(config.token.as_deref())?,
    ))
}

/// A lazily connecting group client; fails only on a malformed URL or token.
pub fn connect_groups_lazy(config: &StoreClientConfig) -> anyhow::Result<GroupClient> {
    Ok(GroupStoreClient::with_interceptor(
        lazy_channel(config)?,
        BearerToken::new(config.token.as_deref())?,
    ))
}

fn lazy_channel(config: &StoreClientConfig) -> anyhow::Result<Channel> {
    let endpoint = Endpoint::from_shared(config.url.clone())
        .with_context(|| format!("SESSION_STORE_URL={:?} is not a URL", config.url))?
        .connect_timeout(Duration::from_secs(2))
        .timeout(config.timeout)
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(30))
        .keep_alive_while_idle(true);
    Ok(endpoint.connect_lazy())
}

/// Constant-time comparison of a presented bearer value with the configured
/// token; used by session-store's interceptor.
pub fn token_matches(presented: &[u8], expected: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    presented.len() == expected.len() && bool::from(presented.ct_eq(expected))
}

#[cfg(test)]
mod debug_tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_token_or_url_credentials() {
        let config = StoreClientConfig {
            url: "http://store-user:store-pw@store:50051".to_owned(),
            token: Some("the-shared-store-token".to_owned()),
            timeout: Duration::from_secs(3),
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains("the-shared-store-token"), "{shown}");
        assert!(!shown.contains("store-pw"), "{shown}");
        assert!(shown.contains("store:50051"), "{shown}");
    }
}
