//! The JSON shapes: our own finding object, OCSF, ASFF and Timesketch.

use serde_json::{json, Map, Value};

use firebreak_events::CloudTrailEvent;

use crate::finding::{stable_id_hex, StableId};
use crate::{Finding, FindingKind, Level, RuleInfo};

fn iso_time(ms: Option<i64>) -> Option<String> {
    let ms = ms?;
    jiff::Timestamp::from_millisecond(ms).ok().map(|t| t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
}

/// Our own JSON finding, borrowed from a [`Finding`]: flat, with every field a responder
/// filters on.
#[derive(serde::Serialize)]
pub struct FindingRecord<'a> {
    finding_id: StableId,
    kind: FindingKind,
    rule_id: &'a str,
    rule_title: &'a str,
    rule_author: &'a str,
    level: &'static str,
    rule_origin: &'a str,
    event_id: Option<&'a str>,
    event_time: Option<&'a str>,
    event_source: Option<&'a str>,
    event_name: Option<&'a str>,
    principal_arn: Option<&'a str>,
    principal_type: Option<&'a str>,
    access_key_id: Option<&'a str>,
    source_ip: Option<&'a str>,
    user_agent: Option<&'a str>,
    account_id: Option<&'a str>,
    region: Option<&'a str>,
    error_code: Option<&'a str>,
    tags: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    correlation: Option<CorrelationRecord<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    input: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    record_index: Option<u64>,
}

/// The correlation part of a [`FindingRecord`].
#[derive(serde::Serialize)]
struct CorrelationRecord<'a> {
    group: Map<String, Value>,
    count: u64,
    first: Option<String>,
    last: Option<String>,
    event_ids: &'a [String],
}

impl<'a> FindingRecord<'a> {
    /// Borrows the fields of `f`.
    pub fn new(f: &'a Finding) -> Self {
        let e = &f.event;
        FindingRecord {
            finding_id: stable_id_hex(&f.rule.id, e.event_id.as_deref(), f.correlation.as_ref()),
            kind: f.kind,
            rule_id: &f.rule.id,
            rule_title: &f.rule.title,
            rule_author: &f.rule.author,
            level: f.rule.level.as_str(),
            rule_origin: &f.rule.origin,
            event_id: e.event_id.as_deref(),
            event_time: e.event_time.as_deref(),
            event_source: e.event_source.as_deref(),
            event_name: e.event_name.as_deref(),
            principal_arn: e.principal_arn.as_deref(),
            principal_type: e.principal_type.as_deref(),
            access_key_id: e.access_key_id.as_deref(),
            source_ip: e.source_ip.as_deref(),
            user_agent: e.user_agent.as_deref(),
            account_id: e.account_id.as_deref(),
            region: e.region.as_deref(),
            error_code: e.error_code.as_deref(),
            tags: &f.rule.tags,
            correlation: f.correlation.as_ref().map(|c| CorrelationRecord {
                group: c.group.iter().map(|(k, v)| (k.clone(), json!(v))).collect(),
                count: c.count,
                first: iso_time(Some(c.first_ms)),
                last: iso_time(Some(c.last_ms)),
                event_ids: &c.event_ids,
            }),
            input: f.input.as_deref(),
            record_index: f.record_index,
        }
    }
}

impl<'a> FindingRecord<'a> {
    /// The record of the event finding `rule` raises on `event` (record `record_index` of
    /// `input`), borrowed straight from the event: the same record as [`FindingRecord::new`]
    /// of a [`Finding`] built with [`crate::EventSummary::from_cloudtrail`], without
    /// copying any field.
    pub fn for_event(rule: &'a RuleInfo, event: &'a CloudTrailEvent<'_>, input: &'a str, record_index: u64) -> Self {
        let event_id = event.event_id();
        FindingRecord {
            finding_id: stable_id_hex(&rule.id, event_id, None),
            kind: FindingKind::Event,
            rule_id: &rule.id,
            rule_title: &rule.title,
            rule_author: &rule.author,
            level: rule.level.as_str(),
            rule_origin: &rule.origin,
            event_id,
            event_time: event.event_time(),
            event_source: event.event_source(),
            event_name: event.event_name(),
            principal_arn: event.principal_arn(),
            principal_type: event.user_identity_type(),
            access_key_id: event.access_key_id(),
            source_ip: event.source_ip(),
            user_agent: event.user_agent(),
            account_id: event.recipient_account_id().or_else(|| event.account_id()),
            region: event.aws_region(),
            error_code: event.error_code(),
            tags: &rule.tags,
            correlation: None,
            input: Some(input),
            record_index: Some(record_index),
        }
    }
}

/// Appends `text` as a JSON string, escaped exactly as `serde_json` escapes it (`\"`,
/// `\\`, `\b`, `\f`, `\n`, `\r`, `\t`, other control characters as `\u00xx`), but
/// copying runs of plain bytes in bulk.
fn push_json_str(buf: &mut Vec<u8>, text: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let needs_escape = |b: u8| b < 0x20 || b == b'"' || b == b'\\';
    let bytes = text.as_bytes();
    buf.reserve(bytes.len() + 2);
    buf.push(b'"');
    // Fast path: no byte needs escaping (checked in blocks the compiler vectorises).
    let blocks = bytes.chunks_exact(16);
    let tail = blocks.remainder();
    let block_dirty = |block: &[u8]| block.iter().fold(false, |acc, &b| acc | needs_escape(b));
    let clean = !blocks.into_iter().any(block_dirty) && !block_dirty(tail);
    if clean {
        buf.extend_from_slice(bytes);
    } else {
        let mut start = 0;
        for (i, &b) in bytes.iter().enumerate() {
            if !needs_escape(b) {
                continue;
            }
            buf.extend_from_slice(&bytes[start..i]);
            start = i + 1;
            match b {
                b'"' => buf.extend_from_slice(b"\\\""),
                b'\\' => buf.extend_from_slice(b"\\\\"),
                0x08 => buf.extend_from_slice(b"\\b"),
                0x0c => buf.extend_from_slice(b"\\f"),
                b'\n' => buf.extend_from_slice(b"\\n"),
                b'\r' => buf.extend_from_slice(b"\\r"),
                b'\t' => buf.extend_from_slice(b"\\t"),
                _ => buf.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[usize::from(b >> 4)], HEX[usize::from(b & 0xf)]]),
            }
        }
        buf.extend_from_slice(&bytes[start..]);
    }
    buf.push(b'"');
}

fn push_opt_str(buf: &mut Vec<u8>, text: Option<&str>) {
    match text {
        Some(t) => push_json_str(buf, t),
        None => buf.extend_from_slice(b"null"),
    }
}

impl FindingRecord<'_> {
    /// Appends the record as one compact JSON object (no newline): the same bytes as
    /// `serde_json::to_writer`, written directly.
    pub fn write_json(&self, buf: &mut Vec<u8>) -> Result<(), serde_json::Error> {
        if self.correlation.is_some() {
            return serde_json::to_writer(&mut *buf, self);
        }
        buf.extend_from_slice(b"{\"finding_id\":");
        push_json_str(buf, self.finding_id.as_str());
        buf.extend_from_slice(match self.kind {
            FindingKind::Event => b",\"kind\":\"event\"",
            FindingKind::Correlation => b",\"kind\":\"correlation\"",
        });
        let fields: [(&[u8], Option<&str>); 18] = [
            (b",\"rule_id\":", Some(self.rule_id)),
            (b",\"rule_title\":", Some(self.rule_title)),
            (b",\"rule_author\":", Some(self.rule_author)),
            (b",\"level\":", Some(self.level)),
            (b",\"rule_origin\":", Some(self.rule_origin)),
            (b",\"event_id\":", self.event_id),
            (b",\"event_time\":", self.event_time),
            (b",\"event_source\":", self.event_source),
            (b",\"event_name\":", self.event_name),
            (b",\"principal_arn\":", self.principal_arn),
            (b",\"principal_type\":", self.principal_type),
            (b",\"access_key_id\":", self.access_key_id),
            (b",\"source_ip\":", self.source_ip),
            (b",\"user_agent\":", self.user_agent),
            (b",\"account_id\":", self.account_id),
            (b",\"region\":", self.region),
            (b",\"error_code\":", self.error_code),
            (b",\"tags\":", None),
        ];
        for (key, value) in &fields[..17] {
            buf.extend_from_slice(key);
            push_opt_str(buf, *value);
        }
        buf.extend_from_slice(fields[17].0);
        buf.push(b'[');
        for (i, tag) in self.tags.iter().enumerate() {
            if i > 0 {
                buf.push(b',');
            }
            push_json_str(buf, tag);
        }
        buf.push(b']');
        if let Some(input) = self.input {
            buf.extend_from_slice(b",\"input\":");
            push_json_str(buf, input);
        }
        if let Some(index) = self.record_index {
            buf.extend_from_slice(b",\"record_index\":");
            let mut digits = [0u8; 20];
            let mut at = digits.len();
            let mut rest = index;
            loop {
                at -= 1;
                digits[at] = b'0' + (rest % 10) as u8;
                rest /= 10;
                if rest == 0 {
                    break;
                }
            }
            buf.extend_from_slice(&digits[at..]);
        }
        buf.push(b'}');
        Ok(())
    }
}

/// Our own JSON finding as a JSON value (see [`FindingRecord`] for the cheap borrowed form).
pub fn finding_json(f: &Finding) -> Value {
    serde_json::to_value(FindingRecord::new(f)).unwrap_or(Value::Null)
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
