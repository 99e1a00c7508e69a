//! `s3://bucket/prefix` inputs for `scan` and `ingest`: the objects are listed and
//! downloaded in parallel through the AWS SDK (crate `firebreak-aws`) and handed to the
//! readers from memory.

#[cfg(feature = "aws")]
mod with_aws {
    use std::ops::ControlFlow;

    use anyhow::Context;
    use firebreak_aws::s3_input::{read_prefix, S3ReadOptions, S3ReadReport, S3Url};
    use firebreak_aws::Session;
    use firebreak_events::sanitize::for_terminal;

    use crate::respond::GlobalAwsArgs;

    /// An object downloaded from S3: its `s3://bucket/key` name and its bytes.
    pub type NamedObject = (String, Vec<u8>);

    /// Connects with the standard credential chain, `--profile`, `--region` and `--role-arn`.
    pub fn connect(aws: &GlobalAwsArgs) -> anyhow::Result<Session> {
        Session::connect(&aws.connect_options()).context("connecting to AWS")
    }

    /// Parses every `s3://` URL first, so that a typo fails before anything is read.
    pub fn parse_urls(urls: &[&String]) -> anyhow::Result<Vec<S3Url>> {
        urls.iter().map(|u| S3Url::parse(u).with_context(|| format!("bad S3 URL {u}"))).collect()
    }

    /// Reads every URL, sending each object to `tx` (bounded, so memory stays flat); stops
    /// early when the receiver is gone. Returns per URL its report or the listing error,
    /// already printed to stderr; the count of problems is the second value.
    pub fn produce(
        session: &Session,
        urls: &[S3Url],
        concurrency: usize,
        tx: crossbeam_channel::Sender<NamedObject>,
    ) -> (Vec<S3ReadReport>, u64) {
        let opts = S3ReadOptions { concurrency: concurrency.max(1), ..S3ReadOptions::default() };
        let mut reports = Vec::new();
        let mut problems = 0u64;
        for url in urls {
            let mut sink = |object: firebreak_aws::s3_input::S3Object| {
                let name = object.name();
                if tx.send((name, object.bytes)).is_err() {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            };
            match read_prefix(session, url, &opts, &mut sink) {
                Ok(report) => {
                    for err in &report.errors {
                        problems += 1;
                        eprintln!("firebreak: damaged input: {}", for_terminal(&err.to_string()));
                    }
                    reports.push(report);
                }
                Err(err) => {
                    problems += 1;
                    eprintln!("firebreak: error: s3://{}/{}: {}", url.bucket, url.prefix, for_terminal(&err.to_string()));
                }
            }
        }
        (reports, problems)
    }
}

#[cfg(feature = "aws")]
pub use with_aws::*;

/// Ingests local inputs and S3 prefixes in one run.
#[cfg(all(feature = "aws", feature = "investigate"))]
pub fn ingest_with_s3(
    store: &firebreak_store::CaseStore,
    local: Vec<firebreak_store::IngestInput>,
    urls: &[&String],
    options: &firebreak_store::IngestOptions<'_>,
    aws: &crate::AwsArgs,
    concurrency: usize,
) -> anyhow::Result<firebreak_store::IngestReport> {
    use anyhow::Context;
    let urls = parse_urls(urls)?;
    let session = connect(aws)?;
    let (tx, rx) = crossbeam_channel::bounded::<NamedObject>(concurrency.max(1));
    let (report, problems) = std::thread::scope(|scope| {
        let session = &session;
        let urls = &urls;
        let producer = scope.spawn(move || produce(session, urls, concurrency, tx));
        let inputs = local
            .into_iter()
            .chain(rx.into_iter().map(|(name, bytes)| firebreak_store::IngestInput::Object { name, bytes }));
        let report = firebreak_store::ingest(store, inputs, options);
        let problems = producer.join().map(|(_, n)| n).unwrap_or(1);
        (report, problems)
    });
    let mut report = report.context("ingest failed")?;
    report.damaged_inputs += problems;
    Ok(report)
}

/// Without the AWS SDK (`--no-default-features`), S3 inputs are refused.
#[cfg(all(not(feature = "aws"), feature = "investigate"))]
pub fn ingest_with_s3(
    _store: &firebreak_store::CaseStore,
    _local: Vec<firebreak_store::IngestInput>,
    urls: &[&String],
    _options: &firebreak_store::IngestOptions<'_>,
    _aws: &crate::AwsArgs,
    _concurrency: usize,
) -> anyhow::Result<firebreak_store::IngestReport> {
    anyhow::bail!("{}: this firebreak was built without AWS support (the `aws` feature)", urls.first().map(|s| s.as_str()).unwrap_or("s3://"))
}
