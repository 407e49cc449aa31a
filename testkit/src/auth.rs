//! auth-service under test: a settings builder with test defaults and a
//! running app on port 0 with typed request helpers.
//!
//! auth-service's own tests and realtime-service's end-to-end tests (which
//! run the real auth-service in-process) build their settings here, so a
//! new setting gets its test default in one place.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use actix_web::cookie::Cookie;
use auth_service::config::{RateLimits, Settings};
use auth_service::keys::access::AccessKeys;
use auth_service::keys::refresh::RefreshKeyring;
use auth_service::keys::room_grant::RoomGrantSigner;
use auth_service::startup::Application;
use nexus_common::client_ip::TrustedProxies;
use nexus_common::store_client::StoreClientConfig;
use nexus_tokens::supabase::SupabaseConfig;
use serde_json::{Value, json};
use tokio::sync::oneshot;

use crate::amqp::{self, AMQP_URL};
use crate::supabase::{self, SUPABASE_SECRET, SUPABASE_URL};

/// The browser origin the test apps allow.
pub const ORIGIN: &str = "http://localhost:5173";
/// The refresh keyring of the test apps (`REFRESH_TOKEN_KEYS`), and a second
/// key for key-rotation tests.
pub const REFRESH_KEY_1: &str = "k1:first-refresh-key-secret-0123456789abcdef";
pub const REFRESH_KEY_2: &str = "k2:second-refresh-key-secret-0123456789abcdef";
/// The room-grant key auth-service signs with and realtime-service verifies
/// with (`ROOM_GRANT_KEYS` of both).
pub const ROOM_GRANT_KID: &str = "g1";
pub const ROOM_GRANT_SECRET: &str = "group-grant-secret-of-32-bytes-or-more!";

/// Builds auth-service [`Settings`] for a test: its own events exchange,
/// session-store at `store_url`, Supabase verified with the project secret
/// only (no JWKS unless [`AuthSettings::supabase_jwks`]), secure cookies,
/// default rate limits, the room-grant key above.
pub struct AuthSettings {
    settings: Settings,
}

impl AuthSettings {
    pub fn new(store_url: &str) -> Self {
        let settings = Settings {
            listen: ([127, 0, 0, 1], 0).into(),
            store: StoreClientConfig {
                url: store_url.to_owned(),
                token: None,
                timeout: Duration::from_secs(5),
            },
            amqp_url: AMQP_URL.to_owned(),
            events_exchange: amqp::unique_name("test.auth"),
            events_buffer: 10_000,
            supabase: supabase_config(None),
            cors_origins: vec![ORIGIN.to_owned(), "http://localhost:8002".to_owned()],
            trusted_proxies: TrustedProxies::parse("127.0.0.1/32,::1/128").expect("proxies"),
            cookie_secure: true,
            access_keys: Arc::new(AccessKeys::generate_dev().expect("access key")),
            refresh_keys: Arc::new(RefreshKeyring::parse(REFRESH_KEY_1).expect("refresh keys")),
            access_token_ttl: Duration::from_secs(900),
            refresh_reuse_interval: Duration::from_secs(10),
            rate_limits: RateLimits::default(),
            room_grants: RoomGrantSigner::parse(
                Some(&format!("{ROOM_GRANT_KID}:{ROOM_GRANT_SECRET}")),
                Duration::from_secs(60),
            )
            .expect("room grant key")
            .map(Arc::new),
            secret_cache_size: 10_000,
        };
        Self { settings }
    }

    /// Also verify Supabase's asymmetric tokens with the JWKS at `url`.
    pub fn supabase_jwks(mut self, url: &str) -> Self {
        self.settings.supabase = supabase_config(Some(url));
        self
    }

    /// Publish session events to `exchange` (default: a fresh name).
    pub fn exchange(mut self, exchange: &str) -> Self {
        exchange.clone_into(&mut self.settings.events_exchange);
        self
    }

    /// How long a superseded refresh token still gets the current one.
    pub fn reuse_interval(mut self, interval: Duration) -> Self {
        self.settings.refresh_reuse_interval = interval;
        self
    }

    /// Any other change, on the settings themselves.
    pub fn with(mut self, change: impl FnOnce(&mut Settings)) -> Self {
        change(&mut self.settings);
        self
    }

    pub fn build(self) -> Settings {
        self.settings
    }
}

/// The fake project: its URL and secret, and the JWKS only if given (a
/// derived `https://testref.supabase.co/...` URL would leave loopback).
fn supabase_config(jwks_url: Option<&str>) -> SupabaseConfig {
    let config = SupabaseConfig::from_values(
        Some(SUPABASE_URL),
        jwks_url.map(str::to_owned),
        Some(SUPABASE_SECRET.to_owned()),
    )
    .expect("supabase config");
    SupabaseConfig {
        jwks_url: jwks_url.map(str::to_owned),
        ..config
    }
}

/// A running auth-service.
pub struct AuthApp {
    pub address: String,
    pub client: reqwest::Client,
    pub exchange: String,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl AuthApp {
    pub async fn start(settings: Settings) -> Self {
        crate::wait::init_tracing("auth-service-tests");
        let exchange = settings.events_exchange.clone();
        let application =
            tokio::time::timeout(Duration::from_secs(20), Application::build(settings))
                .await
                .expect("auth-service builds within 20 s (is RabbitMQ up?)")
                .expect("build auth-service");
        let address = format!("http://127.0.0.1:{}", application.port());
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(application.run_until(async move {
            let _ = stopped.await;
        }));
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client");
        Self {
            address,
            client,
            exchange,
            stop: Some(stop),
            server: Some(server),
        }
    }

    /// Stops the app (draining) and deletes the exchange it declared.
    pub async fn stop(mut self) {
        // Close pooled keep-alive connections so the graceful drain is quick.
        drop(std::mem::replace(&mut self.client, reqwest::Client::new()));
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
        amqp::delete_exchanges(&[&self.exchange]).await;
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// The JWKS of the backend's access tokens (what realtime-service reads).
    pub fn jwks_url(&self) -> String {
        self.url("/api/auth/.well-known/jwks.json")
    }

    /// `GET /readyz` as JSON.
    pub async fn readiness(&self) -> Value {
        self.client
            .get(self.url("/readyz"))
            .send()
            .await
            .expect("readyz request")
            .json()
            .await
            .expect("readyz json")
    }

    /// Waits (up to 15 s) until `/readyz` reports the broker `connected`.
    pub async fn wait_for_broker(&self, connected: bool) {
        for _ in 0..300 {
            if self.readiness().await["broker"] == connected {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("auth-service's broker connection never became {connected}");
    }

    /// `POST /api/auth/session/bridge` with the token as bearer, from the allowed origin.
    pub async fn bridge(&self, supabase_token: &str) -> reqwest::Response {
        self.client
            .post(self.url("/api/auth/session/bridge"))
            .bearer_auth(supabase_token)
            .header("Origin", ORIGIN)
            .header("User-Agent", "nexus-tests/1.0")
            .send()
            .await
            .expect("bridge request")
    }

    /// `POST /api/auth/session/refresh` with the refresh cookie, from the allowed origin.
    pub async fn refresh(&self, refresh_token: &str) -> reqwest::Response {
        self.client
            .post(self.url("/api/auth/session/refresh"))
            .header("Cookie", format!("nexus_refresh_token={refresh_token}"))
            .header("Origin", ORIGIN)
            .send()
            .await
            .expect("refresh request")
    }

    /// `POST /api/auth/session/logout` with the refresh token in the JSON body,
    /// no Origin and no access token (a script, not a browser).
    pub async fn logout_with_refresh_token(
        &self,
        refresh_token: &str,
        scope: &str,
    ) -> reqwest::Response {
        self.client
            .post(self.url(&format!("/api/auth/session/logout?scope={scope}")))
            .json(&json!({ "refresh_token": refresh_token }))
            .send()
            .await
            .expect("logout request")
    }

    /// `POST /api/auth/session/logout` with the access token as bearer.
    pub async fn logout(&self, access_token: &str, scope: &str) -> reqwest::Response {
        self.client
            .post(self.url(&format!("/api/auth/session/logout?scope={scope}")))
            .bearer_auth(access_token)
            .send()
            .await
            .expect("logout request")
    }

    pub async fn sessions(&self, access_token: &str) -> reqwest::Response {
        self.client
            .get(self.url("/api/auth/sessions"))
            .bearer_auth(access_token)
            .send()
            .await
            .expect("list")
    }

    pub async fn delete_session(&self, access_token: &str, id: &str) -> reqwest::Response {
        self.client
            .delete(self.url(&format!("/api/auth/sessions/{id}")))
            .bearer_auth(access_token)
            .send()
            .await
            .expect("delete")
    }

    /// Bridges a fresh Supabase session; panics unless 200.
    pub async fn bridged(&self) -> Bridged {
        self.bridged_with(&supabase::claims()).await
    }

    /// Bridges a Supabase session with these claims (signed with the
    /// project secret); panics unless 200.
    pub async fn bridged_with(&self, claims: &Value) -> Bridged {
        let response = self.bridge(&supabase::token(claims)).await;
        assert_eq!(response.status(), 200);
        let cookies = cookies(&response);
        let body: Value = response.json().await.expect("json");
        Bridged {
            user_id: claims["sub"].as_str().expect("sub").to_owned(),
            session_id: body["session"]["id"]
                .as_str()
                .expect("session id")
                .to_owned(),
            access_token: body["access_token"]
                .as_str()
                .expect("access token")
                .to_owned(),
            refresh_token: cookies["nexus_refresh_token"].value().to_owned(),
            body,
        }
    }
}

/// What a successful bridge handed out.
#[derive(Debug, Clone)]
pub struct Bridged {
    pub user_id: String,
    pub session_id: String,
    pub access_token: String,
    pub refresh_token: String,
    pub body: Value,
}

/// The response's Set-Cookie headers by exact name.
pub fn raw_cookies(response: &reqwest::Response) -> HashMap<String, Cookie<'static>> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|value| Cookie::parse(value.to_str().expect("ascii").to_owned()).expect("cookie"))
        .map(|cookie| (cookie.name().to_owned(), cookie))
        .collect()
}

/// The response's Set-Cookie headers by name without the `__Host-` /
/// `__Secure-` prefix (the test apps run with `COOKIE_SECURE=true`, which
/// prefixes them; what a cookie is for is the rest of the name).
pub fn cookies(response: &reqwest::Response) -> HashMap<String, Cookie<'static>> {
    raw_cookies(response)
        .into_iter()
        .map(|(name, cookie)| {
            let bare = name
                .strip_prefix("__Host-")
                .or_else(|| name.strip_prefix("__Secure-"))
                .unwrap_or(&name)
                .to_owned();
            (bare, cookie)
        })
        .collect()
}
