//! Every SigmaHQ AWS CloudTrail rule of the corpus loads unmodified and matches our
//! positive events and none of our negative ones (`tests/sigmahq_cases/<stem>.json`);
//! the unsupported and placeholder rules are refused with a clear reason; every rule
//! runs over the Stratus Red Team detonation logs with the expected hits.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use firebreak_detect::{Limits, RuleLoader, RuleOutcome, RuleSet};
use serde_json::Value;

fn sigma_dir() -> PathBuf {
    common::corpus().join("sigma-aws/rules/cloud/aws/cloudtrail")
}

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yml"))
        .collect();
    files.sort();
    files
}

fn load_file(path: &Path) -> RuleSet {
    let mut loader = RuleLoader::new(Limits::default());
    loader.add_path(path);
    let (set, report) = loader.finish();
    for status in &report.rules {
        assert!(
            matches!(status.outcome, RuleOutcome::Ok(_)),
            "{}: {:?}",
            path.display(),
            status.outcome
        );
    }
    assert_eq!(set.rules().len(), 1, "{}", path.display());
    set
}

#[test]
fn all_sigmahq_rules_load_and_match_their_cases() {
    let files = yaml_files(&sigma_dir());
    assert_eq!(
        files.len(),
        57,
        "corpus should hold 57 SigmaHQ CloudTrail rules"
    );
    let cases_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sigmahq_cases");
    let mut checked = 0;
    for file in &files {
        let stem = file.file_stem().unwrap().to_string_lossy();
        let set = load_file(file);
        let case_path = cases_dir.join(format!("{stem}.json"));
        let text = std::fs::read_to_string(&case_path)
            .unwrap_or_else(|e| panic!("{}: {e}", case_path.display()));
        let case: Value = serde_json::from_str(&text).unwrap();
        let positives = case["positive"].as_array().unwrap();
        let negatives = case["negative"].as_array().unwrap();
        assert!(
            !positives.is_empty() && !negatives.is_empty(),
            "{stem}: needs positive and negative events"
        );
        for (i, e) in positives.iter().enumerate() {
            assert!(
                common::fires(&set, e),
                "{stem}: positive #{i} does not fire"
            );
        }
        for (i, e) in negatives.iter().enumerate() {
            assert!(!common::fires(&set, e), "{stem}: negative #{i} fires");
        }
        checked += 1;
    }
    assert_eq!(checked, 57);
}

#[test]
fn all_sigmahq_rules_load_together_with_metadata() {
    let mut loader = RuleLoader::new(Limits::default());
    loader.add_path(&sigma_dir());
    let (set, report) = loader.finish();
    assert_eq!(report.ok_count(), 57);
    let mfa = set
        .rules()
        .iter()
        .find(|r| {
            r.origin
                .ends_with("aws_cloudtrail_console_login_success_without_mfa.yml")
        })
        .expect("rule loaded");
    assert_eq!(mfa.title, "AWS Successful Console Login Without MFA");
    assert_eq!(mfa.level, firebreak_detect::Level::Medium);
    assert_eq!(mfa.logsource.product.as_deref(), Some("aws"));
    assert!(mfa.author.as_deref().unwrap_or_default().contains("Thuya"));
    assert!(!mfa.tags.is_empty() && !mfa.references.is_empty() && !mfa.falsepositives.is_empty());
    // Most of these rules name their eventName values, so the index keeps the
    // always-tested list short.
    let (names, unindexed) = set.index_stats();
    assert!(names > 60, "indexed names: {names}");
    assert!(unindexed <= 5, "unindexed rules: {unindexed}");
}

#[test]
fn unsupported_and_placeholder_rules_get_a_clear_reason() {
    let corpus = common::corpus().join("sigma-aws");
    let mut loader = RuleLoader::new(Limits::default());
    loader.add_path(&corpus.join("unsupported"));
    loader.add_path(&corpus.join("rules-placeholder"));
    let (set, report) = loader.finish();
    assert_eq!(set.rules().len(), 0);
    assert_eq!(report.rules.len(), 9);
    for status in &report.rules {
        let RuleOutcome::Error(e) = &status.outcome else {
            panic!("{:?}", status)
        };
        let msg = e.to_string();
        assert!(msg.starts_with(&status.origin), "{msg}");
        let file = status.origin.rsplit('/').next().unwrap();
        if file == "aws_ses_messaging_enabled.yml" {
            assert!(
                msg.contains("timeframe") && msg.contains("correlation rule"),
                "{msg}"
            );
        } else if file == "aws_cloudtrail_console_login_success_from_susp_locations.yml" {
            assert!(
                msg.contains("placeholder %Legitimate_Countries% needs a value"),
                "{msg}"
            );
        } else {
            assert!(
                msg.contains("deprecated Sigma v1 aggregation"),
                "{file}: {msg}"
            );
        }
    }
}

fn stratus_logs() -> Vec<(String, Vec<Value>)> {
    let dir = common::corpus().join("stratus/docs/detonation-logs");
    let mut out = Vec::new();
    for path in {
        let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        v.sort();
        v
    } {
        if path.extension().is_none_or(|x| x != "json") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let events: Vec<Value> =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        out.push((
            path.file_stem().unwrap().to_string_lossy().into_owned(),
            events,
        ));
    }
    out
}

#[test]
fn sigmahq_rules_over_stratus_detonations() {
    let mut loader = RuleLoader::new(Limits::default());
    loader.add_path(&sigma_dir());
    let (set, _) = loader.finish();
    let logs = stratus_logs();
    assert_eq!(logs.len(), 35);
    // technique -> rule file stems that fired at least once
    let mut fired: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
    let mut out = Vec::new();
    for (technique, events) in &logs {
        for e in events {
            out.clear();
            set.match_event(e, &mut out);
            // Cross-check the index: every rule tested directly gives the same answer.
            let direct: Vec<usize> = (0..set.rules().len())
                .filter(|&r| set.rule_matches(r, e))
                .collect();
            assert_eq!(
                out, direct,
                "index disagrees with direct evaluation in {technique}"
            );
            for &r in &out {
                let stem = Path::new(&set.rules()[r].origin)
                    .file_stem()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                fired.entry(technique.clone()).or_default().insert(stem);
            }
        }
    }
    let expect = [
        (
            "aws.initial-access.console-login-without-mfa",
            "aws_cloudtrail_console_login_success_without_mfa",
        ),
        (
            "aws.defense-evasion.cloudtrail-stop",
            "aws_cloudtrail_disable_logging",
        ),
        (
            "aws.defense-evasion.cloudtrail-delete",
            "aws_cloudtrail_disable_logging",
        ),
        (
            "aws.defense-evasion.vpc-remove-flow-logs",
            "aws_cloudtrail_vpc_flow_logs_deleted",
        ),
        (
            "aws.exfiltration.ec2-share-ebs-snapshot",
            "aws_snapshot_backup_exfiltration",
        ),
        (
            "aws.exfiltration.ec2-security-group-open-port-22-ingress",
            "aws_cloudtrail_security_group_change_ingress_egress",
        ),
        (
            "aws.execution.ssm-send-command",
            "aws_cloudtrail_ssm_malicious_usage",
        ),
        (
            "aws.persistence.iam-backdoor-user",
            "aws_iam_backdoor_users_keys",
        ),
        (
            "aws.persistence.lambda-layer-extension",
            "aws_new_lambda_layer_attached",
        ),
        (
            "aws.privilege-escalation.iam-update-user-login-profile",
            "aws_update_login_profile",
        ),
    ];
    let mut missing = Vec::new();
    for (technique, rule) in expect {
        if !fired.get(technique).is_some_and(|s| s.contains(rule)) {
            missing.push(format!(
                "{technique} should fire {rule} (fired: {:?})",
                fired.get(technique)
            ));
        }
    }
    assert!(missing.is_empty(), "{missing:#?}");
    // Nothing fires the rule for a different technique's signature.
    assert!(!fired
        .get("aws.initial-access.console-login-without-mfa")
        .is_some_and(|s| s.contains("aws_cloudtrail_disable_logging")));
    eprintln!("stratus hits: {fired:#?}");
}

#[test]
fn index_agrees_with_direct_evaluation_on_every_corpus_and_builtin_rule() {
    let mut loader = RuleLoader::new(Limits::default());
    loader.add_builtin();
    loader.add_path(&common::corpus().join("sigma-aws/rules"));
    loader.add_path(&common::corpus().join("suzaku-rules"));
    let (set, _) = loader.finish();
    let mut events: Vec<Value> = stratus_logs().into_iter().flat_map(|(_, e)| e).collect();
    let cases_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sigmahq_cases");
    for entry in std::fs::read_dir(&cases_dir).unwrap() {
        let case: Value =
            serde_json::from_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap()).unwrap();
        for key in ["positive", "negative"] {
            events.extend(case[key].as_array().unwrap().iter().cloned());
        }
    }
    assert!(events.len() > 300);
    let generating: Vec<usize> = (0..set.rules().len())
        .filter(|&r| set.rules()[r].generate)
        .collect();
    let mut out = Vec::new();
    let mut total = 0;
    for e in &events {
        out.clear();
        set.match_event(e, &mut out);
        let direct: Vec<usize> = generating
            .iter()
            .copied()
            .filter(|&r| set.rule_matches(r, e))
            .collect();
        assert_eq!(out, direct, "index disagrees on {e}");
        total += out.len();
    }
    assert!(
        total > 100,
        "the events should fire many rules, fired {total}"
    );
}
