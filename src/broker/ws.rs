//! MQTT over WebSocket (MQTT 5.0 §6 / 3.1.1 §6): the server handshake that selects the
//! subprotocol `mqtt`, and a byte-stream view of the binary messages for [`super::connection`].
//!
//! Owns: [`serve`] (a WebSocket connection task's entry point: handshake, then the same session as
//! TCP), [`WsStream`] reads and writes. Knows no packets: MQTT packets may span messages and a
//! message may hold several (MQTT-6.0.0-2), so messages are only bytes appended to the read buffer.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::BytesMut;
use futures_util::{SinkExt as _, StreamExt as _};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode, header};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Message};

use super::Shared;
use super::connection::Transport;
use super::tls::Socket;

/// A WebSocket over an accepted TCP connection (ws://) or a TLS one (wss://).
pub type WsStream = WebSocketStream<Socket>;

/// The only WebSocket subprotocol we speak (MQTT-6.0.0-4; registered with IANA as `mqtt`).
pub const SUBPROTOCOL: &str = "mqtt";

/// Room for a fixed header around the largest packet, in one WebSocket message.
const HEADER_ROOM: usize = 8;

/// Handshake, then serve the connection like a TCP one. A failed or slow handshake (longer
/// than `connect_timeout`) just drops the socket: there is no MQTT session yet to tell.
pub async fn serve(stream: Socket, peer: SocketAddr, shared: Arc<Shared>) {
    let max_message = usize::try_from(shared.config.max_packet_size).unwrap_or(usize::MAX).saturating_add(HEADER_ROOM);
    match tokio::time::timeout(shared.config.connect_timeout, accept(stream, max_message)).await {
        Ok(Ok(ws)) => super::session::serve(Transport::Ws(Box::new(ws)), peer, shared).await,
        Ok(Err(err)) => tracing::debug!(%peer, error = %err, "WebSocket handshake failed"),
        Err(_) => tracing::debug!(%peer, "WebSocket handshake timed out"),
    }
}

/// The server side of the opening handshake, selecting subprotocol `mqtt`. A message (and a
/// frame) may be as large as the largest packet we accept plus its header, no larger.
///
/// # Errors
/// On I/O errors, a request that is not a WebSocket upgrade, or one that does not offer `mqtt`.
pub async fn accept(stream: impl Into<Socket>, max_message_size: usize) -> Result<WsStream, tungstenite::Error> {
    let config = WebSocketConfig::default().max_message_size(Some(max_message_size)).max_frame_size(Some(max_message_size));
    tokio_tungstenite::accept_hdr_async_with_config(stream.into(), select_subprotocol, Some(config)).await
}

/// Answer the upgrade with `Sec-WebSocket-Protocol: mqtt` (MQTT-6.0.0-4). A client must offer
/// `mqtt` (MQTT-6.0.0-3); one that does not is refused with 400, because the server may only
/// select a subprotocol the client offered (RFC 6455 §4.2.2) and MQTT-6.0.0-4 allows no other.
#[expect(clippy::result_large_err, reason = "the signature is tungstenite's Callback")]
fn select_subprotocol(request: &Request, mut response: Response) -> Result<Response, ErrorResponse> {
    if offers_mqtt(request) {
        response.headers_mut().insert(header::SEC_WEBSOCKET_PROTOCOL, HeaderValue::from_static(SUBPROTOCOL));
        return Ok(response);
    }
    tracing::debug!(path = %request.uri(), "WebSocket upgrade without subprotocol mqtt refused");
    let mut refusal = ErrorResponse::new(Some("MQTT over WebSocket needs the subprotocol \"mqtt\" (MQTT-6.0.0-3)".into()));
    *refusal.status_mut() = StatusCode::BAD_REQUEST;
    Err(refusal)
}

/// Whether any `Sec-WebSocket-Protocol` header lists `mqtt` (a comma-separated list, RFC 6455 §11.3.4).
fn offers_mqtt(request: &Request) -> bool {
    request
        .headers()
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|list| list.split(','))
        .any(|name| name.trim() == SUBPROTOCOL)
}

/// Append the next binary message's bytes to `buf`; returns how many (0: the peer closed).
/// Ping, pong and empty messages are skipped (tungstenite queues the pong and sends it with the
/// next read or write). A text message breaks MQTT-6.0.0-1: we send Close (1003) and fail.
///
/// Cancel-safe: a message is taken from the stream and appended in one poll.
pub(super) async fn read(ws: &mut WsStream, buf: &mut BytesMut) -> io::Result<usize> {
    loop {
        let message = match ws.next().await {
            None | Some(Ok(Message::Close(_))) => return Ok(0),
            Some(Ok(message)) => message,
            Some(Err(err)) => return Err(into_io(err)),
        };
        match message {
            Message::Binary(bytes) if !bytes.is_empty() => {
                buf.extend_from_slice(&bytes);
                return Ok(bytes.len());
            }
            Message::Text(_) => {
                let reason = "MQTT packets travel in binary frames only (MQTT-6.0.0-1)";
                ws.close(Some(CloseFrame { code: CloseCode::Unsupported, reason: reason.into() })).await.ok();
                return Err(io::Error::new(io::ErrorKind::InvalidData, "text frame received (MQTT-6.0.0-1)"));
            }
            Message::Binary(_) | Message::Ping(_) | Message::Pong(_) | Message::Frame(_) | Message::Close(_) => {}
        }
    }
}

/// Send everything in `out` as one binary message and flush it; `out` is left empty.
pub(super) async fn write(ws: &mut WsStream, out: &mut BytesMut) -> io::Result<()> {
    ws.send(Message::Binary(out.split().freeze())).await.map_err(into_io)
}

/// Start the closing handshake (Close 1000), then close our side of the TCP stream.
pub(super) async fn close(ws: &mut WsStream) {
    ws.close(None).await.ok();
    tokio::io::AsyncWriteExt::shutdown(ws.get_mut()).await.ok();
}

fn into_io(err: tungstenite::Error) -> io::Error {
    match err {
        tungstenite::Error::Io(err) => err,
        other => io::Error::other(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(protocols: &[&str]) -> Request {
        let mut builder = Request::builder().uri("/mqtt");
        for p in protocols {
            builder = builder.header(header::SEC_WEBSOCKET_PROTOCOL, *p);
        }
        builder.body(()).expect("request")
    }

    #[test]
    fn mqtt_is_found_in_any_offered_list() {
        assert!(offers_mqtt(&request(&["mqtt"])));
        assert!(offers_mqtt(&request(&["mqttv3.1, mqtt"])));
        assert!(offers_mqtt(&request(&["chat", "mqtt"])));
        assert!(!offers_mqtt(&request(&[])));
        assert!(!offers_mqtt(&request(&["mqttv3.1"])));
        assert!(!offers_mqtt(&request(&["MQTT-x"])));
    }

    #[test]
    fn the_server_selects_mqtt_or_refuses_with_400() {
        let ok = select_subprotocol(&request(&["mqttv3.1, mqtt"]), Response::new(())).expect("accepted");
        assert_eq!(ok.headers().get(header::SEC_WEBSOCKET_PROTOCOL).map(HeaderValue::as_bytes), Some(&b"mqtt"[..]));
        let refused = select_subprotocol(&request(&[]), Response::new(())).expect_err("refused");
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    }
}
