//! A JWKS document served over HTTP on 127.0.0.1:0: the fake Supabase's
//! keys, or the backend's access-token key when a test has no auth-service.
//!
//! Every request gets the document (one response per connection, then
//! close): the verifiers under test only ever GET the one URL.

use jsonwebtoken::jwk::JwkSet;
use tokio::sync::oneshot;

/// Serves one JWKS until dropped.
pub struct JwksServer {
    pub url: String,
    stop: Option<oneshot::Sender<()>>,
}

impl JwksServer {
    /// Serves `set` at `http://127.0.0.1:PORT{path}`.
    pub async fn serve(set: &JwkSet, path: &str) -> Self {
        let document = serde_json::to_string(set).expect("jwks json");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind jwks");
        let url = format!(
            "http://{}{path}",
            listener.local_addr().expect("jwks address")
        );
        let (stop, mut stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = &mut stopped => return,
                    accepted = listener.accept() => {
                        let Ok((socket, _)) = accepted else { continue };
                        tokio::spawn(answer(socket, document.clone()));
                    }
                }
            }
        });
        Self {
            url,
            stop: Some(stop),
        }
    }
}

async fn answer(mut socket: tokio::net::TcpStream, document: String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buffer = [0u8; 4096];
    let _ = socket.read(&mut buffer).await;
    let response = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{}",
        document.len(),
        document
    );
    let _ = socket.write_all(response.as_bytes()).await;
    let _ = socket.shutdown().await;
}

impl Drop for JwksServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
