//! Building and running the HTTP server.
//!
//! `Application::build` wires the state (the use cases' `AppState`, the HTTP
//! layer's `HttpContext`, the gRPC adapters behind the store ports) and binds
//! the listener (port 0 in tests) so the real port is known before serving;
//! `run_until_stopped` serves until SIGTERM/Ctrl-C and then drains gracefully.

use std::future::Future;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_cors::Cors;
use actix_web::dev::{Server, Service, ServiceResponse};
use actix_web::http::{Method, header};
use actix_web::middleware::{self, ErrorHandlerResponse, ErrorHandlers};
use actix_web::web::{self, Data};
use actix_web::{App, HttpResponse, HttpServer};
use anyhow::Context;
use futures::FutureExt;
use nexus_tokens::supabase::SupabaseVerifier;

use crate::config::Settings;
use crate::events::{EventPublisher, PublisherConfig};
use crate::group_store::GroupStore;
use crate::http::context::HttpContext;
use crate::http::cookies::CookieSettings;
use crate::http::envelope::Failure;
use crate::http::origin::AllowedOrigins;
use crate::http::rate_limit::Limiters;
use crate::secret_cache::SecretCache;
use crate::state::AppState;
use crate::store::SessionStore;

/// Largest request body accepted (bodies only ever carry one token).
const MAX_BODY_BYTES: usize = 256 * 1024;

pub struct Application {
    port: u16,
    server: Server,
    state: Data<AppState>,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        if !settings.cookie_secure {
            tracing::warn!(
                "COOKIE_SECURE=false: cookies are sent over plain HTTP (development only)"
            );
        }
        let listener = TcpListener::bind(settings.listen)
            .with_context(|| format!("cannot listen on {}", settings.listen))?;
        let port = listener.local_addr()?.port();
        let supabase = SupabaseVerifier::new(&settings.supabase).context("Supabase verifier")?;
        if let Some(jwks) = supabase.jwks() {
            let url = jwks.url().to_owned();
            tracing::info!(%url, "verifying Supabase tokens with the project's JWKS");
        }
        let store = SessionStore::connect_lazy(&settings.store)?;
        let groups = GroupStore::connect_lazy(&settings.store)?;
        if settings.room_grants.is_none() {
            tracing::info!("ROOM_GRANT_KEYS is unset: group room grants are not issued");
        }
        let (events, _publisher) = EventPublisher::start(PublisherConfig {
            amqp_url: settings.amqp_url.clone(),
            exchange: settings.events_exchange.clone(),
            buffer: settings.events_buffer,
        });
        let state = Data::new(AppState {
            supabase,
            access_verifier: settings.access_keys.verifier()?,
            access_keys: Arc::clone(&settings.access_keys),
            refresh_keys: Arc::clone(&settings.refresh_keys),
            store: Arc::new(store),
            groups: Arc::new(groups),
            room_grants: settings.room_grants.clone(),
            events,
            secrets: SecretCache::new(settings.secret_cache_size),
            access_ttl: settings.access_token_ttl,
            reuse_interval: settings.refresh_reuse_interval,
        });
        let http = Data::new(HttpContext {
            cookies: CookieSettings {
                secure: settings.cookie_secure,
            },
            origins: AllowedOrigins::new(&settings.cors_origins),
            proxies: settings.trusted_proxies.clone(),
            limiters: Limiters::new(settings.rate_limits),
            metrics: crate::metrics::init(),
        });
        spawn_pruning(http.clone());

        let server_state = state.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(server_state.clone())
                .app_data(http.clone())
                .app_data(Data::new(http.origins.clone()))
                .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
                .app_data(web::QueryConfig::default().error_handler(|error, _| {
                    crate::http::error::ApiError::BadRequest(format!("Bad query string: {error}"))
                        .into()
                }))
                .wrap(middleware::from_fn(
                    crate::http::origin::refuse_foreign_origin,
                ))
                .wrap(middleware::from_fn(crate::http::no_store::default_no_store))
                .wrap(ErrorHandlers::new().default_handler(envelope_for_framework_errors))
                .wrap(cors(http.origins.list()))
                .wrap_fn(|request, service| {
                    let method = request.method().to_string();
                    let started = std::time::Instant::now();
                    service.call(request).map(move |result| {
                        if let Ok(response) = &result {
                            let route = response
                                .request()
                                .match_pattern()
                                .unwrap_or_else(|| "unmatched".to_owned());
                            crate::metrics::http_request(
                                &route,
                                &method,
                                response.status().as_u16(),
                                started.elapsed(),
                            );
                        }
                        result
                    })
                })
                .configure(crate::http::api::configure)
                .default_service(web::to(not_found))
        })
        .listen(listener)?
        .disable_signals()
        .shutdown_timeout(10)
        .run();
        tracing::info!(port, "auth-service listening");
        Ok(Self {
            port,
            server,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether the event publisher currently holds a broker connection.
    pub fn events_connected(&self) -> bool {
        self.state.events.is_connected()
    }

    /// Serves until SIGTERM or Ctrl-C, then shuts down gracefully.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.run_until(nexus_common::shutdown::signal()).await
    }

    /// Serves until `shutdown` completes, then stops accepting and drains.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        let handle = self.server.handle();
        let mut server = std::pin::pin!(self.server);
        tokio::select! {
            result = &mut server => return result.context("HTTP server failed"),
            () = shutdown => {}
        }
        // The server future must keep being polled while it drains: in an
        // existing Tokio runtime it runs the command loop that executes `stop`.
        let (_, result) = tokio::join!(handle.stop(true), server);
        result.context("HTTP server failed while stopping")?;
        tracing::info!("auth-service stopped");
        Ok(())
    }
}

fn cors(origins: &[String]) -> Cors {
    let cors = origins
        .iter()
        .fold(Cors::default(), |cors, origin| cors.allowed_origin(origin));
    cors.allowed_methods([Method::GET, Method::POST, Method::DELETE, Method::OPTIONS])
        .allowed_headers([header::AUTHORIZATION, header::CONTENT_TYPE, header::ACCEPT])
        .supports_credentials()
        .block_on_origin_mismatch(false)
        .max_age(600)
}

/// Errors produced by the framework itself (body too large, a CORS preflight
/// from a foreign origin, ...) get the envelope too; our own errors already
/// are JSON and pass through unchanged.
fn envelope_for_framework_errors<B>(
    response: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/json"));
    if is_json {
        return Ok(ErrorHandlerResponse::Response(
            response.map_into_left_body(),
        ));
    }
    let status = response.status();
    let (request, response) = response.into_parts();
    let message = status.canonical_reason().unwrap_or("Request failed");
    let code = match status.as_u16() {
        413 => "payload_too_large",
        400 => "bad_request",
        405 => "method_not_allowed",
        _ if status.is_server_error() => "internal_error",
        _ => "request_refused",
    };
    let mut replacement = HttpResponse::build(status).json(Failure::new(message, code));
    for (name, value) in response.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            replacement
                .headers_mut()
                .append(name.clone(), value.clone());
        }
    }
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(request, replacement).map_into_right_body(),
    ))
}

async fn not_found() -> HttpResponse {
    HttpResponse::NotFound().json(Failure::new("Not found", "not_found"))
}

/// Keeps the rate limiters' per-IP state bounded.
fn spawn_pruning(http: Data<HttpContext>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            http.limiters.prune();
        }
    });
}
