//! Building and running one realtime instance.
//!
//! `Application::build` wires everything and binds the listener (port 0 in
//! tests, the real port readable back); `run_until_stopped` serves, runs the
//! broker links and the re-check in the background, and on the stop signal
//! closes every socket (clients see a transport close and reconnect,
//! possibly to another instance) before returning.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::Context;
use axum::http::{HeaderValue, Method, header};
use axum::serve::ListenerExt;
use nexus_tokens::access::AccessTokenVerifier;
use nexus_tokens::jwks::JwksCache;
use nexus_tokens::supabase::SupabaseVerifier;
use socketioxide::handler::ConnectHandler;
use socketioxide::{ParserConfig, SocketIo};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::auth::Authenticator;
use crate::broker::relay::{self, Relay};
use crate::broker::revocation;
use crate::config::RealtimeConfig;
use crate::connection;
use crate::dispatch::relay::RelayDispatch;
use crate::dispatch::session_events::SessionEventDispatch;
use crate::domain::hangout_id::HangoutIds;
use crate::handshakes::{self, HandshakeGate, PendingHandshakes};
use crate::limits::{ConnectRate, IpLimiter, UserLimiter};
use crate::metrics::Metrics;
use crate::rooms::group_state::GroupState;
use crate::rooms::hangouts::Hangouts;
use crate::rooms::history::{BufferLimits, History};
use crate::rooms::locks::RoomLocks;
use crate::rooms::presence::Presence;
use crate::rooms::quota::HangoutQuota;
use crate::rooms::vacancy::Vacancies;
use crate::sessions::{EndedSessions, SessionRegistry};
use crate::state::AppState;
use crate::store::SessionStore;

/// A built, bound, not yet serving instance.
pub struct Application {
    listener: TcpListener,
    addr: SocketAddr,
    router: axum::Router,
    io: SocketIo,
    state: Arc<AppState>,
    config: RealtimeConfig,
}

impl Application {
    pub async fn build(config: RealtimeConfig) -> anyhow::Result<Self> {
        let store = SessionStore::connect_lazy(&config.store)?;
        let access = AccessTokenVerifier::from_jwks(
            JwksCache::new(config.jwks_url.clone()).context("AUTH_JWKS_URL")?,
        );
        let supabase = config
            .supabase
            .as_ref()
            .map(SupabaseVerifier::new)
            .transpose()
            .context("Supabase token verification")?;
        if supabase
            .as_ref()
            .is_some_and(SupabaseVerifier::uses_legacy_secret_only)
        {
            tracing::warn!(
                "Supabase tokens are verified with the legacy HS256 project secret only: that \
                 secret can mint tokens for any role. Prefer SUPABASE_URL/SUPABASE_JWKS_URL \
                 (asymmetric keys) for realtime-service"
            );
        }
        if config.grant_keys.is_empty() {
            tracing::info!("ROOM_GRANT_KEYS is unset: group rooms are closed");
        }
        let instance_id = uuid::Uuid::new_v4().simple().to_string();
        let ttl = config.presence_snapshot_interval * 3;
        let state = Arc::new(AppState {
            relay: Arc::new(Relay::new(
                config.rooms_exchange.clone(),
                instance_id.clone(),
                config.limits.relay_deadline,
                config.faults.clone(),
            )),
            instance_id,
            authenticator: Authenticator::new(access, supabase, store.clone()),
            store,
            limits: config.limits.clone(),
            cors_origins: config.cors_origins.clone(),
            trusted_proxies: config.trusted_proxies.clone(),
            grant_keys: config.grant_keys.clone(),
            alias_key: config.alias_key.clone(),
            metrics: Arc::new(Metrics::default()),
            ip_limiter: IpLimiter::new(config.limits.connections_per_ip),
            user_limiter: UserLimiter::new(config.limits.sockets_per_user),
            connect_rate: ConnectRate::new(
                config.limits.connects_per_second,
                config.limits.connect_burst,
            ),
            pending_handshakes: Arc::new(PendingHandshakes::new(
                config.limits.pending_handshakes_per_ip,
                config.limits.connect_timeout,
            )),
            sessions: SessionRegistry::default(),
            ended_sessions: EndedSessions::new(config.recheck_interval),
            room_locks: RoomLocks::default(),
            vacancies: Vacancies::default(),
            faults: config.faults.clone(),
            presence: Presence::new(ttl),
            history: History::new(BufferLimits {
                history_len: config.limits.history_len,
                history_bytes: config.limits.history_bytes,
                recovery_messages: config.limits.recovery_messages,
                recovery_window: config.limits.recovery_window,
            }),
            hangout_quota: HangoutQuota::new(config.limits.hangouts_per_user),
            hangouts: Hangouts::default(),
            hangout_ids: HangoutIds::new(&config.alias_key),
            groups: GroupState::default(),
            session_events_up: AtomicBool::new(false),
        });

        let (layer, io) = SocketIo::builder()
            .req_path("/socket.io/")
            .ping_interval(config.limits.ping_interval)
            .ping_timeout(config.limits.ping_timeout)
            .max_payload(config.limits.max_payload)
            .ws_max_message_size(config.limits.ws_max_message)
            .ws_max_frame_size(config.limits.ws_max_message)
            .connect_timeout(config.limits.connect_timeout)
            .max_buffer_size(config.limits.socket_queue)
            // Binary attachments are refused at their header, never buffered.
            .with_parser(
                ParserConfig::common()
                    .max_incoming_binaries(0)
                    .max_incoming_binary_buf_size(0),
            )
            .with_state(state.clone())
            .build_layer();
        io.ns("/", connection::on_connect.with(connection::authenticate));
        state.groups.attach(io.clone());

        let router = crate::http::routes(state.clone())
            .layer(layer)
            .layer(axum::middleware::from_fn_with_state(
                HandshakeGate {
                    pending: state.pending_handshakes.clone(),
                    proxies: state.trusted_proxies.clone(),
                },
                handshakes::limit,
            ))
            .layer(cors(&config.cors_origins)?);

        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let addr = listener.local_addr()?;
        Ok(Self {
            listener,
            addr,
            router,
            io,
            state,
            config,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The instance's shared state (tests read metrics and presence).
    pub fn state(&self) -> Arc<AppState> {
        self.state.clone()
    }

    /// The Socket.IO handle (tests trigger a re-check round with it).
    pub fn io(&self) -> SocketIo {
        self.io.clone()
    }

    /// Serves until `shutdown` completes, then closes every socket and the
    /// broker links.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let Self {
            listener,
            addr,
            router,
            io,
            state,
            config,
        } = self;
        let stop = CancellationToken::new();
        let mut tasks = tokio::task::JoinSet::new();
        let session_events = Arc::new(SessionEventDispatch {
            state: state.clone(),
            io: io.clone(),
        });
        let instance_id = state.instance_id.clone();
        let amqp_url = config.amqp_url.clone();
        let session_exchange = config.session_exchange.clone();
        let revocation_stop = stop.clone();
        tasks.spawn(async move {
            revocation::run(
                session_events,
                &instance_id,
                amqp_url,
                session_exchange,
                revocation_stop,
            )
            .await;
        });
        let relay_dispatch = Arc::new(RelayDispatch {
            state: state.clone(),
            io: io.clone(),
        });
        tasks.spawn(relay::run(
            state.relay.clone(),
            relay_dispatch,
            config.amqp_url.clone(),
            stop.clone(),
        ));
        tasks.spawn(relay::run_publisher(
            state.relay.clone(),
            state.metrics.clone(),
            stop.clone(),
        ));
        tasks.spawn(crate::membership::run_sweeper(
            state.clone(),
            config.limits.history_grace,
            stop.clone(),
        ));
        tasks.spawn(crate::dispatch::relay::run_snapshots(
            state.clone(),
            io.clone(),
            config.presence_snapshot_interval,
            stop.clone(),
        ));
        tasks.spawn(crate::recheck::run(
            state.clone(),
            io.clone(),
            config.recheck_interval,
            stop.clone(),
        ));
        tracing::info!(%addr, instance = %state.instance_id, "realtime-service listening");

        // A client that stops reading would otherwise hold its connection
        // forever: socketioxide's writer task waits on the full TCP buffer
        // and never sees the close (engineioxide 0.17.9, transport/ws.rs
        // `forward_to_socket`). The kernel drops such a connection once data
        // stayed unacknowledged (zero window) for this long.
        let stall = config.limits.write_stall_timeout;
        let listener = listener.tap_io(move |stream: &mut tokio::net::TcpStream| {
            if let Err(error) = socket2::SockRef::from(&*stream).set_tcp_user_timeout(Some(stall)) {
                tracing::debug!(%error, "cannot set TCP_USER_TIMEOUT");
            }
        });
        let closing_io = io.clone();
        let closing_state = state.clone();
        let (held_rooms, rooms_at_shutdown) = tokio::sync::oneshot::channel();
        let served = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            shutdown.await;
            let _ = held_rooms.send(closing_state.presence.local_rooms());
            tracing::info!("closing all sockets");
            closing_io.close().await;
        })
        .await
        .context("the HTTP server failed");
        // The other instances hear that our members left before the broker
        // connection closes (the disconnect handlers' own "left" deltas are
        // queued before this and flushed with it).
        let rooms = rooms_at_shutdown.await.unwrap_or_default();
        relay::depart(&state.relay, rooms, config.limits.relay_deadline).await;
        stop.cancel();
        while tasks.join_next().await.is_some() {}
        tracing::info!("realtime-service stopped");
        served
    }
}

fn cors(origins: &[String]) -> anyhow::Result<CorsLayer> {
    let origins = origins
        .iter()
        .map(|origin| {
            HeaderValue::from_str(origin).with_context(|| format!("CORS_ORIGINS item {origin:?}"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_credentials(true)
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE]))
}
