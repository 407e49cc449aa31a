//! The whole chain with the real auth-service in-process: Supabase token ->
//! bridge -> socket; logout and refresh-token reuse through auth-service
//! kick the socket via the session events it publishes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use auth_service::config::Settings;
use auth_service::keys::access::AccessKeys;
use auth_service::keys::refresh::RefreshKeyring;
use nexus_common::client_ip::TrustedProxies;
use nexus_common::store_client::StoreClientConfig;
use nexus_tokens::supabase::SupabaseConfig;
use serde_json::{Value, json};
use tokio::sync::oneshot;

use crate::helpers::*;

pub(crate) struct Auth {
    pub(crate) url: String,
    exchange: String,
    pub(crate) http: reqwest::Client,
    stop: oneshot::Sender<()>,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Auth {
    pub(crate) async fn start(backend: &Backend, reuse_interval: Duration) -> Self {
        let supabase = SupabaseConfig {
            jwks_url: None,
            ..SupabaseConfig::from_values(
                Some("https://test.supabase.co"),
                None,
                Some(SUPABASE_SECRET.into()),
            )
            .expect("supabase config")
        };
        let settings = Settings {
            listen: ([127, 0, 0, 1], 0).into(),
            store: StoreClientConfig {
                url: backend.store.url().to_owned(),
                token: None,
                timeout: Duration::from_secs(5),
            },
            amqp_url: AMQP_URL.into(),
            events_exchange: backend.session_exchange.clone(),
            events_buffer: 1000,
            supabase,
            cors_origins: vec![ORIGIN.into()],
            trusted_proxies: TrustedProxies::parse("127.0.0.1/32").expect("cidr"),
            cookie_secure: false,
            access_keys: Arc::new(AccessKeys::generate_dev().expect("access key")),
            refresh_keys: Arc::new(
                RefreshKeyring::parse("k1:refresh-key-for-realtime-tests-0123456789")
                    .expect("keys"),
            ),
            access_token_ttl: Duration::from_secs(900),
            refresh_reuse_interval: reuse_interval,
            rate_limits: auth_service::config::RateLimits::default(),
            // The key realtime verifies with (`Backend::config`).
            room_grants: auth_service::keys::room_grant::RoomGrantSigner::parse(
                Some(&format!("g1:{GRANT_SECRET}")),
                Duration::from_secs(60),
            )
            .expect("room grant key")
            .map(Arc::new),
            secret_cache_size: 1000,
        };
        let application = tokio::time::timeout(
            Duration::from_secs(20),
            auth_service::startup::Application::build(settings),
        )
        .await
        .expect("auth-service builds within 20 s (is RabbitMQ up?)")
        .expect("build auth-service");
        let deadline = Instant::now() + Duration::from_secs(15);
        while !application.events_connected() {
            assert!(
                Instant::now() < deadline,
                "auth-service never reached RabbitMQ"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let url = format!("http://127.0.0.1:{}", application.port());
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(application.run_until(async move {
            let _ = stopped.await;
        }));
        Self {
            url,
            exchange: backend.session_exchange.clone(),
            http: reqwest::Client::new(),
            stop,
            server,
        }
    }

    pub(crate) fn jwks_url(&self) -> String {
        format!("{}/api/auth/.well-known/jwks.json", self.url)
    }

    /// Bridges a Supabase session: (access token, refresh token, body).
    pub(crate) async fn bridge(&self, supabase_token: &str) -> (String, String, Value) {
        let response = self
            .http
            .post(format!("{}/api/auth/session/bridge", self.url))
            .bearer_auth(supabase_token)
            .header("Origin", ORIGIN)
            .send()
            .await
            .expect("bridge");
        assert_eq!(response.status(), 200);
        let refresh = refresh_cookie(&response).expect("refresh cookie");
        let body: Value = response.json().await.expect("json");
        let access = body["access_token"]
            .as_str()
            .expect("access token")
            .to_owned();
        (access, refresh, body)
    }

    async fn refresh(&self, refresh_token: &str) -> reqwest::Response {
        self.http
            .post(format!("{}/api/auth/session/refresh", self.url))
            .header("Cookie", format!("nexus_refresh_token={refresh_token}"))
            .header("Origin", ORIGIN)
            .send()
            .await
            .expect("refresh")
    }

    pub(crate) async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.server.await;
        let _ = self.exchange;
    }
}

fn refresh_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(|value| value.strip_prefix("nexus_refresh_token="))
        .and_then(|rest| rest.split(';').next())
        .filter(|token| !token.is_empty())
        .map(str::to_owned)
}

#[tokio::test(flavor = "multi_thread")]
async fn logout_through_auth_service_kicks_the_sockets() {
    let backend = Backend::start().await;
    let auth = Auth::start(&backend, Duration::from_secs(10)).await;
    let mut config = backend.config();
    config.jwks_url = auth.jwks_url();
    let app = TestApp::spawn(config).await;

    let user = uuid::Uuid::new_v4().to_string();
    let supabase = supabase_token(&user, &uuid::Uuid::new_v4().to_string());
    let (access, _, _) = auth.bridge(&supabase).await;
    // One tab with the backend token, one (the existing frontend) with the
    // Supabase token: both land on the same backend session.
    let mut backend_tab = connect(&app.url, &access).await;
    let mut supabase_tab = connect(&app.url, &supabase).await;
    let joined = backend_tab
        .emit("room:join", json!({"room": "darkroom:chain"}))
        .await;
    assert_eq!(joined["ok"], true, "{joined}");

    let started = Instant::now();
    let logout = auth
        .http
        .post(format!("{}/api/auth/session/logout?scope=local", auth.url))
        .bearer_auth(&access)
        .send()
        .await
        .expect("logout");
    assert_eq!(logout.status(), 200);
    for tab in [&mut backend_tab, &mut supabase_tab] {
        let revoked = tab.event("session:revoked").await;
        assert!(
            revoked["reason"].as_str().is_some_and(|r| !r.is_empty()),
            "{revoked}"
        );
        tab.expect(Duration::from_secs(2), "disconnect", |line| {
            line["type"] == "disconnect"
        })
        .await;
    }
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "took {:?}",
        started.elapsed()
    );

    // The logged-out token no longer connects.
    let mut again = Client::spawn(
        &app.url,
        crate::helpers::Auth::Payload(&access),
        &Options::default(),
    );
    assert_eq!(
        again.connected().await.err().as_deref(),
        Some("session_revoked")
    );

    again.close().await;
    backend_tab.close().await;
    supabase_tab.close().await;
    app.stop().await;
    auth.stop().await;
    backend.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn refresh_token_reuse_through_auth_service_kicks_the_socket() {
    let backend = Backend::start().await;
    let auth = Auth::start(&backend, Duration::from_millis(200)).await;
    let mut config = backend.config();
    config.jwks_url = auth.jwks_url();
    let app = TestApp::spawn(config).await;

    let user = uuid::Uuid::new_v4().to_string();
    let (access, refresh, _) = auth
        .bridge(&supabase_token(&user, &uuid::Uuid::new_v4().to_string()))
        .await;
    let mut tab = connect(&app.url, &access).await;

    let rotated = auth.refresh(&refresh).await;
    assert_eq!(rotated.status(), 200);
    // Still connected after a normal rotation.
    assert_eq!(
        tab.emit("room:join", json!({"room": "darkroom:r"})).await["ok"],
        true
    );

    tokio::time::sleep(Duration::from_millis(400)).await;
    let started = Instant::now();
    let reuse = auth.refresh(&refresh).await;
    assert_eq!(reuse.status(), 401, "the superseded token is reuse");
    let revoked = tab.event("session:revoked").await;
    assert!(
        revoked["reason"].as_str().is_some_and(|r| !r.is_empty()),
        "{revoked}"
    );
    tab.expect(Duration::from_secs(2), "disconnect", |line| {
        line["type"] == "disconnect"
    })
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "took {:?}",
        started.elapsed()
    );

    tab.close().await;
    app.stop().await;
    auth.stop().await;
    backend.stop().await;
}
