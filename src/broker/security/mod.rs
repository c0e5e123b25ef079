//! Who may connect and what they may do: anonymous access, the password file, client-certificate
//! identities, the ACL. mosquitto's semantics and file formats.
//!
//! Owns: [`Security`] (the policy in force, swapped whole on reload: connections keep running and
//! the next check uses the new files), [`SecurityFiles`] (where it is read from), [`Verdict`].
//! Credentials are never logged: neither passwords nor (on failure) the user name tried.

pub mod acl;
pub mod passwd;

use std::path::PathBuf;
use std::sync::Arc;

pub use acl::{Acl, Who};
pub use passwd::PasswordFile;

/// The policy in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Security {
    /// Clients without a user name are accepted.
    pub allow_anonymous: bool,
    /// A client certificate's Common Name is the user name; the password is not checked (mosquitto's rule).
    pub use_identity_as_username: bool,
    /// When set, a user name must come with its password.
    pub passwords: Option<PasswordFile>,
    /// When set, every SUBSCRIBE, PUBLISH and delivery is checked against it.
    pub acl: Option<Acl>,
}

impl Default for Security {
    /// Everyone, everything: the broker as it was before any of this.
    fn default() -> Self {
        Self { allow_anonymous: true, use_identity_as_username: false, passwords: None, acl: None }
    }
}

/// Where a [`Security`] is read from (again on SIGHUP).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecurityFiles {
    /// See [`Security::allow_anonymous`].
    pub allow_anonymous: bool,
    /// See [`Security::use_identity_as_username`].
    pub use_identity_as_username: bool,
    /// mosquitto_passwd file.
    pub password_file: Option<PathBuf>,
    /// mosquitto acl_file.
    pub acl_file: Option<PathBuf>,
}

impl SecurityFiles {
    /// Read the files.
    ///
    /// # Errors
    /// A file that cannot be read or parsed; the message names it and the line.
    pub fn load(&self) -> Result<Security, String> {
        let passwords = self.password_file.as_deref().map(PasswordFile::load).transpose()?;
        let acl = self.acl_file.as_deref().map(Acl::load).transpose()?;
        Ok(Security { allow_anonymous: self.allow_anonymous, use_identity_as_username: self.use_identity_as_username, passwords, acl })
    }
}

/// What the CONNECT check decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Accepted, with this user name (the CONNECT's, or the certificate's CN).
    Accept(Option<Arc<str>>),
    /// Wrong user name or password: CONNACK 0x86 (5.0) / 0x05 (3.1.1).
    BadCredentials,
    /// Anonymous where that is not allowed, or a certificate identity missing: CONNACK 0x87 / 0x05.
    NotAuthorized,
}

impl Security {
    /// Check a CONNECT's credentials. `cert_cn` is the client certificate's Common Name, if any.
    #[must_use]
    pub fn authenticate(&self, username: Option<&str>, password: Option<&[u8]>, cert_cn: Option<String>) -> Verdict {
        if self.use_identity_as_username {
            return match cert_cn {
                Some(cn) => Verdict::Accept(Some(cn.into())),
                None => Verdict::NotAuthorized,
            };
        }
        let Some(user) = username else {
            return if self.allow_anonymous { Verdict::Accept(None) } else { Verdict::NotAuthorized };
        };
        match &self.passwords {
            Some(file) if file.check(user, password.unwrap_or_default()) => Verdict::Accept(Some(user.into())),
            Some(_) => Verdict::BadCredentials,
            // No password file: a user name is taken as given where anonymous clients are welcome anyway.
            None if self.allow_anonymous => Verdict::Accept(Some(user.into())),
            None => Verdict::NotAuthorized,
        }
    }

    /// Whether the client may subscribe to `filter` (no ACL: yes).
    #[must_use]
    pub fn may_subscribe(&self, who: Who<'_>, filter: &str) -> bool {
        self.acl.as_ref().is_none_or(|acl| acl.may_subscribe(who, filter))
    }

    /// Whether the client may publish to `topic` (no ACL: yes).
    #[must_use]
    pub fn may_write(&self, who: Who<'_>, topic: &str) -> bool {
        self.acl.as_ref().is_none_or(|acl| acl.may_write(who, topic))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_file(allow_anonymous: bool) -> Security {
        let line = passwd::hash_line("alice", "pw").expect("line");
        Security { allow_anonymous, passwords: Some(PasswordFile::parse(&line).expect("parse")), ..Security::default() }
    }

    #[test]
    fn credentials_are_checked_against_the_file() {
        let s = with_file(false);
        assert_eq!(s.authenticate(Some("alice"), Some(b"pw"), None), Verdict::Accept(Some("alice".into())));
        assert_eq!(s.authenticate(Some("alice"), Some(b"nope"), None), Verdict::BadCredentials);
        assert_eq!(s.authenticate(Some("mallory"), Some(b"pw"), None), Verdict::BadCredentials);
        assert_eq!(s.authenticate(Some("alice"), None, None), Verdict::BadCredentials);
        assert_eq!(s.authenticate(None, None, None), Verdict::NotAuthorized);
        assert_eq!(with_file(true).authenticate(None, None, None), Verdict::Accept(None));
    }

    #[test]
    fn the_certificate_identity_replaces_the_user_name() {
        let s = Security { use_identity_as_username: true, ..with_file(false) };
        assert_eq!(s.authenticate(Some("alice"), Some(b"nope"), Some("device-1".into())), Verdict::Accept(Some("device-1".into())));
        assert_eq!(s.authenticate(Some("alice"), Some(b"pw"), None), Verdict::NotAuthorized);
    }
}
