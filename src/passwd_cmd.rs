//! `mqscope passwd FILE USER` (asks for the password) and `mqscope passwd -b FILE USER PASSWORD`:
//! like `mosquitto_passwd [-b]`, adds or updates one user's `$7$` line; the file is created (mode
//! 0600) if needed. The password is never echoed nor logged.

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::Path;

use anyhow::{Context as _, bail};

use crate::broker::security::passwd;

/// Write `user`'s line into `file`; the password from `password` (batch) or asked for twice.
///
/// # Errors
/// A missing password with `-b`, passwords that differ, or a file that cannot be read or written.
pub fn run(file: &Path, user: &str, batch: bool, password: Option<String>) -> anyhow::Result<()> {
    let password = match (batch, password) {
        (true, Some(password)) => password,
        (true, None) => bail!("-b needs the password: mqscope passwd -b FILE USER PASSWORD"),
        (false, Some(_)) => bail!("the password goes on the command line only with -b"),
        (false, None) => {
            let first = ask("Password: ")?;
            let again = ask("Reenter password: ")?;
            if first != again {
                bail!("the passwords do not match");
            }
            first
        }
    };
    let line = passwd::hash_line(user, &password).map_err(anyhow::Error::msg)?;
    let existing = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(err) => return Err(err).with_context(|| format!("reading {}", file.display())),
    };
    write_private(file, passwd::set_user(&existing, user, &line).as_bytes()).with_context(|| format!("writing {}", file.display()))
}

/// Replace `file` with `bytes`, readable by the user only.
fn write_private(file: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(file)?.write_all(bytes)
}

/// Ask on stderr, read a line from stdin; on a terminal the typing is not echoed (`stty -echo`).
fn ask(prompt: &str) -> anyhow::Result<String> {
    eprint!("{prompt}");
    std::io::stderr().flush().ok();
    let terminal = std::io::stdin().is_terminal();
    if terminal {
        stty("-echo");
    }
    let mut line = String::new();
    let read = std::io::stdin().lock().read_line(&mut line);
    if terminal {
        stty("echo");
        eprintln!();
    }
    read.context("reading the password")?;
    Ok(line.trim_end_matches(['\n', '\r']).to_owned())
}

/// Set a terminal mode on stdin's terminal; best effort (without `stty` the password is echoed).
fn stty(mode: &str) {
    std::process::Command::new("stty").arg(mode).stdin(std::process::Stdio::inherit()).status().ok();
}
