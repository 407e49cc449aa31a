//! The real socket.io-client, driven from Rust: each [`Client`] is one
//! `node e2e/client.mjs` process that reads commands on stdin and prints
//! every event, ack and wire packet as a JSON line on stdout. A test sees
//! exactly what a browser's client would.
//!
//! Needs `node` and `e2e/node_modules` (`npm ci --prefix e2e`).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

/// The repository's `e2e/` directory (Node scripts and their modules).
pub fn e2e_dir() -> PathBuf {
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
        let reference = self.emit_nowait(event, data).await;
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

/// A connected client (token in the auth payload) or a panic saying why not.
pub async fn connect(url: &str, token: &str) -> Client {
    let mut client = Client::spawn(url, Auth::Payload(token), &Options::default());
    client.connected().await.expect("client connects");
    client
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
