//! `mqscope broker` as a process: `-c FILE` (TOML), flags over the file, `--print-config`, and
//! the configuration errors that stop it before anything listens (exit code 2, the key and line named).

use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};

use crate::broker_tls::temp_dir;
use crate::common::guard;

fn mqscope() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mqscope"));
    cmd.env("RUST_LOG", "info").env("NO_COLOR", "1").kill_on_drop(true);
    cmd
}

/// Start `mqscope broker -p 0 ARGS` and wait for its MQTT listener's address (from its log);
/// the rest of its log collects in the returned string.
pub async fn spawn_broker(args: &[&str]) -> (Child, SocketAddr, Arc<Mutex<String>>) {
    // Debug: every line the broker can write about a connection, for the tests that read the log.
    let mut child = mqscope()
        .env("RUST_LOG", "debug")
        .args(["broker", "-p", "0", "--sys-interval", "0"])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run mqscope broker");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let addr = guard("the broker's listening line", async {
        loop {
            let line = lines.next_line().await.expect("stderr").expect("the broker exited before listening");
            if let Some(rest) = line.split("listening on ").nth(1)
                && rest.contains("(mqtt)")
            {
                return rest.split_whitespace().next().expect("address").parse::<SocketAddr>().expect("socket address");
            }
        }
    })
    .await;
    // Keep draining its log so that it never blocks on a full pipe.
    let log = Arc::new(Mutex::new(String::new()));
    let collected = Arc::clone(&log);
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Ok(mut log) = collected.lock() {
                log.push_str(&line);
                log.push('\n');
            }
        }
    });
    (child, addr, log)
}

/// Run `mqscope broker ARGS` to its end; (exit code, stdout, stderr).
async fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let out = guard("mqscope broker to exit", mqscope().arg("broker").args(args).output()).await.expect("run mqscope");
    (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn config_file(tag: &str, text: &str) -> String {
    let dir = temp_dir(tag);
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("mqscope.toml");
    std::fs::write(&file, text).expect("write");
    file.display().to_string()
}

#[tokio::test]
async fn print_config_shows_the_file_under_the_flags_given_and_reads_back() {
    let file = config_file("cfg-print", "port = 1999\nmax_connections = 5\nallow_anonymous = false\n");
    let (code, printed, err) = run(&["-c", &file, "--max-connections", "7", "--print-config"]).await;
    assert_eq!(code, Some(0), "{err}");
    let table: toml::Table = printed.parse().expect("TOML");
    assert_eq!(table["port"].as_integer(), Some(1999), "from the file");
    assert_eq!(table["max_connections"].as_integer(), Some(7), "the flag wins");
    assert_eq!(table["allow_anonymous"].as_bool(), Some(false));
    assert_eq!(table["max_topic_levels"].as_integer(), Some(200), "a default");
    let again = config_file("cfg-print-again", &printed);
    let (code, reprinted, _) = run(&["-c", &again, "--print-config"]).await;
    assert_eq!((code, reprinted), (Some(0), printed), "what is printed reads back to the same configuration");
}

#[tokio::test]
async fn a_bad_config_file_exits_2_naming_the_key_and_line() {
    let cases = [
        ("cfg-typo", "port = 1999\nmax_conections = 5\n", ":2: `max_conections`: unknown key"),
        ("cfg-type", "# ports\n\nport = \"high\"\n", ":3: `port`: invalid type"),
        (
            "cfg-cert",
            "tls_port = 8883\ncertfile = \"/nonexistent/server.pem\"\nkeyfile = \"/nonexistent/key.pem\"\n",
            ":2: `certfile`: /nonexistent/server.pem",
        ),
        ("cfg-toml", "port = \n", ":1:"),
    ];
    for (tag, text, expected) in cases {
        let file = config_file(tag, text);
        let (code, _, err) = run(&["-c", &file]).await;
        assert_eq!(code, Some(2), "{tag}: {err}");
        assert!(err.contains(&file) && err.contains(expected), "{tag}: expected {expected:?} in {err:?}");
    }
}

#[tokio::test]
async fn a_bad_certificate_or_a_partial_certificate_set_exits_2_naming_the_file() {
    let dir = temp_dir("cfg-badcert");
    std::fs::create_dir_all(&dir).expect("dir");
    let bogus = dir.join("server.pem");
    std::fs::write(&bogus, "not a certificate\n").expect("write");
    let bogus = bogus.display().to_string();
    let (code, _, err) = run(&["--tls-port", "0", "--certfile", &bogus, "--keyfile", &bogus]).await;
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains(&bogus), "{err}");
    // A partial set from --tls-generate is never completed over what is there.
    let partial = temp_dir("cfg-partial");
    std::fs::create_dir_all(&partial).expect("dir");
    std::fs::write(partial.join("ca.pem"), "kept").expect("write");
    let (code, _, err) = run(&["--tls-generate", &partial.display().to_string(), "--tls-port", "0"]).await;
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("server.pem"), "names what is missing: {err}");
    assert_eq!(std::fs::read_to_string(partial.join("ca.pem")).expect("kept"), "kept");
}

#[tokio::test]
async fn tls_generate_prints_how_to_connect_and_serves_mqtts() {
    let dir = temp_dir("cfg-generate");
    let dir_text = dir.display().to_string();
    let mut child = mqscope()
        .args(["broker", "-p", "0", "--sys-interval", "0", "--tls-port", "0", "--tls-generate", &dir_text])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run mqscope broker");
    let mut out = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let pub_line = guard("the printed mosquitto_pub line", async {
        loop {
            let line = out.next_line().await.expect("stdout").expect("exited early");
            if line.trim_start().starts_with("mosquitto_pub ") {
                return line;
            }
        }
    })
    .await;
    assert!(pub_line.contains(&format!("--cafile {dir_text}/ca.pem")), "{pub_line}");
    assert!(pub_line.contains(&format!("--cert {dir_text}/client.pem --key {dir_text}/client-key.pem")), "{pub_line}");
    // Run the printed command line as it is (it names the TLS port it listens on).
    let args: Vec<String> = pub_line.split_whitespace().skip(1).map(|a| a.trim_matches('\'').to_owned()).collect();
    let status = guard("mosquitto_pub", Command::new("mosquitto_pub").args(&args).status()).await.expect("mosquitto_pub");
    assert!(status.success(), "the printed command works: {pub_line}");
    child.kill().await.ok();
}

#[tokio::test]
async fn a_key_that_is_not_the_certificates_or_a_taken_port_stops_the_broker_before_it_serves() {
    let set = crate::broker_tls::certs("cfg-mismatch");
    let (cert, ca) = (set.server().display().to_string(), set.ca().display().to_string());
    let wrong_key = set.client_key().display().to_string();
    let (code, _, err) = run(&["-p", "0", "--tls-port", "0", "--certfile", &cert, "--keyfile", &wrong_key]).await;
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains(&format!("the key in {wrong_key} does not match the certificate in {cert}")), "{err}");
    // The TLS port is taken: named, and the broker exits instead of serving only plain MQTT.
    let taken = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = taken.local_addr().expect("addr").port().to_string();
    let key = set.server_key().display().to_string();
    let (code, _, err) = run(&["-p", "0", "--tls-port", &port, "--certfile", &cert, "--keyfile", &key, "--cafile", &ca]).await;
    assert_ne!(code, Some(0), "{err}");
    assert!(err.contains(&format!("cannot listen on 127.0.0.1:{port} (mqtts)")), "{err}");
}

#[tokio::test]
async fn a_bad_acl_or_password_file_exits_2_naming_the_file_and_line() {
    let dir = temp_dir("cfg-badfiles");
    std::fs::create_dir_all(&dir).expect("dir");
    let acl = dir.join("acl");
    std::fs::write(&acl, "user alice\ntopic read a/#\ntpoic read b/#\n").expect("acl");
    let passwd = dir.join("passwd");
    std::fs::write(&passwd, "alice:plaintext-is-not-a-hash\n").expect("passwd");
    for (flag, file, expected) in [("--acl-file", &acl, "line 3: unknown keyword `tpoic`"), ("--password-file", &passwd, "line 1:")] {
        let file = file.display().to_string();
        let (code, _, err) = run(&["-p", "0", flag, &file]).await;
        assert_eq!(code, Some(2), "{err}");
        assert!(err.contains(&format!("{file}: {expected}")), "{err}");
    }
}
