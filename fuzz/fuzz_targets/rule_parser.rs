//! Fuzzes the Sigma rule loader: arbitrary bytes as YAML text through
//! `RuleLoader::add_yaml` and `finish`, then every loaded rule is matched against a
//! fixed CloudTrail event and correlations are evaluated. Must never panic.
#![no_main]

use firebreak_detect::{Limits, RuleLoader};
use firebreak_events::CloudTrailEvent;
use libfuzzer_sys::fuzz_target;

const EVENT: &str = r#"{"eventVersion":"1.09","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/aws:ec2-instance/i-1","accessKeyId":"ASIAEXAMPLE","sessionContext":{"sessionIssuer":{"type":"Role"}}},"eventTime":"2024-07-30T12:00:00Z","eventSource":"iam.amazonaws.com","eventName":"CreateAccessKey","sourceIPAddress":"203.0.113.10","userAgent":"S3 Browser","requestParameters":{"userName":"bob","policyDocument":"{\"Action\":\"s3:GetObject\"}","n":443,"b":false,"list":["a",{"k":"v"}]},"responseElements":null,"errorCode":"AccessDenied","eventID":"e1"}"#;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let limits = Limits {
        max_yaml_nodes: 20_000,
        max_file_bytes: 64 << 10,
        ..Limits::default()
    };
    let mut loader = RuleLoader::new(limits);
    loader.add_yaml("fuzz.yml", text);
    let (rules, report) = loader.finish();
    for status in &report.rules {
        let _ = status.outcome.clone();
    }
    let Ok(event) = CloudTrailEvent::parse(EVENT.as_bytes()) else {
        return;
    };
    let mut fired = Vec::new();
    let mut hits = Vec::new();
    rules.scan_event(&event, &mut fired, &mut hits);
    for r in 0..rules.rules().len() {
        let _ = rules.rule_matches(r, &event);
    }
    let _ = rules.evaluate_correlations(hits);
});
