//! A hand-written WebSocket Engine.IO client for what socket.io-client will
//! not do: stop reading, announce oversized frames, sit without CONNECT.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub struct RawSocket {
    stream: TcpStream,
}

const MASK: [u8; 4] = [0x11, 0x22, 0x33, 0x44];

impl RawSocket {
    /// Opens the WebSocket transport (no Socket.IO CONNECT yet). A small
    /// `recv_buffer` makes a client that stops reading fill up quickly.
    pub async fn open(addr: SocketAddr, recv_buffer: Option<u32>) -> Self {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        if let Some(size) = recv_buffer {
            socket.set_recv_buffer_size(size).expect("SO_RCVBUF");
        }
        let mut stream = socket.connect(addr).await.expect("connect");
        let request = format!(
            "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {addr}\r\n\
             Upgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.expect("upgrade");
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            let mut byte = [0u8; 1];
            stream.read_exact(&mut byte).await.expect("upgrade answer");
            head.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&head);
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        let mut raw = Self { stream };
        let open = raw.read_text().await.expect("Engine.IO open packet");
        assert!(open.starts_with('0'), "{open}");
        raw
    }

    /// Opens and sends the Socket.IO CONNECT with `token`; returns the
    /// server's answer (`40{...}` or `44{...}`).
    pub async fn connect(
        addr: SocketAddr,
        token: &str,
        recv_buffer: Option<u32>,
    ) -> (Self, String) {
        let mut raw = Self::open(addr, recv_buffer).await;
        raw.send_text(&format!("40{}", serde_json::json!({ "token": token })))
            .await;
        loop {
            let answer = raw.read_text().await.expect("CONNECT answer");
            if answer == "2" {
                raw.send_text("3").await;
                continue;
            }
            return (raw, answer);
        }
    }

    /// One masked text frame.
    pub async fn send_text(&mut self, text: &str) {
        let payload = text.as_bytes();
        self.send_header(0x1, payload.len() as u64).await;
        let masked: Vec<u8> = payload
            .iter()
            .enumerate()
            .map(|(index, byte)| byte ^ MASK[index % 4])
            .collect();
        let _ = self.stream.write_all(&masked).await;
    }

    /// A frame header announcing `len` payload bytes, and nothing else.
    pub async fn send_header(&mut self, opcode: u8, len: u64) {
        let mut header = vec![0x80 | opcode];
        if len < 126 {
            header.push(0x80 | len as u8);
        } else if len <= u64::from(u16::MAX) {
            header.push(0x80 | 126);
            header.extend_from_slice(&(len as u16).to_be_bytes());
        } else {
            header.push(0x80 | 127);
            header.extend_from_slice(&len.to_be_bytes());
        }
        header.extend_from_slice(&MASK);
        let _ = self.stream.write_all(&header).await;
    }

    /// Writes raw bytes (partial frames).
    pub async fn send_bytes(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes).await
    }

    /// The next text frame, `None` once the server closed (close frame or
    /// end of stream) or after 10 s of silence.
    pub async fn read_text(&mut self) -> Option<String> {
        tokio::time::timeout(Duration::from_secs(10), self.read_frame())
            .await
            .ok()
            .flatten()
    }

    async fn read_frame(&mut self) -> Option<String> {
        loop {
            let mut head = [0u8; 2];
            self.stream.read_exact(&mut head).await.ok()?;
            let opcode = head[0] & 0x0f;
            let mut len = u64::from(head[1] & 0x7f);
            if len == 126 {
                let mut ext = [0u8; 2];
                self.stream.read_exact(&mut ext).await.ok()?;
                len = u64::from(u16::from_be_bytes(ext));
            } else if len == 127 {
                let mut ext = [0u8; 8];
                self.stream.read_exact(&mut ext).await.ok()?;
                len = u64::from_be_bytes(ext);
            }
            let mut payload = vec![0u8; usize::try_from(len).ok()?];
            self.stream.read_exact(&mut payload).await.ok()?;
            match opcode {
                0x1 => return Some(String::from_utf8_lossy(&payload).into_owned()),
                0x8 => return None,
                _ => continue,
            }
        }
    }

    /// Whether the server closed the connection within 10 s (reading and
    /// dropping whatever comes before).
    pub async fn closed_by_server(&mut self) -> bool {
        let mut sink = vec![0u8; 64 * 1024];
        let waited = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                match self.stream.read(&mut sink).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
            }
        })
        .await;
        waited.is_ok()
    }
}
