//! [`CaseStore`]: a case folder and its stored tables.
//!
//! ```text
//! <case>/case.json      {"name", "created", "firebreak_version", "facts"}
//! <case>/events/part-<run>-<nnnnn>.parquet
//! <case>/findings/part-<run>-<nnnnn>.parquet
//! <case>/ingest.jsonl   manifest: one line per committed part and per completed input
//! ```
//!
//! Part files are written under a `.tmp-` name and renamed, so a reader that globs
//! `part-*.parquet` never sees half a file.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use firebreak_evidence::CaseLocation;
use serde::{Deserialize, Serialize};

use crate::error::{Result, StoreError};

/// The case description file.
pub const CASE_FILE: &str = "case.json";
/// Folder of the `cloudtrail` table's parts.
pub const EVENTS_DIR: &str = "events";
/// Folder of the `findings` table's parts.
pub const FINDINGS_DIR: &str = "findings";
/// The ingest manifest.
pub const MANIFEST_FILE: &str = "ingest.jsonl";
/// Prefix of committed part files.
pub const PART_PREFIX: &str = "part-";
/// Prefix of part files being written.
pub const TMP_PREFIX: &str = ".tmp-";

/// Files other crates put in a case folder; a folder holding only these can become a case.
const ADOPTABLE: [&str; 4] = ["actions.jsonl", "evidence", "playbooks", ".firebreak"];

/// The contents of `case.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseInfo {
    /// The case name.
    pub name: String,
    /// When the case was created (RFC 3339, UTC).
    pub created: String,
    /// The firebreak version that created it.
    pub firebreak_version: String,
    /// Free-form facts recorded about the case.
    #[serde(default)]
    pub facts: serde_json::Map<String, serde_json::Value>,
}

/// What [`CaseStore::recover`] cleaned up after an interrupted ingest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Temporary files deleted (parts that were never committed).
    pub deleted_tmp: Vec<PathBuf>,
    /// Findings parts whose events part does not exist, deleted.
    pub deleted_orphan_findings: Vec<PathBuf>,
    /// Findings parts completed (their events part was committed, the findings rename
    /// was interrupted).
    pub completed_findings: Vec<PathBuf>,
}

impl Recovery {
    /// Whether nothing had to be done.
    pub fn is_clean(&self) -> bool {
        self.deleted_tmp.is_empty()
            && self.deleted_orphan_findings.is_empty()
            && self.completed_findings.is_empty()
    }
}

/// A case folder holding the `cloudtrail` and `findings` tables.
#[derive(Debug, Clone)]
pub struct CaseStore {
    dir: PathBuf,
    info: CaseInfo,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |e| StoreError::io(path, e)
}

/// Writes `bytes` to `path` through a temporary file and a rename.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!("{TMP_PREFIX}{file_name}"));
    let mut f = fs::File::create(&tmp).map_err(io(&tmp))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(io(&tmp))?;
    drop(f);
    fs::rename(&tmp, path).map_err(io(path))
}

/// Flushes a folder's entries (renames) to disk; best effort where unsupported.
pub(crate) fn sync_dir(dir: &Path) {
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// The sorted `part-*.parquet` files of a folder (none when it does not exist).
fn parts_in(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(StoreError::io(dir, e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io(dir))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(PART_PREFIX) && name.ends_with(".parquet") {
            out.push(entry.path());
        }
    }
    out.sort();
    Ok(out)
}

impl CaseStore {
    /// Creates a new case at `location`: the folder (and its parents) and `case.json`.
    /// Refuses a folder that is already a case, or that holds anything other than what
    /// other firebreak commands put in a case (`actions.jsonl`, `evidence/`, `playbooks/`).
    pub fn create(location: &CaseLocation) -> Result<CaseStore> {
        let dir = &location.dir;
        if dir.join(CASE_FILE).exists() {
            return Err(StoreError::CaseExists { path: dir.clone() });
        }
        match fs::read_dir(dir) {
            Ok(entries) => {
                for entry in entries {
                    let entry = entry.map_err(io(dir))?;
                    let name = entry.file_name();
                    if !ADOPTABLE.iter().any(|a| name.as_os_str() == *a) {
                        return Err(StoreError::CaseExists { path: dir.clone() });
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                fs::create_dir_all(dir).map_err(io(dir))?
            }
            Err(e) => return Err(StoreError::io(dir, e)),
        }
        let info = CaseInfo {
            name: location.name.clone(),
            created: jiff::Timestamp::now()
                .strftime("%Y-%m-%dT%H:%M:%SZ")
                .to_string(),
            firebreak_version: env!("CARGO_PKG_VERSION").to_string(),
            facts: serde_json::Map::new(),
        };
        let store = CaseStore {
            dir: dir.clone(),
            info,
        };
        store.write_info()?;
        for sub in [EVENTS_DIR, FINDINGS_DIR] {
            let path = dir.join(sub);
            fs::create_dir_all(&path).map_err(io(&path))?;
        }
        Ok(store)
    }

    /// Opens an existing case (reads `case.json`). Opening changes nothing on disk, so
    /// readers can open a case while an ingest is writing to it.
    pub fn open(dir: impl AsRef<Path>) -> Result<CaseStore> {
        let dir = dir.as_ref();
        let path = dir.join(CASE_FILE);
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::NotACase {
                    path: dir.to_path_buf(),
                })
            }
            Err(e) => return Err(StoreError::io(&path, e)),
        };
        let info: CaseInfo = serde_json::from_str(&text).map_err(|e| StoreError::BadCaseFile {
            path: path.clone(),
            message: e.to_string(),
        })?;
        Ok(CaseStore {
            dir: dir.to_path_buf(),
            info,
        })
    }

    /// Opens the case at `location`, creating it when it does not exist yet.
    pub fn open_or_create(location: &CaseLocation) -> Result<CaseStore> {
        if location.dir.join(CASE_FILE).exists() {
            CaseStore::open(&location.dir)
        } else {
            CaseStore::create(location)
        }
    }

    /// The case folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The contents of `case.json`.
    pub fn info(&self) -> &CaseInfo {
        &self.info
    }

    /// Records a fact in `case.json` (replacing any previous value under `key`).
    pub fn set_fact(&mut self, key: &str, value: serde_json::Value) -> Result<()> {
        self.info.facts.insert(key.to_string(), value);
        self.write_info()
    }

    fn write_info(&self) -> Result<()> {
        let path = self.dir.join(CASE_FILE);
        let mut text =
            serde_json::to_vec_pretty(&self.info).map_err(|e| StoreError::BadCaseFile {
                path: path.clone(),
                message: e.to_string(),
            })?;
        text.push(b'\n');
        write_atomically(&path, &text)
    }

    /// The folder of the `cloudtrail` table's parts.
    pub fn events_dir(&self) -> PathBuf {
        self.dir.join(EVENTS_DIR)
    }

    /// The folder of the `findings` table's parts.
    pub fn findings_dir(&self) -> PathBuf {
        self.dir.join(FINDINGS_DIR)
    }

    /// The ingest manifest (`ingest.jsonl`).
    pub fn manifest_path(&self) -> PathBuf {
        self.dir.join(MANIFEST_FILE)
    }

    /// The committed event parts (`events/part-*.parquet`), sorted by name (run, then part).
    pub fn event_files(&self) -> Result<Vec<PathBuf>> {
        parts_in(&self.events_dir())
    }

    /// The committed findings parts (`findings/part-*.parquet`), sorted by name.
    pub fn finding_files(&self) -> Result<Vec<PathBuf>> {
        parts_in(&self.findings_dir())
    }

    /// Cleans up after an interrupted ingest: deletes uncommitted `.tmp-` files, completes
    /// a findings part whose events part was committed, deletes a findings part whose
    /// events part does not exist. Run by [`ingest`](crate::ingest::ingest) before it
    /// writes; must not run while another ingest writes to the same case.
    pub fn recover(&self) -> Result<Recovery> {
        let mut report = Recovery::default();
        let events_dir = self.events_dir();
        let findings_dir = self.findings_dir();
        for dir in [&events_dir, &findings_dir] {
            fs::create_dir_all(dir).map_err(io(dir))?;
        }
        for entry in fs::read_dir(&events_dir).map_err(io(&events_dir))? {
            let entry = entry.map_err(io(&events_dir))?;
            if entry.file_name().to_string_lossy().starts_with(TMP_PREFIX) {
                let path = entry.path();
                fs::remove_file(&path).map_err(io(&path))?;
                report.deleted_tmp.push(path);
            }
        }
        for entry in fs::read_dir(&findings_dir).map_err(io(&findings_dir))? {
            let entry = entry.map_err(io(&findings_dir))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            if let Some(part) = name.strip_prefix(TMP_PREFIX) {
                let committed_events = events_dir.join(part);
                if part.starts_with(PART_PREFIX) && committed_events.exists() {
                    // Written and synced before the events part was renamed: complete it.
                    let target = findings_dir.join(part);
                    fs::rename(&path, &target).map_err(io(&target))?;
                    report.completed_findings.push(target);
                } else {
                    fs::remove_file(&path).map_err(io(&path))?;
                    report.deleted_tmp.push(path);
                }
            } else if name.starts_with(PART_PREFIX) && !events_dir.join(&name).exists() {
                fs::remove_file(&path).map_err(io(&path))?;
                report.deleted_orphan_findings.push(path);
            }
        }
        if !report.is_clean() {
            sync_dir(&events_dir);
            sync_dir(&findings_dir);
        }
        Ok(report)
    }
}

/// A new run id: UTC `YYYYMMDDTHHMMSS` and 4 random hex digits.
pub fn new_run_id() -> String {
    let now = jiff::Timestamp::now();
    format!(
        "{}{:04x}",
        now.strftime("%Y%m%dT%H%M%S"),
        rand::random::<u16>()
    )
}

/// The file name of part `n` of run `run`: `part-<run>-<nnnnn>.parquet`.
pub fn part_file_name(run: &str, n: u32) -> String {
    format!("{PART_PREFIX}{run}-{n:05}.parquet")
}
