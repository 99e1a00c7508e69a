//! Assembles a [`ReportInput`] from plain data the CLI gathers from a case:
//!
//! * the `summary` pivot's table (`dimension, value, count, errors, first_seen, last_seen`);
//! * the rows of the `findings` table (columns of the case spec: `rule_title`, `level`,
//!   `rule_author`, `event_id`, `event_time`, `principal_arn`, `source_ip`...);
//! * optionally rows of events (the `timeline` pivot's columns: `eventid`, `resource`,
//!   `useragent`...) to add the resource acted on to the attacker timeline;
//! * the action log entries ([`firebreak_evidence::ActionLog::entries`]) and the result of
//!   [`firebreak_evidence::ActionLog::verify`];
//! * the evidence files ([`scan_evidence_dir`]);
//! * the playbook runs, as [`PlaybookRunRecord`]s (the runner's run state mapped to plain data).
//!
//! Nothing here fails: a missing column gives empty values, a record of an unknown shape is
//! shown as it is, and every discrepancy found (a failed action, a broken hash chain, an
//! evidence file whose hash differs from the one recorded) becomes an open item.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::{self, File};
use std::io::Read;
use std::path::{Path, PathBuf};

use firebreak_evidence::LogEntry;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::timeline::{compact_json, parse_time};
use crate::{
    level_rank, ActionEntry, AnswerEntry, CaseSummary, Counted, DecisionEntry, EvidenceEntry, FindingEntry, PlaybookRunEntry, ReportError, ReportInput,
    TimelineEntry, LEVELS,
};

/// Rows of a query result: column names and optional text cells (the shape of
/// `firebreak_store::table::Table`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableRows {
    /// Column names.
    pub columns: Vec<String>,
    /// Rows, one cell per column.
    pub rows: Vec<Vec<Option<String>>>,
}

impl TableRows {
    /// An empty table with these columns.
    pub fn new<S: Into<String>>(columns: impl IntoIterator<Item = S>) -> Self {
        Self { columns: columns.into_iter().map(Into::into).collect(), rows: Vec::new() }
    }

    /// Appends a row (cells beyond the columns are ignored, missing ones are empty).
    pub fn push_row<S: Into<String>>(&mut self, cells: impl IntoIterator<Item = Option<S>>) {
        self.rows.push(cells.into_iter().map(|c| c.map(Into::into)).collect());
    }

    /// Position of a column (case-insensitive).
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.eq_ignore_ascii_case(name))
    }

    fn cells(&self) -> impl Iterator<Item = Cells<'_>> {
        self.rows.iter().map(move |row| Cells { table: self, row })
    }
}

/// One row with lookups by column name.
struct Cells<'a> {
    table: &'a TableRows,
    row: &'a [Option<String>],
}

impl<'a> Cells<'a> {
    /// The non-empty value of a column.
    fn get(&self, column: &str) -> Option<&'a str> {
        let index = self.table.column_index(column)?;
        self.row.get(index)?.as_deref().map(str::trim).filter(|v| !v.is_empty())
    }

    fn text(&self, column: &str) -> String {
        self.get(column).unwrap_or("").to_string()
    }
}

/// A file of the case's evidence folder.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceFileInfo {
    /// Path relative to the case folder (`evidence/user-alice.json`).
    pub path: String,
    /// SHA-256 (hex) of its content.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Last modification time (RFC 3339), if known.
    pub modified: Option<String>,
}

/// What [`scan_evidence_dir`] found: the files it could hash and the ones it could not.
#[derive(Debug, Default)]
pub struct EvidenceScan {
    /// Files hashed, sorted by path.
    pub files: Vec<EvidenceFileInfo>,
    /// Files or folders that could not be read (the others are still listed).
    pub errors: Vec<ReportError>,
}

/// Hashes every file under `<case_dir>/evidence` (recursively; symbolic links are not
/// followed and are reported as errors). A missing evidence folder is an empty register.
pub fn scan_evidence_dir(case_dir: &Path) -> EvidenceScan {
    let mut scan = EvidenceScan::default();
    let root = case_dir.join(firebreak_evidence::EVIDENCE_DIR);
    if !root.exists() {
        return scan;
    }
    let mut pending = vec![root];
    while let Some(dir) = pending.pop() {
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(source) => {
                scan.errors.push(ReportError::Io { path: dir, source });
                continue;
            }
        };
        for entry in entries {
            let entry = match entry {
                Ok(entry) => entry,
                Err(source) => {
                    scan.errors.push(ReportError::Io { path: dir.clone(), source });
                    continue;
                }
            };
            let path = entry.path();
            let meta = match fs::symlink_metadata(&path) {
                Ok(meta) => meta,
                Err(source) => {
                    scan.errors.push(ReportError::Io { path, source });
                    continue;
                }
            };
            if meta.is_dir() {
                pending.push(path);
            } else if meta.file_type().is_symlink() {
                let source = std::io::Error::other("symbolic link in the evidence folder, not followed");
                scan.errors.push(ReportError::Io { path, source });
            } else {
                match hash_file(&path) {
                    Ok((sha256, bytes)) => {
                        let relative = path.strip_prefix(case_dir).unwrap_or(&path).to_string_lossy().replace('\\', "/");
                        let modified = meta.modified().ok().and_then(|t| jiff::Timestamp::try_from(t).ok()).map(|t| t.to_string());
                        scan.files.push(EvidenceFileInfo { path: relative, sha256, bytes, modified });
                    }
                    Err(source) => scan.errors.push(ReportError::Io { path, source }),
                }
            }
        }
    }
    scan.files.sort_by(|a, b| a.path.cmp(&b.path));
    scan
}

fn hash_file(path: &Path) -> std::io::Result<(String, u64)> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 64 * 1024];
    let mut bytes = 0u64;
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        bytes += n as u64;
    }
    Ok((hex::encode(hasher.finalize()), bytes))
}

/// What [`read_case_files`] read from a case folder.
#[derive(Debug)]
pub struct CaseFiles {
    /// Every action log entry that parses, in file order.
    pub action_log: Vec<LogEntry>,
    /// The hash-chain check: `Ok(entries)` or `Err(the first problem)`.
    pub action_log_verified: Result<usize, String>,
    /// The evidence folder's files.
    pub evidence: EvidenceScan,
    /// Problems met (unparseable log lines, unreadable files), as open-item sentences.
    pub problems: Vec<String>,
}

/// Reads `<case>/actions.jsonl` (leniently: a line that does not parse is reported in
/// `problems` and the others are still read; the hash chain is checked separately with
/// [`firebreak_evidence::ActionLog::verify`]) and hashes the evidence folder.
pub fn read_case_files(case_dir: &Path) -> CaseFiles {
    let mut files = CaseFiles { action_log: Vec::new(), action_log_verified: Ok(0), evidence: EvidenceScan::default(), problems: Vec::new() };
    let log_path = case_dir.join(firebreak_evidence::ACTION_LOG_FILE);
    match fs::read(&log_path) {
        Ok(bytes) => {
            for (index, line) in bytes.split(|b| *b == b'\n').enumerate() {
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                match serde_json::from_slice::<LogEntry>(line) {
                    Ok(entry) => files.action_log.push(entry),
                    Err(err) => files.problems.push(format!("{}:{}: unreadable action log entry ({err}); the other entries are shown", log_path.display(), index + 1)),
                }
            }
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => files.problems.push(format!("{}: cannot read the action log: {err}", log_path.display())),
    }
    files.action_log_verified = firebreak_evidence::ActionLog::at(&log_path).verify().map_err(|e| e.to_string());
    files.evidence = scan_evidence_dir(case_dir);
    for error in &files.evidence.errors {
        files.problems.push(format!("Evidence folder: {error}"));
    }
    files
}

/// One step of a playbook run, as plain data.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaybookStepRecord {
    /// Step id.
    pub id: String,
    /// Phase key (`detection_and_analysis`).
    pub phase: String,
    /// Step kind (`manual`, `detect`, `query`, `question`, `action`, `decision`).
    pub kind: String,
    /// Step title.
    pub title: String,
    /// `done`, `skipped`, `open`, `planned` or `failed`.
    pub status: String,
    /// The question (question steps).
    pub question: Option<String>,
    /// The recorded answer (question steps).
    pub answer: Option<String>,
    /// The branch chosen (decision steps).
    pub choice: Option<String>,
    /// Why: the facts a decision used, or why a step is open or skipped.
    pub reason: Option<String>,
    /// Who should do it (manual steps).
    pub who: Option<String>,
    /// Who ran or answered it.
    pub operator: Option<String>,
    /// When it was recorded (RFC 3339).
    pub time: Option<String>,
}

/// One playbook run, as plain data.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaybookRunRecord {
    /// Playbook id.
    pub id: String,
    /// Playbook title.
    pub title: String,
    /// Every step, in playbook order.
    pub steps: Vec<PlaybookStepRecord>,
    /// The playbook's lessons-learned prompts.
    pub lessons_learned: Vec<String>,
    /// The playbook's backlog items.
    pub backlog: Vec<String>,
}

/// Everything [`ReportInput::collect`] reads.
#[derive(Debug, Clone, Default)]
pub struct ReportSources {
    /// Case name.
    pub case_name: String,
    /// Generation time (RFC 3339).
    pub generated_at: String,
    /// Operator / tool version.
    pub generated_by: String,
    /// The `summary` pivot over the whole case (dimension, value, count, first_seen,
    /// last_seen). An `account` (or `recipientaccountid`) dimension, when present, fills the
    /// accounts list.
    pub summary: TableRows,
    /// Number of events in the case; when `None`, the sum of the `eventname` dimension's counts.
    pub total_events: Option<u64>,
    /// Rows of the findings table.
    pub findings: TableRows,
    /// Events (timeline pivot columns) used to add resources and user agents to the attacker
    /// timeline, matched on `eventid`. May be empty.
    pub events: TableRows,
    /// The action log's entries.
    pub action_log: Vec<LogEntry>,
    /// The action log's hash-chain check (`Ok(entries)` or `Err(reason)`), `None` if not run.
    pub action_log_verified: Option<Result<usize, String>>,
    /// The evidence folder's files ([`scan_evidence_dir`]).
    pub evidence_files: Vec<EvidenceFileInfo>,
    /// Playbook runs.
    pub playbook_runs: Vec<PlaybookRunRecord>,
    /// Open items from elsewhere (evidence scan errors, analyst notes...).
    pub open_items: Vec<String>,
    /// Lessons learned from elsewhere.
    pub lessons_learned: Vec<String>,
    /// Backlog items from elsewhere.
    pub backlog: Vec<String>,
    /// How many values per summary list and how many rules in the top findings (0 = 10).
    pub top_n: usize,
}

impl ReportInput {
    /// Assembles the report input (see the [module documentation](self)).
    pub fn collect(sources: ReportSources) -> ReportInput {
        let top_n = if sources.top_n == 0 { 10 } else { sources.top_n };
        let mut open_items = Vec::new();
        if let Some(Err(reason)) = &sources.action_log_verified {
            open_items.push(format!("The action log's hash chain is broken ({reason}): the record of responder actions cannot be relied on until this is explained."));
        }
        let responder_actions = actions(&sources.action_log, &mut open_items);
        let evidence = evidence_register(&sources.evidence_files, &sources.action_log, &mut open_items);
        let playbooks: Vec<PlaybookRunEntry> = sources.playbook_runs.iter().map(|run| playbook_entry(run, &mut open_items)).collect();
        open_items.extend(sources.open_items.iter().cloned());
        let mut lessons_learned = Vec::new();
        let mut backlog = Vec::new();
        for run in &sources.playbook_runs {
            lessons_learned.extend(run.lessons_learned.iter().cloned());
            backlog.extend(run.backlog.iter().cloned());
        }
        lessons_learned.extend(sources.lessons_learned.iter().cloned());
        backlog.extend(sources.backlog.iter().cloned());
        let (findings_by_level, top_findings) = findings_tables(&sources.findings, top_n);
        ReportInput {
            case_name: sources.case_name.clone(),
            generated_at: sources.generated_at.clone(),
            generated_by: sources.generated_by.clone(),
            summary: summary(&sources.summary, sources.total_events, top_n),
            attacker_timeline: attacker_timeline(&sources.findings, &sources.events),
            responder_actions,
            findings_by_level,
            top_findings,
            playbooks,
            evidence,
            open_items: dedup(open_items),
            lessons_learned: dedup(lessons_learned),
            backlog: dedup(backlog),
            action_log_verified: sources.action_log_verified.clone(),
        }
    }
}

fn dedup(items: Vec<String>) -> Vec<String> {
    let mut seen = HashSet::new();
    items.into_iter().filter(|i| !i.trim().is_empty() && seen.insert(i.clone())).collect()
}

/// Orders times: parsed ones by instant, others by text after them.
fn time_key(text: &str) -> (Option<jiff::Timestamp>, String) {
    (parse_time(text), text.to_string())
}

fn earlier(a: Option<String>, b: &str) -> Option<String> {
    match a {
        None => Some(b.to_string()),
        Some(a) if parse_time(b).is_some() && (parse_time(&a).is_none() || time_key(b) < time_key(&a)) => Some(b.to_string()),
        keep => keep,
    }
}

fn later(a: Option<String>, b: &str) -> Option<String> {
    match a {
        None => Some(b.to_string()),
        Some(a) if parse_time(b).is_some() && (parse_time(&a).is_none() || time_key(b) > time_key(&a)) => Some(b.to_string()),
        keep => keep,
    }
}

fn summary(table: &TableRows, total_events: Option<u64>, top_n: usize) -> CaseSummary {
    let mut out = CaseSummary::default();
    let mut event_name_total = 0u64;
    for row in table.cells() {
        let Some(dimension) = row.get("dimension") else { continue };
        let value = row.text("value");
        let count = row.get("count").and_then(|c| c.parse::<u64>().ok()).unwrap_or(0);
        if let Some(first) = row.get("first_seen") {
            out.first_event = earlier(out.first_event.take(), first);
        }
        if let Some(last) = row.get("last_seen") {
            out.last_event = later(out.last_event.take(), last);
        }
        let list = match dimension.to_ascii_lowercase().as_str() {
            "principal" => &mut out.principals,
            "access_key" | "accesskeyid" => &mut out.access_keys,
            "sourceipaddress" | "source_ip" => &mut out.source_ips,
            "useragent" | "user_agent" => &mut out.user_agents,
            "awsregion" | "region" => &mut out.regions,
            "account" | "accountid" | "recipientaccountid" => &mut out.accounts,
            "eventname" => {
                event_name_total += count;
                continue;
            }
            _ => continue,
        };
        list.push(Counted { value, count });
    }
    for list in [&mut out.principals, &mut out.access_keys, &mut out.source_ips, &mut out.user_agents, &mut out.regions, &mut out.accounts] {
        list.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
        list.truncate(top_n);
    }
    out.events = total_events.unwrap_or(event_name_total);
    out
}

fn findings_tables(findings: &TableRows, top_n: usize) -> (Vec<(String, u64)>, Vec<FindingEntry>) {
    if findings.rows.is_empty() {
        return (Vec::new(), Vec::new());
    }
    let mut by_level: BTreeMap<String, u64> = BTreeMap::new();
    let mut rules: HashMap<(String, String), FindingEntry> = HashMap::new();
    for row in findings.cells() {
        let level = row.get("level").map(str::to_ascii_lowercase).unwrap_or_else(|| "unknown".into());
        *by_level.entry(level.clone()).or_default() += 1;
        let title = row.get("rule_title").or(row.get("rule_id")).unwrap_or("(untitled rule)").to_string();
        let entry = rules.entry((title.clone(), level.clone())).or_insert_with(|| FindingEntry { rule_title: title, level, ..Default::default() });
        entry.count += 1;
        if let Some(time) = row.get("event_time") {
            entry.first = earlier(entry.first.take(), time);
            entry.last = later(entry.last.take(), time);
        }
        if entry.author.is_none() {
            entry.author = row.get("rule_author").map(str::to_string);
        }
    }
    let mut levels: Vec<(String, u64)> = LEVELS.iter().map(|l| (l.to_string(), by_level.remove(*l).unwrap_or(0))).collect();
    levels.extend(by_level);
    let mut top: Vec<FindingEntry> = rules.into_values().collect();
    top.sort_by(|a, b| {
        let rank = |f: &FindingEntry| level_rank(&f.level).map(i16::from).unwrap_or(-1);
        rank(b).cmp(&rank(a)).then_with(|| b.count.cmp(&a.count)).then_with(|| a.rule_title.cmp(&b.rule_title))
    });
    top.truncate(top_n);
    (levels, top)
}

/// The event ids a correlation finding lists (`{"event_ids": [...]}`).
fn correlation_event_ids(text: Option<&str>) -> Vec<String> {
    let Some(value) = text.and_then(|t| serde_json::from_str::<Value>(t).ok()) else { return Vec::new() };
    value.get("event_ids").and_then(Value::as_array).map(|ids| ids.iter().filter_map(Value::as_str).map(str::to_string).collect()).unwrap_or_default()
}

fn attacker_timeline(findings: &TableRows, events: &TableRows) -> Vec<TimelineEntry> {
    let events_by_id: HashMap<&str, Cells<'_>> = events.cells().filter_map(|row| row.get("eventid").map(|id| (id, row))).collect();
    let from_event = |row: &Cells<'_>| TimelineEntry {
        time: row.text("eventtime"),
        principal: row.text("principal"),
        access_key: row.get("access_key").map(str::to_string),
        source_ip: row.text("sourceipaddress"),
        user_agent: row.get("useragent").map(str::to_string),
        event_source: row.text("eventsource"),
        event_name: row.text("eventname"),
        resource: row.get("resource").map(str::to_string),
        error_code: row.get("errorcode").map(str::to_string),
        rule_titles: Vec::new(),
        level: String::new(),
        event_id: row.get("eventid").map(str::to_string),
    };
    let mut order: Vec<String> = Vec::new();
    let mut entries: HashMap<String, TimelineEntry> = HashMap::new();
    let mut add = |key: String, make: &dyn Fn() -> TimelineEntry, title: &str, level: &str| {
        let entry = entries.entry(key.clone()).or_insert_with(|| {
            order.push(key);
            make()
        });
        if !entry.rule_titles.iter().any(|t| t == title) {
            entry.rule_titles.push(title.to_string());
        }
        if level_rank(level) > level_rank(&entry.level) || entry.level.is_empty() {
            entry.level = level.to_string();
        }
    };
    for row in findings.cells() {
        let level = row.get("level").unwrap_or("").to_ascii_lowercase();
        if level_rank(&level).is_none_or(|rank| rank < 2) {
            continue;
        }
        let title = row.get("rule_title").or(row.get("rule_id")).unwrap_or("(untitled rule)");
        let from_finding = || {
            let mut entry = TimelineEntry {
                time: row.text("event_time"),
                principal: row.text("principal_arn"),
                access_key: row.get("access_key_id").map(str::to_string),
                source_ip: row.text("source_ip"),
                user_agent: row.get("user_agent").map(str::to_string),
                event_source: row.text("event_source"),
                event_name: row.get("event_name").unwrap_or(title).to_string(),
                resource: None,
                error_code: row.get("error_code").map(str::to_string),
                rule_titles: Vec::new(),
                level: String::new(),
                event_id: row.get("event_id").map(str::to_string),
            };
            if let Some(event) = entry.event_id.as_deref().and_then(|id| events_by_id.get(id)) {
                entry.resource = event.get("resource").map(str::to_string);
                if entry.user_agent.is_none() {
                    entry.user_agent = event.get("useragent").map(str::to_string);
                }
            }
            entry
        };
        let linked: Vec<&Cells<'_>> = if row.get("kind") == Some("correlation") {
            correlation_event_ids(row.get("correlation")).iter().filter_map(|id| events_by_id.get(id.as_str())).collect()
        } else {
            Vec::new()
        };
        if !linked.is_empty() {
            for event in linked {
                let key = format!("id:{}", event.text("eventid"));
                add(key, &|| from_event(event), title, &level);
            }
            continue;
        }
        let key = match row.get("event_id") {
            Some(id) if row.get("kind") != Some("correlation") => format!("id:{id}"),
            _ => format!("t:{}|{}|{}|{}", row.text("event_time"), row.text("event_name"), row.text("principal_arn"), title),
        };
        add(key, &from_finding, title, &level);
    }
    let mut out: Vec<TimelineEntry> = order.into_iter().filter_map(|key| entries.remove(&key)).collect();
    out.sort_by(|a, b| {
        let key = |e: &TimelineEntry| (parse_time(&e.time).is_none(), parse_time(&e.time));
        key(a).cmp(&key(b))
    });
    out
}

/// `user_name=alice, access_key_id=AKIA...` from a step's parameters.
fn target_text(record: &Value) -> String {
    let params = record.get("parameters").filter(|p| !p.is_null()).or(record.get("action"));
    match params {
        Some(Value::Object(map)) => {
            // Sorted by key: serde_json keeps insertion order when some crate of the build
            // turns on `preserve_order`, and the report must not depend on that.
            let mut pairs: Vec<(&String, &Value)> = map.iter().filter(|(k, v)| !v.is_null() && k.as_str() != "step").collect();
            pairs.sort_by(|a, b| a.0.cmp(b.0));
            pairs.into_iter().map(|(k, v)| format!("{k}={}", compact_json(v))).collect::<Vec<_>>().join(", ")
        }
        Some(other) => compact_json(other),
        None => record.get("target").map(compact_json).unwrap_or_default(),
    }
}

fn actions(log: &[LogEntry], open_items: &mut Vec<String>) -> Vec<ActionEntry> {
    let mut out = Vec::with_capacity(log.len());
    for entry in log {
        let record = &entry.record;
        let text = |key: &str| record.get(key).and_then(Value::as_str).map(str::to_string);
        let operator = text("operator")
            .or_else(|| record.get("identity").and_then(|i| i.get("arn")).and_then(Value::as_str).map(str::to_string))
            .unwrap_or_else(|| "unknown".into());
        let is_step = record.get("call").is_some_and(Value::is_string);
        let mut call = if is_step { text("call").unwrap_or_default() } else { text("kind").unwrap_or_else(|| "record".into()) };
        if let Some(of) = record.get("rollback_of").and_then(Value::as_u64) {
            call.push_str(&format!(" (rollback of action {of})"));
        }
        let (before, after) = if is_step {
            (record.get("before").cloned().unwrap_or(Value::Null), record.get("result").or(record.get("after")).cloned().unwrap_or(Value::Null))
        } else {
            (Value::Null, record.clone())
        };
        let status = text("status").unwrap_or_else(|| if is_step { "unknown".into() } else { "recorded".into() });
        let error = text("error");
        let target = if is_step { target_text(record) } else { String::new() };
        if status == "failed" {
            open_items.push(format!(
                "Action {} ({call} on {target}) failed{}: check the resource's state and retry or contain it another way.",
                entry.seq,
                error.as_deref().map(|e| format!(": {e}")).unwrap_or_default()
            ));
        }
        out.push(ActionEntry { action_id: Some(entry.seq), time: entry.time.clone(), operator, call, target, before, after, status, error });
    }
    out
}

/// An evidence file recorded in the action log by a capture step.
struct Recorded<'a> {
    entry: &'a LogEntry,
    path: PathBuf,
    sha256: String,
    bytes: Option<u64>,
}

fn evidence_register(files: &[EvidenceFileInfo], log: &[LogEntry], open_items: &mut Vec<String>) -> Vec<EvidenceEntry> {
    let recorded: Vec<Recorded<'_>> = log
        .iter()
        .filter_map(|entry| {
            let result = entry.record.get("result")?;
            let path = result.get("evidence_file")?.as_str()?;
            Some(Recorded {
                entry,
                path: PathBuf::from(path),
                sha256: result.get("sha256").and_then(Value::as_str).unwrap_or("").to_string(),
                bytes: result.get("bytes").and_then(Value::as_u64),
            })
        })
        .collect();
    let describe = |r: &Recorded<'_>| {
        let record = &r.entry.record;
        let step = record.get("action").and_then(|a| a.get("step")).and_then(Value::as_str).or(record.get("call").and_then(Value::as_str)).unwrap_or("capture");
        let target = target_text(record);
        if target.is_empty() {
            format!("{step} (action {})", r.entry.seq)
        } else {
            format!("{step} {target} (action {})", r.entry.seq)
        }
    };
    let mut matched = vec![false; recorded.len()];
    let mut out = Vec::with_capacity(files.len());
    for file in files {
        let found = recorded.iter().position(|r| !file.path.is_empty() && r.path.ends_with(Path::new(&file.path)));
        let (added, what) = match found {
            Some(i) => {
                matched[i] = true;
                let r = &recorded[i];
                let mut what = describe(r);
                if !r.sha256.is_empty() && !r.sha256.eq_ignore_ascii_case(&file.sha256) {
                    what.push_str(&format!("; HASH MISMATCH: action {} recorded {}", r.entry.seq, r.sha256));
                    open_items.push(format!(
                        "Evidence file {} does not match the SHA-256 recorded by action {} (recorded {}, now {}): it changed after capture.",
                        file.path, r.entry.seq, r.sha256, file.sha256
                    ));
                } else if r.bytes.is_some_and(|b| b != file.bytes) {
                    what.push_str("; SIZE MISMATCH with the action log");
                }
                (r.entry.time.clone(), what)
            }
            None => (file.modified.clone().unwrap_or_default(), "not recorded in the action log".to_string()),
        };
        out.push(EvidenceEntry { path: file.path.clone(), sha256: file.sha256.clone(), bytes: file.bytes, added, what });
    }
    for (r, _) in recorded.iter().zip(&matched).filter(|(_, m)| !**m) {
        let shown = r.path.to_string_lossy().to_string();
        out.push(EvidenceEntry {
            path: shown.clone(),
            sha256: r.sha256.clone(),
            bytes: r.bytes.unwrap_or(0),
            added: r.entry.time.clone(),
            what: format!("{}; MISSING from the evidence folder", describe(r)),
        });
        open_items.push(format!("Evidence file {shown} recorded by action {} is missing from the evidence folder.", r.entry.seq));
    }
    out
}

/// `Detection and analysis` from `detection_and_analysis`.
fn phase_title(key: &str) -> String {
    let words = key.replace(['_', '-'], " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn is_done(status: &str) -> bool {
    matches!(status.trim().to_ascii_lowercase().as_str(), "done" | "skipped" | "completed" | "complete")
}

fn playbook_entry(run: &PlaybookRunRecord, open_items: &mut Vec<String>) -> PlaybookRunEntry {
    let mut entry = PlaybookRunEntry { id: run.id.clone(), title: if run.title.is_empty() { run.id.clone() } else { run.title.clone() }, ..Default::default() };
    for step in &run.steps {
        let who = step.operator.clone().unwrap_or_default();
        let time = step.time.clone().unwrap_or_default();
        if is_done(&step.status) {
            entry.steps_done += 1;
        } else {
            entry.steps_open += 1;
            if entry.phase_reached.is_empty() {
                entry.phase_reached = phase_title(&step.phase);
            }
            let mut item = format!("Playbook {}: {} step \"{}\" is {}", entry.title, phase_title(&step.phase).to_lowercase(), step.title, step.status);
            if let Some(owner) = step.who.as_deref().filter(|w| !w.is_empty()) {
                item.push_str(&format!(" (owner: {owner})"));
            }
            if let Some(reason) = step.reason.as_deref().filter(|r| !r.is_empty()) {
                item.push_str(&format!(": {reason}"));
            }
            open_items.push(item);
        }
        if let Some(answer) = step.answer.as_deref().filter(|a| !a.is_empty()) {
            entry.answers.push(AnswerEntry {
                question: step.question.clone().unwrap_or_else(|| step.title.clone()),
                answer: answer.to_string(),
                who: who.clone(),
                time: time.clone(),
            });
        }
        if step.kind == "decision" {
            if let Some(choice) = step.choice.as_deref() {
                entry.decisions.push(DecisionEntry { title: step.title.clone(), choice: choice.to_string(), reason: step.reason.clone().unwrap_or_default(), who, time });
            }
        }
    }
    if entry.phase_reached.is_empty() {
        entry.phase_reached = run.steps.last().map(|s| format!("{} (all steps done)", phase_title(&s.phase))).unwrap_or_else(|| "not started".into());
    }
    entry
}
