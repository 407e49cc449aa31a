//! `session-store health`: the container health check (docker-compose.yml runs it inside
//! the container; deploy/compose-test/ runs it the same way). It asks this instance's own
//! gRPC health service (`grpc.health.v1.Health/Check` for `nexus.session.v1.SessionStore`)
//! and succeeds only on SERVING, which a plain TCP probe cannot tell: the port may accept
//! connections while the service is shutting down.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use anyhow::{Context, bail};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::startup::SERVICE_NAME;

/// How long the whole probe may take (below compose's 3 s health-check timeout).
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// The address to probe for a listen address: a wildcard listen is reached on loopback.
pub fn probe_address(listen: SocketAddr) -> SocketAddr {
    let ip = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, listen.port())
}

/// Ok when the instance listening on `listen` reports SERVING.
pub async fn check(listen: SocketAddr) -> anyhow::Result<()> {
    let address = probe_address(listen);
    let endpoint = tonic::transport::Endpoint::from_shared(format!("http://{address}"))
        .context("probe address")?
        .connect_timeout(PROBE_TIMEOUT)
        .timeout(PROBE_TIMEOUT);
    let status = tokio::time::timeout(PROBE_TIMEOUT, async {
        let channel = endpoint
            .connect()
            .await
            .with_context(|| format!("cannot connect to {address}"))?;
        let response = HealthClient::new(channel)
            .check(HealthCheckRequest {
                service: SERVICE_NAME.to_owned(),
            })
            .await
            .with_context(|| format!("health check on {address} failed"))?;
        anyhow::Ok(response.into_inner().status())
    })
    .await
    .with_context(|| format!("no health answer from {address} within {PROBE_TIMEOUT:?}"))??;
    if status != ServingStatus::Serving {
        bail!("{SERVICE_NAME} on {address} is {}", status.as_str_name());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_listens_are_probed_on_loopback() {
        let probe = |listen: &str| probe_address(listen.parse().unwrap()).to_string();
        assert_eq!(probe("0.0.0.0:50051"), "127.0.0.1:50051");
        assert_eq!(probe("[::]:50051"), "[::1]:50051");
        assert_eq!(probe("10.0.0.7:50051"), "10.0.0.7:50051");
    }
}
