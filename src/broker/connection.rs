//! Framing on one byte stream (TCP, or the binary messages of a WebSocket): a read buffer that
//! yields every complete packet already read, and a write buffer flushed once per wake-up (so a
//! burst of 500 PUBLISHes costs one syscall, or one WebSocket message, each way).
//!
//! Owns: [`Connection`], [`Transport`]. Knows packets only through the codec; knows nothing of sessions.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::task::{Context, Poll, Waker, ready};
use std::time::Duration;

use bytes::{Buf as _, BytesMut};
use rustls_pki_types::CertificateDer;
use tokio::io::{AsyncReadExt as _, AsyncWrite as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_rustls::server::TlsStream;

use super::codec::{self, DecodeError, Packet, ProtocolVersion};
use super::order::InputGate;
use super::trace::Tracer;
use super::ws::{self, WsStream};
use crate::model::packet_trace::Direction;

/// The stream under the framing.
#[derive(Debug)]
pub enum Transport {
    /// MQTT on a TCP connection (TCP_NODELAY set by the listener).
    Tcp(TcpStream),
    /// MQTT in the binary messages of a WebSocket (MQTT 5.0 §6 / 3.1.1 §6), after the handshake.
    Ws(Box<WsStream>),
    /// MQTT over TLS (mqtts), after the handshake.
    Tls(Box<TlsStream<TcpStream>>),
}

impl Transport {
    /// The client's certificate (the first of its chain), when it sent one over TLS.
    #[must_use]
    pub fn peer_certificate(&self) -> Option<&CertificateDer<'static>> {
        match self {
            Self::Tcp(_) => None,
            Self::Ws(ws) => ws.get_ref().peer_certificate(),
            Self::Tls(tls) => tls.get_ref().1.peer_certificates()?.first(),
        }
    }
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

/// What one [`Connection::io`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Io {
    /// This many bytes were read into the buffer (0: the peer closed).
    Read(usize),
    /// This many bytes of the write buffer were written.
    Wrote(usize),
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
    /// Notes when this socket signalled input ([`super::order`]); TCP only.
    gate: Option<Gate>,
    /// The router's message number when the oldest input still buffered was signalled
    /// ([`super::order`]); `None` on a WebSocket.
    pub input_since: Option<u64>,
    /// Where this connection's packets go while the explorer traces its client; set at CONNECT.
    pub tracer: Option<Tracer>,
    /// [`Connection::io`] writes nothing while set: what is buffered waits for the journal ([`super::store`]).
    pub hold_writes: bool,
}

/// An [`InputGate`] and the waker that read readiness is polled with.
#[derive(Debug)]
struct Gate {
    gate: Arc<InputGate>,
    waker: Waker,
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
            gate: None,
            input_since: None,
            tracer: None,
            hold_writes: false,
        }
    }

    /// The client's certificate (the first of its chain), when it sent one over TLS.
    #[must_use]
    pub fn peer_certificate(&self) -> Option<&CertificateDer<'static>> {
        self.stream.peer_certificate()
    }

    /// Take part in the order across connections ([`super::order`]), reading the router's `route_seq`. TCP only.
    pub fn keep_order(&mut self, route_seq: &Arc<AtomicU64>) {
        if let Transport::Tcp(_) = self.stream {
            let (gate, waker) = InputGate::new(Arc::clone(route_seq));
            self.gate = Some(Gate { gate, waker });
        }
    }

    /// Parse the next complete packet already buffered, if any.
    ///
    /// # Errors
    /// When the buffered bytes are not a valid packet.
    pub fn parse(&mut self) -> Result<Option<Packet>, DecodeError> {
        let before = self.buf.len();
        let packet = codec::decode(&mut self.buf, self.version, self.max_packet_size)?;
        if let (Some(tracer), Some(p)) = (&self.tracer, &packet)
            && tracer.on()
        {
            tracer.record(Direction::In, p, before - self.buf.len());
        }
        Ok(packet)
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
            Transport::Tls(tls) => tls.read_buf(&mut self.buf).await?,
        };
        if n == 0 && !self.buf.is_empty() {
            return Err(ConnectionError::Reset);
        }
        Ok(n)
    }

    /// Wait until some of the write buffer was written or, if `read`, some bytes were read: whichever
    /// comes first. On TCP both are awaited at once, so a peer that stops reading can still be read
    /// from (its acknowledgements, its DISCONNECT) while our writes wait. On a WebSocket a pending
    /// write is awaited alone. Cancel-safe on TCP (bytes leave the write buffer only once written, and
    /// land in the read buffer only once read); on a WebSocket a cancelled write may lose the message,
    /// so callers cancel it only to end the connection.
    ///
    /// # Errors
    /// On socket errors, or when the peer closed mid-packet.
    pub async fn io(&mut self, read: bool) -> Result<Io, ConnectionError> {
        if read && self.buf.capacity() - self.buf.len() < 4096 {
            self.buf.reserve(READ_BUFFER);
        }
        let buffered_before = !self.buf.is_empty();
        let Self { stream, buf, out, gate, hold_writes, .. } = self;
        let mut none = BytesMut::new();
        let out = if *hold_writes { &mut none } else { out };
        let io = match stream {
            Transport::Tcp(tcp) => std::future::poll_fn(|cx| poll_tcp(tcp, cx, buf, out, read, gate.as_ref())).await?,
            Transport::Ws(ws) if !out.is_empty() => {
                let n = out.len();
                ws::write(ws, out).await?;
                Io::Wrote(n)
            }
            Transport::Ws(ws) if read => Io::Read(ws::read(ws, buf).await?),
            Transport::Ws(_) => std::future::pending().await,
            Transport::Tls(tls) => std::future::poll_fn(|cx| poll_tls(tls, cx, buf, out, read)).await?,
        };
        if io == Io::Read(0) && !self.buf.is_empty() {
            return Err(ConnectionError::Reset);
        }
        if let (Io::Read(_), Some(g)) = (io, &self.gate) {
            let since = g.gate.take_since();
            if !buffered_before || self.input_since.is_none() {
                self.input_since = Some(since);
            }
        }
        Ok(io)
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
        let before = self.out.len();
        codec::encode(packet, version, &mut self.out);
        if let Some(tracer) = &self.tracer
            && tracer.on()
        {
            tracer.record(Direction::Out, packet, self.out.len() - before);
        }
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
                    // Bytes leave the buffer as they are written: a flush cut short (a timeout) never
                    // sends them twice.
                    while !self.out.is_empty() {
                        if tcp.write_buf(&mut self.out).await? == 0 {
                            return Err(std::io::ErrorKind::WriteZero.into());
                        }
                    }
                }
                Transport::Ws(ws) => ws::write(ws, &mut self.out).await?,
                Transport::Tls(tls) => {
                    while !self.out.is_empty() {
                        if tls.write_buf(&mut self.out).await? == 0 {
                            return Err(std::io::ErrorKind::WriteZero.into());
                        }
                    }
                    tls.flush().await?;
                }
            }
        }
        Ok(n)
    }

    /// End the connection so that the peer reads what we sent last (an error CONNACK or DISCONNECT)
    /// even with its own packets still in flight: write what is buffered, close our write side
    /// (on a WebSocket after a Close frame), then read and discard until the peer closes too, all
    /// within `within`. Closing a socket with unread bytes would make the kernel reset the connection,
    /// and the peer could lose our last packet with it.
    pub async fn close_gracefully(&mut self, within: Duration) {
        let deadline = Instant::now() + within;
        tokio::time::timeout_at(deadline, self.flush()).await.ok();
        let closed = async {
            match &mut self.stream {
                Transport::Tcp(tcp) => {
                    tcp.shutdown().await.ok();
                    loop {
                        self.buf.clear();
                        if !matches!(tcp.read_buf(&mut self.buf).await, Ok(n) if n > 0) {
                            break;
                        }
                    }
                }
                Transport::Tls(tls) => {
                    // close_notify, then our write side.
                    tls.shutdown().await.ok();
                    loop {
                        self.buf.clear();
                        if !matches!(tls.read_buf(&mut self.buf).await, Ok(n) if n > 0) {
                            break;
                        }
                    }
                }
                Transport::Ws(ws) => {
                    ws::close(ws).await;
                    self.buf.clear();
                    while matches!(ws::read(ws, &mut self.buf).await, Ok(n) if n > 0) {
                        self.buf.clear();
                    }
                }
            }
        };
        tokio::time::timeout_at(deadline, closed).await.ok();
    }
}

/// One poll of [`Connection::io`] on TCP: write first (what we owe the peer), then read. With a
/// gate, read readiness wakes the task through it ([`super::order`]).
fn poll_tcp(
    tcp: &mut TcpStream,
    cx: &mut Context<'_>,
    buf: &mut BytesMut,
    out: &mut BytesMut,
    read: bool,
    gate: Option<&Gate>,
) -> Poll<std::io::Result<Io>> {
    if !out.is_empty()
        && let Poll::Ready(written) = Pin::new(&mut *tcp).poll_write(cx, out)
    {
        let n = written?;
        if n == 0 {
            return Poll::Ready(Err(std::io::ErrorKind::WriteZero.into()));
        }
        out.advance(n);
        return Poll::Ready(Ok(Io::Wrote(n)));
    }
    if !read {
        return Poll::Pending;
    }
    match gate {
        Some(g) => {
            g.gate.register(cx.waker());
            poll_read_tcp(tcp, &mut Context::from_waker(&g.waker), buf, Some(&g.gate))
        }
        None => poll_read_tcp(tcp, cx, buf, None),
    }
}

/// One poll of [`Connection::io`] on TLS: write first, then push out what rustls still holds
/// (records it encrypted but the socket did not take), then read. Reading goes through
/// `read_buf`'s future, polled once: cancel-safe, bytes land in `buf` only when read.
fn poll_tls(
    tls: &mut TlsStream<TcpStream>,
    cx: &mut Context<'_>,
    buf: &mut BytesMut,
    out: &mut BytesMut,
    read: bool,
) -> Poll<std::io::Result<Io>> {
    if !out.is_empty()
        && let Poll::Ready(written) = Pin::new(&mut *tls).poll_write(cx, out)
    {
        let n = written?;
        if n == 0 {
            return Poll::Ready(Err(std::io::ErrorKind::WriteZero.into()));
        }
        out.advance(n);
        // Hand the records to the socket now; what it cannot take yet goes with the next poll.
        if let Poll::Ready(Err(err)) = Pin::new(&mut *tls).poll_flush(cx) {
            return Poll::Ready(Err(err));
        }
        return Poll::Ready(Ok(Io::Wrote(n)));
    }
    if let Poll::Ready(Err(err)) = Pin::new(&mut *tls).poll_flush(cx) {
        return Poll::Ready(Err(err));
    }
    if !read {
        return Poll::Pending;
    }
    let reading = tls.read_buf(buf);
    tokio::pin!(reading);
    reading.poll(cx).map_ok(Io::Read)
}

/// The read half of [`poll_tcp`].
fn poll_read_tcp(tcp: &TcpStream, cx: &mut Context<'_>, buf: &mut BytesMut, gate: Option<&InputGate>) -> Poll<std::io::Result<Io>> {
    loop {
        ready!(tcp.poll_read_ready(cx))?;
        match tcp.try_read_buf(buf) {
            Ok(n) => return Poll::Ready(Ok(Io::Read(n))),
            Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => {
                if let Some(gate) = gate {
                    gate.observed_empty();
                }
            }
            Err(err) => return Poll::Ready(Err(err)),
        }
    }
}
