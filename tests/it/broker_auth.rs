//! Authentication: password files in mosquitto_passwd's format (one made by `mosquitto_passwd -c -b`
//! and one by `mqscope passwd -b`), CONNACK 0x05 (3.1.1) / 0x86 and 0x87 (5.0), counted in `$SYS`;
//! certificate identities as user names.

use std::sync::atomic::Ordering::Relaxed;

use mqscope::broker::codec::{Connect, ProtocolVersion};
use mqscope::broker::security::{PasswordFile, Security};
use mqscope::broker::{Broker, stats};
use tokio::process::Command;

use crate::broker_tls::{certs, start_tls_broker, temp_dir, try_publish};
use crate::common::{guard, start_broker};
use crate::raw::{Raw, connect_packet};

fn with_credentials(version: ProtocolVersion, client_id: &str, user: Option<&str>, password: Option<&str>) -> Connect {
    let mut connect = connect_packet(version, client_id, true, 60);
    connect.username = user.map(str::to_owned);
    connect.password = password.map(|p| bytes::Bytes::copy_from_slice(p.as_bytes()));
    connect
}

/// A password file for `alice` / `secret` made by Debian's mosquitto_passwd.
async fn mosquitto_passwd_file(tag: &str) -> std::path::PathBuf {
    let dir = temp_dir(tag);
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("passwd");
    let status =
        guard("mosquitto_passwd", Command::new("mosquitto_passwd").args(["-c", "-b"]).arg(&file).args(["alice", "secret"]).status())
            .await
            .expect("mosquitto_passwd is installed (apt-get install mosquitto)");
    assert!(status.success());
    file
}

fn protect(broker: &Broker, file: &std::path::Path, allow_anonymous: bool) {
    let passwords = PasswordFile::load(file).expect("password file");
    broker.set_security(Security { allow_anonymous, passwords: Some(passwords), ..Security::default() });
}

#[tokio::test]
async fn a_mosquitto_passwd_file_is_accepted_and_wrong_credentials_refused_in_both_versions() {
    let file = mosquitto_passwd_file("auth-mosq").await;
    let (addr, broker) = start_broker().await;
    protect(&broker, &file, false);
    for version in [ProtocolVersion::V311, ProtocolVersion::V5] {
        let (_ok, ack) = Raw::connect(addr, with_credentials(version, "good", Some("alice"), Some("secret"))).await;
        assert_eq!(ack.code, 0, "{version:?}: right password");
        let v5 = version == ProtocolVersion::V5;
        // 5.0 §3.2.2.2: 0x86 Bad User Name or Password; 3.1.1 §3.2.2.3: 0x05 Not authorized (as mosquitto answers).
        let bad = if v5 { 0x86 } else { 0x05 };
        for (user, password) in [("alice", "wrong"), ("mallory", "secret")] {
            let (mut raw, ack) = Raw::connect(addr, with_credentials(version, "bad", Some(user), Some(password))).await;
            assert_eq!(ack.code, bad, "{version:?}: {user}");
            // MQTT-3.2.2-5 (3.1.1) / MQTT-3.2.2-7 (5.0): a refusing CONNACK is followed by the close.
            assert!(raw.until_closed().await.is_empty());
        }
        let (_raw, ack) = Raw::connect(addr, with_credentials(version, "anon", None, None)).await;
        assert_eq!(ack.code, if v5 { 0x87 } else { 0x05 }, "{version:?}: anonymous where it is not allowed");
    }
    assert_eq!(broker.shared().stats.security.auth_failed.load(Relaxed), 6);
    let sys = stats::sys_entries(broker.shared());
    assert!(sys.contains(&("security/auth_failed", "6".to_owned())), "{sys:?}");
}

#[tokio::test]
async fn mosquitto_pub_with_user_and_password_gets_through() {
    let file = mosquitto_passwd_file("auth-pub").await;
    let (addr, broker) = start_broker().await;
    protect(&broker, &file, false);
    let args = |pw: &str| ["-t", "a/b", "-m", "x", "-u", "alice", "-P", pw, "-V", "mqttv5"].map(str::to_owned).to_vec();
    let (ok, err) = try_publish(addr, &args("secret")).await;
    assert!(ok, "{err}");
    let (ok, err) = try_publish(addr, &args("nope")).await;
    assert!(!ok, "wrong password must fail");
    assert!(err.to_lowercase().contains("bad user name or password"), "mosquitto_pub says: {err}");
}

#[tokio::test]
async fn mqscope_passwd_writes_a_file_that_mosquitto_clients_use() {
    let dir = temp_dir("auth-ours");
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("passwd");
    for (user, pw) in [("bob", "hunter2"), ("carol", "x"), ("bob", "changed")] {
        let out = guard(
            "mqscope passwd",
            Command::new(env!("CARGO_BIN_EXE_mqscope")).args(["passwd", "-b"]).arg(&file).args([user, pw]).output(),
        )
        .await
        .expect("run mqscope");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let text = std::fs::read_to_string(&file).expect("file");
    assert_eq!(text.lines().count(), 2, "bob's line replaced, not duplicated: {text}");
    assert!(text.lines().all(|l| l.contains(":$7$101$")), "{text}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(std::fs::metadata(&file).expect("meta").permissions().mode() & 0o777, 0o600);
    }
    let (addr, broker) = start_broker().await;
    protect(&broker, &file, false);
    let (_raw, ack) = Raw::connect(addr, with_credentials(ProtocolVersion::V5, "b", Some("bob"), Some("changed"))).await;
    assert_eq!(ack.code, 0);
    let (_raw, ack) = Raw::connect(addr, with_credentials(ProtocolVersion::V5, "b2", Some("bob"), Some("hunter2"))).await;
    assert_eq!(ack.code, 0x86, "the old password no longer works");
}

#[tokio::test]
async fn the_client_certificate_common_name_is_the_user_name() {
    let set = certs("identity");
    let (_, mqtts, _, broker) = start_tls_broker(&set, true).await;
    let acl = mqscope::broker::security::Acl::parse(&format!("user {}\ntopic write devices/#\n", mqscope::broker::certgen::CLIENT_CN))
        .expect("acl");
    broker.set_security(Security { allow_anonymous: false, use_identity_as_username: true, acl: Some(acl), ..Security::default() });
    let tls = |topic: &str| {
        [
            "--cafile",
            &set.ca().display().to_string(),
            "--cert",
            &set.client().display().to_string(),
            "--key",
            &set.client_key().display().to_string(),
        ]
        .into_iter()
        .chain(["-t", topic, "-m", "x", "-q", "1", "-V", "mqttv5"])
        .map(str::to_owned)
        .collect::<Vec<_>>()
    };
    // No -u: the certificate's CN (mqscope-client) is the user name, and its ACL section applies.
    let (ok, err) = try_publish(mqtts, &tls("devices/1")).await;
    assert!(ok, "{err}");
    let denied_before = broker.shared().stats.security.publish_denied.load(Relaxed);
    let (_ok, _) = try_publish(mqtts, &tls("elsewhere")).await;
    assert_eq!(broker.shared().stats.security.publish_denied.load(Relaxed), denied_before + 1, "outside its section: refused");
    assert_eq!(broker.shared().stats.security.auth_failed.load(Relaxed), 0);
}

#[tokio::test]
async fn refused_credentials_never_reach_the_log() {
    let file = mosquitto_passwd_file("auth-log").await;
    let file = file.display().to_string();
    let (mut child, addr, log) = crate::broker_config::spawn_broker(&["--password-file", &file, "--allow-anonymous", "false"]).await;
    for (user, password, version) in [("alice", "Wr0ngPassw0rd", "mqttv5"), ("nosuchuser", "An0therSecret", "mqttv311")] {
        let args = ["-t", "t", "-m", "x", "-u", user, "-P", password, "-V", version].map(str::to_owned);
        let (ok, _) = try_publish(addr, &args).await;
        assert!(!ok);
    }
    crate::common::until("both refusals logged", || log.lock().is_ok_and(|l| l.matches("CONNECT refused").count() >= 2)).await;
    let log = log.lock().map(|l| l.clone()).unwrap_or_default();
    for secret in ["Wr0ngPassw0rd", "An0therSecret", "nosuchuser", "alice"] {
        assert!(!log.contains(secret), "{secret} in the log:\n{log}");
    }
    child.kill().await.ok();
}
