//! What realtime-service's integration tests share beyond `nexus_testkit`:
//! the backend one test runs against (a real session-store on a fresh
//! database, a JWKS with a deterministic Ed25519 access-token key, its own
//! exchange names), realtime instances on port 0, and realtime's token
//! shapes (backend access tokens, room grants). The socket.io-client driver
//! and the AMQP, Supabase and auth-service harnesses are the kit's.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use nexus_common::client_ip::TrustedProxies;
use nexus_common::events::{SessionCloudEvent, SessionEventData, SessionEventKind};
use nexus_common::store_client::StoreClientConfig;
use nexus_testkit::auth::{AuthApp, AuthSettings, ROOM_GRANT_SECRET};
use nexus_testkit::jwks::JwksServer;
use nexus_testkit::supabase::{ISSUER as SUPABASE_ISSUER, SUPABASE_SECRET};
use nexus_tokens::access::{AUDIENCE, AccessClaims, ISSUER};
use nexus_tokens::supabase::SupabaseConfig;
use realtime_service::config::{Limits, RealtimeConfig};
use realtime_service::domain::alias::AliasKey;
use realtime_service::domain::grant::GrantKeys;
use realtime_service::faults::Faults;
use realtime_service::startup::Application;
use serde_json::json;
use tokio::sync::oneshot;

pub use nexus_testkit::TestStore;
pub use nexus_testkit::amqp::{AMQP_URL, delete_exchanges};
pub use nexus_testkit::auth::ROOM_GRANT_KID;
pub use nexus_testkit::socketio::{Auth, Client, Options, connect, error_code, node_script};
pub use nexus_testkit::supabase;
pub use nexus_testkit::wait::{eventually, now};

pub const ORIGIN: &str = nexus_testkit::auth::ORIGIN;
/// The room-grant key realtime verifies with: auth-service's (the kit's).
pub const GRANT_SECRET: &str = ROOM_GRANT_SECRET;
pub const ALIAS_KEY: &[u8] = b"test-darkroom-alias-key-0123456789";

/// `prefix.<uuid>`: a name no other test uses.
pub fn unique(prefix: &str) -> String {
    nexus_testkit::amqp::unique_name(prefix)
}

// ---------------------------------------------------------------- tokens --

/// The backend's access-token key when no auth-service runs: one
/// deterministic Ed25519 key ("k1") and its JWKS on loopback.
pub struct Jwks {
    pub url: String,
    key: EncodingKey,
    _server: JwksServer,
}

impl Jwks {
    pub async fn serve() -> Self {
        let mut der = vec![
            0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
            0x04, 0x20,
        ];
        der.extend_from_slice(&[42; 32]);
        let key = EncodingKey::from_ed_der(&der);
        let mut jwk = Jwk::from_encoding_key(&key, Algorithm::EdDSA).expect("public key");
        jwk.common.key_id = Some("k1".into());
        let server = JwksServer::serve(&JwkSet { keys: vec![jwk] }, "/jwks.json").await;
        Self {
            url: server.url.clone(),
            key,
            _server: server,
        }
    }

    /// A backend access token for `user`/`sid`.
    pub fn token(&self, user: &str, sid: &str, name: Option<&str>) -> String {
        let claims = AccessClaims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sub: user.into(),
            sid: sid.into(),
            iat: now(),
            exp: now() + 600,
            jti: uuid::Uuid::new_v4().to_string(),
            name: name.map(str::to_owned),
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some("k1".into());
        jsonwebtoken::encode(&header, &claims, &self.key).expect("signable")
    }
}

/// A Supabase access token (the fake project's HS256 secret) for `user`
/// and Supabase session `supabase_session`.
pub fn supabase_token(user: &str, supabase_session: &str) -> String {
    supabase::token(&supabase::claims_for(user, supabase_session))
}

/// A room grant for `user` and `room`.
pub fn grant(user: &str, room: &str) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(ROOM_GRANT_KID.into());
    let claims = json!({"sub": user, "room": room, "iat": now(), "exp": now() + 120});
    jsonwebtoken::encode(
        &header,
        &claims,
        &EncodingKey::from_secret(GRANT_SECRET.as_bytes()),
    )
    .expect("signable")
}

// --------------------------------------------------------------- backend --

/// What one test shares: session-store, JWKS, exchange names.
pub struct Backend {
    pub store: TestStore,
    pub jwks: Jwks,
    pub session_exchange: String,
    pub rooms_exchange: String,
}

impl Backend {
    pub async fn start() -> Self {
        nexus_testkit::wait::init_tracing("realtime-tests");
        Self {
            store: TestStore::spawn().await,
            jwks: Jwks::serve().await,
            session_exchange: unique("test.sessions"),
            rooms_exchange: unique("test.rooms"),
        }
    }

    pub fn config(&self) -> RealtimeConfig {
        RealtimeConfig {
            listen: ([127, 0, 0, 1], 0).into(),
            store: StoreClientConfig {
                url: self.store.url().to_owned(),
                token: None,
                timeout: Duration::from_secs(3),
            },
            amqp_url: AMQP_URL.into(),
            session_exchange: self.session_exchange.clone(),
            rooms_exchange: self.rooms_exchange.clone(),
            jwks_url: self.jwks.url.clone(),
            supabase: Some(SupabaseConfig {
                jwks_url: None,
                jwt_secret: Some(SUPABASE_SECRET.into()),
                issuer: Some(SUPABASE_ISSUER.into()),
                min_refetch_interval: None,
            }),
            cors_origins: vec![ORIGIN.into()],
            trusted_proxies: TrustedProxies::parse("127.0.0.1/32").expect("cidr"),
            grant_keys: GrantKeys::parse(Some(&format!("{ROOM_GRANT_KID}:{GRANT_SECRET}")))
                .expect("keys"),
            alias_key: AliasKey::new(ALIAS_KEY).expect("alias key"),
            recheck_interval: Duration::from_secs(3600),
            presence_snapshot_interval: Duration::from_secs(2),
            limits: Limits::default(),
            faults: Faults::default(),
        }
    }

    /// The real auth-service in-process, on this backend's session-store,
    /// publishing to its session exchange (the kit's test settings), once
    /// it has reached RabbitMQ.
    pub async fn auth_service(&self, reuse_interval: Duration) -> AuthApp {
        let settings = AuthSettings::new(self.store.url())
            .exchange(&self.session_exchange)
            .reuse_interval(reuse_interval)
            .build();
        let auth = AuthApp::start(settings).await;
        auth.wait_for_broker(true).await;
        auth
    }

    /// A live backend session for `user`; returns its id.
    pub async fn session(&self, user: &str) -> String {
        self.bridged_session(user, &uuid::Uuid::new_v4().to_string())
            .await
    }

    /// A live backend session bridged from a Supabase session.
    pub async fn bridged_session(&self, user: &str, supabase_session: &str) -> String {
        self.store.create_session(user, supabase_session).await
    }

    /// Revokes in session-store only (no event).
    pub async fn revoke_silently(&self, user: &str, sid: &str) {
        self.store.revoke(user, sid, "test").await;
    }

    /// Publishes a session event as auth-service would.
    pub async fn publish(
        &self,
        kind: SessionEventKind,
        user: &str,
        sid: &str,
        reason: Option<&str>,
    ) {
        let event = SessionCloudEvent::new(
            "realtime-tests",
            kind,
            SessionEventData {
                session_id: sid.into(),
                user_id: user.into(),
                reason: reason.map(str::to_owned),
                at: chrono::Utc::now(),
            },
        );
        self.publish_event(kind, &event).await;
    }

    /// Publishes `event` with `kind`'s routing key (which may disagree with
    /// the event, on purpose).
    pub async fn publish_event(&self, kind: SessionEventKind, event: &SessionCloudEvent) {
        nexus_testkit::amqp::publish(
            &self.session_exchange,
            kind.routing_key(),
            &serde_json::to_vec(event).expect("json"),
        )
        .await;
    }

    pub async fn stop(self) {
        delete_exchanges(&[&self.session_exchange, &self.rooms_exchange]).await;
        self.store.stop().await;
    }
}

// ------------------------------------------------------------- instances --

/// A running realtime instance.
pub struct TestApp {
    pub addr: SocketAddr,
    pub url: String,
    pub state: std::sync::Arc<realtime_service::state::AppState>,
    pub io: socketioxide::SocketIo,
    stop: Option<oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl TestApp {
    pub async fn spawn(config: RealtimeConfig) -> Self {
        let app = Application::build(config).await.expect("build realtime");
        let addr = app.local_addr();
        let state = app.state();
        let io = app.io();
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until_stopped(async move {
            let _ = stopped.await;
        }));
        let deadline = Instant::now() + Duration::from_secs(15);
        while !state.broker_connected() {
            assert!(
                Instant::now() < deadline,
                "realtime never attached to RabbitMQ"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self {
            addr,
            url: format!("http://{addr}"),
            state,
            io,
            stop: Some(stop),
            server,
        }
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let result = tokio::time::timeout(Duration::from_secs(15), &mut self.server)
            .await
            .expect("realtime stops within 15 s");
        result.expect("server task").expect("server result");
    }

    /// Ends the instance the way a crash does: no goodbye to the broker or
    /// the clients (its tasks are dropped mid-flight).
    pub async fn crash(mut self) {
        self.stop.take();
        self.server.abort();
        let _ = (&mut self.server).await;
    }

    /// The value of a metric series: its name with the labels as exposed
    /// (`realtime_rooms`, `x_total{code="y"}`); a missing series panics.
    pub async fn metric(&self, name: &str) -> i64 {
        let (_, body) = self.get("/metrics").await;
        body.lines()
            .find_map(|line| line.strip_prefix(&format!("{name} ")))
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or_else(|| panic!("no metric {name} in {body}"))
    }

    pub async fn get(&self, path: &str) -> (u16, String) {
        let response = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("http client")
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .expect("GET");
        let status = response.status().as_u16();
        (status, response.text().await.expect("body"))
    }
}

/// A hangout as if `hangout:create` had made it: an authentic id (minted with
/// the instances' shared key), known to each of `apps`. Its room name.
pub fn hangout(apps: &[&TestApp], label: &str) -> String {
    let first = apps.first().expect("at least one instance");
    let room = first.state.hangout_ids.mint().as_str().to_owned();
    for app in apps {
        app.state
            .hangouts
            .remember(realtime_service::rooms::hangouts::Hangout {
                room: room.clone(),
                name: label.to_owned(),
                creator: realtime_service::rooms::Member {
                    id: Some(label.to_owned()),
                    name: None,
                },
                created_at: 0,
            });
    }
    room
}
