//! Password files in mosquitto_passwd's format: one `user:hash` line per user, the hash
//! `$7$ITERATIONS$SALT$HASH` (PBKDF2-HMAC-SHA512, base64 salt and hash; mosquitto 2's default) or
//! `$6$SALT$HASH` (SHA-512 of password then salt; mosquitto 1.x files). Existing files work as they are.
//!
//! Owns: [`PasswordFile`] (parse, check, write one line). Checking an unknown user costs the same
//! as checking a known one: the password is hashed against a dummy entry, so the time taken does
//! not tell which user names exist.

use std::num::NonZeroU32;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::{digest, pbkdf2, rand::SecureRandom as _};

/// mosquitto_passwd's iteration count for `$7$` (mosquitto 2.0 default).
pub const DEFAULT_ITERATIONS: u32 = 101;
const SALT_LEN: usize = 12;
const HASH_LEN: usize = 64;

/// One user's stored hash.
#[derive(Clone, PartialEq, Eq)]
enum Hash {
    /// `$7$`: PBKDF2-HMAC-SHA512.
    Pbkdf2 { iterations: NonZeroU32, salt: Vec<u8>, hash: Vec<u8> },
    /// `$6$`: SHA-512(password ‖ salt).
    Sha512 { salt: Vec<u8>, hash: Vec<u8> },
}

impl std::fmt::Debug for Hash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Pbkdf2 { .. } => "$7$…",
            Self::Sha512 { .. } => "$6$…",
        })
    }
}

impl Hash {
    fn parse(text: &str) -> Result<Self, String> {
        let parts: Vec<&str> = text.split('$').collect();
        let b64 = |s: &str, what: &str| STANDARD.decode(s).map_err(|_| format!("{what} is not base64"));
        match parts.as_slice() {
            ["", "7", iterations, salt, hash] => {
                let iterations = iterations.parse::<NonZeroU32>().map_err(|_| "bad iteration count".to_owned())?;
                Ok(Self::Pbkdf2 { iterations, salt: b64(salt, "salt")?, hash: b64(hash, "hash")? })
            }
            ["", "6", salt, hash] => Ok(Self::Sha512 { salt: b64(salt, "salt")?, hash: b64(hash, "hash")? }),
            _ => Err("not a $7$ (PBKDF2-SHA512) or $6$ (SHA-512) mosquitto_passwd hash".to_owned()),
        }
    }

    /// Constant-time comparison of the password's hash with the stored one.
    fn verify(&self, password: &[u8]) -> bool {
        match self {
            Self::Pbkdf2 { iterations, salt, hash } => {
                pbkdf2::verify(pbkdf2::PBKDF2_HMAC_SHA512, *iterations, salt, password, hash).is_ok()
            }
            Self::Sha512 { salt, hash } => {
                let mut ctx = digest::Context::new(&digest::SHA512);
                ctx.update(password);
                ctx.update(salt);
                let computed = ctx.finish();
                // Constant time: fold the differences, do not stop at the first.
                computed.as_ref().len() == hash.len() && computed.as_ref().iter().zip(hash).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
            }
        }
    }

    fn to_line_hash(&self) -> String {
        match self {
            Self::Pbkdf2 { iterations, salt, hash } => format!("$7${iterations}${}${}", STANDARD.encode(salt), STANDARD.encode(hash)),
            Self::Sha512 { salt, hash } => format!("$6${}${}", STANDARD.encode(salt), STANDARD.encode(hash)),
        }
    }
}

/// A parsed password file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordFile {
    users: Vec<(String, Hash)>,
    /// Hashed against when the user is unknown, with the cost of a real entry.
    dummy: Hash,
}

/// Why a password file could not be used: the line and what is wrong with it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("line {line}: {message}")]
pub struct PasswdError {
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl PasswordFile {
    /// Parse mosquitto_passwd's format; blank lines and `#` comments are skipped.
    ///
    /// # Errors
    /// A line without `user:hash`, or a hash of another kind.
    pub fn parse(text: &str) -> Result<Self, PasswdError> {
        let mut users = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() || line.trim_start().starts_with('#') {
                continue;
            }
            let error = |message: String| PasswdError { line: i + 1, message };
            let Some((user, hash)) = line.rsplit_once(':') else {
                return Err(error("expected user:hash".to_owned()));
            };
            users.push((user.to_owned(), Hash::parse(hash).map_err(error)?));
        }
        let iterations = users
            .iter()
            .find_map(|(_, h)| match h {
                Hash::Pbkdf2 { iterations, .. } => Some(*iterations),
                Hash::Sha512 { .. } => None,
            })
            .unwrap_or(NonZeroU32::MIN.saturating_add(DEFAULT_ITERATIONS - 1));
        let dummy = Hash::Pbkdf2 { iterations, salt: vec![0x5a; SALT_LEN], hash: vec![0; HASH_LEN] };
        Ok(Self { users, dummy })
    }

    /// Read and parse a file.
    ///
    /// # Errors
    /// When it cannot be read or parsed; the message names the file.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|err| format!("cannot read {}: {err}", path.display()))?;
        Self::parse(&text).map_err(|err| format!("{}: {err}", path.display()))
    }

    /// Whether `user` with `password` is in the file. An unknown user costs one hash as a known one does.
    #[must_use]
    pub fn check(&self, user: &str, password: &[u8]) -> bool {
        if let Some((_, hash)) = self.users.iter().find(|(name, _)| name == user) {
            return hash.verify(password);
        }
        // Same work, result thrown away: the time does not say the user is unknown.
        self.dummy.verify(password);
        false
    }

    /// How many users.
    #[must_use]
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// Whether there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }
}

/// One `user:$7$…` line for `password`, with a fresh random salt (what `mosquitto_passwd` writes).
///
/// # Errors
/// When the system's random source fails, or the user name holds a `:` or a line break.
pub fn hash_line(user: &str, password: &str) -> Result<String, String> {
    if user.is_empty() || user.contains([':', '\n', '\r']) {
        return Err("a user name must not be empty nor contain ':' or a line break".to_owned());
    }
    let mut salt = [0u8; SALT_LEN];
    ring::rand::SystemRandom::new().fill(&mut salt).map_err(|_| "no random numbers from the system".to_owned())?;
    let mut hash = [0u8; HASH_LEN];
    let iterations = NonZeroU32::MIN.saturating_add(DEFAULT_ITERATIONS - 1);
    pbkdf2::derive(pbkdf2::PBKDF2_HMAC_SHA512, iterations, &salt, password.as_bytes(), &mut hash);
    Ok(format!("{user}:{}", Hash::Pbkdf2 { iterations, salt: salt.to_vec(), hash: hash.to_vec() }.to_line_hash()))
}

/// `text` with `user`'s line set to `line` (replaced where it was, else appended).
#[must_use]
pub fn set_user(text: &str, user: &str, line: &str) -> String {
    let mut out = String::new();
    let mut replaced = false;
    for existing in text.lines() {
        if existing.rsplit_once(':').is_some_and(|(name, _)| name == user) && !existing.trim_start().starts_with('#') {
            if !replaced {
                out.push_str(line);
                out.push('\n');
                replaced = true;
            }
        } else {
            out.push_str(existing);
            out.push('\n');
        }
    }
    if !replaced {
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Made by `mosquitto_passwd -c -b f alice secret` (mosquitto 2.0).
    const MOSQUITTO_LINE: &str =
        "alice:$7$101$wbnCDy5weOHnGoji$J5eeVpV8rPd/FhZ+Eress/cF+OrUHiaC3zZLPIVTbItl/vZc93tWKmAHVoJis98TgqwT4uFjUCF2WE7rr9nI0g==";

    #[test]
    fn our_lines_check_and_others_do_not() {
        let line = hash_line("bob", "s3cret").expect("line");
        let file = PasswordFile::parse(&format!("# users\n{line}\n\n")).expect("parse");
        assert_eq!(file.len(), 1);
        assert!(file.check("bob", b"s3cret"));
        assert!(!file.check("bob", b"wrong"));
        assert!(!file.check("nobody", b"s3cret"));
    }

    #[test]
    fn a_sha512_line_checks() {
        let salt = b"saltsaltsalt";
        let mut ctx = digest::Context::new(&digest::SHA512);
        ctx.update(b"pw");
        ctx.update(salt);
        let line = format!("old:$6${}${}", STANDARD.encode(salt), STANDARD.encode(ctx.finish()));
        let file = PasswordFile::parse(&line).expect("parse");
        assert!(file.check("old", b"pw"));
        assert!(!file.check("old", b"pW"));
    }

    #[test]
    fn a_mosquitto_line_checks_and_round_trips() {
        let file = PasswordFile::parse(MOSQUITTO_LINE).expect("parse");
        assert!(file.check("alice", b"secret"));
        assert!(!file.check("alice", b"Secret"));
        assert_eq!(file.users[0].0, "alice");
        assert_eq!(format!("alice:{}", file.users[0].1.to_line_hash()), MOSQUITTO_LINE);
    }

    /// The timing guard: an unknown user's check hashes with the file's own iteration count.
    #[test]
    fn an_unknown_user_costs_what_a_known_one_does() {
        let costly =
            Hash::Pbkdf2 { iterations: NonZeroU32::new(5000).expect("non-zero"), salt: vec![1; SALT_LEN], hash: vec![2; HASH_LEN] };
        let file = PasswordFile::parse(&format!("u:{}\n", costly.to_line_hash())).expect("parse");
        assert!(matches!(file.dummy, Hash::Pbkdf2 { iterations, .. } if iterations.get() == 5000), "{:?}", file.dummy);
        let mosquitto = PasswordFile::parse(MOSQUITTO_LINE).expect("parse");
        assert!(
            matches!(mosquitto.dummy, Hash::Pbkdf2 { iterations, ref salt, ref hash } if iterations.get() == 101 && salt.len() == SALT_LEN && hash.len() == HASH_LEN)
        );
    }

    #[test]
    fn a_bad_line_is_named() {
        let err = PasswordFile::parse("alice:$7$101$AAAA$BBBB\nbob\n").expect_err("no colon");
        assert_eq!(err.line, 2);
        let err = PasswordFile::parse("carol:plaintext\n").expect_err("not a hash");
        assert_eq!(err.line, 1);
    }

    #[test]
    fn set_user_replaces_or_appends() {
        assert_eq!(set_user("a:1\nb:2\n", "a", "a:3"), "a:3\nb:2\n");
        assert_eq!(set_user("a:1\n", "c", "c:9"), "a:1\nc:9\n");
    }
}
