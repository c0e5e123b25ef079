//! TLS client configuration from a profile's PEM files: trusted CAs (or the system's roots), an
//! optional client certificate for mutual TLS, a server-name override, and "skip verification"
//! for testing.
//!
//! Owns: [`client_config`] and its errors, which name the profile field at fault.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject as _;

use crate::model::profile::TlsOptions;

/// A TLS setting that cannot be used, with the field it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct TlsSetupError {
    /// The profile field ("CA file", "Client certificate", …).
    pub field: &'static str,
    /// What is wrong.
    pub message: String,
}

fn setup_err(field: &'static str, message: impl Into<String>) -> TlsSetupError {
    TlsSetupError { field, message: message.into() }
}

fn read_certs(field: &'static str, path: &str) -> Result<Vec<CertificateDer<'static>>, TlsSetupError> {
    let bytes = std::fs::read(path).map_err(|e| setup_err(field, format!("cannot read {path}: {e}")))?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<_, _>>()
        .map_err(|e| setup_err(field, format!("{path} is not a PEM certificate file: {e}")))?;
    if certs.is_empty() {
        return Err(setup_err(field, format!("{path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)")));
    }
    Ok(certs)
}

/// Check that every file the options name can be read and parsed, without building a config.
///
/// # Errors
/// The first unusable file, with its field.
pub fn check_files(opts: &TlsOptions) -> Result<(), TlsSetupError> {
    build(opts).map(|_| ())
}

/// The rustls client configuration for these options.
///
/// # Errors
/// An unreadable or invalid file, or a bad server name.
pub fn client_config(opts: &TlsOptions) -> Result<Arc<ClientConfig>, TlsSetupError> {
    build(opts).map(Arc::new)
}

fn build(opts: &TlsOptions) -> Result<ClientConfig, TlsSetupError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| setup_err("TLS", e.to_string()))?;
    let mut roots = RootCertStore::empty();
    if opts.ca_file.is_empty() {
        for cert in rustls_native_certs::load_native_certs().certs {
            roots.add(cert).ok();
        }
    } else {
        for cert in read_certs("CA file", &opts.ca_file)? {
            roots.add(cert).map_err(|e| setup_err("CA file", format!("{}: {e}", opts.ca_file)))?;
        }
    }
    let roots = Arc::new(roots);
    let builder = if opts.insecure_skip_verify {
        builder.dangerous().with_custom_certificate_verifier(Arc::new(AcceptAnyCert(provider)))
    } else if opts.server_name.is_empty() {
        builder.with_root_certificates(Arc::clone(&roots))
    } else {
        let name = ServerName::try_from(opts.server_name.clone()).map_err(|e| setup_err("Server name", e.to_string()))?;
        let inner = rustls::client::WebPkiServerVerifier::builder_with_provider(roots, provider)
            .build()
            .map_err(|e| setup_err("CA file", e.to_string()))?;
        builder.dangerous().with_custom_certificate_verifier(Arc::new(OverrideName { inner, name }))
    };
    if opts.client_cert_file.is_empty() {
        return Ok(builder.with_no_client_auth());
    }
    let certs = read_certs("Client certificate", &opts.client_cert_file)?;
    let key_bytes =
        std::fs::read(&opts.client_key_file).map_err(|e| setup_err("Client key", format!("cannot read {}: {e}", opts.client_key_file)))?;
    let key = PrivateKeyDer::from_pem_slice(&key_bytes)
        .map_err(|e| setup_err("Client key", format!("{} is not a PEM private key: {e}", opts.client_key_file)))?;
    builder.with_client_auth_cert(certs, key).map_err(|e| setup_err("Client key", e.to_string()))
}

/// Verifies against the trusted roots, but for a chosen name instead of the host dialled.
#[derive(Debug)]
struct OverrideName {
    inner: Arc<rustls::client::WebPkiServerVerifier>,
    name: ServerName<'static>,
}

impl ServerCertVerifier for OverrideName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.inner.verify_server_cert(end_entity, intermediates, &self.name, ocsp, now)
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(m, c, d)
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(m, c, d)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// "Skip certificate verification": accepts any certificate (signatures are still checked so the handshake completes).
#[derive(Debug)]
struct AcceptAnyCert(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(m, c, d, &self.0.signature_verification_algorithms)
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(m, c, d, &self.0.signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Broker address and transport for rumqttc.
pub(crate) fn endpoint(p: &crate::model::profile::Profile) -> Result<(String, Option<rumqttc::Transport>), String> {
    let tls = || client_config(&p.tls).map(rumqttc::TlsConfiguration::Rustls).map_err(|e| e.to_string());
    Ok(match p.transport {
        crate::model::profile::Transport::Mqtt => (p.host.clone(), None),
        crate::model::profile::Transport::Mqtts => (p.host.clone(), Some(rumqttc::Transport::Tls(tls()?))),
        crate::model::profile::Transport::Ws => (format!("ws://{}:{}{}", p.host, p.port, p.ws_path), Some(rumqttc::Transport::Ws)),
        crate::model::profile::Transport::Wss => {
            (format!("wss://{}:{}{}", p.host, p.port, p.ws_path), Some(rumqttc::Transport::Wss(tls()?)))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_bogus_files_name_their_field() {
        let missing = TlsOptions { ca_file: "/nonexistent/ca.pem".into(), ..TlsOptions::default() };
        let err = check_files(&missing).unwrap_err();
        assert_eq!(err.field, "CA file");
        assert!(err.message.contains("cannot read /nonexistent/ca.pem"), "{err}");
        let bogus = std::env::temp_dir().join(format!("mqscope-bogus-{}.pem", std::process::id()));
        std::fs::write(&bogus, "not a certificate").expect("write");
        let err = check_files(&TlsOptions { ca_file: bogus.display().to_string(), ..TlsOptions::default() }).unwrap_err();
        assert!(err.message.contains("no PEM certificate"), "{err}");
        std::fs::remove_file(bogus).ok();
    }

    #[test]
    fn insecure_and_system_roots_build() {
        check_files(&TlsOptions { insecure_skip_verify: true, ..TlsOptions::default() }).expect("insecure");
        check_files(&TlsOptions::default()).expect("system roots (possibly none)");
    }
}
