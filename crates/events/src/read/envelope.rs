//! Unwrapping the envelopes that carry records in a form other than plain JSON
//! objects: `lookup-events` (the record as a JSON string), CloudTrail Lake rows (a
//! list of single-column objects) and S3 notifications (no record at all).

use super::scanner::ObjectSummary;

/// Decodes a JSON string literal holding a record (`"CloudTrailEvent": "{...}"`)
/// into `out`. The decoded text must be a JSON object.
pub(crate) fn decode_string_record(literal: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
    out.clear();
    if literal.first() != Some(&b'"') {
        return Err("CloudTrailEvent is not a JSON string".into());
    }
    let text =
        std::str::from_utf8(literal).map_err(|e| format!("CloudTrailEvent is not UTF-8: {e}"))?;
    let decoded = crate::event::unescape_json_string(text)
        .ok_or("CloudTrailEvent is not a valid JSON string")?;
    let trimmed = decoded.trim_start();
    if !trimmed.starts_with('{') {
        return Err("CloudTrailEvent does not hold a JSON object".into());
    }
    out.extend_from_slice(decoded.as_bytes());
    Ok(())
}

/// Merges a CloudTrail Lake result row (`[{"eventID":"..."},{"eventName":"..."}]`)
/// into one record object in `out`. A string value holding a JSON object or array
/// (Lake returns nested columns that way) is inserted as JSON.
pub(crate) fn merge_lake_row(row: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
    out.clear();
    let row = std::str::from_utf8(row).map_err(|e| format!("Lake result row is not UTF-8: {e}"))?;
    out.push(b'{');
    let mut first = true;
    for column in sonic_rs::to_array_iter(row) {
        let column = column.map_err(|e| format!("invalid Lake result row: {e}"))?;
        let raw = column.as_raw_cow();
        if !raw.trim_start().starts_with('{') {
            return Err("Lake result column is not an object".into());
        }
        for pair in sonic_rs::to_object_iter(raw.as_ref()) {
            let (key, value) = pair.map_err(|e| format!("invalid Lake result column: {e}"))?;
            if !first {
                out.push(b',');
            }
            first = false;
            let key_json =
                sonic_rs::to_string(&*key).map_err(|e| format!("cannot re-encode key: {e}"))?;
            out.extend_from_slice(key_json.as_bytes());
            out.push(b':');
            let value_raw = value.as_raw_cow();
            out.extend_from_slice(nested_json_or_raw(&value_raw).as_bytes());
        }
    }
    out.push(b'}');
    Ok(())
}

/// A string value that holds a JSON object or array comes back as that JSON; any
/// other value comes back as it was.
fn nested_json_or_raw(raw: &str) -> std::borrow::Cow<'_, str> {
    if raw.starts_with('"') {
        if let Some(inner) = crate::event::unescape_json_string(raw) {
            let t = inner.trim();
            if (t.starts_with('{') || t.starts_with('['))
                && sonic_rs::from_str::<serde::de::IgnoredAny>(t).is_ok()
            {
                return std::borrow::Cow::Owned(t.to_string());
            }
        }
    }
    std::borrow::Cow::Borrowed(raw)
}

/// When the object is a CloudTrail S3 notification (SNS envelope whose `Message`
/// lists `s3ObjectKey`s, or that message itself), how many log objects it lists.
pub(crate) fn s3_notification_objects(summary: &ObjectSummary, object: &[u8]) -> Option<usize> {
    let span = |s: (usize, usize)| object.get(s.0..s.1);
    if let Some(keys) = summary.s3_object_key.and_then(span) {
        return Some(count_array(keys));
    }
    let message = summary.message.and_then(span)?;
    let message = std::str::from_utf8(message).ok()?;
    let inner = crate::event::unescape_json_string(message)?;
    let keys = sonic_rs::get_from_str(inner.as_ref(), ["s3ObjectKey"]).ok()?;
    Some(count_array(keys.as_raw_str().as_bytes()))
}

fn count_array(raw: &[u8]) -> usize {
    match std::str::from_utf8(raw) {
        Ok(text) if text.trim_start().starts_with('[') => {
            sonic_rs::to_array_iter(text).filter(|r| r.is_ok()).count()
        }
        Ok(_) => 1,
        Err(_) => 0,
    }
}
