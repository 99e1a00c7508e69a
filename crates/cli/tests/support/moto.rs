//! Test harness: a local moto server (PyPI `moto[server]`) the real AWS SDK talks to.
//!
//! * `FIREBREAK_MOTO_URL` set (by `.ci/run` via `scripts/moto.sh start`): that server is used.
//! * Otherwise, when `moto_server` is on PATH, one server per test binary is started on a
//!   free port (and stops when the test process exits).
//! * Otherwise the test fails when `CI` is set, and is skipped with a loud message if not.
//!
//! Tests do not interfere: each one acts in its own moto account, reached through a real
//! cross-account `sts:AssumeRole` (moto maps the returned credentials to that account).
//! Permission tests need IAM enforcement (`/moto-api/reset-auth`), which is global to a moto
//! process, so they start a private server with [`Moto::private`].
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A moto server.
pub struct Moto {
    /// Base URL (`http://127.0.0.1:PORT`).
    pub url: String,
    child: Option<Child>,
}

impl Drop for Moto {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            // SIGTERM lets the wrapper shell stop moto too.
            let _ = Command::new("kill").arg(child.id().to_string()).status();
            let _ = child.wait();
        }
    }
}

fn unavailable(why: &str) -> Option<Moto> {
    if std::env::var_os("CI").is_some() {
        panic!("moto is required when CI is set: {why}");
    }
    eprintln!("\n!!!!!!!! SKIPPED: moto is not available ({why}); install it with pip install 'moto[server]' !!!!!!!!\n");
    None
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("no free port")
}

/// Sends a raw HTTP/1.1 request; returns (status, body).
pub fn http(url: &str, method: &str, path: &str, body: &str) -> std::io::Result<(u16, String)> {
    let host = url.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = TcpStream::connect(host)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes())?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    Ok((status, body))
}

fn wait_until_up(url: &str, child: &mut Child) -> bool {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if matches!(http(url, "GET", "/moto-api/", ""), Ok((200, _))) {
            return true;
        }
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    false
}

fn spawn() -> Option<Moto> {
    let found = Command::new("sh").args(["-c", "command -v moto_server"]).stdout(Stdio::null()).status().map(|s| s.success()).unwrap_or(false);
    if !found {
        return unavailable("moto_server is not on PATH and FIREBREAK_MOTO_URL is not set");
    }
    for _ in 0..3 {
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}");
        // The wrapper stops moto when the test process exits or the wrapper is terminated.
        let script = format!(
            "moto_server -H 127.0.0.1 -p {port} >/dev/null 2>&1 & m=$!; trap 'kill $m; exit 0' TERM; while kill -0 {parent} 2>/dev/null && kill -0 $m 2>/dev/null; do sleep 1; done; kill $m 2>/dev/null",
            parent = std::process::id()
        );
        let Ok(mut child) = Command::new("sh").args(["-c", &script]).stdin(Stdio::null()).spawn() else { continue };
        if wait_until_up(&url, &mut child) {
            return Some(Moto { url, child: Some(child) });
        }
        let _ = Command::new("kill").arg(child.id().to_string()).status();
        let _ = child.wait();
    }
    unavailable("moto_server did not start")
}

impl Moto {
    /// The server shared by the tests of this binary.
    pub fn shared() -> Option<&'static Moto> {
        static SHARED: OnceLock<Option<Moto>> = OnceLock::new();
        SHARED
            .get_or_init(|| match std::env::var("FIREBREAK_MOTO_URL") {
                Ok(url) if !url.is_empty() => Some(Moto { url: url.trim_end_matches('/').to_string(), child: None }),
                _ => spawn(),
            })
            .as_ref()
    }

    /// A server of its own (for tests that turn IAM enforcement on).
    pub fn private() -> Option<Moto> {
        spawn()
    }

    /// Resets every backend of this server.
    pub fn reset(&self) {
        let (status, body) = http(&self.url, "POST", "/moto-api/reset", "").expect("moto reset");
        assert_eq!(status, 200, "moto reset failed: {body}");
    }

    /// Makes moto enforce IAM policies from now on (`/moto-api/reset-auth`).
    pub fn enforce_iam(&self) {
        let (status, body) = http(&self.url, "POST", "/moto-api/reset-auth", "0").expect("moto reset-auth");
        assert_eq!(status, 200, "moto reset-auth failed: {body}");
    }
}

/// A 12-digit account id no other test of this process uses.
pub fn unique_account() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos() as u64).unwrap_or(0);
    let mixed = (std::process::id() as u64 % 10_000) * 100_000_000 + (nanos / 1000 % 1_000_000) * 100 + n % 100;
    format!("{:012}", 200_000_000_000 + mixed % 700_000_000_000)
}

/// A role ARN in `account` (moto lets AssumeRole into any account).
pub fn responder_role(account: &str) -> String {
    format!("arn:aws:iam::{account}:role/firebreak-responder")
}
