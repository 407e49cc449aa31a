//! Prometheus metrics of session-store, served over plain HTTP on their own port
//! (`SESSION_STORE_METRICS_LISTEN`, default `127.0.0.1:9051`): gRPC has no `/metrics`, and
//! Prometheus scrapes HTTP.
//!
//! - `session_store_grpc_requests_total{method, code}` and
//!   `session_store_grpc_request_duration_seconds{method}` (histogram): every call, by a
//!   tower layer around the whole gRPC server, so no handler can forget it;
//! - `session_store_pool_wait_seconds` (histogram) and `session_store_pool_timeouts_total`:
//!   how long calls wait for a pooled Postgres connection, the first sign that
//!   `DATABASE_POOL_SIZE` or Postgres is the limit.
//!
//! The recorder is process-global (the `metrics` facade), so it is installed only by the
//! binary (`metrics_listen` set); tests that run session-store inside another service's
//! process leave it alone, and the macros then record nothing.

use std::collections::HashSet;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use futures::future::BoxFuture;
use metrics_exporter_prometheus::PrometheusHandle;
use prost::Message;
use tokio::net::TcpListener;
use tonic::codegen::http;

/// Installs the process-wide recorder and binds the metrics listener.
pub async fn bind(listen: SocketAddr) -> anyhow::Result<(TcpListener, PrometheusHandle)> {
    let handle = nexus_common::prometheus::install_recorder()?;
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen} (SESSION_STORE_METRICS_LISTEN)"))?;
    Ok((listener, handle))
}

/// Serves `GET /metrics` (and `GET /healthz`) until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    handle: PrometheusHandle,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let router = axum::Router::new()
        .route(
            "/metrics",
            axum::routing::get(move || {
                let handle = handle.clone();
                async move {
                    (
                        [("content-type", "text/plain; version=0.0.4")],
                        handle.render(),
                    )
                }
            }),
        )
        .route("/healthz", axum::routing::get(|| async { "ok\n" }));
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
        .context("the metrics listener failed")
}

/// Records one pool checkout: how long it waited, and whether it timed out.
pub fn pool_checkout(waited: Duration, timed_out: bool) {
    metrics::histogram!("session_store_pool_wait_seconds").record(waited.as_secs_f64());
    if timed_out {
        metrics::counter!("session_store_pool_timeouts_total").increment(1);
    }
}

/// The tower layer that times every gRPC call.
#[derive(Debug, Clone, Copy, Default)]
pub struct GrpcMetricsLayer;

impl<S> tower::Layer<S> for GrpcMetricsLayer {
    type Service = GrpcMetrics<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GrpcMetrics { inner }
    }
}

#[derive(Debug, Clone)]
pub struct GrpcMetrics<S> {
    inner: S,
}

impl<S, ReqBody, ResBody> tower::Service<http::Request<ReqBody>> for GrpcMetrics<S>
where
    S: tower::Service<
            http::Request<ReqBody>,
            Response = http::Response<ResBody>,
            Error = Infallible,
        > + Send,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let method = method_label(request.uri().path());
        let method_for_duration = method.clone();
        let started = Instant::now();
        let response = self.inner.call(request);
        Box::pin(async move {
            let response = response.await?;
            // Errors are trailers-only responses (grpc-status in the headers); a call
            // without it in the headers completed with OK in its trailers.
            let code = response
                .headers()
                .get("grpc-status")
                .and_then(|value| value.to_str().ok())
                .map_or_else(|| "0".to_owned(), str::to_owned);
            metrics::counter!("session_store_grpc_requests_total", "method" => method, "code" => code)
                .increment(1);
            metrics::histogram!("session_store_grpc_request_duration_seconds", "method" => method_for_duration)
                .record(started.elapsed().as_secs_f64());
            Ok(response)
        })
    }
}

/// The gRPC method name (`/pkg.Service/Method` -> `Method`) when it is one this server
/// serves (read from the compiled proto, so new RPCs count without a change here); anything
/// else is `other`, so a client cannot create series at will.
fn method_label(path: &str) -> String {
    let name = path.rsplit('/').next().unwrap_or_default();
    if known_methods().contains(name) {
        name.to_owned()
    } else {
        "other".to_owned()
    }
}

fn known_methods() -> &'static HashSet<String> {
    static KNOWN: OnceLock<HashSet<String>> = OnceLock::new();
    KNOWN.get_or_init(|| {
        let mut known: HashSet<String> = ["Check", "Watch", "ServerReflectionInfo"]
            .into_iter()
            .map(str::to_owned)
            .collect();
        if let Ok(set) = prost_types::FileDescriptorSet::decode(nexus_proto::FILE_DESCRIPTOR_SET) {
            for file in set.file {
                for service in file.service {
                    known.extend(service.method.into_iter().filter_map(|method| method.name));
                }
            }
        }
        known
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_labels_are_bounded() {
        assert_eq!(
            method_label("/nexus.session.v1.SessionStore/ValidateSession"),
            "ValidateSession"
        );
        assert_eq!(method_label("/grpc.health.v1.Health/Check"), "Check");
        assert_eq!(
            method_label("/nexus.session.v1.SessionStore/RotateRefreshToken"),
            "RotateRefreshToken"
        );
        assert_eq!(method_label("/x.Y/SomethingAttackerChose"), "other");
        assert_eq!(method_label(""), "other");
    }
}
