//! Whether a file dialog can open here, and where to save when none can. rfd's portal backend needs
//! a D-Bus session with xdg-desktop-portal; without it rfd runs `zenity`; with neither, every dialog
//! "returns nothing" at once, which must not read as "the user cancelled".

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The D-Bus service a desktop portal is started by.
const PORTAL_SERVICE: &str = "dbus-1/services/org.freedesktop.portal.Desktop.service";

/// Why no file dialog can open here, or `None` if one can (a desktop portal or zenity).
#[must_use]
pub fn unavailable() -> Option<String> {
    unavailable_in(|name| std::env::var_os(name), Path::exists)
}

/// [`unavailable`] with the environment and the file system as arguments (testable).
fn unavailable_in(env: impl Fn(&str) -> Option<OsString>, exists: impl Fn(&Path) -> bool) -> Option<String> {
    let session_bus =
        env("DBUS_SESSION_BUS_ADDRESS").is_some() || env("XDG_RUNTIME_DIR").is_some_and(|dir| exists(&Path::new(&dir).join("bus")));
    let data_dirs = env("XDG_DATA_DIRS").unwrap_or_else(|| "/usr/local/share:/usr/share".into());
    let portal = session_bus && std::env::split_paths(&data_dirs).any(|d| exists(&d.join(PORTAL_SERVICE)));
    let zenity = env("PATH").is_some_and(|path| std::env::split_paths(&path).any(|dir| exists(&dir.join("zenity"))));
    match (portal, zenity) {
        (false, false) if session_bus => Some("no desktop portal (xdg-desktop-portal) and no zenity".to_owned()),
        (false, false) => Some("no D-Bus session for a desktop portal, and no zenity".to_owned()),
        _ => None,
    }
}

/// Where to suggest saving `name` when the user has to type a path: the home directory.
#[must_use]
pub fn suggested_path(name: &str) -> PathBuf {
    crate::storage::in_home(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| OsString::from(v))
    }

    #[test]
    fn says_why_no_dialog_can_open_and_when_one_can() {
        let nothing = |_: &Path| false;
        let bare = [("PATH", "/usr/bin")];
        assert_eq!(unavailable_in(env(&bare), nothing).as_deref(), Some("no D-Bus session for a desktop portal, and no zenity"));
        let bus = [("PATH", "/usr/bin"), ("DBUS_SESSION_BUS_ADDRESS", "unix:path=/run/user/1/bus")];
        assert_eq!(unavailable_in(env(&bus), nothing).as_deref(), Some("no desktop portal (xdg-desktop-portal) and no zenity"));
        let portal = |p: &Path| p == Path::new("/usr/share").join(PORTAL_SERVICE);
        assert_eq!(unavailable_in(env(&bus), portal), None, "a portal");
        let zenity = |p: &Path| p == Path::new("/usr/bin/zenity");
        assert_eq!(unavailable_in(env(&bare), zenity), None, "zenity");
    }
}
