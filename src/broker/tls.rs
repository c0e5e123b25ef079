//! TLS for the broker's listeners (mqtts, wss): the rustls server configuration from PEM files,
//! with optional client certificates checked against a CA (mutual TLS), TLS 1.2 and 1.3, the ring
//! provider (as the explorer's own client uses).
//!
//! Owns: [`server_config`] and its [`TlsError`] (which names the file at fault), [`Socket`] (a
//! TCP or TLS byte stream, what a WebSocket runs over), [`common_name`] (a certificate's CN, for
//! `use_identity_as_username`).

use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::ServerConfig;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;

/// Why the TLS configuration could not be built; always names the file.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The file holds no PEM item of the kind needed, or a broken one.
    #[error("{}: {what}", path.display())]
    Pem {
        /// The file.
        path: PathBuf,
        /// What is missing or wrong.
        what: String,
    },
    /// The key is not the certificate's.
    #[error("the key in {} does not match the certificate in {}", keyfile.display(), certfile.display())]
    KeyMismatch {
        /// The certificate.
        certfile: PathBuf,
        /// The key.
        keyfile: PathBuf,
    },
    /// rustls refused the certificate, the key, or their pairing.
    #[error("{}: {source}", path.display())]
    Rustls {
        /// The file most likely at fault.
        path: PathBuf,
        /// rustls's reason.
        #[source]
        source: rustls::Error,
    },
}

/// The PEM files of a TLS listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// Server certificate chain.
    pub certfile: PathBuf,
    /// Server private key.
    pub keyfile: PathBuf,
    /// CA that client certificates must chain to; `None`: client certificates are not asked for.
    pub cafile: Option<PathBuf>,
    /// Refuse clients without a valid certificate (needs `cafile`).
    pub require_certificate: bool,
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read { path: path.to_path_buf(), source })
}

/// Every certificate in a PEM file (at least one).
///
/// # Errors
/// When the file cannot be read, or holds no certificate.
pub fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = read(path)?;
    let certs: Vec<_> = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<_, _>>()
        .map_err(|err| TlsError::Pem { path: path.to_path_buf(), what: format!("not a PEM certificate file ({err})") })?;
    if certs.is_empty() {
        return Err(TlsError::Pem { path: path.to_path_buf(), what: "no CERTIFICATE in this file".into() });
    }
    Ok(certs)
}

fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let bytes = read(path)?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|err| TlsError::Pem {
        path: path.to_path_buf(),
        what: format!("no private key (PKCS#8, PKCS#1 or SEC1 PEM) in this file ({err})"),
    })
}

/// The ring provider, as everywhere in mqscope.
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A server configuration for these files: TLS 1.2 and 1.3; with a CA file, client certificates
/// are asked for and checked against it (required, or optional and then only checked when sent).
///
/// # Errors
/// A file that cannot be read, holds no usable PEM item, or a key that does not match the certificate.
pub fn server_config(files: &TlsFiles) -> Result<Arc<ServerConfig>, TlsError> {
    let certs = load_certs(&files.certfile)?;
    let key = load_key(&files.keyfile)?;
    let builder = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|source| TlsError::Rustls { path: files.certfile.clone(), source })?;
    let builder = match &files.cafile {
        Some(cafile) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in load_certs(cafile)? {
                roots.add(cert).map_err(|source| TlsError::Rustls { path: cafile.clone(), source })?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider());
            let verifier = if files.require_certificate { verifier } else { verifier.allow_unauthenticated() };
            let verifier =
                verifier.build().map_err(|err| TlsError::Pem { path: cafile.clone(), what: format!("unusable as a client CA ({err})") })?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let config = builder.with_single_cert(certs, key).map_err(|source| match source {
        // As often the key file's fault as the certificate's: both are named.
        rustls::Error::InconsistentKeys(_) => TlsError::KeyMismatch { certfile: files.certfile.clone(), keyfile: files.keyfile.clone() },
        source => TlsError::Rustls { path: files.certfile.clone(), source },
    })?;
    Ok(Arc::new(config))
}

/// A byte stream a WebSocket runs over: plain TCP (ws://) or TLS (wss://).
#[derive(Debug)]
pub enum Socket {
    /// ws://
    Tcp(TcpStream),
    /// wss://
    Tls(Box<TlsStream<TcpStream>>),
}

impl From<TcpStream> for Socket {
    fn from(stream: TcpStream) -> Self {
        Self::Tcp(stream)
    }
}

impl Socket {
    /// The client's certificate (the first of its chain), when it sent one over TLS.
    #[must_use]
    pub fn peer_certificate(&self) -> Option<&CertificateDer<'static>> {
        match self {
            Self::Tcp(_) => None,
            Self::Tls(tls) => tls.get_ref().1.peer_certificates()?.first(),
        }
    }
}

impl AsyncRead for Socket {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            Self::Tls(s) => Pin::new(&mut **s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Socket {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            Self::Tls(s) => Pin::new(&mut **s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Tcp(s) => Pin::new(s).poll_flush(cx),
            Self::Tls(s) => Pin::new(&mut **s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            Self::Tls(s) => Pin::new(&mut **s).poll_shutdown(cx),
        }
    }
}

/// The subject Common Name of a DER certificate (the last CN if there are several, as mosquitto
/// takes it), or `None` when it has none or the DER is not a certificate.
#[must_use]
pub fn common_name(cert: &[u8]) -> Option<String> {
    // Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version?, serial, signature, issuer, validity, subject, … } … }
    let (_, cert_body, _) = der(cert)?;
    let (_, mut tbs, _) = der(cert_body)?;
    let mut fields = Vec::with_capacity(6);
    while fields.len() < 6 && !tbs.is_empty() {
        let (tag, body, rest) = der(tbs)?;
        if !(fields.is_empty() && tag == 0xA0) {
            fields.push(body);
        }
        tbs = rest;
    }
    // serial, signature, issuer, validity, subject
    let mut subject = *fields.get(4)?;
    let mut cn = None;
    while !subject.is_empty() {
        let (_, set, rest) = der(subject)?; // RelativeDistinguishedName SET
        subject = rest;
        let mut attrs = set;
        while !attrs.is_empty() {
            let (_, attr, rest) = der(attrs)?; // AttributeTypeAndValue SEQUENCE { OID, value }
            attrs = rest;
            let (oid_tag, oid, value) = der(attr)?;
            if oid_tag == 0x06 && oid == [0x55, 0x04, 0x03] {
                let (_, text, _) = der(value)?;
                cn = Some(String::from_utf8_lossy(text).into_owned());
            }
        }
    }
    cn
}

/// One DER item: (tag, contents, what follows). Definite lengths only, as DER requires.
fn der(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, mut rest) = rest.split_first()?;
    let len = if first & 0x80 == 0 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let (bytes, after) = rest.split_at_checked(n)?;
        rest = after;
        bytes.iter().fold(0usize, |acc, &b| (acc << 8) | usize::from(b))
    };
    let (body, after) = rest.split_at_checked(len)?;
    Some((tag, body, after))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_common_name_is_read_from_a_certificate() {
        let mut params = rcgen::CertificateParams::new(vec!["localhost".into()]).expect("params");
        params.distinguished_name.push(rcgen::DnType::OrganizationName, "mqscope test");
        params.distinguished_name.push(rcgen::DnType::CommonName, "device-42");
        let key = rcgen::KeyPair::generate().expect("key");
        let cert = params.self_signed(&key).expect("cert");
        assert_eq!(common_name(cert.der()).as_deref(), Some("device-42"));
        assert_eq!(common_name(b"not der"), None);
    }

    #[test]
    fn a_bad_certificate_file_is_named() {
        let dir = std::env::temp_dir().join(format!("mqscope-tls-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let bogus = dir.join("bogus.pem");
        std::fs::write(&bogus, "hello").expect("write");
        let files = TlsFiles { certfile: bogus.clone(), keyfile: bogus.clone(), cafile: None, require_certificate: false };
        let err = server_config(&files).expect_err("no certificate");
        assert!(err.to_string().contains("bogus.pem") && err.to_string().contains("no CERTIFICATE"), "{err}");
        let missing = TlsFiles { certfile: dir.join("missing.pem"), ..files };
        let err = server_config(&missing).expect_err("missing");
        assert!(err.to_string().contains("missing.pem"), "{err}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
