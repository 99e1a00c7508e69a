//! Shared harness for the CLI tests: run the real `firebreak` binary, find the corpus,
//! make temporary folders.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The `firebreak` binary under test.
pub fn firebreak() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_firebreak"));
    cmd.env("NO_COLOR", "1").env_remove("AWS_PROFILE");
    cmd
}

/// `firebreak ARGS` (see [`firebreak`]) against the moto server at `moto_url`, in
/// us-east-1, as the responder role `role` reached with moto's test credentials (no
/// session token, no instance metadata).
pub fn firebreak_on_moto(moto_url: &str, role: &str, args: &[&str]) -> Command {
    let mut cmd = firebreak();
    cmd.args(args)
        .args(["--region", "us-east-1", "--role-arn", role])
        .env("AWS_ENDPOINT_URL", moto_url)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_SESSION_TOKEN");
    cmd
}

/// Runs `firebreak ARGS`, returning its output (never panics on a non-zero exit).
pub fn run(args: &[&str]) -> Output {
    firebreak()
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("firebreak binary runs")
}

/// Runs `firebreak ARGS` with `stdin` bytes.
pub fn run_with_stdin(args: &[&str], stdin: &[u8]) -> Output {
    use std::io::Write;
    let mut child = firebreak()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("firebreak binary runs");
    let mut input = child.stdin.take().expect("stdin");
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().expect("firebreak finishes");
    let _ = writer.join();
    out
}

/// `../shared/corpus`, beside the repository.
pub fn corpus() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    assert!(p.is_dir(), "the test corpus is missing at {}", p.display());
    p
}

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Standard output as text.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Standard error as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Parses JSON lines from standard output.
pub fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    stdout(out)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}

/// A fresh temporary folder.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// Gzips `data` into `path`.
pub fn write_gz(path: &Path, data: &[u8]) {
    use std::io::Write;
    let file = std::fs::File::create(path).expect("create");
    let mut enc = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    enc.write_all(data).expect("write gz");
    enc.finish().expect("finish gz");
}

/// One realistic CloudTrail record: StopLogging by an IAM user (fires the built-in
/// CloudTrail-tampering rules).
pub fn stop_logging_record(event_id: &str) -> serde_json::Value {
    serde_json::json!({
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "principalId": "AIDAEXAMPLE", "arn": "arn:aws:iam::111122223333:user/mallory",
                          "accountId": "111122223333", "accessKeyId": "AKIAEXAMPLEKEY000001", "userName": "mallory"},
        "eventTime": "2026-10-01T10:00:00Z",
        "eventSource": "cloudtrail.amazonaws.com",
        "eventName": "StopLogging",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.7",
        "userAgent": "aws-cli/2.15.0",
        "requestParameters": {"name": "arn:aws:cloudtrail:us-east-1:111122223333:trail/main"},
        "responseElements": null,
        "requestID": "0f6a7e59-7b55-4a2c-9c7e-3f0d9a1e2b11",
        "eventID": event_id,
        "readOnly": false,
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": "111122223333",
        "eventCategory": "Management"
    })
}
