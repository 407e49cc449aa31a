//! Building and running the server (zero2prod shape): `build` checks the
//! configuration, creates the database if missing, runs the migrations and
//! binds the listener (port 0 in tests, the real port readable afterwards);
//! `run_until_stopped` serves until the shutdown future completes, then drains
//! in-flight calls and stops the purge task.

use std::future::Future;
use std::net::SocketAddr;

use anyhow::{Context, bail};
use metrics_exporter_prometheus::PrometheusHandle;
use nexus_proto::session_v1::group_store_server::GroupStoreServer;
use nexus_proto::session_v1::session_store_server::SessionStoreServer;
use tokio::net::TcpListener;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic_health::ServingStatus;

use crate::config::{StoreConfig, redact_url};
use crate::db::{self, migrations};
use crate::domain::Lifetimes;
use crate::grpc::{GroupStoreService, RequireToken, SessionStoreService};
use crate::repository::Repository;

/// The gRPC service name health reports on.
pub const SERVICE_NAME: &str = "nexus.session.v1.SessionStore";
/// The group service, served next to it (same token, same database).
pub const GROUP_SERVICE_NAME: &str = "nexus.session.v1.GroupStore";

/// Deadline for calls that carry none (`grpc-timeout` wins when shorter).
pub const DEFAULT_CALL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

pub struct Application {
    listener: TcpListener,
    local_addr: SocketAddr,
    repository: Repository,
    config: StoreConfig,
    metrics: Option<(TcpListener, PrometheusHandle)>,
}

impl Application {
    pub async fn build(config: StoreConfig) -> anyhow::Result<Self> {
        check_listen_policy(&config)?;
        let options = config.connect_options()?;
        db::connect::ensure_database(&config.database_url, &options)
            .await
            .with_context(|| {
                format!(
                    "cannot prepare database {}",
                    redact_url(&config.database_url)
                )
            })?;
        let applied = migrations::run(&config.database_url, &options).await?;
        tracing::info!(applied, "migrations up to date");
        let pool = db::build_pool(
            &config.database_url,
            config.pool_size,
            config.connect_timeout,
            options,
        );
        let repository = Repository::new(
            pool,
            Lifetimes::new(config.max_lifetime, config.idle_timeout),
        )
        .with_max_sessions_per_user(config.max_sessions_per_user);
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let local_addr = listener
            .local_addr()
            .context("listener has no local address")?;
        let metrics = match config.metrics_listen {
            Some(listen) => Some(crate::metrics::bind(listen).await?),
            None => None,
        };
        Ok(Self {
            listener,
            local_addr,
            repository,
            config,
            metrics,
        })
    }

    /// The address actually bound (the real port when configured with 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    pub fn port(&self) -> u16 {
        self.local_addr.port()
    }

    /// Serves until `shutdown` completes, then finishes in-flight calls.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send,
    ) -> anyhow::Result<()> {
        let Self {
            listener,
            local_addr,
            repository,
            config,
            metrics,
        } = self;
        if config.token.is_none() {
            tracing::warn!(%local_addr, "SESSION_STORE_TOKEN is not set: calls are unauthenticated (loopback only)");
        }
        let (health_reporter, health_service) = tonic_health::server::health_reporter();
        for service in [SERVICE_NAME, GROUP_SERVICE_NAME] {
            health_reporter
                .set_service_status(service, ServingStatus::Serving)
                .await;
        }
        let reflection = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(nexus_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .build_v1()
            .context("cannot build the reflection service")?;
        let store = SessionStoreServer::with_interceptor(
            SessionStoreService::new(repository.clone()),
            RequireToken::new(config.token.as_deref()),
        );
        let groups = GroupStoreServer::with_interceptor(
            GroupStoreService::new(repository.clone()),
            RequireToken::new(config.token.as_deref()),
        );

        let (stop_purge, purge_stopped) = tokio::sync::watch::channel(false);
        let purge = tokio::spawn(crate::purge::run(
            repository,
            config.purge_interval,
            config.purge_after,
            purge_stopped,
        ));

        let (stop_metrics, metrics_stopped) = tokio::sync::oneshot::channel::<()>();
        let metrics_task = metrics.map(|(metrics_listener, handle)| {
            if let Ok(address) = metrics_listener.local_addr() {
                tracing::info!(%address, "metrics listening (GET /metrics)");
            }
            tokio::spawn(crate::metrics::serve(metrics_listener, handle, async {
                let _ = metrics_stopped.await;
            }))
        });

        tracing::info!(%local_addr, "session-store listening");
        let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
        // Callers' `grpc-timeout` is honoured by tonic; this caps calls without one.
        let served = Server::builder()
            .timeout(DEFAULT_CALL_TIMEOUT)
            .layer(crate::metrics::GrpcMetricsLayer)
            .add_service(health_service)
            .add_service(reflection)
            .add_service(store)
            .add_service(groups)
            .serve_with_incoming_shutdown(incoming, shutdown)
            .await
            .context("gRPC server failed");
        for service in [SERVICE_NAME, GROUP_SERVICE_NAME] {
            health_reporter
                .set_service_status(service, ServingStatus::NotServing)
                .await;
        }
        let _ = stop_purge.send(true);
        if let Err(error) = purge.await {
            tracing::warn!(%error, "purge task ended abnormally");
        }
        let _ = stop_metrics.send(());
        if let Some(task) = metrics_task {
            match task.await {
                Ok(Err(error)) => tracing::warn!(%error, "metrics listener failed"),
                Err(error) => tracing::warn!(%error, "metrics task ended abnormally"),
                Ok(Ok(())) => {}
            }
        }
        tracing::info!("session-store stopped");
        served
    }
}

/// Without a token, only loopback: any container on a shared network could
/// otherwise revoke anyone's sessions.
fn check_listen_policy(config: &StoreConfig) -> anyhow::Result<()> {
    if config.token.is_none() && !config.listen.ip().is_loopback() {
        bail!(
            "refusing to listen on {} without SESSION_STORE_TOKEN: unauthenticated calls are only \
             allowed on a loopback address (set SESSION_STORE_TOKEN, or listen on 127.0.0.1)",
            config.listen
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_token_means_loopback_only() {
        let mut config = StoreConfig::local(
            "postgres://x@127.0.0.1/db",
            "0.0.0.0:50051".parse().unwrap(),
        );
        let error = check_listen_policy(&config).unwrap_err().to_string();
        assert!(error.contains("SESSION_STORE_TOKEN"), "{error}");
        config.token = Some("t".to_owned());
        assert!(check_listen_policy(&config).is_ok());
        config.token = None;
        config.listen = "127.0.0.1:0".parse().unwrap();
        assert!(check_listen_policy(&config).is_ok());
    }
}
