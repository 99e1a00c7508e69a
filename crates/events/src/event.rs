//! [`CloudTrailEvent`]: one CloudTrail record borrowed from its raw JSON bytes.
//!
//! Parsing reads the record once and keeps only the "head" (the handful of fields every
//! consumer needs: ids, names, time, region, principal) as slices of the raw text; every
//! other field is looked up lazily in the raw bytes when [`EventFields::visit_field`]
//! asks for it. Values are kept exactly as logged: a field of an unexpected type (a
//! number where a string is expected, an object instead of null) never fails the parse,
//! the typed accessor just answers `None` and `visit_field` reports the value as found.

use std::borrow::Cow;
use std::fmt;

use crate::field::{parse_event_time_millis, EventFields, FieldValue};
use crate::head::{self, HeadSpans, Presence, Span};
use crate::json::{self, ScanOptions};
use crate::lookup;
use crate::read::Record;

/// Why a record could not be turned into a [`CloudTrailEvent`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// The record bytes are not valid UTF-8.
    #[error("record is not valid UTF-8 (at byte {offset})")]
    NotUtf8 {
        /// Offset of the first invalid byte inside the record.
        offset: usize,
    },
    /// The record is valid JSON text but not an object.
    #[error("record is not a JSON object (found {found})")]
    NotAnObject {
        /// What was found instead ("a number", "an array", ...).
        found: &'static str,
    },
    /// The record is not valid JSON.
    #[error("invalid JSON: {message}")]
    InvalidJson {
        /// The parser's description of the problem, with its position.
        message: String,
    },
}

/// A value of a head field as it was logged.
#[derive(Debug, Clone, Copy, PartialEq)]
enum HeadValue<'v> {
    /// The key was not in the object.
    Absent,
    /// JSON `null`.
    Null,
    /// A boolean.
    Bool(bool),
    /// A string, unescaped.
    Str(&'v str),
    /// Present but of another type (number, object, array): answered lazily.
    Other,
}

impl<'v> HeadValue<'v> {
    fn as_str(self) -> Option<&'v str> {
        match self {
            HeadValue::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// A record's head spans: lent by the reader that found them, or owned when the
/// record was parsed on its own.
enum HeadSpansRef<'a> {
    Borrowed(&'a HeadSpans),
    Owned(Box<HeadSpans>),
}

impl std::ops::Deref for HeadSpansRef<'_> {
    type Target = HeadSpans;

    fn deref(&self) -> &HeadSpans {
        match self {
            HeadSpansRef::Borrowed(spans) => spans,
            HeadSpansRef::Owned(spans) => spans,
        }
    }
}

/// Head values are numbered: the top-level ones in [`head::TOP_KEYS`] order, then
/// the `userIdentity` ones in [`head::IDENTITY_KEYS`] order, then the session
/// issuer's user name.
const TOP_SLOTS: usize = 12;
const ISSUER_SLOT: usize = TOP_SLOTS + head::IDENTITY_KEY_COUNT;
const SLOTS: usize = ISSUER_SLOT + 1;

/// The span of head value `slot`.
fn span_at(spans: &HeadSpans, slot: usize) -> Span {
    match slot {
        0..TOP_SLOTS => spans.top[slot],
        ISSUER_SLOT => spans.issuer_user_name,
        _ => spans
            .identity
            .get(slot - TOP_SLOTS)
            .copied()
            .unwrap_or_default(),
    }
}

/// The head strings that hold escapes, decoded (`None` where undecodable); `None`
/// when no head string holds one (the usual case: the others are sliced lazily).
fn decode_escaped(object: &str, spans: &HeadSpans) -> Option<Box<[Option<String>; SLOTS]>> {
    if !spans.any_escaped {
        return None;
    }
    let mut decoded: Option<Box<[Option<String>; SLOTS]>> = None;
    for slot in 0..SLOTS {
        if let Span::Str {
            start,
            end,
            escaped: true,
        } = span_at(spans, slot)
        {
            let text = object
                .get((start as usize).wrapping_sub(1)..end as usize + 1)
                .and_then(unescape_json_string)
                .map(Cow::into_owned);
            decoded.get_or_insert_with(Default::default)[slot] = text;
        }
    }
    decoded
}

// Head value slots (see `TOP_SLOTS`).
const EVENT_ID: usize = 0;
const EVENT_TIME: usize = 1;
const EVENT_SOURCE: usize = 2;
const EVENT_NAME: usize = 3;
const EVENT_TYPE: usize = 4;
const AWS_REGION: usize = 5;
const SOURCE_IP: usize = 6;
const USER_AGENT: usize = 7;
const ERROR_CODE: usize = 8;
const ERROR_MESSAGE: usize = 9;
const RECIPIENT_ACCOUNT_ID: usize = 10;
const READ_ONLY: usize = 11;
const IDENTITY_TYPE: usize = TOP_SLOTS;
const PRINCIPAL_ID: usize = TOP_SLOTS + 1;
const ARN: usize = TOP_SLOTS + 2;
const ACCOUNT_ID: usize = TOP_SLOTS + 3;
const ACCESS_KEY_ID: usize = TOP_SLOTS + 4;
const USER_NAME: usize = TOP_SLOTS + 5;

const SCAN: ScanOptions = ScanOptions {
    at_eof: true,
    newline_is_error: false,
};

fn stop_to_error(stop: json::Stop) -> RecordError {
    match stop {
        json::Stop::NeedMore => RecordError::InvalidJson {
            message: "unexpected end of the record".into(),
        },
        json::Stop::Syntax { at, message } => RecordError::InvalidJson {
            message: format!("{message} (at byte {at})"),
        },
        json::Stop::TooDeep { at } => RecordError::InvalidJson {
            message: format!(
                "nesting deeper than {} levels (at byte {at})",
                json::MAX_DEPTH
            ),
        },
    }
}

/// One CloudTrail record, borrowed from its raw JSON text.
///
/// ```
/// use firebreak_events::{CloudTrailEvent, EventFields};
/// let raw = br#"{"eventName":"StopLogging","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/x"}}"#;
/// let event = CloudTrailEvent::parse(raw).unwrap();
/// assert_eq!(event.event_name(), Some("StopLogging"));
/// assert_eq!(event.principal_arn(), Some("arn:aws:iam::1:user/x"));
/// ```
pub struct CloudTrailEvent<'a> {
    raw: &'a str,
    /// The record object itself (`raw` without leading whitespace); the key table's
    /// positions are relative to its start.
    object: &'a str,
    /// Where the head values and the top-level members are in `object`.
    spans: HeadSpansRef<'a>,
    /// Head strings holding escapes, decoded (see [`decode_escaped`]).
    unescaped: Option<Box<[Option<String>; SLOTS]>>,
}

impl fmt::Debug for CloudTrailEvent<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CloudTrailEvent")
            .field("event_id", &self.event_id())
            .field("event_time", &self.event_time())
            .field("event_source", &self.event_source())
            .field("event_name", &self.event_name())
            .field("raw_len", &self.raw.len())
            .finish()
    }
}

fn json_kind_name(first: u8) -> &'static str {
    match first {
        b'[' => "an array",
        b'"' => "a string",
        b't' | b'f' => "a boolean",
        b'n' => "null",
        b'-' | b'0'..=b'9' => "a number",
        _ => "something that is not JSON",
    }
}

impl<'a> CloudTrailEvent<'a> {
    /// Parses a record: checks it is UTF-8 JSON whose top level is an object and
    /// decodes its head fields in one pass. Other fields are decoded on demand.
    pub fn parse(raw: &'a [u8]) -> Result<Self, RecordError> {
        let raw = std::str::from_utf8(raw).map_err(|e| RecordError::NotUtf8 {
            offset: e.valid_up_to(),
        })?;
        let first = raw.bytes().find(|b| !b.is_ascii_whitespace());
        match first {
            Some(b'{') => {}
            Some(other) => {
                return Err(RecordError::NotAnObject {
                    found: json_kind_name(other),
                })
            }
            None => {
                return Err(RecordError::InvalidJson {
                    message: "empty record".into(),
                })
            }
        }
        if raw.len() > u32::MAX as usize {
            return Err(RecordError::InvalidJson {
                message: "record larger than 4 GiB".into(),
            });
        }
        let start = raw.len()
            - raw
                .trim_start_matches(|c: char| c.is_ascii_whitespace())
                .len();
        let mut spans = Box::<HeadSpans>::default();
        let end =
            head::scan_record(raw.as_bytes(), start, SCAN, &mut spans).map_err(stop_to_error)?;
        if let Some(extra) = raw[end..].bytes().position(|b| !b.is_ascii_whitespace()) {
            return Err(RecordError::InvalidJson {
                message: format!("unexpected data after the record (at byte {})", end + extra),
            });
        }
        // Spans are relative to the object's start.
        let object = &raw[start..];
        Ok(CloudTrailEvent {
            raw,
            object,
            unescaped: decode_escaped(object, &spans),
            spans: HeadSpansRef::Owned(spans),
        })
    }

    /// The event of a record delivered by the readers. The head was already located
    /// while the reader cut the record out of its input, so this does not scan the
    /// record again (records without that information are parsed in full).
    pub fn from_record(record: &Record<'a>) -> Result<Self, RecordError> {
        match record.head {
            Some(spans) => {
                let raw = std::str::from_utf8(record.bytes).map_err(|e| RecordError::NotUtf8 {
                    offset: e.valid_up_to(),
                })?;
                Ok(CloudTrailEvent {
                    raw,
                    object: raw,
                    unescaped: decode_escaped(raw, spans),
                    spans: HeadSpansRef::Borrowed(spans),
                })
            }
            None => CloudTrailEvent::parse(record.bytes),
        }
    }

    /// The record's JSON bytes exactly as they were given to [`CloudTrailEvent::parse`].
    pub fn raw_bytes(&self) -> &'a [u8] {
        self.raw.as_bytes()
    }

    /// The record's JSON text.
    pub fn raw_str(&self) -> &'a str {
        self.raw
    }

    /// `eventID`.
    pub fn event_id(&self) -> Option<&str> {
        self.head_str(EVENT_ID)
    }
    /// `eventTime`, as logged (format not checked; see [`Self::event_time_millis`]).
    pub fn event_time(&self) -> Option<&str> {
        self.head_str(EVENT_TIME)
    }
    /// `eventSource` (`iam.amazonaws.com`).
    pub fn event_source(&self) -> Option<&str> {
        self.head_str(EVENT_SOURCE)
    }
    /// `eventName` (`CreateUser`).
    pub fn event_name(&self) -> Option<&str> {
        self.head_str(EVENT_NAME)
    }
    /// `eventType` (`AwsApiCall`, `AwsConsoleSignIn`, ...).
    pub fn event_type(&self) -> Option<&str> {
        self.head_str(EVENT_TYPE)
    }
    /// `awsRegion`, as logged (not necessarily a real region).
    pub fn aws_region(&self) -> Option<&str> {
        self.head_str(AWS_REGION)
    }
    /// `sourceIPAddress`, as logged (often a service name rather than an IP).
    pub fn source_ip(&self) -> Option<&str> {
        self.head_str(SOURCE_IP)
    }
    /// `userAgent`.
    pub fn user_agent(&self) -> Option<&str> {
        self.head_str(USER_AGENT)
    }
    /// `errorCode` (present on failed calls).
    pub fn error_code(&self) -> Option<&str> {
        self.head_str(ERROR_CODE)
    }
    /// `errorMessage`.
    pub fn error_message(&self) -> Option<&str> {
        self.head_str(ERROR_MESSAGE)
    }
    /// `recipientAccountId`.
    pub fn recipient_account_id(&self) -> Option<&str> {
        self.head_str(RECIPIENT_ACCOUNT_ID)
    }
    /// `userIdentity.type` (`IAMUser`, `AssumedRole`, `Root`, ...).
    pub fn user_identity_type(&self) -> Option<&str> {
        self.head_str(IDENTITY_TYPE)
    }
    /// `userIdentity.arn`.
    pub fn principal_arn(&self) -> Option<&str> {
        self.head_str(ARN)
    }
    /// `userIdentity.principalId`.
    pub fn principal_id(&self) -> Option<&str> {
        self.head_str(PRINCIPAL_ID)
    }
    /// `userIdentity.accessKeyId`.
    pub fn access_key_id(&self) -> Option<&str> {
        self.head_str(ACCESS_KEY_ID)
    }
    /// `userIdentity.accountId`.
    pub fn account_id(&self) -> Option<&str> {
        self.head_str(ACCOUNT_ID)
    }
    /// `userIdentity.userName`, else `userIdentity.sessionContext.sessionIssuer.userName`
    /// (the role name for assumed roles).
    pub fn user_name(&self) -> Option<&str> {
        self.head_str(USER_NAME)
            .or_else(|| self.head_str(ISSUER_SLOT))
    }
    /// `readOnly` as a boolean (also accepts the strings `"true"` / `"false"`).
    pub fn read_only(&self) -> Option<bool> {
        match self.head_value(READ_ONLY) {
            HeadValue::Bool(b) => Some(b),
            HeadValue::Str(s) if s.eq_ignore_ascii_case("true") => Some(true),
            HeadValue::Str(s) if s.eq_ignore_ascii_case("false") => Some(false),
            _ => None,
        }
    }
    /// `eventTime` in milliseconds since the Unix epoch, when it parses.
    pub fn event_time_millis(&self) -> Option<i64> {
        self.event_time().and_then(fast_or_full_time_millis)
    }

    /// Head value `slot`, decoded from its span.
    fn head_value(&self, slot: usize) -> HeadValue<'_> {
        match span_at(&self.spans, slot) {
            Span::Absent => HeadValue::Absent,
            Span::Null => HeadValue::Null,
            Span::True => HeadValue::Bool(true),
            Span::False => HeadValue::Bool(false),
            Span::Other => HeadValue::Other,
            Span::Str {
                start,
                end,
                escaped: false,
            } => self
                .object
                .get(start as usize..end as usize)
                .map_or(HeadValue::Other, HeadValue::Str),
            Span::Str { escaped: true, .. } => self
                .unescaped
                .as_ref()
                .and_then(|decoded| decoded[slot].as_deref())
                .map_or(HeadValue::Other, HeadValue::Str),
        }
    }

    /// Head value `slot` when it is a string.
    fn head_str(&self, slot: usize) -> Option<&str> {
        self.head_value(slot).as_str()
    }

    /// Answers `path` from the head when it names a head field, else `None`.
    fn head_answer(&self, path: &[&str]) -> Option<HeadValue<'_>> {
        match path {
            [key] => head::top_index(key.as_bytes()).map(|i| self.head_value(i)),
            ["userIdentity", key] => match self.spans.user_identity {
                Presence::Object => {
                    head::identity_index(key.as_bytes()).map(|i| self.head_value(TOP_SLOTS + i))
                }
                Presence::Absent | Presence::Null => Some(HeadValue::Absent),
                Presence::Other => None,
            },
            _ => None,
        }
    }
}

/// `eventTime` in the canonical CloudTrail form `YYYY-MM-DDTHH:MM:SSZ` is decoded by
/// hand (it is in every record); every other form goes through the full parser.
fn fast_or_full_time_millis(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() == 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'Z'
    {
        let num = |r: std::ops::Range<usize>| -> Option<i64> {
            let mut v = 0i64;
            for &c in &b[r] {
                if !c.is_ascii_digit() {
                    return None;
                }
                v = v * 10 + i64::from(c - b'0');
            }
            Some(v)
        };
        if let (Some(y), Some(mo), Some(d), Some(h), Some(mi), Some(s)) = (
            num(0..4),
            num(5..7),
            num(8..10),
            num(11..13),
            num(14..16),
            num(17..19),
        ) {
            if (1..=12).contains(&mo)
                && d >= 1
                && d <= days_in_month(y, mo)
                && h < 24
                && mi < 60
                && s < 60
            {
                let days = days_from_civil(y, mo, d);
                return Some(((days * 24 + h) * 60 + mi) * 60_000 + s * 1000);
            }
        }
    }
    parse_event_time_millis(text)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Emits one JSON value (its raw text) as a terminal [`FieldValue`]; arrays are
/// passed whole and then element by element.
fn emit_value(raw: &str, visit: &mut dyn FnMut(&FieldValue<'_>) -> bool) -> bool {
    let raw = raw.trim_matches(|c: char| c.is_ascii_whitespace());
    match raw.as_bytes().first() {
        None => false,
        Some(b'"') => match unescape_json_string(raw) {
            Some(s) => visit(&FieldValue::Str(s)),
            None => false,
        },
        Some(b'{') => visit(&FieldValue::Object(Cow::Borrowed(raw))),
        Some(b'[') => {
            if visit(&FieldValue::Array(Cow::Borrowed(raw))) {
                return true;
            }
            lookup::elements(raw.as_bytes(), 0)
                .any(|item| lookup::text(raw, item).is_some_and(|item| emit_value(item, visit)))
        }
        Some(b'n') => visit(&FieldValue::Null),
        Some(b't') => visit(&FieldValue::Bool(true)),
        Some(b'f') => visit(&FieldValue::Bool(false)),
        Some(_) => visit(&FieldValue::Number(Cow::Borrowed(raw))),
    }
}

/// The contents of a JSON string literal (with its quotes), unescaped; borrowed when it
/// holds no escape.
pub(crate) fn unescape_json_string(raw: &str) -> Option<Cow<'_, str>> {
    let inner = raw.strip_prefix('"')?.strip_suffix('"')?;
    if !inner.contains('\\') {
        return Some(Cow::Borrowed(inner));
    }
    sonic_rs::from_str::<String>(raw).ok().map(Cow::Owned)
}

/// Walks `path` lazily through the JSON value `raw` (no surrounding whitespace),
/// fanning out through arrays.
fn walk(raw: &str, path: &[&str], visit: &mut dyn FnMut(&FieldValue<'_>) -> bool) -> bool {
    let Some((seg, rest)) = path.split_first() else {
        return emit_value(raw, visit);
    };
    let bytes = raw.as_bytes();
    match bytes.first() {
        Some(b'{') => {
            match lookup::object_get(bytes, 0, seg).and_then(|span| lookup::text(raw, span)) {
                Some(child) => walk(child, rest, visit),
                None => false,
            }
        }
        Some(b'[') => lookup::elements(bytes, 0)
            .any(|item| lookup::text(raw, item).is_some_and(|item| walk(item, path, visit))),
        _ => false,
    }
}

/// One top-level member of a record, as the head pass located it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopLevelMember<'a> {
    /// The key's text inside its quotes (still escaped when `key_escaped`).
    pub key: &'a str,
    /// Whether the key holds backslash escapes.
    pub key_escaped: bool,
    /// The value's JSON text (a string with its quotes).
    pub value: &'a str,
    /// Whether the value is a string holding backslash escapes.
    pub value_escaped: bool,
}

impl<'a> CloudTrailEvent<'a> {
    /// Every top-level member of the record in record order, as located by the pass that
    /// read the record (so a caller need not scan the record again). `None` when the
    /// record has more members than that pass notes: scan [`Self::raw_str`] instead.
    pub fn top_level_members(&self) -> Option<impl Iterator<Item = TopLevelMember<'a>> + '_> {
        if !self.spans.keys.complete() {
            return None;
        }
        let object: &'a str = self.object;
        Some(self.spans.keys.entries().iter().filter_map(move |entry| {
            let key_start = entry.key_start as usize;
            Some(TopLevelMember {
                key: object.get(key_start..key_start + usize::from(entry.key_len))?,
                key_escaped: entry.key_escaped,
                value: object.get(entry.value_start as usize..entry.value_end as usize)?,
                value_escaped: entry.value_escaped,
            })
        }))
    }
}

impl CloudTrailEvent<'_> {
    /// The value of top-level member `key` (the last one when repeated), from the
    /// key table filled during the head pass.
    fn top_level_value(&self, key: &str) -> Option<&str> {
        let object = self.object.as_bytes();
        let found = self.spans.keys.entries().iter().rev().find(|entry| {
            let start = entry.key_start as usize;
            object
                .get(start..start + usize::from(entry.key_len))
                .is_some_and(|raw_key| lookup::key_is(raw_key, entry.key_escaped, key))
        });
        match found {
            Some(entry) if self.spans.keys.complete() => lookup::text(
                self.object,
                (entry.value_start as usize, entry.value_end as usize),
            ),
            // Members beyond the table's capacity: scan the whole object.
            _ if !self.spans.keys.complete() => {
                lookup::object_get(object, 0, key).and_then(|s| lookup::text(self.object, s))
            }
            _ => None,
        }
    }
}

impl EventFields for CloudTrailEvent<'_> {
    fn visit_field(&self, path: &[&str], visit: &mut dyn FnMut(&FieldValue<'_>) -> bool) -> bool {
        if let Some(answer) = self.head_answer(path) {
            match answer {
                HeadValue::Absent => return false,
                HeadValue::Null => return visit(&FieldValue::Null),
                HeadValue::Bool(b) => return visit(&FieldValue::Bool(b)),
                HeadValue::Str(s) => return visit(&FieldValue::Str(Cow::Borrowed(s))),
                HeadValue::Other => {}
            }
        }
        let Some((first, rest)) = path.split_first() else {
            return emit_value(self.raw, visit);
        };
        match self.top_level_value(first) {
            Some(value) => walk(value, rest, visit),
            None => false,
        }
    }

    fn raw_json(&self) -> Cow<'_, str> {
        Cow::Borrowed(self.raw)
    }

    fn event_source(&self) -> Option<Cow<'_, str>> {
        self.head_str(EVENT_SOURCE).map(Cow::Borrowed)
    }

    fn event_name(&self) -> Option<Cow<'_, str>> {
        self.head_str(EVENT_NAME).map(Cow::Borrowed)
    }

    fn event_time_millis(&self) -> Option<i64> {
        CloudTrailEvent::event_time_millis(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_level_members_are_every_member_as_written() {
        let raw = br#" {"eventName":"A\"b", "userIdentity" : {"type":"Root","sessionContext":{"sessionIssuer":{"userName":"r"}}},
            "requestParameters":{"k":["x",{"y":null}]},"n":12,"k\u0065y":true,"eventName":"dup"} "#;
        let event = CloudTrailEvent::parse(raw).expect("parses");
        let members: Vec<TopLevelMember<'_>> =
            event.top_level_members().expect("complete").collect();
        let got: Vec<(&str, bool, &str, bool)> = members
            .iter()
            .map(|m| (m.key, m.key_escaped, m.value, m.value_escaped))
            .collect();
        assert_eq!(
            got,
            vec![
                ("eventName", false, r#""A\"b""#, true),
                (
                    "userIdentity",
                    false,
                    r#"{"type":"Root","sessionContext":{"sessionIssuer":{"userName":"r"}}}"#,
                    false
                ),
                (
                    "requestParameters",
                    false,
                    r#"{"k":["x",{"y":null}]}"#,
                    false
                ),
                ("n", false, "12", false),
                ("k\\u0065y", true, "true", false),
                ("eventName", false, r#""dup""#, false),
            ]
        );
        // A record with more members than the table holds has no complete list.
        let many: String = format!(
            "{{{}}}",
            (0..40)
                .map(|i| format!("\"k{i}\":{i}"))
                .collect::<Vec<_>>()
                .join(",")
        );
        assert!(CloudTrailEvent::parse(many.as_bytes())
            .expect("parses")
            .top_level_members()
            .is_none());
    }

    #[test]
    fn fast_time_matches_full_parser() {
        for t in [
            "2024-07-31T13:06:24Z",
            "1970-01-01T00:00:00Z",
            "2000-02-29T23:59:59Z",
            "1969-12-31T23:59:59Z",
        ] {
            assert_eq!(
                fast_or_full_time_millis(t),
                parse_event_time_millis(t),
                "{t}"
            );
        }
        assert_eq!(fast_or_full_time_millis("2023-02-29T00:00:00Z"), None);
    }
}
