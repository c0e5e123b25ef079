//! `mqscope broker` from its [`BrokerOptions`]: first everything that can be wrong with the
//! configuration is found ([`prepare`]: certificates generated or loaded, password and ACL files
//! parsed, every listener bound), so a broken setup never starts half-configured; then the
//! listeners are served ([`Prepared::serve`]), and SIGHUP re-reads the password and ACL files
//! without dropping a connection.
//!
//! Owns: [`Prepared`], [`LaunchError`] (a configuration error: the binary exits with code 2).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;

use super::certgen::{self, CertSet};
use super::options::BrokerOptions;
use super::security::SecurityFiles;
use super::tls::{self, TlsFiles};
use super::{Broker, Listeners, SecureListeners, TlsListener};

/// Why the broker could not start.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// The configuration is wrong (a file, a certificate, a key): exit code 2.
    #[error("{0}")]
    Config(String),
    /// The data directory cannot be used (persistence).
    #[error("{0}")]
    Store(String),
    /// A listener could not be bound (the port is in use, the address is not ours).
    #[error("cannot listen on {addr} ({what}): {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Which listener.
        what: &'static str,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// A broker ready to serve: configuration checked, listeners bound.
#[derive(Debug)]
pub struct Prepared {
    /// The effective options.
    pub options: BrokerOptions,
    /// Where the policy is read from (again on SIGHUP).
    pub security: SecurityFiles,
    /// The certificates generated or reused by `--tls-generate`.
    pub certs: Option<CertSet>,
    listeners: Listeners,
    secure: SecureListeners,
    broker: Broker,
}

impl Prepared {
    /// The broker handle (for tests and the explorer).
    #[must_use]
    pub const fn broker(&self) -> &Broker {
        &self.broker
    }

    /// Every bound address: (what, address).
    #[must_use]
    pub fn local_addrs(&self) -> Vec<(&'static str, SocketAddr)> {
        let mut out = Vec::new();
        let mut add = |what, l: Option<&TcpListener>| {
            if let Some(addr) = l.and_then(|l| l.local_addr().ok()) {
                out.push((what, addr));
            }
        };
        add("mqtt", Some(&self.listeners.tcp));
        add("ws", self.listeners.ws.as_ref());
        add("mqtts", self.secure.tls.as_ref().map(|t| &t.listener));
        add("wss", self.secure.wss.as_ref().map(|t| &t.listener));
        out
    }

    /// Serve until `shutdown` completes; SIGHUP (Unix) reloads the password and ACL files.
    ///
    /// # Errors
    /// When accepting fails for good.
    pub async fn serve(self, shutdown: impl Future) -> Result<(), super::BrokerError> {
        let Self { security, listeners, secure, broker, .. } = self;
        let reload = tokio::spawn(reload_on_sighup(broker.clone(), security));
        let result = super::run_all(listeners, secure, broker, shutdown).await;
        reload.abort();
        result
    }
}

/// Check the configuration and bind every listener; nothing is served yet.
///
/// # Errors
/// [`LaunchError::Config`] for files and certificates (the message names the file, and the line
/// where there is one), [`LaunchError::Bind`] for a port that cannot be had.
pub async fn prepare(options: BrokerOptions) -> Result<Prepared, LaunchError> {
    let certs = match &options.tls_generate {
        Some(dir) => Some(certgen::generate(dir).map_err(|err| LaunchError::Config(format!("tls_generate: {err}")))?),
        None => None,
    };
    let tls_config = tls_files(&options, certs.as_ref())
        .map(|files| tls::server_config(&files).map_err(|err| LaunchError::Config(err.to_string())))
        .transpose()?;
    let security = SecurityFiles {
        allow_anonymous: options.anonymous_allowed(),
        use_identity_as_username: options.use_identity_as_username,
        password_file: options.password_file.clone(),
        acl_file: options.acl_file.clone(),
    };
    let policy = security.load().map_err(LaunchError::Config)?;
    let tcp = bind(options.tcp_addr(), "mqtt").await?;
    let ws = match options.ws_addr() {
        Some(addr) => Some(bind(addr, "ws").await?),
        None => None,
    };
    let mut secure = SecureListeners::default();
    if let Some(config) = &tls_config {
        if let Some(addr) = options.tls_addr() {
            secure.tls = Some(TlsListener { listener: bind(addr, "mqtts").await?, config: Arc::clone(config) });
        }
        if let Some(addr) = options.wss_addr() {
            secure.wss = Some(TlsListener { listener: bind(addr, "wss").await?, config: Arc::clone(config) });
        }
    }
    let config = options.broker_config();
    let broker = match config.persistence.clone() {
        // State restored before the port serves anyone; reading the journal blocks: off the workers.
        Some(persist) => tokio::task::spawn_blocking(move || Broker::open(config, None))
            .await
            .map_err(|e| LaunchError::Store(format!("restoring the broker's state: {e}")))?
            .map_err(|e| LaunchError::Store(format!("cannot use the data directory {}: {e}", persist.dir.display())))?,
        None => Broker::new(config, None),
    };
    broker.set_security(policy);
    Ok(Prepared { options, security, certs, listeners: Listeners { tcp, ws }, secure, broker })
}

/// The TLS files in use: `--tls-generate`'s, or `--certfile`/`--keyfile`/`--cafile`; `None` without TLS listeners.
fn tls_files(options: &BrokerOptions, certs: Option<&CertSet>) -> Option<TlsFiles> {
    if options.tls_addr().is_none() && options.wss_addr().is_none() {
        return None;
    }
    match certs {
        Some(set) => Some(TlsFiles {
            certfile: options.certfile.clone().unwrap_or_else(|| set.server()),
            keyfile: options.keyfile.clone().unwrap_or_else(|| set.server_key()),
            cafile: Some(options.cafile.clone().unwrap_or_else(|| set.ca())),
            require_certificate: options.require_certificate,
        }),
        None => Some(TlsFiles {
            certfile: options.certfile.clone()?,
            keyfile: options.keyfile.clone()?,
            cafile: options.cafile.clone(),
            require_certificate: options.require_certificate,
        }),
    }
}

async fn bind(addr: SocketAddr, what: &'static str) -> Result<TcpListener, LaunchError> {
    TcpListener::bind(addr).await.map_err(|source| LaunchError::Bind { addr, what, source })
}

/// Re-read the password and ACL files on every SIGHUP; a file that no longer parses keeps the
/// policy in force (and says why). Connections stay up: their next check uses the new policy.
async fn reload_on_sighup(broker: Broker, files: SecurityFiles) {
    #[cfg(unix)]
    {
        let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else {
            tracing::warn!("cannot watch SIGHUP: no reload of the password and ACL files");
            return;
        };
        while hup.recv().await.is_some() {
            match files.load() {
                Ok(policy) => {
                    broker.set_security(policy);
                    tracing::info!("SIGHUP: password and ACL files reloaded");
                }
                Err(err) => tracing::warn!(error = %err, "SIGHUP: reload failed; the previous policy stays in force"),
            }
        }
    }
    #[cfg(not(unix))]
    {
        drop((broker, files));
    }
}
