//! End-to-end against moto: reading CloudTrail objects from an S3 prefix
//! (`firebreak_aws::read_prefix`): every object once with its bytes, in listing order,
//! across listing pages; digests and folder placeholders skipped; the bytes usable by the
//! event readers; missing buckets, denied calls and `--role-arn`.

mod common;

use std::collections::BTreeMap;
use std::io::Cursor;
use std::ops::ControlFlow;
use std::path::Path;

use common::{moto, session_in, session_with_key, Moto};
use firebreak_aws::sdk::{iam, s3};
use firebreak_aws::session::role_session_name;
use firebreak_aws::{read_prefix, ConnectOptions, S3InputError, S3Object, S3ReadOptions, S3ReadReport, S3Url, Session};
use firebreak_simulate::{generate, OutputFormat, ScenarioSelection, SimConfig};

/// Uploads `objects` (key, bytes) into a new bucket, 32 at a time.
fn create_bucket_with(session: &Session, bucket: &str, objects: &[(String, Vec<u8>)]) {
    let s3 = session.s3();
    session.block_on(async {
        s3.create_bucket().bucket(bucket).send().await.expect("create bucket");
        for chunk in objects.chunks(32) {
            let puts: Vec<_> = chunk
                .iter()
                .map(|(key, bytes)| {
                    let put = s3.put_object().bucket(bucket).key(key).body(s3::primitives::ByteStream::from(bytes.clone()));
                    tokio::spawn(put.send())
                })
                .collect();
            for put in puts {
                put.await.expect("upload task").expect("put object");
            }
        }
    });
}

/// Every file under `dir` as (path relative to `dir` with `/` separators, bytes).
fn files_under(dir: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for entry in std::fs::read_dir(dir).expect("read dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let relative = path.strip_prefix(root).expect("under root");
                let key = relative.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect::<Vec<_>>().join("/");
                out.push((key, std::fs::read(&path).expect("read file")));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Reads `url` and returns the delivered objects in delivery order, and the report.
fn read_all(session: &Session, url: &S3Url, opts: &S3ReadOptions) -> (Vec<S3Object>, S3ReadReport) {
    let mut delivered = Vec::new();
    let report = read_prefix(session, url, opts, &mut |object| {
        delivered.push(object);
        ControlFlow::Continue(())
    })
    .expect("read prefix");
    (delivered, report)
}

/// A simulated CloudTrail S3-delivery tree: (objects, records written).
fn simulated_tree() -> (Vec<(String, Vec<u8>)>, u64) {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = generate(&SimConfig {
        out_dir: dir.path().to_path_buf(),
        events: 3_000,
        seed: 11,
        format: OutputFormat::S3Delivery,
        scenarios: ScenarioSelection::List(Vec::new()),
        days: 1,
        accounts: 3,
        ..SimConfig::default()
    })
    .expect("simulate");
    let files = files_under(dir.path());
    assert_eq!(files.len() as u64, sim.files);
    assert!(files.iter().all(|(key, _)| key.starts_with("AWSLogs/") && key.contains("/CloudTrail/") && key.ends_with(".json.gz")), "S3 layout");
    (files, sim.events)
}

#[test]
fn reads_every_object_of_a_cloudtrail_tree_once_in_listing_order() {
    let moto = moto_or_skip!();
    let session = common::fresh_session(moto);
    let account = session.identity().account.clone();
    let bucket = format!("fb-trail-{account}");
    let (trail, events) = simulated_tree();
    assert!(trail.len() > 1_000, "the tree must span several listing pages (moto pages at 1,000): {} objects", trail.len());

    let digest_key = format!("AWSLogs/{account}/CloudTrail-Digest/us-east-1/2026/10/01/{account}_CloudTrail-Digest_us-east-1_trail_us-east-1_20261001T010000Z.json.gz");
    let folder_key = format!("AWSLogs/{account}/CloudTrail/");
    let outside_key = "AWSLogs-old/not-under-the-prefix.json.gz".to_string();
    let mut objects = trail.clone();
    objects.push((digest_key.clone(), b"{\"digestStartTime\":\"2026-10-01T00:00:00Z\"}".to_vec()));
    objects.push((folder_key.clone(), Vec::new()));
    objects.push((outside_key.clone(), b"not an event".to_vec()));
    create_bucket_with(&session, &bucket, &objects);

    let url = S3Url::parse(&format!("s3://{bucket}/AWSLogs/")).expect("url");
    let (delivered, report) = read_all(&session, &url, &S3ReadOptions::default());

    // Every trail object exactly once, with the same bytes, in listing (key) order.
    let expected: BTreeMap<&str, &[u8]> = trail.iter().map(|(k, b)| (k.as_str(), b.as_slice())).collect();
    let keys: Vec<&str> = delivered.iter().map(|o| o.key.as_str()).collect();
    assert_eq!(keys, expected.keys().copied().collect::<Vec<_>>(), "every object once, in listing order");
    for object in &delivered {
        assert_eq!(object.bucket, bucket);
        assert_eq!(object.bytes.as_slice(), expected[object.key.as_str()], "bytes of {}", object.key);
        assert_eq!(object.size, object.bytes.len() as u64);
        assert_eq!(object.name(), format!("s3://{bucket}/{}", object.key));
    }
    assert_eq!(report.bucket, bucket);
    assert_eq!(report.prefix, "AWSLogs/");
    assert_eq!(report.objects_listed, trail.len() as u64 + 2, "trail + digest + folder placeholder");
    assert_eq!(report.objects_read, trail.len() as u64);
    assert_eq!(report.bytes_read, trail.iter().map(|(_, b)| b.len() as u64).sum::<u64>());
    assert_eq!(report.digests_skipped, 1);
    assert_eq!(report.folders_skipped, 1);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert!(!report.stopped_early);

    // The bytes are usable by the event readers: every simulated record comes back.
    let mut records = 0u64;
    for object in &delivered {
        let file = firebreak_events::read_stream(&object.name(), Cursor::new(&object.bytes), &mut |_record| {
            records += 1;
            ControlFlow::Continue(())
        });
        assert!(file.errors.is_empty(), "{}: {:?}", object.name(), file.errors);
        assert_eq!(file.name, object.name());
    }
    assert_eq!(records, events);

    // One download at a time gives the same objects in the same order (one simulated
    // account's part, to keep the test quick).
    let first_account_prefix = trail[0].0.split('/').take(2).collect::<Vec<_>>().join("/") + "/";
    let part_url = S3Url::parse(&format!("s3://{bucket}/{first_account_prefix}")).unwrap();
    let in_part: Vec<&S3Object> = delivered.iter().filter(|o| o.key.starts_with(&first_account_prefix)).collect();
    assert!(!in_part.is_empty() && in_part.len() < delivered.len(), "two simulated accounts");
    let (serial, serial_report) = read_all(&session, &part_url, &S3ReadOptions { concurrency: 1, ..S3ReadOptions::default() });
    assert_eq!(serial.iter().collect::<Vec<_>>(), in_part);
    assert_eq!(serial_report.objects_read, in_part.len() as u64);
    assert!(serial_report.errors.is_empty());

    // Digests can be asked for (the digest and the placeholder are under the session's
    // own account, which is not a simulated one).
    let own_url = S3Url::parse(&format!("s3://{bucket}/AWSLogs/{account}/")).unwrap();
    let (without, without_report) = read_all(&session, &own_url, &S3ReadOptions::default());
    assert!(without.is_empty());
    assert_eq!((without_report.objects_listed, without_report.digests_skipped, without_report.folders_skipped), (2, 1, 1));
    let (with_digests, digest_report) = read_all(&session, &own_url, &S3ReadOptions { include_digests: true, ..S3ReadOptions::default() });
    assert_eq!(with_digests.iter().map(|o| o.key.as_str()).collect::<Vec<_>>(), [digest_key.as_str()]);
    assert_eq!((digest_report.digests_skipped, digest_report.folders_skipped), (0, 1));

    // The sink can stop the read.
    let mut seen = 0;
    let stopped = read_prefix(&session, &url, &S3ReadOptions { concurrency: 4, ..S3ReadOptions::default() }, &mut |object| {
        assert_eq!(object.key, trail[seen].0);
        seen += 1;
        if seen == 10 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })
    .expect("read until stopped");
    assert_eq!(seen, 10);
    assert_eq!(stopped.objects_read, 10);
    assert!(stopped.stopped_early);
    assert!(stopped.objects_listed < report.objects_listed);

    // Objects above the size limit are reported, not downloaded; the others are delivered.
    let mut sizes: Vec<u64> = in_part.iter().map(|o| o.size).collect();
    sizes.sort_unstable();
    let limit = sizes[sizes.len() / 2];
    let (small, limited) = read_all(&session, &part_url, &S3ReadOptions { max_object_bytes: limit, ..S3ReadOptions::default() });
    let expected_small: Vec<&str> = in_part.iter().filter(|o| o.size <= limit).map(|o| o.key.as_str()).collect();
    assert!(!expected_small.is_empty() && expected_small.len() < in_part.len());
    assert_eq!(small.iter().map(|o| o.key.as_str()).collect::<Vec<_>>(), expected_small);
    assert_eq!(limited.errors.len(), in_part.len() - expected_small.len());
    for error in &limited.errors {
        assert_eq!(error.code, firebreak_aws::s3_input::TOO_LARGE_CODE);
        assert_eq!(error.call, "s3:GetObject");
        assert!(expected[error.key.as_str()].len() as u64 > limit, "{error}");
        assert!(error.to_string().contains(&format!("s3://{bucket}/{}", error.key)), "{error}");
    }
}

#[test]
fn a_prefix_that_matches_nothing_gives_an_empty_report() {
    let moto = moto_or_skip!();
    let session = common::fresh_session(moto);
    let bucket = format!("fb-sparse-{}", session.identity().account);
    create_bucket_with(&session, &bucket, &[("AWSLogs/1/CloudTrail/a.json.gz".to_string(), b"x".to_vec())]);
    let (delivered, report) = read_all(&session, &S3Url::parse(&format!("s3://{bucket}/AWSLogs/2/")).unwrap(), &S3ReadOptions::default());
    assert!(delivered.is_empty());
    assert_eq!(report.objects_listed, 0);
    assert_eq!(report.objects_read, 0);
    assert!(report.errors.is_empty());
    // The same bucket does have the object, under its own prefix and in the whole bucket;
    // a prefix is a plain string prefix.
    for prefix in ["AWSLogs/1/", "", "AWSL"] {
        let (delivered, report) = read_all(&session, &S3Url::parse(&format!("s3://{bucket}/{prefix}")).unwrap(), &S3ReadOptions::default());
        assert_eq!(delivered.len(), 1, "{prefix}");
        assert_eq!(delivered[0].bytes, b"x");
        assert_eq!(report.objects_listed, 1);
    }
    let (delivered, _) = read_all(&session, &S3Url::parse(&format!("s3://{bucket}")).unwrap(), &S3ReadOptions::default());
    assert_eq!(delivered.len(), 1);
}

#[test]
fn keys_with_special_characters_are_read() {
    let moto = moto_or_skip!();
    let session = common::fresh_session(moto);
    let bucket = format!("fb-odd-keys-{}", session.identity().account);
    let objects: Vec<(String, Vec<u8>)> = ["logs/a b+c.json", "logs/100%.json", "logs/caf\u{e9}/\u{65e5}\u{672c}.json", "logs/q?x=1&y=#.json", "logs/tilde~(1).json"]
        .iter()
        .enumerate()
        .map(|(i, k)| (k.to_string(), format!("{{\"Records\":[{i}]}}").into_bytes()))
        .collect();
    create_bucket_with(&session, &bucket, &objects);
    let (delivered, report) = read_all(&session, &S3Url::parse(&format!("s3://{bucket}/logs/")).unwrap(), &S3ReadOptions::default());
    let mut expected = objects.clone();
    expected.sort();
    assert_eq!(delivered.iter().map(|o| (o.key.clone(), o.bytes.clone())).collect::<Vec<_>>(), expected);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
}

#[test]
fn a_missing_bucket_is_an_error_naming_the_bucket_and_the_call() {
    let moto = moto_or_skip!();
    let session = common::fresh_session(moto);
    let bucket = format!("fb-missing-{}", session.identity().account);
    let mut called = false;
    let err = read_prefix(&session, &S3Url::parse(&format!("s3://{bucket}/AWSLogs/")).unwrap(), &S3ReadOptions::default(), &mut |_| {
        called = true;
        ControlFlow::Continue(())
    })
    .expect_err("missing bucket");
    assert!(!called);
    match &err {
        S3InputError::List { call, bucket: named, code, denied, .. } => {
            assert_eq!(call, "s3:ListObjectsV2");
            assert_eq!(named, &bucket);
            assert_eq!(code, "NoSuchBucket");
            assert!(!denied);
        }
        other => panic!("expected a listing error, got {other:?}"),
    }
    let shown = err.to_string();
    assert!(shown.contains("s3:ListObjectsV2") && shown.contains(&bucket) && shown.contains("NoSuchBucket"), "{shown}");
}

#[test]
fn role_arn_reads_the_affected_accounts_bucket_through_assume_role() {
    let moto = moto_or_skip!();
    let affected = moto::unique_account();
    let owner = session_in(moto, &affected);
    let bucket = format!("fb-affected-{affected}");
    let objects: Vec<(String, Vec<u8>)> =
        (0..5).map(|i| (format!("AWSLogs/{affected}/CloudTrail/us-east-1/2026/10/01/{i}.json.gz"), vec![i as u8; 100 + i])).collect();
    create_bucket_with(&owner, &bucket, &objects);
    let url = S3Url::parse(&format!("s3://{bucket}/AWSLogs/")).unwrap();

    // --role-arn: AssumeRole into the affected account, with a session name naming the user.
    let options = ConnectOptions {
        region: Some("us-east-1".into()),
        endpoint_url: Some(moto.url.clone()),
        static_credentials: Some(("testing".into(), "testing".into())),
        role_arn: Some(moto::responder_role(&affected)),
        ..ConnectOptions::default()
    };
    let responder = Session::connect(&options).expect("assume role");
    assert_eq!(responder.identity().account, affected);
    let session_name = role_session_name();
    assert!(session_name.starts_with("firebreak-"));
    assert!(
        responder.identity().arn.ends_with(&format!(":assumed-role/firebreak-responder/{session_name}")),
        "{}",
        responder.identity().arn
    );
    let (delivered, report) = read_all(&responder, &url, &S3ReadOptions::default());
    assert_eq!(delivered.iter().map(|o| (o.key.clone(), o.bytes.clone())).collect::<Vec<_>>(), objects);
    assert!(report.errors.is_empty());
    // (moto does not isolate bucket names between accounts, so a caller without the role
    // would read the bucket too; the role's effect is shown by the identity above.)
}

#[test]
fn a_denied_get_object_is_reported_and_the_others_are_delivered() {
    // IAM enforcement is global to a moto process: a private server.
    let Some(moto) = Moto::private() else { return };
    let admin = session_with_key(&moto, "testing", "testing").expect("connect");
    let bucket = "fb-trail-denied";
    let locked = "fb-trail-locked";
    let objects: Vec<(String, Vec<u8>)> = (0..6).map(|i| (format!("AWSLogs/111122223333/CloudTrail/us-east-1/2026/10/01/{i}.json.gz"), vec![b'a' + i as u8; 50])).collect();
    let denied_by_iam = objects[2].0.clone();
    let denied_by_bucket_policy = objects[4].0.clone();
    create_bucket_with(&admin, bucket, &objects);
    create_bucket_with(&admin, locked, &objects[..1]);
    let reader_policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[
            {{"Effect":"Allow","Action":"*","Resource":"*"}},
            {{"Effect":"Deny","Action":"s3:GetObject","Resource":"arn:aws:s3:::{bucket}/{denied_by_iam}"}},
            {{"Effect":"Deny","Action":"s3:ListBucket","Resource":"arn:aws:s3:::{locked}"}}
        ]}}"#
    );
    let bucket_policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::{bucket}/{denied_by_bucket_policy}"}}]}}"#
    );
    let iam_admin = iam::Client::new(admin.sdk_config());
    let s3_admin = admin.s3();
    let (key, secret) = admin.block_on(async {
        iam_admin.create_user().user_name("reader").send().await.expect("create user");
        iam_admin.put_user_policy().user_name("reader").policy_name("reader").policy_document(reader_policy).send().await.expect("user policy");
        s3_admin.put_bucket_policy().bucket(bucket).policy(bucket_policy).send().await.expect("bucket policy");
        let key = iam_admin.create_access_key().user_name("reader").send().await.expect("access key");
        let key = key.access_key().expect("key").clone();
        (key.access_key_id().to_string(), key.secret_access_key().to_string())
    });
    moto.enforce_iam();

    let reader = session_with_key(&moto, &key, &secret).expect("the reader may call sts:GetCallerIdentity");
    assert!(reader.identity().arn.ends_with(":user/reader"));
    // (moto 5.2 with IAM enforcement miscomputes the signature of a ListObjectsV2 whose
    // prefix contains `/`, so this prefix has none.)
    let (delivered, report) = read_all(&reader, &S3Url::parse(&format!("s3://{bucket}/AWSLogs")).unwrap(), &S3ReadOptions::default());
    let expected: Vec<(String, Vec<u8>)> = objects.iter().filter(|(k, _)| *k != denied_by_iam && *k != denied_by_bucket_policy).cloned().collect();
    assert_eq!(delivered.iter().map(|o| (o.key.clone(), o.bytes.clone())).collect::<Vec<_>>(), expected, "the others are delivered");
    assert_eq!(report.objects_listed, 6);
    assert_eq!(report.objects_read, 4);
    let failed: Vec<&str> = report.errors.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(failed, [denied_by_iam.as_str(), denied_by_bucket_policy.as_str()], "in listing order");
    for error in &report.errors {
        assert_eq!(error.call, "s3:GetObject");
        assert_eq!(error.bucket, bucket);
        assert!(error.is_access_denied(), "{error:?}");
        assert_eq!(error.http_status, Some(403));
        let shown = error.to_string();
        assert!(shown.contains("s3:GetObject") && shown.contains(&format!("s3://{bucket}/{}", error.key)), "{shown}");
    }
    // The identity policy's denial carries the service's code and message.
    assert_eq!(report.errors[0].code, "AccessDenied");
    assert!(!report.errors[0].message.is_empty());

    // A denied listing is an error naming the call and the bucket.
    let err = read_prefix(&reader, &S3Url::parse(&format!("s3://{locked}/")).unwrap(), &S3ReadOptions::default(), &mut |_| ControlFlow::Continue(()))
        .expect_err("denied listing");
    assert!(matches!(&err, S3InputError::List { denied: true, .. }), "{err:?}");
    let shown = err.to_string();
    assert!(shown.contains("s3:ListObjectsV2") && shown.contains(locked) && shown.contains("grant s3:ListBucket"), "{shown}");
}

/// Sessions over recorded HTTP exchanges, for what moto cannot show (region redirects,
/// throttling): `StaticReplayClient` answers in order and records the requests.
mod replayed {
    use std::ops::ControlFlow;
    use std::time::Duration;

    use aws_smithy_http_client::test_util::{ReplayEvent, StaticReplayClient};
    use aws_smithy_types::body::SdkBody;
    use firebreak_aws::sdk::config::retry::RetryConfig;
    use firebreak_aws::sdk::config::{BehaviorVersion, Region, SdkConfig};
    use firebreak_aws::sdk::s3::config::{Credentials, SharedCredentialsProvider};
    use firebreak_aws::{read_prefix, CallerIdentity, S3ReadOptions, S3Url, Session};

    fn exchange(status: u16, headers: &[(&str, &str)], body: &str) -> ReplayEvent {
        // The request side is not compared; the recorded requests are checked instead.
        let request = http::Request::builder().uri("https://s3.amazonaws.com/").body(SdkBody::empty()).unwrap();
        let mut response = http::Response::builder().status(status).header("content-length", body.len().to_string());
        for (name, value) in headers {
            response = response.header(*name, *value);
        }
        ReplayEvent::new(request, response.body(SdkBody::from(body.to_string())).unwrap())
    }

    fn listing(keys: &[(&str, usize)]) -> ReplayEvent {
        let contents: String = keys.iter().map(|(key, size)| format!("<Contents><Key>{key}</Key><Size>{size}</Size></Contents>")).collect();
        let body = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>trail-bucket</Name><Prefix>AWSLogs/</Prefix><KeyCount>{}</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>{contents}</ListBucketResult>"#,
            keys.len()
        );
        exchange(200, &[("content-type", "application/xml")], &body)
    }

    fn session(events: Vec<ReplayEvent>) -> (Session, StaticReplayClient) {
        let client = StaticReplayClient::new(events);
        let config = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .retry_config(RetryConfig::standard().with_max_attempts(3).with_initial_backoff(Duration::from_millis(1)))
            .region(Region::new("us-east-1"))
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new("AKIDTEST", "secret", None, None, "test")))
            .http_client(client.clone())
            .build();
        let identity = CallerIdentity { account: "111122223333".into(), arn: "arn:aws:iam::111122223333:user/responder".into(), user_id: "AIDTEST".into() };
        (Session::from_config(config, identity).unwrap(), client)
    }

    fn hosts(client: &StaticReplayClient) -> Vec<String> {
        client.actual_requests().map(|r| r.uri().to_string()).collect()
    }

    #[test]
    fn a_bucket_in_another_region_is_followed_there() {
        let redirect = r#"<?xml version="1.0" encoding="UTF-8"?><Error><Code>PermanentRedirect</Code><Message>The bucket you are attempting to access must be addressed using the specified endpoint.</Message><Endpoint>trail-bucket.s3.eu-west-1.amazonaws.com</Endpoint><Bucket>trail-bucket</Bucket></Error>"#;
        let (session, client) = session(vec![
            exchange(301, &[("x-amz-bucket-region", "eu-west-1"), ("content-type", "application/xml")], redirect),
            listing(&[("AWSLogs/a.json.gz", 5)]),
            exchange(200, &[], "hello"),
        ]);
        let url = S3Url::parse("s3://trail-bucket/AWSLogs/").unwrap();
        let mut delivered = Vec::new();
        let report = read_prefix(&session, &url, &S3ReadOptions::default(), &mut |o| {
            delivered.push((o.key, o.bytes));
            ControlFlow::Continue(())
        })
        .expect("read after the redirect");
        assert_eq!(delivered, [("AWSLogs/a.json.gz".to_string(), b"hello".to_vec())]);
        assert_eq!(report.region, "eu-west-1");
        let hosts = hosts(&client);
        assert_eq!(hosts.len(), 3, "{hosts:?}");
        assert!(!hosts[0].contains("eu-west-1"), "{hosts:?}");
        assert!(hosts[1].contains("eu-west-1") && hosts[1].contains("list-type=2"), "{hosts:?}");
        assert!(hosts[2].contains("eu-west-1") && hosts[2].contains("AWSLogs/a.json.gz"), "{hosts:?}");
    }

    #[test]
    fn a_get_object_throttled_after_the_retries_is_reported_and_the_others_delivered() {
        let slow_down = r#"<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"#;
        let (session, client) = session(vec![
            listing(&[("AWSLogs/a.json.gz", 5), ("AWSLogs/b.json.gz", 3)]),
            exchange(503, &[("content-type", "application/xml")], slow_down),
            exchange(503, &[("content-type", "application/xml")], slow_down),
            exchange(503, &[("content-type", "application/xml")], slow_down),
            exchange(200, &[], "bee"),
        ]);
        let url = S3Url::parse("s3://trail-bucket/AWSLogs/").unwrap();
        let mut delivered = Vec::new();
        // One at a time, so the recorded answers meet the requests in a known order.
        let report = read_prefix(&session, &url, &S3ReadOptions { concurrency: 1, ..S3ReadOptions::default() }, &mut |o| {
            delivered.push((o.key, o.bytes));
            ControlFlow::Continue(())
        })
        .expect("read");
        assert_eq!(delivered, [("AWSLogs/b.json.gz".to_string(), b"bee".to_vec())]);
        assert_eq!(report.region, "us-east-1");
        assert_eq!(report.errors.len(), 1);
        let error = &report.errors[0];
        assert_eq!((error.key.as_str(), error.code.as_str(), error.http_status), ("AWSLogs/a.json.gz", "SlowDown", Some(503)));
        assert!(error.to_string().contains("s3:GetObject s3://trail-bucket/AWSLogs/a.json.gz failed: SlowDown: Please reduce your request rate."), "{error}");
        let hosts = hosts(&client);
        assert_eq!(hosts.len(), 5, "one listing, three attempts at a, one at b: {hosts:?}");
        assert_eq!(hosts.iter().filter(|h| h.contains("a.json.gz")).count(), 3);
    }

    #[test]
    fn at_most_concurrency_objects_are_in_flight() {
        let keys: Vec<String> = (0..12).map(|i| format!("AWSLogs/{i:02}.json.gz")).collect();
        let mut events = vec![listing(&keys.iter().map(|k| (k.as_str(), 5)).collect::<Vec<_>>())];
        events.extend(keys.iter().map(|_| exchange(200, &[], "12345")));
        let (session, client) = session(events);
        let concurrency = 3;
        let mut delivered = 0usize;
        let report = read_prefix(&session, &S3Url::parse("s3://trail-bucket/AWSLogs/").unwrap(), &S3ReadOptions { concurrency, ..S3ReadOptions::default() }, &mut |o| {
            // A slow sink: the downloads must wait for it instead of running ahead.
            std::thread::sleep(Duration::from_millis(30));
            let downloads_started = client.actual_requests().count() - 1;
            assert!(downloads_started <= delivered + concurrency, "{downloads_started} downloads started while handing over object {delivered} ({})", o.key);
            delivered += 1;
            ControlFlow::Continue(())
        })
        .expect("read");
        assert_eq!(delivered, keys.len());
        assert_eq!(report.objects_read, keys.len() as u64);
        assert_eq!(hosts(&client).len(), keys.len() + 1);
    }
}
