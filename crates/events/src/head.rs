//! Finding a record's head fields while its bytes are scanned.
//!
//! [`HeadCollector`] plugs into [`json::scan_object`]: it notes where each head value
//! sits ([`HeadSpans`], positions relative to the record's start) without decoding
//! anything. The streaming readers run it during the scan that cuts a record out of
//! the input, so parsing a delivered record does not scan it again; a record parsed
//! on its own runs the same scan.

use crate::json::{self, Member, MemberAction, ObjectScan, ScanOptions, Stop};

/// Where one head value sits in the record, and what kind it is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Span {
    /// The key was not in the object.
    #[default]
    Absent,
    /// `null`.
    Null,
    /// `true`.
    True,
    /// `false`.
    False,
    /// A string: its contents between the quotes (still escaped when `escaped`).
    Str { start: u32, end: u32, escaped: bool },
    /// Another type (number, object, array).
    Other,
}

/// Top-level head keys, in [`HeadSpans::top`] order.
#[cfg(test)]
pub(crate) const TOP_KEYS: [&str; 12] = [
    "eventID",
    "eventTime",
    "eventSource",
    "eventName",
    "eventType",
    "awsRegion",
    "sourceIPAddress",
    "userAgent",
    "errorCode",
    "errorMessage",
    "recipientAccountId",
    "readOnly",
];

/// `userIdentity` head keys, in [`HeadSpans::identity`] order.
#[cfg(test)]
pub(crate) const IDENTITY_KEYS: [&str; IDENTITY_KEY_COUNT] = [
    "type",
    "principalId",
    "arn",
    "accountId",
    "accessKeyId",
    "userName",
    "invokedBy",
];

/// How many `userIdentity` keys the head locates. `invokedBy` has no accessor but
/// is the `userIdentity` field rules test most: locating it here answers it (mostly
/// "absent") without scanning `userIdentity` again.
pub(crate) const IDENTITY_KEY_COUNT: usize = 7;

/// Index in [`TOP_KEYS`] of a top-level key.
#[inline]
pub(crate) fn top_index(key: &[u8]) -> Option<usize> {
    // Dispatch on length first: most keys of a record are not head keys.
    Some(match (key.len(), key) {
        (7, b"eventID") => 0,
        (9, b"eventTime") => 1,
        (11, b"eventSource") => 2,
        (9, b"eventName") => 3,
        (9, b"eventType") => 4,
        (9, b"awsRegion") => 5,
        (15, b"sourceIPAddress") => 6,
        (9, b"userAgent") => 7,
        (9, b"errorCode") => 8,
        (12, b"errorMessage") => 9,
        (18, b"recipientAccountId") => 10,
        (8, b"readOnly") => 11,
        _ => return None,
    })
}

/// Index in [`IDENTITY_KEYS`] of a `userIdentity` key.
#[inline]
pub(crate) fn identity_index(key: &[u8]) -> Option<usize> {
    Some(match (key.len(), key) {
        (4, b"type") => 0,
        (11, b"principalId") => 1,
        (3, b"arn") => 2,
        (9, b"accountId") => 3,
        (11, b"accessKeyId") => 4,
        (8, b"userName") => 5,
        (9, b"invokedBy") => 6,
        _ => return None,
    })
}

/// What `userIdentity` was.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Presence {
    /// Not in the record.
    #[default]
    Absent,
    /// `null`.
    Null,
    /// An object (its head keys are in [`HeadSpans::identity`]).
    Object,
    /// Another type.
    Other,
}

/// How many top-level members a [`KeyTable`] holds; records with more keep a
/// partial table and look the others up by scanning.
pub(crate) const KEY_TABLE_CAPACITY: usize = 32;

/// One top-level member of a record: where its key and its value are (positions
/// relative to the record's start).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct KeyEntry {
    /// First byte of the key, inside its quotes.
    pub key_start: u32,
    /// First byte of the value.
    pub value_start: u32,
    /// Just past the value's last byte.
    pub value_end: u32,
    /// Length of the key (still escaped when `key_escaped`), capped: longer keys
    /// are not stored (see [`KeyTable::complete`]).
    pub key_len: u16,
    /// Whether the key holds escapes.
    pub key_escaped: bool,
    /// Whether the value is a string holding escapes.
    pub value_escaped: bool,
}

/// The top-level members of a record in order, filled during the head pass so that
/// field lookups start from the right value instead of rescanning the record.
/// (Entries past `len` are left over from an earlier record and never read.)
#[derive(Debug, Clone, Copy)]
pub(crate) struct KeyTable {
    entries: [KeyEntry; KEY_TABLE_CAPACITY],
    len: u8,
    /// Every member of the record is in `entries`.
    complete: bool,
}

impl Default for KeyTable {
    fn default() -> Self {
        KeyTable {
            entries: [KeyEntry::default(); KEY_TABLE_CAPACITY],
            len: 0,
            complete: true,
        }
    }
}

impl PartialEq for KeyTable {
    fn eq(&self, other: &Self) -> bool {
        self.entries() == other.entries() && self.complete == other.complete
    }
}

impl Eq for KeyTable {}

impl KeyTable {
    /// Empties the table (without clearing the entries' storage).
    fn clear(&mut self) {
        self.len = 0;
        self.complete = true;
    }

    /// Notes one member; spans are absolute in `buf`-space and made relative to `base`.
    #[inline]
    fn push(
        &mut self,
        base: usize,
        key: (usize, usize),
        key_escaped: bool,
        value: (usize, usize),
        value_escaped: bool,
    ) {
        let len = usize::from(self.len);
        let key_len = key.1 - key.0;
        match (self.entries.get_mut(len), u16::try_from(key_len)) {
            (Some(slot), Ok(key_len)) => {
                *slot = KeyEntry {
                    key_start: (key.0 - base) as u32,
                    value_start: (value.0 - base) as u32,
                    value_end: (value.1 - base) as u32,
                    key_len,
                    key_escaped,
                    value_escaped,
                };
                self.len += 1;
            }
            _ => self.complete = false,
        }
    }

    /// The members noted, in record order.
    pub fn entries(&self) -> &[KeyEntry] {
        &self.entries[..usize::from(self.len)]
    }

    /// Whether every member of the record is in [`KeyTable::entries`] (else a key
    /// missing from the table may still be in the record).
    pub fn complete(&self) -> bool {
        self.complete
    }
}

/// Where a record's head values are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct HeadSpans {
    /// The top-level head values, in `TOP_KEYS` order.
    pub top: [Span; 12],
    /// The `userIdentity` head values, in [`IDENTITY_KEYS`] order.
    pub identity: [Span; IDENTITY_KEY_COUNT],
    /// `userIdentity.sessionContext.sessionIssuer.userName`.
    pub issuer_user_name: Span,
    /// What `userIdentity` was.
    pub user_identity: Presence,
    /// Every top-level member (up to [`KEY_TABLE_CAPACITY`]).
    pub keys: KeyTable,
    /// Whether a head string may hold escapes (else none does).
    pub any_escaped: bool,
}

impl HeadSpans {
    /// Forgets everything found, ready for the next record (cheaper than a fresh
    /// value: the key table's storage is reused as is).
    pub fn clear(&mut self) {
        self.top = [Span::Absent; 12];
        self.identity = [Span::Absent; IDENTITY_KEY_COUNT];
        self.issuer_user_name = Span::Absent;
        self.user_identity = Presence::Absent;
        self.keys.clear();
        self.any_escaped = false;
    }
}

/// A member's key bytes, decoded when it holds escapes (rare).
#[inline]
pub(crate) fn key_bytes<'b>(buf: &'b [u8], member: &Member) -> std::borrow::Cow<'b, [u8]> {
    let (start, end) = member.key;
    let raw = &buf[start..end];
    if !member.key_escaped {
        return std::borrow::Cow::Borrowed(raw);
    }
    let decoded = buf
        .get(start - 1..end + 1)
        .and_then(|quoted| std::str::from_utf8(quoted).ok())
        .and_then(|quoted| sonic_rs::from_str::<String>(quoted).ok());
    match decoded {
        Some(text) => std::borrow::Cow::Owned(text.into_bytes()),
        None => std::borrow::Cow::Borrowed(raw),
    }
}

/// The span of the value at `start..end` of `buf`, relative to `base`; `escaped`
/// tells whether a string value holds escapes.
fn span_of(buf: &[u8], start: usize, end: usize, base: usize, escaped: bool) -> Span {
    match buf[start] {
        b'"' => Span::Str {
            start: (start + 1 - base) as u32,
            end: (end - 1 - base) as u32,
            escaped,
        },
        b'n' => Span::Null,
        b't' => Span::True,
        b'f' => Span::False,
        _ => Span::Other,
    }
}

/// Collects [`HeadSpans`] from the members of a record object, as a
/// [`json::scan_object`] callback.
pub(crate) struct HeadCollector<'s> {
    /// What was found so far.
    pub spans: &'s mut HeadSpans,
    /// Where the record starts in the scanned buffer.
    base: usize,
    opts: ScanOptions,
    /// A scan error inside `userIdentity` (which is scanned in place).
    pub nested_error: Option<Stop>,
}

impl<'s> HeadCollector<'s> {
    /// A collector for the record starting at `base`, filling `spans` (cleared first).
    pub fn new(base: usize, opts: ScanOptions, spans: &'s mut HeadSpans) -> Self {
        spans.clear();
        HeadCollector {
            spans,
            base,
            opts,
            nested_error: None,
        }
    }

    /// Handles one top-level member (see [`json::scan_object`]).
    #[inline]
    pub fn on_member(
        &mut self,
        buf: &[u8],
        key: &[u8],
        member: &Member,
        span: Option<(usize, usize)>,
    ) -> MemberAction {
        match span {
            None => {
                if key == b"userIdentity" && buf[member.value_start] == b'{' {
                    return match self.scan_identity(buf, member.value_start) {
                        Ok(end) => {
                            self.spans.user_identity = Presence::Object;
                            self.spans.keys.push(
                                self.base,
                                member.key,
                                member.key_escaped,
                                (member.value_start, end),
                                false,
                            );
                            MemberAction::SkipTo(end)
                        }
                        Err(e) => {
                            self.nested_error = Some(e);
                            MemberAction::Stop
                        }
                    };
                }
                MemberAction::Skip
            }
            Some((start, end)) => {
                self.spans.keys.push(
                    self.base,
                    member.key,
                    member.key_escaped,
                    (start, end),
                    member.value_escaped,
                );
                if let Some(i) = top_index(key) {
                    self.spans.top[i] = span_of(buf, start, end, self.base, member.value_escaped);
                    self.spans.any_escaped |= member.value_escaped;
                } else if key == b"userIdentity" {
                    // Not an object (objects are handled before skipping).
                    self.spans.user_identity = if buf[start] == b'n' {
                        Presence::Null
                    } else {
                        Presence::Other
                    };
                    self.spans.identity = [Span::Absent; IDENTITY_KEY_COUNT];
                    self.spans.issuer_user_name = Span::Absent;
                }
                MemberAction::Skip
            }
        }
    }

    /// Scans the `userIdentity` object at `start`, descending into
    /// `sessionContext.sessionIssuer` in the same pass. Returns the object's end.
    fn scan_identity(&mut self, buf: &[u8], start: usize) -> Result<usize, Stop> {
        let base = self.base;
        let opts = self.opts;
        let mut identity = [Span::Absent; IDENTITY_KEY_COUNT];
        let mut issuer = Span::Absent;
        let mut nested = None;
        let result = json::scan_object(buf, start, opts, |member, span| match span {
            // Keys are decoded only for the values that may matter.
            None if buf[member.value_start] == b'{'
                && &*key_bytes(buf, member) == b"sessionContext" =>
            {
                match scan_session_context(buf, member.value_start, base, opts, &mut issuer) {
                    Ok(end) => MemberAction::SkipTo(end),
                    Err(e) => {
                        nested = Some(e);
                        MemberAction::Stop
                    }
                }
            }
            None => MemberAction::Skip,
            Some((vs, ve)) => {
                if let Some(i) = identity_index(&key_bytes(buf, member)) {
                    identity[i] = span_of(buf, vs, ve, base, member.value_escaped);
                }
                MemberAction::Skip
            }
        });
        if let Some(e) = nested {
            return Err(e);
        }
        match result? {
            ObjectScan::End(end) => {
                self.spans.any_escaped |= identity
                    .iter()
                    .chain([&issuer])
                    .any(|span| matches!(span, Span::Str { escaped: true, .. }));
                self.spans.identity = identity;
                self.spans.issuer_user_name = issuer;
                Ok(end)
            }
            ObjectScan::Stopped(at) => Err(Stop::Syntax {
                at,
                message: "cannot decode userIdentity".into(),
            }),
        }
    }
}

/// Scans `sessionContext` (an object at `start`) for `sessionIssuer.userName`.
fn scan_session_context(
    buf: &[u8],
    start: usize,
    base: usize,
    opts: ScanOptions,
    issuer_user_name: &mut Span,
) -> Result<usize, Stop> {
    let mut issuer = Span::Absent;
    let mut nested = None;
    let result = json::scan_object(buf, start, opts, |member, span| match span {
        None if buf[member.value_start] == b'{' && &*key_bytes(buf, member) == b"sessionIssuer" => {
            let mut found = Span::Absent;
            let scanned = json::scan_object(buf, member.value_start, opts, |m, s| {
                if let Some((vs, ve)) = s {
                    if &*key_bytes(buf, m) == b"userName" {
                        found = span_of(buf, vs, ve, base, m.value_escaped);
                    }
                }
                MemberAction::Skip
            });
            match scanned {
                Ok(ObjectScan::End(end)) => {
                    issuer = found;
                    MemberAction::SkipTo(end)
                }
                Ok(ObjectScan::Stopped(_)) => MemberAction::Skip,
                Err(e) => {
                    nested = Some(e);
                    MemberAction::Stop
                }
            }
        }
        _ => MemberAction::Skip,
    });
    if let Some(e) = nested {
        return Err(e);
    }
    match result? {
        ObjectScan::End(end) => {
            *issuer_user_name = issuer;
            Ok(end)
        }
        ObjectScan::Stopped(at) => Err(Stop::Syntax {
            at,
            message: "cannot decode sessionContext".into(),
        }),
    }
}

/// Scans the record object at `start` of `buf` and collects its head into `spans`
/// (positions relative to `start`). Returns the object's end.
pub(crate) fn scan_record(
    buf: &[u8],
    start: usize,
    opts: ScanOptions,
    spans: &mut HeadSpans,
) -> Result<usize, Stop> {
    let mut collector = HeadCollector::new(start, opts, spans);
    let result = json::scan_object(buf, start, opts, |member, span| {
        // Before skipping, only an object value (`userIdentity`) matters.
        if span.is_none() && buf[member.value_start] != b'{' {
            return MemberAction::Skip;
        }
        let key = key_bytes(buf, member);
        collector.on_member(buf, &key, member, span)
    });
    if let Some(e) = collector.nested_error.take() {
        return Err(e);
    }
    match result? {
        ObjectScan::End(end) => Ok(end),
        ObjectScan::Stopped(at) => Err(Stop::Syntax {
            at,
            message: "cannot decode the record".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_tables_agree_with_lookups() {
        for (i, k) in TOP_KEYS.iter().enumerate() {
            assert_eq!(top_index(k.as_bytes()), Some(i), "{k}");
        }
        for (i, k) in IDENTITY_KEYS.iter().enumerate() {
            assert_eq!(identity_index(k.as_bytes()), Some(i), "{k}");
        }
        assert_eq!(top_index(b"eventVersion"), None);
    }

    #[test]
    fn spans_are_relative_to_the_record() {
        let buf = br#"xx{"eventName":"A","userIdentity":{"type":"T","sessionContext":{"sessionIssuer":{"userName":"R"}}},"readOnly":true}"#;
        let mut spans = HeadSpans::default();
        let end = scan_record(
            buf,
            2,
            ScanOptions {
                at_eof: true,
                newline_is_error: false,
            },
            &mut spans,
        )
        .unwrap();
        assert_eq!(end, buf.len());
        let Span::Str {
            start,
            end,
            escaped: false,
        } = spans.top[3]
        else {
            panic!("{:?}", spans.top[3])
        };
        assert_eq!(&buf[2 + start as usize..2 + end as usize], b"A");
        assert_eq!(spans.top[11], Span::True);
        assert_eq!(spans.user_identity, Presence::Object);
        let Span::Str { start, end, .. } = spans.issuer_user_name else {
            panic!()
        };
        assert_eq!(&buf[2 + start as usize..2 + end as usize], b"R");
    }
}
