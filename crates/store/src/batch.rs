//! Builders that turn events and findings into Arrow record batches following
//! [`cloudtrail_schema`](crate::schema::cloudtrail_schema) and
//! [`findings_schema`](crate::schema::findings_schema).
//!
//! Records are read with sonic-rs's lazy object iterators straight from the record's
//! bytes: no `serde_json::Value` tree is built per event.

use std::borrow::Cow;
use std::sync::Arc;

use arrow::array::NullBufferBuilder;
use arrow::array::{
    Array, ArrayRef, ListArray, RecordBatch, StringArray, StringBuilder, StructArray,
    TimestampMillisecondBuilder,
};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{Fields, SchemaRef};
use firebreak_events::CloudTrailEvent;
use firebreak_findings::{Finding, FindingKind};

use crate::error::{Result, StoreError};
use crate::rawjson::{for_each_item, for_each_member, members, RawValue};
use crate::schema;

/// Finishes a text column and readies its builder for a batch like this one: the next
/// batch starts with this one's room (plus a quarter), so appending rarely reallocates
/// (growing by doubling copied every column several times per batch).
fn finish_text(builder: &mut StringBuilder) -> StringArray {
    let array = builder.finish();
    let rows = array.len();
    let bytes = array.value_data().len();
    *builder = StringBuilder::with_capacity(rows + rows / 4, bytes + bytes / 4);
    array
}

/// Writes a scalar JSON value as text: strings unescaped, `null` as NULL, anything
/// else (number, boolean, object, array) as its JSON text.
fn append_scalar(builder: &mut StringBuilder, value: Option<&RawValue<'_>>) {
    match value {
        None => builder.append_null(),
        Some(v) if v.is_null() => builder.append_null(),
        Some(v) => match v.as_str() {
            Some(s) => builder.append_value(s),
            None => builder.append_value(v.text()),
        },
    }
}

/// Writes a value as its JSON text (`null` and absent as NULL). A string holding a
/// JSON object or array (CloudTrail Lake exports nest that way) is stored as that JSON.
fn append_json(builder: &mut StringBuilder, value: Option<&RawValue<'_>>) {
    match value {
        Some(v) if v.is_string() => match nested_text(v) {
            Some(inner) => builder.append_value(inner),
            None => builder.append_value(v.text()),
        },
        Some(v) if !v.is_null() => builder.append_value(v.text()),
        _ => builder.append_null(),
    }
}

/// The JSON text of an object or array value, or of a string whose content is a JSON
/// object or array (CloudTrail Lake stores nested columns as strings).
fn nested_text<'a>(value: &RawValue<'a>) -> Option<Cow<'a, str>> {
    if value.is_object() || value.is_array() {
        return Some(Cow::Borrowed(value.text()));
    }
    let inner = value.as_str()?;
    let t = inner.trim();
    if (t.starts_with('{') || t.starts_with('['))
        && sonic_rs::from_str::<sonic_rs::Value>(t).is_ok()
    {
        Some(Cow::Owned(t.to_string()))
    } else {
        None
    }
}

/// The JSON text of an object (or of a string holding one).
fn object_text<'a>(value: Option<&RawValue<'a>>) -> Option<Cow<'a, str>> {
    value.and_then(nested_text).filter(|t| t.starts_with('{'))
}

/// The JSON text of an array (or of a string holding one).
fn array_text<'a>(value: Option<&RawValue<'a>>) -> Option<Cow<'a, str>> {
    value.and_then(nested_text).filter(|t| t.starts_with('['))
}

/// A struct column whose children are all text.
struct TextStruct {
    fields: Fields,
    valid: NullBufferBuilder,
    children: Vec<StringBuilder>,
}

impl TextStruct {
    fn new(fields: Fields) -> Self {
        let children = fields.iter().map(|_| StringBuilder::new()).collect();
        TextStruct {
            fields,
            valid: NullBufferBuilder::new(0),
            children,
        }
    }

    fn append_null(&mut self) {
        self.valid.append_null();
        for c in &mut self.children {
            c.append_null();
        }
    }

    /// Appends a present struct; `values` has one entry per child, in order.
    fn append(&mut self, values: &[Option<RawValue<'_>>]) {
        self.valid.append_non_null();
        for (i, c) in self.children.iter_mut().enumerate() {
            append_scalar(c, values.get(i).and_then(Option::as_ref));
        }
    }

    /// Appends the object `value` (its members `keys`, matching the children in order), or
    /// NULL when `value` is absent or not an object.
    fn append_object<const N: usize>(&mut self, value: Option<&RawValue<'_>>, keys: &[&str; N]) {
        match object_text(value) {
            Some(text) => self.append(&members(&text, keys)),
            None => self.append_null(),
        }
    }

    fn finish(&mut self) -> Result<StructArray> {
        let arrays: Vec<ArrayRef> = self
            .children
            .iter_mut()
            .map(|c| Arc::new(finish_text(c)) as ArrayRef)
            .collect();
        StructArray::try_new(self.fields.clone(), arrays, self.valid.finish())
            .map_err(|e| StoreError::arrow("building a struct column", e))
    }
}

const ATTRIBUTE_KEYS: [&str; 2] = ["mfaAuthenticated", "creationDate"];
const ISSUER_KEYS: [&str; 5] = ["type", "principalId", "arn", "accountId", "userName"];
const ON_BEHALF_OF_KEYS: [&str; 2] = ["userId", "identityStoreArn"];
const TLS_KEYS: [&str; 3] = ["tlsVersion", "cipherSuite", "clientProvidedHostHeader"];
/// `userIdentity` members: the seven text children, then the nested ones.
const IDENTITY_KEYS: [&str; 11] = [
    "type",
    "principalId",
    "arn",
    "accountId",
    "invokedBy",
    "accessKeyId",
    "userName",
    "sessionContext",
    "onBehalfOf",
    "identityStoreArn",
    "credentialId",
];
const SESSION_CONTEXT_KEYS: [&str; 4] = [
    "attributes",
    "sessionIssuer",
    "sourceIdentity",
    "ec2RoleDelivery",
];

/// The `useridentity` column.
struct IdentityColumn {
    valid: NullBufferBuilder,
    text: Vec<StringBuilder>,
    context_valid: NullBufferBuilder,
    attributes: TextStruct,
    issuer: TextStruct,
    source_identity: StringBuilder,
    ec2_role_delivery: StringBuilder,
    on_behalf_of: TextStruct,
    identity_store_arn: StringBuilder,
    credential_id: StringBuilder,
}

impl IdentityColumn {
    fn new() -> Self {
        IdentityColumn {
            valid: NullBufferBuilder::new(0),
            text: (0..7).map(|_| StringBuilder::new()).collect(),
            context_valid: NullBufferBuilder::new(0),
            attributes: TextStruct::new(schema::attributes_fields()),
            issuer: TextStruct::new(schema::session_issuer_fields()),
            source_identity: StringBuilder::new(),
            ec2_role_delivery: StringBuilder::new(),
            on_behalf_of: TextStruct::new(schema::on_behalf_of_fields()),
            identity_store_arn: StringBuilder::new(),
            credential_id: StringBuilder::new(),
        }
    }

    fn append(&mut self, value: Option<&RawValue<'_>>) {
        let text = object_text(value);
        let values = match &text {
            Some(text) => {
                self.valid.append_non_null();
                members(text, &IDENTITY_KEYS)
            }
            None => {
                self.valid.append_null();
                std::array::from_fn(|_| None)
            }
        };
        for (i, b) in self.text.iter_mut().enumerate() {
            append_scalar(b, values[i].as_ref());
        }
        match object_text(values[7].as_ref()) {
            Some(context) => {
                self.context_valid.append_non_null();
                let parts = members(&context, &SESSION_CONTEXT_KEYS);
                self.attributes
                    .append_object(parts[0].as_ref(), &ATTRIBUTE_KEYS);
                self.issuer.append_object(parts[1].as_ref(), &ISSUER_KEYS);
                append_scalar(&mut self.source_identity, parts[2].as_ref());
                append_scalar(&mut self.ec2_role_delivery, parts[3].as_ref());
            }
            None => {
                self.context_valid.append_null();
                self.attributes.append_null();
                self.issuer.append_null();
                self.source_identity.append_null();
                self.ec2_role_delivery.append_null();
            }
        }
        self.on_behalf_of
            .append_object(values[8].as_ref(), &ON_BEHALF_OF_KEYS);
        append_scalar(&mut self.identity_store_arn, values[9].as_ref());
        append_scalar(&mut self.credential_id, values[10].as_ref());
    }

    fn finish(&mut self) -> Result<StructArray> {
        let context = StructArray::try_new(
            schema::session_context_fields(),
            vec![
                Arc::new(self.attributes.finish()?) as ArrayRef,
                Arc::new(self.issuer.finish()?),
                Arc::new(finish_text(&mut self.source_identity)),
                Arc::new(finish_text(&mut self.ec2_role_delivery)),
            ],
            self.context_valid.finish(),
        )
        .map_err(|e| StoreError::arrow("building useridentity.sessioncontext", e))?;
        let mut arrays: Vec<ArrayRef> = self
            .text
            .iter_mut()
            .map(|b| Arc::new(finish_text(b)) as ArrayRef)
            .collect();
        arrays.push(Arc::new(context));
        arrays.push(Arc::new(self.on_behalf_of.finish()?));
        arrays.push(Arc::new(finish_text(&mut self.identity_store_arn)));
        arrays.push(Arc::new(finish_text(&mut self.credential_id)));
        StructArray::try_new(schema::user_identity_fields(), arrays, self.valid.finish())
            .map_err(|e| StoreError::arrow("building useridentity", e))
    }
}

/// The `resources` column: a list of `{arn, accountid, type}`.
struct ResourcesColumn {
    offsets: Vec<i32>,
    valid: NullBufferBuilder,
    items: TextStruct,
}

const RESOURCE_KEYS: [&str; 3] = ["ARN", "accountId", "type"];

impl ResourcesColumn {
    fn new() -> Self {
        ResourcesColumn {
            offsets: vec![0],
            valid: NullBufferBuilder::new(0),
            items: TextStruct::new(schema::resource_fields()),
        }
    }

    fn append(&mut self, value: Option<&RawValue<'_>>) {
        let mut count = 0i32;
        match array_text(value) {
            Some(list) => {
                self.valid.append_non_null();
                let items = &mut self.items;
                for_each_item(list.as_ref(), |item| {
                    if item.is_object() {
                        let mut values = members(item.text(), &["ARN", "accountId", "type", "arn"]);
                        if values[0].is_none() {
                            values[0] = values[3].take();
                        }
                        items.append(&values[..RESOURCE_KEYS.len()]);
                    } else {
                        items.append_null();
                    }
                    count += 1;
                });
            }
            None => self.valid.append_null(),
        }
        let last = self.offsets.last().copied().unwrap_or(0);
        self.offsets.push(last.saturating_add(count));
    }

    fn finish(&mut self) -> Result<ListArray> {
        let offsets = OffsetBuffer::new(std::mem::replace(&mut self.offsets, vec![0]).into());
        let items = self.items.finish()?;
        ListArray::try_new(
            schema::resource_item_field(),
            offsets,
            Arc::new(items),
            self.valid.finish(),
        )
        .map_err(|e| StoreError::arrow("building resources", e))
    }
}

/// How a top-level `cloudtrail` column is filled.
#[derive(Clone, Copy)]
enum Kind {
    /// A scalar (text as is; other scalars as their JSON text).
    Scalar,
    /// Any value, as its JSON text.
    Json,
}

/// The simple top-level columns: record key, column kind. The order is the schema's
/// order with the struct/list/extra columns left out.
const SIMPLE: [(&str, Kind); 26] = [
    ("eventVersion", Kind::Scalar),
    ("eventTime", Kind::Scalar),
    ("eventSource", Kind::Scalar),
    ("eventName", Kind::Scalar),
    ("awsRegion", Kind::Scalar),
    ("sourceIPAddress", Kind::Scalar),
    ("userAgent", Kind::Scalar),
    ("errorCode", Kind::Scalar),
    ("errorMessage", Kind::Scalar),
    ("requestParameters", Kind::Json),
    ("responseElements", Kind::Json),
    ("additionalEventData", Kind::Json),
    ("requestID", Kind::Scalar),
    ("eventID", Kind::Scalar),
    ("eventType", Kind::Scalar),
    ("apiVersion", Kind::Scalar),
    ("readOnly", Kind::Scalar),
    ("recipientAccountId", Kind::Scalar),
    ("serviceEventDetails", Kind::Json),
    ("sharedEventID", Kind::Scalar),
    ("vpcEndpointId", Kind::Scalar),
    ("vpcEndpointAccountId", Kind::Scalar),
    ("eventCategory", Kind::Scalar),
    ("addendum", Kind::Json),
    ("sessionCredentialFromConsole", Kind::Scalar),
    ("edgeDeviceDetails", Kind::Json),
];

/// Slot of each record key in the per-row member array: the [`SIMPLE`] keys, then
/// `userIdentity`, `resources`, `tlsDetails`.
fn slot_of(key: &str) -> Option<usize> {
    Some(match key {
        "eventVersion" => 0,
        "eventTime" => 1,
        "eventSource" => 2,
        "eventName" => 3,
        "awsRegion" => 4,
        "sourceIPAddress" => 5,
        "userAgent" => 6,
        "errorCode" => 7,
        "errorMessage" => 8,
        "requestParameters" => 9,
        "responseElements" => 10,
        "additionalEventData" => 11,
        "requestID" => 12,
        "eventID" => 13,
        "eventType" => 14,
        "apiVersion" => 15,
        "readOnly" => 16,
        "recipientAccountId" => 17,
        "serviceEventDetails" => 18,
        "sharedEventID" => 19,
        "vpcEndpointId" => 20,
        "vpcEndpointAccountId" => 21,
        "eventCategory" => 22,
        "addendum" => 23,
        "sessionCredentialFromConsole" => 24,
        "edgeDeviceDetails" => 25,
        "userIdentity" => IDENTITY_SLOT,
        "resources" => RESOURCES_SLOT,
        "tlsDetails" => TLS_SLOT,
        _ => return None,
    })
}
const IDENTITY_SLOT: usize = 26;
const RESOURCES_SLOT: usize = 27;
const TLS_SLOT: usize = 28;
const SLOTS: usize = 29;

/// Accumulates CloudTrail events as rows of the `cloudtrail` table.
///
/// ```
/// use firebreak_events::CloudTrailEvent;
/// use firebreak_store::batch::EventBatchBuilder;
/// let raw = br#"{"eventID":"e1","eventTime":"2026-10-01T01:57:10Z","readOnly":true,
///   "userIdentity":{"type":"Root","arn":"arn:aws:iam::1:root"}}"#;
/// let mut builder = EventBatchBuilder::new();
/// builder.append(&CloudTrailEvent::parse(raw).unwrap(), "example.json");
/// let batch = builder.finish().unwrap();
/// assert_eq!(batch.num_rows(), 1);
/// ```
pub struct EventBatchBuilder {
    schema: SchemaRef,
    simple: Vec<StringBuilder>,
    identity: IdentityColumn,
    resources: ResourcesColumn,
    tls: TextStruct,
    event_ts: TimestampMillisecondBuilder,
    raw: StringBuilder,
    source: StringBuilder,
    rows: usize,
    raw_bytes: usize,
}

impl Default for EventBatchBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl EventBatchBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        EventBatchBuilder {
            schema: schema::cloudtrail_schema(),
            simple: SIMPLE.iter().map(|_| StringBuilder::new()).collect(),
            identity: IdentityColumn::new(),
            resources: ResourcesColumn::new(),
            tls: TextStruct::new(schema::tls_details_fields()),
            event_ts: TimestampMillisecondBuilder::new().with_timezone("UTC"),
            raw: StringBuilder::new(),
            source: StringBuilder::new(),
            rows: 0,
            raw_bytes: 0,
        }
    }

    /// Appends one event; `source` is the input it came from.
    pub fn append(&mut self, event: &CloudTrailEvent<'_>, source: &str) {
        let raw = event.raw_str();
        let mut slots: [Option<RawValue<'_>>; SLOTS] = [None; SLOTS];
        // The reader already located every top-level member (and checked the record):
        // use its table, unless it is partial or a key holds escapes; then scan, stopping
        // at damage rather than guessing. The first occurrence of a key wins either way.
        let mut located = false;
        if let Some(members) = event.top_level_members() {
            located = true;
            for member in members {
                if member.key_escaped {
                    located = false;
                    slots = [None; SLOTS];
                    break;
                }
                if let Some(i) = slot_of(member.key) {
                    if slots[i].is_none() {
                        slots[i] = Some(RawValue::located(member.value, member.value_escaped));
                    }
                }
            }
        }
        if !located {
            for_each_member(raw, |key, value| {
                if let Some(i) = slot_of(key) {
                    if slots[i].is_none() {
                        slots[i] = Some(value);
                    }
                }
            });
        }
        for (i, (builder, (_, kind))) in self.simple.iter_mut().zip(SIMPLE.iter()).enumerate() {
            match kind {
                Kind::Scalar => append_scalar(builder, slots[i].as_ref()),
                Kind::Json => append_json(builder, slots[i].as_ref()),
            }
        }
        self.identity.append(slots[IDENTITY_SLOT].as_ref());
        self.resources.append(slots[RESOURCES_SLOT].as_ref());
        self.tls.append_object(slots[TLS_SLOT].as_ref(), &TLS_KEYS);
        self.event_ts.append_option(event.event_time_millis());
        self.raw.append_value(raw);
        self.source.append_value(source);
        self.rows += 1;
        self.raw_bytes += raw.len();
    }

    /// Rows appended since the last [`finish`](Self::finish).
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether no row was appended since the last [`finish`](Self::finish).
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Bytes of raw record text appended since the last [`finish`](Self::finish) (to cut
    /// batches by size).
    pub fn raw_bytes(&self) -> usize {
        self.raw_bytes
    }

    /// The rows appended so far as a batch of the `cloudtrail` schema; the builder is
    /// empty afterwards.
    pub fn finish(&mut self) -> Result<RecordBatch> {
        let mut simple = self
            .simple
            .iter_mut()
            .map(|b| Arc::new(finish_text(b)) as ArrayRef);
        let mut next = || {
            simple
                .next()
                .ok_or_else(|| StoreError::Thread("column count mismatch".into()))
        };
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(32);
        columns.push(next()?); // eventversion
        columns.push(Arc::new(self.identity.finish()?));
        for _ in 0..13 {
            // eventtime .. eventid
            columns.push(next()?);
        }
        columns.push(Arc::new(self.resources.finish()?));
        for _ in 0..12 {
            // eventtype .. edgedevicedetails
            columns.push(next()?);
        }
        columns.push(Arc::new(self.tls.finish()?));
        columns.push(Arc::new(self.event_ts.finish()));
        columns.push(Arc::new(finish_text(&mut self.raw)));
        columns.push(Arc::new(finish_text(&mut self.source)));
        self.rows = 0;
        self.raw_bytes = 0;
        RecordBatch::try_new(self.schema.clone(), columns)
            .map_err(|e| StoreError::arrow("building an event batch", e))
    }
}

/// Accumulates findings as rows of the `findings` table.
pub struct FindingBatchBuilder {
    text: Vec<StringBuilder>,
    tags_offsets: Vec<i32>,
    tags: StringBuilder,
    correlation: StringBuilder,
    source: StringBuilder,
    event_ts: TimestampMillisecondBuilder,
    rows: usize,
}

impl Default for FindingBatchBuilder {
    fn default() -> Self {
        Self::new()
    }
}

/// The JSON text stored in `findings.correlation`.
pub fn correlation_json(finding: &Finding) -> Option<String> {
    let c = finding.correlation.as_ref()?;
    let time = |ms: i64| {
        jiff::Timestamp::from_millisecond(ms)
            .map(|t| t.to_string())
            .unwrap_or_else(|_| ms.to_string())
    };
    let group: serde_json::Map<String, serde_json::Value> = c
        .group
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
        .collect();
    let value = serde_json::json!({
        "group": group,
        "count": c.count,
        "first": time(c.first_ms),
        "last": time(c.last_ms),
        "event_ids": c.event_ids,
    });
    Some(value.to_string())
}

impl FindingBatchBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        FindingBatchBuilder {
            text: (0..17).map(|_| StringBuilder::new()).collect(),
            tags_offsets: vec![0],
            tags: StringBuilder::new(),
            correlation: StringBuilder::new(),
            source: StringBuilder::new(),
            event_ts: TimestampMillisecondBuilder::new().with_timezone("UTC"),
            rows: 0,
        }
    }

    /// Appends one finding.
    pub fn append(&mut self, finding: &Finding) {
        let e = &finding.event;
        let kind = match finding.kind {
            FindingKind::Event => "event",
            FindingKind::Correlation => "correlation",
        };
        let values: [Option<&str>; 17] = [
            Some(finding.rule.id.as_str()),
            Some(finding.rule.title.as_str()),
            Some(finding.rule.author.as_str()),
            Some(finding.rule.level.as_str()),
            Some(finding.rule.origin.as_str()),
            Some(kind),
            e.event_id.as_deref(),
            e.event_time.as_deref(),
            e.event_source.as_deref(),
            e.event_name.as_deref(),
            e.principal_arn.as_deref(),
            e.access_key_id.as_deref(),
            e.source_ip.as_deref(),
            e.user_agent.as_deref(),
            e.account_id.as_deref(),
            e.region.as_deref(),
            e.error_code.as_deref(),
        ];
        for (b, v) in self.text.iter_mut().zip(values) {
            b.append_option(v);
        }
        for tag in &finding.rule.tags {
            self.tags.append_value(tag);
        }
        let last = self.tags_offsets.last().copied().unwrap_or(0);
        self.tags_offsets
            .push(last.saturating_add(i32::try_from(finding.rule.tags.len()).unwrap_or(i32::MAX)));
        self.correlation.append_option(correlation_json(finding));
        self.source.append_option(finding.input.as_deref());
        self.event_ts.append_option(finding.time_ms());
        self.rows += 1;
    }

    /// Rows appended since the last [`finish`](Self::finish).
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether no row was appended since the last [`finish`](Self::finish).
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// The rows appended so far as a batch of the `findings` schema; the builder is
    /// empty afterwards.
    pub fn finish(&mut self) -> Result<RecordBatch> {
        let schema = schema::findings_schema();
        let mut columns: Vec<ArrayRef> = self
            .text
            .iter_mut()
            .map(|b| Arc::new(b.finish()) as ArrayRef)
            .collect();
        let item = Arc::new(arrow::datatypes::Field::new(
            "item",
            arrow::datatypes::DataType::Utf8,
            true,
        ));
        let offsets = OffsetBuffer::new(std::mem::replace(&mut self.tags_offsets, vec![0]).into());
        let tags = ListArray::try_new(item, offsets, Arc::new(self.tags.finish()), None)
            .map_err(|e| StoreError::arrow("building findings.tags", e))?;
        columns.push(Arc::new(tags));
        columns.push(Arc::new(self.correlation.finish()));
        columns.push(Arc::new(finish_text(&mut self.source)));
        columns.push(Arc::new(self.event_ts.finish()));
        self.rows = 0;
        RecordBatch::try_new(schema, columns)
            .map_err(|e| StoreError::arrow("building a findings batch", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The columns filled from the reader's member table equal those of a full scan of
    /// the record (an escaped key makes the builder scan).
    #[test]
    fn located_members_fill_the_same_columns_as_a_scan() {
        let body = r#""eventVersion":"1.09","userIdentity":{"type":"AssumedRole","principalId":"AROA:s","arn":"arn:aws:sts::1:assumed-role/r/s",
            "accountId":"1","accessKeyId":"ASIA1","sessionContext":{"sessionIssuer":{"type":"Role","arn":"arn:aws:iam::1:role/r","userName":"r"},
            "attributes":{"creationDate":"2026-10-01T00:00:00Z","mfaAuthenticated":"false"}}},"eventTime":"2026-10-01T01:02:03Z",
            "eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"eu-west-1","sourceIPAddress":"198.51.100.7",
            "userAgent":"ua \"quoted\"","requestParameters":{"bucketName":"b","key":"k\\n"},"responseElements":null,
            "resources":[{"ARN":"arn:aws:s3:::b","type":"AWS::S3::Bucket"}],"eventID":"e1","readOnly":true,
            "tlsDetails":{"tlsVersion":"TLSv1.3"},"eventName":"Ignored""#;
        let located = format!(r#"{{{body},"xy":1}}"#);
        let scanned = format!(r#"{{{body},"x\u0079":1}}"#);
        let build = |raw: &str| {
            let event = CloudTrailEvent::parse(raw.as_bytes()).expect("parses");
            let mut builder = EventBatchBuilder::new();
            builder.append(&event, "t");
            let batch = builder.finish().expect("batch");
            let raw_index = batch
                .schema()
                .index_of(schema::col::RAW)
                .expect("raw column");
            let mut columns = batch.columns().to_vec();
            columns.remove(raw_index);
            columns
        };
        let event = CloudTrailEvent::parse(located.as_bytes()).expect("parses");
        assert!(event
            .top_level_members()
            .is_some_and(|mut m| m.all(|m| !m.key_escaped)));
        let (a, b) = (build(&located), build(&scanned));
        assert_eq!(a.len(), b.len());
        for (i, (x, y)) in a.iter().zip(&b).enumerate() {
            assert_eq!(x.to_data(), y.to_data(), "column {i}");
        }
        // The first eventName wins in both.
        let names = a[schema::cloudtrail_schema()
            .index_of(schema::col::EVENT_NAME)
            .expect("eventname")]
        .as_any()
        .downcast_ref::<StringArray>()
        .expect("text")
        .value(0)
        .to_string();
        assert_eq!(names, "GetObject");
    }
}
