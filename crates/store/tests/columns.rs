//! The stored columns, read back with the Arrow reader, equal the record's fields.

use arrow::array::{Array, AsArray, RecordBatch, StructArray};
use arrow::datatypes::TimestampMillisecondType;
use firebreak_events::CloudTrailEvent;
use firebreak_store::parts;
use firebreak_store::schema::{cloudtrail_schema, col};
use firebreak_store::EventBatchBuilder;

const ASSUMED_ROLE: &str = r#"{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLE:alice","arn":"arn:aws:sts::111122223333:assumed-role/Admin/alice","accountId":"111122223333","accessKeyId":"ASIAEXAMPLE","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAEXAMPLE","arn":"arn:aws:iam::111122223333:role/Admin","accountId":"111122223333","userName":"Admin"},"attributes":{"creationDate":"2026-10-01T01:00:00Z","mfaAuthenticated":"true"},"sourceIdentity":"alice@example.com"}},"eventTime":"2026-10-01T01:57:10Z","eventSource":"s3.amazonaws.com","eventName":"PutBucketPolicy","awsRegion":"eu-west-1","sourceIPAddress":"203.0.113.9","userAgent":"aws-cli/2.15","requestParameters":{"bucketName":"b\"q","policy":{"Statement":[]}},"responseElements":null,"requestID":"R1","eventID":"e-assumed","readOnly":false,"resources":[{"accountId":"111122223333","type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::b"},{"ARN":"arn:aws:s3:::c"}],"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management","tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"b.s3.eu-west-1.amazonaws.com"},"unknownField":{"x":1}}"#;

const ROOT: &str = r#"{"eventID":"e-root","eventTime":"2026-10-01T00:00:01Z","userIdentity":{"type":"Root","arn":"arn:aws:iam::111122223333:root","invokedBy":"signin.amazonaws.com"},"eventName":"ConsoleLogin","readOnly":"true","errorCode":"Fail\u00e9d","apiVersion":7,"additionalEventData":"text","serviceEventDetails":[1,2]}"#;

const BARE: &str =
    r#"{"eventName":"Odd","eventTime":"not a time","userIdentity":null,"resources":"nope"}"#;

fn build() -> RecordBatch {
    let mut builder = EventBatchBuilder::new();
    for (raw, source) in [(ASSUMED_ROLE, "a.json"), (ROOT, "b.json"), (BARE, "c.json")] {
        let event = CloudTrailEvent::parse(raw.as_bytes()).expect("test record parses");
        builder.append(&event, source);
    }
    assert_eq!(builder.len(), 3);
    let batch = builder.finish().expect("batch builds");
    assert!(builder.is_empty());
    batch
}

fn text<'a>(batch: &'a RecordBatch, name: &str, row: usize) -> Option<&'a str> {
    let array = batch
        .column_by_name(name)
        .unwrap_or_else(|| panic!("no column {name}"))
        .as_string::<i32>();
    (!array.is_null(row)).then(|| array.value(row))
}

fn child<'a>(s: &'a StructArray, name: &str) -> &'a dyn Array {
    s.column_by_name(name)
        .unwrap_or_else(|| panic!("no field {name}"))
        .as_ref()
}

fn child_text<'a>(s: &'a StructArray, name: &str, row: usize) -> Option<&'a str> {
    let a = child(s, name).as_string::<i32>();
    (!a.is_null(row)).then(|| a.value(row))
}

/// Writes the batch as a part and reads it back, rows sorted by `event_ts`.
fn round_trip(batch: &RecordBatch) -> RecordBatch {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("part.parquet");
    let size = parts::write_sorted(
        &path,
        &cloudtrail_schema(),
        std::slice::from_ref(batch),
        col::EVENT_TS,
    )
    .expect("write");
    assert!(size > 0);
    let batches = parts::read_all(&path).expect("read");
    arrow::compute::concat_batches(&cloudtrail_schema(), &batches).expect("concat")
}

#[test]
fn columns_read_back_equal_the_record_fields() {
    let stored = round_trip(&build());
    assert_eq!(stored.schema(), cloudtrail_schema());
    assert_eq!(stored.num_rows(), 3);
    // Sorted by event_ts: the unparseable time (NULL) first, then root, then assumed role.
    assert_eq!(text(&stored, col::EVENT_NAME, 0), Some("Odd"));
    assert_eq!(text(&stored, col::EVENT_ID, 1), Some("e-root"));
    assert_eq!(text(&stored, col::EVENT_ID, 2), Some("e-assumed"));
    let r = 2;
    assert_eq!(text(&stored, col::EVENT_VERSION, r), Some("1.08"));
    assert_eq!(
        text(&stored, col::EVENT_TIME, r),
        Some("2026-10-01T01:57:10Z")
    );
    assert_eq!(
        text(&stored, col::EVENT_SOURCE, r),
        Some("s3.amazonaws.com")
    );
    assert_eq!(text(&stored, col::AWS_REGION, r), Some("eu-west-1"));
    assert_eq!(
        text(&stored, col::SOURCE_IP_ADDRESS, r),
        Some("203.0.113.9")
    );
    assert_eq!(text(&stored, col::USER_AGENT, r), Some("aws-cli/2.15"));
    assert_eq!(text(&stored, col::REQUEST_ID, r), Some("R1"));
    assert_eq!(text(&stored, col::READ_ONLY, r), Some("false"));
    assert_eq!(text(&stored, col::EVENT_TYPE, r), Some("AwsApiCall"));
    assert_eq!(text(&stored, col::EVENT_CATEGORY, r), Some("Management"));
    assert_eq!(
        text(&stored, col::RECIPIENT_ACCOUNT_ID, r),
        Some("111122223333")
    );
    assert_eq!(text(&stored, col::ERROR_CODE, r), None);
    assert_eq!(text(&stored, col::SOURCE, r), Some("a.json"));
    assert_eq!(text(&stored, col::RAW, r), Some(ASSUMED_ROLE));
    // JSON text columns keep the value's JSON text; JSON null is NULL.
    let params = text(&stored, col::REQUEST_PARAMETERS, r).expect("requestparameters");
    let parsed: serde_json::Value =
        serde_json::from_str(params).expect("requestparameters is JSON");
    assert_eq!(parsed["bucketName"], "b\"q");
    assert_eq!(parsed["policy"]["Statement"], serde_json::json!([]));
    assert_eq!(text(&stored, col::RESPONSE_ELEMENTS, r), None);
    // event_ts parsed from eventtime.
    let ts = stored
        .column_by_name(col::EVENT_TS)
        .expect("event_ts")
        .as_primitive::<TimestampMillisecondType>();
    assert_eq!(ts.value(r), 1_790_819_830_000);
    assert!(ts.is_null(0));

    let identity = stored
        .column_by_name(col::USER_IDENTITY)
        .expect("useridentity")
        .as_struct();
    assert_eq!(child_text(identity, "type", r), Some("AssumedRole"));
    assert_eq!(
        child_text(identity, "principalid", r),
        Some("AROAEXAMPLE:alice")
    );
    assert_eq!(
        child_text(identity, "arn", r),
        Some("arn:aws:sts::111122223333:assumed-role/Admin/alice")
    );
    assert_eq!(child_text(identity, "accesskeyid", r), Some("ASIAEXAMPLE"));
    assert_eq!(child_text(identity, "username", r), None);
    let context = child(identity, "sessioncontext").as_struct();
    assert!(context.is_valid(r));
    assert_eq!(
        child_text(context, "sourceidentity", r),
        Some("alice@example.com")
    );
    let issuer = child(context, "sessionissuer").as_struct();
    assert_eq!(
        child_text(issuer, "arn", r),
        Some("arn:aws:iam::111122223333:role/Admin")
    );
    assert_eq!(child_text(issuer, "username", r), Some("Admin"));
    let attributes = child(context, "attributes").as_struct();
    assert_eq!(child_text(attributes, "mfaauthenticated", r), Some("true"));
    assert_eq!(
        child_text(attributes, "creationdate", r),
        Some("2026-10-01T01:00:00Z")
    );
    assert!(child(identity, "onbehalfof").is_null(r));

    let resources = stored
        .column_by_name(col::RESOURCES)
        .expect("resources")
        .as_list::<i32>();
    let items = resources.value(r);
    let items = items.as_struct();
    assert_eq!(items.len(), 2);
    assert_eq!(child_text(items, "arn", 0), Some("arn:aws:s3:::b"));
    assert_eq!(child_text(items, "accountid", 0), Some("111122223333"));
    assert_eq!(child_text(items, "type", 0), Some("AWS::S3::Bucket"));
    assert_eq!(child_text(items, "arn", 1), Some("arn:aws:s3:::c"));
    assert_eq!(child_text(items, "type", 1), None);

    let tls = stored
        .column_by_name(col::TLS_DETAILS)
        .expect("tlsdetails")
        .as_struct();
    assert_eq!(child_text(tls, "tlsversion", r), Some("TLSv1.3"));
    assert_eq!(
        child_text(tls, "clienthostheader", r),
        Some("b.s3.eu-west-1.amazonaws.com")
    );

    // The root event: escaped text unescaped, non-string scalars as their JSON text.
    let r = 1;
    assert_eq!(text(&stored, col::ERROR_CODE, r), Some("Failéd"));
    assert_eq!(text(&stored, col::READ_ONLY, r), Some("true"));
    assert_eq!(text(&stored, col::API_VERSION, r), Some("7"));
    assert_eq!(
        text(&stored, col::ADDITIONAL_EVENT_DATA, r),
        Some("\"text\"")
    );
    assert_eq!(text(&stored, col::SERVICE_EVENT_DETAILS, r), Some("[1,2]"));
    assert_eq!(
        child_text(identity, "invokedby", r),
        Some("signin.amazonaws.com")
    );
    assert!(child(identity, "sessioncontext").is_null(r));
    assert!(resources.is_null(r));
    assert!(tls.is_null(r));

    // The odd event: null identity, resources not a list.
    assert!(identity.is_null(0));
    assert!(resources.is_null(0));
    assert_eq!(text(&stored, col::EVENT_TIME, 0), Some("not a time"));
}
