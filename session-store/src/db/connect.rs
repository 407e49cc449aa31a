//! Opening Postgres connections without libpq.
//!
//! `DATABASE_URL` may carry `sslmode=require` (managed Postgres, Supabase):
//! then the connection is TLS via rustls with the webpki roots, so no system
//! certificate store or OpenSSL is needed. `disable`/`prefer`/none connect in
//! plain text. The same path serves the pool (through diesel-async's custom
//! setup) and the one-off maintenance connection that creates the database.
//! A server whose certificate comes from a private CA (Supabase's direct
//! connections use their own root) is reached by adding that CA's PEM file
//! (`DATABASE_SSL_ROOT_CERT`, as libpq's `sslrootcert`) to the roots.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use diesel::ConnectionError;
use diesel_async::AsyncPgConnection;
use nexus_common::error_chain::error_chain;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use tokio_postgres::config::SslMode;

/// How connections are opened beyond what the URL says.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// Postgres `statement_timeout` set on every pooled connection.
    pub statement_timeout: Option<Duration>,
    /// Extra trusted CA certificates for `sslmode=require`.
    pub extra_roots: Arc<Vec<CertificateDer<'static>>>,
}

impl ConnectOptions {
    /// Adds the CA certificates of a PEM file to the trusted roots.
    pub fn with_ca_file(mut self, path: &std::path::Path) -> anyhow::Result<Self> {
        let pem = std::fs::read(path)
            .with_context(|| format!("cannot read DATABASE_SSL_ROOT_CERT {}", path.display()))?;
        let certificates = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .with_context(|| format!("{} is not a PEM certificate file", path.display()))?;
        if certificates.is_empty() {
            bail!("{} holds no PEM certificate", path.display());
        }
        self.extra_roots = Arc::new(certificates);
        Ok(self)
    }
}

fn tls_connector(
    options: &ConnectOptions,
) -> Result<tokio_postgres_rustls::MakeRustlsConnect, rustls::Error> {
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let (added, ignored) = roots.add_parsable_certificates(options.extra_roots.iter().cloned());
    if ignored > 0 {
        tracing::warn!(
            added,
            ignored,
            "some DATABASE_SSL_ROOT_CERT certificates were not usable"
        );
    }
    // An explicit provider: another crate in the process may enable a second one,
    // which would make the process-wide default ambiguous.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

/// A diesel-async connection, used as the pool's setup callback.
pub async fn establish(
    database_url: &str,
    options: &ConnectOptions,
) -> Result<AsyncPgConnection, ConnectionError> {
    let config: tokio_postgres::Config =
        database_url
            .parse()
            .map_err(|error: tokio_postgres::Error| {
                ConnectionError::InvalidConnectionUrl(error.to_string())
            })?;
    let mut connection = if matches!(config.get_ssl_mode(), SslMode::Require) {
        let (client, connection) = config
            .connect(
                tls_connector(options)
                    .map_err(|error| ConnectionError::BadConnection(error.to_string()))?,
            )
            .await
            .map_err(|error| ConnectionError::BadConnection(error_chain(&error)))?;
        AsyncPgConnection::try_from_client_and_connection(client, connection).await?
    } else {
        let (client, connection) = config
            .connect(tokio_postgres::NoTls)
            .await
            .map_err(|error| ConnectionError::BadConnection(error_chain(&error)))?;
        AsyncPgConnection::try_from_client_and_connection(client, connection).await?
    };
    if let Some(timeout) = options.statement_timeout {
        let millis = timeout.as_millis().max(1);
        diesel_async::SimpleAsyncConnection::batch_execute(
            &mut connection,
            &format!("SET statement_timeout = {millis}"),
        )
        .await
        .map_err(ConnectionError::CouldntSetupConfiguration)?;
    }
    Ok(connection)
}

/// A raw tokio-postgres client for maintenance statements; the connection task
/// runs in the background until the client is dropped.
async fn raw_client(
    config: &tokio_postgres::Config,
    options: &ConnectOptions,
) -> anyhow::Result<tokio_postgres::Client> {
    if matches!(config.get_ssl_mode(), SslMode::Require) {
        let (client, connection) = config
            .connect(tls_connector(options)?)
            .await
            .map_err(|error| anyhow::anyhow!(error_chain(&error)))?;
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "maintenance connection ended");
            }
        });
        Ok(client)
    } else {
        let (client, connection) = config.connect(tokio_postgres::NoTls).await?;
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "maintenance connection ended");
            }
        });
        Ok(client)
    }
}

/// Creates the URL's database if `pg_database` lacks it, connecting to the
/// `postgres` maintenance database of the same server. A concurrent creator
/// winning the race is fine.
pub async fn ensure_database(database_url: &str, options: &ConnectOptions) -> anyhow::Result<()> {
    let config: tokio_postgres::Config = database_url
        .parse()
        .context("DATABASE_URL is not a valid Postgres URL")?;
    let Some(name) = config.get_dbname().map(str::to_owned) else {
        bail!("DATABASE_URL names no database");
    };
    let mut maintenance = config.clone();
    maintenance.dbname("postgres");
    let client = raw_client(&maintenance, options)
        .await
        .context("cannot connect to the `postgres` maintenance database")?;
    let exists = client
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
        .await
        .context("cannot look up pg_database")?
        .is_some();
    if exists {
        return Ok(());
    }
    let statement = format!("CREATE DATABASE {}", quote_identifier(&name));
    match client.batch_execute(&statement).await {
        Ok(()) => {
            tracing::info!(database = %name, "database created");
            Ok(())
        }
        Err(error)
            if error.code() == Some(&tokio_postgres::error::SqlState::DUPLICATE_DATABASE) =>
        {
            Ok(())
        }
        Err(error) => Err(error).with_context(|| format!("cannot create database {name:?}")),
    }
}

/// A double-quoted SQL identifier.
pub fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_identifier("a\"b"), "\"a\"\"b\"");
    }
}
