//! Each value form and modifier, positive and negative.

mod common;

use common::{check, rule_error};
use serde_json::json;

#[test]
fn plain_value_is_case_insensitive_whole_value() {
    check(
        "sel:\n    eventName: ConsoleLogin\ncondition: sel",
        &[
            json!({"eventName": "ConsoleLogin"}),
            json!({"eventName": "consolelogin"}),
        ],
        &[
            json!({"eventName": "ConsoleLoginX"}),
            json!({"eventName": "XConsoleLogin"}),
            json!({}),
        ],
    );
}

#[test]
fn wildcards_and_escapes() {
    check(
        "sel:\n    userAgent: 'aws-cli/*'\ncondition: sel",
        &[json!({"userAgent": "AWS-CLI/2.0 Python"})],
        &[json!({"userAgent": "boto3 aws-cli/2.0"})],
    );
    check(
        "sel:\n    userAgent: '*Browser'\ncondition: sel",
        &[json!({"userAgent": "S3 browser"})],
        &[json!({"userAgent": "S3 Browser 1.0"})],
    );
    check(
        "sel:\n    userAgent: 'a?c*e'\ncondition: sel",
        &[json!({"userAgent": "abcde"}), json!({"userAgent": "AXCE"})],
        &[json!({"userAgent": "ac"}), json!({"userAgent": "abcdef"})],
    );
    check(
        "sel:\n    name: 'x\\*y'\ncondition: sel",
        &[json!({"name": "x*y"})],
        &[json!({"name": "xzzy"})],
    );
    check(
        "sel:\n    name: 'C:\\\\temp\\\\*'\ncondition: sel",
        &[json!({"name": "C:\\temp\\a"})],
        &[json!({"name": "C:temp"})],
    );
    check(
        "sel:\n    name: '*'\ncondition: sel",
        &[json!({"name": ""}), json!({"name": "x"})],
        &[json!({}), json!({"name": null})],
    );
}

#[test]
fn empty_string_and_null() {
    check(
        "sel:\n    errorCode: ''\ncondition: sel",
        &[json!({"errorCode": ""})],
        &[json!({"errorCode": "x"}), json!({})],
    );
    check(
        "sel:\n    errorCode: null\ncondition: sel",
        &[json!({}), json!({"errorCode": null})],
        &[
            json!({"errorCode": "AccessDenied"}),
            json!({"errorCode": ""}),
        ],
    );
}

#[test]
fn list_of_values_is_or_and_all_is_and() {
    check(
        "sel:\n    eventName:\n        - StopLogging\n        - DeleteTrail\ncondition: sel",
        &[
            json!({"eventName": "StopLogging"}),
            json!({"eventName": "deletetrail"}),
        ],
        &[json!({"eventName": "UpdateTrail"})],
    );
    check(
        "sel:\n    requestParameters|contains|all:\n        - 's3:GetObject'\n        - 'Allow'\ncondition: sel",
        &[json!({"requestParameters": {"policy": "Allow s3:GetObject"}})],
        &[json!({"requestParameters": {"policy": "Allow s3:PutObject"}})],
    );
}

#[test]
fn numbers_and_booleans_compare_as_text() {
    check(
        "sel:\n    requestParameters.enable: 'false'\ncondition: sel",
        &[
            json!({"requestParameters": {"enable": false}}),
            json!({"requestParameters": {"enable": "FALSE"}}),
        ],
        &[json!({"requestParameters": {"enable": true}})],
    );
    check(
        "sel:\n    requestParameters.enable: false\ncondition: sel",
        &[json!({"requestParameters": {"enable": false}})],
        &[json!({"requestParameters": {"enable": true}})],
    );
    check(
        "sel:\n    requestParameters.fromPort: 22\ncondition: sel",
        &[
            json!({"requestParameters": {"fromPort": 22}}),
            json!({"requestParameters": {"fromPort": "22"}}),
        ],
        &[json!({"requestParameters": {"fromPort": 222}})],
    );
    check(
        "sel:\n    requestParameters.fromPort: '443'\ncondition: sel",
        &[json!({"requestParameters": {"fromPort": 443}})],
        &[json!({"requestParameters": {"fromPort": 80}})],
    );
}

#[test]
fn dotted_paths_nested_arrays_and_literal_dotted_keys() {
    check(
        "sel:\n    userIdentity.sessionContext.sessionIssuer.type: Role\ncondition: sel",
        &[json!({"userIdentity": {"sessionContext": {"sessionIssuer": {"type": "Role"}}}})],
        &[
            json!({"userIdentity": {"sessionContext": {"sessionIssuer": {"type": "Root"}}}}),
            json!({"userIdentity": {}}),
        ],
    );
    check(
        "sel:\n    requestParameters.items.name: second\ncondition: sel",
        &[json!({"requestParameters": {"items": [{"name": "first"}, {"name": "second"}]}})],
        &[json!({"requestParameters": {"items": [{"name": "first"}]}})],
    );
    check(
        "sel:\n    tags: prod\ncondition: sel",
        &[json!({"tags": ["dev", "prod"]})],
        &[json!({"tags": ["dev"]})],
    );
    check(
        "sel:\n    a.b: x\ncondition: sel",
        &[json!({"a.b": "x"}), json!({"a": {"b": "x"}})],
        &[json!({"a.b": "y"}), json!({"a": {"c": "x"}})],
    );
}

#[test]
fn contains_startswith_endswith() {
    check(
        "sel:\n    userAgent|contains: 'S3 Browser'\ncondition: sel",
        &[json!({"userAgent": "[s3 browser 9.5]"})],
        &[json!({"userAgent": "S3Browser"})],
    );
    check(
        "sel:\n    eventName|startswith: 'Update'\ncondition: sel",
        &[json!({"eventName": "UpdateFunctionConfiguration20150331v2"})],
        &[json!({"eventName": "GetUpdate"})],
    );
    check(
        "sel:\n    eventName|endswith: 'Trail'\ncondition: sel",
        &[json!({"eventName": "deletetrail"})],
        &[json!({"eventName": "TrailDelete"})],
    );
    check(
        "sel:\n    userAgent|contains: 'a*c'\ncondition: sel",
        &[json!({"userAgent": "xxabbbcxx"})],
        &[json!({"userAgent": "xxcbax"})],
    );
}

#[test]
fn contains_on_objects_sees_raw_and_decoded_json() {
    check(
        "sel:\n    requestParameters|contains: 'Suspended'\ncondition: sel",
        &[json!({"requestParameters": {"VersioningConfiguration": {"Status": "Suspended"}}})],
        &[json!({"requestParameters": {"VersioningConfiguration": {"Status": "Enabled"}}})],
    );
    check(
        "sel:\n    requestParameters|contains: '\"s3:GetObject\"'\ncondition: sel",
        &[json!({"requestParameters": {"policyDocument": "{\"Action\":\"s3:GetObject\"}"}})],
        &[json!({"requestParameters": {"policyDocument": "{\"Action\":\"s3:PutObject\"}"}})],
    );
}

#[test]
fn cased() {
    check(
        "sel:\n    eventName|cased: ConsoleLogin\ncondition: sel",
        &[json!({"eventName": "ConsoleLogin"})],
        &[json!({"eventName": "consolelogin"})],
    );
    check(
        "sel:\n    userAgent|contains|cased: Boto\ncondition: sel",
        &[json!({"userAgent": "xBotox"})],
        &[json!({"userAgent": "xbotox"})],
    );
}

#[test]
fn regex_and_flags() {
    check(
        "sel:\n    userIdentity.arn|re: '.+:assumed-role/aws:.+'\ncondition: sel",
        &[json!({"userIdentity": {"arn": "arn:aws:sts::1:assumed-role/aws:ec2-instance/i-1"}})],
        &[json!({"userIdentity": {"arn": "arn:aws:sts::1:assumed-role/Admin/x"}})],
    );
    check(
        "sel:\n    name|re: '^abc$'\ncondition: sel",
        &[json!({"name": "abc"})],
        &[json!({"name": "ABC"})],
    );
    check(
        "sel:\n    name|re|i: '^abc$'\ncondition: sel",
        &[json!({"name": "ABC"})],
        &[json!({"name": "ABCD"})],
    );
    check(
        "sel:\n    name|re|m: '^b$'\ncondition: sel",
        &[json!({"name": "a\nb\nc"})],
        &[json!({"name": "a b c"})],
    );
    check(
        "sel:\n    name|re|s: 'a.c'\ncondition: sel",
        &[json!({"name": "a\nc"})],
        &[json!({"name": "a\n\nc"})],
    );
    assert!(rule_error("sel:\n    name|re: '(unclosed'\ncondition: sel").contains("regex"));
}

#[test]
fn cidr_v4_v6_and_non_ip() {
    check(
        "sel:\n    sourceIPAddress|cidr:\n        - '10.0.0.0/8'\n        - '2001:db8::/32'\ncondition: sel",
        &[json!({"sourceIPAddress": "10.20.30.40"}), json!({"sourceIPAddress": "2001:db8::1"})],
        &[
            json!({"sourceIPAddress": "11.0.0.1"}),
            json!({"sourceIPAddress": "AWS Internal"}),
            json!({"sourceIPAddress": "ec2.amazonaws.com"}),
        ],
    );
    assert!(rule_error("sel:\n    ip|cidr: 'nonsense'\ncondition: sel").contains("CIDR"));
}

#[test]
fn base64_and_base64offset() {
    // "hello" -> aGVsbG8=
    check(
        "sel:\n    data|base64: hello\ncondition: sel",
        &[json!({"data": "aGVsbG8="})],
        &[json!({"data": "hello"})],
    );
    check(
        "sel:\n    data|base64|contains: hello\ncondition: sel",
        &[json!({"data": "xxaGVsbG8=yy"})],
        &[json!({"data": "aGVsbG9="})],
    );
    // The three offsets of "/bin/bash" embedded in longer base64 text.
    check(
        "sel:\n    data|base64offset|contains: /bin/bash\ncondition: sel",
        &[
            json!({"data": "IyEvYmluL2Jhc2gK"}), // "#!/bin/bash\n" (offset 2)
            json!({"data": "ZWNobyAvYmluL2Jhc2g="}), // "echo /bin/bash"
            json!({"data": "L2Jpbi9iYXNo"}),     // "/bin/bash"
        ],
        &[json!({"data": "L2Jpbi9zaA=="})], // "/bin/sh"
    );
}

#[test]
fn windash() {
    check(
        "sel:\n    cmd|windash|contains: ' -enc '\ncondition: sel",
        &[
            json!({"cmd": "powershell -enc AAA"}),
            json!({"cmd": "powershell /enc AAA"}),
            json!({"cmd": "powershell \u{2013}enc AAA"}),
        ],
        &[json!({"cmd": "powershell enc AAA"})],
    );
}

#[test]
fn exists() {
    check(
        "sel:\n    errorCode|exists: true\ncondition: sel",
        &[json!({"errorCode": "x"}), json!({"errorCode": ""})],
        &[json!({})],
    );
    check(
        "sel:\n    errorCode|exists: false\ncondition: sel",
        &[json!({})],
        &[json!({"errorCode": "x"})],
    );
    assert!(rule_error("sel:\n    errorCode|exists: maybe\ncondition: sel").contains("exists"));
}

#[test]
fn numeric_comparisons() {
    check(
        "sel:\n    n|gt: 10\ncondition: sel",
        &[json!({"n": 11}), json!({"n": "10.5"})],
        &[json!({"n": 10}), json!({"n": "x"}), json!({})],
    );
    check(
        "sel:\n    n|gte: 10\ncondition: sel",
        &[json!({"n": 10})],
        &[json!({"n": 9})],
    );
    check(
        "sel:\n    n|lt: 10\ncondition: sel",
        &[json!({"n": -1})],
        &[json!({"n": 10})],
    );
    check(
        "sel:\n    n|lte: 10\ncondition: sel",
        &[json!({"n": 10})],
        &[json!({"n": 10.01})],
    );
    assert!(rule_error("sel:\n    n|gt: ten\ncondition: sel").contains("not a number"));
}

#[test]
fn fieldref() {
    check(
        "sel:\n    userIdentity.userName|fieldref: requestParameters.userName\ncondition: sel",
        &[
            json!({"userIdentity": {"userName": "alice"}, "requestParameters": {"userName": "Alice"}}),
        ],
        &[
            json!({"userIdentity": {"userName": "alice"}, "requestParameters": {"userName": "bob"}}),
            json!({"userIdentity": {"userName": "alice"}}),
        ],
    );
    check(
        "sel:\n    userIdentity.arn|fieldref|endswith: requestParameters.userName\ncondition: sel",
        &[
            json!({"userIdentity": {"arn": "arn:aws:iam::1:user/alice"}, "requestParameters": {"userName": "alice"}}),
        ],
        &[
            json!({"userIdentity": {"arn": "arn:aws:iam::1:user/alice"}, "requestParameters": {"userName": "bob"}}),
        ],
    );
}

#[test]
fn keywords_search_the_whole_event() {
    check(
        "keywords:\n    - 'TruffleHog'\n    - 'kali'\ncondition: keywords",
        &[
            json!({"userAgent": "trufflehog v3"}),
            json!({"a": {"b": ["Kali Linux"]}}),
        ],
        &[json!({"userAgent": "aws-cli"})],
    );
    check(
        "keywords: 'say \"hi\"'\ncondition: keywords",
        &[json!({"msg": "they say \"hi\" there"})],
        &[json!({"msg": "say hi"})],
    );
}

#[test]
fn unsupported_and_invalid_modifiers_are_refused() {
    assert!(rule_error("sel:\n    f|wide: x\ncondition: sel").contains("not supported"));
    assert!(rule_error("sel:\n    f|utf16le|base64: x\ncondition: sel").contains("not supported"));
    assert!(rule_error("sel:\n    f|bogus: x\ncondition: sel").contains("unknown modifier 'bogus'"));
    let e = rule_error("sel:\n    f|expand: '%Admins%'\ncondition: sel");
    assert!(e.contains("placeholder %Admins% needs a value"), "{e}");
    assert!(
        rule_error("sel:\n    f|contains|startswith: x\ncondition: sel").contains("more than one")
    );
    assert!(rule_error("sel:\n    f|i: x\ncondition: sel").contains("|re"));
    assert!(rule_error("sel:\n    f: []\ncondition: sel").contains("empty"));
    assert!(rule_error("sel:\n    f:\n        nested: map\ncondition: sel").contains("scalar"));
}

#[test]
fn yaml_scalars_keep_their_text() {
    // Account IDs with a leading zero must not turn into numbers.
    check(
        "sel:\n    recipientAccountId: 012345678901\ncondition: sel",
        &[json!({"recipientAccountId": "012345678901"})],
        &[json!({"recipientAccountId": "12345678901"})],
    );
    // YAML 1.1 booleans are plain strings in YAML 1.2.
    check(
        "sel:\n    additionalEventData.MFAUsed: No\ncondition: sel",
        &[json!({"additionalEventData": {"MFAUsed": "No"}})],
        &[json!({"additionalEventData": {"MFAUsed": "Yes"}})],
    );
}
