//! Ad-hoc throughput check of the readers and the head parser (not a benchmark
//! harness): generates N realistic ~1.5 KB records as gzip JSON lines and as a plain
//! `{"Records":[...]}` file, then times read + `CloudTrailEvent::parse` over each.
//!
//! `cargo run -p firebreak-events --profile bench-fast --example read_speed -- [N] [DIR]`

use std::io::Write;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::time::Instant;

use firebreak_events::{read_file, CloudTrailEvent, EventFields, InputFile};

fn record(i: u64) -> String {
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

/// CPU seconds used by this thread (the machine may be shared: wall time lies).
fn thread_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
    // Fields after the command name (which ends with ')'): utime is the 12th, stime the 13th.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

fn time(files: &[InputFile], label: &str) {
    for (what, parse) in [("read only", false), ("read + event head", true)] {
        let start = Instant::now();
        let cpu_start = thread_cpu_seconds();
        let mut parsed = 0u64;
        let mut names = 0usize;
        let (mut records, mut decoded) = (0u64, 0u64);
        for file in files {
            let report = read_file(file, &mut |r| {
                if parse {
                    if let Ok(e) = r.event() {
                        parsed += 1;
                        names += e.event_name().map_or(0, str::len);
                        let _ = EventFields::event_time_millis(&e);
                    }
                }
                ControlFlow::Continue(())
            });
            assert!(report.errors.is_empty(), "{:?}", report.errors);
            records += report.records;
            decoded += report.bytes_decoded;
        }
        let wall = start.elapsed().as_secs_f64();
        let secs = (thread_cpu_seconds() - cpu_start).max(0.01);
        println!(
            "{label:<34} {what:<18} {records:>8} records in {secs:.2} s CPU ({wall:.2} s wall) = {:>9.0} records/s per core, {:>6.0} MB/s decoded (parsed {parsed}, {names})",
            records as f64 / secs,
            decoded as f64 / secs / 1e6
        );
    }
}

/// In-memory loops: no I/O, no decompression.
fn micro() {
    let records: Vec<String> = (0..1000).map(record).collect();
    let rounds: usize = std::env::args()
        .nth(2)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200);
    let cpu = thread_cpu_seconds();
    let mut n = 0u64;
    for _ in 0..rounds {
        for r in &records {
            let e = CloudTrailEvent::parse(r.as_bytes()).expect("valid");
            n += e.event_name().map_or(0, |s| s.len() as u64);
        }
    }
    let secs = thread_cpu_seconds() - cpu;
    let count = (rounds * records.len()) as f64;
    println!(
        "parse head (in memory): {:.0} ns/record, {:.0} records/s ({n})",
        secs * 1e9 / count,
        count / secs
    );

    let mut body = b"{\"Records\":[".to_vec();
    for (i, r) in records.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(r.as_bytes());
    }
    body.extend_from_slice(b"]}");
    let lines = records.join("\n").into_bytes();
    for (shape, body) in [("Records", &body), ("JSON lines", &lines)] {
        for with_event in [false, true] {
            let cpu = thread_cpu_seconds();
            let mut got = 0u64;
            let mut names = 0usize;
            for _ in 0..rounds {
                let report = firebreak_events::read_stream("mem", &body[..], &mut |r| {
                    if with_event {
                        names += r
                            .event()
                            .ok()
                            .and_then(|e| e.event_name().map(str::len))
                            .unwrap_or(0);
                    }
                    ControlFlow::Continue(())
                });
                got += report.records;
            }
            let secs = thread_cpu_seconds() - cpu;
            println!(
                "split {shape}{} (in memory): {:.0} ns/record, {:.0} MB/s ({names})",
                if with_event { " + Record::event" } else { "" },
                secs * 1e9 / got as f64,
                (body.len() * rounds) as f64 / secs / 1e6
            );
        }
    }
}

/// Decompression alone: flate2 (zlib-rs) streaming vs libdeflate whole-buffer.
fn gunzip(path: &std::path::Path) {
    use std::io::Read;
    let compressed = std::fs::read(path).expect("read");
    let cpu = thread_cpu_seconds();
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(&compressed[..])
        .read_to_end(&mut out)
        .expect("gunzip");
    let secs = thread_cpu_seconds() - cpu;
    println!(
        "flate2/zlib-rs: {} bytes in {secs:.2} s CPU = {:.0} MB/s",
        out.len(),
        out.len() as f64 / secs / 1e6
    );
    let cpu = thread_cpu_seconds();
    let mut d = libdeflater::Decompressor::new();
    let mut out2 = vec![0u8; out.len()];
    let n = d
        .gzip_decompress(&compressed, &mut out2)
        .expect("libdeflate");
    let secs = thread_cpu_seconds() - cpu;
    println!(
        "libdeflate:     {n} bytes in {secs:.2} s CPU = {:.0} MB/s",
        n as f64 / secs / 1e6
    );
}

fn main() {
    if std::env::args().nth(1).as_deref() == Some("gunzip") {
        gunzip(std::path::Path::new(
            &std::env::args().nth(2).expect("path"),
        ));
        return;
    }
    if std::env::args().nth(1).as_deref() == Some("micro") {
        micro();
        return;
    }
    let mut args = std::env::args().skip(1);
    let n: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(200_000);
    let dir = PathBuf::from(
        args.next()
            .unwrap_or_else(|| std::env::temp_dir().display().to_string()),
    );
    let gz_path = dir.join("firebreak-speed.jsonl.gz");
    let s3_path = dir.join("firebreak-speed-records.json");
    let s3_dir = dir.join("firebreak-speed-s3");
    let _ = std::fs::create_dir_all(&s3_dir);
    let per_object = 2000u64;
    {
        let f = std::fs::File::create(&gz_path).expect("create");
        let mut enc = flate2::write::GzEncoder::new(
            std::io::BufWriter::new(f),
            flate2::Compression::default(),
        );
        let mut plain = std::io::BufWriter::new(std::fs::File::create(&s3_path).expect("create"));
        plain.write_all(b"{\"Records\":[").expect("write");
        let mut object: Option<flate2::write::GzEncoder<std::fs::File>> = None;
        for i in 0..n {
            let r = record(i);
            enc.write_all(r.as_bytes()).expect("write");
            enc.write_all(b"\n").expect("write");
            if i > 0 {
                plain.write_all(b",").expect("write");
            }
            plain.write_all(r.as_bytes()).expect("write");
            if i % per_object == 0 {
                if let Some(mut o) = object.take() {
                    o.write_all(b"]}").expect("write");
                    o.finish().expect("finish");
                }
                let f =
                    std::fs::File::create(s3_dir.join(format!("{:06}.json.gz", i / per_object)))
                        .expect("create");
                let mut o = flate2::write::GzEncoder::new(f, flate2::Compression::default());
                o.write_all(b"{\"Records\":[").expect("write");
                o.write_all(r.as_bytes()).expect("write");
                object = Some(o);
            } else if let Some(o) = object.as_mut() {
                o.write_all(b",").expect("write");
                o.write_all(r.as_bytes()).expect("write");
            }
        }
        if let Some(mut o) = object.take() {
            o.write_all(b"]}").expect("write");
            o.finish().expect("finish");
        }
        plain.write_all(b"]}").expect("write");
        enc.finish().expect("finish");
    }
    let one = |path: &PathBuf| {
        let len = std::fs::metadata(path).expect("metadata").len();
        println!("{} ({} bytes on disk)", path.display(), len);
        vec![InputFile {
            path: path.clone(),
            len,
        }]
    };
    time(&one(&gz_path), "one gzip JSON lines file (streamed)");
    time(&one(&s3_path), "one plain Records object");
    let (objects, errors) = firebreak_events::discover_inputs(std::slice::from_ref(&s3_dir));
    assert!(errors.is_empty());
    println!(
        "{} ({} gzip S3 objects of {per_object} records)",
        s3_dir.display(),
        objects.len()
    );
    time(&objects, "gzip S3 objects (libdeflate)");
    let _ = std::fs::remove_dir_all(&s3_dir);
    let _ = std::fs::remove_file(&gz_path);
    let _ = std::fs::remove_file(&s3_path);
}
