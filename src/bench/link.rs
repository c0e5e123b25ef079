//! One bench connection: a TCP stream with a read buffer parsed in place and a write buffer sent
//! with one `write_all` per batch, plus the CONNECT/CONNACK handshake.
//!
//! Owns: the socket and its buffers. Knows packets only through [`super::wire`].

use std::time::Duration;

use bytes::{Buf as _, BytesMut};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use super::BenchError;
use super::wire::{self, Frame};
use crate::broker::codec::{Packet, ProtocolVersion};

/// Read buffer reserve; one read takes at most about this much.
const READ_CHUNK: usize = 256 * 1024;

/// A connected, CONNACKed MQTT connection.
#[derive(Debug)]
pub struct Link {
    stream: TcpStream,
    /// Bytes read and not yet parsed.
    rbuf: BytesMut,
    /// Packets encoded and not yet written.
    pub wbuf: BytesMut,
    /// Protocol of this connection.
    pub version: ProtocolVersion,
    /// The broker's Receive Maximum (5.0 CONNACK), the cap on our QoS 1/2 messages in flight.
    pub receive_maximum: Option<u16>,
}

impl Link {
    /// Connect to `addr`, send CONNECT (clean, no will) and wait for a successful CONNACK.
    ///
    /// # Errors
    /// When the broker cannot be reached or refuses, or says nothing within `timeout`.
    pub async fn connect(
        addr: &str,
        version: ProtocolVersion,
        client_id: &str,
        keep_alive_secs: u16,
        timeout: Duration,
    ) -> Result<Self, BenchError> {
        Self::connect_session(addr, version, client_id, keep_alive_secs, timeout, None).await
    }

    /// [`Link::connect`]; with `keep_session`, a session the broker keeps ([`wire::connect_session`]).
    ///
    /// # Errors
    /// As [`Link::connect`].
    pub async fn connect_session(
        addr: &str,
        version: ProtocolVersion,
        client_id: &str,
        keep_alive_secs: u16,
        timeout: Duration,
        keep_session: Option<u32>,
    ) -> Result<Self, BenchError> {
        tokio::time::timeout(timeout, Self::connect_inner(addr, version, client_id, keep_alive_secs, keep_session))
            .await
            .map_err(|_elapsed| BenchError::Timeout("CONNACK"))?
    }

    async fn connect_inner(
        addr: &str,
        version: ProtocolVersion,
        client_id: &str,
        keep_alive_secs: u16,
        keep_session: Option<u32>,
    ) -> Result<Self, BenchError> {
        let stream = TcpStream::connect(addr).await.map_err(|source| BenchError::Connect { addr: addr.to_owned(), source })?;
        stream.set_nodelay(true).ok();
        let mut link =
            Self { stream, rbuf: BytesMut::with_capacity(4096), wbuf: BytesMut::with_capacity(4096), version, receive_maximum: None };
        wire::connect_session(&mut link.wbuf, version, client_id, keep_alive_secs, keep_session);
        link.flush().await?;
        loop {
            if link.read().await? == 0 {
                return Err(BenchError::Closed);
            }
            let Some((frame, used)) = wire::parse(&link.rbuf, version)? else { continue };
            let Frame::Other(packet) = frame else {
                return Err(BenchError::Protocol("the first packet from the broker is not CONNACK"));
            };
            let Packet::ConnAck(ack) = *packet else {
                return Err(BenchError::Protocol("the first packet from the broker is not CONNACK"));
            };
            if ack.code != 0 {
                return Err(BenchError::Refused(ack.code));
            }
            link.receive_maximum = ack.properties.receive_maximum;
            link.rbuf.advance(used);
            return Ok(link);
        }
    }

    /// Write everything in the write buffer.
    ///
    /// # Errors
    /// When the socket fails.
    pub async fn flush(&mut self) -> Result<(), BenchError> {
        if !self.wbuf.is_empty() {
            self.stream.write_all(&self.wbuf).await?;
            self.wbuf.clear();
        }
        Ok(())
    }

    /// Wait for bytes and read them; 0 means the broker closed.
    ///
    /// # Errors
    /// When the socket fails.
    pub async fn read(&mut self) -> Result<usize, BenchError> {
        self.reserve();
        Ok(self.stream.read_buf(&mut self.rbuf).await?)
    }

    /// Read what is there without waiting: `None` if nothing is, `Some(0)` if the broker closed.
    ///
    /// # Errors
    /// When the socket fails.
    pub fn try_read(&mut self) -> Result<Option<usize>, BenchError> {
        self.reserve();
        match self.stream.try_read_buf(&mut self.rbuf) {
            Ok(n) => Ok(Some(n)),
            Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => Ok(None),
            Err(err) => Err(err.into()),
        }
    }

    /// Wait until the socket has something to read (or has closed).
    ///
    /// # Errors
    /// When the socket fails.
    pub async fn readable(&self) -> Result<(), BenchError> {
        Ok(self.stream.readable().await?)
    }

    fn reserve(&mut self) {
        if self.rbuf.capacity() - self.rbuf.len() < READ_CHUNK / 4 {
            self.rbuf.reserve(READ_CHUNK);
        }
    }

    /// Hand every complete packet in the read buffer to `handle`, with the write buffer for answers.
    ///
    /// # Errors
    /// What `handle` returns, or a malformed packet.
    pub fn drain(&mut self, mut handle: impl FnMut(Frame<'_>, &mut BytesMut) -> Result<(), BenchError>) -> Result<(), BenchError> {
        let mut pos = 0;
        let result = loop {
            match wire::parse(self.rbuf.get(pos..).unwrap_or_default(), self.version) {
                Ok(Some((frame, used))) => {
                    pos += used;
                    if let Err(err) = handle(frame, &mut self.wbuf) {
                        break Err(err);
                    }
                }
                Ok(None) => break Ok(()),
                Err(err) => break Err(err.into()),
            }
        };
        self.rbuf.advance(pos);
        result
    }

    /// Send PINGREQ and read until PINGRESP (other packets are dropped: call it when none matter).
    ///
    /// # Errors
    /// When the socket fails or closes, or on a malformed packet.
    pub async fn ping(&mut self) -> Result<(), BenchError> {
        wire::pingreq(&mut self.wbuf);
        self.flush().await?;
        loop {
            if self.read().await? == 0 {
                return Err(BenchError::Closed);
            }
            let mut pong = false;
            self.drain(|frame, _| {
                pong |= frame == Frame::PingResp;
                Ok(())
            })?;
            if pong {
                return Ok(());
            }
        }
    }

    /// Write `bytes` (whole packets built by the caller) after what is buffered.
    ///
    /// # Errors
    /// When the socket fails.
    pub async fn write_raw(&mut self, bytes: &[u8]) -> Result<(), BenchError> {
        self.flush().await?;
        self.stream.write_all(bytes).await?;
        Ok(())
    }

    /// Send DISCONNECT and close, ignoring errors (the run is over).
    pub async fn close(mut self) {
        wire::disconnect(&mut self.wbuf);
        self.flush().await.ok();
        self.stream.shutdown().await.ok();
    }
}
