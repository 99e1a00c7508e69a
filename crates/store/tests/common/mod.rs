//! Helpers shared by the ingest tests.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use arrow::array::{Array, AsArray};
use firebreak_detect::{RuleLoader, RuleSet};
use firebreak_evidence::CaseLocation;
use firebreak_store::schema::{col, finding_col};
use firebreak_store::{parts, CaseStore};

/// The built-in rules.
pub fn builtin_rules() -> RuleSet {
    let mut loader = RuleLoader::new(Default::default());
    loader.add_builtin();
    loader.finish().0
}

/// No rules at all.
pub fn no_rules() -> RuleSet {
    RuleLoader::new(Default::default()).finish().0
}

/// A new case in `dir/name`.
pub fn new_case(dir: &Path, name: &str) -> CaseStore {
    CaseStore::create(&CaseLocation {
        name: name.into(),
        dir: dir.join(name),
    })
    .expect("case created")
}

/// A small CloudTrail record.
pub fn record(id: &str, second: u32, name: &str) -> String {
    format!(
        r#"{{"eventVersion":"1.09","userIdentity":{{"type":"IAMUser","principalId":"AIDA{id}","arn":"arn:aws:iam::111122223333:user/u-{id}","accountId":"111122223333","accessKeyId":"AKIA{id}","userName":"u-{id}"}},"eventTime":"2026-10-01T01:{:02}:{:02}Z","eventSource":"iam.amazonaws.com","eventName":"{name}","awsRegion":"eu-west-1","sourceIPAddress":"198.51.100.7","userAgent":"aws-cli/2.15","requestParameters":{{"userName":"t-{id}"}},"responseElements":null,"requestID":"req-{id}","eventID":"{id}","readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management"}}"#,
        second / 60,
        second % 60
    )
}

/// gzip of `bytes`.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).expect("gzip");
    enc.finish().expect("gzip")
}

/// Every stored event id (NULL ids as `None`), in part order.
pub fn stored_ids(store: &CaseStore) -> Vec<Option<String>> {
    let mut out = Vec::new();
    for path in store.event_files().expect("list parts") {
        for batch in parts::read_columns(&path, &[col::EVENT_ID]).expect("read eventid") {
            let ids = batch.column(0).as_string::<i32>();
            for i in 0..ids.len() {
                out.push(ids.is_valid(i).then(|| ids.value(i).to_string()));
            }
        }
    }
    out
}

/// Stored ids, each with how many times it is stored.
pub fn id_counts(store: &CaseStore) -> HashMap<Option<String>, usize> {
    let mut counts = HashMap::new();
    for id in stored_ids(store) {
        *counts.entry(id).or_insert(0) += 1;
    }
    counts
}

/// Stored findings as (rule title, event id, kind).
pub fn stored_findings(store: &CaseStore) -> Vec<(String, Option<String>, String)> {
    let mut out = Vec::new();
    for path in store.finding_files().expect("list findings") {
        for batch in parts::read_columns(
            &path,
            &[
                finding_col::RULE_TITLE,
                finding_col::EVENT_ID,
                finding_col::KIND,
            ],
        )
        .expect("read findings")
        {
            let titles = batch.column(0).as_string::<i32>();
            let ids = batch.column(1).as_string::<i32>();
            let kinds = batch.column(2).as_string::<i32>();
            for i in 0..batch.num_rows() {
                out.push((
                    titles.value(i).to_string(),
                    ids.is_valid(i).then(|| ids.value(i).to_string()),
                    kinds.value(i).to_string(),
                ));
            }
        }
    }
    out
}

/// The manifest's lines, parsed.
pub fn manifest(store: &CaseStore) -> Vec<serde_json::Value> {
    std::fs::read_to_string(store.manifest_path())
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("manifest line is JSON"))
        .collect()
}
