//! Third-party inputs, read in place from the shared corpus.
mod common;

use common::{aws_lib, corpus, read_path};
use firebreak_events::{CloudTrailEvent, EventFields, FieldValue, InputShape, ReadErrorKind};

#[test]
fn stratus_detonation_logs_all_310_records() {
    let dir = corpus("stratus/docs/detonation-logs");
    let (files, errors) = firebreak_events::discover_inputs(&[dir]);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(files.len(), 35);
    let mut total = 0;
    let mut odd_regions = 0;
    let mut non_ip_sources = 0;
    for file in &files {
        let (got, report) = read_path(&file.path);
        assert!(
            report.errors.is_empty(),
            "{}: {:?}",
            file.path.display(),
            report.errors
        );
        assert_eq!(
            report.shape,
            Some(InputShape::JsonArray),
            "{}",
            file.path.display()
        );
        for g in &got {
            let event = CloudTrailEvent::parse(g.text.as_bytes())
                .unwrap_or_else(|e| panic!("{}: {e}", file.path.display()));
            assert!(event.event_name().is_some());
            assert!(
                event.event_time_millis().is_some(),
                "{:?}",
                event.event_time()
            );
            // Values are kept as logged: fake regions and non-IP source addresses.
            let region = event.aws_region().unwrap_or_default();
            if !region.starts_with("us-")
                && !region.starts_with("eu-")
                && !region.starts_with("ap-")
            {
                odd_regions += 1;
            }
            if let Some(ip) = event.source_ip() {
                if ip.parse::<std::net::IpAddr>().is_err() {
                    non_ip_sources += 1;
                }
            }
            // Head accessors agree with a full JSON parse.
            let v = g.json();
            assert_eq!(event.event_id(), v["eventID"].as_str());
            assert_eq!(event.principal_arn(), v["userIdentity"]["arn"].as_str());
            assert_eq!(event.event_source(), v["eventSource"].as_str());
        }
        total += got.len();
    }
    assert_eq!(total, 310);
    assert!(odd_regions > 0, "the corpus has fake regions");
    assert!(non_ip_sources > 0, "the corpus has non-IP source addresses");
}

#[test]
fn serializer_test_file_and_its_compact_and_gzip_forms_agree() {
    let mut all = Vec::new();
    for name in [
        "SerializerTestFile.json",
        "SerializerTestFileCompact.json",
        "SerializerTestFileCompact.json.gz",
    ] {
        let (got, report) = read_path(&aws_lib(name));
        assert!(report.errors.is_empty(), "{name}: {:?}", report.errors);
        assert_eq!(report.shape, Some(InputShape::S3Delivery), "{name}");
        let values: Vec<_> = got.iter().map(|g| g.json()).collect();
        assert!(!values.is_empty());
        all.push(values);
    }
    assert_eq!(
        all[1], all[2],
        "gzip and plain compact files hold the same records"
    );
    assert_eq!(all[0].len(), all[1].len());
    assert_eq!(all[0][0]["eventName"], all[1][0]["eventName"]);
}

#[test]
fn all_fields_null() {
    let (got, report) = read_path(&aws_lib("SerializerAllFieldsNull.json"));
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert!(!got.is_empty());
    let event = CloudTrailEvent::parse(got[0].text.as_bytes()).unwrap();
    assert_eq!(event.event_name(), None);
    assert_eq!(event.user_identity_type(), None);
    assert_eq!(event.event_time_millis(), None);
    let mut seen = None;
    assert!(!event.visit_field(&["eventName"], &mut |v| {
        seen = Some(v.clone().into_owned_value());
        false
    }));
    assert_eq!(seen, Some(Owned::Null));
    // userIdentity is null: nothing below it.
    assert!(!event.visit_field(&["userIdentity", "type"], &mut |_| true));
}

#[test]
fn missing_unknown_and_renamed_fields_are_tolerated() {
    for name in [
        "SerializerTestFileMissField.json",
        "SerializerTestFileNewFieldAtRandomPlaces.json",
        "SerializerTestFileNewFieldName.json",
        "SerializerTestFileNewFieldsInRoot.json",
        "SerializerTestFileNewFieldsInUserIdentity.json",
        "SerializerTestFileBadFieldName.json",
        "SerializerVariousUserIdentityTestFile.json",
        "SerializerTestFileLocation.json",
    ] {
        let (got, report) = read_path(&aws_lib(name));
        assert!(report.errors.is_empty(), "{name}: {:?}", report.errors);
        assert!(!got.is_empty(), "{name}");
        for g in &got {
            let event =
                CloudTrailEvent::parse(g.text.as_bytes()).unwrap_or_else(|e| panic!("{name}: {e}"));
            let v = g.json();
            assert_eq!(event.event_name(), v["eventName"].as_str(), "{name}");
            assert_eq!(
                event.user_identity_type(),
                v["userIdentity"]["type"].as_str(),
                "{name}"
            );
        }
    }
}

#[test]
fn bad_json_format_file_reports_the_record_and_offset() {
    let (got, report) = read_path(&aws_lib("SerializerTestFileBadJsonFormat.json"));
    assert!(got.is_empty(), "the damage is in the first record");
    assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
    let e = &report.errors[0];
    assert_eq!(e.kind, ReadErrorKind::InvalidJson);
    let text = e.to_string();
    assert!(
        text.contains("SerializerTestFileBadJsonFormat.json: record 0 (byte "),
        "{text}"
    );
    assert!(text.contains("expected a key string"), "{text}");
}

#[test]
fn sqs_message_bodies_are_not_cloudtrail() {
    let (got, report) = read_path(&aws_lib("SQSMessageBody"));
    assert!(got.is_empty());
    assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
    let e = &report.errors[0];
    assert_eq!(e.kind, ReadErrorKind::NotCloudTrail);
    assert!(e.kind.is_informational());
    assert!(
        e.message.contains("S3 notification listing 2 log objects"),
        "{e}"
    );

    let (got, report) = read_path(&aws_lib("SQSMessageBodyWrongFormat"));
    assert!(got.is_empty());
    assert_eq!(report.errors.len(), 1);
    assert_eq!(report.errors[0].kind, ReadErrorKind::NotCloudTrail);
    assert!(
        report.errors[0].message.contains("Type"),
        "{}",
        report.errors[0]
    );
}

#[test]
fn the_whole_aws_library_folder_reads_without_panicking() {
    let (files, errors) = firebreak_events::discover_inputs(&[aws_lib("")]);
    assert!(errors.is_empty(), "{errors:?}");
    assert!(files.len() >= 15);
    let mut sorted = files.clone();
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    assert_eq!(files, sorted, "walk order is sorted");
    let mut records = 0;
    for f in &files {
        let (got, _) = read_path(&f.path);
        for g in &got {
            let event = CloudTrailEvent::parse(g.text.as_bytes()).unwrap();
            let mut arns = 0;
            event.visit_field(&["resources", "ARN"], &mut |v| {
                arns += usize::from(matches!(v, FieldValue::Str(_)));
                false
            });
            let expected = g.json()["resources"]
                .as_array()
                .map_or(0, |r| r.iter().filter(|x| x["ARN"].is_string()).count());
            assert_eq!(arns, expected, "{}", f.path.display());
        }
        records += got.len();
    }
    assert!(records > 20);
}

/// An owned copy of a field value for assertions.
#[derive(Debug, PartialEq)]
enum Owned {
    Null,
    Other(String),
}

trait IntoOwned {
    fn into_owned_value(self) -> Owned;
}

impl IntoOwned for FieldValue<'_> {
    fn into_owned_value(self) -> Owned {
        match self {
            FieldValue::Null => Owned::Null,
            other => Owned::Other(format!("{other:?}")),
        }
    }
}
