//! Test harness: a real session-store (fresh database) and a real
//! auth-service on port 0, a per-test RabbitMQ exchange with a queue bound to
//! it, and a Supabase stand-in (HS256 secret plus a JWKS served over HTTP
//! with EC and RSA keys generated here).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use actix_web::cookie::Cookie;
use auth_service::config::Settings;
use auth_service::keys::access::AccessKeys;
use auth_service::keys::refresh::RefreshKeyring;
use auth_service::startup::Application;
use futures::StreamExt;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, ExchangeDeclareOptions, QueueBindOptions,
    QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{ExchangeKind, options::ExchangeDeleteOptions};
use nexus_common::client_ip::TrustedProxies;
use nexus_common::events::{SessionCloudEvent, SessionEventKind};
use nexus_common::store_client::StoreClientConfig;
use nexus_tokens::supabase::SupabaseConfig;
use serde_json::{Value, json};
use session_store::test_support::TestStore;
use tokio::sync::oneshot;

pub const ORIGIN: &str = "http://localhost:5173";
pub const SUPABASE_SECRET: &str = "test-supabase-jwt-secret-with-enough-length-0123";
pub const SUPABASE_URL: &str = "https://testref.supabase.co";
pub const ISSUER: &str = "https://testref.supabase.co/auth/v1";
pub const REFRESH_KEY_1: &str = "k1:first-refresh-key-secret-0123456789abcdef";
pub const REFRESH_KEY_2: &str = "k2:second-refresh-key-secret-0123456789abcdef";
pub const AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";
/// The room-grant key of the test apps (`ROOM_GRANT_KEYS`).
pub const ROOM_GRANT_KID: &str = "g1";
pub const ROOM_GRANT_SECRET: &str = "group-grant-secret-of-32-bytes-or-more!";

pub fn init_tracing() {
    if std::env::var("TEST_LOG").is_ok() {
        nexus_common::telemetry::init("auth-service-tests");
    }
}

/// EC key the fake Supabase signs with; generated once per test process.
pub struct EcKey {
    pub key: EncodingKey,
    pub jwk: Jwk,
}

/// RSA key, generated only by the tests that need one (2048-bit generation
/// takes seconds in a debug build).
pub struct RsaKey {
    pub key: EncodingKey,
    pub public_pem: String,
    pub jwk: Jwk,
}

pub const EC_KID: &str = "supabase-ec-1";
pub const RSA_KID: &str = "supabase-rsa-1";

pub fn ec_key() -> &'static EcKey {
    static KEY: OnceLock<EcKey> = OnceLock::new();
    KEY.get_or_init(|| {
        use p256::pkcs8::EncodePrivateKey;
        let secret = p256::SecretKey::random(&mut rand_core06::OsRng);
        let key = EncodingKey::from_ec_der(secret.to_pkcs8_der().expect("pkcs8").as_bytes());
        let mut jwk = Jwk::from_encoding_key(&key, Algorithm::ES256).expect("ec jwk");
        jwk.common.key_id = Some(EC_KID.to_owned());
        EcKey { key, jwk }
    })
}

pub fn rsa_key() -> &'static RsaKey {
    static KEY: OnceLock<RsaKey> = OnceLock::new();
    KEY.get_or_init(|| {
        use rsa::pkcs1::EncodeRsaPrivateKey;
        use rsa::pkcs8::{EncodePublicKey, LineEnding};
        let private = rsa::RsaPrivateKey::new(&mut rand_core06::OsRng, 2048).expect("rsa key");
        let key = EncodingKey::from_rsa_der(private.to_pkcs1_der().expect("pkcs1").as_bytes());
        let public_pem = private
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .expect("pem");
        let mut jwk = Jwk::from_encoding_key(&key, Algorithm::RS256).expect("rsa jwk");
        jwk.common.key_id = Some(RSA_KID.to_owned());
        RsaKey {
            key,
            public_pem,
            jwk,
        }
    })
}

/// A JWKS endpoint on 127.0.0.1:0 serving the fake Supabase keys.
pub struct JwksServer {
    pub url: String,
    stop: Option<oneshot::Sender<()>>,
}

impl JwksServer {
    /// Serves the EC key only.
    pub async fn start() -> Self {
        Self::serve(JwkSet {
            keys: vec![ec_key().jwk.clone()],
        })
        .await
    }

    /// Serves the EC and the RSA key.
    pub async fn start_with_rsa() -> Self {
        Self::serve(JwkSet {
            keys: vec![ec_key().jwk.clone(), rsa_key().jwk.clone()],
        })
        .await
    }

    async fn serve(set: JwkSet) -> Self {
        let document = serde_json::to_string(&set).expect("jwks json");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind jwks");
        let url = format!(
            "http://{}/auth/v1/.well-known/jwks.json",
            listener.local_addr().expect("addr")
        );
        let (stop, mut stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = &mut stopped => return,
                    accepted = listener.accept() => {
                        let Ok((mut socket, _)) = accepted else { continue };
                        let document = document.clone();
                        tokio::spawn(async move {
                            use tokio::io::{AsyncReadExt, AsyncWriteExt};
                            let mut buffer = [0u8; 4096];
                            let _ = socket.read(&mut buffer).await;
                            let response = format!(
                                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{}",
                                document.len(),
                                document
                            );
                            let _ = socket.write_all(response.as_bytes()).await;
                            let _ = socket.shutdown().await;
                        });
                    }
                }
            }
        });
        Self {
            url,
            stop: Some(stop),
        }
    }
}

impl Drop for JwksServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Claims of a valid Supabase access token for a new user and session.
pub fn supabase_claims() -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({
        "iss": ISSUER,
        "sub": uuid::Uuid::new_v4().to_string(),
        "aud": "authenticated",
        "exp": now + 3600,
        "iat": now,
        "email": "ada@example.com",
        "phone": "",
        "app_metadata": {"provider": "email"},
        "user_metadata": {"full_name": "Ada Lovelace"},
        "role": "authenticated",
        "aal": "aal1",
        "amr": [{"method": "password", "timestamp": now}],
        "session_id": uuid::Uuid::new_v4().to_string(),
        "is_anonymous": false,
    })
}

pub fn sign_hs256(claims: &Value, secret: &[u8]) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret),
    )
    .expect("sign")
}

pub fn sign_es256(claims: &Value, kid: &str) -> String {
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, &ec_key().key).expect("sign")
}

pub fn sign_rs256(claims: &Value, kid: &str) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, &rsa_key().key).expect("sign")
}

/// A free loopback port (bound and released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// Settings for a test app: its own exchange, generous rate limits, HTTP cookies.
pub fn settings(store_url: &str, jwks_url: &str) -> Settings {
    let supabase = SupabaseConfig::from_values(
        Some(SUPABASE_URL),
        Some(jwks_url.to_owned()),
        Some(SUPABASE_SECRET.to_owned()),
    )
    .expect("supabase config");
    Settings {
        listen: "127.0.0.1:0".parse().expect("addr"),
        store: StoreClientConfig {
            url: store_url.to_owned(),
            token: None,
            timeout: Duration::from_secs(5),
        },
        amqp_url: AMQP_URL.to_owned(),
        events_exchange: format!("test.auth.{}", uuid::Uuid::new_v4().simple()),
        events_buffer: 10_000,
        supabase,
        cors_origins: vec![ORIGIN.to_owned(), "http://localhost:8002".to_owned()],
        trusted_proxies: TrustedProxies::parse("127.0.0.1/32,::1/128").expect("proxies"),
        cookie_secure: true,
        access_keys: Arc::new(AccessKeys::generate_dev().expect("access key")),
        refresh_keys: Arc::new(RefreshKeyring::parse(REFRESH_KEY_1).expect("refresh keys")),
        access_token_ttl: Duration::from_secs(900),
        refresh_reuse_interval: Duration::from_secs(10),
        rate_limits: auth_service::config::RateLimits::default(),
        room_grants: auth_service::keys::room_grant::RoomGrantSigner::parse(
            Some(&format!("{ROOM_GRANT_KID}:{ROOM_GRANT_SECRET}")),
            Duration::from_secs(60),
        )
        .expect("room grant key")
        .map(Arc::new),
        secret_cache_size: 10_000,
    }
}

/// A running auth-service.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub exchange: String,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl TestApp {
    pub async fn start(settings: Settings) -> Self {
        init_tracing();
        let exchange = settings.events_exchange.clone();
        let application = Application::build(settings)
            .await
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

    pub async fn stop(mut self) {
        // Close pooled keep-alive connections so the graceful drain is quick.
        drop(std::mem::replace(&mut self.client, reqwest::Client::new()));
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
        // The publisher declared a durable exchange for this test: remove it.
        if let Ok(connection) = nexus_common::amqp::connect(AMQP_URL, "auth-tests-cleanup").await {
            if let Ok(channel) = connection.create_channel().await {
                let _ = channel
                    .exchange_delete(
                        self.exchange.as_str().into(),
                        ExchangeDeleteOptions::default(),
                    )
                    .await;
            }
            let _ = connection.close(200, "done".into()).await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
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
        self.bridged_with(&supabase_claims()).await
    }

    pub async fn bridged_with(&self, claims: &Value) -> Bridged {
        let response = self
            .bridge(&sign_hs256(claims, SUPABASE_SECRET.as_bytes()))
            .await;
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

/// A queue bound to the app's exchange, receiving every session event.
pub struct EventQueue {
    connection: lapin::Connection,
    channel: lapin::Channel,
    consumer: lapin::Consumer,
    exchange: String,
    queue: String,
}

impl EventQueue {
    pub async fn bind(exchange: &str) -> Self {
        Self::open(exchange, None).await
    }

    /// A durable named queue, which keeps events while no consumer is
    /// connected (the broker-outage test cuts every connection).
    pub async fn bind_durable(exchange: &str, queue: &str) -> Self {
        Self::open(exchange, Some(queue)).await
    }

    async fn open(exchange: &str, durable_queue: Option<&str>) -> Self {
        let connection = nexus_common::amqp::connect(AMQP_URL, "auth-tests")
            .await
            .expect("amqp");
        let channel = connection.create_channel().await.expect("channel");
        channel
            .exchange_declare(
                exchange.into(),
                ExchangeKind::Topic,
                ExchangeDeclareOptions {
                    durable: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
            .expect("declare exchange");
        let options = match durable_queue {
            Some(_) => QueueDeclareOptions {
                durable: true,
                ..Default::default()
            },
            None => QueueDeclareOptions {
                exclusive: true,
                auto_delete: true,
                ..Default::default()
            },
        };
        let queue = channel
            .queue_declare(
                durable_queue.unwrap_or("").into(),
                options,
                FieldTable::default(),
            )
            .await
            .expect("queue");
        channel
            .queue_bind(
                queue.name().clone(),
                exchange.into(),
                "session.#".into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .expect("bind");
        let consumer = channel
            .basic_consume(
                queue.name().clone(),
                "auth-tests".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .expect("consume");
        Self {
            connection,
            channel,
            consumer,
            exchange: exchange.to_owned(),
            queue: queue.name().to_string(),
        }
    }

    /// The next event (with its AMQP properties checked), or panic after `wait`.
    pub async fn next(&mut self, wait: Duration) -> SessionCloudEvent {
        let delivery = tokio::time::timeout(wait, self.consumer.next())
            .await
            .expect("no session event arrived in time")
            .expect("consumer ended")
            .expect("delivery");
        let properties = &delivery.properties;
        assert_eq!(
            properties.content_type().as_ref().map(|t| t.as_str()),
            Some("application/cloudevents+json")
        );
        assert_eq!(*properties.delivery_mode(), Some(2), "persistent");
        let event: SessionCloudEvent =
            serde_json::from_slice(&delivery.data).expect("cloudevent json");
        assert_eq!(
            properties.message_id().as_ref().map(|id| id.as_str()),
            Some(event.id.as_str())
        );
        assert_eq!(
            delivery.routing_key.as_str(),
            event.kind().expect("known kind").routing_key()
        );
        delivery.ack(BasicAckOptions::default()).await.expect("ack");
        event
    }

    /// Waits for an event of `kind`, skipping others.
    pub async fn next_of(&mut self, kind: SessionEventKind, wait: Duration) -> SessionCloudEvent {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let event = self.next(left).await;
            if event.kind() == Some(kind) {
                return event;
            }
        }
    }

    /// Asserts that nothing arrives within `wait`.
    pub async fn assert_quiet(&mut self, wait: Duration) {
        if let Ok(Some(Ok(delivery))) = tokio::time::timeout(wait, self.consumer.next()).await {
            panic!(
                "unexpected event: {}",
                String::from_utf8_lossy(&delivery.data)
            );
        }
    }

    /// Deletes the exchange and closes the connection.
    pub async fn cleanup(self) {
        let _ = self
            .channel
            .queue_delete(
                self.queue.as_str().into(),
                lapin::options::QueueDeleteOptions::default(),
            )
            .await;
        let _ = self
            .channel
            .exchange_delete(
                self.exchange.as_str().into(),
                ExchangeDeleteOptions::default(),
            )
            .await;
        let _ = self.connection.close(200, "done".into()).await;
    }
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

    pub async fn spawn_with(configure: impl FnOnce(&mut Settings)) -> Self {
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

    async fn spawn_full(rsa: bool, configure: impl FnOnce(&mut Settings)) -> Self {
        Self::spawn_on(TestStore::spawn().await, rsa, configure).await
    }

    async fn spawn_on(store: TestStore, rsa: bool, configure: impl FnOnce(&mut Settings)) -> Self {
        let jwks = if rsa {
            JwksServer::start_with_rsa().await
        } else {
            JwksServer::start().await
        };
        let mut settings = settings(store.url(), &jwks.url);
        configure(&mut settings);
        let events = EventQueue::bind(&settings.events_exchange).await;
        let app = TestApp::start(settings).await;
        Self {
            store,
            jwks,
            app,
            events,
        }
    }

    /// Rows of SQL as JSON values (one connection per call).
    pub async fn query(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Vec<tokio_postgres::Row> {
        let (client, connection) =
            tokio_postgres::connect(self.store.database_url(), tokio_postgres::NoTls)
                .await
                .expect("pg connect");
        let task = tokio::spawn(connection);
        let rows = client.query(sql, params).await.expect("query");
        drop(client);
        let _ = task.await;
        rows
    }

    pub async fn stop(self) {
        self.app.stop().await;
        self.events.cleanup().await;
        self.store.stop().await;
    }
}
