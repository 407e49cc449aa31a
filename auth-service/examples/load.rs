//! End-to-end load generator for auth-service: bridge/s and refresh/s over
//! HTTP with many concurrent clients, against a real session-store on a fresh
//! Postgres database and the real event publisher on RabbitMQ, all in this
//! process (2 cores shared by everything).
//!
//! ```text
//! cargo run --release -p auth-service --example load -- refresh --clients 64 --seconds 15
//! cargo run --release -p auth-service --example load -- bridge --clients 64 --seconds 15
//! ```
//!
//! More flags: `--pool N` (session-store's database pool), `--port P` and
//! `--store-port P` (fixed loopback ports for auth-service and session-store;
//! default: free ones), `--json` (the result line as one JSON object, for
//! `scripts/bench.sh`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use auth_service::config::Settings;
use auth_service::keys::access::AccessKeys;
use auth_service::keys::refresh::RefreshKeyring;
use auth_service::startup::Application;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use nexus_common::client_ip::TrustedProxies;
use nexus_common::store_client::StoreClientConfig;
use nexus_testkit::TestStore;
use nexus_tokens::supabase::SupabaseConfig;
use serde_json::json;

const SECRET: &str = "bench-supabase-jwt-secret-0123456789abcdef";

struct Options {
    mode: String,
    clients: usize,
    seconds: u64,
    pool: u32,
    port: u16,
    store_port: u16,
    json: bool,
}

fn options() -> Options {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut options = Options {
        mode: args.first().cloned().unwrap_or_else(|| "refresh".into()),
        clients: 64,
        seconds: 15,
        pool: 16,
        port: 0,
        store_port: 0,
        json: false,
    };
    let mut iter = args.iter().skip(1);
    while let Some(flag) = iter.next() {
        if flag == "--json" {
            options.json = true;
            continue;
        }
        let value = iter.next().expect("flag value");
        match flag.as_str() {
            "--clients" => options.clients = value.parse().expect("--clients N"),
            "--seconds" => options.seconds = value.parse().expect("--seconds N"),
            "--pool" => options.pool = value.parse().expect("--pool N"),
            "--port" => options.port = value.parse().expect("--port P"),
            "--store-port" => options.store_port = value.parse().expect("--store-port P"),
            other => panic!("unknown flag {other}"),
        }
    }
    assert!(
        options.mode == "bridge" || options.mode == "refresh",
        "mode is bridge or refresh"
    );
    options
}

fn supabase_token() -> String {
    let now = chrono::Utc::now().timestamp();
    let claims = json!({
        "iss": "https://bench.supabase.co/auth/v1", "sub": uuid::Uuid::new_v4().to_string(),
        "aud": "authenticated", "exp": now + 3600, "iat": now, "email": "bench@example.com",
        "role": "authenticated", "session_id": uuid::Uuid::new_v4().to_string(),
        "user_metadata": {"full_name": "Bench"},
    });
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap()
}

fn refresh_cookie(response: &reqwest::Response) -> String {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(|value| value.strip_prefix("nexus_refresh_token="))
        .and_then(|rest| rest.split(';').next())
        .expect("refresh cookie")
        .to_owned()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

#[tokio::main]
async fn main() {
    let options = options();
    let pool = options.pool;
    let store_port = options.store_port;
    let store = TestStore::spawn_with(|config| {
        config.pool_size = pool;
        config.listen = ([127, 0, 0, 1], store_port).into();
    })
    .await;
    let exchange = format!("bench.auth.{}", uuid::Uuid::new_v4().simple());
    let settings = Settings {
        listen: ([127, 0, 0, 1], options.port).into(),
        store: StoreClientConfig {
            url: store.url().to_owned(),
            token: None,
            timeout: Duration::from_secs(5),
        },
        amqp_url: "amqp://guest:guest@127.0.0.1:5672/%2f".into(),
        events_exchange: exchange.clone(),
        events_buffer: 100_000,
        supabase: SupabaseConfig::from_values(
            Some("https://bench.supabase.co"),
            Some("http://127.0.0.1:1/none".into()),
            Some(SECRET.into()),
        )
        .unwrap(),
        cors_origins: vec!["http://localhost:5173".into()],
        trusted_proxies: TrustedProxies::parse("127.0.0.1/32").unwrap(),
        cookie_secure: false,
        access_keys: Arc::new(AccessKeys::generate_dev().unwrap()),
        refresh_keys: Arc::new(
            RefreshKeyring::parse("bench:bench-refresh-key-secret-0123456789abcdef").unwrap(),
        ),
        access_token_ttl: Duration::from_secs(900),
        refresh_reuse_interval: Duration::from_secs(10),
        rate_limits: auth_service::config::RateLimits::default(),
        room_grants: None,
        secret_cache_size: 1_000_000,
    };
    let app = Application::build(settings).await.unwrap();
    let base = format!("http://127.0.0.1:{}/api/auth", app.port());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(options.clients)
        .build()
        .unwrap();

    // Refresh mode: every client first bridges its own session.
    let mut tokens = Vec::new();
    if options.mode == "refresh" {
        for _ in 0..options.clients {
            let response = client
                .post(format!("{base}/session/bridge"))
                .bearer_auth(supabase_token())
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            tokens.push(refresh_cookie(&response));
        }
    }

    let deadline = Instant::now() + Duration::from_secs(options.seconds);
    let started = Instant::now();
    let mut workers = Vec::new();
    for index in 0..options.clients {
        let client = client.clone();
        let base = base.clone();
        let mode = options.mode.clone();
        let mut token = tokens.get(index).cloned().unwrap_or_default();
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            while Instant::now() < deadline {
                let begin = Instant::now();
                let response = if mode == "bridge" {
                    client
                        .post(format!("{base}/session/bridge"))
                        .bearer_auth(supabase_token())
                        .send()
                        .await
                } else {
                    client
                        .post(format!("{base}/session/refresh"))
                        .header("Cookie", format!("nexus_refresh_token={token}"))
                        .header("Origin", "http://localhost:5173")
                        .send()
                        .await
                };
                match response {
                    Ok(response) if response.status() == 200 => {
                        if mode == "refresh" {
                            token = refresh_cookie(&response);
                        }
                        let _ = response.bytes().await;
                        latencies.push(begin.elapsed());
                    }
                    Ok(response) => {
                        errors += 1;
                        if errors < 3 {
                            println!(
                                "status {}: {}",
                                response.status(),
                                response.text().await.unwrap_or_default()
                            );
                        }
                    }
                    Err(error) => {
                        errors += 1;
                        if errors < 3 {
                            println!("error: {error}");
                        }
                    }
                }
            }
            (latencies, errors)
        }));
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    for worker in workers {
        let (mut l, e) = worker.await.unwrap();
        latencies.append(&mut l);
        errors += e;
    }
    let elapsed = started.elapsed();
    latencies.sort();
    if options.json {
        let seconds = elapsed.as_secs_f64();
        println!(
            "{}",
            json!({
                "bench": "auth_load",
                "mode": options.mode,
                "clients": options.clients,
                "pool": options.pool,
                "seconds": seconds,
                "ok": latencies.len(),
                "errors": errors,
                "per_s": latencies.len() as f64 / seconds,
                "p50_ms": percentile(&latencies, 0.50).as_secs_f64() * 1000.0,
                "p99_ms": percentile(&latencies, 0.99).as_secs_f64() * 1000.0,
                "max_ms": latencies.last().copied().unwrap_or_default().as_secs_f64() * 1000.0,
            })
        );
    }
    println!(
        "{} clients={} seconds={:.1} ok={} errors={} rate={:.0}/s p50={:.2}ms p99={:.2}ms max={:.2}ms",
        options.mode,
        options.clients,
        elapsed.as_secs_f64(),
        latencies.len(),
        errors,
        latencies.len() as f64 / elapsed.as_secs_f64(),
        percentile(&latencies, 0.50).as_secs_f64() * 1000.0,
        percentile(&latencies, 0.99).as_secs_f64() * 1000.0,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1000.0,
    );

    let _ = stop.send(());
    let _ = server.await;
    if let Ok(connection) =
        nexus_common::amqp::connect("amqp://guest:guest@127.0.0.1:5672/%2f", "bench-cleanup").await
        && let Ok(channel) = connection.create_channel().await
    {
        let _ = channel
            .exchange_delete(
                exchange.as_str().into(),
                lapin::options::ExchangeDeleteOptions::default(),
            )
            .await;
    }
    store.stop().await;
}
