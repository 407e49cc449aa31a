//! What auth-service's integration tests share beyond `nexus_testkit`: one
//! environment per test (a real session-store on a fresh database, the fake
//! Supabase's JWKS, the app on port 0 with its own exchange, a queue bound
//! to that exchange) and assertions on auth-service's response envelope.

// Two binaries include this file (api, serial_broker_outage); each uses a part.
#![allow(dead_code, unused_imports, clippy::unwrap_used, clippy::expect_used)]

pub use nexus_testkit::amqp::{AMQP_URL, EventQueue};
pub use nexus_testkit::auth::{
    AuthApp as TestApp, AuthSettings, Bridged, ORIGIN, REFRESH_KEY_1, REFRESH_KEY_2,
    ROOM_GRANT_KID, ROOM_GRANT_SECRET, cookies, raw_cookies,
};
pub use nexus_testkit::jwks::JwksServer;
pub use nexus_testkit::supabase::{
    self, EC_KID, RSA_KID, SUPABASE_SECRET, claims as supabase_claims, rsa_key, sign_es256,
    sign_hs256, sign_rs256,
};
pub use nexus_testkit::wait::free_port;
pub use nexus_testkit::{TestDatabase, TestStore};
use serde_json::Value;

/// Asserts a failure envelope with this status and error code.
pub async fn assert_failure(response: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status(), status, "status");
    let body: Value = response.json().await.expect("json envelope");
    assert_eq!(body["success"], false, "{body}");
    assert_eq!(body["error"], code, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    body
}

/// Asserts both cookies are being removed.
pub fn assert_cookies_cleared(response: &reqwest::Response) {
    let cookies = cookies(response);
    for name in ["nexus_access_token", "nexus_refresh_token"] {
        let cookie = cookies
            .get(name)
            .unwrap_or_else(|| panic!("{name} not cleared"));
        assert_eq!(cookie.value(), "", "{name}");
        assert_eq!(
            cookie.max_age(),
            Some(actix_web::cookie::time::Duration::ZERO),
            "{name}"
        );
    }
}

/// Test settings for an app whose Supabase JWKS is at `jwks_url`.
pub fn settings(store_url: &str, jwks_url: &str) -> AuthSettings {
    AuthSettings::new(store_url).supabase_jwks(jwks_url)
}

/// A full environment: store, JWKS, app, event queue.
pub struct TestEnv {
    pub store: TestStore,
    pub jwks: JwksServer,
    pub app: TestApp,
    pub events: EventQueue,
}

impl TestEnv {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    pub async fn spawn_with(configure: impl FnOnce(&mut auth_service::config::Settings)) -> Self {
        Self::spawn_full(false, configure).await
    }

    /// With the RSA key in the Supabase JWKS too.
    pub async fn spawn_with_rsa() -> Self {
        Self::spawn_full(true, |_| {}).await
    }

    /// With session-store configured by `store_config` (short lifetimes...).
    pub async fn spawn_with_store(
        store_config: impl FnOnce(&mut session_store::config::StoreConfig),
    ) -> Self {
        let store = TestStore::spawn_with(store_config).await;
        Self::spawn_on(store, false, |_| {}).await
    }

    async fn spawn_full(
        rsa: bool,
        configure: impl FnOnce(&mut auth_service::config::Settings),
    ) -> Self {
        Self::spawn_on(TestStore::spawn().await, rsa, configure).await
    }

    async fn spawn_on(
        store: TestStore,
        rsa: bool,
        configure: impl FnOnce(&mut auth_service::config::Settings),
    ) -> Self {
        let jwks = if rsa {
            supabase::serve_jwks_with_rsa().await
        } else {
            supabase::serve_jwks().await
        };
        let settings = settings(store.url(), &jwks.url).with(configure).build();
        let events = EventQueue::bind(&settings.events_exchange).await;
        let app = TestApp::start(settings).await;
        Self {
            store,
            jwks,
            app,
            events,
        }
    }

    pub async fn stop(self) {
        self.app.stop().await;
        self.events.cleanup().await;
        self.store.stop().await;
    }
}
