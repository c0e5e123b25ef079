//! `Command::ConfigureBroker`: the window's TLS listener and access settings applied to the running
//! embedded broker. The password and ACL files take effect at once for every connection (nothing is
//! restarted, no session is lost); the TLS listeners (mqtts, wss) are replaced.

use std::net::{Ipv4Addr, SocketAddr};

use tokio::task::JoinHandle;

use crate::broker::security::SecurityFiles;
use crate::broker::tls::{self, TlsFiles};
use crate::broker::{self, Broker, TlsListener};
use crate::model::broker_security::BrokerSecuritySettings as Settings;

/// The TLS listeners (mqtts, wss) the window added.
#[derive(Debug, Default)]
pub struct Applied {
    listeners: Vec<JoinHandle<()>>,
}

impl Applied {
    /// Apply `settings`: the files are read and checked first, so that a mistake in one changes
    /// nothing. Returns what is in force now, or what went wrong.
    pub async fn apply(&mut self, broker: &Broker, settings: Settings) -> Result<String, String> {
        let files = SecurityFiles {
            allow_anonymous: settings.allow_anonymous,
            use_identity_as_username: false,
            password_file: Settings::path(&settings.password_file),
            acl_file: Settings::path(&settings.acl_file),
        };
        let tls_wanted = settings.tls_port.is_some() || settings.wss_port.is_some();
        let tls_files = if tls_wanted {
            Some(TlsFiles {
                certfile: Settings::path(&settings.certfile).ok_or("a TLS listener needs a certificate file")?,
                keyfile: Settings::path(&settings.keyfile).ok_or("a TLS listener needs a key file")?,
                cafile: Settings::path(&settings.cafile),
                require_certificate: settings.require_certificate,
            })
        } else {
            None
        };
        if settings.require_certificate && tls_wanted && Settings::path(&settings.cafile).is_none() {
            return Err("requiring client certificates needs a CA file".to_owned());
        }
        let loaded = tokio::task::spawn_blocking(move || {
            let policy = files.load()?;
            let config = tls_files.map(|f| tls::server_config(&f).map_err(|e| e.to_string())).transpose()?;
            Ok::<_, String>((policy, config))
        })
        .await
        .map_err(|e| e.to_string())??;
        let (policy, config) = loaded;
        // The old listeners let go of their ports first (re-applying on the same port must work);
        // a port that cannot be had then leaves that listener out, and says so.
        for old in self.listeners.drain(..) {
            old.abort();
            old.await.ok();
        }
        broker.set_security(policy);
        let mut summary = Vec::new();
        if let Some(config) = config {
            for (port, websocket, what) in [(settings.tls_port, false, "TLS"), (settings.wss_port, true, "WSS")] {
                let Some(port) = port else { continue };
                let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
                let socket = tokio::net::TcpListener::bind(addr)
                    .await
                    .map_err(|e| format!("access settings applied, but no {what} listener: cannot listen on {addr}: {e}"))?;
                let addr = socket.local_addr().map_err(|e| e.to_string())?;
                summary.push(format!("{what} on {addr}"));
                let listener = TlsListener { listener: socket, config: std::sync::Arc::clone(&config) };
                self.listeners.push(tokio::spawn(broker::serve_secure(listener, websocket, broker.clone())));
            }
        }
        summary.extend([
            if settings.allow_anonymous { "anonymous clients accepted" } else { "anonymous clients refused" }.to_owned(),
            if settings.password_file.trim().is_empty() { "no password file".to_owned() } else { "passwords checked".to_owned() },
            if settings.acl_file.trim().is_empty() { "no ACL".to_owned() } else { "ACL in force".to_owned() },
        ]);
        Ok(summary.join(" · "))
    }
}
