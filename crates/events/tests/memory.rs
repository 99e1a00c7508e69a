//! Memory stays flat as input grows: checked structurally, on the reader's buffers,
//! over inputs produced lazily (never held in memory by the test either).
mod common;

use std::io::Read;

use common::sample_record;
use firebreak_events::{InputShape, RecordReader};

/// Produces `count` records lazily as JSON lines, or as one `{"Records":[...]}` object.
struct LazyInput {
    next: u64,
    count: u64,
    records_envelope: bool,
    pending: Vec<u8>,
    at: usize,
    finished: bool,
}

impl LazyInput {
    fn new(count: u64, records_envelope: bool) -> Self {
        let pending = if records_envelope {
            b"{\"Records\":[".to_vec()
        } else {
            Vec::new()
        };
        LazyInput {
            next: 0,
            count,
            records_envelope,
            pending,
            at: 0,
            finished: false,
        }
    }
}

impl Read for LazyInput {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.pending.len() {
            self.pending.clear();
            self.at = 0;
            if self.next < self.count {
                if self.records_envelope && self.next > 0 {
                    self.pending.push(b',');
                }
                self.pending
                    .extend_from_slice(sample_record(self.next).as_bytes());
                if !self.records_envelope {
                    self.pending.push(b'\n');
                }
                self.next += 1;
            } else if !self.finished {
                self.finished = true;
                if self.records_envelope {
                    self.pending.extend_from_slice(b"]}");
                }
            } else {
                return Ok(0);
            }
        }
        let n = buf.len().min(self.pending.len() - self.at);
        buf[..n].copy_from_slice(&self.pending[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

const FEW_MB: usize = 4 * 1024 * 1024;

fn check_flat(records_envelope: bool, count: u64, expected_shape: InputShape) {
    let mut reader = RecordReader::new("lazy", LazyInput::new(count, records_envelope));
    let mut n = 0u64;
    let mut max_capacity = 0;
    let mut max_record = 0;
    while let Some(item) = reader.next_record() {
        let record = item.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(record.index, n);
        if n & 0xfff == 0 {
            assert_eq!(record.bytes, sample_record(n).as_bytes());
        }
        max_record = max_record.max(record.bytes.len());
        n += 1;
        max_capacity = max_capacity.max(reader.buffer_capacity());
    }
    assert_eq!(n, count);
    assert_eq!(reader.shape(), Some(expected_shape));
    assert!(
        reader.bytes_decoded() > 200_000_000,
        "{} bytes",
        reader.bytes_decoded()
    );
    assert!(max_record > 1000);
    assert!(max_capacity < FEW_MB, "buffer grew to {max_capacity} bytes");
}

#[test]
fn json_lines_200_mb_in_a_flat_buffer() {
    check_flat(false, 140_000, InputShape::JsonLines);
}

#[test]
fn records_array_200_mb_in_a_flat_buffer() {
    check_flat(true, 140_000, InputShape::S3Delivery);
}

#[test]
fn gzip_stream_in_a_flat_buffer() {
    // Compressed lazily too: the encoder reads the generator as it goes.
    let compressed =
        flate2::read::GzEncoder::new(LazyInput::new(60_000, false), flate2::Compression::fast());
    let mut reader = RecordReader::new("lazy.gz", compressed);
    let mut n = 0;
    let mut max_capacity = 0;
    while let Some(item) = reader.next_record() {
        item.unwrap();
        n += 1;
        max_capacity = max_capacity.max(reader.buffer_capacity());
    }
    assert_eq!(n, 60_000);
    assert!(reader.is_gzip());
    assert!(reader.bytes_read() < reader.bytes_decoded() / 4);
    assert!(max_capacity < FEW_MB, "buffer grew to {max_capacity} bytes");
}

#[test]
fn one_huge_record_trickling_in_is_read_whole() {
    // A 20 MB record (a huge requestParameters) trickling in through 64 KiB reads.
    let big = "x".repeat(20 << 20);
    let input = format!(
        "{{\"Records\":[{{\"eventName\":\"Big\",\"requestParameters\":{{\"blob\":\"{big}\"}}}},{}]}}",
        sample_record(1)
    );
    struct Slow<'a>(&'a [u8]);
    impl Read for Slow<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = buf.len().min(self.0.len()).min(64 * 1024);
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }
    let mut reader = RecordReader::new("big", Slow(input.as_bytes()));
    let first = reader.next_record().unwrap().unwrap();
    assert!(first.bytes.len() > 20 << 20);
    let event = first.event().unwrap();
    assert_eq!(event.event_name(), Some("Big"));
    let second = reader.next_record().unwrap().unwrap();
    assert_eq!(second.bytes, sample_record(1).as_bytes());
    assert!(reader.next_record().is_none());
    // The buffer had to hold the big record, but not much more.
    assert!(reader.buffer_capacity() <= 64 << 20);
}

#[test]
fn records_over_the_size_limit_are_refused() {
    let big = "x".repeat(70 << 20);
    let input = format!("{{\"Records\":[{{\"eventName\":\"Big\",\"blob\":\"{big}\"}}]}}");
    let mut reader = RecordReader::new("huge", input.as_bytes());
    let err = reader.next_record().unwrap().unwrap_err();
    assert_eq!(err.kind, firebreak_events::ReadErrorKind::TooLarge);
    assert!(reader.next_record().is_none());
}
