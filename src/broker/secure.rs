//! The TLS listeners (mqtts, wss): the handshake before a connection's session, and a listener
//! added to a running broker (the window's settings).
//!
//! Owns: [`TlsListener`], [`SecureListeners`], [`serve_secure`]. The accept loop of
//! [`super::run_all`] hands TLS sockets to `serve_tls`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};

use super::{Broker, Shared, configure_stream, connection, is_transient, session, tls, ws};

/// A listener whose connections start with a TLS handshake.
#[derive(Debug)]
pub struct TlsListener {
    /// The socket.
    pub listener: TcpListener,
    /// Certificates and client-certificate policy.
    pub config: Arc<rustls::ServerConfig>,
}

/// The TLS listeners of a broker, each optional.
#[derive(Debug, Default)]
pub struct SecureListeners {
    /// MQTT over TLS (mqtts).
    pub tls: Option<TlsListener>,
    /// MQTT over WebSocket over TLS (wss://).
    pub wss: Option<TlsListener>,
}

/// Accept TLS connections (mqtts, or wss with `websocket`) on `listener` into `broker`'s running
/// instance, until it shuts down or this task is aborted: a listener added, or replaced, while the
/// broker runs (the window's settings), without touching the sessions it holds. Connections
/// accepted here end with the broker, like every other.
pub async fn serve_secure(listener: TlsListener, websocket: bool, broker: Broker) {
    let shared = Arc::clone(&broker.shared);
    let mut stop = shared.shutdown.clone();
    loop {
        let accepted = tokio::select! {
            accepted = listener.listener.accept() => accepted,
            _ = stop.changed() => return,
        };
        match accepted {
            Ok((stream, peer)) => {
                configure_stream(&stream);
                tokio::spawn(serve_tls(stream, peer, Arc::clone(&shared), Some(Arc::clone(&listener.config)), websocket));
            }
            Err(err) if is_transient(&err) => tokio::time::sleep(Duration::from_millis(50)).await,
            Err(err) => {
                tracing::warn!(error = %err, "TLS listener stopped");
                return;
            }
        }
    }
}

/// The TLS handshake (within `connect_timeout`), then MQTT directly (mqtts) or a WebSocket (wss).
/// A failed handshake only drops the socket (there is no MQTT session to tell); it is logged at
/// debug, with rustls's reason (an unknown CA, no client certificate).
pub(super) async fn serve_tls(
    stream: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    config: Option<Arc<rustls::ServerConfig>>,
    websocket: bool,
) {
    let Some(config) = config else { return };
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    match tokio::time::timeout(shared.config.connect_timeout, acceptor.accept(stream)).await {
        Ok(Ok(stream)) if websocket => ws::serve(tls::Socket::Tls(Box::new(stream)), peer, shared).await,
        Ok(Ok(stream)) => session::serve(connection::Transport::Tls(Box::new(stream)), peer, shared).await,
        Ok(Err(err)) => {
            shared.stats.security.tls_handshake_failed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            tracing::debug!(%peer, error = %err, "TLS handshake failed");
        }
        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
    }
}
