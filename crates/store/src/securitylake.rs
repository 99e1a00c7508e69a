//! Amazon Security Lake input: OCSF Parquet (class API Activity, 6003, CloudTrail
//! source) mapped back to CloudTrail records, which then go through the same pipeline
//! as any other input (columns, dedup, detection).
//!
//! The mapping inverts Security Lake's OCSF 1.1 CloudTrail mapping:
//!
//! | CloudTrail | OCSF |
//! |---|---|
//! | `eventTime` | `time` (ms since the epoch, or a timestamp), else `time_dt` |
//! | `eventName` / `eventSource` / `apiVersion` | `api.operation` / `api.service.name` / `api.version` |
//! | `awsRegion` / `recipientAccountId` | `cloud.region` / `cloud.account.uid` |
//! | `eventID` / `requestID` | `metadata.uid` / `api.request.uid` |
//! | `eventType` / `eventVersion` / `eventCategory` | `metadata.event_code` / `metadata.product.version` / `metadata.product.feature.name` |
//! | `sourceIPAddress` | `src_endpoint.ip`, else `src_endpoint.domain` (a service name) |
//! | `vpcEndpointId` | `src_endpoint.uid` |
//! | `userAgent` | `http_request.user_agent` |
//! | `errorCode` / `errorMessage` | `api.response.error` / `api.response.message` |
//! | `requestParameters` / `responseElements` | `api.request.data` / `api.response.data` (JSON text) |
//! | `userIdentity.type` / `.userName` / `.accessKeyId` | `actor.user.type` / `.name` / `.credential_uid` |
//! | `userIdentity.arn` / `.principalId` | `actor.user.uid` (an ARN) / `actor.user.uid_alt` (a `uid` that is not an ARN is taken as the principal id) |
//! | `userIdentity.accountId` | `actor.user.account.uid` (or `account_uid`) |
//! | `userIdentity.invokedBy` | `actor.invoked_by` |
//! | `userIdentity.sessionContext.sessionIssuer.arn` | `actor.session.issuer` |
//! | `userIdentity.sessionContext.attributes.mfaAuthenticated` / `.creationDate` | `actor.session.is_mfa` (or `mfa`) / `actor.session.created_time_dt` (or `created_time`) |
//! | `resources[]` `ARN` / `accountId` / `type` | `resources[]` `uid` / `owner.account.uid` (or `account_uid`) / `type` |
//! | anything else (`readOnly`, `managementEvent`, `sharedEventID`, `tlsDetails`, `additionalEventData`...) | `unmapped` (a map, a struct or JSON text; dotted keys are nested) |
//!
//! Rows of other sources (a `metadata.product.name` other than CloudTrail, or no
//! `api.operation`) are skipped and counted in one informational error per file.

use std::ops::ControlFlow;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::datatypes::DataType;
use firebreak_events::{ErrorLocation, ReadError, ReadErrorKind};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::file::reader::ChunkReader;
use serde_json::{Map, Value};

/// The first bytes of a Parquet file.
pub const PARQUET_MAGIC: &[u8; 4] = b"PAR1";

/// The shape name reported for these inputs.
pub const SHAPE_NAME: &str = "Security Lake OCSF Parquet";

/// Rows read at a time.
const BATCH_ROWS: usize = 4096;

/// CloudTrail keys whose `unmapped` text values are booleans in CloudTrail records.
const BOOLEAN_KEYS: [&str; 2] = ["readOnly", "managementEvent"];

/// A column found by path, with the struct arrays above it (a row is NULL when any of
/// them is).
struct Column {
    array: ArrayRef,
    parents: Vec<ArrayRef>,
}

impl Column {
    fn find(batch: &RecordBatch, path: &[&str]) -> Option<Column> {
        let (first, rest) = path.split_first()?;
        Column::descend(batch.column_by_name(first)?.clone(), rest)
    }

    /// The column at `path` below the struct column `array` (the array itself when
    /// `path` is empty), keeping the structs crossed for their nulls.
    fn descend(mut array: ArrayRef, path: &[&str]) -> Option<Column> {
        let mut parents = Vec::new();
        for name in path {
            let child = array.as_struct_opt()?.column_by_name(name)?.clone();
            parents.push(array);
            array = child;
        }
        Some(Column { array, parents })
    }

    fn is_valid(&self, row: usize) -> bool {
        self.array.is_valid(row) && self.parents.iter().all(|p| p.is_valid(row))
    }

    fn text(&self, row: usize) -> Option<String> {
        if !self.is_valid(row) {
            return None;
        }
        cell_text(&self.array, row)
    }

    /// The value in milliseconds since the epoch (integers are taken as milliseconds).
    fn millis(&self, row: usize) -> Option<i64> {
        if !self.is_valid(row) {
            return None;
        }
        integer_millis(&self.array, row)
    }
}

/// A cell as text (strings as they are, anything else as Arrow displays it).
fn cell_text(array: &ArrayRef, row: usize) -> Option<String> {
    if array.is_null(row) {
        return None;
    }
    match array.data_type() {
        DataType::Utf8 => Some(array.as_string::<i32>().value(row).to_string()),
        DataType::LargeUtf8 => Some(array.as_string::<i64>().value(row).to_string()),
        DataType::Utf8View => Some(array.as_string_view().value(row).to_string()),
        DataType::Dictionary(_, _) => {
            let dict = array.as_any_dictionary_opt()?;
            let key = dict.normalized_keys().get(row).copied()?;
            cell_text(dict.values(), key)
        }
        _ => arrow::util::display::array_value_to_string(array, row).ok(),
    }
}

fn integer_millis(array: &ArrayRef, row: usize) -> Option<i64> {
    use arrow::datatypes::*;
    Some(match array.data_type() {
        DataType::Int64 => array.as_primitive::<Int64Type>().value(row),
        DataType::Int32 => i64::from(array.as_primitive::<Int32Type>().value(row)),
        DataType::UInt64 => i64::try_from(array.as_primitive::<UInt64Type>().value(row)).ok()?,
        DataType::Timestamp(TimeUnit::Second, _) => array
            .as_primitive::<TimestampSecondType>()
            .value(row)
            .checked_mul(1000)?,
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            array.as_primitive::<TimestampMillisecondType>().value(row)
        }
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            array.as_primitive::<TimestampMicrosecondType>().value(row) / 1000
        }
        DataType::Timestamp(TimeUnit::Nanosecond, _) => {
            array.as_primitive::<TimestampNanosecondType>().value(row) / 1_000_000
        }
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            let text = cell_text(array, row)?;
            match text.parse::<i64>() {
                Ok(ms) => ms,
                Err(_) => firebreak_events::field::parse_event_time_millis(&text)?,
            }
        }
        _ => return None,
    })
}

/// CloudTrail's time format: seconds, or milliseconds when there are some.
fn cloudtrail_time(ms: i64) -> Option<String> {
    let t = jiff::Timestamp::from_millisecond(ms).ok()?;
    Some(if ms.rem_euclid(1000) == 0 {
        t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
    } else {
        t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
    })
}

/// JSON text as a value; text that is not JSON stays a string.
fn json_or_text(text: String) -> Value {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{')
        || trimmed.starts_with('[')
        || trimmed.starts_with('"')
        || trimmed == "null"
    {
        if let Ok(v) = serde_json::from_str::<Value>(&text) {
            return v;
        }
    }
    Value::String(text)
}

/// The columns used by the mapping, looked up once per batch.
struct Columns {
    time: Option<Column>,
    time_dt: Option<Column>,
    operation: Option<Column>,
    service: Option<Column>,
    api_version: Option<Column>,
    region: Option<Column>,
    account: Option<Column>,
    event_id: Option<Column>,
    request_id: Option<Column>,
    event_code: Option<Column>,
    product_name: Option<Column>,
    product_version: Option<Column>,
    feature: Option<Column>,
    src_ip: Option<Column>,
    src_domain: Option<Column>,
    src_uid: Option<Column>,
    user_agent: Option<Column>,
    error: Option<Column>,
    message: Option<Column>,
    request_data: Option<Column>,
    response_data: Option<Column>,
    user_type: Option<Column>,
    user_uid: Option<Column>,
    user_uid_alt: Option<Column>,
    user_name: Option<Column>,
    credential: Option<Column>,
    user_account: Option<Column>,
    invoked_by: Option<Column>,
    issuer: Option<Column>,
    is_mfa: Option<Column>,
    created: Option<Column>,
    resources: Option<Column>,
    unmapped: Option<Column>,
}

impl Columns {
    fn new(b: &RecordBatch) -> Self {
        let f = |path: &[&str]| Column::find(b, path);
        let either = |a: &[&str], b2: &[&str]| f(a).or_else(|| f(b2));
        Columns {
            time: f(&["time"]),
            time_dt: f(&["time_dt"]),
            operation: f(&["api", "operation"]),
            service: f(&["api", "service", "name"]),
            api_version: f(&["api", "version"]),
            region: f(&["cloud", "region"]),
            account: either(&["cloud", "account", "uid"], &["cloud", "account_uid"]),
            event_id: f(&["metadata", "uid"]),
            request_id: f(&["api", "request", "uid"]),
            event_code: f(&["metadata", "event_code"]),
            product_name: f(&["metadata", "product", "name"]),
            product_version: f(&["metadata", "product", "version"]),
            feature: f(&["metadata", "product", "feature", "name"]),
            src_ip: f(&["src_endpoint", "ip"]),
            src_domain: f(&["src_endpoint", "domain"]),
            src_uid: f(&["src_endpoint", "uid"]),
            user_agent: f(&["http_request", "user_agent"]),
            error: f(&["api", "response", "error"]),
            message: f(&["api", "response", "message"]),
            request_data: f(&["api", "request", "data"]),
            response_data: f(&["api", "response", "data"]),
            user_type: f(&["actor", "user", "type"]),
            user_uid: f(&["actor", "user", "uid"]),
            user_uid_alt: f(&["actor", "user", "uid_alt"]),
            user_name: f(&["actor", "user", "name"]),
            credential: f(&["actor", "user", "credential_uid"]),
            user_account: either(
                &["actor", "user", "account", "uid"],
                &["actor", "user", "account_uid"],
            ),
            invoked_by: f(&["actor", "invoked_by"]),
            issuer: f(&["actor", "session", "issuer"]),
            is_mfa: either(
                &["actor", "session", "is_mfa"],
                &["actor", "session", "mfa"],
            ),
            created: either(
                &["actor", "session", "created_time_dt"],
                &["actor", "session", "created_time"],
            ),
            resources: f(&["resources"]),
            unmapped: f(&["unmapped"]),
        }
    }
}

fn text(c: &Option<Column>, row: usize) -> Option<String> {
    c.as_ref().and_then(|c| c.text(row))
}

fn put(map: &mut Map<String, Value>, key: &str, value: Option<String>) {
    if let Some(v) = value {
        map.insert(key.to_string(), Value::String(v));
    }
}

/// The `resources` of one row.
fn resources(column: &Column, row: usize) -> Option<Value> {
    if !column.is_valid(row) {
        return None;
    }
    let list = column.array.as_list_opt::<i32>()?;
    let items = list.value(row);
    let items = items.as_struct_opt()?;
    let sub = |path: &[&str]| -> Option<Column> {
        let (first, rest) = path.split_first()?;
        Column::descend(items.column_by_name(first)?.clone(), rest)
    };
    let uid = sub(&["uid"]);
    let kind = sub(&["type"]);
    let owner = sub(&["owner", "account", "uid"])
        .or_else(|| sub(&["owner", "account_uid"]))
        .or_else(|| sub(&["account_uid"]));
    let mut out = Vec::new();
    for i in 0..items.len() {
        if items.is_null(i) {
            continue;
        }
        let mut r = Map::new();
        put(&mut r, "accountId", text(&owner, i));
        put(&mut r, "type", text(&kind, i));
        put(&mut r, "ARN", text(&uid, i));
        out.push(Value::Object(r));
    }
    Some(Value::Array(out))
}

/// The `unmapped` entries of one row: a map, a struct, or JSON text.
fn unmapped(column: &Column, row: usize) -> Vec<(String, String)> {
    if !column.is_valid(row) {
        return Vec::new();
    }
    let array = &column.array;
    if let Some(map) = array.as_map_opt() {
        let entries = map.value(row);
        let (Some(keys), Some(values)) = (
            entries
                .column_by_name("key")
                .or_else(|| Some(entries.column(0))),
            Some(entries.column(1)),
        ) else {
            return Vec::new();
        };
        return (0..entries.len())
            .filter_map(|i| Some((cell_text(keys, i)?, cell_text(values, i)?)))
            .collect();
    }
    if let Some(s) = array.as_struct_opt() {
        return s
            .column_names()
            .iter()
            .zip(s.columns())
            .filter_map(|(name, child)| Some((name.to_string(), cell_text(child, row)?)))
            .collect();
    }
    match cell_text(array, row).map(|t| serde_json::from_str::<Value>(&t)) {
        Some(Ok(Value::Object(obj))) => obj
            .into_iter()
            .map(|(k, v)| {
                let text = match v {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                (k, text)
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Puts `value` at a dotted path, unless something is already there.
fn put_path(map: &mut Map<String, Value>, path: &str, value: Value) {
    let mut parts = path.split('.').peekable();
    let mut current = map;
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            current.entry(part.to_string()).or_insert(value);
            return;
        }
        let entry = current
            .entry(part.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        match entry {
            Value::Object(next) => current = next,
            _ => return,
        }
    }
}

/// Maps row `row` to a CloudTrail record; `None` when the row is not CloudTrail API activity.
fn record(c: &Columns, row: usize) -> Option<Map<String, Value>> {
    if let Some(product) = text(&c.product_name, row) {
        if !product.eq_ignore_ascii_case("cloudtrail") {
            return None;
        }
    }
    let event_name = text(&c.operation, row)?;
    let mut r = Map::new();
    let extras = c
        .unmapped
        .as_ref()
        .map(|u| unmapped(u, row))
        .unwrap_or_default();
    let extra = |key: &str| {
        extras
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    };
    put(
        &mut r,
        "eventVersion",
        extra("eventVersion").or_else(|| text(&c.product_version, row)),
    );

    let mut identity = Map::new();
    put(&mut identity, "type", text(&c.user_type, row));
    let uid = text(&c.user_uid, row);
    let (arn, principal) = match uid {
        Some(u) if u.starts_with("arn:") => (Some(u), text(&c.user_uid_alt, row)),
        Some(u) => (None, text(&c.user_uid_alt, row).or(Some(u))),
        None => (None, text(&c.user_uid_alt, row)),
    };
    put(&mut identity, "principalId", principal);
    put(&mut identity, "arn", arn);
    put(&mut identity, "accountId", text(&c.user_account, row));
    put(&mut identity, "accessKeyId", text(&c.credential, row));
    put(&mut identity, "userName", text(&c.user_name, row));
    put(&mut identity, "invokedBy", text(&c.invoked_by, row));
    let mut attributes = Map::new();
    let created = c
        .created
        .as_ref()
        .and_then(|col| match col.array.data_type() {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => col.text(row),
            _ => col.millis(row).and_then(cloudtrail_time),
        });
    put(&mut attributes, "creationDate", created);
    put(&mut attributes, "mfaAuthenticated", text(&c.is_mfa, row));
    let mut context = Map::new();
    if !attributes.is_empty() {
        context.insert("attributes".into(), Value::Object(attributes));
    }
    if let Some(issuer) = text(&c.issuer, row) {
        let mut i = Map::new();
        i.insert("arn".into(), Value::String(issuer));
        context.insert("sessionIssuer".into(), Value::Object(i));
    }
    if !context.is_empty() {
        identity.insert("sessionContext".into(), Value::Object(context));
    }
    if !identity.is_empty() {
        r.insert("userIdentity".into(), Value::Object(identity));
    }

    let time = c
        .time
        .as_ref()
        .and_then(|t| t.millis(row))
        .or_else(|| c.time_dt.as_ref().and_then(|t| t.millis(row)))
        .and_then(cloudtrail_time);
    put(&mut r, "eventTime", time);
    put(&mut r, "eventSource", text(&c.service, row));
    r.insert("eventName".into(), Value::String(event_name));
    put(&mut r, "awsRegion", text(&c.region, row));
    put(
        &mut r,
        "sourceIPAddress",
        text(&c.src_ip, row).or_else(|| text(&c.src_domain, row)),
    );
    put(&mut r, "userAgent", text(&c.user_agent, row));
    put(&mut r, "errorCode", text(&c.error, row));
    put(&mut r, "errorMessage", text(&c.message, row));
    if let Some(data) = text(&c.request_data, row) {
        r.insert("requestParameters".into(), json_or_text(data));
    }
    if let Some(data) = text(&c.response_data, row) {
        r.insert("responseElements".into(), json_or_text(data));
    }
    put(&mut r, "requestID", text(&c.request_id, row));
    put(&mut r, "eventID", text(&c.event_id, row));
    if let Some(list) = c.resources.as_ref().and_then(|col| resources(col, row)) {
        r.insert("resources".into(), list);
    }
    put(&mut r, "eventType", text(&c.event_code, row));
    put(&mut r, "apiVersion", text(&c.api_version, row));
    put(&mut r, "recipientAccountId", text(&c.account, row));
    put(&mut r, "vpcEndpointId", text(&c.src_uid, row));
    put(&mut r, "eventCategory", text(&c.feature, row));
    for (key, value) in extras {
        let value = if BOOLEAN_KEYS.contains(&key.as_str()) && (value == "true" || value == "false")
        {
            Value::Bool(value == "true")
        } else {
            json_or_text(value)
        };
        put_path(&mut r, &key, value);
    }
    Some(r)
}

/// Reads a Security Lake Parquet file and hands each row, as CloudTrail record JSON,
/// to `sink` with its row index. Returns the problems met (a damaged file is reported
/// with the rows delivered before the damage).
pub fn read_records<R: ChunkReader + 'static>(
    name: &str,
    reader: R,
    sink: &mut dyn FnMut(u64, &[u8]) -> ControlFlow<()>,
) -> Vec<ReadError> {
    let mut errors = Vec::new();
    let batches = match ParquetRecordBatchReaderBuilder::try_new(reader)
        .and_then(|b| b.with_batch_size(BATCH_ROWS).build())
    {
        Ok(r) => r,
        Err(e) => {
            errors.push(ReadError::new(
                name,
                ErrorLocation::File,
                ReadErrorKind::InvalidJson,
                format!("not readable Parquet: {e}"),
            ));
            return errors;
        }
    };
    let mut index = 0u64;
    let mut skipped = 0u64;
    let mut json = Vec::new();
    'batches: for batch in batches {
        let batch = match batch {
            Ok(b) => b,
            Err(e) => {
                errors.push(ReadError::new(
                    name,
                    ErrorLocation::Record {
                        index,
                        byte_offset: 0,
                    },
                    ReadErrorKind::InvalidJson,
                    format!("damaged Parquet after {index} rows: {e}"),
                ));
                break;
            }
        };
        let columns = Columns::new(&batch);
        for row in 0..batch.num_rows() {
            match record(&columns, row) {
                Some(r) => {
                    json.clear();
                    if serde_json::to_writer(&mut json, &Value::Object(r)).is_ok()
                        && sink(index, &json).is_break()
                    {
                        break 'batches;
                    }
                }
                None => skipped += 1,
            }
            index += 1;
        }
    }
    if skipped > 0 {
        errors.push(ReadError::new(
            name,
            ErrorLocation::File,
            ReadErrorKind::NotCloudTrail,
            format!("{skipped} rows are not CloudTrail API activity (no api.operation, or another product) and were skipped"),
        ));
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_unmapped_keys_nest_without_overwriting() {
        let mut m = Map::new();
        m.insert("eventType".into(), Value::String("AwsApiCall".into()));
        put_path(
            &mut m,
            "tlsDetails.tlsVersion",
            Value::String("TLSv1.3".into()),
        );
        put_path(&mut m, "tlsDetails.cipherSuite", Value::String("X".into()));
        put_path(&mut m, "eventType", Value::String("other".into()));
        put_path(&mut m, "eventType.sub", Value::String("ignored".into()));
        assert_eq!(
            Value::Object(m),
            serde_json::json!({"eventType":"AwsApiCall","tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"X"}})
        );
    }

    #[test]
    fn times_use_cloudtrail_format() {
        assert_eq!(
            cloudtrail_time(1_790_819_830_000).as_deref(),
            Some("2026-10-01T01:57:10Z")
        );
        assert_eq!(
            cloudtrail_time(1_790_819_830_250).as_deref(),
            Some("2026-10-01T01:57:10.250Z")
        );
        assert_eq!(json_or_text("{\"a\":1}".into()), serde_json::json!({"a":1}));
        assert_eq!(
            json_or_text("{broken".into()),
            Value::String("{broken".into())
        );
        assert_eq!(json_or_text("123".into()), Value::String("123".into()));
    }
}
