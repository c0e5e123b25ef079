//! `Command::GenerateCertificates`: rcgen's work and the file writes on a blocking thread, the
//! outcome back as `Event::CertificatesGenerated`.

use std::path::PathBuf;
use std::sync::Arc;

use crate::broker::certgen;
use crate::broker::options::DEFAULT_TLS_PORT;
use crate::protocol::{Event, EventSink};

/// Generate (or reuse) the certificate set in `dir`, default `tls` under the config directory.
pub async fn generate(dir: Option<PathBuf>, config_dir: Option<Arc<PathBuf>>, sink: EventSink) {
    let outcome = match dir.or_else(|| config_dir.map(|d| d.join("tls"))) {
        None => Err("no directory given and no config directory on this system".to_owned()),
        Some(dir) => match tokio::task::spawn_blocking(move || certgen::generate(&dir)).await {
            Ok(Ok(set)) => {
                let usage =
                    format!("Serve them with:  mqscope broker --tls-generate {}\n{}", set.dir.display(), set.usage(DEFAULT_TLS_PORT));
                Ok((set.dir, usage))
            }
            Ok(Err(err)) => Err(err.to_string()),
            Err(err) => Err(format!("generating certificates failed: {err}")),
        },
    };
    sink.control(Event::CertificatesGenerated(outcome)).await;
}
