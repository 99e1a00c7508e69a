//! Evidence integrity: hash-chained action and audit logs, hashed evidence copies.
//!
//! A *case* is a folder. It holds:
//!
//! * `actions.jsonl`: the append-only, hash-chained [`ActionLog`]; one JSON object per line
//!   with `seq` (1, 2, 3...), `time` (RFC 3339, UTC), `prev_hash` (the `hash` of the
//!   previous line, 64 zeros for the first), `record` (free-form JSON written by the caller)
//!   and `hash` = SHA-256 (hex) over the canonical form of the other four fields
//!   (see [`canonical_bytes`]).
//! * `evidence/`: captured evidence files (metadata snapshots...), written by
//!   [`Case::write_evidence`], whose SHA-256 the caller records in the action log.
//!
//! [`CaseLocation::resolve`] says where a case named on the command line lives: a value
//! containing a `/` (or naming an existing folder) is a path; anything else is a name under
//! `$FIREBREAK_HOME/cases/`, where `FIREBREAK_HOME` defaults to `$XDG_DATA_HOME/firebreak`
//! then `$HOME/.local/share/firebreak`.
#![warn(missing_docs)]

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The `prev_hash` of the first entry of a log.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// File name of the action log inside a case folder.
pub const ACTION_LOG_FILE: &str = "actions.jsonl";

/// Folder (inside a case folder) that holds captured evidence files.
pub const EVIDENCE_DIR: &str = "evidence";

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    /// A file or folder could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder concerned.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A line of a log is not a valid entry.
    #[error("{path}:{line}: invalid log entry: {reason}")]
    BadEntry {
        /// The log file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// The hash chain is broken (an entry was edited, removed or moved).
    #[error("{path}:{line}: hash chain broken: {reason}")]
    ChainBroken {
        /// The log file.
        path: PathBuf,
        /// 1-based line number of the first bad entry.
        line: usize,
        /// What does not match.
        reason: String,
    },
    /// No case location could be derived (no `FIREBREAK_HOME`, `XDG_DATA_HOME` nor `HOME`).
    #[error("cannot locate the case folder: set FIREBREAK_HOME or HOME, or give --case a path")]
    NoHome,
    /// A case or evidence name is unusable (empty, `..`, control characters...).
    #[error("invalid name {name:?}: {reason}")]
    BadName {
        /// The name given.
        name: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// The record could not be serialised.
    #[error("cannot serialise log record: {0}")]
    Serialize(#[from] serde_json::Error),
}

/// Shorthand for results of this crate.
pub type Result<T, E = EvidenceError> = std::result::Result<T, E>;

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> EvidenceError + '_ {
    move |source| EvidenceError::Io { path: path.to_path_buf(), source }
}

/// One line of an [`ActionLog`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogEntry {
    /// Position in the log, starting at 1.
    pub seq: u64,
    /// When the entry was written (RFC 3339, UTC).
    pub time: String,
    /// `hash` of the previous entry ([`GENESIS_HASH`] for the first).
    pub prev_hash: String,
    /// What happened: caller-defined JSON.
    pub record: serde_json::Value,
    /// SHA-256 (hex) of [`canonical_bytes`] of this entry.
    pub hash: String,
}

/// The bytes an entry's hash covers: the compact JSON of
/// `{"prev_hash":..,"record":..,"seq":..,"time":..}` with every object's keys sorted.
pub fn canonical_bytes(seq: u64, time: &str, prev_hash: &str, record: &serde_json::Value) -> Vec<u8> {
    let value = serde_json::json!({
        "prev_hash": prev_hash,
        "record": sort_keys(record),
        "seq": seq,
        "time": time,
    });
    // Serialising a `Value` cannot fail (all keys are strings).
    serde_json::to_vec(&value).unwrap_or_default()
}

fn sort_keys(value: &serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(map) => {
            let mut sorted: Vec<(&String, &serde_json::Value)> = map.iter().collect();
            sorted.sort_by(|a, b| a.0.cmp(b.0));
            serde_json::Value::Object(sorted.into_iter().map(|(k, v)| (k.clone(), sort_keys(v))).collect())
        }
        serde_json::Value::Array(items) => serde_json::Value::Array(items.iter().map(sort_keys).collect()),
        other => other.clone(),
    }
}

/// SHA-256 (hex) of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl LogEntry {
    /// The hash this entry should carry.
    pub fn expected_hash(&self) -> String {
        sha256_hex(&canonical_bytes(self.seq, &self.time, &self.prev_hash, &self.record))
    }
}

/// An append-only, hash-chained JSON-lines log.
#[derive(Debug, Clone)]
pub struct ActionLog {
    path: PathBuf,
}

impl ActionLog {
    /// A log stored at `path` (created on the first append).
    pub fn at(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// Where the log lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads every entry, checking that each line parses (not the chain: see [`Self::verify`]).
    /// A missing file is an empty log.
    pub fn entries(&self) -> Result<Vec<LogEntry>> {
        let file = match File::open(&self.path) {
            Ok(file) => file,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(err) => return Err(io_err(&self.path)(err)),
        };
        let mut entries = Vec::new();
        for (index, line) in BufReader::new(file).lines().enumerate() {
            let line = line.map_err(io_err(&self.path))?;
            if line.trim().is_empty() {
                continue;
            }
            let entry: LogEntry = serde_json::from_str(&line).map_err(|err| EvidenceError::BadEntry {
                path: self.path.clone(),
                line: index + 1,
                reason: err.to_string(),
            })?;
            entries.push(entry);
        }
        Ok(entries)
    }

    /// Checks the whole chain: sequence numbers, `prev_hash` links and each `hash`.
    /// Returns the number of entries, or the first bad line.
    pub fn verify(&self) -> Result<usize> {
        let file = match File::open(&self.path) {
            Ok(file) => file,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(err) => return Err(io_err(&self.path)(err)),
        };
        let mut prev_hash = GENESIS_HASH.to_string();
        let mut expected_seq = 1u64;
        for (index, line) in BufReader::new(file).lines().enumerate() {
            let line_no = index + 1;
            let line = line.map_err(io_err(&self.path))?;
            let broken = |reason: String| EvidenceError::ChainBroken { path: self.path.clone(), line: line_no, reason };
            if line.trim().is_empty() {
                return Err(broken("empty line".into()));
            }
            let entry: LogEntry = serde_json::from_str(&line).map_err(|err| EvidenceError::BadEntry {
                path: self.path.clone(),
                line: line_no,
                reason: err.to_string(),
            })?;
            if entry.seq != expected_seq {
                return Err(broken(format!("seq is {}, expected {expected_seq}", entry.seq)));
            }
            if entry.prev_hash != prev_hash {
                return Err(broken("prev_hash does not match the previous entry's hash".into()));
            }
            let actual = entry.expected_hash();
            if entry.hash != actual {
                return Err(broken("hash does not match the entry's content".into()));
            }
            prev_hash = entry.hash;
            expected_seq += 1;
        }
        Ok((expected_seq - 1) as usize)
    }

    /// Appends `record` as a new entry, chained to the last one, and returns it.
    /// The existing chain is verified first, so nothing is ever chained onto a tampered log.
    pub fn append(&self, record: serde_json::Value) -> Result<LogEntry> {
        self.verify()?;
        let last = self.entries()?.pop();
        let (seq, prev_hash) = match last {
            Some(entry) => (entry.seq + 1, entry.hash),
            None => (1, GENESIS_HASH.to_string()),
        };
        let time = jiff::Timestamp::now().to_string();
        let hash = sha256_hex(&canonical_bytes(seq, &time, &prev_hash, &record));
        let entry = LogEntry { seq, time, prev_hash, record, hash };
        let mut line = serde_json::to_vec(&entry)?;
        line.push(b'\n');
        if let Some(parent) = self.path.parent() {
            if !parent.as_os_str().is_empty() {
                fs::create_dir_all(parent).map_err(io_err(parent))?;
            }
        }
        let mut file = OpenOptions::new().create(true).append(true).open(&self.path).map_err(io_err(&self.path))?;
        file.write_all(&line).map_err(io_err(&self.path))?;
        file.sync_data().map_err(io_err(&self.path))?;
        Ok(entry)
    }
}

/// Where a case folder lives, derived from the `--case` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseLocation {
    /// The case name (the folder's last component).
    pub name: String,
    /// The case folder.
    pub dir: PathBuf,
}

/// The environment used to resolve case names (kept explicit so it can be tested).
#[derive(Debug, Clone, Default)]
pub struct CaseEnv {
    /// `$FIREBREAK_HOME`.
    pub firebreak_home: Option<PathBuf>,
    /// `$XDG_DATA_HOME`.
    pub xdg_data_home: Option<PathBuf>,
    /// `$HOME`.
    pub home: Option<PathBuf>,
}

impl CaseEnv {
    /// Reads the variables from the process environment (empty values count as unset).
    pub fn from_process() -> Self {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        Self { firebreak_home: var("FIREBREAK_HOME"), xdg_data_home: var("XDG_DATA_HOME"), home: var("HOME") }
    }

    /// The firebreak data folder.
    pub fn firebreak_home(&self) -> Result<PathBuf> {
        if let Some(dir) = &self.firebreak_home {
            return Ok(dir.clone());
        }
        if let Some(dir) = &self.xdg_data_home {
            return Ok(dir.join("firebreak"));
        }
        if let Some(dir) = &self.home {
            return Ok(dir.join(".local/share/firebreak"));
        }
        Err(EvidenceError::NoHome)
    }
}

impl CaseLocation {
    /// Resolves a `--case` value: a path when it contains `/` or names an existing folder,
    /// otherwise a name under `<firebreak home>/cases/`.
    pub fn resolve(spec: &str, env: &CaseEnv) -> Result<Self> {
        if spec.trim().is_empty() {
            return Err(EvidenceError::BadName { name: spec.into(), reason: "empty" });
        }
        if spec == "." || spec == ".." {
            return Err(EvidenceError::BadName { name: spec.into(), reason: "relative folder names are not case names" });
        }
        let as_path = Path::new(spec);
        if spec.contains('/') || as_path.is_dir() {
            let name = as_path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| spec.to_string());
            return Ok(Self { name, dir: as_path.to_path_buf() });
        }
        check_name(spec)?;
        Ok(Self { name: spec.to_string(), dir: env.firebreak_home()?.join("cases").join(spec) })
    }

    /// A new case name for when none was given: `case-YYYYMMDD-HHMMSS` (UTC).
    pub fn generated_name() -> String {
        let now = jiff::Timestamp::now();
        format!("case-{}", now.strftime("%Y%m%d-%H%M%S"))
    }
}

fn check_name(name: &str) -> Result<()> {
    let bad = |reason| Err(EvidenceError::BadName { name: name.to_string(), reason });
    if name == "." || name == ".." {
        return bad("relative folder names are not case names");
    }
    if name.chars().any(|c| c.is_control() || c == '/' || c == '\\') {
        return bad("contains a path separator or a control character");
    }
    Ok(())
}

/// An open case folder.
#[derive(Debug, Clone)]
pub struct Case {
    location: CaseLocation,
    log: ActionLog,
}

/// A file written into a case's evidence folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceFile {
    /// Where it was written.
    pub path: PathBuf,
    /// SHA-256 (hex) of its content.
    pub sha256: String,
    /// Its size in bytes.
    pub bytes: u64,
}

impl Case {
    /// Opens the case folder, creating it (and its evidence folder) when absent.
    pub fn open_or_create(location: CaseLocation) -> Result<Self> {
        let evidence = location.dir.join(EVIDENCE_DIR);
        fs::create_dir_all(&evidence).map_err(io_err(&evidence))?;
        let log = ActionLog::at(location.dir.join(ACTION_LOG_FILE));
        Ok(Self { location, log })
    }

    /// Opens an existing case folder without creating anything.
    pub fn open_existing(location: CaseLocation) -> Result<Self> {
        fs::metadata(&location.dir).map_err(io_err(&location.dir))?;
        let log = ActionLog::at(location.dir.join(ACTION_LOG_FILE));
        Ok(Self { location, log })
    }

    /// The case name.
    pub fn name(&self) -> &str {
        &self.location.name
    }

    /// The case folder.
    pub fn dir(&self) -> &Path {
        &self.location.dir
    }

    /// The case's action log.
    pub fn action_log(&self) -> &ActionLog {
        &self.log
    }

    /// Writes `content` as `evidence/<file_name>` (never overwriting: a numeric suffix is
    /// added when the name is taken) and returns its path and SHA-256.
    pub fn write_evidence(&self, file_name: &str, content: &[u8]) -> Result<EvidenceFile> {
        check_name(file_name)?;
        if file_name.is_empty() {
            return Err(EvidenceError::BadName { name: file_name.into(), reason: "empty" });
        }
        let dir = self.location.dir.join(EVIDENCE_DIR);
        fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let (stem, ext) = match file_name.rsplit_once('.') {
            Some((stem, ext)) if !stem.is_empty() => (stem.to_string(), format!(".{ext}")),
            _ => (file_name.to_string(), String::new()),
        };
        let mut attempt = 0u32;
        loop {
            let candidate = if attempt == 0 { dir.join(file_name) } else { dir.join(format!("{stem}.{attempt}{ext}")) };
            match OpenOptions::new().write(true).create_new(true).open(&candidate) {
                Ok(mut file) => {
                    file.write_all(content).map_err(io_err(&candidate))?;
                    file.sync_data().map_err(io_err(&candidate))?;
                    return Ok(EvidenceFile { path: candidate, sha256: sha256_hex(content), bytes: content.len() as u64 });
                }
                Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists && attempt < 10_000 => attempt += 1,
                Err(err) => return Err(io_err(&candidate)(err)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log_in(dir: &tempfile::TempDir) -> ActionLog {
        ActionLog::at(dir.path().join("actions.jsonl"))
    }

    #[test]
    fn appended_entries_chain_and_verify() {
        let dir = tempfile::tempdir().unwrap();
        let log = log_in(&dir);
        let a = log.append(serde_json::json!({"call": "iam:UpdateAccessKey", "n": 1})).unwrap();
        let b = log.append(serde_json::json!({"call": "ec2:CreateSnapshot", "n": 2})).unwrap();
        assert_eq!(a.seq, 1);
        assert_eq!(a.prev_hash, GENESIS_HASH);
        assert_eq!(b.seq, 2);
        assert_eq!(b.prev_hash, a.hash);
        assert_ne!(a.hash, b.hash);
        assert_eq!(log.verify().unwrap(), 2);
        assert_eq!(log.entries().unwrap(), vec![a, b]);
    }

    #[test]
    fn key_order_does_not_change_the_hash() {
        let one: serde_json::Value = serde_json::from_str(r#"{"b":1,"a":{"y":2,"x":3}}"#).unwrap();
        let two: serde_json::Value = serde_json::from_str(r#"{"a":{"x":3,"y":2},"b":1}"#).unwrap();
        assert_eq!(canonical_bytes(1, "t", GENESIS_HASH, &one), canonical_bytes(1, "t", GENESIS_HASH, &two));
        assert_ne!(canonical_bytes(1, "t", GENESIS_HASH, &one), canonical_bytes(2, "t", GENESIS_HASH, &one));
    }

    fn three_entry_log(dir: &tempfile::TempDir) -> (ActionLog, Vec<String>) {
        let log = log_in(dir);
        for n in 0..3 {
            log.append(serde_json::json!({ "n": n })).unwrap();
        }
        let text = fs::read_to_string(log.path()).unwrap();
        (log, text.lines().map(String::from).collect())
    }

    fn expect_broken_at(log: &ActionLog, expected_line: usize) {
        match log.verify() {
            Err(EvidenceError::ChainBroken { line, .. }) => assert_eq!(line, expected_line),
            other => panic!("expected a broken chain at line {expected_line}, got {other:?}"),
        }
    }

    #[test]
    fn verify_detects_an_edit() {
        let dir = tempfile::tempdir().unwrap();
        let (log, mut lines) = three_entry_log(&dir);
        lines[1] = lines[1].replace("\"n\":1", "\"n\":7");
        fs::write(log.path(), lines.join("\n") + "\n").unwrap();
        expect_broken_at(&log, 2);
        // Nothing may be chained onto a tampered log.
        assert!(log.append(serde_json::json!({"n": 9})).is_err());
    }

    #[test]
    fn verify_detects_a_deletion() {
        let dir = tempfile::tempdir().unwrap();
        let (log, mut lines) = three_entry_log(&dir);
        lines.remove(1);
        fs::write(log.path(), lines.join("\n") + "\n").unwrap();
        expect_broken_at(&log, 2);
    }

    #[test]
    fn verify_detects_a_reorder() {
        let dir = tempfile::tempdir().unwrap();
        let (log, mut lines) = three_entry_log(&dir);
        lines.swap(1, 2);
        fs::write(log.path(), lines.join("\n") + "\n").unwrap();
        expect_broken_at(&log, 2);
    }

    #[test]
    fn verify_names_the_line_of_invalid_json() {
        let dir = tempfile::tempdir().unwrap();
        let (log, mut lines) = three_entry_log(&dir);
        lines[2] = "{not json".into();
        fs::write(log.path(), lines.join("\n") + "\n").unwrap();
        match log.verify() {
            Err(EvidenceError::BadEntry { line, path, .. }) => {
                assert_eq!(line, 3);
                assert_eq!(path, log.path());
            }
            other => panic!("expected a bad entry at line 3, got {other:?}"),
        }
    }

    #[test]
    fn missing_log_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let log = log_in(&dir);
        assert_eq!(log.verify().unwrap(), 0);
        assert!(log.entries().unwrap().is_empty());
    }

    #[test]
    fn case_names_and_paths_resolve() {
        let env = CaseEnv { firebreak_home: None, xdg_data_home: None, home: Some("/home/ann".into()) };
        let named = CaseLocation::resolve("IR-42", &env).unwrap();
        assert_eq!(named.dir, PathBuf::from("/home/ann/.local/share/firebreak/cases/IR-42"));
        assert_eq!(named.name, "IR-42");
        let xdg = CaseEnv { xdg_data_home: Some("/data".into()), ..env.clone() };
        assert_eq!(CaseLocation::resolve("c", &xdg).unwrap().dir, PathBuf::from("/data/firebreak/cases/c"));
        let fb = CaseEnv { firebreak_home: Some("/fb".into()), ..xdg };
        assert_eq!(CaseLocation::resolve("c", &fb).unwrap().dir, PathBuf::from("/fb/cases/c"));
        let path = CaseLocation::resolve("./cases/x", &env).unwrap();
        assert_eq!(path.dir, PathBuf::from("./cases/x"));
        assert_eq!(path.name, "x");
        assert!(CaseLocation::resolve("..", &env).is_err());
        assert!(CaseLocation::resolve("", &env).is_err());
        assert!(matches!(CaseLocation::resolve("c", &CaseEnv::default()), Err(EvidenceError::NoHome)));
    }

    #[test]
    fn evidence_files_are_hashed_and_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let location = CaseLocation { name: "c".into(), dir: dir.path().join("c") };
        let case = Case::open_or_create(location).unwrap();
        let first = case.write_evidence("meta.json", b"{\"a\":1}").unwrap();
        let second = case.write_evidence("meta.json", b"{\"a\":2}").unwrap();
        assert_ne!(first.path, second.path);
        assert_eq!(fs::read(&first.path).unwrap(), b"{\"a\":1}");
        assert_eq!(first.sha256, sha256_hex(b"{\"a\":1}"));
        assert_eq!(second.bytes, 7);
        assert!(case.write_evidence("../escape", b"x").is_err());
    }
}
