//! Reading CloudTrail (or any other objects) from an S3 prefix.
//!
//! [`read_prefix`] lists every object under `s3://bucket/prefix` (all pages of
//! `ListObjectsV2`) and downloads them [`S3ReadOptions::concurrency`] at a time on the
//! session's runtime, in a worker thread, while the calling thread hands each downloaded
//! object to the caller's sink **in listing order** (S3 lists keys in UTF-8 binary order,
//! which for the CloudTrail layout `AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/...`
//! is account, region, then time). Memory is bounded: an object holds one of
//! `concurrency` permits from the moment its download starts until the sink has returned,
//! so at most `concurrency` objects are downloading or waiting for the sink.
//!
//! Failures of single objects (a denied, throttled-after-retries or vanished `GetObject`, an
//! object above [`S3ReadOptions::max_object_bytes`]) are recorded in
//! [`S3ReadReport::errors`] and the other objects are still read. A failed listing
//! (missing bucket, denied `s3:ListBucket`) is an [`S3InputError::List`] naming the call and
//! the bucket.
//!
//! A bucket in another region than the session's is followed there (S3 names the bucket's
//! region when it refuses the first listing request); [`S3ReadReport::region`] says where.
//!
//! Folder placeholders (keys ending in `/`) and CloudTrail digest files (any key with a
//! `CloudTrail-Digest` path segment) are not events: they are skipped and counted.

use std::fmt;
use std::ops::ControlFlow;
use std::sync::Arc;

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;

use crate::error::{code_and_message, is_denied_code};
use crate::session::Session;

/// The listing call, as named in errors.
pub const LIST_CALL: &str = "s3:ListObjectsV2";
/// The download call, as named in errors.
pub const GET_CALL: &str = "s3:GetObject";
/// The error code recorded for an object above [`S3ReadOptions::max_object_bytes`].
pub const TOO_LARGE_CODE: &str = "ObjectTooLarge";
/// Default number of objects downloaded at the same time.
pub const DEFAULT_CONCURRENCY: usize = 16;
/// Default size limit of one object (1 GiB).
pub const DEFAULT_MAX_OBJECT_BYTES: u64 = 1 << 30;
/// Attempts at reading an object whose body broke off mid-way (the SDK retries the request
/// itself, not a body that fails while streaming).
const BODY_ATTEMPTS: u32 = 3;

/// Why an S3 prefix could not be read.
#[derive(Debug, thiserror::Error)]
pub enum S3InputError {
    /// The argument is not an `s3://bucket[/prefix]` URL.
    #[error("invalid S3 URL `{url}`: {reason}")]
    InvalidUrl {
        /// The text given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Listing the prefix failed (missing bucket, denied permission, network...).
    #[error("{call} on bucket {bucket} (prefix {prefix:?}) failed: {}{}", describe(.code, .message), list_hint(.denied, .bucket))]
    List {
        /// The API call ([`LIST_CALL`]).
        call: String,
        /// The bucket.
        bucket: String,
        /// The prefix listed.
        prefix: String,
        /// The service's error code (`NoSuchBucket`, `AccessDenied`...; empty when the
        /// request never got an answer).
        code: String,
        /// The service's message or the transport error.
        message: String,
        /// Whether this is a permission denial.
        denied: bool,
    },
    /// The download worker stopped unexpectedly (a bug, reported instead of propagated).
    #[error("the S3 download worker failed: {0}")]
    Worker(String),
}

fn list_hint(denied: &bool, bucket: &str) -> String {
    if *denied {
        format!("; grant s3:ListBucket on arn:aws:s3:::{bucket} to the identity firebreak runs as")
    } else {
        String::new()
    }
}

/// `code: message`, or the message alone when the service gave no code.
fn describe(code: &str, message: &str) -> String {
    if code.is_empty() {
        message.to_string()
    } else {
        format!("{code}: {message}")
    }
}

/// `s3://bucket/prefix`, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Url {
    /// The bucket name.
    pub bucket: String,
    /// The key prefix (may be empty: the whole bucket). A prefix is a plain string prefix,
    /// as in S3: `logs` also matches `logs-old/...`; end it with `/` to mean a folder.
    pub prefix: String,
}

impl S3Url {
    /// Whether `text` is meant as an S3 URL (starts with `s3://`), to tell it from a path.
    pub fn is_s3_url(text: &str) -> bool {
        text.get(..5).is_some_and(|scheme| scheme.eq_ignore_ascii_case("s3://"))
    }

    /// Parses `s3://bucket`, `s3://bucket/` or `s3://bucket/prefix`; errors name the URL.
    pub fn parse(text: &str) -> Result<S3Url, S3InputError> {
        let invalid = |reason: &str| S3InputError::InvalidUrl { url: text.to_string(), reason: reason.to_string() };
        if !Self::is_s3_url(text) {
            return Err(invalid("it must start with s3://"));
        }
        let rest = &text[5..];
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(invalid("the bucket name is missing"));
        }
        if bucket.len() < 3 || bucket.len() > 255 {
            return Err(invalid("a bucket name has 3 to 63 characters (255 for legacy buckets)"));
        }
        if let Some(bad) = bucket.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))) {
            return Err(invalid(&format!("the bucket name contains {bad:?}; bucket names use letters, digits, '.', '-' and '_'")));
        }
        if prefix.len() > 1024 {
            return Err(invalid("the prefix is longer than an S3 key (1024 bytes)"));
        }
        Ok(S3Url { bucket: bucket.to_string(), prefix: prefix.to_string() })
    }
}

impl fmt::Display for S3Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.prefix)
    }
}

impl std::str::FromStr for S3Url {
    type Err = S3InputError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        S3Url::parse(text)
    }
}

/// One downloaded object.
#[derive(Clone, PartialEq, Eq)]
pub struct S3Object {
    /// The bucket it came from.
    pub bucket: String,
    /// Its key.
    pub key: String,
    /// Its size in bytes (the length of `bytes`).
    pub size: u64,
    /// Its content, exactly as stored (a `.json.gz` stays compressed).
    pub bytes: Vec<u8>,
}

impl S3Object {
    /// The name to use in reports and errors: `s3://bucket/key`.
    pub fn name(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }
}

impl fmt::Debug for S3Object {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Object").field("bucket", &self.bucket).field("key", &self.key).field("size", &self.size).finish_non_exhaustive()
    }
}

/// How to read a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3ReadOptions {
    /// Objects downloaded (or waiting for the sink) at the same time; 0 counts as 1.
    pub concurrency: usize,
    /// Objects larger than this are not downloaded; each is reported in
    /// [`S3ReadReport::errors`] with code [`TOO_LARGE_CODE`].
    pub max_object_bytes: u64,
    /// Also deliver CloudTrail digest files (skipped and counted by default).
    pub include_digests: bool,
}

impl Default for S3ReadOptions {
    fn default() -> Self {
        S3ReadOptions { concurrency: DEFAULT_CONCURRENCY, max_object_bytes: DEFAULT_MAX_OBJECT_BYTES, include_digests: false }
    }
}

/// An object that could not be read; the others were.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{call} s3://{bucket}/{key} failed: {}", describe(.code, .message))]
pub struct S3ObjectError {
    /// The API call ([`GET_CALL`]).
    pub call: String,
    /// The bucket.
    pub bucket: String,
    /// The object's key.
    pub key: String,
    /// The service's error code (`AccessDenied`, `NoSuchKey`, `SlowDown`...,
    /// [`TOO_LARGE_CODE`]); empty when the service gave none (a transport error, or an
    /// HTTP error without a body, see `http_status`).
    pub code: String,
    /// The service's message or the transport error.
    pub message: String,
    /// The HTTP status of the answer, if one came.
    pub http_status: Option<u16>,
}

impl S3ObjectError {
    /// Whether this is a permission denial (an access-denied code or HTTP 403).
    pub fn is_access_denied(&self) -> bool {
        is_denied_code(&self.code) || self.http_status == Some(403)
    }

    /// The object's name: `s3://bucket/key`.
    pub fn name(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }
}

/// What [`read_prefix`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct S3ReadReport {
    /// The bucket read.
    pub bucket: String,
    /// The prefix read.
    pub prefix: String,
    /// The region the bucket was read in: the session's, or the bucket's own when S3
    /// redirected there.
    pub region: String,
    /// Keys listed under the prefix, skipped ones included.
    pub objects_listed: u64,
    /// Objects downloaded and handed to the sink.
    pub objects_read: u64,
    /// Bytes handed to the sink.
    pub bytes_read: u64,
    /// CloudTrail digest files skipped (see [`S3ReadOptions::include_digests`]).
    pub digests_skipped: u64,
    /// Folder placeholders (keys ending in `/`) skipped.
    pub folders_skipped: u64,
    /// Objects that could not be read, in listing order.
    pub errors: Vec<S3ObjectError>,
    /// The sink asked to stop; the objects after that one were not read (the counts of
    /// listed and skipped keys stop where the listing stopped).
    pub stopped_early: bool,
}

/// Whether `key` is a CloudTrail digest file (a `CloudTrail-Digest` path segment, as in
/// `AWSLogs/<account>/CloudTrail-Digest/<region>/...`).
pub fn is_digest_key(key: &str) -> bool {
    key.split('/').any(|segment| segment == "CloudTrail-Digest")
}

/// Lists every object under `url` (all pages) and downloads them `opts.concurrency` at a
/// time, handing each to `sink` on the calling thread **in listing order**.
///
/// At most `concurrency` objects are in memory (downloading or waiting for the sink). A
/// failed `GetObject` (denied, throttled after the SDK's retries, missing) or an object
/// above `opts.max_object_bytes` is recorded in [`S3ReadReport::errors`] and the rest
/// continue. A failed `ListObjectsV2` (missing bucket, denied) is an error naming the call
/// and bucket; objects listed before a failure on a later page have been handed to the
/// sink by then. A prefix that matches nothing gives an empty report. When `sink` returns
/// `Break`, downloads in flight are cancelled and the report says `stopped_early`.
///
/// The downloads run on the session's runtime in a scoped worker thread; call this from
/// ordinary (not async) code.
pub fn read_prefix(
    session: &Session,
    url: &S3Url,
    opts: &S3ReadOptions,
    sink: &mut dyn FnMut(S3Object) -> ControlFlow<()>,
) -> Result<S3ReadReport, S3InputError> {
    let concurrency = opts.concurrency.max(1);
    let plan = ListPlan {
        client: session.s3(),
        bucket: url.bucket.clone(),
        prefix: url.prefix.clone(),
        max_object_bytes: opts.max_object_bytes,
        include_digests: opts.include_digests,
    };
    let mut report = S3ReadReport { bucket: url.bucket.clone(), prefix: url.prefix.clone(), ..S3ReadReport::default() };
    let (deliveries, mut received) = mpsc::channel::<Delivery>(concurrency);
    let outcome = std::thread::scope(|scope| {
        let worker = std::thread::Builder::new()
            .name("firebreak-s3-read".into())
            .spawn_scoped(scope, move || session.block_on(run(plan, concurrency, deliveries)));
        let worker = match worker {
            Ok(worker) => worker,
            Err(err) => return Err(S3InputError::Worker(format!("cannot start the download thread: {err}"))),
        };
        while let Some(delivery) = received.blocking_recv() {
            match delivery {
                Delivery::Object { object, permit } => {
                    report.objects_read += 1;
                    report.bytes_read += object.size;
                    let flow = sink(object);
                    drop(permit);
                    if flow.is_break() {
                        report.stopped_early = true;
                        break;
                    }
                }
                Delivery::Failed(error) => report.errors.push(error),
            }
        }
        // Stops the worker if the sink asked to (its next send fails).
        drop(received);
        worker.join().map_err(|panic| S3InputError::Worker(panic_text(panic.as_ref())))?
    })?;
    report.region = outcome.region;
    report.objects_listed = outcome.listed;
    report.digests_skipped = outcome.digests;
    report.folders_skipped = outcome.folders;
    Ok(report)
}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panicked".to_string())
}

/// What the worker hands to the calling thread.
enum Delivery {
    /// A downloaded object and the permit it holds until the sink is done with it.
    Object { object: S3Object, permit: OwnedSemaphorePermit },
    /// An object that could not be read.
    Failed(S3ObjectError),
}

/// A listed object on its way: a download in progress or an already known result.
enum Pending {
    Download { key: String, handle: JoinHandle<Result<(S3Object, OwnedSemaphorePermit), S3ObjectError>> },
    Ready(S3ObjectError),
}

/// Counts kept by the lister.
#[derive(Debug, Default)]
struct ListStats {
    region: String,
    listed: u64,
    digests: u64,
    folders: u64,
}

/// What to list and how to treat what is listed.
struct ListPlan {
    client: aws_sdk_s3::Client,
    bucket: String,
    prefix: String,
    max_object_bytes: u64,
    include_digests: bool,
}

/// The worker: a lister task that starts downloads as permits free up, and this
/// deliverer, which forwards results in listing order.
async fn run(plan: ListPlan, concurrency: usize, deliveries: mpsc::Sender<Delivery>) -> Result<ListStats, S3InputError> {
    let bucket = plan.bucket.clone();
    let permits = Arc::new(Semaphore::new(concurrency));
    let (queue, mut queued) = mpsc::unbounded_channel::<Pending>();
    let lister = tokio::spawn(list_and_start(plan, Arc::clone(&permits), queue));
    let mut consumer_gone = false;
    while let Some(pending) = queued.recv().await {
        let delivery = match pending {
            Pending::Download { handle, .. } if consumer_gone => {
                handle.abort();
                let _ = handle.await;
                continue;
            }
            Pending::Ready(_) if consumer_gone => continue,
            Pending::Ready(error) => Delivery::Failed(error),
            Pending::Download { key, handle } => match handle.await {
                Ok(Ok((object, permit))) => Delivery::Object { object, permit },
                Ok(Err(error)) => Delivery::Failed(error),
                Err(join_error) => Delivery::Failed(S3ObjectError {
                    call: GET_CALL.to_string(),
                    bucket: bucket.clone(),
                    key,
                    code: String::new(),
                    message: format!("the download task failed: {join_error}"),
                    http_status: None,
                }),
            },
        };
        if deliveries.send(delivery).await.is_err() {
            // The sink asked to stop: start nothing more, cancel what is in flight.
            consumer_gone = true;
            permits.close();
        }
    }
    match lister.await {
        Ok(result) => result,
        Err(join_error) => Err(S3InputError::Worker(format!("the listing task failed: {join_error}"))),
    }
}

/// Lists every page and starts one download per object, waiting for a permit each time.
async fn list_and_start(plan: ListPlan, permits: Arc<Semaphore>, queue: mpsc::UnboundedSender<Pending>) -> Result<ListStats, S3InputError> {
    let mut plan = plan;
    let mut stats = ListStats { region: client_region(&plan.client), ..ListStats::default() };
    let mut pages = plan.client.list_objects_v2().bucket(&plan.bucket).prefix(&plan.prefix).into_paginator().send();
    let mut first_page = true;
    while let Some(page) = pages.next().await {
        let page = match page {
            Ok(page) => page,
            Err(err) => match redirect_region(&err, &stats.region) {
                // The bucket lives in another region than the session's: follow S3 there
                // once, for the listing and every download.
                Some(region) if first_page => {
                    let conf = plan.client.config().to_builder().region(aws_types::region::Region::new(region.clone())).build();
                    plan.client = aws_sdk_s3::Client::from_conf(conf);
                    stats.region = region;
                    first_page = false;
                    pages = plan.client.list_objects_v2().bucket(&plan.bucket).prefix(&plan.prefix).into_paginator().send();
                    continue;
                }
                _ => return Err(list_error(&plan, err)),
            },
        };
        first_page = false;
        if permits.is_closed() {
            // The sink asked to stop.
            return Ok(stats);
        }
        for listed in page.contents() {
            let Some(key) = listed.key() else { continue };
            stats.listed += 1;
            if key.ends_with('/') {
                stats.folders += 1;
                continue;
            }
            if !plan.include_digests && is_digest_key(key) {
                stats.digests += 1;
                continue;
            }
            let listed_size = u64::try_from(listed.size().unwrap_or(0)).unwrap_or(0);
            if listed_size > plan.max_object_bytes {
                let error = too_large(&plan.bucket, key, listed_size, plan.max_object_bytes);
                if queue.send(Pending::Ready(error)).is_err() {
                    return Ok(stats);
                }
                continue;
            }
            let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
                // Closed: the sink asked to stop.
                return Ok(stats);
            };
            let handle = tokio::spawn(download(plan.client.clone(), plan.bucket.clone(), key.to_string(), plan.max_object_bytes, permit));
            if let Err(mpsc::error::SendError(Pending::Download { handle, .. })) = queue.send(Pending::Download { key: key.to_string(), handle }) {
                handle.abort();
                return Ok(stats);
            }
        }
    }
    Ok(stats)
}

fn client_region(client: &aws_sdk_s3::Client) -> String {
    client.config().region().map(|r| r.to_string()).unwrap_or_default()
}

/// The region S3 names when it refuses a request sent to the wrong region (301
/// `PermanentRedirect`, or 400 `AuthorizationHeaderMalformed` from the global endpoint), from
/// the `x-amz-bucket-region` header or the error's `<Region>`; `None` if it is the current one.
fn redirect_region<E>(err: &SdkError<E, aws_smithy_runtime_api::http::Response>, current: &str) -> Option<String> {
    let raw = err.raw_response()?;
    if !matches!(raw.status().as_u16(), 301 | 307 | 400) {
        return None;
    }
    let from_body = || {
        let body = String::from_utf8_lossy(raw.body().bytes()?).into_owned();
        let start = body.find("<Region>")? + "<Region>".len();
        let end = body[start..].find("</Region>")? + start;
        Some(body[start..end].to_string())
    };
    let region = raw.headers().get("x-amz-bucket-region").map(str::to_string).or_else(from_body)?;
    let plausible = !region.is_empty() && region.len() <= 32 && region.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    (plausible && region != current).then_some(region)
}

fn list_error<E>(plan: &ListPlan, err: SdkError<E, aws_smithy_runtime_api::http::Response>) -> S3InputError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let (code, message, forbidden) = code_and_message(&err);
    let code = code.unwrap_or_default();
    let denied = is_denied_code(&code) || forbidden;
    let message = message.unwrap_or_else(|| DisplayErrorContext(&err).to_string());
    S3InputError::List { call: LIST_CALL.to_string(), bucket: plan.bucket.clone(), prefix: plan.prefix.clone(), code, message, denied }
}

fn too_large(bucket: &str, key: &str, size: u64, limit: u64) -> S3ObjectError {
    S3ObjectError {
        call: GET_CALL.to_string(),
        bucket: bucket.to_string(),
        key: key.to_string(),
        code: TOO_LARGE_CODE.to_string(),
        message: format!("the object has {size} bytes, more than the limit of {limit}; not downloaded"),
        http_status: None,
    }
}

/// Why one attempt at reading an object failed.
enum FetchFailure {
    /// Worth another attempt (the body broke off while streaming).
    Transient(S3ObjectError),
    /// Final.
    Final(S3ObjectError),
}

/// Downloads one object; the permit travels with it to the sink.
async fn download(
    client: aws_sdk_s3::Client,
    bucket: String,
    key: String,
    max_object_bytes: u64,
    permit: OwnedSemaphorePermit,
) -> Result<(S3Object, OwnedSemaphorePermit), S3ObjectError> {
    let mut attempt = 1;
    loop {
        match fetch(&client, &bucket, &key, max_object_bytes).await {
            Ok(bytes) => {
                let size = bytes.len() as u64;
                return Ok((S3Object { bucket, key, size, bytes }, permit));
            }
            Err(FetchFailure::Transient(_)) if attempt < BODY_ATTEMPTS => attempt += 1,
            Err(FetchFailure::Transient(error) | FetchFailure::Final(error)) => return Err(error),
        }
    }
}

async fn fetch(client: &aws_sdk_s3::Client, bucket: &str, key: &str, max_object_bytes: u64) -> Result<Vec<u8>, FetchFailure> {
    let object_error = |code: String, message: String, http_status: Option<u16>| S3ObjectError {
        call: GET_CALL.to_string(),
        bucket: bucket.to_string(),
        key: key.to_string(),
        code,
        message,
        http_status,
    };
    let mut output = match client.get_object().bucket(bucket).key(key).send().await {
        Ok(output) => output,
        Err(err) => {
            let (code, message, _) = code_and_message(&err);
            let status = err.raw_response().map(|raw| raw.status().as_u16());
            let message = message.unwrap_or_else(|| DisplayErrorContext(&err).to_string());
            return Err(FetchFailure::Final(object_error(code.unwrap_or_default(), message, status)));
        }
    };
    let announced = output.content_length().and_then(|n| u64::try_from(n).ok()).unwrap_or(0);
    if announced > max_object_bytes {
        return Err(FetchFailure::Final(too_large(bucket, key, announced, max_object_bytes)));
    }
    let capacity = usize::try_from(announced).unwrap_or(0);
    let mut bytes = Vec::with_capacity(capacity);
    while let Some(chunk) = output.body.next().await {
        match chunk {
            Ok(chunk) => {
                bytes.extend_from_slice(&chunk);
                if bytes.len() as u64 > max_object_bytes {
                    return Err(FetchFailure::Final(too_large(bucket, key, bytes.len() as u64, max_object_bytes)));
                }
            }
            Err(err) => {
                let message = format!("the download broke off after {} bytes: {}", bytes.len(), DisplayErrorContext(&err));
                return Err(FetchFailure::Transient(object_error(String::new(), message, Some(200))));
            }
        }
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        let url = S3Url::parse("s3://my-trail-bucket/AWSLogs/111122223333/").unwrap();
        assert_eq!(url.bucket, "my-trail-bucket");
        assert_eq!(url.prefix, "AWSLogs/111122223333/");
        assert_eq!(url.to_string(), "s3://my-trail-bucket/AWSLogs/111122223333/");
        assert_eq!(S3Url::parse("s3://bucket.with.dots").unwrap().prefix, "");
        assert_eq!(S3Url::parse("S3://logs-bucket/").unwrap().bucket, "logs-bucket");
        assert_eq!("s3://abc/x/y".parse::<S3Url>().unwrap().prefix, "x/y");
    }

    #[test]
    fn bad_urls_are_named() {
        for (text, reason) in [
            ("bucket/prefix", "must start with s3://"),
            ("/tmp/trail", "must start with s3://"),
            ("s3://", "bucket name is missing"),
            ("s3:///prefix", "bucket name is missing"),
            ("s3://ab", "3 to 63"),
            ("s3://my bucket/x", "contains ' '"),
            ("s3://bucket?versionId=1", "contains '?'"),
        ] {
            let err = S3Url::parse(text).unwrap_err();
            let shown = err.to_string();
            assert!(shown.contains(&format!("`{text}`")) && shown.contains(reason), "{text}: {shown}");
        }
        let long = format!("s3://bucket/{}", "k".repeat(1025));
        assert!(S3Url::parse(&long).is_err());
    }

    #[test]
    fn recognises_s3_urls_and_digests() {
        assert!(S3Url::is_s3_url("s3://b"));
        assert!(!S3Url::is_s3_url("s3:/b"));
        assert!(!S3Url::is_s3_url("./s3://b"));
        assert!(!S3Url::is_s3_url("s3"));
        assert!(is_digest_key("AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/10/01/x.json.gz"));
        assert!(!is_digest_key("AWSLogs/111122223333/CloudTrail/us-east-1/2026/10/01/x_CloudTrail-Digest.json.gz"));
        assert!(!is_digest_key("AWSLogs/111122223333/CloudTrail/us-east-1/2026/10/01/x.json.gz"));
    }

    #[test]
    fn errors_name_call_bucket_and_key() {
        let error = too_large("trail-bucket", "AWSLogs/1/a.json.gz", 10, 5);
        let shown = error.to_string();
        assert!(shown.contains("s3:GetObject") && shown.contains("s3://trail-bucket/AWSLogs/1/a.json.gz") && shown.contains(TOO_LARGE_CODE), "{shown}");
        assert!(!error.is_access_denied());
        let denied = S3ObjectError { code: "AccessDenied".into(), http_status: Some(403), ..error };
        assert!(denied.is_access_denied());
        let list = S3InputError::List {
            call: LIST_CALL.into(),
            bucket: "trail-bucket".into(),
            prefix: "AWSLogs/".into(),
            code: "AccessDenied".into(),
            message: "Access Denied".into(),
            denied: true,
        };
        let shown = list.to_string();
        assert!(shown.contains("s3:ListObjectsV2") && shown.contains("trail-bucket") && shown.contains("grant s3:ListBucket"), "{shown}");
    }
}
