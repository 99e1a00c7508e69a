//! Loading rules from files, directories, text and the embedded pack, and building
//! the compiled [`RuleSet`] with its load report.

use std::path::Path;

use crate::compile::Detection;
use crate::error::{Problem, RuleError};
use crate::index::{IndexKey, NameIndex, Placement};
use crate::parse::{parse_document, Body, DocOutcome, ParsedRule, RawCorrelation};
use crate::rule::{Correlation, RuleIdx, RuleKind};
use crate::yaml::{parse_documents, Yaml};
use crate::{builtin_rule_files, Limits, RuleSet};

/// What happened to one rule document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleOutcome {
    /// Loaded; the rule is `RuleSet::rules()[idx]`.
    Ok(RuleIdx),
    /// Valid but not for us (another product or service): the reason.
    Skipped(String),
    /// Refused: names the file, the document and what is wrong.
    Error(RuleError),
}

/// The load status of one rule document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleStatus {
    /// The file (or origin label) of the document.
    pub origin: String,
    /// 1-based document index in the file (0 when the whole file failed).
    pub document: usize,
    /// The rule `id` (empty if unknown).
    pub id: String,
    /// The rule `title` (empty if unknown).
    pub title: String,
    /// Loaded, skipped or refused.
    pub outcome: RuleOutcome,
}

/// One status per rule document, in load order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// The statuses.
    pub rules: Vec<RuleStatus>,
}

impl LoadReport {
    /// Number of loaded rules.
    pub fn ok_count(&self) -> usize {
        self.rules
            .iter()
            .filter(|r| matches!(r.outcome, RuleOutcome::Ok(_)))
            .count()
    }

    /// Number of skipped documents.
    pub fn skipped_count(&self) -> usize {
        self.rules
            .iter()
            .filter(|r| matches!(r.outcome, RuleOutcome::Skipped(_)))
            .count()
    }

    /// The refused documents' errors.
    pub fn errors(&self) -> impl Iterator<Item = &RuleError> {
        self.rules.iter().filter_map(|r| match &r.outcome {
            RuleOutcome::Error(e) => Some(e),
            _ => None,
        })
    }
}

#[derive(Debug)]
struct PendingDoc {
    origin: String,
    document: usize,
    yaml: Result<Yaml, Problem>,
}

/// Collects rule files, then compiles them all with [`RuleLoader::finish`].
#[derive(Debug)]
pub struct RuleLoader {
    limits: Limits,
    docs: Vec<PendingDoc>,
}

impl Default for RuleLoader {
    fn default() -> Self {
        RuleLoader::new(Limits::default())
    }
}

impl RuleLoader {
    /// A loader applying `limits` to every file and rule.
    pub fn new(limits: Limits) -> Self {
        RuleLoader {
            limits,
            docs: Vec::new(),
        }
    }

    /// Adds the embedded rule pack (see [`builtin_rule_files`]); origins are
    /// `builtin:<relative path>`.
    pub fn add_builtin(&mut self) {
        for (path, text) in builtin_rule_files() {
            self.add_yaml(&format!("builtin:{path}"), text);
        }
    }

    /// Adds a rule file, or every `*.yml`/`*.yaml` file under a directory (recursively,
    /// in sorted order). Unreadable files are reported, not fatal.
    pub fn add_path(&mut self, path: &Path) {
        if path.is_dir() {
            let mut files = Vec::new();
            let mut errors = Vec::new();
            collect_yaml_files(path, &mut files, &mut errors, 0, self.limits.max_depth);
            for (origin, problem) in errors {
                self.docs.push(PendingDoc {
                    origin,
                    document: 0,
                    yaml: Err(problem),
                });
            }
            files.sort();
            for file in files {
                self.add_file(&file);
            }
        } else {
            self.add_file(path);
        }
    }

    fn add_file(&mut self, path: &Path) {
        let origin = path.display().to_string();
        let fail = |problem| PendingDoc {
            origin: origin.clone(),
            document: 0,
            yaml: Err(problem),
        };
        match std::fs::metadata(path) {
            Ok(m) if m.len() > self.limits.max_file_bytes as u64 => {
                let size = usize::try_from(m.len()).unwrap_or(usize::MAX);
                self.docs.push(fail(Problem::FileTooLarge {
                    size,
                    limit: self.limits.max_file_bytes,
                }));
                return;
            }
            Err(e) => {
                self.docs.push(fail(Problem::Io(e.to_string())));
                return;
            }
            Ok(_) => {}
        }
        match std::fs::read(path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => self.add_yaml(&origin, &text),
                Err(_) => self.docs.push(fail(Problem::NotUtf8)),
            },
            Err(e) => self.docs.push(fail(Problem::Io(e.to_string()))),
        }
    }

    /// Adds one file's text (possibly several `---` separated documents).
    pub fn add_yaml(&mut self, origin: &str, text: &str) {
        if text.len() > self.limits.max_file_bytes {
            self.docs.push(PendingDoc {
                origin: origin.to_string(),
                document: 0,
                yaml: Err(Problem::FileTooLarge {
                    size: text.len(),
                    limit: self.limits.max_file_bytes,
                }),
            });
            return;
        }
        let parsed = parse_documents(
            text,
            self.limits.max_yaml_nodes,
            self.limits.max_depth,
            self.limits.max_documents_per_file,
        );
        for (i, yaml) in parsed.into_iter().enumerate() {
            // Empty documents (a trailing `---`, an empty file) are not rules.
            if matches!(yaml, Ok(Yaml::Null)) {
                continue;
            }
            self.docs.push(PendingDoc {
                origin: origin.to_string(),
                document: i + 1,
                yaml,
            });
        }
    }

    /// Compiles everything added into a rule set and reports on every document.
    pub fn finish(self) -> (RuleSet, LoadReport) {
        let limits = self.limits;
        // 1. Parse every document.
        let mut statuses: Vec<RuleStatus> = Vec::with_capacity(self.docs.len());
        let mut parsed: Vec<Option<ParsedRule>> = Vec::with_capacity(self.docs.len());
        for doc in self.docs {
            let mut status = RuleStatus {
                origin: doc.origin.clone(),
                document: doc.document,
                id: String::new(),
                title: String::new(),
                outcome: RuleOutcome::Skipped(String::new()),
            };
            let error = |problem| {
                RuleOutcome::Error(RuleError {
                    origin: doc.origin.clone(),
                    document: doc.document,
                    problem,
                })
            };
            match doc.yaml {
                Err(problem) => {
                    status.outcome = error(problem);
                    parsed.push(None);
                }
                Ok(yaml) => match parse_document(&yaml, &doc.origin, doc.document, &limits) {
                    DocOutcome::Rule(rule) => {
                        status.id = rule.meta.id.clone();
                        status.title = rule.meta.title.clone();
                        parsed.push(Some(*rule));
                    }
                    DocOutcome::Skipped { id, title, reason } => {
                        status.id = id;
                        status.title = title;
                        status.outcome = RuleOutcome::Skipped(reason);
                        parsed.push(None);
                    }
                    DocOutcome::Failed { id, title, problem } => {
                        status.id = id;
                        status.title = title;
                        status.outcome = error(problem);
                        parsed.push(None);
                    }
                },
            }
            statuses.push(status);
        }

        // 2. Resolve correlation references (by name, then id, then title; the same
        //    file first). A correlation whose base rules did not load is refused.
        let find = |reference: &str, origin: &str| -> Option<usize> {
            let by = |pred: &dyn Fn(&ParsedRule) -> bool| -> Option<usize> {
                let same_file = parsed.iter().position(|p| {
                    p.as_ref()
                        .is_some_and(|p| p.meta.origin == origin && pred(p))
                });
                same_file.or_else(|| parsed.iter().position(|p| p.as_ref().is_some_and(pred)))
            };
            by(&|p| p.meta.name.as_deref() == Some(reference))
                .or_else(|| by(&|p| p.meta.id == reference))
                .or_else(|| by(&|p| p.meta.title == reference))
        };
        let mut resolved: Vec<Option<Result<Vec<usize>, Problem>>> =
            Vec::with_capacity(parsed.len());
        for p in &parsed {
            let Some(p) = p else {
                resolved.push(None);
                continue;
            };
            let Body::Correlation(raw) = &p.body else {
                resolved.push(None);
                continue;
            };
            let mut bases = Vec::with_capacity(raw.rule_refs.len());
            let mut problem = None;
            for reference in &raw.rule_refs {
                match find(reference, &p.meta.origin) {
                    None => {
                        let why = statuses
                            .iter()
                            .find(|s| s.title == *reference || s.id == *reference)
                            .map(|s| match &s.outcome {
                                RuleOutcome::Error(e) => {
                                    format!(" (it failed to load: {})", e.problem)
                                }
                                RuleOutcome::Skipped(r) => format!(" (it was skipped: {r})"),
                                RuleOutcome::Ok(_) => String::new(),
                            })
                            .unwrap_or_default();
                        problem = Some(Problem::Correlation(format!(
                            "referenced rule '{reference}' not found{why}"
                        )));
                        break;
                    }
                    Some(i) => {
                        if matches!(
                            parsed[i].as_ref().map(|b| &b.body),
                            Some(Body::Correlation(_))
                        ) {
                            problem = Some(Problem::Unsupported(format!(
                                "correlation references the correlation rule '{reference}' (chained correlations)"
                            )));
                            break;
                        }
                        bases.push(i);
                    }
                }
            }
            resolved.push(Some(match problem {
                Some(pr) => Err(pr),
                None => Ok(bases),
            }));
        }

        // 3. Assign rule indexes to every document that loaded.
        let mut doc_to_rule: Vec<Option<RuleIdx>> = vec![None; parsed.len()];
        let mut next = 0;
        for (i, p) in parsed.iter().enumerate() {
            if p.is_none() {
                continue;
            }
            if let Some(Some(Err(problem))) = resolved.get(i) {
                statuses[i].outcome = RuleOutcome::Error(RuleError {
                    origin: statuses[i].origin.clone(),
                    document: statuses[i].document,
                    problem: problem.clone(),
                });
                continue;
            }
            doc_to_rule[i] = Some(next);
            statuses[i].outcome = RuleOutcome::Ok(next);
            next += 1;
        }

        // 4. Build the rule set.
        let mut metas = Vec::with_capacity(next);
        let mut detections: Vec<Option<Detection>> = Vec::with_capacity(next);
        let mut no_generate = vec![false; parsed.len()];
        let mut feeds: Vec<Vec<RuleIdx>> = Vec::new();
        let mut corr_bases: Vec<(RuleIdx, Vec<usize>)> = Vec::new();
        for (i, p) in parsed.into_iter().enumerate() {
            let (Some(p), Some(idx)) = (p, doc_to_rule[i]) else {
                continue;
            };
            let mut meta = p.meta;
            match p.body {
                Body::Single(d) => {
                    meta.kind = RuleKind::Single;
                    detections.push(Some(d));
                }
                Body::Correlation(raw) => {
                    let bases = match resolved.get(i) {
                        Some(Some(Ok(b))) => b.clone(),
                        _ => Vec::new(),
                    };
                    if !raw.generate {
                        for &b in &bases {
                            no_generate[b] = true;
                        }
                    }
                    let RawCorrelation {
                        kind,
                        group_by,
                        timespan_ms,
                        condition,
                        value_field,
                        generate,
                        ..
                    } = raw;
                    let rules = bases.iter().filter_map(|&b| doc_to_rule[b]).collect();
                    meta.kind = RuleKind::Correlation(Correlation {
                        kind,
                        rules,
                        group_by,
                        timespan_ms,
                        condition,
                        value_field,
                        generate,
                    });
                    corr_bases.push((idx, bases));
                    detections.push(None);
                }
            }
            metas.push(meta);
        }
        for (doc, flag) in no_generate.iter().enumerate() {
            if let (true, Some(idx)) = (*flag, doc_to_rule[doc]) {
                if let Some(meta) = metas.get_mut(idx) {
                    meta.generate = false;
                }
            }
        }
        feeds.resize(metas.len(), Vec::new());
        for (corr, bases) in &corr_bases {
            for b in bases {
                if let Some(base) = doc_to_rule[*b] {
                    if !feeds[base].contains(corr) {
                        feeds[base].push(*corr);
                    }
                }
            }
        }
        // Number field paths by name so per-event memos are shared across rules.
        let mut ids: std::collections::HashMap<String, u32> = std::collections::HashMap::new();
        for det in detections.iter_mut().flatten() {
            det.for_each_path_mut(&mut |path| {
                let next = u32::try_from(ids.len())
                    .unwrap_or(u32::MAX - 1)
                    .min(u32::MAX - 1);
                let id = *ids.entry(path.name().to_string()).or_insert(next);
                path.set_id(id);
            });
        }
        let mut generating = NameIndex::default();
        let mut feeding = NameIndex::default();
        for (idx, det) in detections.iter().enumerate() {
            let Some(det) = det else { continue };
            let required = |field: &str| {
                det.condition
                    .required_keys(&|s| det.searches.get(s).and_then(|x| x.required_keys(field)))
            };
            let placement = if let Some(keys) = required("eventName") {
                Placement::Name(keys)
            } else if let Some(keys) = required("eventSource") {
                Placement::Source(keys)
            } else {
                // Fewest keys first; on a tie, the shallowest path (cheapest to look
                // up on every event: `userIdentity.type` rather than
                // `userIdentity.sessionContext.sessionIssuer.type`).
                let depth = |field: &str| field.matches('.').count();
                let mut best: Option<(&str, Vec<IndexKey>)> = None;
                for field in det.field_names() {
                    if let Some(keys) = required(field) {
                        if best.as_ref().is_none_or(|(b_field, b)| {
                            (keys.len(), depth(field)) < (b.len(), depth(b_field))
                        }) {
                            best = Some((field, keys));
                        }
                    }
                }
                match best {
                    Some((field, keys)) => Placement::Field(field.to_string(), keys),
                    None => Placement::Always,
                }
            };
            if metas[idx].generate {
                generating.add(idx, &placement);
            }
            if !feeds[idx].is_empty() {
                feeding.add(idx, &placement);
            }
        }
        let set = RuleSet {
            metas,
            detections,
            generating,
            feeding,
            feeds,
        };
        (set, LoadReport { rules: statuses })
    }
}

fn collect_yaml_files(
    dir: &Path,
    files: &mut Vec<std::path::PathBuf>,
    errors: &mut Vec<(String, Problem)>,
    depth: usize,
    max_depth: usize,
) {
    if depth > max_depth {
        errors.push((
            dir.display().to_string(),
            Problem::Io(format!("directory nesting deeper than {max_depth}")),
        ));
        return;
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            errors.push((dir.display().to_string(), Problem::Io(e.to_string())));
            return;
        }
    };
    for entry in entries {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                errors.push((dir.display().to_string(), Problem::Io(e.to_string())));
                continue;
            }
        };
        let path = entry.path();
        let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
        if is_dir {
            collect_yaml_files(&path, files, errors, depth + 1, max_depth);
        } else if path.extension().is_some_and(|e| e == "yml" || e == "yaml") {
            files.push(path);
        }
    }
}
