//! The built-in rule pack (`rules/` at the repository root).
//!
//! Checks that every rule file loads cleanly, carries the metadata the pack promises,
//! has a test file (and every test file a rule), fires on its own positive events and
//! not on its look-alike negatives, that correlation rules fire on their bursts and not
//! on their near misses, and that the pack as a whole detects every Stratus Red Team
//! detonation log of the third-party corpus.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use firebreak_detect::{
    builtin_rule_files, CorrelationHit, Limits, LoadReport, RuleIdx, RuleKind, RuleLoader,
    RuleMeta, RuleOutcome, RuleSet,
};
use firebreak_events::CloudTrailEvent;
use serde_json::Value;

const REPO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/corpus");

/// The pack loaded from `rules/aws`, with every rule indexed by its file.
struct Pack {
    rules: RuleSet,
    report: LoadReport,
    /// `<area>/<name>.yml` -> rules loaded from that file, in document order.
    by_file: BTreeMap<String, Vec<RuleIdx>>,
}

fn rules_dir() -> PathBuf {
    Path::new(REPO).join("rules")
}

fn load_pack() -> Pack {
    let aws = rules_dir().join("aws");
    let mut loader = RuleLoader::new(Limits::default());
    loader.add_path(&aws);
    let (rules, report) = loader.finish();
    let mut by_file: BTreeMap<String, Vec<RuleIdx>> = BTreeMap::new();
    for (idx, meta) in rules.rules().iter().enumerate() {
        by_file
            .entry(relative(&aws, &meta.origin))
            .or_default()
            .push(idx);
    }
    Pack {
        rules,
        report,
        by_file,
    }
}

/// `origin` relative to `base`, with `/` separators (the origin itself if unrelated).
fn relative(base: &Path, origin: &str) -> String {
    Path::new(origin)
        .strip_prefix(base)
        .map(|p| p.to_string_lossy().replace('\\', "/"))
        .unwrap_or_else(|_| origin.to_string())
}

/// Every file under `dir` with extension `ext`, relative to `dir`, sorted.
fn files_with_ext(dir: &Path, ext: &str) -> BTreeSet<String> {
    fn walk(root: &Path, dir: &Path, ext: &str, out: &mut BTreeSet<String>) {
        let entries =
            std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                walk(root, &path, ext, out);
            } else if path.extension().is_some_and(|e| e == ext) {
                out.insert(relative(root, &path.to_string_lossy()));
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(dir, dir, ext, &mut out);
    out
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not valid JSON: {e}", path.display()))
}

fn events<'a>(test: &'a Value, key: &str, file: &str) -> Result<&'a Vec<Value>, String> {
    match test.get(key).and_then(Value::as_array) {
        Some(list) if !list.is_empty() => Ok(list),
        _ => Err(format!(
            "{file}: `{key}` must be a non-empty array of CloudTrail records"
        )),
    }
}

/// Top-level fields every test record must carry, so that tests exercise complete
/// CloudTrail records rather than fragments tailored to the rule.
const RECORD_FIELDS: [&str; 11] = [
    "eventVersion",
    "userIdentity",
    "eventTime",
    "eventSource",
    "eventName",
    "awsRegion",
    "sourceIPAddress",
    "userAgent",
    "eventID",
    "eventType",
    "recipientAccountId",
];

/// The fields of [`RECORD_FIELDS`] that `event` lacks.
fn missing_record_fields(event: &Value) -> Vec<&'static str> {
    RECORD_FIELDS
        .iter()
        .copied()
        .filter(|f| event.get(f).is_none())
        .collect()
}

fn is_uuid_v4(id: &str) -> bool {
    let b = id.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit() && !c.is_ascii_uppercase(),
        })
        && b[14] == b'4'
        && matches!(b[19], b'8' | b'9' | b'a' | b'b')
}

/// The `key: value` top-level lines of each YAML document of a rule file.
fn top_level_keys(text: &str) -> Vec<BTreeMap<String, String>> {
    text.split("\n---\n")
        .map(|doc| {
            doc.lines()
                .filter(|l| !l.starts_with([' ', '-', '#']) && l.contains(':'))
                .filter_map(|l| {
                    l.split_once(':')
                        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                })
                .collect()
        })
        .collect()
}

fn correlation_of(pack: &Pack, file: &str) -> Option<RuleIdx> {
    pack.by_file
        .get(file)?
        .iter()
        .copied()
        .find(|&i| matches!(pack.rules.rules()[i].kind, RuleKind::Correlation(_)))
}

/// The record as raw JSON text, compact and pretty-printed, as the scanner sees it
/// (`CloudTrailEvent` reads fields from the raw text, not from a parsed value).
fn raw_forms(event: &Value) -> [(&'static str, String); 2] {
    [
        (
            "compact raw",
            serde_json::to_string(event).expect("serialisable"),
        ),
        (
            "pretty raw",
            serde_json::to_string_pretty(event).expect("serialisable"),
        ),
    ]
}

/// The single-event rules that fire on `event`, through `serde_json::Value` and through
/// `CloudTrailEvent` on the compact and pretty raw text: one `(form, fired)` per form.
fn fired_all_forms(rules: &RuleSet, event: &Value) -> Vec<(&'static str, Vec<RuleIdx>)> {
    let mut out = Vec::new();
    let mut fired = Vec::new();
    rules.match_event(event, &mut fired);
    out.push(("json value", fired));
    for (form, text) in raw_forms(event) {
        let mut fired = Vec::new();
        match CloudTrailEvent::parse(text.as_bytes()) {
            Ok(record) => rules.match_event(&record, &mut fired),
            Err(e) => panic!("test record does not parse as a CloudTrail record ({form}): {e}"),
        }
        out.push((form, fired));
    }
    out
}

/// Correlation rules (by index) that fire over `events`, fed in the given order, read
/// through `CloudTrailEvent` when `raw` is set.
fn fired_correlations_via(rules: &RuleSet, events: &[Value], raw: bool) -> BTreeMap<RuleIdx, u64> {
    let mut hits: Vec<CorrelationHit> = Vec::new();
    for event in events {
        if raw {
            let text = serde_json::to_string(event).expect("serialisable");
            let record = CloudTrailEvent::parse(text.as_bytes()).expect("test record parses");
            rules.correlation_hits(&record, &mut hits);
        } else {
            rules.correlation_hits(event, &mut hits);
        }
    }
    let mut fired = BTreeMap::new();
    for m in rules.evaluate_correlations(hits) {
        let best = fired.entry(m.rule).or_insert(0);
        *best = (*best).max(m.count);
    }
    fired
}

/// Correlation rules (by index) that fire over `events`, through both event readers; the
/// two must agree.
fn fired_correlations(rules: &RuleSet, events: &[Value]) -> BTreeMap<RuleIdx, u64> {
    let by_value = fired_correlations_via(rules, events, false);
    let by_raw = fired_correlations_via(rules, events, true);
    assert_eq!(
        by_value, by_raw,
        "correlations differ between serde_json::Value and CloudTrailEvent"
    );
    by_value
}

fn describe(meta: &RuleMeta) -> String {
    format!("{} ({})", meta.title, meta.id)
}

#[test]
fn every_rule_file_loads_without_error_or_skip() {
    let pack = load_pack();
    let problems: Vec<String> = pack
        .report
        .rules
        .iter()
        .filter_map(|status| match &status.outcome {
            RuleOutcome::Ok(_) => None,
            RuleOutcome::Skipped(why) => Some(format!(
                "{} (document {}): skipped: {why}",
                status.origin, status.document
            )),
            RuleOutcome::Error(e) => Some(e.to_string()),
        })
        .collect();
    assert!(
        problems.is_empty(),
        "rule pack does not load cleanly:\n{}",
        problems.join("\n")
    );
    let files = files_with_ext(&rules_dir().join("aws"), "yml");
    assert!(
        files.len() >= 80,
        "expected a full pack, found {} rule files",
        files.len()
    );
    let loaded: BTreeSet<&String> = pack.by_file.keys().collect();
    let missing: Vec<&String> = files.iter().filter(|f| !loaded.contains(f)).collect();
    assert!(
        missing.is_empty(),
        "rule files that produced no rule: {missing:?}"
    );
    assert_eq!(pack.report.ok_count(), pack.rules.rules().len());
}

#[test]
fn every_rule_has_the_required_metadata() {
    let pack = load_pack();
    let mut problems = Vec::new();
    let mut ids: HashMap<&str, &str> = HashMap::new();
    for meta in pack.rules.rules() {
        let who = format!("{}: {}", meta.origin, describe(meta));
        if !is_uuid_v4(&meta.id) {
            problems.push(format!("{who}: id is not a lowercase UUIDv4"));
        }
        if let Some(other) = ids.insert(&meta.id, &meta.origin) {
            problems.push(format!("{who}: id already used in {other}"));
        }
        if !matches!(meta.author.as_deref(), Some("firebreak" | "firebreak team")) {
            problems.push(format!(
                "{who}: author must be firebreak, found {:?}",
                meta.author
            ));
        }
        if meta
            .description
            .as_deref()
            .is_none_or(|d| d.trim().len() < 20)
        {
            problems.push(format!("{who}: missing or too short description"));
        }
        if !meta.tags.iter().any(|t| t.starts_with("attack.t"))
            || !meta.tags.iter().all(|t| t.starts_with("attack."))
        {
            problems.push(format!(
                "{who}: tags need an ATT&CK technique and only attack.* tags: {:?}",
                meta.tags
            ));
        }
        if meta.falsepositives.is_empty() {
            problems.push(format!("{who}: no falsepositives"));
        }
        if meta.references.is_empty() || !meta.references.iter().all(|r| r.starts_with("https://"))
        {
            problems.push(format!(
                "{who}: references must be https URLs: {:?}",
                meta.references
            ));
        }
        if !matches!(
            meta.status.as_deref(),
            Some("experimental" | "test" | "stable")
        ) {
            problems.push(format!("{who}: status {:?}", meta.status));
        }
        if meta.date.as_deref().is_none_or(|d| d.len() != 10) {
            problems.push(format!(
                "{who}: date must be YYYY-MM-DD, found {:?}",
                meta.date
            ));
        }
        if matches!(meta.kind, RuleKind::Single)
            && (meta.logsource.product.as_deref() != Some("aws")
                || meta.logsource.service.as_deref() != Some("cloudtrail"))
        {
            problems.push(format!("{who}: logsource must be aws/cloudtrail"));
        }
    }
    // `level` defaults to medium in the engine, so check that every document states one.
    let aws = rules_dir().join("aws");
    for file in files_with_ext(&aws, "yml") {
        let text = std::fs::read_to_string(aws.join(&file)).expect("rule file readable");
        for (n, keys) in top_level_keys(&text).iter().enumerate() {
            let level = keys.get("level").map(String::as_str);
            if !matches!(
                level,
                Some("informational" | "low" | "medium" | "high" | "critical")
            ) {
                problems.push(format!("{file} (document {}): level {level:?}", n + 1));
            }
        }
        if !file.contains('/')
            || file
                .chars()
                .any(|c| c.is_ascii_uppercase() || c == ' ' || c == '-')
        {
            problems.push(format!("{file}: expected <area>/<snake_case_name>.yml"));
        }
    }
    assert!(
        problems.is_empty(),
        "metadata problems:\n{}",
        problems.join("\n")
    );
}

#[test]
fn every_rule_file_has_a_test_file_and_back() {
    let rules = files_with_ext(&rules_dir().join("aws"), "yml");
    let tests = files_with_ext(&rules_dir().join("tests"), "json");
    let expected: BTreeSet<String> = rules.iter().map(|f| f.replace(".yml", ".json")).collect();
    let untested: Vec<&String> = expected.difference(&tests).collect();
    let orphans: Vec<&String> = tests.difference(&expected).collect();
    assert!(
        untested.is_empty(),
        "rules without rules/tests/<area>/<name>.json: {untested:?}"
    );
    assert!(orphans.is_empty(), "test files without a rule: {orphans:?}");
}

#[test]
fn positive_events_fire_their_rule_and_negatives_do_not() {
    let pack = load_pack();
    let tests_dir = rules_dir().join("tests");
    let mut problems = Vec::new();
    let mut checked = (0usize, 0usize);
    for (file, idxs) in &pack.by_file {
        if correlation_of(&pack, file).is_some() {
            continue;
        }
        let [idx] = idxs[..] else {
            problems.push(format!(
                "{file}: a single-event rule file must hold exactly one rule, found {}",
                idxs.len()
            ));
            continue;
        };
        let meta = &pack.rules.rules()[idx];
        let test_file = file.replace(".yml", ".json");
        let test_path = tests_dir.join(&test_file);
        if !test_path.exists() {
            continue; // reported by every_rule_file_has_a_test_file_and_back
        }
        let test = read_json(&test_path);
        for (key, want) in [("positive", true), ("negative", false)] {
            let list = match events(&test, key, &test_file) {
                Ok(list) => list,
                Err(e) => {
                    problems.push(e);
                    continue;
                }
            };
            for (n, event) in list.iter().enumerate() {
                let missing = missing_record_fields(event);
                if !missing.is_empty() {
                    problems.push(format!(
                        "{test_file} {key}[{n}]: incomplete CloudTrail record, missing {missing:?}"
                    ));
                }
                for (form, fired) in fired_all_forms(&pack.rules, event) {
                    if fired.contains(&idx) != want {
                        let verb = if want { "does not fire" } else { "fires" };
                        problems.push(format!(
                            "{test_file} {key}[{n}] ({form}): {} {verb}",
                            describe(meta)
                        ));
                    }
                }
                if want {
                    checked.0 += 1;
                } else {
                    checked.1 += 1;
                }
            }
        }
    }
    println!(
        "checked {} positive and {} negative events",
        checked.0, checked.1
    );
    assert!(
        problems.is_empty(),
        "rule test failures:\n{}",
        problems.join("\n")
    );
    assert!(
        checked.0 >= 80 && checked.1 >= 80,
        "too few test events: {checked:?}"
    );
}

#[test]
fn correlation_sequences_fire_and_near_misses_do_not() {
    let pack = load_pack();
    let tests_dir = rules_dir().join("tests");
    let mut problems = Vec::new();
    let mut correlations = 0;
    for file in pack.by_file.keys() {
        let Some(idx) = correlation_of(&pack, file) else {
            continue;
        };
        correlations += 1;
        let meta = &pack.rules.rules()[idx];
        let test_file = file.replace(".yml", ".json");
        let test_path = tests_dir.join(&test_file);
        if !test_path.exists() {
            continue;
        }
        let test = read_json(&test_path);
        for (key, want) in [("positive_sequence", true), ("negative_sequence", false)] {
            match events(&test, key, &test_file) {
                Ok(list) => {
                    for (n, event) in list.iter().enumerate() {
                        let missing = missing_record_fields(event);
                        if !missing.is_empty() {
                            problems.push(format!("{test_file} {key}[{n}]: incomplete CloudTrail record, missing {missing:?}"));
                        }
                    }
                    let fired = fired_correlations(&pack.rules, list);
                    if fired.contains_key(&idx) != want {
                        let verb = if want { "does not fire" } else { "fires" };
                        problems.push(format!(
                            "{test_file} {key} ({} events): {} {verb} (count {:?})",
                            list.len(),
                            describe(meta),
                            fired.get(&idx)
                        ));
                    }
                    // A sequence's single events must not raise findings of their own
                    // through base rules: those are `generate: false`.
                    for event in list {
                        let mut single = Vec::new();
                        pack.rules.match_event(event, &mut single);
                        if let Some(&base) =
                            single.iter().find(|&&r| pack.by_file[file].contains(&r))
                        {
                            problems.push(format!(
                                "{test_file}: base rule {} reports on its own",
                                describe(&pack.rules.rules()[base])
                            ));
                            break;
                        }
                    }
                }
                Err(e) => problems.push(e),
            }
        }
    }
    assert!(
        correlations >= 5,
        "expected correlation rules in rules/aws/correlations, found {correlations}"
    );
    assert!(
        problems.is_empty(),
        "correlation test failures:\n{}",
        problems.join("\n")
    );
}

#[test]
fn every_stratus_detonation_log_is_detected() {
    let pack = load_pack();
    let logs_dir = Path::new(CORPUS).join("stratus/docs/detonation-logs");
    let logs = files_with_ext(&logs_dir, "json");
    assert!(
        logs.len() >= 35,
        "expected the 35 Stratus detonation logs in {}, found {}",
        logs_dir.display(),
        logs.len()
    );
    let mut undetected = Vec::new();
    for log in &logs {
        let records = read_json(&logs_dir.join(log));
        let records = records
            .as_array()
            .unwrap_or_else(|| panic!("{log}: expected a JSON array of records"));
        let mut detections: BTreeSet<String> = BTreeSet::new();
        for record in records {
            let forms = fired_all_forms(&pack.rules, record);
            let (_, fired) = &forms[0];
            for (form, other) in &forms[1..] {
                assert_eq!(
                    fired, other,
                    "{log}: {form} reader disagrees with serde_json::Value on {record}"
                );
            }
            for &idx in fired {
                let meta = &pack.rules.rules()[idx];
                detections.insert(format!("{} [{}]", meta.title, meta.level));
            }
        }
        for (idx, count) in fired_correlations(&pack.rules, records) {
            let meta = &pack.rules.rules()[idx];
            detections.insert(format!(
                "{} [{}, correlation, count {count}]",
                meta.title, meta.level
            ));
        }
        println!(
            "{log}: {}",
            if detections.is_empty() {
                "NOT DETECTED".to_string()
            } else {
                detections.iter().cloned().collect::<Vec<_>>().join("; ")
            }
        );
        if detections.is_empty() {
            undetected.push(log.clone());
        }
    }
    assert!(
        undetected.is_empty(),
        "Stratus detonation logs detected by none of our rules: {undetected:?}"
    );
}

#[test]
fn few_rules_lack_an_event_name_constraint() {
    let pack = load_pack();
    let (names, unindexed) = pack.rules.index_stats();
    println!(
        "{names} distinct eventNames indexed, {unindexed} generating rules tested on every event"
    );
    assert!(names >= 100, "index covers only {names} eventNames");
    // Only root API activity has no eventName (or eventName prefix) constraint at all;
    // Amazon Q Developer activity is constrained by eventSource only, and the Lambda rules
    // match versioned event names (AddPermission20150331v2 ...) by prefix.
    assert!(
        unindexed <= 3,
        "{unindexed} rules are tested on every event; keep those few (they cost speed on every event)"
    );
}

#[test]
fn builtin_pack_embeds_every_rule_file() {
    let on_disk: BTreeSet<String> = files_with_ext(&rules_dir(), "yml")
        .into_iter()
        .filter(|f| !f.starts_with("tests/"))
        .collect();
    let embedded: BTreeSet<String> = builtin_rule_files()
        .iter()
        .map(|(path, _)| path.to_string())
        .collect();
    assert_eq!(
        embedded, on_disk,
        "the embedded pack differs from rules/**/*.yml"
    );
    let mut loader = RuleLoader::new(Limits::default());
    loader.add_builtin();
    let (builtin, report) = loader.finish();
    assert_eq!(report.errors().count(), 0);
    assert_eq!(builtin.rules().len(), load_pack().rules.rules().len());
}
