//! Compiled matchers: field paths, string patterns, value tests and search identifiers,
//! built once per rule from the parsed YAML and evaluated on every event.

use std::borrow::Cow;
use std::cell::Cell;
use std::net::IpAddr;

use aho_corasick::AhoCorasick;
use firebreak_events::{EventFields, FieldValue};
use regex::Regex;

use crate::condition::Condition;
use crate::error::Problem;
use crate::index::IndexKey;
use crate::yaml::Yaml;
use crate::Limits;

/// A dotted field path (`userIdentity.sessionContext.sessionIssuer.type`). A name with
/// dots is first tried as one literal key, then split into segments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldPath {
    name: Box<str>,
    segments: Box<[Box<str>]>,
    prefetch: Prefetch,
    /// Rule-set-wide number of this field name (for per-event memos), or [`NO_ID`].
    id: u32,
}

/// The id of a field path that has not been numbered.
const NO_ID: u32 = u32::MAX;
const MEMO_SLOTS: usize = 8;

/// Fields fetched once per event and shared by every rule tested on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prefetch {
    None,
    EventName,
    EventSource,
}

/// Per-event values fetched once before rules are tested (`eventName`,
/// `eventSource`), so that each rule's tests of those fields cost no lookup.
///
/// It also remembers, for a few fields, whether they are present / non-null on this
/// event, since many rules ask that of the same fields (`errorCode|exists`).
#[derive(Debug, Clone)]
pub struct EvalCtx<'a> {
    event_name: Option<&'a str>,
    event_source: Option<&'a str>,
    memo: Cell<[(u32, bool, bool); MEMO_SLOTS]>,
    memo_next: Cell<usize>,
}

impl Default for EvalCtx<'_> {
    fn default() -> Self {
        EvalCtx::new(None, None)
    }
}

impl<'a> EvalCtx<'a> {
    /// A context with the event's `eventName` and `eventSource` (as returned by
    /// [`EventFields::event_name`] and [`EventFields::event_source`]).
    pub fn new(event_name: Option<&'a str>, event_source: Option<&'a str>) -> Self {
        EvalCtx {
            event_name,
            event_source,
            memo: Cell::new([(NO_ID, false, false); MEMO_SLOTS]),
            memo_next: Cell::new(0),
        }
    }

    /// `compute()` for (field `id`, question `kind`), remembered for this event.
    fn remember(&self, id: u32, kind: bool, compute: impl FnOnce() -> bool) -> bool {
        if id == NO_ID {
            return compute();
        }
        let mut slots = self.memo.get();
        if let Some(&(_, _, answer)) = slots.iter().find(|(i, k, _)| *i == id && *k == kind) {
            return answer;
        }
        let answer = compute();
        let next = self.memo_next.get();
        slots[next % MEMO_SLOTS] = (id, kind, answer);
        self.memo.set(slots);
        self.memo_next.set(next.wrapping_add(1));
        answer
    }

    fn prefetched(&self, which: Prefetch) -> Option<&'a str> {
        match which {
            Prefetch::None => None,
            Prefetch::EventName => self.event_name,
            Prefetch::EventSource => self.event_source,
        }
    }
}

impl FieldPath {
    /// Builds a path from a field name as written in a rule.
    pub fn new(name: &str) -> Self {
        let segments: Vec<Box<str>> = if name.contains('.') {
            name.split('.').map(Box::from).collect()
        } else {
            Vec::new()
        };
        let prefetch = match name {
            "eventName" => Prefetch::EventName,
            "eventSource" => Prefetch::EventSource,
            _ => Prefetch::None,
        };
        FieldPath {
            name: name.into(),
            segments: segments.into_boxed_slice(),
            prefetch,
            id: NO_ID,
        }
    }

    /// The field name as written.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Numbers the path (paths with the same name get the same id in a rule set).
    pub(crate) fn set_id(&mut self, id: u32) {
        self.id = id;
    }

    /// Calls `visit` on every value of the field; returns `true` as soon as `visit`
    /// does. A dotted name is looked up as a path first and, only when that path is
    /// absent, as one literal key (`{"a.b": ...}`), so the common case costs one lookup.
    pub fn any<E: EventFields + ?Sized>(
        &self,
        event: &E,
        visit: &mut dyn FnMut(&FieldValue<'_>) -> bool,
    ) -> bool {
        if self.segments.is_empty() {
            return event.visit_field(&[&self.name], visit);
        }
        let mut seen = false;
        let mut tracking = |v: &FieldValue<'_>| {
            seen = true;
            visit(v)
        };
        const INLINE: usize = 16;
        let found = if self.segments.len() <= INLINE {
            let mut buf: [&str; INLINE] = [""; INLINE];
            for (slot, seg) in buf.iter_mut().zip(self.segments.iter()) {
                *slot = seg;
            }
            event.visit_field(&buf[..self.segments.len()], &mut tracking)
        } else {
            let segs: Vec<&str> = self.segments.iter().map(|s| s.as_ref()).collect();
            event.visit_field(&segs, &mut tracking)
        };
        if found {
            return true;
        }
        !seen && event.visit_field(&[&self.name], visit)
    }

    /// The first non-null value of the field as text (strings, numbers, booleans,
    /// objects as JSON).
    pub fn first_text<E: EventFields + ?Sized>(&self, event: &E) -> Option<String> {
        let mut out = None;
        self.any(event, &mut |v| match v.as_text() {
            Some(t) => {
                out = Some(t.into_owned());
                true
            }
            None => false,
        });
        out
    }
}

/// How a plain string pattern compares.
#[derive(Debug, Clone)]
pub enum StrMatch {
    /// `*`: any value, including the empty string.
    Any,
    /// The whole value equals the text.
    Exact(Box<str>),
    /// The value starts with the text.
    Prefix(Box<str>),
    /// The value ends with the text.
    Suffix(Box<str>),
    /// The value contains the text.
    Contains(Box<str>, AhoCorasick),
    /// Anything else (inner wildcards, `?`, non-ASCII case folding): an anchored regex.
    Regex(Regex),
}

/// A compiled Sigma string value (with wildcards and the case rule applied).
#[derive(Debug, Clone)]
pub struct StrPattern {
    /// How it compares.
    pub kind: StrMatch,
    /// Case-sensitive (`|cased`) or not (the default).
    pub cased: bool,
}

#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Lit(char),
    Star,
    One,
}

fn wildcard_pieces(value: &str) -> Vec<Piece> {
    let mut out = Vec::with_capacity(value.len());
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.peek() {
                Some('*') | Some('?') | Some('\\') => {
                    if let Some(next) = chars.next() {
                        out.push(Piece::Lit(next));
                    }
                }
                _ => out.push(Piece::Lit('\\')),
            },
            '*' => {
                if out.last() != Some(&Piece::Star) {
                    out.push(Piece::Star);
                }
            }
            '?' => out.push(Piece::One),
            c => out.push(Piece::Lit(c)),
        }
    }
    out
}

fn lit_text(pieces: &[Piece]) -> Option<String> {
    pieces
        .iter()
        .map(|p| match p {
            Piece::Lit(c) => Some(*c),
            _ => None,
        })
        .collect()
}

/// Where a match modifier anchors a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// Whole value (no modifier).
    Whole,
    /// `|contains`
    Contains,
    /// `|startswith`
    StartsWith,
    /// `|endswith`
    EndsWith,
}

impl StrPattern {
    /// Compiles a Sigma value. With `wildcards` false the value is literal text.
    pub fn compile(
        value: &str,
        anchor: Anchor,
        cased: bool,
        wildcards: bool,
        limits: &Limits,
    ) -> Result<Self, String> {
        let mut pieces = if wildcards {
            wildcard_pieces(value)
        } else {
            value.chars().map(Piece::Lit).collect()
        };
        if matches!(anchor, Anchor::Contains | Anchor::EndsWith)
            && pieces.first() != Some(&Piece::Star)
        {
            pieces.insert(0, Piece::Star);
        }
        if matches!(anchor, Anchor::Contains | Anchor::StartsWith)
            && pieces.last() != Some(&Piece::Star)
        {
            pieces.push(Piece::Star);
        }
        let n = pieces.len();
        let lead = pieces.first() == Some(&Piece::Star);
        let trail = n > 1 && pieces.last() == Some(&Piece::Star);
        let inner = &pieces[usize::from(lead)..n - usize::from(trail)];
        let inner_text = lit_text(inner);
        let ascii_ok = cased || inner_text.as_deref().is_some_and(|t| t.is_ascii());
        let kind = match (inner_text, lead, trail) {
            (Some(t), _, _) if t.is_empty() && (lead || trail) => StrMatch::Any,
            (Some(t), false, false) if ascii_ok => StrMatch::Exact(t.into()),
            (Some(t), false, true) if ascii_ok => StrMatch::Prefix(t.into()),
            (Some(t), true, false) if ascii_ok => StrMatch::Suffix(t.into()),
            (Some(t), true, true) if ascii_ok => {
                let finder = AhoCorasick::builder()
                    .ascii_case_insensitive(!cased)
                    .build([t.as_str()])
                    .map_err(|e| e.to_string())?;
                StrMatch::Contains(t.into(), finder)
            }
            _ => {
                let mut re = String::with_capacity(value.len() * 2 + 8);
                re.push_str(if cased { "(?s)^" } else { "(?si)^" });
                for piece in &pieces {
                    match piece {
                        Piece::Star => re.push_str(".*"),
                        Piece::One => re.push('.'),
                        Piece::Lit(c) => {
                            let mut b = [0u8; 4];
                            re.push_str(&regex::escape(c.encode_utf8(&mut b)));
                        }
                    }
                }
                re.push('$');
                StrMatch::Regex(build_regex(&re, limits)?)
            }
        };
        Ok(StrPattern { kind, cased })
    }

    /// Whether `text` matches.
    pub fn matches(&self, text: &str) -> bool {
        let eq = |a: &str, b: &str| {
            if self.cased {
                a == b
            } else {
                a.eq_ignore_ascii_case(b)
            }
        };
        match &self.kind {
            StrMatch::Any => true,
            StrMatch::Exact(t) => eq(text, t),
            StrMatch::Prefix(t) => {
                text.len() >= t.len() && text.is_char_boundary(t.len()) && eq(&text[..t.len()], t)
            }
            StrMatch::Suffix(t) => {
                text.len() >= t.len()
                    && text.is_char_boundary(text.len() - t.len())
                    && eq(&text[text.len() - t.len()..], t)
            }
            StrMatch::Contains(_, finder) => finder.is_match(text),
            StrMatch::Regex(re) => re.is_match(text),
        }
    }

    /// The index key of this pattern: its text when it is a plain whole-value or
    /// prefix comparison.
    pub(crate) fn index_key(&self) -> Option<IndexKey> {
        match &self.kind {
            StrMatch::Exact(t) => Some(IndexKey::Exact(t.to_ascii_lowercase())),
            StrMatch::Prefix(t) => Some(IndexKey::Prefix(t.to_ascii_lowercase())),
            _ => None,
        }
    }
}

/// Builds a regex within the configured size limits.
pub(crate) fn build_regex(pattern: &str, limits: &Limits) -> Result<Regex, String> {
    if pattern.len() > limits.max_regex_len {
        return Err(format!(
            "pattern is {} bytes, over the limit of {}",
            pattern.len(),
            limits.max_regex_len
        ));
    }
    regex::RegexBuilder::new(pattern)
        .size_limit(limits.max_regex_compiled_bytes)
        .dfa_size_limit(limits.max_regex_compiled_bytes)
        .nest_limit(limits.max_depth.min(250) as u32)
        .build()
        .map_err(|e| e.to_string())
}

/// Decodes JSON string escapes (`\"`, `\\`, `\n`, `\uXXXX`...) in `text`. Text
/// without a backslash is returned as is.
pub fn decode_json_escapes(text: &str) -> Cow<'_, str> {
    if !text.contains('\\') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('"') => out.push('"'),
            Some('\\') => out.push('\\'),
            Some('/') => out.push('/'),
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('u') => {
                let rest = chars.as_str();
                let hex = |s: &str| s.get(..4).and_then(|h| u32::from_str_radix(h, 16).ok());
                match hex(rest) {
                    Some(hi @ 0xD800..=0xDBFF) => {
                        let after = &rest[4..];
                        let lo = after.strip_prefix("\\u").and_then(hex);
                        match lo {
                            Some(lo @ 0xDC00..=0xDFFF) => {
                                let code = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                                out.push(char::from_u32(code).unwrap_or('\u{FFFD}'));
                                chars = after[6..].chars();
                            }
                            _ => {
                                out.push('\u{FFFD}');
                                chars = after.chars();
                            }
                        }
                    }
                    Some(code) => {
                        out.push(char::from_u32(code).unwrap_or('\u{FFFD}'));
                        chars = rest[4..].chars();
                    }
                    None => out.push_str("\\u"),
                }
            }
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    Cow::Owned(out)
}

/// Calls `test` on the texts a field value offers to string comparisons: the string,
/// the number literal, `true`/`false`, or for objects and arrays their JSON text and the
/// same text with JSON escapes decoded. Null offers nothing.
fn with_texts(value: &FieldValue<'_>, test: &mut dyn FnMut(&str) -> bool) -> bool {
    match value {
        FieldValue::Null => false,
        FieldValue::Bool(b) => test(if *b { "true" } else { "false" }),
        FieldValue::Number(s) | FieldValue::Str(s) => test(s),
        FieldValue::Object(s) | FieldValue::Array(s) => {
            if test(s) {
                return true;
            }
            match decode_json_escapes(s) {
                Cow::Owned(decoded) => test(&decoded),
                Cow::Borrowed(_) => false,
            }
        }
    }
}

/// An IP network for `|cidr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `10.0.0.0/8`, `2001:db8::/32` or a bare address.
    pub fn parse(text: &str) -> Option<Self> {
        let (addr, prefix) = match text.trim().split_once('/') {
            Some((a, p)) => (a, Some(p.parse::<u8>().ok()?)),
            None => (text.trim(), None),
        };
        let network: IpAddr = addr.parse().ok()?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Cidr { network, prefix })
    }

    /// The network address as written in the rule (host bits are not cleared).
    pub fn network(&self) -> IpAddr {
        self.network
    }

    /// The prefix length (32 or 128 for a bare address).
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// Whether `text` is an IP address inside the network.
    pub fn contains(&self, text: &str) -> bool {
        let Ok(addr) = text.trim().parse::<IpAddr>() else {
            return false;
        };
        match (self.network, addr) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = if self.prefix == 0 {
                    0
                } else {
                    u32::MAX << (32 - u32::from(self.prefix))
                };
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = if self.prefix == 0 {
                    0
                } else {
                    u128::MAX << (128 - u32::from(self.prefix))
                };
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// Numeric comparison of `|gt`, `|gte`, `|lt`, `|lte`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumOp {
    /// `>`
    Gt,
    /// `>=`
    Gte,
    /// `<`
    Lt,
    /// `<=`
    Lte,
}

/// One test of a field against one rule value.
#[derive(Debug, Clone)]
pub enum ValueTest {
    /// `null`: the field is absent or JSON null.
    Null,
    /// `|exists: true/false`.
    Exists(bool),
    /// A string pattern (plain, wildcard, contains...).
    Str(StrPattern),
    /// `|re`.
    Regex(Regex),
    /// `|cidr`.
    Cidr(Cidr),
    /// `|gt` and friends.
    Num(NumOp, f64),
    /// `|fieldref`: compare with another field of the same event.
    FieldRef {
        /// The other field.
        other: FieldPath,
        /// How the values compare.
        anchor: Anchor,
        /// Case-sensitive.
        cased: bool,
    },
}

impl ValueTest {
    fn matches_value(&self, value: &FieldValue<'_>) -> bool {
        match self {
            ValueTest::Str(p) => with_texts(value, &mut |t| p.matches(t)),
            ValueTest::Regex(re) => with_texts(value, &mut |t| re.is_match(t)),
            ValueTest::Cidr(c) => match value {
                FieldValue::Str(s) => c.contains(s),
                _ => false,
            },
            ValueTest::Num(op, n) => {
                let parsed = match value {
                    FieldValue::Number(s) | FieldValue::Str(s) => s.trim().parse::<f64>().ok(),
                    _ => None,
                };
                parsed.is_some_and(|v| match op {
                    NumOp::Gt => v > *n,
                    NumOp::Gte => v >= *n,
                    NumOp::Lt => v < *n,
                    NumOp::Lte => v <= *n,
                })
            }
            ValueTest::Null | ValueTest::Exists(_) | ValueTest::FieldRef { .. } => false,
        }
    }

    fn is_value_level(&self) -> bool {
        !matches!(
            self,
            ValueTest::Null | ValueTest::Exists(_) | ValueTest::FieldRef { .. }
        )
    }

    fn matches_field<E: EventFields + ?Sized>(
        &self,
        path: &FieldPath,
        event: &E,
        ctx: &EvalCtx<'_>,
    ) -> bool {
        match self {
            ValueTest::Null => !ctx.remember(path.id, false, || {
                path.any(event, &mut |v| !matches!(v, FieldValue::Null))
            }),
            ValueTest::Exists(want) => {
                ctx.remember(path.id, true, || path.any(event, &mut |_| true)) == *want
            }
            ValueTest::FieldRef {
                other,
                anchor,
                cased,
            } => {
                let mut others: Vec<String> = Vec::new();
                other.any(event, &mut |v| {
                    if let Some(t) = v.as_text() {
                        others.push(t.into_owned());
                    }
                    false
                });
                if others.is_empty() {
                    return false;
                }
                let eq = |a: &str, b: &str| {
                    if *cased {
                        a == b
                    } else {
                        a.eq_ignore_ascii_case(b)
                    }
                };
                path.any(event, &mut |v| {
                    let Some(text) = v.as_text() else {
                        return false;
                    };
                    others.iter().any(|o| match anchor {
                        Anchor::Whole => eq(&text, o),
                        Anchor::StartsWith => text.get(..o.len()).is_some_and(|h| eq(h, o)),
                        Anchor::EndsWith => {
                            text.len() >= o.len()
                                && text.get(text.len() - o.len()..).is_some_and(|h| eq(h, o))
                        }
                        Anchor::Contains => {
                            if *cased {
                                text.contains(o.as_str())
                            } else {
                                text.to_lowercase().contains(&o.to_lowercase())
                            }
                        }
                    })
                })
            }
            other => path.any(event, &mut |v| other.matches_value(v)),
        }
    }
}

/// One `field|modifiers: value(s)` entry of a search identifier.
#[derive(Debug, Clone)]
pub struct FieldMatcher {
    /// The key as written (`requestParameters|contains|all`).
    pub key: String,
    /// The field.
    pub path: FieldPath,
    /// One entry per rule value; each entry holds alternatives (e.g. the three
    /// `base64offset` encodings) of which one must match.
    pub values: Vec<Vec<ValueTest>>,
    /// `|all`: every value must match (otherwise one is enough).
    pub all: bool,
}

impl FieldMatcher {
    /// Whether the event satisfies this entry.
    pub fn matches<E: EventFields + ?Sized>(&self, event: &E, ctx: &EvalCtx<'_>) -> bool {
        if let Some(text) = ctx.prefetched(self.path.prefetch) {
            let value = FieldValue::Str(Cow::Borrowed(text));
            let test = |t: &ValueTest| match t {
                ValueTest::Null => false,
                ValueTest::Exists(want) => *want,
                ValueTest::FieldRef { .. } => t.matches_field(&self.path, event, ctx),
                other => other.matches_value(&value),
            };
            return if self.all {
                self.values.iter().all(|alts| alts.iter().any(test))
            } else {
                self.values.iter().flatten().any(test)
            };
        }
        if self.all {
            return self
                .values
                .iter()
                .all(|alts| alts.iter().any(|t| t.matches_field(&self.path, event, ctx)));
        }
        let value_level = self.values.iter().flatten().any(ValueTest::is_value_level);
        if value_level
            && self.path.any(event, &mut |v| {
                self.values.iter().flatten().any(|t| t.matches_value(v))
            })
        {
            return true;
        }
        self.values
            .iter()
            .flatten()
            .filter(|t| !t.is_value_level())
            .any(|t| t.matches_field(&self.path, event, ctx))
    }

    /// The index keys this entry requires of its field when it is a plain
    /// `field: value(s)` or `field|startswith: value(s)` comparison; `None` otherwise.
    fn index_keys(&self) -> Option<Vec<IndexKey>> {
        if self.all && self.values.len() > 1 {
            return None;
        }
        let mut out = Vec::new();
        for alts in &self.values {
            for t in alts {
                match t {
                    ValueTest::Str(p) => out.push(p.index_key()?),
                    _ => return None,
                }
            }
        }
        Some(out)
    }
}

/// A search identifier of the `detection` section.
#[derive(Debug, Clone)]
pub enum Search {
    /// A map: all entries must match. An empty map matches nothing.
    AllOf(Vec<FieldMatcher>),
    /// A list of maps: one map must match.
    AnyMap(Vec<Vec<FieldMatcher>>),
    /// Keywords: values searched in the whole event text (one must match, or all).
    Keywords {
        /// The patterns.
        patterns: Vec<StrPattern>,
        /// `|all`.
        all: bool,
    },
}

fn all_match<E: EventFields + ?Sized>(
    entries: &[FieldMatcher],
    event: &E,
    ctx: &EvalCtx<'_>,
) -> bool {
    !entries.is_empty() && entries.iter().all(|m| m.matches(event, ctx))
}

impl Search {
    /// Whether the event satisfies this search identifier.
    pub fn matches<E: EventFields + ?Sized>(&self, event: &E, ctx: &EvalCtx<'_>) -> bool {
        match self {
            Search::AllOf(entries) => all_match(entries, event, ctx),
            Search::AnyMap(maps) => maps.iter().any(|m| all_match(m, event, ctx)),
            Search::Keywords { patterns, all } => {
                let raw = event.raw_json();
                let text = decode_json_escapes(&raw);
                if *all {
                    patterns.iter().all(|p| p.matches(&text))
                } else {
                    patterns.iter().any(|p| p.matches(&text))
                }
            }
        }
    }

    /// The values (lowercase) this identifier requires of `field`, if it requires any.
    pub(crate) fn required_keys(&self, field: &str) -> Option<Vec<IndexKey>> {
        fn of_map(entries: &[FieldMatcher], field: &str) -> Option<Vec<IndexKey>> {
            let mut best: Option<Vec<IndexKey>> = None;
            for m in entries.iter().filter(|m| m.path.name() == field) {
                if let Some(values) = m.index_keys() {
                    if best.as_ref().is_none_or(|b| values.len() < b.len()) {
                        best = Some(values);
                    }
                }
            }
            best
        }
        match self {
            Search::AllOf(entries) => of_map(entries, field),
            Search::AnyMap(maps) => {
                let mut out = Vec::new();
                for m in maps {
                    out.extend(of_map(m, field)?);
                }
                Some(out)
            }
            Search::Keywords { .. } => None,
        }
    }
}

/// A compiled single-event rule: its search identifiers and condition.
#[derive(Debug, Clone)]
pub struct Detection {
    /// Search identifier names, parallel to `searches`.
    pub names: Vec<String>,
    /// The compiled search identifiers.
    pub searches: Vec<Search>,
    /// The condition over them.
    pub condition: Condition,
}

impl Detection {
    /// Whether the event matches the rule.
    pub fn matches<E: EventFields + ?Sized>(&self, event: &E) -> bool {
        self.matches_with(event, &EvalCtx::default())
    }

    /// Whether the event matches the rule, with per-event values already fetched.
    pub fn matches_with<E: EventFields + ?Sized>(&self, event: &E, ctx: &EvalCtx<'_>) -> bool {
        self.condition
            .eval(&mut |i| self.searches.get(i).is_some_and(|s| s.matches(event, ctx)))
    }

    /// Calls `f` on every field path of the rule's field matchers.
    pub(crate) fn for_each_path_mut(&mut self, f: &mut dyn FnMut(&mut FieldPath)) {
        for search in &mut self.searches {
            let maps: Vec<&mut Vec<FieldMatcher>> = match search {
                Search::AllOf(entries) => vec![entries],
                Search::AnyMap(maps) => maps.iter_mut().collect(),
                Search::Keywords { .. } => Vec::new(),
            };
            for m in maps.into_iter().flatten() {
                f(&mut m.path);
            }
        }
    }

    /// Names of the fields this rule compares (for choosing an index field).
    pub(crate) fn field_names(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for s in &self.searches {
            let maps: Vec<&[FieldMatcher]> = match s {
                Search::AllOf(entries) => vec![entries.as_slice()],
                Search::AnyMap(maps) => maps.iter().map(Vec::as_slice).collect(),
                Search::Keywords { .. } => Vec::new(),
            };
            for m in maps.into_iter().flatten() {
                if !out.contains(&m.path.name()) {
                    out.push(m.path.name());
                }
            }
        }
        out.sort_unstable();
        out
    }
}

// ---------------------------------------------------------------------------
// Building matchers from YAML

fn base64_encode(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The three `base64offset` encodings of `value` (as pySigma computes them).
fn base64_offsets(value: &[u8]) -> Vec<String> {
    let starts = [0usize, 2, 3];
    let mut out = Vec::with_capacity(3);
    for (i, &start) in starts.iter().enumerate() {
        let mut padded = vec![b' '; i];
        padded.extend_from_slice(value);
        let enc = base64_encode(&padded);
        let end_trim = match (value.len() + i) % 3 {
            0 => 0,
            1 => 3,
            _ => 2,
        };
        let end = enc.len().saturating_sub(end_trim);
        out.push(
            enc.get(start..end.max(start))
                .unwrap_or_default()
                .to_string(),
        );
    }
    out
}

const DASHES: [char; 5] = ['-', '/', '\u{2013}', '\u{2014}', '\u{2015}'];

#[derive(Default)]
struct Modifiers {
    anchor: Option<Anchor>,
    all: bool,
    cased: bool,
    re: bool,
    re_i: bool,
    re_m: bool,
    re_s: bool,
    cidr: bool,
    base64: bool,
    base64offset: bool,
    windash: bool,
    exists: bool,
    fieldref: bool,
    num: Option<NumOp>,
}

fn parse_modifiers(key: &str, mods: &[&str]) -> Result<Modifiers, Problem> {
    let err = |message: String| Problem::Field {
        field: key.to_string(),
        message,
    };
    let mut m = Modifiers::default();
    for &raw in mods {
        let name = raw.trim().to_ascii_lowercase();
        let set_anchor = |m: &mut Modifiers, a: Anchor| {
            if m.anchor.is_some() && m.anchor != Some(a) {
                return Err(err("more than one of contains/startswith/endswith".into()));
            }
            m.anchor = Some(a);
            Ok(())
        };
        match name.as_str() {
            "contains" => set_anchor(&mut m, Anchor::Contains)?,
            "startswith" => set_anchor(&mut m, Anchor::StartsWith)?,
            "endswith" => set_anchor(&mut m, Anchor::EndsWith)?,
            "all" => m.all = true,
            "cased" => m.cased = true,
            "re" => m.re = true,
            "i" | "ignorecase" => m.re_i = true,
            "m" | "multiline" => m.re_m = true,
            "s" | "dotall" => m.re_s = true,
            "cidr" => m.cidr = true,
            "base64" => m.base64 = true,
            "base64offset" => m.base64offset = true,
            "windash" => m.windash = true,
            "exists" => m.exists = true,
            "fieldref" => m.fieldref = true,
            "gt" => m.num = Some(NumOp::Gt),
            "gte" => m.num = Some(NumOp::Gte),
            "lt" => m.num = Some(NumOp::Lt),
            "lte" => m.num = Some(NumOp::Lte),
            "expand" => {
                return Err(Problem::Unsupported(format!(
                    "field '{key}' uses |expand: the placeholder needs a value from a pipeline"
                )))
            }
            "wide" | "utf16le" | "utf16be" | "utf16" => {
                return Err(Problem::Unsupported(format!(
                "field '{key}': modifier '{name}' (UTF-16 encoding) is not supported for JSON logs"
            )))
            }
            "" => return Err(err("empty modifier".into())),
            other => return Err(err(format!("unknown modifier '{other}'"))),
        }
    }
    if (m.re_i || m.re_m || m.re_s) && !m.re {
        return Err(err("regex flags i/m/s need the |re modifier".into()));
    }
    let kinds = [m.re, m.cidr, m.exists, m.fieldref, m.num.is_some()]
        .iter()
        .filter(|b| **b)
        .count();
    if kinds > 1 {
        return Err(err(
            "modifiers re, cidr, exists, fieldref and gt/gte/lt/lte cannot be combined".into(),
        ));
    }
    if (m.re || m.cidr || m.exists || m.num.is_some())
        && (m.anchor.is_some() || m.base64 || m.base64offset)
    {
        return Err(err("contains/startswith/endswith/base64 cannot be combined with re, cidr, exists or numbers".into()));
    }
    if m.base64 && m.base64offset {
        return Err(err("base64 and base64offset cannot be combined".into()));
    }
    Ok(m)
}

/// Finds `%name%` placeholders in a value.
fn placeholder(value: &str) -> Option<&str> {
    let start = value.find('%')?;
    let rest = &value[start + 1..];
    let end = rest.find('%')?;
    let name = &rest[..end];
    (!name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'))
    .then_some(&value[start..start + end + 2])
}

/// Compiles one `key: value(s)` entry of a search identifier map.
pub(crate) fn compile_field(
    key: &str,
    value: &Yaml,
    limits: &Limits,
    value_budget: &mut usize,
) -> Result<FieldMatcher, Problem> {
    let mut parts = key.split('|');
    let field = parts.next().unwrap_or_default().trim();
    let mods: Vec<&str> = parts.collect();
    let err = |message: String| Problem::Field {
        field: key.to_string(),
        message,
    };
    if field.is_empty() {
        return Err(err(
            "a field name is required before the modifiers (keyword modifiers are not supported)"
                .into(),
        ));
    }
    if mods.iter().any(|m| m.trim().eq_ignore_ascii_case("expand")) {
        let values: Vec<String> = match value {
            Yaml::Seq(items) => items.iter().filter_map(Yaml::scalar_text).collect(),
            other => other.scalar_text().into_iter().collect(),
        };
        let holder = values
            .iter()
            .find_map(|v| placeholder(v).map(str::to_string));
        return Err(Problem::Unsupported(match holder {
            Some(p) => format!(
                "field '{key}': placeholder {p} needs a value (|expand is filled by a pipeline)"
            ),
            None => format!("field '{key}': |expand needs placeholder values from a pipeline"),
        }));
    }
    let m = parse_modifiers(key, &mods)?;
    let items: Vec<&Yaml> = match value {
        Yaml::Seq(items) => items.iter().collect(),
        other => vec![other],
    };
    if items.is_empty() {
        return Err(err("empty list of values".into()));
    }
    if items.len() > *value_budget {
        return Err(err(format!(
            "rule has more than {} values",
            limits.max_values_per_rule
        )));
    }
    *value_budget -= items.len();
    let mut values = Vec::with_capacity(items.len());
    for item in items {
        let text = match item {
            Yaml::Null => {
                if m.exists || m.re || m.cidr || m.num.is_some() || m.fieldref {
                    return Err(err("null is not a valid value with this modifier".into()));
                }
                values.push(vec![ValueTest::Null]);
                continue;
            }
            Yaml::Seq(_) | Yaml::Map(_) => {
                return Err(err(format!(
                    "a value must be a scalar, found a {}",
                    item.type_name()
                )));
            }
            other => other.scalar_text().unwrap_or_default(),
        };
        if m.exists {
            let want = match text.to_ascii_lowercase().as_str() {
                "true" | "yes" => true,
                "false" | "no" => false,
                _ => return Err(err(format!("|exists needs true or false, found '{text}'"))),
            };
            values.push(vec![ValueTest::Exists(want)]);
            continue;
        }
        if m.re {
            let mut flags = String::new();
            if m.re_i {
                flags.push('i');
            }
            if m.re_m {
                flags.push('m');
            }
            if m.re_s {
                flags.push('s');
            }
            let pattern = if flags.is_empty() {
                text.clone()
            } else {
                format!("(?{flags}){text}")
            };
            let re = build_regex(&pattern, limits).map_err(|message| Problem::Regex {
                field: key.to_string(),
                pattern: text.chars().take(200).collect(),
                message,
            })?;
            values.push(vec![ValueTest::Regex(re)]);
            continue;
        }
        if m.cidr {
            let cidr =
                Cidr::parse(&text).ok_or_else(|| err(format!("'{text}' is not a CIDR network")))?;
            values.push(vec![ValueTest::Cidr(cidr)]);
            continue;
        }
        if let Some(op) = m.num {
            let n: f64 = text
                .trim()
                .parse()
                .map_err(|_| err(format!("'{text}' is not a number")))?;
            values.push(vec![ValueTest::Num(op, n)]);
            continue;
        }
        if m.fieldref {
            values.push(vec![ValueTest::FieldRef {
                other: FieldPath::new(text.trim()),
                anchor: m.anchor.unwrap_or(Anchor::Whole),
                cased: m.cased,
            }]);
            continue;
        }
        // String values, possibly transformed.
        let mut variants: Vec<(String, bool)> = if m.windash && text.contains(DASHES) {
            DASHES
                .iter()
                .map(|d| (text.replace(DASHES, &d.to_string()), true))
                .collect()
        } else {
            vec![(text.clone(), true)]
        };
        if m.base64 {
            variants = variants
                .into_iter()
                .map(|(v, _)| (base64_encode(v.as_bytes()), false))
                .collect();
        } else if m.base64offset {
            variants = variants
                .into_iter()
                .flat_map(|(v, _)| base64_offsets(v.as_bytes()).into_iter().map(|e| (e, false)))
                .collect();
        }
        let anchor = m.anchor.unwrap_or(if m.base64offset {
            Anchor::Contains
        } else {
            Anchor::Whole
        });
        let mut alts = Vec::with_capacity(variants.len());
        for (v, wildcards) in variants {
            let p =
                StrPattern::compile(&v, anchor, m.cased, wildcards, limits).map_err(|message| {
                    Problem::Regex {
                        field: key.to_string(),
                        pattern: v.chars().take(200).collect(),
                        message,
                    }
                })?;
            alts.push(ValueTest::Str(p));
        }
        values.push(alts);
    }
    Ok(FieldMatcher {
        key: key.to_string(),
        path: FieldPath::new(field),
        values,
        all: m.all,
    })
}

/// Compiles a keyword value (whole-event search, implicitly `*value*`).
pub(crate) fn compile_keyword(value: &str, limits: &Limits) -> Result<StrPattern, Problem> {
    StrPattern::compile(value, Anchor::Contains, false, true, limits).map_err(|message| {
        Problem::Regex {
            field: "keywords".into(),
            pattern: value.chars().take(200).collect(),
            message,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_known_encodings() {
        assert_eq!(base64_encode(b"hello"), "aGVsbG8=");
        assert_eq!(base64_encode(b"ab"), "YWI=");
        assert_eq!(base64_encode(b"abc"), "YWJj");
        // pySigma's documented base64offset output for "/bin/bash".
        assert_eq!(
            base64_offsets(b"/bin/bash"),
            vec!["L2Jpbi9iYXNo", "9iaW4vYmFza", "vYmluL2Jhc2"]
        );
    }

    #[test]
    fn json_escapes_decode() {
        assert_eq!(decode_json_escapes(r#"{\"a\":\"b\\c\"}"#), r#"{"a":"b\c"}"#);
        assert_eq!(decode_json_escapes(r"\u00e9\ud83d\ude00"), "é😀");
        assert_eq!(decode_json_escapes(r"bad \u12"), r"bad \u12");
        assert_eq!(decode_json_escapes(r"\ud800x"), "\u{FFFD}x");
    }

    #[test]
    fn wildcard_compiles_to_fast_forms() {
        let l = Limits::default();
        let c = |v: &str| StrPattern::compile(v, Anchor::Whole, false, true, &l).map(|p| p.kind);
        assert!(matches!(c("abc"), Ok(StrMatch::Exact(_))));
        assert!(matches!(c("abc*"), Ok(StrMatch::Prefix(_))));
        assert!(matches!(c("*abc"), Ok(StrMatch::Suffix(_))));
        assert!(matches!(c("*abc*"), Ok(StrMatch::Contains(..))));
        assert!(matches!(c("*"), Ok(StrMatch::Any)));
        assert!(matches!(c("a*c"), Ok(StrMatch::Regex(_))));
        assert!(matches!(c(r"a\*c"), Ok(StrMatch::Exact(t)) if &*t == "a*c"));
    }

    #[test]
    fn cidr_contains() {
        let net = Cidr::parse("10.0.0.0/8").unwrap();
        assert!(net.contains("10.1.2.3"));
        assert!(!net.contains("11.1.2.3"));
        assert!(!net.contains("not an ip"));
        let v6 = Cidr::parse("2001:db8::/32").unwrap();
        assert!(v6.contains("2001:db8:1::1"));
        assert!(!v6.contains("2001:db9::1"));
        assert!(Cidr::parse("10.0.0.0/33").is_none());
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains("1.2.3.4"));
    }
}
