//! Field access shared by everything that inspects an event: the detection engine,
//! the finding builders and the store. A field is addressed by a dotted path split into
//! segments (`["userIdentity", "type"]`); arrays met along the path fan out, so one path
//! can yield several values.

use std::borrow::Cow;

/// One value found at a field path, borrowed from the event where possible.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue<'a> {
    /// JSON `null`.
    Null,
    /// JSON `true` / `false`.
    Bool(bool),
    /// A JSON number, as its literal text (`"443"`, `"1.5e3"`).
    Number(Cow<'a, str>),
    /// A JSON string, unescaped.
    Str(Cow<'a, str>),
    /// A JSON object, as its raw JSON text.
    Object(Cow<'a, str>),
    /// A JSON array that was the last segment of the path, as its raw JSON text.
    /// (Arrays in the middle of a path fan out instead.) Elements of a terminal array
    /// are also visited one by one after the array itself.
    Array(Cow<'a, str>),
}

impl FieldValue<'_> {
    /// The value as text the way Sigma compares it: strings as they are, numbers as
    /// their literal, booleans as `true`/`false`, objects and arrays as their JSON text,
    /// and `None` for null.
    pub fn as_text(&self) -> Option<Cow<'_, str>> {
        match self {
            FieldValue::Null => None,
            FieldValue::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
            FieldValue::Number(s)
            | FieldValue::Str(s)
            | FieldValue::Object(s)
            | FieldValue::Array(s) => Some(Cow::Borrowed(s.as_ref())),
        }
    }
}

/// Read access to the fields of one event, as the detection engine needs it.
///
/// Implemented by `CloudTrailEvent` (borrowed from the raw record bytes, decoding only
/// what is asked for) and by `serde_json::Value` (for tests and small tools).
pub trait EventFields {
    /// Calls `visit` with every value at `path`, fanning out through arrays met along
    /// the path; a terminal array is passed whole (as [`FieldValue::Array`]) and then
    /// element by element. Stops early and returns `true` as soon as `visit` returns
    /// `true`; returns `false` when the path is absent or no call returned `true`.
    fn visit_field(&self, path: &[&str], visit: &mut dyn FnMut(&FieldValue<'_>) -> bool) -> bool;

    /// The whole event as JSON text, for keyword (value-only) searches.
    fn raw_json(&self) -> Cow<'_, str>;

    /// `eventSource`, when present and a string (used by the rule index).
    fn event_source(&self) -> Option<Cow<'_, str>> {
        first_string(self, &["eventSource"])
    }

    /// `eventName`, when present and a string (used by the rule index).
    fn event_name(&self) -> Option<Cow<'_, str>> {
        first_string(self, &["eventName"])
    }

    /// `eventTime` as milliseconds since the Unix epoch, when it parses (used by
    /// correlation windows). Accepts RFC 3339 with or without fractional seconds.
    fn event_time_millis(&self) -> Option<i64> {
        first_string(self, &["eventTime"]).and_then(|t| parse_event_time_millis(&t))
    }
}

/// The first string value at `path`, owned.
pub fn first_string<E: EventFields + ?Sized>(
    event: &E,
    path: &[&str],
) -> Option<Cow<'static, str>> {
    let mut out = None;
    event.visit_field(path, &mut |v| {
        if let FieldValue::Str(s) = v {
            out = Some(Cow::Owned(s.to_string()));
            true
        } else {
            false
        }
    });
    out
}

/// Parses the `eventTime` formats seen in CloudTrail and its exports
/// (`2024-07-30T12:34:56Z`, with fractional seconds, with an offset, or with a space
/// instead of `T` as CloudTrail Lake prints it) into Unix milliseconds.
pub fn parse_event_time_millis(text: &str) -> Option<i64> {
    let t = text.trim();
    if let Ok(ts) = t.parse::<jiff::Timestamp>() {
        return Some(ts.as_millisecond());
    }
    // CloudTrail Lake: "2024-07-30 12:34:56.000" (UTC, no zone).
    let civil = t.replacen(' ', "T", 1);
    if let Ok(dt) = civil.trim_end_matches('Z').parse::<jiff::civil::DateTime>() {
        if let Ok(z) = dt.to_zoned(jiff::tz::TimeZone::UTC) {
            return Some(z.timestamp().as_millisecond());
        }
    }
    None
}

impl EventFields for serde_json::Value {
    fn visit_field(&self, path: &[&str], visit: &mut dyn FnMut(&FieldValue<'_>) -> bool) -> bool {
        visit_json(self, path, visit)
    }

    fn raw_json(&self) -> Cow<'_, str> {
        Cow::Owned(self.to_string())
    }
}

fn visit_json(
    value: &serde_json::Value,
    path: &[&str],
    visit: &mut dyn FnMut(&FieldValue<'_>) -> bool,
) -> bool {
    use serde_json::Value;
    match path.split_first() {
        None => match value {
            Value::Null => visit(&FieldValue::Null),
            Value::Bool(b) => visit(&FieldValue::Bool(*b)),
            Value::Number(n) => visit(&FieldValue::Number(Cow::Owned(n.to_string()))),
            Value::String(s) => visit(&FieldValue::Str(Cow::Borrowed(s))),
            Value::Object(_) => visit(&FieldValue::Object(Cow::Owned(value.to_string()))),
            Value::Array(items) => {
                if visit(&FieldValue::Array(Cow::Owned(value.to_string()))) {
                    return true;
                }
                items.iter().any(|item| visit_json(item, &[], visit))
            }
        },
        Some((head, rest)) => match value {
            Value::Object(map) => match map.get(*head) {
                Some(child) => visit_json(child, rest, visit),
                None => false,
            },
            Value::Array(items) => items.iter().any(|item| visit_json(item, path, visit)),
            _ => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_fan_out_through_arrays() {
        let v = json!({"a": {"b": [{"c": ["x", "y"]}, {"c": "z"}]}});
        let mut seen = Vec::new();
        v.visit_field(&["a", "b", "c"], &mut |fv| {
            seen.push(fv.as_text().map(|s| s.into_owned()));
            false
        });
        assert_eq!(
            seen,
            vec![
                Some(r#"["x","y"]"#.to_string()),
                Some("x".into()),
                Some("y".into()),
                Some("z".into())
            ]
        );
    }

    #[test]
    fn event_time_formats() {
        assert_eq!(parse_event_time_millis("1970-01-01T00:00:01Z"), Some(1000));
        assert_eq!(
            parse_event_time_millis("1970-01-01T00:00:01.500Z"),
            Some(1500)
        );
        assert_eq!(
            parse_event_time_millis("1970-01-01 00:00:02.000"),
            Some(2000)
        );
        assert_eq!(parse_event_time_millis("not a time"), None);
    }
}
