//! `summary` on a case whose text columns outgrow Parquet's dictionary page: the writer
//! falls back to plain encoding, and the summary (which reads dictionaries) must still
//! count exactly what SQL counts.

use std::collections::BTreeMap;
use std::io::Write;

use datafusion::parquet::basic::Encoding;
use datafusion::parquet::file::reader::{FileReader, SerializedFileReader};
use firebreak_evidence::CaseLocation;
use firebreak_query::{CaseQuery, SummaryDimension, SummaryFilter};
use firebreak_store::{ingest, CaseStore, IngestInput, IngestOptions};

const EVENTS: u32 = 70_000;

fn record(i: u32) -> String {
    let minute = i / 60;
    let time = format!(
        "2026-10-0{}T{:02}:{:02}:{:02}Z",
        1 + minute / 1440,
        (minute / 60) % 24,
        minute % 60,
        i % 60
    );
    // Every third event has an ARN; the others name the invoking service or only a
    // principal id (the principal falls back in that order).
    let identity = match i % 3 {
        0 => format!(
            r#"{{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/u{}","accessKeyId":"AKIA{:016}"}}"#,
            i % 50,
            i % 70
        ),
        1 => r#"{"type":"AWSService","invokedBy":"ec2.amazonaws.com"}"#.to_string(),
        _ => format!(r#"{{"type":"Unknown","principalId":"P{}"}}"#, i % 7),
    };
    let error = if i % 11 == 0 {
        r#","errorCode":"AccessDenied""#
    } else {
        ""
    };
    format!(
        r#"{{"eventVersion":"1.08","eventID":"ev-{i}","eventTime":"{time}","eventSource":"s3.amazonaws.com","eventName":"GetObject{}","awsRegion":"eu-west-{}","sourceIPAddress":"198.51.{}.{}","userAgent":"agent/{i} {}","userIdentity":{identity}{error}}}"#,
        i % 13,
        1 + i % 3,
        (i / 256) % 256,
        i % 256,
        "x".repeat(120),
    )
}

#[test]
fn summary_is_exact_when_text_columns_fall_back_to_plain_encoding() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("events.jsonl");
    let mut file = std::fs::File::create(&input).expect("create input");
    for i in 0..EVENTS {
        writeln!(file, "{}", record(i)).expect("write");
    }
    drop(file);
    let store = CaseStore::create(&CaseLocation {
        name: "fallback".into(),
        dir: dir.path().join("case"),
    })
    .expect("create case");
    let (rules, _) =
        firebreak_detect::RuleLoader::new(firebreak_detect::Limits::default()).finish();
    let report = ingest(
        &store,
        [IngestInput::Path(input)],
        &IngestOptions::new(&rules),
    )
    .expect("ingest");
    assert_eq!(report.events_stored, u64::from(EVENTS));

    // The premise: some part stores `useragent` without a dictionary (all distinct).
    let plain = store.event_files().expect("parts").iter().any(|path| {
        let reader = SerializedFileReader::new(std::fs::File::open(path).expect("open part"))
            .expect("parquet");
        let meta = reader.metadata();
        meta.row_groups().iter().any(|rg| {
            rg.columns()
                .iter()
                .filter(|c| c.column_path().string() == "useragent")
                .any(|c| c.encodings().any(|e| e == Encoding::PLAIN))
        })
    });
    assert!(
        plain,
        "the user agents were expected to overflow the dictionary page"
    );

    let q = CaseQuery::open(&store).expect("open case");
    let summary = q.summary(&SummaryFilter::default()).expect("summary");
    assert_eq!(summary.events, u64::from(EVENTS));
    for dimension in SummaryDimension::ALL {
        let expr = match dimension {
            SummaryDimension::Principal => {
                "coalesce(useridentity.arn, useridentity.invokedby, useridentity.principalid)"
            }
            SummaryDimension::AccessKey => "useridentity.accesskeyid",
            other => other.name(),
        };
        let table = q
            .sql(&format!(
                "SELECT {expr} AS v, count(*) AS n, count(errorcode) AS e FROM cloudtrail WHERE {expr} IS NOT NULL GROUP BY 1"
            ))
            .expect("per-dimension SQL");
        let expected: BTreeMap<String, (u64, u64)> = table
            .rows
            .iter()
            .map(|r| {
                let n = |i: usize| {
                    r[i].as_deref()
                        .expect("count")
                        .parse::<u64>()
                        .expect("number")
                };
                (r[0].clone().expect("value"), (n(1), n(2)))
            })
            .collect();
        let got: BTreeMap<String, (u64, u64)> = summary
            .values(dimension)
            .iter()
            .map(|v| (v.value.clone(), (v.count, v.errors)))
            .collect();
        assert!(!expected.is_empty(), "{dimension:?}");
        assert_eq!(got, expected, "{dimension:?}");
    }
    assert_eq!(
        summary.values(SummaryDimension::UserAgent).len(),
        EVENTS as usize
    );
}
