//! Every input shape is recognised by content and yields its records.
mod common;

use common::{data, gzip, read_bytes, read_path};
use firebreak_events::{CloudTrailEvent, EventFields, InputShape, ReadErrorKind};

#[test]
fn s3_delivery_with_keys_around_records() {
    let (got, report) = read_path(&data("s3_delivery_extra_keys.json"));
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.shape, Some(InputShape::S3Delivery));
    let names: Vec<_> = got.iter().map(|g| g.field("eventName").unwrap()).collect();
    assert_eq!(names, ["CreateUser", "AttachUserPolicy"]);
    assert_eq!(got.iter().map(|g| g.index).collect::<Vec<_>>(), [0, 1]);
    assert!(got.iter().all(|g| g.shape == InputShape::S3Delivery));
    // Offsets point at the records themselves.
    let bytes = std::fs::read(data("s3_delivery_extra_keys.json")).unwrap();
    for g in &got {
        let at = g.byte_offset as usize;
        assert_eq!(&bytes[at..at + g.text.len()], g.text.as_bytes());
    }
}

#[test]
fn s3_delivery_gzip_is_detected_by_content_not_name() {
    let plain = std::fs::read(data("s3_delivery_extra_keys.json")).unwrap();
    let (got, report) = read_bytes("no-extension", &gzip(&plain));
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(got.len(), 2);
    assert_eq!(report.bytes_decoded, plain.len() as u64);
    assert!(report.bytes_read < report.bytes_decoded);
}

#[test]
fn bare_array() {
    let (got, report) = read_path(&data("bare_array.json"));
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.shape, Some(InputShape::JsonArray));
    assert_eq!(got.len(), 3);
    assert_eq!(
        got[2].field("eventName").as_deref(),
        Some("CreateAccessKey")
    );
}

#[test]
fn single_record_file() {
    let (got, report) = read_path(&data("single_record.json"));
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.shape, Some(InputShape::SingleRecord));
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].field("eventID").as_deref(), Some("evt-0000"));
}

#[test]
fn json_lines_with_blank_lines_crlf_and_no_final_newline() {
    let (got, report) = read_path(&data("lines.jsonl"));
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.shape, Some(InputShape::JsonLines));
    let names: Vec<_> = got.iter().map(|g| g.field("eventName").unwrap()).collect();
    assert_eq!(
        names,
        [
            "CreateUser",
            "AttachUserPolicy",
            "CreateAccessKey",
            "DeleteTrail"
        ]
    );
    assert!(got.iter().all(|g| g.shape == InputShape::JsonLines));
}

#[test]
fn json_lines_gzip() {
    let plain = std::fs::read(data("lines.jsonl")).unwrap();
    let (got, report) = read_bytes("lines.gz", &gzip(&plain));
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(got.len(), 4);
    assert_eq!(report.shape, Some(InputShape::JsonLines));
}

#[test]
fn concatenated_gzip_members_are_all_read() {
    let mut two = gzip(br#"{"eventName":"A","eventSource":"x"}"#);
    two.extend(gzip(b"\n{\"eventName\":\"B\",\"eventSource\":\"x\"}\n"));
    let (got, report) = read_bytes("two-members.gz", &two);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(
        got.iter()
            .map(|g| g.field("eventName").unwrap())
            .collect::<Vec<_>>(),
        ["A", "B"]
    );
}

#[test]
fn eventbridge_single_envelope() {
    let (got, report) = read_path(&data("eventbridge_single.json"));
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].shape, InputShape::EventBridge);
    assert_eq!(report.shape, Some(InputShape::EventBridge));
    // The record is `detail`, without the envelope.
    let v = got[0].json();
    assert_eq!(v["eventName"], "CreateUser");
    assert!(v.get("detail-type").is_none());
}

#[test]
fn eventbridge_lines_skip_non_cloudtrail_events_with_a_note() {
    let (got, report) = read_path(&data("eventbridge.jsonl"));
    let names: Vec<_> = got.iter().map(|g| g.field("eventName").unwrap()).collect();
    assert_eq!(names, ["CreateUser", "ConsoleLogin", "AssumeRole"]);
    assert!(got.iter().all(|g| g.shape == InputShape::EventBridge));
    assert_eq!(got.iter().map(|g| g.index).collect::<Vec<_>>(), [0, 1, 3]);
    assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
    let e = &report.errors[0];
    assert_eq!(e.kind, ReadErrorKind::NotCloudTrail);
    assert!(e.kind.is_informational());
    assert!(
        e.message.contains("EC2 Instance State-change Notification"),
        "{e}"
    );
    assert!(e.to_string().contains("record 2"), "{e}");
}

#[test]
fn lookup_events_output_decodes_the_string_records() {
    let (got, report) = read_path(&data("lookup_events.json"));
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.shape, Some(InputShape::LookupEvents));
    assert_eq!(got.len(), 3);
    let v = got[1].json();
    assert_eq!(v["eventName"], "AttachUserPolicy");
    assert_eq!(v["userIdentity"]["userName"], "analyst1");
    let event = CloudTrailEvent::parse(got[1].text.as_bytes()).unwrap();
    assert_eq!(
        event.principal_arn(),
        Some("arn:aws:iam::111122223333:user/analyst1")
    );
}

#[test]
fn lake_query_results_rows_are_merged_and_nested_columns_parsed() {
    let (got, report) = read_path(&data("lake_results.json"));
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.shape, Some(InputShape::LakeQueryResults));
    assert_eq!(got.len(), 2);
    let v = got[0].json();
    assert_eq!(v["eventName"], "CreateUser");
    // The nested column came back as an object, not a string.
    assert_eq!(v["userIdentity"]["type"], "IAMUser");
    assert_eq!(v["requestParameters"]["userName"], "target0");
    let event = CloudTrailEvent::parse(got[0].text.as_bytes()).unwrap();
    assert_eq!(event.user_name(), Some("analyst0"));
    assert_eq!(event.read_only(), Some(false));
    // Lake prints times as "2024-05-01 10:00:00.000".
    assert_eq!(event.event_time(), Some("2024-05-01 10:00:00.000"));
    assert_eq!(event.event_time_millis(), Some(1_714_557_600_000));
}

#[test]
fn lake_export_json_lines_are_plain_records() {
    let (got, report) = read_path(&data("lake_export.jsonl"));
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.shape, Some(InputShape::JsonLines));
    assert_eq!(got.len(), 2);
    let event = CloudTrailEvent::parse(got[1].text.as_bytes()).unwrap();
    assert_eq!(event.event_name(), Some("AttachUserPolicy"));
    // The nested column is a string here; visit_field reports it as logged.
    let mut seen = Vec::new();
    event.visit_field(&["userIdentity"], &mut |v| {
        seen.push(v.as_text().map(|t| t.into_owned()));
        false
    });
    assert_eq!(seen.len(), 1);
    assert!(seen[0].as_deref().unwrap().contains("analyst1"));
}

#[test]
fn json_lines_of_envelopes_mix() {
    let mut input = String::new();
    input.push_str(&std::fs::read_to_string(data("lake_export.jsonl")).unwrap());
    input.push_str(r#"{"Records":[{"eventName":"InS3","eventSource":"s3"}]}"#);
    input.push('\n');
    input.push_str(r#"{"Events":[{"EventId":"1","CloudTrailEvent":"{\"eventName\":\"InLookup\"}"}],"NextToken":null}"#);
    input.push('\n');
    let (got, report) = read_bytes("mix.jsonl", input.as_bytes());
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let names: Vec<_> = got.iter().map(|g| g.field("eventName").unwrap()).collect();
    assert_eq!(
        names,
        ["CreateUser", "AttachUserPolicy", "InS3", "InLookup"]
    );
    assert_eq!(got[2].shape, InputShape::S3Delivery);
    assert_eq!(got[3].shape, InputShape::LookupEvents);
}

#[test]
fn empty_records_array_is_not_an_error() {
    let (got, report) = read_bytes("empty-records", br#"{"Records":[]}"#);
    assert!(got.is_empty());
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.shape, Some(InputShape::S3Delivery));
}

#[test]
fn byte_order_mark_is_skipped() {
    let mut input = vec![0xEF, 0xBB, 0xBF];
    input.extend_from_slice(br#"[{"eventName":"X","eventSource":"y"}]"#);
    let (got, report) = read_bytes("bom", &input);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(got.len(), 1);
}

#[test]
fn non_object_entries_are_errors_for_that_entry_only() {
    let (got, report) = read_bytes(
        "mixed",
        br#"{"Records":[{"eventName":"A"}, 42, "str", null, [1], {"eventName":"B"}]}"#,
    );
    assert_eq!(
        got.iter()
            .map(|g| g.field("eventName").unwrap())
            .collect::<Vec<_>>(),
        ["A", "B"]
    );
    assert_eq!(got[1].index, 5);
    assert_eq!(report.errors.len(), 4, "{:?}", report.errors);
    assert!(report
        .errors
        .iter()
        .all(|e| e.kind == ReadErrorKind::NotAnObject));
    assert!(
        report.errors[0].to_string().contains("record 1"),
        "{}",
        report.errors[0]
    );
}

#[test]
fn sink_can_stop_early() {
    let mut n = 0;
    let report =
        firebreak_events::read_stream("stop", &include_bytes!("data/lines.jsonl")[..], &mut |_| {
            n += 1;
            if n == 2 {
                std::ops::ControlFlow::Break(())
            } else {
                std::ops::ControlFlow::Continue(())
            }
        });
    assert_eq!(n, 2);
    assert_eq!(report.records, 2);
}

#[test]
fn concatenated_pretty_printed_objects_are_a_stream() {
    let one = std::fs::read_to_string(data("single_record.json")).unwrap();
    let (got, report) = read_bytes("two.json", format!("{one}\n\n{one}\n").as_bytes());
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(got.len(), 2);
    assert!(got.iter().all(|g| g.shape == InputShape::JsonLines));
    assert_eq!(got[1].index, 1);
    // One object with trailing blank lines is still a single record.
    let (got, report) = read_bytes("one.json", format!("\n{one}\n\n  \n").as_bytes());
    assert_eq!(got.len(), 1);
    assert_eq!(report.shape, Some(InputShape::SingleRecord));
}

#[test]
fn gzip_files_on_disk_fast_path_and_several_members() {
    let dir = tempfile::tempdir().unwrap();
    let plain = std::fs::read(data("lines.jsonl")).unwrap();
    let (want, _) = read_bytes("mem", &plain);
    assert_eq!(want.len(), 4);

    // One member: decompressed whole.
    let one = dir.path().join("one.json.gz");
    std::fs::write(&one, gzip(&plain)).unwrap();
    let (got, report) = read_path(&one);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(
        got.iter().map(|g| &g.text).collect::<Vec<_>>(),
        want.iter().map(|g| &g.text).collect::<Vec<_>>()
    );
    assert_eq!(report.bytes_read, std::fs::metadata(&one).unwrap().len());
    assert_eq!(report.bytes_decoded, plain.len() as u64);

    // Identical members (same size and CRC as the last trailer): nothing is lost.
    let twice = dir.path().join("twice.json.gz");
    let mut both = gzip(&plain);
    both.extend(gzip(&plain));
    std::fs::write(&twice, &both).unwrap();
    let (got, report) = read_path(&twice);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(got.len(), 8);
    assert_eq!(report.bytes_decoded, 2 * plain.len() as u64);

    // A damaged small file falls back to streaming: records before the damage, and
    // the error.
    let lines: String = (0..300).map(|i| common::sample_record(i) + "\n").collect();
    let full = gzip(lines.as_bytes());
    let cut = dir.path().join("cut.json.gz");
    std::fs::write(&cut, &full[..full.len() / 2]).unwrap();
    let (got, report) = read_path(&cut);
    assert!(!got.is_empty() && got.len() < 300);
    assert!(
        report
            .errors
            .iter()
            .any(|e| e.kind == ReadErrorKind::TruncatedGzip),
        "{:?}",
        report.errors
    );
}

#[test]
fn small_gzip_with_a_bad_checksum_is_streamed_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let plain = std::fs::read(data("lines.jsonl")).unwrap();
    let mut gz = gzip(&plain);
    let crc_at = gz.len() - 8;
    gz[crc_at] ^= 0xff;
    let path = dir.path().join("badcrc.json.gz");
    std::fs::write(&path, &gz).unwrap();
    let (got, report) = read_path(&path);
    // Every record decodes; the checksum failure is still reported.
    assert_eq!(got.len(), 4);
    assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
    assert_eq!(report.errors[0].kind, ReadErrorKind::CorruptGzip);
}
