//! Field access on `CloudTrailEvent`: head accessors, dotted paths, arrays fanning
//! out, escapes, scalars, odd types, and agreement with the `serde_json` reference.
mod common;

use common::{data, sample_record};
use firebreak_events::{CloudTrailEvent, EventFields, FieldValue, RecordError};

/// Every value at `path`, as (variant, text).
fn values(e: &dyn EventFields, path: &str) -> Vec<(String, Option<String>)> {
    let segs: Vec<&str> = path.split('.').collect();
    let mut out = Vec::new();
    e.visit_field(&segs, &mut |v| {
        let kind = match v {
            FieldValue::Null => "null",
            FieldValue::Bool(_) => "bool",
            FieldValue::Number(_) => "number",
            FieldValue::Str(_) => "str",
            FieldValue::Object(_) => "object",
            FieldValue::Array(_) => "array",
        };
        out.push((kind.to_string(), v.as_text().map(|t| t.into_owned())));
        false
    });
    out
}

fn odd() -> Vec<u8> {
    std::fs::read(data("odd_values.json")).unwrap()
}

#[test]
fn head_accessors() {
    let raw = sample_record(42);
    let e = CloudTrailEvent::parse(raw.as_bytes()).unwrap();
    assert_eq!(e.event_id(), Some("e0000042-aaaa-bbbb-cccc-dddddddddddd"));
    assert_eq!(e.event_time(), Some("2024-05-01T10:00:42Z"));
    assert_eq!(e.event_time_millis(), Some(1_714_557_642_000));
    assert_eq!(e.event_source(), Some("ec2.amazonaws.com"));
    assert_eq!(e.event_name(), Some("DescribeInstances"));
    assert_eq!(e.event_type(), Some("AwsApiCall"));
    assert_eq!(e.aws_region(), Some("eu-west-1"));
    assert_eq!(e.source_ip(), Some("203.0.113.42"));
    assert!(e.user_agent().unwrap().starts_with("aws-cli/2.15.0"));
    assert_eq!(e.error_code(), None);
    assert_eq!(e.error_message(), None);
    assert_eq!(e.recipient_account_id(), Some("111122223333"));
    assert_eq!(e.user_identity_type(), Some("AssumedRole"));
    assert_eq!(
        e.principal_arn(),
        Some("arn:aws:sts::111122223333:assumed-role/ops-role/session-42")
    );
    assert_eq!(e.principal_id(), Some("AROAEXAMPLEID00000042:session-42"));
    assert_eq!(e.access_key_id(), Some("ASIAEXAMPLE000000042"));
    assert_eq!(e.account_id(), Some("111122223333"));
    // No userName: falls back to the session issuer (the role).
    assert_eq!(e.user_name(), Some("ops-role"));
    assert_eq!(e.read_only(), Some(true));
    assert_eq!(e.raw_bytes(), raw.as_bytes());
    assert_eq!(
        EventFields::event_name(&e).as_deref(),
        Some("DescribeInstances")
    );
    assert_eq!(
        EventFields::event_source(&e).as_deref(),
        Some("ec2.amazonaws.com")
    );
    assert_eq!(EventFields::event_time_millis(&e), Some(1_714_557_642_000));
}

#[test]
fn unexpected_types_do_not_fail_the_parse() {
    let raw = odd();
    let e = CloudTrailEvent::parse(&raw).unwrap();
    // A number where a string is expected: no string, but the value is found.
    assert_eq!(e.source_ip(), None);
    assert_eq!(
        values(&e, "sourceIPAddress"),
        [("number".into(), Some("12345".into()))]
    );
    assert_eq!(e.aws_region(), None);
    assert_eq!(values(&e, "awsRegion"), [("null".into(), None)]);
    assert_eq!(e.user_agent(), None);
    assert_eq!(
        values(&e, "userAgent"),
        [("object".into(), Some(r#"{"nested": true}"#.into()))]
    );
    assert_eq!(
        values(&e, "userAgent.nested"),
        [("bool".into(), Some("true".into()))]
    );
    assert_eq!(e.error_code(), None);
    assert_eq!(
        values(&e, "errorCode"),
        [
            ("array".into(), Some(r#"["a", "b"]"#.into())),
            ("str".into(), Some("a".into())),
            ("str".into(), Some("b".into()))
        ]
    );
    // readOnly logged as a string.
    assert_eq!(e.read_only(), Some(true));
    // userName present: the session issuer does not win.
    assert_eq!(e.user_name(), Some("analyst9"));
}

#[test]
fn escapes_come_out_unescaped() {
    let raw = odd();
    let e = CloudTrailEvent::parse(&raw).unwrap();
    assert_eq!(e.event_name(), Some("Put\"Object\u{e9}"));
    assert_eq!(
        values(&e, "eventName"),
        [("str".into(), Some("Put\"Object\u{e9}".into()))]
    );
    assert_eq!(
        values(&e, "additionalEventData.path"),
        [("str".into(), Some("C:\\tmp\\x\n".into()))]
    );
    // Escaped keys are matched by their decoded name.
    let raw = br#"{"event\u004eame":"Esc","a":{"b\"c":"q"}}"#;
    let e = CloudTrailEvent::parse(raw).unwrap();
    assert_eq!(e.event_name(), Some("Esc"));
}

#[test]
fn dotted_paths_and_array_fan_out() {
    let raw = odd();
    let e = CloudTrailEvent::parse(&raw).unwrap();
    assert_eq!(
        values(&e, "resources.ARN"),
        [
            ("str".into(), Some("arn:aws:s3:::bucket-a".into())),
            ("str".into(), Some("arn:aws:s3:::bucket-b/key".into()))
        ]
    );
    assert_eq!(
        values(&e, "resources.tags"),
        [
            ("array".into(), Some(r#"["x", "y"]"#.into())),
            ("str".into(), Some("x".into())),
            ("str".into(), Some("y".into()))
        ]
    );
    assert_eq!(
        values(&e, "additionalEventData.bytesTransferredIn"),
        [("number".into(), Some("1500.0".into()))]
    );
    assert_eq!(
        values(&e, "additionalEventData.flag"),
        [("bool".into(), Some("true".into()))]
    );
    assert_eq!(
        values(&e, "additionalEventData.none"),
        [("null".into(), None)]
    );
    assert_eq!(
        values(&e, "userIdentity.sessionContext.sessionIssuer.userName"),
        [("str".into(), Some("ShouldNotWin".into()))]
    );
    assert_eq!(
        values(&e, "userIdentity.type"),
        [("str".into(), Some("IAMUser".into()))]
    );
    // Missing paths, and paths through scalars.
    assert!(values(&e, "nope").is_empty());
    assert!(values(&e, "resources.nope").is_empty());
    assert!(values(&e, "eventName.deeper").is_empty());
    assert!(values(&e, "userIdentity.nope").is_empty());
    assert!(values(&e, "responseElements.x").is_empty());
}

#[test]
fn visit_stops_when_asked() {
    let raw = odd();
    let e = CloudTrailEvent::parse(&raw).unwrap();
    let mut calls = 0;
    let found = e.visit_field(&["resources", "ARN"], &mut |v| {
        calls += 1;
        v.as_text().is_some_and(|t| t.ends_with("bucket-a"))
    });
    assert!(found);
    assert_eq!(calls, 1);
    assert!(!e.visit_field(&["resources", "ARN"], &mut |_| false));
}

#[test]
fn agrees_with_the_serde_json_reference_implementation() {
    let raws = [
        odd(),
        sample_record(7).into_bytes(),
        std::fs::read(data("single_record.json")).unwrap(),
    ];
    let paths = [
        "eventName",
        "eventTime",
        "sourceIPAddress",
        "awsRegion",
        "userAgent",
        "userAgent.nested",
        "errorCode",
        "readOnly",
        "userIdentity",
        "userIdentity.type",
        "userIdentity.arn",
        "userIdentity.userName",
        "userIdentity.sessionContext.sessionIssuer.userName",
        "userIdentity.sessionContext.attributes.mfaAuthenticated",
        "resources",
        "resources.ARN",
        "resources.tags",
        "requestParameters.instancesSet.items.instanceId",
        "requestParameters.filterSet.items.valueSet.items.value",
        "additionalEventData",
        "additionalEventData.none",
        "responseElements",
        "managementEvent",
        "missing",
        "missing.deeper",
    ];
    for raw in &raws {
        let e = CloudTrailEvent::parse(raw).unwrap();
        let reference: serde_json::Value = serde_json::from_slice(raw).unwrap();
        for path in paths {
            let ours = values(&e, path);
            let theirs = values(&reference, path);
            // Objects and arrays are raw text on our side and re-serialised on theirs:
            // compare them as JSON values.
            assert_eq!(ours.len(), theirs.len(), "{path}: {ours:?} vs {theirs:?}");
            for (a, b) in ours.iter().zip(&theirs) {
                assert_eq!(a.0, b.0, "{path}");
                match a.0.as_str() {
                    "object" | "array" => {
                        let av: serde_json::Value =
                            serde_json::from_str(a.1.as_deref().unwrap()).unwrap();
                        let bv: serde_json::Value =
                            serde_json::from_str(b.1.as_deref().unwrap()).unwrap();
                        assert_eq!(av, bv, "{path}");
                    }
                    "number" => {
                        let av: f64 = a.1.as_deref().unwrap().parse().unwrap();
                        let bv: f64 = b.1.as_deref().unwrap().parse().unwrap();
                        assert_eq!(av, bv, "{path}");
                    }
                    _ => assert_eq!(a.1, b.1, "{path}"),
                }
            }
        }
    }
}

#[test]
fn raw_json_is_the_record() {
    let raw = sample_record(1);
    let e = CloudTrailEvent::parse(raw.as_bytes()).unwrap();
    assert_eq!(e.raw_json(), raw);
    assert_eq!(
        values(&e, "").len(),
        0,
        "a single empty segment is a key that does not exist"
    );
    let mut whole = Vec::new();
    e.visit_field(&[], &mut |v| {
        whole.push(v.as_text().unwrap().into_owned());
        false
    });
    assert_eq!(whole, [raw]);
}

#[test]
fn parse_errors() {
    assert_eq!(
        CloudTrailEvent::parse(b"42").unwrap_err(),
        RecordError::NotAnObject { found: "a number" }
    );
    assert_eq!(
        CloudTrailEvent::parse(b" [1]").unwrap_err(),
        RecordError::NotAnObject { found: "an array" }
    );
    assert!(matches!(
        CloudTrailEvent::parse(b"").unwrap_err(),
        RecordError::InvalidJson { .. }
    ));
    assert!(matches!(
        CloudTrailEvent::parse(b"{\"a\":tru}").unwrap_err(),
        RecordError::InvalidJson { .. }
    ));
    assert!(matches!(
        CloudTrailEvent::parse(b"{\"a\":1} x").unwrap_err(),
        RecordError::InvalidJson { .. }
    ));
    assert!(matches!(
        CloudTrailEvent::parse(b"{\"a\":\"\xff\"}").unwrap_err(),
        RecordError::NotUtf8 { offset: 6 }
    ));
    // Duplicate keys are valid JSON: accepted.
    let e = CloudTrailEvent::parse(br#"{"eventName":"A","eventName":"B"}"#).unwrap();
    assert!(e.event_name().is_some());
}

#[test]
fn event_time_formats() {
    for (raw, want) in [
        (
            r#"{"eventTime":"2024-05-01T10:00:42Z"}"#,
            Some(1_714_557_642_000),
        ),
        (
            r#"{"eventTime":"2024-05-01T10:00:42.250Z"}"#,
            Some(1_714_557_642_250),
        ),
        (
            r#"{"eventTime":"2024-05-01T12:00:42+02:00"}"#,
            Some(1_714_557_642_000),
        ),
        (
            r#"{"eventTime":"2024-05-01 10:00:42.000"}"#,
            Some(1_714_557_642_000),
        ),
        (r#"{"eventTime":"yesterday"}"#, None),
        (r#"{"eventTime":1714557642}"#, None),
    ] {
        let e = CloudTrailEvent::parse(raw.as_bytes()).unwrap();
        assert_eq!(e.event_time_millis(), want, "{raw}");
    }
}

#[test]
fn tricky_json_agrees_with_serde_json() {
    let inputs = [
        r#"{"eventName":"\ud83d\ude00 smile","userIdentity":{"type":"A\u0000B","userName":"\\\/\b\f\n\r\t"}}"#,
        " \t\r\n{ \"eventName\" : \"spaced\" , \"userIdentity\" : { \"arn\" : \"x\" } } \n",
        r#"{"eventName":"first","eventName":"second"}"#,
        r#"{"userIdentity":null,"eventName":1e5,"readOnly":false}"#,
        r#"{"userIdentity":[{"type":"inArray"}],"eventSource":{"nested":["a",{"b":"c"}]}}"#,
        r#"{"a":{"b":{"c":{"d":{"e":[[[["deep"]]]]}}}}}"#,
        r#"{"eventTime":"2024-05-01T10:00:00Z","x":[]  ,"y":{}  }"#,
    ];
    let paths = [
        "eventName",
        "eventSource",
        "eventSource.nested",
        "eventSource.nested.b",
        "userIdentity",
        "userIdentity.type",
        "userIdentity.userName",
        "userIdentity.arn",
        "readOnly",
        "a.b.c.d.e",
        "x",
        "y",
        "eventTime",
    ];
    for raw in inputs {
        let reference: serde_json::Value = serde_json::from_str(raw).unwrap();
        let e = CloudTrailEvent::parse(raw.as_bytes()).unwrap_or_else(|err| panic!("{raw}: {err}"));
        for path in paths {
            let ours = values(&e, path);
            let theirs = values(&reference, path);
            if path == "eventName" && raw.contains("\"second\"") {
                // Duplicate keys: serde_json keeps the last; so does the head.
                assert_eq!(ours, theirs);
                continue;
            }
            assert_eq!(
                ours.len(),
                theirs.len(),
                "{raw} {path}: {ours:?} vs {theirs:?}"
            );
            for (a, b) in ours.iter().zip(&theirs) {
                assert_eq!(a.0, b.0, "{raw} {path}");
                if matches!(a.0.as_str(), "object" | "array") {
                    let av: serde_json::Value =
                        serde_json::from_str(a.1.as_deref().unwrap()).unwrap();
                    let bv: serde_json::Value =
                        serde_json::from_str(b.1.as_deref().unwrap()).unwrap();
                    assert_eq!(av, bv, "{raw} {path}");
                } else if a.0 != "number" {
                    assert_eq!(a.1, b.1, "{raw} {path}");
                }
            }
        }
    }
}
