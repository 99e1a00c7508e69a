//! Helpers shared by the reader and event tests.
#![allow(dead_code)]

use std::io::Write;
use std::ops::ControlFlow;
use std::path::PathBuf;

use firebreak_events::{
    read_file, read_stream, CloudTrailEvent, EventFields, FileReport, InputFile, InputShape,
};

/// The third-party corpus (read in place, never copied).
pub fn corpus(rel: &str) -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/corpus"
    ))
    .join(rel)
}

/// The AWS CloudTrail processing library's test resources.
pub fn aws_lib(name: &str) -> PathBuf {
    corpus("aws-cloudtrail-processing-library/src/test/resources/resources").join(name)
}

/// Our own fixtures.
pub fn data(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data")).join(name)
}

/// A record as delivered: its text, index and shape.
#[derive(Debug, Clone)]
pub struct Got {
    pub text: String,
    pub index: u64,
    pub byte_offset: u64,
    pub shape: InputShape,
}

impl Got {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("record {} is not JSON ({e}): {}", self.index, self.text))
    }
    pub fn field(&self, key: &str) -> Option<String> {
        self.json()
            .get(key)
            .and_then(|v| v.as_str())
            .map(str::to_string)
    }
}

fn collect(
    report_fn: impl FnOnce(
        &mut dyn FnMut(firebreak_events::Record<'_>) -> ControlFlow<()>,
    ) -> FileReport,
) -> (Vec<Got>, FileReport) {
    let mut got = Vec::new();
    let report = report_fn(&mut |r| {
        check_event_paths_agree(&r);
        got.push(Got {
            text: String::from_utf8(r.bytes.to_vec()).expect("records are UTF-8"),
            index: r.index,
            byte_offset: r.byte_offset,
            shape: r.shape,
        });
        ControlFlow::Continue(())
    });
    assert_eq!(
        report.records,
        got.len() as u64,
        "report counts the records delivered"
    );
    (got, report)
}

/// What a parsed event's head says, for comparisons.
pub fn head_summary(e: &CloudTrailEvent<'_>) -> Vec<Option<String>> {
    let s = |v: Option<&str>| v.map(str::to_string);
    vec![
        s(e.event_id()),
        s(e.event_time()),
        s(e.event_source()),
        s(e.event_name()),
        s(e.event_type()),
        s(e.aws_region()),
        s(e.source_ip()),
        s(e.user_agent()),
        s(e.error_code()),
        s(e.error_message()),
        s(e.recipient_account_id()),
        s(e.user_identity_type()),
        s(e.principal_arn()),
        s(e.principal_id()),
        s(e.access_key_id()),
        s(e.account_id()),
        s(e.user_name()),
        e.read_only().map(|b| b.to_string()),
        e.event_time_millis().map(|t| t.to_string()),
    ]
}

/// `Record::event` (head found while reading) and `CloudTrailEvent::parse` (a
/// fresh scan) must agree on every record.
pub fn check_event_paths_agree(r: &firebreak_events::Record<'_>) {
    match (r.event(), CloudTrailEvent::parse(r.bytes)) {
        (Ok(a), Ok(b)) => {
            assert_eq!(head_summary(&a), head_summary(&b), "record {}", r.index);
            for path in [
                &["userIdentity", "type"][..],
                &["eventName"],
                &["userIdentity", "arn"],
                &["readOnly"],
            ] {
                let mut va = Vec::new();
                let mut vb = Vec::new();
                a.visit_field(path, &mut |v| {
                    va.push(format!("{v:?}"));
                    false
                });
                b.visit_field(path, &mut |v| {
                    vb.push(format!("{v:?}"));
                    false
                });
                assert_eq!(va, vb, "record {} path {path:?}", r.index);
            }
        }
        (a, b) => assert_eq!(
            a.is_ok(),
            b.is_ok(),
            "record {}: {:?} vs {:?}",
            r.index,
            a.err(),
            b.err()
        ),
    }
}

/// Reads bytes through `read_stream`.
pub fn read_bytes(name: &str, bytes: &[u8]) -> (Vec<Got>, FileReport) {
    collect(|sink| read_stream(name, bytes, sink))
}

/// Reads a path through `read_file`.
pub fn read_path(path: &std::path::Path) -> (Vec<Got>, FileReport) {
    let len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let file = InputFile {
        path: path.to_path_buf(),
        len,
    };
    collect(|sink| read_file(&file, sink))
}

/// Gzip-compresses bytes.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).expect("in-memory write");
    enc.finish().expect("in-memory gzip")
}

/// A realistic CloudTrail record of about 1.5 KB, numbered `i`.
pub fn sample_record(i: u64) -> String {
    format!(
        concat!(
            r#"{{"eventVersion":"1.09","userIdentity":{{"type":"AssumedRole","principalId":"AROAEXAMPLEID{i:08}:session-{i}","#,
            r#""arn":"arn:aws:sts::111122223333:assumed-role/ops-role/session-{i}","accountId":"111122223333","#,
            r#""accessKeyId":"ASIAEXAMPLE{i:09}","sessionContext":{{"sessionIssuer":{{"type":"Role","principalId":"AROAEXAMPLEID","#,
            r#""arn":"arn:aws:iam::111122223333:role/ops-role","accountId":"111122223333","userName":"ops-role"}},"#,
            r#""webIdFederationData":{{}},"attributes":{{"creationDate":"2024-05-01T09:00:00Z","mfaAuthenticated":"false"}}}}}},"#,
            r#""eventTime":"2024-05-01T10:{m:02}:{s:02}Z","eventSource":"ec2.amazonaws.com","eventName":"DescribeInstances","#,
            r#""awsRegion":"eu-west-1","sourceIPAddress":"203.0.113.{ip}","userAgent":"aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64 prompt/off command/ec2.describe-instances","#,
            r#""requestParameters":{{"instancesSet":{{"items":[{{"instanceId":"i-0abc{i:012x}"}}]}},"filterSet":{{"items":[{{"name":"tag:env","valueSet":{{"items":[{{"value":"prod"}}]}}}}]}}}},"#,
            r#""responseElements":null,"requestID":"5f1c7b3e-{i:04x}-4b1e-9f0a-8c2d3e4f5a6b","eventID":"e{i:07}-aaaa-bbbb-cccc-dddddddddddd","#,
            r#""readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management","#,
            r#""tlsDetails":{{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"ec2.eu-west-1.amazonaws.com"}},"#,
            r#""resources":[{{"accountId":"111122223333","type":"AWS::EC2::Instance","ARN":"arn:aws:ec2:eu-west-1:111122223333:instance/i-0abc{i:012x}"}}],"#,
            r#""additionalEventData":{{"note":"padding to make the record about one and a half kilobytes long, as real ones are"}}}}"#
        ),
        i = i,
        m = (i / 60) % 60,
        s = i % 60,
        ip = i % 250
    )
}
