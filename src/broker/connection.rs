//! Framing on one byte stream (TCP, or the binary messages of a WebSocket): a read buffer that
//! yields every complete packet already read, and a write buffer flushed once per wake-up (so a
//! burst of 500 PUBLISHes costs one syscall, or one WebSocket message, each way).
//!
//! Owns: [`Connection`], [`Transport`]. Knows packets only through the codec; knows nothing of sessions.

use bytes::BytesMut;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use super::codec::{self, DecodeError, Packet, ProtocolVersion};
use super::ws::{self, WsStream};

/// The stream under the framing.
#[derive(Debug)]
pub enum Transport {
    /// MQTT on a TCP connection (TCP_NODELAY set by the listener).
    Tcp(TcpStream),
    /// MQTT in the binary messages of a WebSocket (MQTT 5.0 §6 / 3.1.1 §6), after the handshake.
    Ws(Box<WsStream>),
}

impl From<TcpStream> for Transport {
    fn from(stream: TcpStream) -> Self {
        Self::Tcp(stream)
    }
}

/// Initial read buffer size; grows as a large packet needs.
const READ_BUFFER: usize = 64 * 1024;
/// Flush the write buffer once it holds this much, even mid-batch.
pub const WRITE_HIGH_WATER: usize = 1024 * 1024;

/// Why a connection's stream ended.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    /// The bytes were not a valid packet.
    #[error("malformed packet: {0}")]
    Decode(#[from] DecodeError),
    /// The socket failed.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// The peer closed the stream in the middle of a packet.
    #[error("connection reset by peer mid-packet")]
    Reset,
}

/// A framed MQTT stream.
#[derive(Debug)]
pub struct Connection {
    stream: Transport,
    /// Bytes read but not yet parsed.
    buf: BytesMut,
    /// Encoded packets not yet written.
    pub out: BytesMut,
    /// Negotiated protocol; `None` until CONNECT.
    pub version: Option<ProtocolVersion>,
    /// Largest packet accepted; checked before the body is buffered.
    pub max_packet_size: u32,
}

impl Connection {
    /// Wrap an accepted stream.
    #[must_use]
    pub fn new(stream: impl Into<Transport>, max_packet_size: u32) -> Self {
        Self {
            stream: stream.into(),
            buf: BytesMut::with_capacity(READ_BUFFER),
            out: BytesMut::with_capacity(READ_BUFFER),
            version: None,
            max_packet_size,
        }
    }

    /// Parse the next complete packet already buffered, if any.
    ///
    /// # Errors
    /// When the buffered bytes are not a valid packet.
    pub fn parse(&mut self) -> Result<Option<Packet>, DecodeError> {
        codec::decode(&mut self.buf, self.version, self.max_packet_size)
    }

    /// Read more bytes. Cancel-safe: bytes land in the buffer only when the read completes.
    /// Returns the number of bytes read; 0 means the peer closed.
    ///
    /// # Errors
    /// On socket errors, or when the peer closed mid-packet.
    pub async fn read_more(&mut self) -> Result<usize, ConnectionError> {
        if self.buf.capacity() - self.buf.len() < 4096 {
            self.buf.reserve(READ_BUFFER);
        }
        let n = match &mut self.stream {
            Transport::Tcp(tcp) => tcp.read_buf(&mut self.buf).await?,
            Transport::Ws(ws) => ws::read(ws, &mut self.buf).await?,
        };
        if n == 0 && !self.buf.is_empty() {
            return Err(ConnectionError::Reset);
        }
        Ok(n)
    }

    /// Read until one packet is complete; `Ok(None)` when the peer closed cleanly.
    ///
    /// # Errors
    /// On malformed input or socket errors.
    pub async fn read_packet(&mut self) -> Result<Option<Packet>, ConnectionError> {
        loop {
            if let Some(packet) = self.parse()? {
                return Ok(Some(packet));
            }
            if self.read_more().await? == 0 {
                return Ok(None);
            }
        }
    }

    /// The protocol level a (possibly malformed) CONNECT in the buffer announces, if readable.
    #[must_use]
    pub fn peek_connect_level(&self) -> Option<u8> {
        let b = &self.buf[..];
        if b.first().map(|h| h >> 4) != Some(1) {
            return None;
        }
        let mut i = 1;
        while b.get(i)? & 0x80 != 0 {
            i += 1;
        }
        let name_at = i + 1;
        let name_len = usize::from(u16::from_be_bytes([*b.get(name_at)?, *b.get(name_at + 1)?]));
        b.get(name_at + 2 + name_len).copied()
    }

    /// Append an encoded packet to the write buffer.
    pub fn queue(&mut self, packet: &Packet) {
        let version = self.version.unwrap_or(ProtocolVersion::V311);
        codec::encode(packet, version, &mut self.out);
    }

    /// Write everything buffered: one `write_all` on TCP, one binary message on a WebSocket.
    ///
    /// # Errors
    /// On socket errors.
    pub async fn flush(&mut self) -> std::io::Result<usize> {
        let n = self.out.len();
        if n > 0 {
            match &mut self.stream {
                Transport::Tcp(tcp) => {
                    tcp.write_all(&self.out).await?;
                    self.out.clear();
                }
                Transport::Ws(ws) => ws::write(ws, &mut self.out).await?,
            }
        }
        Ok(n)
    }

    /// Flush, then close the write side so the peer sees the end (on a WebSocket, after a Close frame).
    pub async fn close(&mut self) {
        self.flush().await.ok();
        match &mut self.stream {
            Transport::Tcp(tcp) => {
                tcp.shutdown().await.ok();
            }
            Transport::Ws(ws) => ws::close(ws).await,
        }
    }
}
