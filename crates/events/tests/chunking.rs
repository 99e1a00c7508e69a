//! Records and errors do not depend on how the input arrives: a source that returns
//! a few bytes per read (values split across every possible buffer boundary) gives
//! exactly what one that returns everything at once gives.
mod common;

use std::io::Read;
use std::ops::ControlFlow;

use common::{data, gzip, sample_record};
use firebreak_events::{read_stream, FileReport};

/// Returns at most `sizes[k % len]` bytes on the k-th read.
struct Trickle<'a> {
    data: &'a [u8],
    at: usize,
    reads: usize,
    sizes: &'a [usize],
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let want = self.sizes[self.reads % self.sizes.len()];
        self.reads += 1;
        let n = want.min(buf.len()).min(self.data.len() - self.at);
        buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

fn run(input: impl Read) -> (Vec<(u64, u64, Vec<u8>)>, FileReport) {
    let mut got = Vec::new();
    let report = read_stream("x", input, &mut |r| {
        common::check_event_paths_agree(&r);
        got.push((r.index, r.byte_offset, r.bytes.to_vec()));
        ControlFlow::Continue(())
    });
    (got, report)
}

fn inputs() -> Vec<Vec<u8>> {
    let mut all: Vec<Vec<u8>> = std::fs::read_dir(data(""))
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    let lines: String = (0..40).map(|i| sample_record(i) + "\n").collect();
    all.push(lines.clone().into_bytes());
    all.push(
        format!(
            "{{\"Records\":[{},{}]}}",
            sample_record(1),
            sample_record(2)
        )
        .into_bytes(),
    );
    // Damaged variants.
    let mut broken = lines.clone();
    broken.insert_str(3000, "{\"eventName\": tru}\n");
    all.push(broken.into_bytes());
    all.push(lines.as_bytes()[..lines.len() - 700].to_vec());
    all.push(gzip(lines.as_bytes()));
    let gz = gzip(lines.as_bytes());
    all.push(gz[..gz.len() * 2 / 3].to_vec());
    all.push(b"[1, {\"eventName\":\"x\"}, \"s\", tru".to_vec());
    all
}

#[test]
fn trickled_input_gives_the_same_records_and_errors() {
    for (n, input) in inputs().iter().enumerate() {
        let (whole, whole_report) = run(&input[..]);
        for sizes in [&[1usize][..], &[3, 1, 7, 2], &[4096, 1, 9000], &[17]] {
            let (trickled, report) = run(Trickle {
                data: input,
                at: 0,
                reads: 0,
                sizes,
            });
            assert_eq!(trickled, whole, "input {n} with reads of {sizes:?}");
            assert_eq!(report.shape, whole_report.shape, "input {n}");
            assert_eq!(
                report.bytes_decoded, whole_report.bytes_decoded,
                "input {n}"
            );
            let kinds = |r: &FileReport| {
                r.errors
                    .iter()
                    .map(|e| (e.kind, e.location))
                    .collect::<Vec<_>>()
            };
            // Gzip errors are located by compressed bytes consumed, which depends on
            // the decoder's read-ahead: compare kinds only for those.
            let gz_safe = |r: &FileReport| r.errors.iter().map(|e| e.kind).collect::<Vec<_>>();
            if input.starts_with(&[0x1f, 0x8b]) {
                assert_eq!(gz_safe(&report), gz_safe(&whole_report), "input {n}");
            } else {
                assert_eq!(
                    kinds(&report),
                    kinds(&whole_report),
                    "input {n} with reads of {sizes:?}"
                );
            }
        }
    }
}
