//! Test harness: a real session-store (fresh database), a JWKS served on
//! loopback with a deterministic Ed25519 key, realtime instances on port 0
//! with their own RabbitMQ exchange names, and real socket.io-client
//! processes (`node e2e/client.mjs`) driven over stdin/stdout.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use lapin::options::{BasicPublishOptions, ExchangeDeclareOptions};
use lapin::types::FieldTable;
use lapin::{BasicProperties, ExchangeKind};
use nexus_common::client_ip::TrustedProxies;
use nexus_common::events::{SessionCloudEvent, SessionEventData, SessionEventKind};
use nexus_common::store_client::StoreClientConfig;
use nexus_proto::session_v1::{CreateSessionRequest, RevokeSessionRequest};
use nexus_tokens::access::{AUDIENCE, AccessClaims, ISSUER};
use nexus_tokens::supabase::SupabaseConfig;
use realtime_service::config::{Limits, RealtimeConfig};
use realtime_service::domain::alias::AliasKey;
use realtime_service::domain::grant::GrantKeys;
use realtime_service::faults::Faults;
use realtime_service::startup::Application;
use serde_json::{Value, json};
use session_store::test_support::TestStore;
use sha2::Digest;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::{mpsc, oneshot};

pub const AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";
pub const ORIGIN: &str = "http://localhost:5173";
pub const GRANT_SECRET: &str = "room-grant-secret-for-tests-0123456789";
pub const SUPABASE_SECRET: &str = "supabase-legacy-secret-for-tests-0123456789";
pub const ALIAS_KEY: &[u8] = b"test-darkroom-alias-key-0123456789";

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64
}

pub fn unique(prefix: &str) -> String {
    format!("{prefix}.{}", uuid::Uuid::new_v4().simple())
}

// ---------------------------------------------------------------- tokens --

/// A JWKS endpoint on loopback with one deterministic Ed25519 key ("k1").
pub struct Jwks {
    pub url: String,
    key: EncodingKey,
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
        let set = JwkSet { keys: vec![jwk] };
        let app = axum::Router::new().route(
            "/jwks.json",
            axum::routing::get(move || {
                let set = set.clone();
                async move { axum::Json(set) }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await.expect("serve jwks") });
        Self {
            url: format!("http://{addr}/jwks.json"),
            key,
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

/// A Supabase access token signed with the legacy HS256 secret.
pub fn supabase_token(user: &str, supabase_session: &str) -> String {
    let claims = json!({
        "iss": "https://test.supabase.co/auth/v1", "sub": user, "aud": "authenticated",
        "exp": now() + 600, "iat": now(), "email": "someone@example.com", "role": "authenticated",
        "session_id": supabase_session, "user_metadata": {"full_name": "Supa User"},
        "is_anonymous": false
    });
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(SUPABASE_SECRET.as_bytes()),
    )
    .expect("signable")
}

/// A room grant for `user` and `room`.
pub fn grant(user: &str, room: &str) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("g1".into());
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
        if std::env::var("TEST_LOG").is_ok() {
            nexus_common::telemetry::init("realtime-tests");
        }
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
                issuer: Some("https://test.supabase.co/auth/v1".into()),
                min_refetch_interval: None,
            }),
            cors_origins: vec![ORIGIN.into()],
            trusted_proxies: TrustedProxies::parse("127.0.0.1/32").expect("cidr"),
            grant_keys: GrantKeys::parse(Some(&format!("g1:{GRANT_SECRET}"))).expect("keys"),
            alias_key: AliasKey::new(ALIAS_KEY).expect("alias key"),
            recheck_interval: Duration::from_secs(3600),
            presence_snapshot_interval: Duration::from_secs(2),
            limits: Limits::default(),
            faults: Faults::default(),
        }
    }

    /// A live backend session for `user`; returns its id.
    pub async fn session(&self, user: &str) -> String {
        self.bridged_session(user, &uuid::Uuid::new_v4().to_string())
            .await
    }

    /// A live backend session bridged from a Supabase session.
    pub async fn bridged_session(&self, user: &str, supabase_session: &str) -> String {
        let token_hash = hex::encode(sha2::Sha256::digest(uuid::Uuid::new_v4().as_bytes()));
        let response = self
            .store
            .client()
            .create_session(CreateSessionRequest {
                user_id: user.into(),
                user_agent: Some("realtime-tests".into()),
                ip_address: Some("127.0.0.1".into()),
                supabase_session_id: Some(supabase_session.into()),
                refresh_secret: vec![7; 32],
                token_hash,
                key_id: "k1".into(),
            })
            .await
            .expect("CreateSession")
            .into_inner();
        response
            .state
            .and_then(|state| state.session)
            .expect("session in response")
            .id
    }

    /// Revokes in session-store only (no event).
    pub async fn revoke_silently(&self, user: &str, sid: &str) {
        self.store
            .client()
            .revoke_session(RevokeSessionRequest {
                session_id: sid.into(),
                user_id: user.into(),
                reason: "test".into(),
            })
            .await
            .expect("RevokeSession");
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

    pub async fn publish_event(&self, kind: SessionEventKind, event: &SessionCloudEvent) {
        let connection = nexus_common::amqp::connect(AMQP_URL, "realtime-tests")
            .await
            .expect("RabbitMQ");
        let channel = connection.create_channel().await.expect("channel");
        channel
            .exchange_declare(
                self.session_exchange.as_str().into(),
                ExchangeKind::Topic,
                ExchangeDeclareOptions {
                    durable: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
            .expect("declare");
        channel
            .basic_publish(
                self.session_exchange.as_str().into(),
                kind.routing_key().into(),
                BasicPublishOptions::default(),
                &serde_json::to_vec(event).expect("json"),
                BasicProperties::default(),
            )
            .await
            .expect("publish")
            .await
            .expect("confirm");
        let _ = connection.close(200, "done".into()).await;
    }

    pub async fn stop(self) {
        delete_exchanges(&[&self.session_exchange, &self.rooms_exchange]).await;
        self.store.stop().await;
    }
}

pub async fn delete_exchanges(names: &[&str]) {
    if let Ok(connection) = nexus_common::amqp::connect(AMQP_URL, "realtime-tests").await {
        if let Ok(channel) = connection.create_channel().await {
            for name in names {
                let _ = channel
                    .exchange_delete(
                        (*name).into(),
                        lapin::options::ExchangeDeleteOptions::default(),
                    )
                    .await;
            }
        }
        let _ = connection.close(200, "done".into()).await;
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

    /// The value of an unlabelled metric.
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

// ----------------------------------------------------------- node client --

fn e2e_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../e2e")
}

/// One real socket.io-client in a `node e2e/client.mjs` process.
pub struct Client {
    child: tokio::process::Child,
    stdin: tokio::process::ChildStdin,
    lines: mpsc::UnboundedReceiver<Value>,
    /// Every line seen so far (for "never on the wire" assertions).
    pub seen: Vec<Value>,
    next_ref: u64,
}

/// How a client authenticates.
#[derive(Clone, Copy)]
pub enum Auth<'a> {
    Payload(&'a str),
    Bearer(&'a str),
    Cookie(&'a str),
    None,
}

#[derive(Default, Clone)]
pub struct Options<'a> {
    pub origin: Option<&'a str>,
    pub sec_fetch_site: Option<&'a str>,
    pub transports: Option<&'a str>,
    pub reconnect: bool,
    pub wire: bool,
    /// Re-join rooms with `since` after every reconnect (`RECOVER=1`).
    pub recover: bool,
    /// `[[event, data], ...]` emitted inside the first `connect` callback.
    pub on_connect: Option<Value>,
}

impl Client {
    pub fn spawn(url: &str, auth: Auth<'_>, options: &Options<'_>) -> Self {
        let dir = e2e_dir();
        assert!(
            dir.join("node_modules/socket.io-client").is_dir(),
            "e2e/node_modules is missing: run `npm ci --prefix e2e` first"
        );
        let mut command = tokio::process::Command::new("node");
        command
            .arg(dir.join("client.mjs"))
            .env("URL", url)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        let (mode, token) = match auth {
            Auth::Payload(token) => ("auth", token),
            Auth::Bearer(token) => ("bearer", token),
            Auth::Cookie(token) => ("cookie", token),
            Auth::None => ("none", ""),
        };
        command.env("AUTH_MODE", mode).env("TOKEN", token);
        if let Some(origin) = options.origin {
            command.env("ORIGIN", origin);
        }
        if let Some(site) = options.sec_fetch_site {
            command.env("SEC_FETCH_SITE", site);
        }
        if let Some(transports) = options.transports {
            command.env("TRANSPORTS", transports);
        }
        if options.reconnect {
            command.env("RECONNECT", "1");
        }
        if options.wire {
            command.env("WIRE", "1");
        }
        if options.recover {
            command.env("RECOVER", "1");
        }
        if let Some(on_connect) = &options.on_connect {
            command.env("ON_CONNECT", on_connect.to_string());
        }
        let mut child = command.spawn().expect("node is installed (Node 20)");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut reader = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                if let Ok(value) = serde_json::from_str::<Value>(&line)
                    && tx.send(value).is_err()
                {
                    break;
                }
            }
        });
        Self {
            child,
            stdin,
            lines,
            seen: Vec::new(),
            next_ref: 0,
        }
    }

    /// The first line matching `pred` within `timeout`.
    pub async fn expect(
        &mut self,
        timeout: Duration,
        what: &str,
        pred: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let line = tokio::time::timeout_at(deadline, self.lines.recv())
                .await
                .unwrap_or_else(|_| panic!("timed out waiting for {what}; saw {:#?}", self.seen))
                .unwrap_or_else(|| {
                    panic!(
                        "client exited while waiting for {what}; saw {:#?}",
                        self.seen
                    )
                });
            self.seen.push(line.clone());
            if pred(&line) {
                return line;
            }
        }
    }

    /// Whether a matching line arrives within `timeout`.
    pub async fn maybe(
        &mut self,
        timeout: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let line = tokio::time::timeout_at(deadline, self.lines.recv())
                .await
                .ok()??;
            self.seen.push(line.clone());
            if pred(&line) {
                return Some(line);
            }
        }
    }

    /// `Ok(connect line)` or `Err(connect_error message)`.
    pub async fn connected(&mut self) -> Result<Value, String> {
        let line = self
            .expect(
                Duration::from_secs(10),
                "connect or connect_error",
                |line| matches!(line["type"].as_str(), Some("connect" | "connect_error")),
            )
            .await;
        if line["type"] == "connect" {
            Ok(line)
        } else {
            Err(line["message"].as_str().unwrap_or_default().to_owned())
        }
    }

    pub async fn send(&mut self, command: Value) {
        let mut line = command.to_string();
        line.push('\n');
        self.stdin
            .write_all(line.as_bytes())
            .await
            .expect("client stdin");
        self.stdin.flush().await.expect("flush");
    }

    /// Emits with an ack and returns the ack's payload.
    pub async fn emit(&mut self, event: &str, data: Value) -> Value {
        self.next_ref += 1;
        let reference = self.next_ref;
        self.send(json!({"cmd": "emit", "ref": reference, "event": event, "data": data}))
            .await;
        self.ack(reference, event).await
    }

    /// Emits any argument list (for malformed payloads).
    pub async fn emit_raw(&mut self, event: &str, args: Value) -> Value {
        self.next_ref += 1;
        let reference = self.next_ref;
        self.send(json!({"cmd": "emit_raw", "ref": reference, "event": event, "args": args}))
            .await;
        self.ack(reference, event).await
    }

    /// Emits with an ack without waiting for it; [`Client::ack_of`] reads it.
    pub async fn emit_nowait(&mut self, event: &str, data: Value) -> u64 {
        self.next_ref += 1;
        let reference = self.next_ref;
        self.send(json!({"cmd": "emit", "ref": reference, "event": event, "data": data}))
            .await;
        reference
    }

    /// The ack of an earlier emit (also if it already went by).
    pub async fn ack_of(&mut self, reference: Value) -> Value {
        if let Some(line) = self
            .seen
            .iter()
            .find(|line| line["type"] == "ack" && line["ref"] == reference)
        {
            return line["data"].clone();
        }
        self.expect(
            Duration::from_secs(10),
            &format!("ack {reference}"),
            |line| line["type"] == "ack" && line["ref"] == reference,
        )
        .await["data"]
            .clone()
    }

    async fn ack(&mut self, reference: u64, event: &str) -> Value {
        self.expect(
            Duration::from_secs(10),
            &format!("ack of {event}"),
            |line| line["type"] == "ack" && line["ref"] == reference,
        )
        .await["data"]
            .clone()
    }

    /// The next server event named `event`.
    pub async fn event(&mut self, event: &str) -> Value {
        self.expect(Duration::from_secs(10), event, |line| {
            line["type"] == "event" && line["event"] == event
        })
        .await["data"]
            .clone()
    }

    /// Lets the client's output so far be inspected, then exits it.
    pub async fn close(mut self) -> Vec<Value> {
        let _ = self.send(json!({"cmd": "exit"})).await;
        let _ = tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await;
        while let Ok(line) = self.lines.try_recv() {
            self.seen.push(line);
        }
        self.seen
    }
}

/// A connected client or a panic saying why not.
pub async fn connect(url: &str, token: &str) -> Client {
    let mut client = Client::spawn(url, Auth::Payload(token), &Options::default());
    client.connected().await.expect("client connects");
    client
}

/// Waits (up to 15 s) until `condition` holds; panics with `what` if not.
pub async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !condition() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Runs a Node script of `e2e/` to its end and returns its last stdout line.
pub async fn node_script(script: &str, env: &[(&str, &str)]) -> Value {
    let mut command = tokio::process::Command::new("node");
    command
        .arg(e2e_dir().join(script))
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    for (key, value) in env {
        command.env(key, value);
    }
    let output = tokio::time::timeout(Duration::from_secs(120), command.output())
        .await
        .expect("the script ends within 2 minutes")
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|_| panic!("{script} printed {stdout:?}"))
}

/// The error code of an ack (`None` when ok).
pub fn error_code(ack: &Value) -> Option<String> {
    if ack["ok"] == true {
        None
    } else {
        Some(
            ack["error"]["code"]
                .as_str()
                .unwrap_or("<no code>")
                .to_owned(),
        )
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
