//! The binary refuses a configuration that would break a promise before it
//! serves anyone: an operator sees why in the exit message, not later as
//! clients that silently stop recovering missed messages.

use std::process::Stdio;
use std::time::Duration;

/// Runs the real binary with `overrides` on a minimal environment and
/// returns its exit success and stderr; panics if it is still running after
/// 10 s (it should fail at configuration, before binding anything).
async fn run_binary(overrides: &[(&str, &str)]) -> (bool, String) {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_realtime-service"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        // Loopback port 0: if the check were missing, the service would start
        // and the timeout below would fail the test.
        .env("REALTIME_LISTEN", "127.0.0.1:0")
        .env("RUST_LOG", "error")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (name, value) in overrides {
        command.env(name, value);
    }
    let child = command.spawn().expect("spawn realtime-service");
    let output = tokio::time::timeout(Duration::from_secs(10), child.wait_with_output())
        .await
        .expect("realtime-service should exit at once on a refused configuration")
        .expect("wait for realtime-service");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test]
async fn a_history_grace_shorter_than_the_recovery_window_is_refused_at_startup() {
    let (succeeded, stderr) = run_binary(&[
        ("REALTIME_HISTORY_GRACE", "1m"),
        ("REALTIME_RECOVERY_WINDOW", "2m"),
    ])
    .await;
    assert!(!succeeded, "the service must not start; stderr: {stderr}");
    assert!(
        stderr.contains("REALTIME_HISTORY_GRACE") && stderr.contains("REALTIME_RECOVERY_WINDOW"),
        "the refusal names both settings: {stderr}"
    );
}

#[tokio::test]
async fn a_malformed_limit_is_refused_with_its_name() {
    let (succeeded, stderr) = run_binary(&[("REALTIME_SOCKETS_PER_USER", "many")]).await;
    assert!(!succeeded, "the service must not start; stderr: {stderr}");
    assert!(
        stderr.contains("REALTIME_SOCKETS_PER_USER"),
        "the refusal names the setting: {stderr}"
    );
}
