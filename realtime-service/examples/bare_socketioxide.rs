//! The thinnest socketioxide server with the same two room events as the
//! benchmark uses (`room:join {room}` -> ack, `room:message {room, text}` ->
//! broadcast to the room + ack): the floor realtime-service is compared
//! against in BENCHMARKS. No auth, no validation, no relay.
//!
//! `BARE_LISTEN=127.0.0.1:8013 cargo run --release --example bare_socketioxide`

use serde_json::{Value, json};
use socketioxide::SocketIo;
use socketioxide::extract::{AckSender, Data, SocketRef};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let listen = nexus_common::config::socket_addr("BARE_LISTEN", "127.0.0.1:8013")?;
    let (layer, io) = SocketIo::new_layer();
    io.ns("/", async |socket: SocketRef| {
        socket.on(
            "room:join",
            async |socket: SocketRef, Data(data): Data<Value>, ack: AckSender| {
                let room = data["room"].as_str().unwrap_or_default().to_owned();
                socket.join(room.clone());
                let _ = ack.send(&json!({"ok": true, "room": room}));
            },
        );
        socket.on(
            "room:message",
            async |socket: SocketRef, Data(data): Data<Value>, ack: AckSender| {
                let room = data["room"].as_str().unwrap_or_default().to_owned();
                let _ = socket.to(room).emit("room:message", &data).await;
                let _ = ack.send(&json!({"ok": true}));
            },
        );
    });
    let app = axum::Router::new().layer(layer);
    let listener = tokio::net::TcpListener::bind(listen).await?;
    axum::serve(listener, app)
        .with_graceful_shutdown(nexus_common::shutdown::signal())
        .await?;
    Ok(())
}
