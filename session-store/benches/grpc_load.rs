//! Load benchmark of the session-store gRPC API over loopback (not a test).
//!
//! Starts the release `session-store` binary as its own process on a fresh
//! database (or in-process with `BENCH_IN_PROCESS=1`), creates
//! `BENCH_SESSIONS` sessions, then runs two timed phases with
//! `BENCH_CONCURRENCY` concurrent callers spread over `BENCH_CONNECTIONS`
//! HTTP/2 connections: ValidateSession on random sessions, then
//! RotateRefreshToken where each caller rotates its own sessions' chains (every
//! call a real rotation: lock, update, insert, update), then (unless
//! `BENCH_BATCH=0`) the batched ValidateSessions that realtime-service's
//! re-check sends, `BENCH_BATCH` ids per call from `BENCH_BATCH_CONCURRENCY`
//! callers, reported as sessions/s. Each phase stops after `BENCH_SECONDS` or
//! `BENCH_MAX_CALLS` calls. Prints throughput, p50/p99 and the CPU each process
//! spent per call (from /proc), which shows the limit.
//!
//! `BENCH_JSON=1` adds one JSON object per phase on its own line (for
//! `scripts/bench.sh`); `BENCH_PORT` fixes session-store's loopback port
//! (default: a free one). The session-store process gets
//! `SESSION_STORE_METRICS_LISTEN=off` unless that variable is set.
//!
//! Run (release): `cargo bench -p session-store --bench grpc_load`

// A benchmark reports on stdout; that is its output, not stray logging.
#![allow(clippy::print_stdout)]

use std::time::{Duration, Instant};

use nexus_common::store_client::{self, StoreClient, StoreClientConfig};
use nexus_proto::session_v1 as pb;
use nexus_testkit::TestDatabase;
use session_store::config::StoreConfig;
use session_store::startup::Application;
use sha2::{Digest, Sha256};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn token(session: usize, generation: u64) -> String {
    format!("bench-{session}-{generation}")
}

/// CPU seconds (user + system) of a process, from /proc (Linux).
fn cpu_seconds(pid: &str) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the command name (which may contain spaces) start at index 2.
    let Some(rest) = stat.rsplit_once(')').map(|(_, rest)| rest) else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 (1-based), i.e. 11 and 12 here; 100 ticks/s.
    (ticks(11) + ticks(12)) / 100.0
}

/// CPU used so far by this process (the load generator, plus the server when
/// it runs in-process), by the session-store process when separate, and by
/// the Postgres backends serving the benchmark database.
struct CpuProbe {
    admin: tokio_postgres::Client,
    database: String,
    server_pid: Option<String>,
}

#[derive(Clone, Copy, Default)]
struct CpuSample {
    own: f64,
    server: f64,
    postgres: f64,
}

impl CpuProbe {
    /// CPU used since `start`.
    async fn since(&self, start: CpuSample) -> CpuSample {
        let end = self.sample().await;
        CpuSample {
            own: end.own - start.own,
            server: end.server - start.server,
            postgres: end.postgres - start.postgres,
        }
    }

    async fn sample(&self) -> CpuSample {
        let pids = self
            .admin
            .query(
                "SELECT pid::text FROM pg_stat_activity WHERE datname = $1",
                &[&self.database],
            )
            .await
            .map(|rows| {
                rows.iter()
                    .map(|r| r.get::<_, String>(0))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        let postgres = pids.iter().map(|pid| cpu_seconds(pid)).sum();
        CpuSample {
            own: cpu_seconds("self"),
            server: self.server_pid.as_deref().map(cpu_seconds).unwrap_or(0.0),
            postgres,
        }
    }
}

struct Phase {
    name: &'static str,
    /// Sessions each call carries (1, or the batch size of ValidateSessions).
    per_call: usize,
    /// Concurrent callers of this phase.
    callers: usize,
    calls: usize,
    errors: usize,
    elapsed: Duration,
    latencies_us: Vec<u32>,
    cpu: CpuSample,
    cpu_note: String,
}

impl Phase {
    /// The phase's calls, errors and latencies from its callers' tasks, and
    /// the time since it started.
    async fn collect(
        name: &'static str,
        per_call: usize,
        callers: usize,
        tasks: Vec<tokio::task::JoinHandle<(Vec<u32>, usize)>>,
        started: Instant,
    ) -> anyhow::Result<Self> {
        let mut phase = Self::new(name, per_call, callers);
        for task in tasks {
            let (latencies, errors) = task.await?;
            phase.calls += latencies.len();
            phase.errors += errors;
            phase.latencies_us.extend(latencies);
        }
        phase.elapsed = started.elapsed();
        Ok(phase)
    }

    fn new(name: &'static str, per_call: usize, callers: usize) -> Self {
        Self {
            name,
            per_call,
            callers,
            calls: 0,
            errors: 0,
            elapsed: Duration::ZERO,
            latencies_us: Vec::new(),
            cpu: CpuSample::default(),
            cpu_note: String::new(),
        }
    }

    fn report(&mut self, json: bool) {
        self.latencies_us.sort_unstable();
        let pick = |q: f64| {
            let index = ((self.latencies_us.len() as f64 - 1.0) * q).round() as usize;
            self.latencies_us.get(index).copied().unwrap_or(0) as f64 / 1000.0
        };
        if json {
            let seconds = self.elapsed.as_secs_f64().max(1e-9);
            let per_call = |cpu: f64| cpu * 1e6 / self.calls.max(1) as f64;
            println!(
                "{}",
                serde_json::json!({
                    "bench": "grpc_load",
                    "phase": self.name,
                    "callers": self.callers,
                    "sessions_per_call": self.per_call,
                    "calls": self.calls,
                    "errors": self.errors,
                    "seconds": seconds,
                    "calls_per_s": self.calls as f64 / seconds,
                    "sessions_per_s": (self.calls * self.per_call) as f64 / seconds,
                    "p50_ms": pick(0.5),
                    "p99_ms": pick(0.99),
                    "max_ms": pick(1.0),
                    "cpu_us_per_call": {
                        "load_generator": per_call(self.cpu.own),
                        "session_store": per_call(self.cpu.server),
                        "postgres": per_call(self.cpu.postgres),
                    },
                })
            );
        }
        println!(
            "| {} | {} | {} | {:.1} | {:.0} | {:.2} | {:.2} | {:.2} |",
            self.name,
            self.calls,
            self.errors,
            self.elapsed.as_secs_f64(),
            self.calls as f64 / self.elapsed.as_secs_f64(),
            pick(0.5),
            pick(0.99),
            pick(1.0),
        );
        let per_call = |seconds: f64| seconds * 1e6 / self.calls.max(1) as f64;
        let (own, server, pg) = (
            per_call(self.cpu.own),
            per_call(self.cpu.server),
            per_call(self.cpu.postgres),
        );
        self.cpu_note = if self.cpu.server > 0.0 {
            format!(
                "{}: CPU per call {server:.0} us session-store, {pg:.0} us Postgres backends, \
                 {own:.0} us load generator; two idle cores running only session-store + \
                 Postgres would allow about {:.0} calls/s",
                self.name,
                2e6 / (server + pg).max(1.0),
            )
        } else {
            format!(
                "{}: CPU per call {own:.0} us in session-store + load generator (one process), \
                 {pg:.0} us in Postgres backends; two idle cores would allow about {:.0} calls/s",
                self.name,
                2e6 / (own + pg).max(1.0),
            )
        };
    }
}

/// The session-store under test: the release binary as its own process
/// (default), or in this process (`BENCH_IN_PROCESS=1`).
struct Server {
    url: String,
    child: Option<std::process::Child>,
    in_process: Option<(
        tokio::sync::oneshot::Sender<()>,
        tokio::task::JoinHandle<anyhow::Result<()>>,
    )>,
}

impl Server {
    async fn start_in_process(config: StoreConfig) -> anyhow::Result<Self> {
        let application = Application::build(config).await?;
        let url = format!("http://{}", application.local_addr());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(application.run_until_stopped(async {
            let _ = stopped.await;
        }));
        Ok(Self {
            url,
            child: None,
            in_process: Some((stop, task)),
        })
    }

    async fn start_process(config: &StoreConfig) -> anyhow::Result<Self> {
        let port = match config.listen.port() {
            0 => std::net::TcpListener::bind("127.0.0.1:0")?
                .local_addr()?
                .port(),
            fixed => fixed,
        };
        let metrics_listen =
            std::env::var("SESSION_STORE_METRICS_LISTEN").unwrap_or_else(|_| "off".into());
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_session-store"))
            .env("SESSION_STORE_METRICS_LISTEN", metrics_listen)
            .env("DATABASE_URL", &config.database_url)
            .env("SESSION_STORE_LISTEN", format!("127.0.0.1:{port}"))
            .env("DATABASE_POOL_SIZE", config.pool_size.to_string())
            .env("RUST_LOG", "warn")
            .env_remove("SESSION_STORE_TOKEN")
            .spawn()?;
        let server = Self {
            url: format!("http://127.0.0.1:{port}"),
            child: Some(child),
            in_process: None,
        };
        let mut client = store_client::connect_lazy(&StoreClientConfig {
            url: server.url.clone(),
            token: None,
            timeout: Duration::from_secs(2),
        })?;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let probe = pb::ListUserSessionsRequest {
                user_id: "probe".into(),
                include_ended: false,
            };
            if client.list_user_sessions(probe).await.is_ok() {
                return Ok(server);
            }
            anyhow::ensure!(Instant::now() < deadline, "session-store did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn pid(&self) -> Option<String> {
        self.child.as_ref().map(|child| child.id().to_string())
    }

    async fn stop(mut self) -> anyhow::Result<()> {
        self.kill_child()?;
        if let Some((stop, task)) = self.in_process.take() {
            let _ = stop.send(());
            task.await??;
        }
        Ok(())
    }

    fn kill_child(&mut self) -> std::io::Result<()> {
        if let Some(mut child) = self.child.take() {
            child.kill()?;
            child.wait()?;
        }
        Ok(())
    }
}

/// A phase that fails with `?` must not leave the session-store process behind.
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.kill_child();
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let concurrency = env_or("BENCH_CONCURRENCY", 64) as usize;
    let connections = env_or("BENCH_CONNECTIONS", 8).max(1) as usize;
    let sessions = env_or("BENCH_SESSIONS", 2_000).max(concurrency as u64) as usize;
    let seconds = env_or("BENCH_SECONDS", 10);
    let max_calls = env_or("BENCH_MAX_CALLS", 2_000_000) as usize;
    let pool_size = env_or("DATABASE_POOL_SIZE", 16) as u32;

    let in_process = env_or("BENCH_IN_PROCESS", 0) == 1;
    let json = env_or("BENCH_JSON", 0) == 1;
    let port = u16::try_from(env_or("BENCH_PORT", 0))?;
    // ValidateSessions accepts at most 1,000 ids per call.
    let batch = (env_or("BENCH_BATCH", 1_000) as usize).min(1_000);
    let batch_callers = env_or("BENCH_BATCH_CONCURRENCY", 2).max(1) as usize;

    let database = TestDatabase::create().await;
    let mut config = StoreConfig::local(database.url(), ([127, 0, 0, 1], port).into());
    config.pool_size = pool_size;
    let server = if in_process {
        Server::start_in_process(config).await?
    } else {
        Server::start_process(&config).await?
    };
    let url = server.url.clone();

    let clients: Vec<StoreClient> = (0..connections)
        .map(|_| {
            store_client::connect_lazy(&StoreClientConfig {
                url: url.clone(),
                token: None,
                timeout: Duration::from_secs(10),
            })
        })
        .collect::<Result<_, _>>()?;

    println!(
        "session-store {}: {concurrency} callers over {connections} connections, {sessions} sessions, \
         pool {pool_size}, {seconds}s or {max_calls} calls per phase",
        if in_process {
            "in-process"
        } else {
            "as its own process"
        }
    );
    // Setup: sessions with generation 1 (derived token "bench-i-1").
    let started = Instant::now();
    let mut ids = vec![String::new(); sessions];
    let chunks: Vec<Vec<usize>> = (0..concurrency)
        .map(|w| (w..sessions).step_by(concurrency).collect())
        .collect();
    let mut tasks = Vec::new();
    for (worker, chunk) in chunks.iter().cloned().enumerate() {
        let mut client = clients[worker % connections].clone();
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            for i in chunk {
                let response = client
                    .create_session(pb::CreateSessionRequest {
                        user_id: format!("bench-user-{}", i % 500),
                        user_agent: Some("bench".into()),
                        ip_address: Some("127.0.0.1".into()),
                        supabase_session_id: Some(format!("bench-sb-{i}")),
                        refresh_secret: vec![7; 32],
                        token_hash: hash(&token(i, 1)),
                        key_id: "bench".into(),
                    })
                    .await?
                    .into_inner();
                let id = response
                    .state
                    .and_then(|s| s.session)
                    .map(|s| s.id)
                    .unwrap_or_default();
                out.push((i, id));
            }
            Ok::<_, tonic::Status>(out)
        }));
    }
    for task in tasks {
        for (i, id) in task.await?? {
            ids[i] = id;
        }
    }
    println!(
        "setup: {sessions} sessions created in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    println!();
    println!("| phase | calls | errors | seconds | calls/s | p50 ms | p99 ms | max ms |");
    println!("|---|---|---|---|---|---|---|---|");

    let ids = std::sync::Arc::new(ids);
    let (admin, admin_connection) = tokio_postgres::connect(
        nexus_testkit::database::DEFAULT_ADMIN_URL,
        tokio_postgres::NoTls,
    )
    .await?;
    tokio::spawn(admin_connection);
    let probe = CpuProbe {
        admin,
        database: database.name().to_owned(),
        server_pid: server.pid(),
    };
    let mut notes = Vec::new();
    let budget = Duration::from_secs(seconds);
    let per_worker = max_calls / concurrency;

    // Phase 1: validations of random sessions.
    let cpu_start = probe.sample().await;
    let phase_start = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..concurrency {
        let mut client = clients[worker % connections].clone();
        let ids = ids.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(16_384);
            let mut errors = 0;
            let mut n = worker.wrapping_mul(7919);
            while phase_start.elapsed() < budget && latencies.len() < per_worker {
                n = n
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let id = ids[(n >> 33) % ids.len()].clone();
                let t = Instant::now();
                match client
                    .validate_session(pb::ValidateSessionRequest { session_id: id })
                    .await
                {
                    Ok(_) => latencies.push(t.elapsed().as_micros() as u32),
                    Err(_) => errors += 1,
                }
            }
            (latencies, errors)
        }));
    }
    let mut phase = Phase::collect("ValidateSession", 1, concurrency, tasks, phase_start).await?;
    phase.cpu = probe.since(cpu_start).await;
    phase.report(json);
    notes.push(std::mem::take(&mut phase.cpu_note));

    // Phase 2: rotations; each caller rotates the chains of its own sessions.
    let cpu_start = probe.sample().await;
    let phase_start = Instant::now();
    let mut tasks = Vec::new();
    for (worker, chunk) in chunks.into_iter().enumerate() {
        let mut client = clients[worker % connections].clone();
        let ids = ids.clone();
        tasks.push(tokio::spawn(async move {
            let mut generations = vec![1_u64; chunk.len()];
            let mut latencies = Vec::with_capacity(4_096);
            let mut errors = 0;
            let mut k = 0;
            while phase_start.elapsed() < budget
                && latencies.len() < per_worker
                && !chunk.is_empty()
            {
                let slot = k % chunk.len();
                k += 1;
                let i = chunk[slot];
                let g = generations[slot];
                let request = pb::RotateRefreshTokenRequest {
                    session_id: ids[i].clone(),
                    presented_generation: g,
                    presented_token_hash: hash(&token(i, g)),
                    next_token_hash: hash(&token(i, g + 1)),
                    next_key_id: "bench".into(),
                    reuse_interval_ms: 10_000,
                };
                let t = Instant::now();
                match client.rotate_refresh_token(request).await {
                    Ok(response) if response.get_ref().outcome() == pb::RotateOutcome::Rotated => {
                        latencies.push(t.elapsed().as_micros() as u32);
                        generations[slot] = g + 1;
                    }
                    _ => errors += 1,
                }
            }
            (latencies, errors)
        }));
    }
    let mut phase =
        Phase::collect("RotateRefreshToken", 1, concurrency, tasks, phase_start).await?;
    phase.cpu = probe.since(cpu_start).await;
    phase.report(json);
    notes.push(std::mem::take(&mut phase.cpu_note));

    // Phase 3: batched validations (realtime-service's re-check), sessions/s.
    if batch > 0 {
        let batch = batch.min(ids.len());
        let per_caller = max_calls / batch_callers;
        let cpu_start = probe.sample().await;
        let phase_start = Instant::now();
        let mut tasks = Vec::new();
        for worker in 0..batch_callers {
            let mut client = clients[worker % connections].clone();
            let ids = ids.clone();
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(1_024);
                let mut errors = 0;
                let mut start = worker.wrapping_mul(7919) % ids.len();
                while phase_start.elapsed() < budget && latencies.len() < per_caller {
                    // A window of `batch` distinct ids, sliding over all sessions.
                    let session_ids = (0..batch)
                        .map(|k| ids[(start + k) % ids.len()].clone())
                        .collect();
                    start = (start + batch) % ids.len();
                    let t = Instant::now();
                    match client
                        .validate_sessions(pb::ValidateSessionsRequest { session_ids })
                        .await
                    {
                        Ok(response) if response.get_ref().sessions.len() == batch => {
                            latencies.push(t.elapsed().as_micros() as u32);
                        }
                        _ => errors += 1,
                    }
                }
                (latencies, errors)
            }));
        }
        let mut phase =
            Phase::collect("ValidateSessions", batch, batch_callers, tasks, phase_start).await?;
        phase.cpu = probe.since(cpu_start).await;
        phase.report(json);
        println!(
            "ValidateSessions: {batch} ids per call from {batch_callers} callers, {:.0} sessions/s",
            (phase.calls * batch) as f64 / phase.elapsed.as_secs_f64().max(1e-9)
        );
        notes.push(std::mem::take(&mut phase.cpu_note));
    }

    println!();
    for note in notes {
        println!("{note}");
    }
    server.stop().await?;
    database.drop_database().await;
    Ok(())
}
