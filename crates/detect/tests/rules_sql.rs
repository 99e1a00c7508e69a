//! Sigma rules compiled to SQL: the generated text per modifier and dialect, and an
//! end-to-end check that DuckDB and Spark find exactly the (rule, event) pairs the
//! engine finds, for the built-in pack and the SigmaHQ AWS rules over a simulated
//! corpus plus the Stratus Red Team logs.
//!
//! The end-to-end tests run `tests/sql/run_sql.py` and need `python3` with `duckdb`
//! (and `pyspark` with Java 17 for Spark). Without them the tests say so and pass,
//! unless the `CI` environment variable is set, in which case they fail.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{corpus, load};
use firebreak_detect::sql::detection_condition;
use firebreak_detect::{
    compile_rules, matches_query, render_script, Limits, RuleLoader, RuleSet, SqlDialect, SqlRule,
};
use firebreak_events::field::first_string;
use firebreak_events::{read_file, InputFile};

const ALL: [SqlDialect; 3] = [SqlDialect::Athena, SqlDialect::Spark, SqlDialect::DuckDb];

/// The SQL condition of a rule built around a `detection:` body.
fn sql(detection: &str, dialect: SqlDialect) -> Result<String, String> {
    let set = common::rule(detection);
    let (rules, skipped) = compile_rules(&set, dialect);
    match (rules.first(), skipped.first()) {
        (Some(r), None) => Ok(r.condition.clone()),
        (None, Some(s)) => Err(s.reason.clone()),
        other => panic!("expected one rule, got {other:?}"),
    }
}

fn ok(detection: &str, dialect: SqlDialect) -> String {
    sql(detection, dialect).unwrap_or_else(|e| panic!("skipped: {e}\n{detection}"))
}

#[test]
fn plain_values_are_case_insensitive_and_lists_are_or() {
    let d = "sel:\n    eventName:\n        - ConsoleLogin\n        - 'It''s'\ncondition: sel";
    assert_eq!(
        ok(d, SqlDialect::Athena),
        "coalesce(lower(eventname) IN ('consolelogin', 'it''s'), FALSE)"
    );
    assert_eq!(
        ok(d, SqlDialect::Spark),
        "coalesce(lower(eventname) IN ('consolelogin', 'it\\'s'), FALSE)"
    );
    let cased = ok(
        "sel:\n    eventName|cased: ConsoleLogin\ncondition: sel",
        SqlDialect::DuckDb,
    );
    assert_eq!(cased, "coalesce(eventname = 'ConsoleLogin', FALSE)");
}

#[test]
fn wildcards_become_like_with_escapes() {
    for dialect in ALL {
        let s = ok("sel:\n    userAgent: 'Aws-cli/*'\ncondition: sel", dialect);
        assert!(
            s.contains("lower(useragent) LIKE 'aws-cli/%' ESCAPE"),
            "{s}"
        );
        let s = ok(
            "sel:\n    userAgent|contains: '100%_x'\ncondition: sel",
            dialect,
        );
        let want = match dialect {
            SqlDialect::Spark => r"LIKE '%100\\%\\_x%' ESCAPE '\\'",
            _ => r"LIKE '%100\%\_x%' ESCAPE '\'",
        };
        assert!(s.contains(want), "{dialect}: {s}");
        let s = ok(
            "sel:\n    userAgent|endswith: 'a?c'\ncondition: sel",
            dialect,
        );
        assert!(s.contains("LIKE '%a_c' ESCAPE"), "{s}");
        // An escaped wildcard is a literal star; a literal backslash is escaped for LIKE.
        let s = ok("sel:\n    userAgent: 'x\\*y'\ncondition: sel", dialect);
        assert!(s.contains("= 'x*y'"), "{s}");
    }
    let s = ok(
        "sel:\n    userAgent|startswith: 'C:\\\\temp'\ncondition: sel",
        SqlDialect::DuckDb,
    );
    assert!(s.contains(r"LIKE 'c:\\temp%' ESCAPE '\'"), "{s}");
    // Non-ASCII values: LIKE on lower() (the engine's Unicode case-insensitive regex).
    let s = ok(
        "sel:\n    userAgent: 'É*x'\ncondition: sel",
        SqlDialect::Athena,
    );
    assert!(s.contains("lower(useragent) LIKE 'é%x'"), "{s}");
    let s = ok(
        "sel:\n    userAgent: '*'\ncondition: sel",
        SqlDialect::Athena,
    );
    assert_eq!(s, "coalesce(useragent IS NOT NULL, FALSE)");
}

#[test]
fn hostile_values_cannot_break_out_of_literals() {
    let d = "sel:\n    eventName: \"x' OR 1=1 --\"\n    userAgent|contains: \"\\\\' OR '1'='1\"\ncondition: sel";
    for dialect in ALL {
        let s = ok(d, dialect);
        // Every quote in the output belongs to a well-formed literal: stripping the
        // literals leaves no quote and none of the injected text.
        let rest = strip_literals(&s, dialect);
        assert!(!rest.contains('\''), "{dialect}: {s}\n{rest}");
        assert!(!rest.contains("1=1"), "{dialect}: {s}");
        assert!(!rest.contains("--"), "{dialect}: {s}");
    }
    // Rule ids and titles are literals too.
    let (set, _) = load(
        "title: \"t' ; DROP TABLE x; --\"\nid: \"a'b\"\nlogsource:\n    product: aws\ndetection:\n    sel:\n        eventName: x\n    condition: sel\n",
    );
    for dialect in ALL {
        let (rules, _) = compile_rules(&set, dialect);
        let q = matches_query(&rules, "cloudtrail");
        assert!(!strip_literals(&q, dialect).contains("DROP"), "{q}");
        let script = render_script(&rules, &[], dialect, "cloudtrail");
        let code: String = script
            .lines()
            .filter(|l| !l.starts_with("--"))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(!strip_literals(&code, dialect).contains("DROP"), "{script}");
    }
}

/// The text outside string literals, with Spark's backslash escapes or the doubled
/// quotes of the other dialects understood.
fn strip_literals(sql: &str, dialect: SqlDialect) -> String {
    let mut out = String::new();
    let mut chars = sql.chars().peekable();
    let mut in_lit = false;
    while let Some(c) = chars.next() {
        if !in_lit {
            if c == '\'' {
                in_lit = true;
            } else {
                out.push(c);
            }
            continue;
        }
        match c {
            '\\' if dialect == SqlDialect::Spark => {
                chars.next();
            }
            '\'' if chars.peek() == Some(&'\'') && dialect != SqlDialect::Spark => {
                chars.next();
            }
            '\'' => in_lit = false,
            _ => {}
        }
    }
    assert!(!in_lit, "unterminated literal in {sql}");
    out
}

#[test]
fn fields_map_to_columns_structs_resources_and_json() {
    let s = ok(
        "sel:\n    userIdentity.sessionContext.sessionIssuer.type: Role\ncondition: sel",
        SqlDialect::Athena,
    );
    assert_eq!(
        s,
        "coalesce(lower(useridentity.sessioncontext.sessionissuer.type) = 'role', FALSE)"
    );
    let s = ok(
        "sel:\n    resources.ARN|contains: bucket\ncondition: sel",
        SqlDialect::Athena,
    );
    assert!(s.starts_with("coalesce(any_match(resources, v1 -> "), "{s}");
    assert!(s.contains("lower(v1.arn) LIKE '%bucket%'"), "{s}");
    let s = ok(
        "sel:\n    resources.type: x\ncondition: sel",
        SqlDialect::Spark,
    );
    assert!(s.starts_with("coalesce(exists(resources, v1 -> "), "{s}");
    let s = ok(
        "sel:\n    resources.accountId: '1'\ncondition: sel",
        SqlDialect::DuckDb,
    );
    assert!(s.contains("list_filter(resources, lambda v1: "), "{s}");
    for (dialect, extract) in [
        (SqlDialect::Athena, "json_extract(v2, '$.bucketName')"),
        (SqlDialect::Spark, "try_variant_get(v2, '$.bucketName')"),
        (SqlDialect::DuckDb, "json_extract(v2, '$.bucketName')"),
    ] {
        let s = ok(
            "sel:\n    requestParameters.bucketName: b\ncondition: sel",
            dialect,
        );
        assert!(s.contains(extract), "{dialect}: {s}");
        assert!(s.contains("requestparameters"), "{s}");
    }
    let s = ok(
        "sel:\n    requestParameters.my-key: b\ncondition: sel",
        SqlDialect::DuckDb,
    );
    assert!(s.contains(r#"'$."my-key"'"#), "{s}");
    let s = ok(
        "sel:\n    requestParameters.my-key: b\ncondition: sel",
        SqlDialect::Athena,
    );
    assert!(s.contains(r#"'$["my-key"]'"#), "{s}");
    // A whole JSON column: its text and its text with escapes decoded.
    let s = ok(
        "sel:\n    requestParameters|contains: Suspended\ncondition: sel",
        SqlDialect::Athena,
    );
    assert!(
        s.contains("lower(requestparameters) LIKE '%suspended%'"),
        "{s}"
    );
    assert!(
        s.contains(r"replace(requestparameters, '\\', chr(1))"),
        "{s}"
    );
}

#[test]
fn fields_outside_the_table_are_skipped_with_a_reason() {
    for (field, why) in [
        ("eventname: x", "not a column"),
        ("userIdentity: x", "struct"),
        (
            "userIdentity.sessionContext.webIdFederationData.x: y",
            "not a member",
        ),
        ("eventName.x: y", "no members"),
        ("resources: x", "resources list"),
        ("resources.ARN.x: y", "no members"),
    ] {
        for dialect in ALL {
            let reason = sql(&format!("sel:\n    {field}\ncondition: sel"), dialect).unwrap_err();
            assert!(reason.contains(why), "{field} -> {reason}");
            assert!(reason.contains("search identifier 'sel'"), "{reason}");
        }
    }
    let reason = sql(
        "keywords:\n    - evil\ncondition: keywords",
        SqlDialect::Athena,
    )
    .unwrap_err();
    assert!(reason.contains("keyword"), "{reason}");
}

#[test]
fn regex_flags_and_dialect_functions() {
    let d = "sel:\n    userAgent|re|i|s: '^a.b\\d+$'\ncondition: sel";
    assert_eq!(
        ok(d, SqlDialect::Athena),
        r"coalesce(regexp_like(useragent, '(?is)^a.b\d+$'), FALSE)"
    );
    assert_eq!(
        ok(d, SqlDialect::Spark),
        r"coalesce((useragent RLIKE '(?is)^a.b\\d+$'), FALSE)"
    );
    assert_eq!(
        ok(d, SqlDialect::DuckDb),
        r"coalesce(regexp_matches(useragent, '(?is)^a.b\d+$'), FALSE)"
    );
    let s = ok(
        "sel:\n    userAgent|re: '(?P<x>a)'\ncondition: sel",
        SqlDialect::Athena,
    );
    assert!(s.contains("'(?<x>a)'"), "{s}");
}

#[test]
fn null_exists_numbers_and_base64() {
    let s = ok(
        "sel:\n    errorCode: null\ncondition: sel",
        SqlDialect::Athena,
    );
    assert_eq!(s, "errorcode IS NULL");
    let s = ok(
        "sel:\n    errorCode|exists: true\ncondition: sel",
        SqlDialect::Spark,
    );
    assert_eq!(s, "errorcode IS NOT NULL");
    let s = ok(
        "sel:\n    errorCode|exists: false\ncondition: sel",
        SqlDialect::Spark,
    );
    assert_eq!(s, "NOT errorcode IS NOT NULL");
    let s = ok(
        "sel:\n    requestParameters.a|exists: true\ncondition: sel",
        SqlDialect::DuckDb,
    );
    assert!(s.starts_with("len(list_filter(flatten("), "{s}");
    assert!(s.ends_with("> 0"), "{s}");
    let s = ok(
        "sel:\n    requestParameters.a: null\ncondition: sel",
        SqlDialect::Athena,
    );
    assert!(s.starts_with("NOT coalesce(any_match("), "{s}");
    assert!(s.contains("json_format(v4) <> 'null'"), "{s}");
    let s = ok(
        "sel:\n    recipientAccountId|gte: 10\ncondition: sel",
        SqlDialect::Athena,
    );
    assert_eq!(
        s,
        "coalesce(TRY_CAST(trim(recipientaccountid) AS DOUBLE) >= CAST('10.0' AS DOUBLE), FALSE)"
    );
    // base64 values are precomputed: "hello" -> aGVsbG8=.
    let s = ok(
        "sel:\n    userAgent|base64: hello\ncondition: sel",
        SqlDialect::DuckDb,
    );
    assert_eq!(s, "coalesce(lower(useragent) = 'agvsbg8=', FALSE)");
    let s = ok(
        "sel:\n    userAgent|base64|cased: hello\ncondition: sel",
        SqlDialect::DuckDb,
    );
    assert_eq!(s, "coalesce(useragent = 'aGVsbG8=', FALSE)");
    let s = ok(
        "sel:\n    userAgent|base64offset|contains|cased: /bin/bash\ncondition: sel",
        SqlDialect::DuckDb,
    );
    for enc in ["L2Jpbi9iYXNo", "9iaW4vYmFza", "vYmluL2Jhc2"] {
        assert!(s.contains(&format!("useragent LIKE '%{enc}%'")), "{s}");
    }
}

#[test]
fn cidr_is_integer_ranges_or_ipaddress() {
    let d = "sel:\n    sourceIPAddress|cidr: '10.1.2.3/8'\ncondition: sel";
    for dialect in ALL {
        let s = ok(d, dialect);
        assert!(
            s.contains("BETWEEN 167772160 AND 184549375"),
            "{dialect}: {s}"
        );
        assert!(
            s.contains("TRY_CAST(split_part(trim(sourceipaddress), '.', 4) AS BIGINT)"),
            "{s}"
        );
    }
    let v6 = "sel:\n    sourceIPAddress|cidr: '2001:db8::/32'\ncondition: sel";
    let s = ok(v6, SqlDialect::Athena);
    assert!(
        s.contains("contains('2001:db8::/32', try_cast(trim(sourceipaddress) AS ipaddress))"),
        "{s}"
    );
    for dialect in [SqlDialect::Spark, SqlDialect::DuckDb] {
        assert!(sql(v6, dialect).unwrap_err().contains("IPv6"));
    }
}

#[test]
fn fieldref_compares_two_fields() {
    let s = ok(
        "sel:\n    userIdentity.userName|fieldref: requestParameters.userName\ncondition: sel",
        SqlDialect::Athena,
    );
    assert!(s.starts_with("coalesce(coalesce(any_match("), "{s}");
    assert!(s.contains("lower(useridentity.username) = lower("), "{s}");
    let s = ok(
        "sel:\n    userIdentity.arn|fieldref|endswith: recipientAccountId\ncondition: sel",
        SqlDialect::Spark,
    );
    assert!(s.contains("substr(lower(useridentity.arn), length(lower(useridentity.arn)) - length(lower(recipientaccountid)) + 1)"), "{s}");
    let s = ok(
        "sel:\n    userAgent|fieldref|contains|cased: eventName\ncondition: sel",
        SqlDialect::Spark,
    );
    assert_eq!(
        s,
        "coalesce(coalesce(instr(useragent, eventname) > 0, FALSE), FALSE)"
    );
    let reason = sql(
        "sel:\n    userAgent|fieldref: nope\ncondition: sel",
        SqlDialect::Athena,
    );
    assert!(reason.unwrap_err().contains("|fieldref target"));
}

#[test]
fn conditions_and_or_not_of() {
    let body = "a:\n    eventName: A\nb1:\n    eventName: B\nb2:\n    eventName: C\n";
    let s = ok(
        &format!("{body}condition: a and not 1 of b*"),
        SqlDialect::Athena,
    );
    assert_eq!(
        s,
        "(coalesce(lower(eventname) = 'a', FALSE) AND NOT (coalesce(lower(eventname) = 'b', FALSE) OR coalesce(lower(eventname) = 'c', FALSE)))"
    );
    let s = ok(&format!("{body}condition: all of them"), SqlDialect::Athena);
    assert_eq!(s.matches(" AND ").count(), 2, "{s}");
    let s = ok(&format!("{body}condition: 2 of them"), SqlDialect::Athena);
    assert!(s.ends_with(">= 2"), "{s}");
    assert_eq!(s.matches("CASE WHEN").count(), 3, "{s}");
    let s = ok(
        &format!("{body}condition: (a or b1) and not b2"),
        SqlDialect::DuckDb,
    );
    assert!(s.starts_with("((coalesce"), "{s}");
    // A list of maps is an OR of ANDs; |all is an AND of the values.
    let s = ok(
        "sel:\n    - eventName: A\n      userAgent: x\n    - eventName: B\ncondition: sel",
        SqlDialect::Athena,
    );
    assert_eq!(s.matches(" OR ").count(), 1, "{s}");
    assert_eq!(s.matches(" AND ").count(), 1, "{s}");
    let s = ok(
        "sel:\n    userAgent|contains|all:\n        - a\n        - b\ncondition: sel",
        SqlDialect::Athena,
    );
    assert!(s.contains(") AND coalesce("), "{s}");
}

#[test]
fn correlations_and_non_generating_base_rules_are_skipped() {
    let mut loader = RuleLoader::new(Limits::default());
    loader.add_builtin();
    let (rules, report) = loader.finish();
    assert_eq!(report.errors().count(), 0);
    for dialect in ALL {
        let (compiled, skipped) = compile_rules(&rules, dialect);
        assert_eq!(compiled.len() + skipped.len(), rules.rules().len());
        let correlations = rules
            .rules()
            .iter()
            .filter(|m| matches!(m.kind, firebreak_detect::RuleKind::Correlation(_)))
            .count();
        assert!(correlations > 0);
        assert_eq!(
            skipped
                .iter()
                .filter(|s| s.reason.contains("correlation:"))
                .count(),
            correlations
        );
        assert!(skipped.iter().any(|s| s.reason.contains("generate: false")));
        let script = render_script(&compiled, &skipped, dialect, "db.cloudtrail");
        assert_eq!(script.matches("\nSELECT ").count(), compiled.len());
        assert!(script.contains("FROM db.cloudtrail\nWHERE "));
        let q = matches_query(&compiled, "cloudtrail");
        // One scan of the table: one CASE per rule in one projection.
        assert_eq!(q.matches("FROM cloudtrail").count(), 1, "{q}");
        assert_eq!(q.matches("    CASE WHEN ").count(), compiled.len());
    }
    let q = matches_query(&[], "t");
    assert!(q.contains("WHERE 1 = 0"), "{q}");
}

#[test]
fn detection_condition_is_public_for_one_rule() {
    let set = common::rule("sel:\n    eventName: X\ncondition: sel");
    let detection = set.detection(0).expect("a single-event rule");
    assert_eq!(
        detection_condition(detection, SqlDialect::Athena).as_deref(),
        Ok("coalesce(lower(eventname) = 'x', FALSE)")
    );
}

// ---------------------------------------------------------------------------
// End to end: the SQL engines find what the engine finds.

fn python_has(module: &str) -> bool {
    Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Whether the Python module is there; without it the test is skipped, or fails
/// when `CI` is set.
fn require_python(module: &str) -> bool {
    if python_has(module) {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!("python3 module '{module}' is missing and CI is set: pip install {module}");
    }
    eprintln!("SKIPPED: python3 module '{module}' is missing (pip install {module})");
    false
}

/// Removes whitespace outside JSON strings (pretty-printed records become one line).
fn minify_json(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in raw.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !c.is_whitespace() {
            out.push(c);
        }
    }
    out
}

struct Fixture {
    _dir: tempfile::TempDir,
    events: PathBuf,
    rules: RuleSet,
    /// Engine matches: rule id -> event ids.
    expected: BTreeMap<String, BTreeSet<String>>,
    event_count: usize,
}

fn read_records(path: &Path, sink: &mut dyn FnMut(&[u8])) {
    let len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let report = read_file(
        &InputFile {
            path: path.to_path_buf(),
            len,
        },
        &mut |record| {
            sink(record.bytes);
            ControlFlow::Continue(())
        },
    );
    assert!(
        report.errors.iter().all(|e| e.kind.is_informational()),
        "{}: {:?}",
        path.display(),
        report.errors
    );
}

/// The simulated corpus (all scenarios) and the Stratus Red Team logs.
fn corpus_inputs(dir: &Path) -> Vec<PathBuf> {
    let sim_dir = dir.join("sim");
    let cfg = firebreak_simulate::SimConfig {
        out_dir: sim_dir.clone(),
        events: 4_000,
        seed: 11,
        format: firebreak_simulate::OutputFormat::JsonLines,
        days: 2,
        accounts: 2,
        ..firebreak_simulate::SimConfig::default()
    };
    firebreak_simulate::generate(&cfg).expect("simulated corpus");
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(&sim_dir)
        .expect("sim dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".jsonl.gz"))
        .collect();
    inputs.sort();
    assert!(!inputs.is_empty());
    let stratus = corpus().join("stratus/docs/detonation-logs");
    let mut logs: Vec<PathBuf> = std::fs::read_dir(&stratus)
        .expect("corpus/stratus")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    logs.sort();
    assert!(logs.len() >= 30, "stratus logs: {}", logs.len());
    inputs.extend(logs);
    inputs
}

/// The built-in pack plus the SigmaHQ AWS rules of the corpus.
fn builtin_and_sigma(loader: &mut RuleLoader) {
    loader.add_builtin();
    loader.add_path(&corpus().join("sigma-aws/rules"));
}

/// Our own edge cases: one rule per modifier and value shape, and events made for them.
fn modifier_cases(loader: &mut RuleLoader) {
    loader.add_path(Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/sql/modifier_rules.yml"
    )));
}

fn modifier_events(_dir: &Path) -> Vec<PathBuf> {
    vec![PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/sql/modifier_events.jsonl"
    ))]
}

fn fixture(
    inputs: impl FnOnce(&Path) -> Vec<PathBuf>,
    add_rules: impl FnOnce(&mut RuleLoader),
) -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let inputs = inputs(dir.path());
    let events = dir.path().join("events.jsonl");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&events).expect("events file"));
    for path in &inputs {
        read_records(path, &mut |bytes| {
            let text = String::from_utf8_lossy(bytes);
            writeln!(out, "{}", minify_json(&text)).expect("write events");
        });
    }
    out.into_inner().expect("flush").sync_all().expect("sync");

    let mut loader = RuleLoader::new(Limits::default());
    add_rules(&mut loader);
    let (rules, report) = loader.finish();
    assert_eq!(report.errors().count(), 0, "{report:?}");

    let mut expected: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut event_count = 0;
    let mut fired = Vec::new();
    let len = std::fs::metadata(&events).map(|m| m.len()).unwrap_or(0);
    let report = read_file(
        &InputFile {
            path: events.clone(),
            len,
        },
        &mut |record| {
            event_count += 1;
            let event = match record.event() {
                Ok(event) => event,
                Err(e) => panic!("record {} does not read back: {e}", record.index),
            };
            fired.clear();
            rules.match_event(&event, &mut fired);
            let id = first_string(&event, &["eventID"]).unwrap_or_default();
            for &r in &fired {
                let meta = &rules.rules()[r];
                let rule_id = if meta.id.trim().is_empty() {
                    meta.title.clone()
                } else {
                    meta.id.clone()
                };
                expected.entry(rule_id).or_default().insert(id.to_string());
            }
            ControlFlow::Continue(())
        },
    );
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    Fixture {
        _dir: dir,
        events,
        rules,
        expected,
        event_count,
    }
}

fn run_engine(
    fx: &Fixture,
    engine: &str,
    compiled: &[SqlRule],
) -> BTreeMap<String, BTreeSet<String>> {
    let dir = fx.events.parent().expect("dir");
    let query_path = dir.join(format!("query-{engine}.sql"));
    let out_path = dir.join(format!("pairs-{engine}.tsv"));
    std::fs::write(&query_path, matches_query(compiled, "cloudtrail")).expect("query file");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sql/run_sql.py");
    let output = Command::new("python3")
        .arg(script)
        .args(["--engine", engine, "--events"])
        .arg(&fx.events)
        .arg("--query")
        .arg(&query_path)
        .arg("--out")
        .arg(&out_path)
        .output()
        .expect("run python3");
    assert!(
        output.status.success(),
        "{engine} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    if let Some(keep) = std::env::var_os("FIREBREAK_SQL_TEST_KEEP") {
        // Keeps the inputs for running run_sql.py by hand.
        let keep = PathBuf::from(keep);
        std::fs::create_dir_all(&keep).expect("keep dir");
        for f in [&fx.events, &query_path, &out_path] {
            if let Some(name) = f.file_name() {
                std::fs::copy(f, keep.join(name)).expect("copy");
            }
        }
    }
    let text = std::fs::read_to_string(&out_path).expect("pairs");
    let mut found: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in text.lines() {
        let (rule, event) = line.split_once('\t').expect("rule<TAB>event");
        found
            .entry(rule.to_string())
            .or_default()
            .insert(event.to_string());
    }
    found
}

/// Asserts that `engine` returns exactly the engine's (rule, event) pairs for the
/// rules that compile, and that at least `min_rules` rules and `min_pairs` pairs are
/// compared.
fn check_engine(
    engine: &str,
    dialect: SqlDialect,
    fx: &Fixture,
    min_rules: usize,
    min_pairs: usize,
) {
    let (compiled, skipped) = compile_rules(&fx.rules, dialect);
    eprintln!(
        "{engine}: {} events, {} rules compiled, {} skipped",
        fx.event_count,
        compiled.len(),
        skipped.len()
    );
    for s in &skipped {
        eprintln!("  skipped {} ({}): {}", s.title, s.rule_id, s.reason);
    }
    let ids: BTreeSet<&str> = compiled.iter().map(|r| r.rule_id.as_str()).collect();
    let expected: BTreeMap<String, BTreeSet<String>> = fx
        .expected
        .iter()
        .filter(|(id, _)| ids.contains(id.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let pairs: usize = expected.values().map(BTreeSet::len).sum();
    assert!(
        expected.len() >= min_rules,
        "only {} rules fired in the engine",
        expected.len()
    );
    assert!(pairs >= min_pairs, "only {pairs} engine matches");
    let found = run_engine(fx, engine, &compiled);
    let mut problems = Vec::new();
    for id in expected.keys().chain(found.keys()).collect::<BTreeSet<_>>() {
        let empty = BTreeSet::new();
        let want = expected.get(id).unwrap_or(&empty);
        let got = found.get(id).unwrap_or(&empty);
        if want != got {
            let missing: Vec<_> = want.difference(got).take(3).collect();
            let extra: Vec<_> = got.difference(want).take(3).collect();
            let title = compiled
                .iter()
                .find(|r| &r.rule_id == id)
                .map(|r| r.title.as_str())
                .unwrap_or("?");
            problems.push(format!(
                "{id} ({title}): engine {} / {engine} {}; missing in SQL {missing:?}, extra in SQL {extra:?}",
                want.len(),
                got.len()
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{engine} differs from the engine on {} rules ({pairs} engine matches over {} rules):\n{}",
        problems.len(),
        expected.len(),
        problems.join("\n")
    );
    eprintln!(
        "{engine}: {pairs} matches of {} rules agree with the engine",
        expected.len()
    );
    let silent: Vec<&str> = compiled
        .iter()
        .filter(|r| !expected.contains_key(&r.rule_id))
        .map(|r| r.title.as_str())
        .collect();
    eprintln!(
        "{engine}: {} compiled rules matched nothing, e.g. {:?}",
        silent.len(),
        &silent[..silent.len().min(10)]
    );
}

#[test]
fn duckdb_finds_what_the_engine_finds() {
    if require_python("duckdb") {
        let fx = fixture(corpus_inputs, builtin_and_sigma);
        check_engine("duckdb", SqlDialect::DuckDb, &fx, 50, 1000);
    }
}

#[test]
fn duckdb_agrees_on_every_modifier_case() {
    if require_python("duckdb") {
        let fx = fixture(modifier_events, modifier_cases);
        check_engine("duckdb", SqlDialect::DuckDb, &fx, 45, 100);
    }
}

/// The Suzaku rule set of the corpus (733 single-event rules, mostly `|exists`).
fn suzaku(loader: &mut RuleLoader) {
    loader.add_path(&corpus().join("suzaku-rules/suzaku"));
}

#[test]
fn duckdb_agrees_on_the_suzaku_rules() {
    if require_python("duckdb") {
        let fx = fixture(corpus_inputs, suzaku);
        check_engine("duckdb", SqlDialect::DuckDb, &fx, 50, 1000);
    }
}

#[test]
fn spark_finds_what_the_engine_finds() {
    if require_python("pyspark") {
        let fx = fixture(corpus_inputs, builtin_and_sigma);
        check_engine("spark", SqlDialect::Spark, &fx, 50, 1000);
    }
}

#[test]
fn spark_agrees_on_every_modifier_case() {
    if require_python("pyspark") {
        let fx = fixture(modifier_events, modifier_cases);
        check_engine("spark", SqlDialect::Spark, &fx, 45, 100);
    }
}

/// No Trino engine runs here: the Athena output of every rule (built-in pack, SigmaHQ
/// AWS rules, the modifier cases) is at least checked to parse as Trino SQL.
#[test]
fn athena_sql_parses_as_trino() {
    if !require_python("sqlglot") {
        return;
    }
    let mut loader = RuleLoader::new(Limits::default());
    builtin_and_sigma(&mut loader);
    modifier_cases(&mut loader);
    let (rules, report) = loader.finish();
    assert_eq!(report.errors().count(), 0);
    let (compiled, skipped) = compile_rules(&rules, SqlDialect::Athena);
    assert!(compiled.len() > 190, "{} compiled", compiled.len());
    // The IPv6 |cidr case compiles for Athena only.
    assert!(compiled.iter().any(|r| r.rule_id == "mod-23"));
    assert!(!skipped.iter().any(|s| s.reason.contains("IPv6")));
    let dir = tempfile::tempdir().expect("temp dir");
    let query = dir.path().join("athena.sql");
    std::fs::write(&query, matches_query(&compiled, "cloudtrail")).expect("query");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sql/run_sql.py");
    let output = Command::new("python3")
        .arg(script)
        .args(["--parse-only", "trino", "--query"])
        .arg(&query)
        .output()
        .expect("run python3");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
