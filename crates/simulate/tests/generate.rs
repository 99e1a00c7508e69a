//! End-to-end tests of the simulator: determinism, layout, record shape, ground truth,
//! the three output formats and the look-alike routine activity.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use firebreak_simulate::{
    generate, scenario_names, OutputFormat, ScenarioSelection, SimConfig, SimError, SimReport,
    TruthEntry, DEFAULT_START_SECONDS, MAX_RECORDS_PER_FILE,
};
use serde_json::Value;

fn config(dir: &Path, events: u64, seed: u64, format: OutputFormat) -> SimConfig {
    SimConfig {
        out_dir: dir.join("out"),
        events,
        seed,
        format,
        truth_path: Some(dir.join("truth.jsonl")),
        ..SimConfig::default()
    }
}

/// Every file under `dir`, sorted, as paths relative to `dir`.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in fs::read_dir(dir).expect("read_dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                out.push(path.strip_prefix(base).expect("prefix").to_path_buf());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

fn gunzip(path: &Path) -> String {
    let mut text = String::new();
    flate2::read::GzDecoder::new(fs::File::open(path).expect("open"))
        .read_to_string(&mut text)
        .expect("gunzip");
    text
}

fn read_truth(path: &Path) -> Vec<TruthEntry> {
    fs::read_to_string(path)
        .expect("truth file")
        .lines()
        .map(|line| serde_json::from_str(line).expect("truth line parses"))
        .collect()
}

/// eventTime (`YYYY-MM-DDTHH:MM:SSZ`) to Unix seconds, via jiff.
fn seconds(event_time: &str) -> i64 {
    event_time
        .parse::<jiff::Timestamp>()
        .expect("eventTime parses")
        .as_second()
}

/// Reads an S3-delivery corpus back: (relative path, records) per object.
fn read_s3(out: &Path) -> Vec<(PathBuf, Vec<Value>)> {
    files_under(out)
        .into_iter()
        .map(|rel| {
            let mut doc: Value =
                serde_json::from_str(&gunzip(&out.join(&rel))).expect("object is JSON");
            let Value::Array(records) = doc["Records"].take() else {
                panic!("{}: no Records array", rel.display())
            };
            (rel, records)
        })
        .collect()
}

#[test]
fn same_seed_is_byte_identical_and_other_seed_differs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = |name: &str, seed: u64| -> (PathBuf, SimReport) {
        let base = dir.path().join(name);
        let cfg = SimConfig {
            days: 1,
            ..config(&base, 4_000, seed, OutputFormat::S3Delivery)
        };
        let report = generate(&cfg).expect("generate");
        (base, report)
    };
    let (first, first_report) = run("a", 42);
    let (second, second_report) = run("b", 42);
    let (third, _) = run("c", 43);
    assert_eq!(
        first_report,
        second_report.clone_with_truth_path(first_report.truth_path.clone())
    );
    let first_files = files_under(&first.join("out"));
    assert_eq!(first_files, files_under(&second.join("out")));
    assert!(!first_files.is_empty());
    for rel in &first_files {
        assert_eq!(
            fs::read(first.join("out").join(rel)).unwrap(),
            fs::read(second.join("out").join(rel)).unwrap(),
            "{}",
            rel.display()
        );
    }
    assert_eq!(
        fs::read(first.join("truth.jsonl")).unwrap(),
        fs::read(second.join("truth.jsonl")).unwrap()
    );
    // Another seed: other accounts, other names, other bytes.
    assert_ne!(first_files, files_under(&third.join("out")));
    assert_ne!(
        fs::read(first.join("truth.jsonl")).unwrap(),
        fs::read(third.join("truth.jsonl")).unwrap()
    );
}

/// Helper so reports from two directories compare equal apart from the truth path.
trait WithTruthPath {
    fn clone_with_truth_path(self, path: Option<PathBuf>) -> Self;
}
impl WithTruthPath for SimReport {
    fn clone_with_truth_path(mut self, path: Option<PathBuf>) -> Self {
        self.truth_path = path;
        self
    }
}

#[test]
fn s3_corpus_has_layout_shape_counts_and_truth() {
    let dir = tempfile::tempdir().expect("tempdir");
    let requested = 25_000;
    let cfg = config(dir.path(), requested, 7, OutputFormat::S3Delivery);
    let report = generate(&cfg).expect("generate");
    let out = dir.path().join("out");
    let objects = read_s3(&out);
    let start = DEFAULT_START_SECONDS;
    let end = start + 3 * 86_400;

    // Counts: what the report says is what is on disk, within 1% of the request.
    let total: usize = objects.iter().map(|(_, records)| records.len()).sum();
    assert_eq!(total as u64, report.events);
    assert_eq!(objects.len() as u64, report.files);
    assert!(
        (report.events as f64 - requested as f64).abs() <= requested as f64 * 0.01,
        "{} events",
        report.events
    );
    let planted: u64 = report.scenario_events.values().sum();
    assert_eq!(report.routine_events + planted, report.events);

    let required = [
        "eventVersion",
        "userIdentity",
        "eventTime",
        "eventSource",
        "eventName",
        "awsRegion",
        "sourceIPAddress",
        "requestParameters",
        "responseElements",
        "eventID",
        "eventType",
        "managementEvent",
        "recipientAccountId",
        "eventCategory",
    ];
    let mut ids = HashSet::new();
    let mut by_id: BTreeMap<String, Value> = BTreeMap::new();
    let mut accounts = BTreeSet::new();
    let mut bytes = 0usize;
    let object_count = objects.len();
    for (rel, records) in objects {
        // AWSLogs/<account>/CloudTrail/<region>/<YYYY>/<MM>/<DD>/<account>_CloudTrail_<region>_<YYYYMMDDTHHMMZ>_<16>.json.gz
        let parts: Vec<String> = rel
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        assert_eq!(parts.len(), 8, "{}", rel.display());
        assert_eq!(parts[0], "AWSLogs");
        assert_eq!(parts[2], "CloudTrail");
        let (account, region) = (&parts[1], &parts[3]);
        assert!(
            account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()),
            "{account}"
        );
        let name = parts[7].strip_suffix(".json.gz").expect("suffix");
        let fields: Vec<&str> = name.split('_').collect();
        assert_eq!(fields.len(), 5, "{name}");
        assert_eq!(fields[0], account);
        assert_eq!(fields[1], "CloudTrail");
        assert_eq!(fields[2], region);
        assert_eq!(fields[4].len(), 16);
        assert!(fields[4].bytes().all(|b| b.is_ascii_alphanumeric()));
        let stamp = fields[3];
        assert_eq!(stamp.len(), 14, "{stamp}");
        assert_eq!(&stamp[..4], parts[4]);
        assert_eq!(&stamp[4..6], parts[5]);
        assert_eq!(&stamp[6..8], parts[6]);
        let window_start = seconds(&format!(
            "{}-{}-{}T{}:{}:00Z",
            &stamp[..4],
            &stamp[4..6],
            &stamp[6..8],
            &stamp[9..11],
            &stamp[11..13]
        ));
        assert!(
            !records.is_empty() && records.len() <= MAX_RECORDS_PER_FILE,
            "{} records",
            records.len()
        );
        accounts.insert(account.clone());
        let window_end = window_start + 300;
        for record in records {
            for key in required {
                assert!(record.get(key).is_some(), "{key} missing in {record}");
            }
            assert_eq!(
                record["recipientAccountId"].as_str(),
                Some(account.as_str())
            );
            assert_eq!(record["awsRegion"].as_str(), Some(region.as_str()));
            let time_text = record["eventTime"].as_str().expect("eventTime");
            assert_eq!(time_text.len(), 20, "{time_text}");
            let time = seconds(time_text);
            assert!((start..end).contains(&time), "{time_text} outside period");
            assert!(
                (window_start..window_end).contains(&time),
                "{time_text} outside window of {name}"
            );
            let version = record["eventVersion"].as_str().expect("eventVersion");
            assert!(
                ["1.08", "1.09", "1.10", "1.11"].contains(&version),
                "{version}"
            );
            let kind = record["userIdentity"]["type"]
                .as_str()
                .expect("identity type");
            assert!(
                [
                    "IAMUser",
                    "AssumedRole",
                    "Root",
                    "AWSService",
                    "FederatedUser",
                    "AWSAccount"
                ]
                .contains(&kind),
                "{kind}"
            );
            if kind == "AssumedRole" {
                assert!(
                    record["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"].is_string(),
                    "{record}"
                );
            }
            let event_type = record["eventType"].as_str().expect("eventType");
            assert!(["AwsApiCall", "AwsConsoleSignIn", "AwsServiceEvent"].contains(&event_type));
            if record["eventCategory"] == "Data" {
                assert_eq!(record["managementEvent"], false);
                assert!(
                    record["resources"].is_array(),
                    "data event without resources: {record}"
                );
            }
            let id = record["eventID"].as_str().expect("eventID").to_string();
            assert_eq!(id.len(), 36);
            assert!(ids.insert(id.clone()), "duplicate eventID {id}");
            bytes += serde_json::to_string(&record).expect("serialise").len();
            by_id.insert(id, record);
        }
    }
    assert_eq!(accounts.len(), 3);
    let average = bytes / total;
    println!("average record size: {average} bytes over {total} records in {object_count} files");
    assert!(
        (700..=1800).contains(&average),
        "average record size {average}"
    );

    // Ground truth: every scenario once, every listed event present and in time.
    let truth = read_truth(&dir.path().join("truth.jsonl"));
    assert_eq!(truth, report.truth);
    let names: Vec<&str> = truth.iter().map(|t| t.scenario.as_str()).collect();
    let expected: Vec<&str> = scenario_names().iter().map(|(name, _)| *name).collect();
    assert_eq!(names, expected);
    for entry in &truth {
        assert!(!entry.event_ids.is_empty(), "{}", entry.scenario);
        assert_eq!(
            report.scenario_events[&entry.scenario],
            entry.event_ids.len() as u64
        );
        assert!(
            !entry.principal_arn.is_empty()
                && !entry.source_ip.is_empty()
                && !entry.user_agent.is_empty()
        );
        assert!(!entry.description.is_empty() && !entry.expected.is_empty());
        assert!(seconds(&entry.first) <= seconds(&entry.last));
        for id in &entry.event_ids {
            let record = by_id
                .get(id)
                .unwrap_or_else(|| panic!("{} event {id} not in output", entry.scenario));
            assert_eq!(
                record["recipientAccountId"].as_str(),
                Some(entry.account.as_str())
            );
            let time = seconds(record["eventTime"].as_str().unwrap_or_default());
            assert!(time >= seconds(&entry.first) && time <= seconds(&entry.last));
        }
    }
    check_scenarios(&truth, &by_id);
    check_routine_lookalikes(&truth, &by_id);
}

fn names_of<'a>(entry: &TruthEntry, by_id: &'a BTreeMap<String, Value>) -> Vec<&'a Value> {
    entry
        .event_ids
        .iter()
        .filter_map(|id| by_id.get(id))
        .collect()
}

fn count(records: &[&Value], name: &str) -> usize {
    records.iter().filter(|r| r["eventName"] == name).count()
}

/// The planted scenarios contain what their descriptions promise.
fn check_scenarios(truth: &[TruthEntry], by_id: &BTreeMap<String, Value>) {
    let get = |name: &str| {
        truth
            .iter()
            .find(|t| t.scenario == name)
            .expect("scenario present")
    };
    let root = names_of(get("root-activity"), by_id);
    let logins: Vec<&str> = root
        .iter()
        .filter(|r| r["eventName"] == "ConsoleLogin")
        .map(|r| {
            r["additionalEventData"]["MFAUsed"]
                .as_str()
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(logins, ["No", "Yes"]);
    assert!(root.iter().all(|r| r["userIdentity"]["type"] == "Root"));
    assert_eq!(
        count(&root, "CreateUser")
            + count(&root, "CreateAccessKey")
            + count(&root, "PutContactInformation"),
        3
    );

    let compromise = names_of(get("iam-credential-compromise"), by_id);
    let burst: Vec<&&Value> = compromise
        .iter()
        .filter(|r| {
            let name = r["eventName"].as_str().unwrap_or_default();
            name.starts_with("List")
                || name.starts_with("Describe")
                || name.starts_with("GetAccount")
        })
        .collect();
    assert!(burst.len() >= 20);
    let denied = burst
        .iter()
        .filter(|r| r["errorCode"] == "AccessDenied")
        .count();
    assert!(denied >= 5, "{denied} AccessDenied");
    let span = seconds(burst.last().unwrap()["eventTime"].as_str().unwrap())
        - seconds(burst[0]["eventTime"].as_str().unwrap());
    assert!(span <= 300, "enumeration took {span}s");
    assert!(compromise.iter().all(|r| r["userIdentity"]["accessKeyId"]
        .as_str()
        .unwrap_or_default()
        .starts_with("AKIA")));
    let attach = compromise
        .iter()
        .find(|r| r["eventName"] == "AttachUserPolicy")
        .expect("AttachUserPolicy");
    assert_eq!(
        attach["requestParameters"]["policyArn"],
        "arn:aws:iam::aws:policy/AdministratorAccess"
    );
    for name in [
        "CreateUser",
        "CreateAccessKey",
        "CreateLoginProfile",
        "GetFederationToken",
        "GetCallerIdentity",
    ] {
        assert_eq!(count(&compromise, name), 1, "{name}");
    }

    let tampering = names_of(get("cloudtrail-tampering"), by_id);
    for name in [
        "StopLogging",
        "PutEventSelectors",
        "DeleteTrail",
        "DeleteDetector",
        "StopConfigurationRecorder",
        "DeleteFlowLogs",
        "DeleteResolverQueryLogConfig",
    ] {
        assert_eq!(count(&tampering, name), 1, "{name}");
    }

    let ec2 = names_of(get("ec2-compromise"), by_id);
    let gpu = ec2
        .iter()
        .filter(|r| {
            r["eventName"] == "RunInstances"
                && r["requestParameters"]["instanceType"]
                    .as_str()
                    .is_some_and(|t| t.starts_with('p') || t.starts_with('g'))
        })
        .count();
    assert!(gpu >= 3);
    assert!(ec2
        .iter()
        .any(|r| r["eventName"] == "AuthorizeSecurityGroupIngress"
            && r.to_string().contains("0.0.0.0/0")));
    assert!(ec2
        .iter()
        .any(|r| r["eventName"] == "ModifyInstanceAttribute"
            && r["requestParameters"]["attribute"] == "userData"));
    assert!(ec2.iter().any(|r| r["userIdentity"]["accessKeyId"]
        .as_str()
        .unwrap_or_default()
        .starts_with("ASIA")
        && r["userIdentity"]["principalId"]
            .as_str()
            .unwrap_or_default()
            .contains(":i-")));

    let exposure = names_of(get("s3-exposure"), by_id);
    assert!(count(&exposure, "GetObject") >= 200);
    assert!(exposure.iter().any(|r| r["eventName"] == "PutBucketPolicy"
        && r["requestParameters"]["bucketPolicy"]["Statement"][0]["Principal"] == "*"));
    assert!(exposure
        .iter()
        .any(|r| r["eventName"] == "PutBucketAcl" && r.to_string().contains("AllUsers")));

    let ransom = names_of(get("s3-ransomware"), by_id);
    assert!(count(&ransom, "DeleteObject") >= 100);
    assert!(ransom
        .iter()
        .any(|r| r["requestParameters"]["key"] == "README-RANSOM.txt"));
    assert!(ransom
        .iter()
        .any(|r| r["requestParameters"]["VersioningConfiguration"]["Status"] == "Suspended"));

    let snapshots = names_of(get("snapshot-exfiltration"), by_id);
    for name in [
        "ModifySnapshotAttribute",
        "ModifyImageAttribute",
        "ModifyDBSnapshotAttribute",
    ] {
        assert_eq!(count(&snapshots, name), 1, "{name}");
    }

    let q = names_of(get("amazon-q-abuse"), by_id);
    for name in [
        "CreateApplication",
        "CreateIndex",
        "CreateRetriever",
        "CreateDataSource",
        "CreatePlugin",
        "CreateWebExperience",
        "BatchPutDocument",
        "UpdateChatControlsConfiguration",
        "CreateUser",
        "PutGroup",
        "ChatSync",
        "DeleteConversation",
        "BatchDeleteDocument",
        "DeleteApplication",
        "StartConversation",
        "SendMessage",
    ] {
        assert!(count(&q, name) >= 1, "{name}");
    }
    assert!(q.iter().any(|r| r["eventSource"] == "q.amazonaws.com"));

    let bedrock = names_of(get("bedrock-abuse"), by_id);
    assert!(count(&bedrock, "InvokeModel") >= 50);
    assert_eq!(
        count(&bedrock, "DeleteModelInvocationLoggingConfiguration"),
        1
    );

    let secrets = names_of(get("secrets-harvest"), by_id);
    let reads: Vec<&&Value> = secrets
        .iter()
        .filter(|r| r["eventName"] == "GetSecretValue")
        .collect();
    assert_eq!(reads.len(), 25);
    let span = seconds(reads[24]["eventTime"].as_str().unwrap())
        - seconds(reads[0]["eventTime"].as_str().unwrap());
    assert!(span <= 180, "secrets read over {span}s");
    assert!(secrets
        .iter()
        .any(|r| r["eventName"] == "GetParameters"
            && r["requestParameters"]["withDecryption"] == true));

    let evasion = names_of(get("defense-evasion-org"), by_id);
    assert!(evasion
        .iter()
        .any(|r| r["eventName"] == "LeaveOrganization" && r["errorCode"] == "AccessDenied"));
    for name in ["ScheduleKeyDeletion", "DisableKey", "DisableSecurityHub"] {
        assert_eq!(count(&evasion, name), 1, "{name}");
    }
}

/// Routine traffic contains the look-alikes, and none of them crosses into attack shape.
fn check_routine_lookalikes(truth: &[TruthEntry], by_id: &BTreeMap<String, Value>) {
    let planted: HashSet<&str> = truth
        .iter()
        .flat_map(|t| t.event_ids.iter().map(String::as_str))
        .collect();
    let routine: Vec<&Value> = by_id
        .iter()
        .filter(|(id, _)| !planted.contains(id.as_str()))
        .map(|(_, r)| r)
        .collect();
    let mut seen = BTreeMap::new();
    let mut errors_by_principal: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for record in &routine {
        let name = record["eventName"].as_str().unwrap_or_default();
        *seen.entry(name.to_string()).or_insert(0u32) += 1;
        let text = record.to_string();
        assert_ne!(
            record["userIdentity"]["type"], "Root",
            "routine root activity"
        );
        match name {
            "AuthorizeSecurityGroupIngress" => assert!(
                text.contains("10.0.0.0/8") && !text.contains("0.0.0.0/0"),
                "{text}"
            ),
            "ConsoleLogin" => assert_eq!(record["additionalEventData"]["MFAUsed"], "Yes"),
            "CreateAccessKey" => assert_eq!(
                record["requestParameters"]["userName"],
                record["userIdentity"]["userName"]
            ),
            "PutBucketPolicy" => assert!(text.contains("aws:PrincipalOrgID"), "{text}"),
            "RunInstances" => {
                let kind = record["requestParameters"]["instanceType"]
                    .as_str()
                    .unwrap_or_default();
                assert!(kind.starts_with("t3.") || kind.starts_with("m5."), "{kind}");
            }
            "ModifySnapshotAttribute"
            | "ModifyImageAttribute"
            | "StopLogging"
            | "DeleteTrail"
            | "DeleteDetector"
            | "ScheduleKeyDeletion"
            | "ModifyInstanceAttribute"
            | "CreateUser"
            | "AttachUserPolicy" => {
                panic!("attack-only event {name} in routine traffic")
            }
            _ => {}
        }
        if record["errorCode"] == "AccessDenied"
            || record["errorCode"] == "Client.UnauthorizedOperation"
        {
            let arn = record["userIdentity"]["arn"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            errors_by_principal
                .entry(arn)
                .or_default()
                .push(seconds(record["eventTime"].as_str().unwrap_or_default()));
        }
    }
    for name in [
        "CreateSnapshot",
        "GetCallerIdentity",
        "Decrypt",
        "GenerateDataKey",
        "GetObject",
        "PutObject",
        "AssumeRole",
        "ChatSync",
        "DescribeInstances",
        "ConsoleLogin",
    ] {
        assert!(
            seen.get(name).copied().unwrap_or(0) > 0,
            "routine traffic lacks {name}"
        );
    }
    check_habits(&routine);
    // Permission errors come one at a time: never three from one principal within 5 minutes.
    for (arn, mut times) in errors_by_principal {
        times.sort_unstable();
        for window in times.windows(3) {
            assert!(window[2] - window[0] > 300, "AccessDenied burst by {arn}");
        }
    }
}

#[test]
fn json_lines_and_eventbridge_formats_parse() {
    for format in [OutputFormat::JsonLines, OutputFormat::EventBridge] {
        let dir = tempfile::tempdir().expect("tempdir");
        let report = generate(&config(dir.path(), 12_000, 3, format)).expect("generate");
        let out = dir.path().join("out");
        let files = files_under(&out);
        assert_eq!(files.len() as u64, report.files);
        let prefix = if format == OutputFormat::JsonLines {
            "part-"
        } else {
            "eventbridge-"
        };
        let mut lines = 0u64;
        let mut ids = HashSet::new();
        let mut previous_time = String::new();
        let mut sign_ins = 0;
        for rel in files {
            let name = rel.to_string_lossy().into_owned();
            assert!(
                name.starts_with(prefix) && name.ends_with(".jsonl.gz"),
                "{name}"
            );
            for line in gunzip(&out.join(&rel)).lines() {
                let value: Value = serde_json::from_str(line).expect("line is JSON");
                let record = if format == OutputFormat::EventBridge {
                    assert_eq!(value["version"], "0");
                    assert!(value["id"].as_str().is_some_and(|id| id.len() == 36));
                    assert_eq!(value["account"], value["detail"]["recipientAccountId"]);
                    assert_eq!(value["region"], value["detail"]["awsRegion"]);
                    assert_eq!(value["time"], value["detail"]["eventTime"]);
                    assert!(value["resources"].is_array());
                    let source = value["detail"]["eventSource"].as_str().unwrap_or_default();
                    assert_eq!(
                        value["source"].as_str().unwrap_or_default(),
                        format!("aws.{}", source.trim_end_matches(".amazonaws.com"))
                    );
                    if value["detail"]["eventName"] == "ConsoleLogin" {
                        assert_eq!(value["detail-type"], "AWS Console Sign In via CloudTrail");
                        sign_ins += 1;
                    } else if value["detail"]["eventType"] == "AwsApiCall" {
                        assert_eq!(value["detail-type"], "AWS API Call via CloudTrail");
                    }
                    value["detail"].clone()
                } else {
                    value
                };
                let id = record["eventID"].as_str().expect("eventID").to_string();
                assert!(ids.insert(id));
                // Windows are written in time order; within the corpus records never
                // step back by more than one window.
                let time = record["eventTime"].as_str().expect("eventTime").to_string();
                if !previous_time.is_empty() {
                    assert!(
                        seconds(&time) + 300 >= seconds(&previous_time),
                        "{time} after {previous_time}"
                    );
                }
                previous_time = time;
                lines += 1;
            }
        }
        assert_eq!(lines, report.events);
        if format == OutputFormat::EventBridge {
            assert!(sign_ins >= 2, "root logins are sign-in events");
        }
        let truth = read_truth(&dir.path().join("truth.jsonl"));
        let planted: usize = truth.iter().map(|t| t.event_ids.len()).sum();
        assert!(truth
            .iter()
            .flat_map(|t| &t.event_ids)
            .all(|id| ids.contains(id)));
        assert_eq!(planted as u64, report.events - report.routine_events);
    }
}

#[test]
fn scenario_selection_plants_only_what_was_asked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = config(dir.path(), 3_000, 11, OutputFormat::JsonLines);
    cfg.scenarios = "secrets-harvest, root-activity"
        .parse()
        .expect("selection parses");
    let report = generate(&cfg).expect("generate");
    let names: Vec<&str> = report.truth.iter().map(|t| t.scenario.as_str()).collect();
    assert_eq!(names, ["root-activity", "secrets-harvest"]);
    assert_eq!(report.events, 3_000);

    cfg.scenarios = ScenarioSelection::List(Vec::new());
    cfg.out_dir = dir.path().join("none");
    let report = generate(&cfg).expect("generate");
    assert!(report.truth.is_empty());
    assert_eq!(report.routine_events, 3_000);

    let error = "root-activity,no-such-thing"
        .parse::<ScenarioSelection>()
        .expect_err("unknown name");
    assert!(
        matches!(error, SimError::UnknownScenario { ref name, .. } if name == "no-such-thing"),
        "{error}"
    );
    assert!(error.to_string().contains("root-activity"));
    assert_eq!(
        "eventbridge".parse::<OutputFormat>().ok(),
        Some(OutputFormat::EventBridge)
    );
    assert!("parquet".parse::<OutputFormat>().is_err());
}

#[test]
fn invalid_configuration_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = config(dir.path(), 100, 1, OutputFormat::S3Delivery);
    cfg.days = 0;
    assert!(matches!(generate(&cfg), Err(SimError::InvalidConfig(_))));
    cfg.days = 1;
    cfg.accounts = 0;
    assert!(matches!(generate(&cfg), Err(SimError::InvalidConfig(_))));
    // An output directory that is a file.
    cfg.accounts = 1;
    let blocker = dir.path().join("file");
    fs::write(&blocker, b"x").unwrap();
    cfg.out_dir = blocker.clone();
    match generate(&cfg) {
        Err(SimError::Io { path, .. }) => assert!(path.starts_with(&blocker)),
        other => panic!("expected an I/O error, got {other:?}"),
    }
}

#[test]
fn one_account_one_day_still_holds_every_scenario() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = config(dir.path(), 500, 5, OutputFormat::S3Delivery);
    cfg.accounts = 1;
    cfg.days = 1;
    let report = generate(&cfg).expect("generate");
    assert_eq!(report.truth.len(), scenario_names().len());
    let objects = read_s3(&dir.path().join("out"));
    let ids: HashSet<String> = objects
        .iter()
        .flat_map(|(_, records)| {
            records
                .iter()
                .map(|r| r["eventID"].as_str().unwrap_or_default().to_string())
        })
        .collect();
    for entry in &report.truth {
        assert!(
            entry.event_ids.iter().all(|id| ids.contains(id)),
            "{}",
            entry.scenario
        );
        let last = seconds(&entry.last);
        assert!(
            last < DEFAULT_START_SECONDS + 86_400,
            "{} ends after the period",
            entry.scenario
        );
    }
    // Fewer requested events than the scenarios need: all planted, no routine.
    assert_eq!(report.routine_events, 0);
    assert_eq!(report.events, report.scenario_events.values().sum::<u64>());
}

/// Principals keep stable habits: backups at night, SSO developers in office hours, the CI
/// role and the monitoring poller from a fixed handful of addresses.
fn check_habits(routine: &[&Value]) {
    let mut sso_total = 0u32;
    let mut sso_office = 0u32;
    let mut addresses: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for record in routine {
        let issuer = record["userIdentity"]["sessionContext"]["sessionIssuer"]["userName"]
            .as_str()
            .unwrap_or_default();
        let time = record["eventTime"].as_str().unwrap_or_default();
        let hour: u32 = time.get(11..13).and_then(|h| h.parse().ok()).expect("hour");
        let weekday = jiff::Timestamp::from_second(seconds(time))
            .expect("timestamp")
            .to_zoned(jiff::tz::TimeZone::UTC)
            .weekday()
            .to_monday_zero_offset();
        if issuer == "AWSBackupDefaultServiceRole" {
            assert!((1..4).contains(&hour), "backup at {time}");
            assert_eq!(record["sourceIPAddress"], "backup.amazonaws.com");
        }
        if issuer.starts_with("AWSReservedSSO_") {
            sso_total += 1;
            if (7..19).contains(&hour) && weekday < 5 {
                sso_office += 1;
            }
        }
        if issuer == "gitlab-ci-deployer" || issuer == "DatadogIntegrationRole" {
            let account = record["recipientAccountId"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let address = record["sourceIPAddress"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            addresses
                .entry((account, issuer.to_string()))
                .or_default()
                .insert(address);
        }
    }
    assert!(sso_total > 100, "{sso_total} SSO developer events");
    assert!(
        f64::from(sso_office) >= 0.9 * f64::from(sso_total),
        "{sso_office} of {sso_total} SSO events in office hours"
    );
    assert!(!addresses.is_empty());
    for ((account, role), seen) in addresses {
        assert!(
            seen.len() <= 3,
            "{role} in {account} used {} addresses",
            seen.len()
        );
    }
}

#[test]
fn planted_events_do_not_depend_on_the_volume_of_routine_traffic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let small = generate(&config(
        &dir.path().join("small"),
        1_000,
        9,
        OutputFormat::JsonLines,
    ))
    .expect("generate");
    let large = generate(&config(
        &dir.path().join("large"),
        9_000,
        9,
        OutputFormat::JsonLines,
    ))
    .expect("generate");
    assert_eq!(small.truth, large.truth);
    assert_eq!(small.events, 1_000);
    assert_eq!(large.events, 9_000);
}
