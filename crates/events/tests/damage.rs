//! Damaged input: every error names the file and where, and nothing good is lost.
mod common;

use common::{data, gzip, read_bytes, read_path, sample_record};
use firebreak_events::{ErrorLocation, ReadErrorKind};

fn lines(n: u64) -> String {
    (0..n).map(|i| sample_record(i) + "\n").collect()
}

#[test]
fn truncated_gzip_delivers_records_before_the_cut() {
    let plain = lines(400);
    let full = gzip(plain.as_bytes());
    let cut = &full[..full.len() / 2];
    let (got, report) = read_bytes("logs/cut.json.gz", cut);
    assert!(got.len() > 50 && got.len() < 400, "{} records", got.len());
    // Every delivered record is complete and in order.
    for (i, g) in got.iter().enumerate() {
        assert_eq!(g.text, sample_record(i as u64));
    }
    let errs: Vec<_> = report
        .errors
        .iter()
        .filter(|e| e.kind == ReadErrorKind::TruncatedGzip)
        .collect();
    assert_eq!(errs.len(), 1, "{:?}", report.errors);
    let text = errs[0].to_string();
    assert!(text.starts_with("logs/cut.json.gz: byte "), "{text}");
    assert_eq!(
        errs[0].location,
        ErrorLocation::ByteOffset(cut.len() as u64)
    );
    assert!(
        text.contains(&format!("{} records delivered", got.len())),
        "{text}"
    );
}

#[test]
fn truncated_gzip_of_a_real_corpus_file() {
    let full = std::fs::read(common::aws_lib("SerializerTestFileCompact.json.gz")).unwrap();
    let (all, _) = read_bytes("whole", &full);
    let (got, report) = read_bytes("half.json.gz", &full[..full.len() / 2]);
    assert!(got.len() < all.len());
    for (a, b) in got.iter().zip(&all) {
        assert_eq!(a.text, b.text);
    }
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
fn corrupt_gzip_bytes_are_reported() {
    let plain = lines(300);
    let mut damaged = gzip(plain.as_bytes());
    let mid = damaged.len() / 2;
    for b in &mut damaged[mid..mid + 64] {
        *b ^= 0x5a;
    }
    let (got, report) = read_bytes("bad.gz", &damaged);
    assert!(got.len() < 300);
    for (i, g) in got.iter().enumerate() {
        assert_eq!(
            g.text,
            sample_record(i as u64),
            "records before the damage are intact"
        );
    }
    assert!(
        report
            .errors
            .iter()
            .any(|e| matches!(e.kind, ReadErrorKind::CorruptGzip)),
        "{:?}",
        report.errors
    );
}

#[test]
fn bad_gzip_header() {
    let (got, report) = read_bytes("hdr.gz", &[0x1f, 0x8b, 0x99, 0x00, 0x00, 0x00]);
    assert!(got.is_empty());
    assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
    assert!(matches!(
        report.errors[0].kind,
        ReadErrorKind::CorruptGzip | ReadErrorKind::TruncatedGzip
    ));
}

#[test]
fn invalid_json_line_in_the_middle_keeps_the_lines_after_it() {
    let mut input = String::new();
    input.push_str(&(sample_record(0) + "\n"));
    input.push_str(&(sample_record(1) + "\n"));
    input.push_str("{\"eventName\": \"Broken\", \"eventSource\": tru}\n"); // bad literal
    input.push_str(&(sample_record(3) + "\n"));
    input.push_str("{\"eventName\": \"Unclosed\", \"x\": {\"y\": 1}\n"); // missing brace
    input.push_str(&(sample_record(5) + "\n"));
    input.push_str("{\"eventName\": \"unterminated string}\n"); // unterminated string
    input.push_str("not json at all\n");
    input.push_str(&(sample_record(8) + "\n"));
    input.push_str(&sample_record(9)[..500]); // truncated last line
    let (got, report) = read_bytes("mid.jsonl", input.as_bytes());
    let idx: Vec<_> = got.iter().map(|g| g.index).collect();
    assert_eq!(idx, [0, 1, 3, 5, 8]);
    for g in &got {
        assert_eq!(g.text, sample_record(g.index));
    }
    let kinds: Vec<_> = report.errors.iter().map(|e| (e.kind, e.location)).collect();
    assert_eq!(report.errors.len(), 5, "{:#?}", report.errors);
    let rec = |e: &firebreak_events::ReadError| match e.location {
        ErrorLocation::Record { index, .. } => index,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        report.errors.iter().map(rec).collect::<Vec<_>>(),
        [2, 4, 6, 7, 9],
        "{kinds:?}"
    );
    assert_eq!(report.errors[4].kind, ReadErrorKind::TruncatedJson);
    let text = report.errors[0].to_string();
    assert!(text.starts_with("mid.jsonl: record 2 (byte "), "{text}");
    assert!(text.contains("invalid JSON"), "{text}");
    // Line numbers: the records are one per line, no blank lines.
    assert!(text.ends_with(", line 3)"), "{text}");
    assert!(
        report.errors[1].message.ends_with(", line 5)"),
        "{}",
        report.errors[1]
    );
    assert!(
        report.errors[4].message.contains("starts on line 10"),
        "{}",
        report.errors[4]
    );
}

#[test]
fn invalid_first_line_of_json_lines_is_skipped_too() {
    let input = format!(
        "{{\"eventName\": \"Broken\", nope}}\n{}\n{}\n",
        sample_record(1),
        sample_record(2)
    );
    let (got, report) = read_bytes("first.jsonl", input.as_bytes());
    assert_eq!(got.iter().map(|g| g.index).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
}

#[test]
fn broken_records_array_keeps_records_before_it() {
    let mut input = String::from("{\"Records\": [\n");
    input.push_str(&sample_record(0));
    input.push_str(",\n");
    input.push_str(&sample_record(1));
    input.push_str(",\n{\"eventName\": \"X\" \"eventSource\": \"y\"},\n"); // missing comma
    input.push_str(&sample_record(3));
    input.push_str("]}");
    let (got, report) = read_bytes("broken.json", input.as_bytes());
    assert_eq!(got.iter().map(|g| g.index).collect::<Vec<_>>(), [0, 1]);
    assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
    let e = &report.errors[0];
    assert_eq!(e.kind, ReadErrorKind::InvalidJson);
    let offset = input.find("{\"eventName\": \"X\"").unwrap() as u64;
    assert_eq!(
        e.location,
        ErrorLocation::Record {
            index: 2,
            byte_offset: offset
        }
    );
    assert!(e.message.contains("expected ',' or '}'"), "{e}");
}

#[test]
fn records_array_cut_short() {
    let input = format!(
        "{{\"Records\":[{},{},{}",
        sample_record(0),
        sample_record(1),
        &sample_record(2)[..700]
    );
    let (got, report) = read_bytes("short.json", input.as_bytes());
    assert_eq!(got.len(), 2);
    assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
    assert_eq!(report.errors[0].kind, ReadErrorKind::TruncatedJson);
    assert!(
        report.errors[0].to_string().contains("record 2"),
        "{}",
        report.errors[0]
    );
}

#[test]
fn records_array_closed_badly() {
    let (got, report) = read_bytes("close.json", br#"{"Records":[{"eventName":"A"}}"#);
    assert_eq!(got.len(), 1);
    assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
    assert_eq!(report.errors[0].kind, ReadErrorKind::InvalidJson);
}

#[test]
fn unreadable_inputs_directory_and_dangling_symlink() {
    let dir = tempfile::tempdir().unwrap();
    // A directory opened as a file cannot be read.
    let (got, report) = read_path(dir.path());
    assert!(got.is_empty());
    assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
    assert_eq!(report.errors[0].kind, ReadErrorKind::Io);
    assert!(report.errors[0]
        .to_string()
        .starts_with(&dir.path().display().to_string()));

    let link = dir.path().join("dangling.json");
    std::os::unix::fs::symlink(dir.path().join("missing-target"), &link).unwrap();
    let (got, report) = read_path(&link);
    assert!(got.is_empty());
    assert_eq!(report.errors.len(), 1);
    assert_eq!(report.errors[0].kind, ReadErrorKind::Io);
    assert!(
        report.errors[0].to_string().contains("dangling.json"),
        "{}",
        report.errors[0]
    );
}

#[test]
fn empty_and_whitespace_files() {
    for input in [&b""[..], b"  \n\t\r\n"] {
        let (got, report) = read_bytes("empty.json", input);
        assert!(got.is_empty());
        assert_eq!(report.errors.len(), 1);
        assert_eq!(report.errors[0].kind, ReadErrorKind::Empty);
        assert_eq!(report.errors[0].location, ErrorLocation::File);
    }
    let (got, report) = read_bytes("empty.gz", &gzip(b""));
    assert!(got.is_empty());
    assert_eq!(report.errors[0].kind, ReadErrorKind::Empty);
}

#[test]
fn non_json_files_are_reported_as_not_cloudtrail() {
    for input in [
        &b"hello, world\n"[..],
        b"\x89PNG\r\n\x1a\n\0\0\0",
        b"<html></html>",
    ] {
        let (got, report) = read_bytes("x.txt", input);
        assert!(got.is_empty());
        assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
        assert_eq!(report.errors[0].kind, ReadErrorKind::NotCloudTrail);
        assert!(
            report.errors[0].message.starts_with("not JSON"),
            "{}",
            report.errors[0]
        );
    }
    // PowerShell 5 writes UTF-16 by default: say so.
    let utf16: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain(
            "{\"eventName\":\"x\"}"
                .encode_utf16()
                .flat_map(u16::to_le_bytes),
        )
        .collect();
    let (got, report) = read_bytes("ps.json", &utf16);
    assert!(got.is_empty());
    assert!(
        report.errors[0].message.contains("UTF-16"),
        "{}",
        report.errors[0]
    );
    let (got, report) = read_path(&data("not_cloudtrail.json"));
    assert!(got.is_empty());
    assert_eq!(report.errors.len(), 1);
    assert_eq!(report.errors[0].kind, ReadErrorKind::NotCloudTrail);
    assert!(
        report.errors[0]
            .message
            .contains("name, version, dependencies"),
        "{}",
        report.errors[0]
    );
}

#[test]
fn hostile_nesting_is_refused_without_crashing() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let input = format!("{{\"Records\":[{{\"eventName\":\"A\"}},{{\"x\":{deep}}}]}}");
    let (got, report) = read_bytes("deep.json", input.as_bytes());
    assert_eq!(got.len(), 1);
    assert_eq!(report.errors.len(), 1);
    assert_eq!(report.errors[0].kind, ReadErrorKind::TooLarge);
    assert!(report.errors[0].message.contains("nesting"));
}

#[test]
fn invalid_escape_and_control_bytes() {
    let input = "{\"eventName\":\"A\\q\",\"eventSource\":\"s\"}\n{\"eventName\":\"B\",\"eventSource\":\"s\"}\n";
    let (got, report) = read_bytes("esc.jsonl", input.as_bytes());
    assert_eq!(got.len(), 1);
    assert_eq!(report.errors.len(), 1);
    assert!(
        report.errors[0].message.contains("escape"),
        "{}",
        report.errors[0]
    );
}

#[test]
fn read_error_display_format() {
    let e = firebreak_events::ReadError::new(
        "logs/x.json.gz",
        ErrorLocation::Record {
            index: 17,
            byte_offset: 18234,
        },
        ReadErrorKind::InvalidJson,
        "expected ',' or '}'",
    );
    assert_eq!(
        e.to_string(),
        "logs/x.json.gz: record 17 (byte 18234): invalid JSON: expected ',' or '}'"
    );
    let e = firebreak_events::ReadError::new(
        "a.json",
        ErrorLocation::File,
        ReadErrorKind::Empty,
        "no JSON in the input",
    );
    assert_eq!(e.to_string(), "a.json: empty input: no JSON in the input");
    let as_std: &dyn std::error::Error = &e;
    assert!(as_std.source().is_none());
}

#[test]
fn quoted_log_text_in_errors_is_cut_short() {
    let long_key = "k".repeat(10_000);
    let input = format!("{{\"{long_key}\":1}}\n{{\"a\":2}}\n");
    let (_, report) = read_bytes("keys.jsonl", input.as_bytes());
    assert_eq!(report.errors.len(), 2, "{:?}", report.errors);
    assert!(report
        .errors
        .iter()
        .all(|e| e.kind == ReadErrorKind::NotCloudTrail));
    assert!(
        report.errors[0].message.len() < 200,
        "{}",
        report.errors[0].message.len()
    );
    let envelope = format!(
        "{{\"detail-type\":\"{}\",\"detail\":{{}}}}",
        "d".repeat(10_000)
    );
    let (_, report) = read_bytes("eb.json", envelope.as_bytes());
    assert_eq!(report.errors.len(), 1);
    assert!(report.errors[0].message.len() < 200);
}
