//! Amazon Security Lake OCSF Parquet (API Activity, CloudTrail source) is mapped back
//! to CloudTrail records, stored, and run through detection.

mod common;

use std::sync::Arc;

use arrow::array::{Array, AsArray, RecordBatch, StructArray};
use arrow::datatypes::{DataType, Field, Fields, Schema, TimeUnit};
use common::*;
use firebreak_events::ReadErrorKind;
use firebreak_store::schema::col;
use firebreak_store::{ingest, parts, IngestInput, IngestOptions};

fn utf8(name: &str) -> Field {
    Field::new(name, DataType::Utf8, true)
}

fn strukt(name: &str, fields: Vec<Field>) -> Field {
    Field::new(name, DataType::Struct(Fields::from(fields)), true)
}

/// The OCSF 1.1 API Activity columns Security Lake writes for CloudTrail (the subset
/// the mapping reads, with Security Lake's names and nesting).
fn ocsf_schema() -> Arc<Schema> {
    let ts = DataType::Timestamp(TimeUnit::Millisecond, Some("+00:00".into()));
    let account = || strukt("account", vec![utf8("uid")]);
    Arc::new(Schema::new(vec![
        strukt(
            "metadata",
            vec![
                utf8("uid"),
                utf8("event_code"),
                utf8("version"),
                strukt(
                    "product",
                    vec![
                        utf8("name"),
                        utf8("vendor_name"),
                        utf8("version"),
                        strukt("feature", vec![utf8("name")]),
                    ],
                ),
            ],
        ),
        Field::new("time", DataType::Int64, true),
        Field::new("time_dt", ts.clone(), true),
        Field::new("class_uid", DataType::Int32, true),
        strukt("cloud", vec![utf8("region"), utf8("provider"), account()]),
        strukt(
            "api",
            vec![
                utf8("operation"),
                utf8("version"),
                strukt("service", vec![utf8("name")]),
                strukt("request", vec![utf8("uid"), utf8("data")]),
                strukt(
                    "response",
                    vec![utf8("error"), utf8("message"), utf8("data")],
                ),
            ],
        ),
        strukt(
            "actor",
            vec![
                strukt(
                    "user",
                    vec![
                        utf8("type"),
                        utf8("uid"),
                        utf8("uid_alt"),
                        utf8("name"),
                        utf8("credential_uid"),
                        account(),
                    ],
                ),
                strukt(
                    "session",
                    vec![
                        utf8("issuer"),
                        Field::new("is_mfa", DataType::Boolean, true),
                        Field::new("created_time_dt", ts, true),
                    ],
                ),
                utf8("invoked_by"),
            ],
        ),
        strukt(
            "src_endpoint",
            vec![utf8("ip"), utf8("domain"), utf8("uid")],
        ),
        strukt("http_request", vec![utf8("user_agent")]),
        Field::new(
            "resources",
            DataType::List(Arc::new(Field::new(
                "element",
                DataType::Struct(Fields::from(vec![
                    utf8("uid"),
                    utf8("type"),
                    strukt("owner", vec![account()]),
                ])),
                true,
            ))),
            true,
        ),
        Field::new_map(
            "unmapped",
            "key_value",
            Field::new("key", DataType::Utf8, false),
            Field::new("value", DataType::Utf8, true),
            false,
            true,
        ),
    ]))
}

/// Rows in OCSF JSON (read into Arrow with the schema above).
const ROWS: &str = r#"
{"metadata":{"uid":"sl-1","event_code":"AwsApiCall","version":"1.1.0","product":{"name":"CloudTrail","vendor_name":"AWS","version":"1.09","feature":{"name":"Management"}}},"time":1790819830000,"time_dt":"2026-10-01T01:57:10Z","class_uid":6003,"cloud":{"region":"eu-west-1","provider":"AWS","account":{"uid":"111122223333"}},"api":{"operation":"PutBucketPolicy","version":null,"service":{"name":"s3.amazonaws.com"},"request":{"uid":"REQ1","data":"{\"bucketName\":\"loot\",\"policy\":{\"Statement\":[]}}"},"response":{"error":null,"message":null,"data":null}},"actor":{"user":{"type":"AssumedRole","uid":"arn:aws:sts::111122223333:assumed-role/Admin/alice","uid_alt":"AROAEXAMPLE:alice","name":null,"credential_uid":"ASIAEXAMPLE","account":{"uid":"111122223333"}},"session":{"issuer":"arn:aws:iam::111122223333:role/Admin","is_mfa":true,"created_time_dt":"2026-10-01T01:00:00Z"},"invoked_by":null},"src_endpoint":{"ip":"203.0.113.9","domain":null,"uid":"vpce-123"},"http_request":{"user_agent":"aws-cli/2.15"},"resources":[{"uid":"arn:aws:s3:::loot","type":"AWS::S3::Bucket","owner":{"account":{"uid":"111122223333"}}}],"unmapped":{"readOnly":"false","managementEvent":"true","tlsDetails.tlsVersion":"TLSv1.3","tlsDetails.cipherSuite":"TLS_AES_128_GCM_SHA256","sharedEventID":"shared-1","eventType":"ignored because metadata.event_code wins"}}
{"metadata":{"uid":"sl-2","event_code":"AwsApiCall","version":"1.1.0","product":{"name":"CloudTrail","vendor_name":"AWS","version":"1.09","feature":{"name":"Management"}}},"time":1790819900000,"class_uid":6003,"cloud":{"region":"us-east-1","account":{"uid":"111122223333"}},"api":{"operation":"CreateUser","service":{"name":"iam.amazonaws.com"},"request":{"uid":"REQ2","data":"{\"userName\":\"backdoor\"}"},"response":{"data":"{\"user\":{\"userName\":\"backdoor\"}}"}},"actor":{"user":{"type":"Root","uid":"arn:aws:iam::111122223333:root","uid_alt":"111122223333","credential_uid":"ASIAROOT","account":{"uid":"111122223333"}}},"src_endpoint":{"ip":"198.51.100.66"},"http_request":{"user_agent":"Mozilla/5.0"},"unmapped":{"readOnly":"false"}}
{"metadata":{"uid":"sl-3","event_code":"AwsApiCall","product":{"name":"CloudTrail"}},"time":1790819960000,"class_uid":6003,"cloud":{"region":"us-east-1","account":{"uid":"111122223333"}},"api":{"operation":"ListBuckets","service":{"name":"s3.amazonaws.com"},"response":{"error":"AccessDenied","message":"Access Denied"}},"actor":{"user":{"type":"IAMUser","uid":"AIDAUSER","name":"bob","account":{"uid":"111122223333"}}},"src_endpoint":{"domain":"cloudformation.amazonaws.com"},"unmapped":{"readOnly":"true"}}
{"metadata":{"uid":"flow-1","product":{"name":"Amazon VPC"}},"time":1790819960000,"class_uid":4001}
"#;

fn fixture() -> Vec<u8> {
    let schema = ocsf_schema();
    let mut reader = arrow_json::ReaderBuilder::new(schema.clone())
        .build(ROWS.trim().as_bytes())
        .expect("json reader");
    let batch = reader.next().expect("a batch").expect("rows decode");
    assert_eq!(batch.num_rows(), 4);
    let mut out = Vec::new();
    let mut writer = parquet::arrow::ArrowWriter::try_new(&mut out, schema, None).expect("writer");
    writer.write(&batch).expect("write");
    writer.close().expect("close");
    out
}

fn text<'a>(batch: &'a RecordBatch, name: &str, row: usize) -> Option<&'a str> {
    let a = batch
        .column_by_name(name)
        .expect("column")
        .as_string::<i32>();
    a.is_valid(row).then(|| a.value(row))
}

fn field<'a>(s: &'a StructArray, name: &str, row: usize) -> Option<&'a str> {
    let a = s.column_by_name(name).expect("field").as_string::<i32>();
    a.is_valid(row).then(|| a.value(row))
}

#[test]
fn security_lake_parquet_is_mapped_stored_and_matched() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let bytes = fixture();
    assert!(bytes.starts_with(b"PAR1"));
    let input = tmp.path().join("lake");
    std::fs::create_dir_all(&input).expect("mkdir");
    std::fs::write(input.join("region=eu-west-1_part.gz.parquet"), &bytes).expect("write");

    let store = new_case(tmp.path(), "securitylake");
    let rules = builtin_rules();
    let opts = IngestOptions {
        threads: 2,
        ..IngestOptions::new(&rules)
    };
    let report = ingest(
        &store,
        vec![
            IngestInput::Path(input),
            IngestInput::Object {
                name: "s3://lake/object.parquet".into(),
                bytes,
            },
        ],
        &opts,
    )
    .expect("ingest");
    assert_eq!(
        report.events_stored, 3,
        "three CloudTrail rows, stored once although given twice"
    );
    assert_eq!(report.duplicates_skipped, 3);
    assert_eq!(
        report.damaged_inputs, 0,
        "skipping another product's rows is informational"
    );
    assert!(
        report
            .errors
            .iter()
            .all(|e| e.kind == ReadErrorKind::NotCloudTrail),
        "{:?}",
        report.errors
    );
    assert!(report
        .inputs
        .iter()
        .all(|i| i.shape.as_deref() == Some("Security Lake OCSF Parquet")));

    let batches: Vec<RecordBatch> = store
        .event_files()
        .expect("parts")
        .iter()
        .flat_map(|p| parts::read_all(p).expect("read"))
        .collect();
    let batch = arrow::compute::concat_batches(&firebreak_store::cloudtrail_schema(), &batches)
        .expect("concat");
    let row = |id: &str| {
        (0..batch.num_rows())
            .find(|&r| text(&batch, col::EVENT_ID, r) == Some(id))
            .expect("row")
    };
    let identity = batch
        .column_by_name(col::USER_IDENTITY)
        .expect("identity")
        .as_struct();

    let r = row("sl-1");
    assert_eq!(
        text(&batch, col::EVENT_TIME, r),
        Some("2026-10-01T01:57:10Z")
    );
    assert_eq!(text(&batch, col::EVENT_NAME, r), Some("PutBucketPolicy"));
    assert_eq!(text(&batch, col::EVENT_SOURCE, r), Some("s3.amazonaws.com"));
    assert_eq!(text(&batch, col::AWS_REGION, r), Some("eu-west-1"));
    assert_eq!(
        text(&batch, col::RECIPIENT_ACCOUNT_ID, r),
        Some("111122223333")
    );
    assert_eq!(text(&batch, col::REQUEST_ID, r), Some("REQ1"));
    assert_eq!(text(&batch, col::SOURCE_IP_ADDRESS, r), Some("203.0.113.9"));
    assert_eq!(text(&batch, col::VPC_ENDPOINT_ID, r), Some("vpce-123"));
    assert_eq!(text(&batch, col::USER_AGENT, r), Some("aws-cli/2.15"));
    assert_eq!(text(&batch, col::EVENT_TYPE, r), Some("AwsApiCall"));
    assert_eq!(text(&batch, col::EVENT_VERSION, r), Some("1.09"));
    assert_eq!(text(&batch, col::EVENT_CATEGORY, r), Some("Management"));
    assert_eq!(text(&batch, col::READ_ONLY, r), Some("false"));
    assert_eq!(text(&batch, col::SHARED_EVENT_ID, r), Some("shared-1"));
    assert_eq!(
        text(&batch, col::REQUEST_PARAMETERS, r),
        Some(r#"{"bucketName":"loot","policy":{"Statement":[]}}"#)
    );
    assert_eq!(text(&batch, col::RESPONSE_ELEMENTS, r), None);
    assert!(text(&batch, col::SOURCE, r).is_some_and(|s| s.starts_with("securitylake:")));
    assert_eq!(field(identity, "type", r), Some("AssumedRole"));
    assert_eq!(
        field(identity, "arn", r),
        Some("arn:aws:sts::111122223333:assumed-role/Admin/alice")
    );
    assert_eq!(field(identity, "principalid", r), Some("AROAEXAMPLE:alice"));
    assert_eq!(field(identity, "accesskeyid", r), Some("ASIAEXAMPLE"));
    assert_eq!(field(identity, "accountid", r), Some("111122223333"));
    let context = identity
        .column_by_name("sessioncontext")
        .expect("context")
        .as_struct();
    let issuer = context
        .column_by_name("sessionissuer")
        .expect("issuer")
        .as_struct();
    assert_eq!(
        field(issuer, "arn", r),
        Some("arn:aws:iam::111122223333:role/Admin")
    );
    let attributes = context
        .column_by_name("attributes")
        .expect("attributes")
        .as_struct();
    assert_eq!(field(attributes, "mfaauthenticated", r), Some("true"));
    assert_eq!(
        field(attributes, "creationdate", r),
        Some("2026-10-01T01:00:00Z")
    );
    let resources = batch
        .column_by_name(col::RESOURCES)
        .expect("resources")
        .as_list::<i32>();
    let items = resources.value(r);
    let items = items.as_struct();
    assert_eq!(items.len(), 1);
    assert_eq!(field(items, "arn", 0), Some("arn:aws:s3:::loot"));
    assert_eq!(field(items, "accountid", 0), Some("111122223333"));
    assert_eq!(field(items, "type", 0), Some("AWS::S3::Bucket"));
    let tls = batch
        .column_by_name(col::TLS_DETAILS)
        .expect("tls")
        .as_struct();
    assert_eq!(field(tls, "tlsversion", r), Some("TLSv1.3"));

    let r = row("sl-2");
    assert_eq!(field(identity, "type", r), Some("Root"));
    assert_eq!(field(identity, "principalid", r), Some("111122223333"));
    assert_eq!(
        text(&batch, col::RESPONSE_ELEMENTS, r),
        Some(r#"{"user":{"userName":"backdoor"}}"#)
    );

    let r = row("sl-3");
    assert_eq!(text(&batch, col::ERROR_CODE, r), Some("AccessDenied"));
    assert_eq!(text(&batch, col::ERROR_MESSAGE, r), Some("Access Denied"));
    assert_eq!(
        text(&batch, col::SOURCE_IP_ADDRESS, r),
        Some("cloudformation.amazonaws.com")
    );
    assert_eq!(text(&batch, col::READ_ONLY, r), Some("true"));
    assert_eq!(
        field(identity, "principalid", r),
        Some("AIDAUSER"),
        "a uid that is not an ARN is the principal id"
    );
    assert_eq!(field(identity, "arn", r), None);
    assert_eq!(field(identity, "username", r), Some("bob"));

    // Detection ran on the mapped records: root creating a user is found.
    let findings = stored_findings(&store);
    assert!(
        findings
            .iter()
            .any(|(title, id, _)| id.as_deref() == Some("sl-2")
                && title.to_lowercase().contains("root")),
        "{findings:?}"
    );
}
