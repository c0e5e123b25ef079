//! Files in the user's config directory (`~/.config/mqscope` on Linux): connection profiles and saved
//! publish templates and decoder bindings. Only the runtime calls this, never the UI thread.
//!
//! Owns: where files live and how they are written: TOML, replaced atomically (write a temporary
//! file, then rename), readable only by the user (0600 on Unix).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::model::profile::{Profile, ProfileFile};
use crate::model::publish::TemplateFile;

/// Why a config file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// No home directory to put the config directory in.
    #[error("no config directory (is HOME set?)")]
    NoConfigDir,
    /// The file system said no.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML for what it should hold.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong, with line and column.
        message: String,
    },
}

/// The config directory, e.g. `~/.config/mqscope`; `MQSCOPE_CONFIG_DIR` overrides it (portable installs).
///
/// # Errors
/// Without a home directory.
pub fn config_dir() -> Result<PathBuf, StorageError> {
    if let Some(dir) = std::env::var_os("MQSCOPE_CONFIG_DIR") {
        return Ok(PathBuf::from(dir));
    }
    directories::ProjectDirs::from("org", "mqscope", "mqscope").map(|d| d.config_dir().to_path_buf()).ok_or(StorageError::NoConfigDir)
}

/// The templates file in a config directory (`None`: there is no config directory).
///
/// # Errors
/// Without a config directory.
pub fn templates_path(dir: Option<&Path>) -> Result<PathBuf, StorageError> {
    Ok(dir.ok_or(StorageError::NoConfigDir)?.join("templates.toml"))
}

/// The decoder bindings file in a config directory.
///
/// # Errors
/// Without a config directory.
pub fn decoders_path(dir: Option<&Path>) -> Result<PathBuf, StorageError> {
    Ok(dir.ok_or(StorageError::NoConfigDir)?.join("decoders.toml"))
}

/// The connection profiles file in a config directory.
///
/// # Errors
/// Without a config directory.
pub fn profiles_path(dir: Option<&Path>) -> Result<PathBuf, StorageError> {
    Ok(dir.ok_or(StorageError::NoConfigDir)?.join("profiles.toml"))
}

/// Read a TOML file; a missing file gives the default.
///
/// # Errors
/// An unreadable or invalid file (it is left untouched).
pub fn load_toml<T: serde::de::DeserializeOwned + Default>(path: &Path) -> Result<T, StorageError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(T::default()),
        Err(source) => return Err(StorageError::Io { path: path.to_owned(), source }),
    };
    toml::from_str(&text).map_err(|e| StorageError::Parse { path: path.to_owned(), message: e.to_string() })
}

/// Write a TOML file atomically, readable only by the user.
///
/// # Errors
/// When the directory or file cannot be written.
pub fn save_toml<T: serde::Serialize>(path: &Path, value: &T) -> Result<(), StorageError> {
    let text = toml::to_string_pretty(value).map_err(|e| StorageError::Parse { path: path.to_owned(), message: e.to_string() })?;
    write_private(path, text.as_bytes())
}

/// Read saved templates; a missing file is an empty list.
///
/// # Errors
/// An unreadable or invalid file (it is left untouched).
pub fn load_templates(path: &Path) -> Result<TemplateFile, StorageError> {
    load_toml(path)
}

/// Write templates atomically, readable only by the user.
///
/// # Errors
/// When the directory or file cannot be written.
pub fn save_templates(path: &Path, file: &TemplateFile) -> Result<(), StorageError> {
    save_toml(path, file)
}

/// Read saved profiles; a missing file is an empty list.
///
/// # Errors
/// An unreadable or invalid file (it is left untouched).
pub fn load_profiles(path: &Path) -> Result<ProfileFile, StorageError> {
    load_toml(path)
}

/// Write profiles (passwords only where the user asked), atomically, readable only by the user.
///
/// # Errors
/// When the directory or file cannot be written.
pub fn save_profiles(path: &Path, file: &ProfileFile) -> Result<(), StorageError> {
    let on_disk = ProfileFile { profiles: file.profiles.iter().map(Profile::for_disk).collect() };
    save_toml(path, &on_disk)
}

/// Replace `path` with `bytes`: a temporary file beside it (mode 0600), fsync, rename.
///
/// # Errors
/// When the directory or file cannot be written.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), StorageError> {
    let io = |source| StorageError::Io { path: path.to_owned(), source };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp).map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

/// `name` in the user's home directory (where a file goes when the user has not chosen a place):
/// no I/O, only the environment.
#[must_use]
pub fn in_home(name: &str) -> PathBuf {
    directories::UserDirs::new().map_or_else(|| PathBuf::from(name), |dirs| dirs.home_dir().join(name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::publish::{PayloadFormat, PublishForm, Template};

    #[test]
    fn templates_round_trip_through_a_private_file() {
        let dir = std::env::temp_dir().join(format!("mqscope-storage-{}", std::process::id()));
        let path = dir.join("templates.toml");
        assert_eq!(load_templates(&path).expect("missing is empty"), TemplateFile::default());
        let file = TemplateFile {
            templates: vec![Template {
                name: "kitchen".into(),
                form: PublishForm {
                    topic: "home/kitchen/temp".into(),
                    payload: "{\"t\": 21.5}".into(),
                    format: PayloadFormat::Json,
                    user_properties: vec![("unit".into(), "°C".into())],
                    ..PublishForm::default()
                },
            }],
            history: vec![PublishForm { topic: "a/b".into(), payload: "line 1\nline 2".into(), ..PublishForm::default() }],
        };
        save_templates(&path, &file).expect("save");
        assert_eq!(load_templates(&path).expect("load"), file);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, "template = 3").expect("corrupt");
        assert!(matches!(load_templates(&path), Err(StorageError::Parse { .. })));
        std::fs::remove_dir_all(&dir).ok();
    }
}
