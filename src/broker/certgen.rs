//! `--tls-generate DIR`: a CA, a server certificate (localhost, 127.0.0.1, ::1 and the host name)
//! and a client certificate, made with rcgen, so that a device can be tested over mutual TLS
//! within a minute. Files are readable by the user only and never overwritten: a complete set is
//! reused, a partial one is an error naming what is missing.
//!
//! Owns: [`generate`], [`CertSet`] (the paths, and how to use them).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose};

/// The files, in the order they are written.
pub const FILES: [&str; 5] = ["ca.pem", "server.pem", "server-key.pem", "client.pem", "client-key.pem"];

/// Common Name of the client certificate (the user name under `use_identity_as_username`).
pub const CLIENT_CN: &str = "mqscope-client";

/// Why no certificate set is available.
#[derive(Debug, thiserror::Error)]
pub enum CertGenError {
    /// Some of the files are there, some not: we neither mix nor overwrite.
    #[error("{dir}: {present} exist but {missing} do not; remove them or complete the set (nothing is overwritten)")]
    Partial {
        /// The directory.
        dir: String,
        /// Files found.
        present: String,
        /// Files missing.
        missing: String,
    },
    /// A file or the directory could not be written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// rcgen failed.
    #[error("generating certificates: {0}")]
    Rcgen(#[from] rcgen::Error),
}

/// A complete set of certificate files in one directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertSet {
    /// The directory.
    pub dir: PathBuf,
    /// Whether the files were already there.
    pub reused: bool,
}

impl CertSet {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
    /// The CA certificate (clients trust it; client certificates chain to it).
    #[must_use]
    pub fn ca(&self) -> PathBuf {
        self.path(FILES[0])
    }
    /// The server certificate.
    #[must_use]
    pub fn server(&self) -> PathBuf {
        self.path(FILES[1])
    }
    /// The server's key.
    #[must_use]
    pub fn server_key(&self) -> PathBuf {
        self.path(FILES[2])
    }
    /// The client certificate.
    #[must_use]
    pub fn client(&self) -> PathBuf {
        self.path(FILES[3])
    }
    /// The client's key.
    #[must_use]
    pub fn client_key(&self) -> PathBuf {
        self.path(FILES[4])
    }

    /// How to use them: the files, and mosquitto_sub / mosquitto_pub command lines for a broker on `port`.
    #[must_use]
    pub fn usage(&self, port: u16) -> String {
        let tls = format!(
            "-h localhost -p {port} --cafile {} --cert {} --key {}",
            self.ca().display(),
            self.client().display(),
            self.client_key().display()
        );
        format!(
            "TLS certificates in {dir} ({how}):\n  CA certificate      {ca}\n  server certificate  {server} (localhost, 127.0.0.1, ::1, the host name)\n  server key          {server_key}\n  client certificate  {client} (CN {CLIENT_CN})\n  client key          {client_key}\nTry them:\n  mosquitto_sub {tls} -t 'test/#' -v\n  mosquitto_pub {tls} -t test/hello -m hi\n",
            dir = self.dir.display(),
            how = if self.reused { "reused" } else { "created" },
            ca = self.ca().display(),
            server = self.server().display(),
            server_key = self.server_key().display(),
            client = self.client().display(),
            client_key = self.client_key().display(),
        )
    }
}

/// The machine's host name, when it has one we can read.
fn host_name() -> Option<String> {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty() && h != "localhost")
}

/// Create the five files in `dir` (created if needed), or reuse them if all are there.
///
/// # Errors
/// A partial set, a file that cannot be written, or rcgen failing.
pub fn generate(dir: &Path) -> Result<CertSet, CertGenError> {
    let present: Vec<&str> = FILES.iter().copied().filter(|f| dir.join(f).exists()).collect();
    if present.len() == FILES.len() {
        return Ok(CertSet { dir: dir.to_path_buf(), reused: true });
    }
    if !present.is_empty() {
        let missing: Vec<&str> = FILES.iter().copied().filter(|f| !present.contains(f)).collect();
        return Err(CertGenError::Partial { dir: dir.display().to_string(), present: present.join(", "), missing: missing.join(", ") });
    }
    std::fs::create_dir_all(dir).map_err(|source| CertGenError::Io { path: dir.to_path_buf(), source })?;

    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, "mqscope local CA");
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let ca_cert = ca_params.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca_params, ca_key);

    let mut names = vec!["localhost".to_owned(), "127.0.0.1".to_owned(), "::1".to_owned()];
    names.extend(host_name());
    let server_key = KeyPair::generate()?;
    let mut server_params = CertificateParams::new(names)?;
    server_params.distinguished_name.push(DnType::CommonName, "localhost");
    server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server_cert = server_params.signed_by(&server_key, &issuer)?;

    let client_key = KeyPair::generate()?;
    let mut client_params = CertificateParams::new(Vec::<String>::new())?;
    client_params.distinguished_name.push(DnType::CommonName, CLIENT_CN);
    client_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let client_cert = client_params.signed_by(&client_key, &issuer)?;

    let contents = [ca_cert.pem(), server_cert.pem(), server_key.serialize_pem(), client_cert.pem(), client_key.serialize_pem()];
    for (name, text) in FILES.iter().zip(contents) {
        write_private(&dir.join(name), text.as_bytes())?;
    }
    Ok(CertSet { dir: dir.to_path_buf(), reused: false })
}

/// Write a new file readable by the user only; an existing file is an error, never overwritten.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), CertGenError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let io = |source| CertGenError::Io { path: path.to_path_buf(), source };
    let mut file = options.open(path).map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("mqscope-certgen-{tag}-{}", std::process::id()));
        std::fs::remove_dir_all(&dir).ok();
        dir
    }

    #[test]
    fn a_set_is_created_private_then_reused_and_a_partial_one_refused() {
        let dir = temp_dir("unit");
        let set = generate(&dir).expect("generated");
        assert!(!set.reused);
        #[cfg(unix)]
        for name in FILES {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.join(name)).expect("file").permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{name}");
        }
        let before = std::fs::read(set.server()).expect("server.pem");
        let again = generate(&dir).expect("reused");
        assert!(again.reused);
        assert_eq!(std::fs::read(again.server()).expect("server.pem"), before, "never overwritten");
        let tls = crate::broker::tls::TlsFiles {
            certfile: set.server(),
            keyfile: set.server_key(),
            cafile: Some(set.ca()),
            require_certificate: true,
        };
        crate::broker::tls::server_config(&tls).expect("usable by the TLS listener");
        // A key that does not belong to the certificate: refused at start, both files named.
        let mismatched = crate::broker::tls::TlsFiles { keyfile: set.client_key(), ..tls.clone() };
        let err = crate::broker::tls::server_config(&mismatched).expect_err("the client's key is not the server's");
        assert!(
            err.to_string().contains("the key in") && err.to_string().contains("client-key.pem does not match the certificate in"),
            "{err}"
        );
        let client = crate::broker::tls::load_certs(&set.client()).expect("client.pem");
        assert_eq!(crate::broker::tls::common_name(&client[0]).as_deref(), Some(CLIENT_CN));
        assert!(set.usage(8883).contains(&format!("--cafile {}", set.ca().display())));
        std::fs::remove_file(set.client_key()).expect("remove");
        let err = generate(&dir).expect_err("partial");
        assert!(err.to_string().contains("client-key.pem"), "{err}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
