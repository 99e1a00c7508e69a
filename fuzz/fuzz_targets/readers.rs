//! Fuzzes the streaming readers and the lazy event model: arbitrary bytes (plain, or
//! gzip-wrapped when the first byte is odd) go through `read_stream`, and every record
//! delivered is parsed and probed with `visit_field`. Nothing may panic.
#![no_main]

use std::ops::ControlFlow;

use firebreak_events::{read_stream, sanitize, CloudTrailEvent, EventFields};

const PATHS: &[&[&str]] = &[
    &["eventName"],
    &["eventTime"],
    &["userIdentity", "type"],
    &["userIdentity", "sessionContext", "sessionIssuer", "userName"],
    &["resources", "ARN"],
    &["requestParameters"],
    &["a", "b", "c"],
    &[],
];

type Head<'e> = [Option<&'e str>; 8];

fn head<'e>(e: &'e CloudTrailEvent<'_>) -> (Head<'e>, Option<bool>, Option<i64>) {
    (
        [
            e.event_id(),
            e.event_name(),
            e.event_source(),
            e.source_ip(),
            e.user_identity_type(),
            e.principal_arn(),
            e.user_name(),
            e.error_code(),
        ],
        e.read_only(),
        e.event_time_millis(),
    )
}

fn probe(bytes: &[u8]) {
    if let Ok(event) = CloudTrailEvent::parse(bytes) {
        let _ = event.event_time_millis();
        let _ = event.user_name();
        let _ = event.read_only();
        for path in PATHS {
            let mut n = 0usize;
            event.visit_field(path, &mut |v| {
                let _ = v.as_text();
                n += 1;
                n > 64
            });
        }
        let _ = event.raw_json();
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut sink = |record: firebreak_events::Record<'_>| {
        probe(record.bytes);
        // The head found while reading must match a fresh parse of the same bytes.
        match (record.event(), CloudTrailEvent::parse(record.bytes)) {
            (Ok(a), Ok(b)) => assert_eq!(head(&a), head(&b)),
            (a, b) => assert_eq!(a.is_ok(), b.is_ok(), "{:?} vs {:?}", a.err(), b.err()),
        }
        ControlFlow::Continue(())
    };
    let report = read_stream("fuzz", data, &mut sink);
    for e in &report.errors {
        let _ = e.to_string();
    }
    // The same bytes as one record.
    probe(data);
    // Sanitising leaves nothing that can drive a terminal.
    let text = String::from_utf8_lossy(data);
    let safe = sanitize::for_terminal(&text);
    assert!(!safe.chars().any(|c| c.is_control()
        || matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}')));
    let cell = sanitize::for_csv_cell(&text);
    assert!(!cell.starts_with(['=', '+', '-', '@', '\t', '\r']));
    // And gzip-wrapped (stored blocks), sometimes cut short, so the decompression
    // paths see structured JSON too.
    if data.first().is_some_and(|b| b & 1 == 1) {
        let gz = stored_gzip(&data[1..]);
        let cut = gz.len() - (data.len() % 7).min(gz.len());
        let _ = read_stream("fuzz.gz", &gz[..cut], &mut sink);
    }
});

/// A gzip member holding `data` in stored (uncompressed) deflate blocks.
fn stored_gzip(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    let mut chunks = data.chunks(65_535).peekable();
    if chunks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(chunk) = chunks.next() {
        out.push(u8::from(chunks.peek().is_none()));
        let len = chunk.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    out.extend_from_slice(&crc32(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}
