//! [`PersistOptions`]: how the broker is told to persist, on the command line
//! (`mqscope broker --data-dir DIR`) and in a config file (the same struct, embedded).

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Persistence of retained messages and sessions (off unless a data directory is given).
#[derive(clap::Args, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
// Unknown keys are refused by the configuration that flattens this group (`BrokerOptions`).
#[serde(default)]
pub struct PersistOptions {
    /// Keep retained messages and persistent sessions in this directory across restarts (a journal
    /// with checksums, compacted as it grows). Off when not given.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Group commit, milliseconds: a batch of changes is written and synced (one fsync) once this long
    /// after the previous batch began, or at once when it holds 64 changes. Acknowledgements of
    /// persisted messages wait for their batch; a light load costs at most one fsync per interval.
    #[arg(long, value_name = "MS", default_value_t = PersistOptions::DEFAULT_INTERVAL_MS)]
    pub persist_interval_ms: u64,
}

impl PersistOptions {
    /// Default batching interval.
    pub const DEFAULT_INTERVAL_MS: u64 = 5;

    /// The broker's persistence settings, if persistence is on.
    #[must_use]
    pub fn config(&self) -> Option<PersistConfig> {
        self.data_dir.as_ref().map(|dir| PersistConfig { dir: dir.clone(), interval: Duration::from_millis(self.persist_interval_ms) })
    }
}

impl Default for PersistOptions {
    fn default() -> Self {
        Self { data_dir: None, persist_interval_ms: Self::DEFAULT_INTERVAL_MS }
    }
}

/// Where and how often the broker persists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersistConfig {
    /// Directory of the journal (created if missing).
    pub dir: PathBuf,
    /// Batching interval: at most one fsync per interval (0: as fast as the disk goes).
    pub interval: Duration,
}

impl PersistConfig {
    /// Persist in `dir` with the default interval.
    #[must_use]
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into(), interval: Duration::from_millis(PersistOptions::DEFAULT_INTERVAL_MS) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_from_toml_with_defaults() {
        let o: PersistOptions = toml::from_str("data_dir = \"/var/lib/mqscope\"").expect("valid");
        assert_eq!(o.config(), Some(PersistConfig { dir: "/var/lib/mqscope".into(), interval: Duration::from_millis(5) }));
        let o: PersistOptions = toml::from_str("").expect("valid");
        assert_eq!(o, PersistOptions::default());
    }
}
