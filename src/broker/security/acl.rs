//! Topic permissions in mosquitto's acl_file syntax:
//!
//! ```text
//! # anonymous clients: the topic lines before any `user` line
//! topic read public/#
//! user alice
//! topic readwrite alice/#        # read, write, readwrite (the default) or deny
//! topic deny alice/secret
//! pattern readwrite devices/%c/# # every client; %c is its client id, %u its user name
//! ```
//!
//! Owns: [`Acl`] (parse, and the three checks: a SUBSCRIBE filter, a PUBLISH topic, a delivery).
//! As in mosquitto, a matching `deny` wins over any grant, and what nothing grants is refused.
//! Unlike mosquitto 2.0.11, a filter is checked at SUBSCRIBE time: it must lie wholly inside a
//! filter the client may read, and not wholly inside a denied one; a `deny` below a granted wildcard
//! (`topic read a/#` + `topic deny a/secret`) is then honoured delivery by delivery.

use crate::topic;

/// What an ACL line grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Receive messages (SUBSCRIBE, deliveries).
    Read,
    /// Send messages (PUBLISH).
    Write,
    /// Both.
    ReadWrite,
    /// Neither, whatever else grants it.
    Deny,
}

impl Access {
    const fn grants(self, wanted: Self) -> bool {
        matches!((self, wanted), (Self::ReadWrite, Self::Read | Self::Write) | (Self::Read, Self::Read) | (Self::Write, Self::Write))
    }
}

/// One `topic` or `pattern` line.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    access: Access,
    filter: String,
}

/// A parsed ACL file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Acl {
    /// `topic` lines before any `user` line: for clients without a user name.
    anonymous: Vec<Rule>,
    /// `topic` lines per `user` section.
    users: Vec<(String, Vec<Rule>)>,
    /// `pattern` lines: every client, with `%c` and `%u` substituted.
    patterns: Vec<Rule>,
}

/// Why an ACL file could not be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("line {line}: {message}")]
pub struct AclError {
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// Who asks: a client's identifier and user name.
#[derive(Debug, Clone, Copy)]
pub struct Who<'a> {
    /// Client identifier (`%c`).
    pub client_id: &'a str,
    /// User name (`%u`); `None`: anonymous.
    pub username: Option<&'a str>,
}

impl Acl {
    /// Parse mosquitto's acl_file syntax. Blank lines and `#` comments are skipped.
    ///
    /// # Errors
    /// An unknown keyword or access, a missing filter, or an invalid topic filter.
    pub fn parse(text: &str) -> Result<Self, AclError> {
        let mut acl = Self::default();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let error = |message: String| AclError { line: i + 1, message };
            let (keyword, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
            let rest = rest.trim_start();
            match keyword {
                "user" if !rest.is_empty() => acl.users.push((rest.to_owned(), Vec::new())),
                "topic" | "pattern" => {
                    let rule = parse_rule(rest).map_err(error)?;
                    if keyword == "pattern" {
                        acl.patterns.push(rule);
                    } else if let Some((_, rules)) = acl.users.last_mut() {
                        rules.push(rule);
                    } else {
                        acl.anonymous.push(rule);
                    }
                }
                "user" => return Err(error("`user` needs a user name".to_owned())),
                other => return Err(error(format!("unknown keyword `{other}` (expected user, topic or pattern)"))),
            }
        }
        Ok(acl)
    }

    /// Read and parse a file.
    ///
    /// # Errors
    /// When it cannot be read or parsed; the message names the file.
    pub fn load(path: &std::path::Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|err| format!("cannot read {}: {err}", path.display()))?;
        Self::parse(&text).map_err(|err| format!("{}: {err}", path.display()))
    }

    /// The rules that apply to `who`, patterns substituted.
    fn rules<'a>(&'a self, who: Who<'_>) -> impl Iterator<Item = (Access, std::borrow::Cow<'a, str>)> {
        let own: &[Rule] = match who.username {
            None => &self.anonymous,
            Some(user) => self.users.iter().find(|(name, _)| name == user).map_or(&[], |(_, rules)| rules),
        };
        let fixed = own.iter().map(|r| (r.access, std::borrow::Cow::Borrowed(r.filter.as_str())));
        let patterns = self.patterns.iter().filter_map(move |r| substitute(&r.filter, who).map(|f| (r.access, std::borrow::Cow::Owned(f))));
        fixed.chain(patterns)
    }

    /// Whether `who` may publish to `topic`.
    #[must_use]
    pub fn may_write(&self, who: Who<'_>, topic: &str) -> bool {
        self.may(who, topic, Access::Write)
    }

    /// Whether `who` may receive a message on `topic`.
    #[must_use]
    pub fn may_read(&self, who: Who<'_>, topic: &str) -> bool {
        self.may(who, topic, Access::Read)
    }

    fn may(&self, who: Who<'_>, topic_name: &str, wanted: Access) -> bool {
        let mut granted = false;
        for (access, filter) in self.rules(who) {
            if topic::matches(&filter, topic_name) {
                if access == Access::Deny {
                    return false;
                }
                granted |= access.grants(wanted);
            }
        }
        granted
    }

    /// Whether `who` may subscribe to `filter` (a `$share/group/` prefix is looked through): every
    /// topic it matches must be readable by some grant, and it must not lie wholly inside a denied filter.
    #[must_use]
    pub fn may_subscribe(&self, who: Who<'_>, filter: &str) -> bool {
        let filter = topic::parse_shared(filter).ok().flatten().map_or(filter, |(_, inner)| inner);
        let mut granted = false;
        for (access, rule) in self.rules(who) {
            if within(filter, &rule) {
                if access == Access::Deny {
                    return false;
                }
                granted |= access.grants(Access::Read);
            }
        }
        granted
    }
}

fn parse_rule(rest: &str) -> Result<Rule, String> {
    let (first, after) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let (access, filter) = match first {
        "read" => (Access::Read, after.trim()),
        "write" => (Access::Write, after.trim()),
        "readwrite" => (Access::ReadWrite, after.trim()),
        "deny" => (Access::Deny, after.trim()),
        _ => (Access::ReadWrite, rest.trim()),
    };
    if filter.is_empty() {
        return Err("a topic filter is missing".to_owned());
    }
    topic::validate_topic_filter(filter).map_err(|err| format!("`{filter}`: {err}"))?;
    Ok(Rule { access, filter: filter.to_owned() })
}

/// `%c` and `%u` replaced; `None` when the pattern needs a user name the client has not, or when a
/// value would add levels or wildcards (a client id `+` must not read everyone's topics).
fn substitute(pattern: &str, who: Who<'_>) -> Option<String> {
    let unsafe_value = |v: &str| v.contains(['+', '#', '/']);
    let mut out = pattern.to_owned();
    if out.contains("%c") {
        if unsafe_value(who.client_id) {
            return None;
        }
        out = out.replace("%c", who.client_id);
    }
    if out.contains("%u") {
        let user = who.username?;
        if unsafe_value(user) {
            return None;
        }
        out = out.replace("%u", user);
    }
    Some(out)
}

/// Whether every topic `inner` matches is matched by `outer` (both valid filters).
fn within(inner: &str, outer: &str) -> bool {
    let mut inner = inner.split('/');
    let mut outer = outer.split('/');
    loop {
        match (inner.next(), outer.next()) {
            (_, Some("#")) | (None, None) => return true,
            (Some("#"), _) | (None, Some(_)) | (Some(_), None) => return false,
            (Some(_), Some("+")) => {}
            (Some(i), Some(o)) => {
                if i != o {
                    return false;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "\
# anonymous
topic read public/#

user alice
topic readwrite alice/#
topic deny alice/secret
topic write cmd/+
user bob
topic bob/#
pattern readwrite devices/%c/#
pattern read users/%u/inbox
";

    fn alice() -> Who<'static> {
        Who { client_id: "a1", username: Some("alice") }
    }

    #[test]
    fn sections_apply_to_their_users() {
        let acl = Acl::parse(FILE).expect("parse");
        let anon = Who { client_id: "x", username: None };
        assert!(acl.may_read(anon, "public/news"));
        assert!(!acl.may_write(anon, "public/news"));
        assert!(!acl.may_read(anon, "alice/x"));
        assert!(acl.may_read(alice(), "alice/x") && acl.may_write(alice(), "alice/x"));
        assert!(!acl.may_read(alice(), "public/news"), "the anonymous section is for anonymous clients only");
        assert!(acl.may_write(alice(), "cmd/go") && !acl.may_read(alice(), "cmd/go"));
        let bob = Who { client_id: "b", username: Some("bob") };
        assert!(acl.may_write(bob, "bob/1") && !acl.may_write(bob, "alice/1"));
    }

    #[test]
    fn deny_wins_below_a_granted_wildcard() {
        let acl = Acl::parse(FILE).expect("parse");
        assert!(!acl.may_read(alice(), "alice/secret"));
        assert!(!acl.may_write(alice(), "alice/secret"));
        // The wildcard subscription is granted; the denied topic is filtered delivery by delivery.
        assert!(acl.may_subscribe(alice(), "alice/#"));
        assert!(!acl.may_subscribe(alice(), "alice/secret"));
    }

    #[test]
    fn subscribe_needs_the_whole_filter_inside_a_grant() {
        let acl = Acl::parse(FILE).expect("parse");
        assert!(acl.may_subscribe(alice(), "alice/+/t"));
        assert!(acl.may_subscribe(alice(), "alice"), "alice/# matches alice itself");
        assert!(!acl.may_subscribe(alice(), "#"));
        assert!(!acl.may_subscribe(alice(), "+/x"));
        assert!(!acl.may_subscribe(alice(), "cmd/+"), "write-only");
        assert!(acl.may_subscribe(alice(), "$share/g/alice/#"));
    }

    #[test]
    fn patterns_substitute_client_id_and_user_name() {
        let acl = Acl::parse(FILE).expect("parse");
        let dev = Who { client_id: "dev7", username: None };
        assert!(acl.may_write(dev, "devices/dev7/temp"));
        assert!(!acl.may_write(dev, "devices/dev8/temp"));
        assert!(acl.may_subscribe(dev, "devices/dev7/#"));
        assert!(!acl.may_subscribe(dev, "devices/+/#"));
        assert!(!acl.may_read(dev, "users/dev7/inbox"), "%u needs a user name");
        assert!(acl.may_read(alice(), "users/alice/inbox"));
        let sneaky = Who { client_id: "+", username: None };
        assert!(!acl.may_read(sneaky, "devices/x/temp"));
    }

    #[test]
    fn bad_lines_are_named() {
        assert_eq!(Acl::parse("topic read a/#\nfoo bar\n").expect_err("keyword").line, 2);
        assert_eq!(Acl::parse("topic read\n").expect_err("no filter").line, 1);
        assert_eq!(Acl::parse("user alice\ntopic read a/#/b\n").expect_err("bad filter").line, 2);
    }
}
