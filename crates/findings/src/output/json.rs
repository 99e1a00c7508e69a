//! The JSON shapes: our own finding object, OCSF, ASFF and Timesketch.

use serde_json::{json, Map, Value};

use crate::{Finding, FindingKind, Level};

fn opt(v: &Option<String>) -> Value {
    v.as_ref().map_or(Value::Null, |s| Value::String(s.clone()))
}

fn iso_time(ms: Option<i64>) -> Option<String> {
    let ms = ms?;
    jiff::Timestamp::from_millisecond(ms).ok().map(|t| t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
}

/// Our own JSON finding: flat, with every field a responder filters on.
pub fn finding_json(f: &Finding) -> Value {
    let e = &f.event;
    let mut m = Map::new();
    m.insert("finding_id".into(), json!(f.stable_id()));
    m.insert("kind".into(), json!(f.kind));
    m.insert("rule_id".into(), json!(f.rule.id));
    m.insert("rule_title".into(), json!(f.rule.title));
    m.insert("rule_author".into(), json!(f.rule.author));
    m.insert("level".into(), json!(f.rule.level.to_string()));
    m.insert("rule_origin".into(), json!(f.rule.origin));
    m.insert("event_id".into(), opt(&e.event_id));
    m.insert("event_time".into(), opt(&e.event_time));
    m.insert("event_source".into(), opt(&e.event_source));
    m.insert("event_name".into(), opt(&e.event_name));
    m.insert("principal_arn".into(), opt(&e.principal_arn));
    m.insert("principal_type".into(), opt(&e.principal_type));
    m.insert("access_key_id".into(), opt(&e.access_key_id));
    m.insert("source_ip".into(), opt(&e.source_ip));
    m.insert("user_agent".into(), opt(&e.user_agent));
    m.insert("account_id".into(), opt(&e.account_id));
    m.insert("region".into(), opt(&e.region));
    m.insert("error_code".into(), opt(&e.error_code));
    m.insert("tags".into(), json!(f.rule.tags));
    if let Some(c) = &f.correlation {
        let group: Map<String, Value> = c.group.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
        m.insert(
            "correlation".into(),
            json!({
                "group": group,
                "count": c.count,
                "first": iso_time(Some(c.first_ms)),
                "last": iso_time(Some(c.last_ms)),
                "event_ids": c.event_ids,
            }),
        );
    }
    if let Some(input) = &f.input {
        m.insert("input".into(), json!(input));
    }
    if let Some(i) = f.record_index {
        m.insert("record_index".into(), json!(i));
    }
    Value::Object(m)
}

fn ocsf_severity(level: Level) -> (u8, &'static str) {
    match level {
        Level::Informational => (1, "Informational"),
        Level::Low => (2, "Low"),
        Level::Medium => (3, "Medium"),
        Level::High => (4, "High"),
        Level::Critical => (5, "Critical"),
    }
}

/// An OCSF 1.x Detection Finding (category 2, class 2004), activity "Create".
pub fn ocsf_finding(f: &Finding) -> Value {
    let (severity_id, severity) = ocsf_severity(f.rule.level);
    let e = &f.event;
    let techniques: Vec<Value> = f
        .rule
        .tags
        .iter()
        .filter_map(|t| t.strip_prefix("attack.t").map(|id| json!({"technique": {"uid": format!("T{}", id.to_ascii_uppercase())}})))
        .collect();
    let mut v = json!({
        "category_uid": 2,
        "category_name": "Findings",
        "class_uid": 2004,
        "class_name": "Detection Finding",
        "activity_id": 1,
        "activity_name": "Create",
        "type_uid": 200401,
        "severity_id": severity_id,
        "severity": severity,
        "status_id": 1,
        "status": "New",
        "time": f.time_ms(),
        "message": f.rule.title,
        "metadata": {
            "version": "1.3.0",
            "product": {"name": "firebreak", "vendor_name": "firebreak", "version": env!("CARGO_PKG_VERSION")},
            "uid": f.stable_id(),
        },
        "finding_info": {
            "uid": f.stable_id(),
            "title": f.rule.title,
            "desc": f.rule.description,
            "types": [match f.kind { FindingKind::Event => "event", FindingKind::Correlation => "correlation" }],
            "analytic": {"uid": f.rule.id, "name": f.rule.title, "type_id": 1, "type": "Rule"},
            "attacks": techniques,
            "related_events": f.correlation.as_ref().map(|c| c.event_ids.iter().map(|id| json!({"uid": id})).collect::<Vec<_>>())
                .unwrap_or_else(|| e.event_id.iter().map(|id| json!({"uid": id})).collect()),
        },
        "cloud": {"provider": "AWS", "account": {"uid": e.account_id}, "region": e.region},
        "actor": {"user": {"uid": e.principal_arn, "type": e.principal_type, "credential_uid": e.access_key_id}},
        "src_endpoint": {"ip": e.source_ip},
        "api": {"operation": e.event_name, "service": {"name": e.event_source}},
        "unmapped": {"rule_author": f.rule.author, "rule_origin": f.rule.origin},
    });
    if let (Some(raw), Value::Object(m)) = (&f.raw_event, &mut v) {
        m.insert("raw_data".into(), json!(raw));
    }
    v
}

/// One ASFF finding (`BatchImportFindings` item).
pub fn asff_finding(f: &Finding) -> Value {
    let e = &f.event;
    let account = e.account_id.clone().unwrap_or_else(|| "000000000000".into());
    let region = e.region.clone().unwrap_or_else(|| "us-east-1".into());
    let label = match f.rule.level {
        Level::Informational => "INFORMATIONAL",
        Level::Low => "LOW",
        Level::Medium => "MEDIUM",
        Level::High => "HIGH",
        Level::Critical => "CRITICAL",
    };
    let now = iso_time(f.time_ms()).unwrap_or_else(|| "1970-01-01T00:00:00.000Z".into());
    let resource_id = e.principal_arn.clone().unwrap_or_else(|| format!("AWS::::Account:{account}"));
    let mut types = vec!["TTPs".to_string()];
    for t in &f.rule.tags {
        if let Some(tactic) = t.strip_prefix("attack.") {
            if !tactic.starts_with('t') {
                types.push(format!("TTPs/{}", tactic.replace('-', " ")));
            }
        }
    }
    let mut product_fields = Map::new();
    product_fields.insert("firebreak/rule_author".into(), json!(f.rule.author));
    product_fields.insert("firebreak/rule_origin".into(), json!(f.rule.origin));
    for (k, v) in [
        ("firebreak/event_id", &e.event_id),
        ("firebreak/event_name", &e.event_name),
        ("firebreak/event_source", &e.event_source),
        ("firebreak/source_ip", &e.source_ip),
        ("firebreak/access_key_id", &e.access_key_id),
    ] {
        if let Some(v) = v {
            product_fields.insert(k.into(), json!(v));
        }
    }
    let description: String = if f.rule.description.is_empty() { f.rule.title.clone() } else { f.rule.description.clone() };
    json!({
        "SchemaVersion": "2018-10-08",
        "Id": format!("firebreak/{}", f.stable_id()),
        "ProductArn": format!("arn:aws:securityhub:{region}:{account}:product/{account}/default"),
        "GeneratorId": format!("firebreak/{}", f.rule.id),
        "AwsAccountId": account,
        "Types": types,
        "CreatedAt": now,
        "UpdatedAt": now,
        "FirstObservedAt": iso_time(f.correlation.as_ref().map(|c| c.first_ms).or(e.event_time_ms)),
        "LastObservedAt": iso_time(f.time_ms()),
        "Severity": {"Label": label},
        "Title": f.rule.title.chars().take(256).collect::<String>(),
        "Description": description.chars().take(1024).collect::<String>(),
        "Resources": [{"Type": if e.principal_arn.is_some() { "AwsIamRole" } else { "Other" }, "Id": resource_id, "Region": region}],
        "ProductFields": product_fields,
        "RecordState": "ACTIVE",
        "Workflow": {"Status": "NEW"},
    })
}

/// One Timesketch line: `message`, `datetime`, `timestamp_desc` and the fields.
pub fn timesketch_line(f: &Finding) -> Value {
    let mut m = match finding_json(f) {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    let e = &f.event;
    let message = format!(
        "[{}] {}: {} {} by {} from {}",
        f.rule.level,
        f.rule.title,
        e.event_source.as_deref().unwrap_or("-"),
        e.event_name.as_deref().unwrap_or("-"),
        e.principal_arn.as_deref().unwrap_or("-"),
        e.source_ip.as_deref().unwrap_or("-"),
    );
    m.insert("message".into(), json!(message));
    m.insert(
        "datetime".into(),
        json!(iso_time(f.time_ms()).or_else(|| e.event_time.clone()).unwrap_or_else(|| "1970-01-01T00:00:00.000Z".into())),
    );
    m.insert("timestamp_desc".into(), json!(match f.kind { FindingKind::Event => "Event Time", FindingKind::Correlation => "Correlation Window End" }));
    m.insert("data_type".into(), json!("firebreak:finding"));
    if let Some(raw) = &f.raw_event {
        if let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(raw) {
            for (k, v) in fields {
                m.entry(k).or_insert(v);
            }
        }
    }
    Value::Object(m)
}
