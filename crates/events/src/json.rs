//! A small, fast JSON structure scanner over a byte slice, shared by the streaming
//! readers (to cut records out of the input) and by [`crate::CloudTrailEvent`] (to
//! find its head fields in one pass).
//!
//! It checks the grammar at the token level (objects, arrays, keys, commas, colons,
//! literals, string escapes, control bytes in strings) without decoding anything.
//! Strings, which are most of a CloudTrail record, are crossed eight bytes at a time
//! in a register, and long ones with `memchr` (SIMD).
//! Scanning stops with [`Stop::NeedMore`] when the slice ends inside a value, so a
//! streaming caller can read more and scan again from the value's start.

/// Why a scan stopped without a complete value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stop {
    /// The slice ends inside the value.
    NeedMore,
    /// A grammar error at slice position `at`.
    Syntax { at: usize, message: String },
    /// Nesting deeper than [`MAX_DEPTH`] at slice position `at`.
    TooDeep { at: usize },
}

/// The deepest nesting accepted inside one value.
pub(crate) const MAX_DEPTH: usize = 128;

/// Options for a scan.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ScanOptions {
    /// The slice holds everything there is: a number may end at its end.
    pub at_eof: bool,
    /// A line break between tokens is an error (JSON lines).
    pub newline_is_error: bool,
}

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

#[inline(always)]
fn has_zero_byte(v: u64) -> u64 {
    v.wrapping_sub(LO) & !v & HI
}

#[inline(always)]
fn has_byte_below_0x20(v: u64) -> u64 {
    v.wrapping_sub(LO * 0x20) & !v & HI
}

#[cold]
#[inline(never)]
fn syntax(at: usize, message: impl Into<String>) -> Stop {
    Stop::Syntax {
        at,
        message: message.into(),
    }
}

/// The error for an unexpected byte `found` at `at` (`what` was expected).
#[cold]
#[inline(never)]
fn unexpected(at: usize, what: &str, found: u8) -> Stop {
    syntax(at, format!("{what}, found {}", describe_byte(found)))
}

/// A byte, described for an error message.
pub(crate) fn describe_byte(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("'{}'", b as char)
    } else {
        format!("byte 0x{b:02x}")
    }
}

/// Skips whitespace from `i`; returns the position of the next byte.
#[inline(always)]
fn skip_ws(buf: &[u8], mut i: usize, opts: ScanOptions) -> Result<usize, Stop> {
    // Compact JSON: the next byte is already a token (every JSON whitespace byte is
    // at most b' ').
    if let Some(&b) = buf.get(i) {
        if b > b' ' {
            return Ok(i);
        }
    }
    loop {
        match buf.get(i) {
            Some(b' ' | b'\t' | b'\r') => i += 1,
            Some(b'\n') => {
                if opts.newline_is_error {
                    return Err(syntax(i, "record does not end on its line"));
                }
                i += 1;
            }
            Some(_) => return Ok(i),
            None => return Err(Stop::NeedMore),
        }
    }
}

/// Position in `s` of its first byte below 0x20 (a control byte, not allowed raw
/// inside a JSON string), eight bytes at a time.
#[inline(always)]
fn first_control_byte(s: &[u8]) -> Option<usize> {
    let mut chunks = s.chunks_exact(8);
    let mut base = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let found = has_byte_below_0x20(u64::from_le_bytes(word));
        if found != 0 {
            return Some(base + (found.trailing_zeros() / 8) as usize);
        }
        base += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b < 0x20)
        .map(|at| base + at)
}

/// The error for control byte `b` at `at` inside a string.
#[cold]
fn control_byte_error(at: usize, b: u8) -> Stop {
    if b == b'\n' {
        syntax(at, "line break inside a string")
    } else {
        syntax(at, format!("control byte 0x{b:02x} inside a string"))
    }
}

/// Words of a string tested in a register before handing over to `memchr`.
const SWAR_WORDS: usize = 4;

/// Position of the first byte at or after `i` that ends a run of plain string
/// bytes: a quote, a backslash or a control byte. `NeedMore` when the slice ends first.
///
/// The first 32 bytes (most keys and values are shorter) are tested eight at a
/// time in a register; longer strings are crossed with [`memchr::memchr2`] (the next
/// quote or backslash), and the bytes crossed are then checked for control bytes.
#[inline(always)]
fn string_run_end(buf: &[u8], mut i: usize) -> Result<usize, Stop> {
    for _ in 0..SWAR_WORDS {
        let Some(chunk) = buf.get(i..i + 8) else {
            let tail = buf.get(i..).unwrap_or_default();
            return match tail
                .iter()
                .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
            {
                Some(at) => Ok(i + at),
                None => Err(Stop::NeedMore),
            };
        };
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let v = u64::from_le_bytes(word);
        let special = has_zero_byte(v ^ (LO * u64::from(b'"')))
            | has_zero_byte(v ^ (LO * u64::from(b'\\')))
            | has_byte_below_0x20(v);
        if special != 0 {
            return Ok(i + (special.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    let rest = buf.get(i..).unwrap_or_default();
    match memchr::memchr2(b'"', b'\\', rest) {
        Some(run) => Ok(i + first_control_byte(&rest[..run]).unwrap_or(run)),
        None => match first_control_byte(rest) {
            Some(at) => Ok(i + at),
            None => Err(Stop::NeedMore),
        },
    }
}

/// Skips a string whose opening quote is at `i`; returns the position after its
/// closing quote. Also tells whether it held an escape.
#[inline(always)]
pub(crate) fn skip_string(buf: &[u8], i: usize) -> Result<(usize, bool), Stop> {
    let mut i = i + 1;
    let mut escaped = false;
    loop {
        let at = string_run_end(buf, i)?;
        match buf[at] {
            b'"' => return Ok((at + 1, escaped)),
            b'\\' => {
                escaped = true;
                match buf.get(at + 1) {
                    None => return Err(Stop::NeedMore),
                    Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => i = at + 2,
                    Some(b'u') => {
                        let Some(hex) = buf.get(at + 2..at + 6) else {
                            return Err(Stop::NeedMore);
                        };
                        if !hex.iter().all(u8::is_ascii_hexdigit) {
                            return Err(syntax(at, "invalid \\u escape in a string"));
                        }
                        i = at + 6;
                    }
                    Some(_) => return Err(syntax(at, "invalid escape in a string")),
                }
            }
            b => return Err(control_byte_error(at, b)),
        }
    }
}

/// Skips a number starting at `i`.
#[inline]
fn skip_number(buf: &[u8], start: usize, at_eof: bool) -> Result<usize, Stop> {
    let mut i = start;
    let mut digits = 0usize;
    loop {
        match buf.get(i) {
            Some(b'0'..=b'9') => digits += 1,
            Some(b'-' | b'+' | b'.' | b'e' | b'E') => {}
            Some(_) => break,
            None if at_eof => break,
            None => return Err(Stop::NeedMore),
        }
        i += 1;
    }
    if digits == 0 {
        return Err(syntax(start, "invalid number"));
    }
    Ok(i)
}

#[inline]
fn skip_literal(buf: &[u8], i: usize, word: &'static [u8]) -> Result<usize, Stop> {
    let end = i + word.len();
    match buf.get(i..end) {
        Some(got) if got == word => Ok(end),
        Some(_) => Err(syntax(i, "expected a JSON value")),
        None => {
            // A prefix that still matches may complete with more input.
            let have = &buf[i.min(buf.len())..];
            if word.starts_with(have) {
                Err(Stop::NeedMore)
            } else {
                Err(syntax(i, "expected a JSON value"))
            }
        }
    }
}

/// Skips `"key"` and `:` at `i` (after whitespace); returns the key's span (inside
/// the quotes), whether it held escapes, and the position of the value's first byte.
#[inline(always)]
fn key_colon(
    buf: &[u8],
    i: usize,
    opts: ScanOptions,
) -> Result<((usize, usize), bool, usize), Stop> {
    let i = skip_ws(buf, i, opts)?;
    if buf[i] != b'"' {
        return Err(unexpected(i, "expected a key string", buf[i]));
    }
    let (after, escaped) = skip_string(buf, i)?;
    let key = (i + 1, after - 1);
    let c = skip_ws(buf, after, opts)?;
    if buf[c] != b':' {
        return Err(unexpected(c, "expected ':' after a key", buf[c]));
    }
    let v = skip_ws(buf, c + 1, opts)?;
    Ok((key, escaped, v))
}

/// Skips one JSON value starting at `i` (whitespace allowed first); returns the
/// position just after it.
pub(crate) fn skip_value(buf: &[u8], i: usize, opts: ScanOptions) -> Result<usize, Stop> {
    // Nesting kinds, one bit per level: 1 = object, 0 = array.
    let mut kinds: u128 = 0;
    let mut depth = 0usize;
    let mut i = skip_ws(buf, i, opts)?;
    loop {
        // `i` is on the first byte of a value.
        match buf[i] {
            b'"' => i = skip_string(buf, i)?.0,
            open @ (b'{' | b'[') => {
                let close = if open == b'{' { b'}' } else { b']' };
                let next = skip_ws(buf, i + 1, opts)?;
                if buf[next] == close {
                    i = next + 1;
                } else {
                    if depth >= MAX_DEPTH {
                        return Err(Stop::TooDeep { at: i });
                    }
                    kinds = (kinds << 1) | u128::from(open == b'{');
                    depth += 1;
                    i = if open == b'{' {
                        key_colon(buf, next, opts)?.2
                    } else {
                        next
                    };
                    continue;
                }
            }
            b'-' | b'0'..=b'9' => i = skip_number(buf, i, opts.at_eof && depth == 0)?,
            b't' => i = skip_literal(buf, i, b"true")?,
            b'f' => i = skip_literal(buf, i, b"false")?,
            b'n' => i = skip_literal(buf, i, b"null")?,
            other => return Err(unexpected(i, "expected a JSON value", other)),
        }
        // After a value: close containers or move on to the next element.
        loop {
            if depth == 0 {
                return Ok(i);
            }
            let in_object = kinds & 1 == 1;
            i = skip_ws(buf, i, opts)?;
            match buf[i] {
                b',' => {
                    i = if in_object {
                        key_colon(buf, i + 1, opts)?.2
                    } else {
                        skip_ws(buf, i + 1, opts)?
                    };
                    break;
                }
                b'}' if in_object => {
                    kinds >>= 1;
                    depth -= 1;
                    i += 1;
                }
                b']' if !in_object => {
                    kinds >>= 1;
                    depth -= 1;
                    i += 1;
                }
                other if in_object => {
                    return Err(unexpected(i, "expected ',' or '}'", other));
                }
                other => return Err(unexpected(i, "expected ',' or ']'", other)),
            }
        }
    }
}

/// One member of an object, as seen by [`scan_object`]'s callback. Spans are slice
/// positions.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Member {
    /// The key, inside its quotes (still escaped).
    pub key: (usize, usize),
    /// Whether the key holds escapes.
    pub key_escaped: bool,
    /// Position of the value's first byte.
    pub value_start: usize,
    /// Whether the value is a string holding escapes (known once the value was
    /// skipped: always `false` in the callback's first call).
    pub value_escaped: bool,
}

/// What [`scan_object`]'s callback wants next.
pub(crate) enum MemberAction {
    /// Skip the value and go on.
    Skip,
    /// Stop here (the value is not skipped); `scan_object` returns
    /// [`ObjectScan::Stopped`] with the member's value position.
    Stop,
    /// The callback scanned the value itself; it ends at this position. (The callback
    /// is not called again for this member.)
    SkipTo(usize),
}

/// How [`scan_object`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ObjectScan {
    /// The object ends just before this position.
    End(usize),
    /// The callback stopped at a member whose value starts here.
    Stopped(usize),
}

/// Scans an object whose `{` is at `i`, calling `on_member` for each member with
/// the member and the value's span once skipped. A member whose value is an object
/// or an array is also offered before skipping (with `None`), when the callback may
/// stop the scan or scan the value itself; other values are skipped straight away.
#[inline]
pub(crate) fn scan_object<F>(
    buf: &[u8],
    i: usize,
    opts: ScanOptions,
    mut on_member: F,
) -> Result<ObjectScan, Stop>
where
    F: FnMut(&Member, Option<(usize, usize)>) -> MemberAction,
{
    let mut i = skip_ws(buf, i + 1, opts)?;
    if buf[i] == b'}' {
        return Ok(ObjectScan::End(i + 1));
    }
    loop {
        let (key, key_escaped, value_start) = key_colon(buf, i, opts)?;
        let mut member = Member {
            key,
            key_escaped,
            value_start,
            value_escaped: false,
        };
        let before = if matches!(buf[value_start], b'{' | b'[') {
            on_member(&member, None)
        } else {
            MemberAction::Skip
        };
        let value_end = match before {
            MemberAction::Stop => return Ok(ObjectScan::Stopped(value_start)),
            MemberAction::SkipTo(end) => end,
            MemberAction::Skip => {
                // Most values are strings: skip those without the general machinery.
                let value_end = if buf[value_start] == b'"' {
                    let (end, escaped) = skip_string(buf, value_start)?;
                    member.value_escaped = escaped;
                    end
                } else {
                    skip_value(
                        buf,
                        value_start,
                        ScanOptions {
                            at_eof: false,
                            ..opts
                        },
                    )?
                };
                on_member(&member, Some((value_start, value_end)));
                value_end
            }
        };
        i = skip_ws(buf, value_end, opts)?;
        match buf[i] {
            b',' => i += 1,
            b'}' => return Ok(ObjectScan::End(i + 1)),
            other => return Err(unexpected(i, "expected ',' or '}'", other)),
        }
    }
}

/// Skips the rest of an object after one of its values (`, "k": v ... }`); `i` is
/// just after that value. Returns the position after the closing `}`.
pub(crate) fn skip_object_rest(buf: &[u8], mut i: usize, opts: ScanOptions) -> Result<usize, Stop> {
    loop {
        i = skip_ws(buf, i, opts)?;
        match buf[i] {
            b'}' => return Ok(i + 1),
            b',' => {
                let (_, _, v) = key_colon(buf, i + 1, opts)?;
                i = skip_value(
                    buf,
                    v,
                    ScanOptions {
                        at_eof: false,
                        ..opts
                    },
                )?;
            }
            other => return Err(unexpected(i, "expected ',' or '}'", other)),
        }
    }
}

/// Inside an array, after an element (or after `[` when `first`): skips to the next
/// element's first byte (`Some`) or past the closing `]` (`None`, with the position).
pub(crate) fn next_element(
    buf: &[u8],
    i: usize,
    first: bool,
    opts: ScanOptions,
) -> Result<(usize, bool), Stop> {
    let i = skip_ws(buf, i, opts)?;
    match buf[i] {
        b']' => Ok((i + 1, false)),
        _ if first => Ok((i, true)),
        b',' => Ok((skip_ws(buf, i + 1, opts)?, true)),
        other => Err(unexpected(i, "expected ',' or ']'", other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skip(s: &str) -> Result<usize, Stop> {
        skip_value(
            s.as_bytes(),
            0,
            ScanOptions {
                at_eof: true,
                newline_is_error: false,
            },
        )
    }

    #[test]
    fn skips_valid_values() {
        for s in [
            r#"{}"#,
            r#"[]"#,
            r#"{"a":[1,2,{"b":null}],"c":"x\"y\\z\u00e9","d":true,"e":false,"f":-1.5e3}"#,
            r#"  "a long string that crosses several eight byte words without specials" "#,
            r#"[[[[]]],{"":{}}]"#,
            "123",
        ] {
            let end = skip(s).unwrap_or_else(|e| panic!("{s}: {e:?}"));
            assert_eq!(s[end..].trim(), "", "{s}");
        }
    }

    #[test]
    fn reports_errors_and_incomplete_input() {
        assert!(matches!(
            skip(r#"{"a" 1}"#),
            Err(Stop::Syntax { at: 5, .. })
        ));
        assert!(matches!(
            skip(r#"{"a":1 "b":2}"#),
            Err(Stop::Syntax { at: 7, .. })
        ));
        assert!(matches!(skip(r#"[1,]"#), Err(Stop::Syntax { at: 3, .. })));
        assert!(matches!(skip(r#"{"a":tru}"#), Err(Stop::Syntax { .. })));
        assert!(matches!(
            skip("\"a\u{1}b\""),
            Err(Stop::Syntax { at: 2, .. })
        ));
        assert!(matches!(skip(r#""\q""#), Err(Stop::Syntax { .. })));
        assert!(matches!(skip(r#"{"a":[1,2"#), Err(Stop::NeedMore)));
        assert!(matches!(
            skip(r#"{"a":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"#),
            Err(Stop::NeedMore)
        ));
        assert!(matches!(skip(r#"[tr"#), Err(Stop::NeedMore)));
        assert!(matches!(skip(r#"]"#), Err(Stop::Syntax { at: 0, .. })));
        let deep = format!("{}1", "[".repeat(MAX_DEPTH + 1));
        assert!(matches!(skip(&deep), Err(Stop::TooDeep { .. })));
        let ok_deep = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(skip(&ok_deep).is_ok());
        // A number at the end of the slice needs more input unless at EOF.
        assert_eq!(
            skip_value(b"12", 0, ScanOptions::default()),
            Err(Stop::NeedMore)
        );
    }

    #[test]
    fn newline_rule_for_json_lines() {
        let opts = ScanOptions {
            at_eof: true,
            newline_is_error: true,
        };
        assert!(skip_value(b"{\"a\":\n1}", 0, opts).is_err());
        assert!(skip_value(b"{\"a\":1}", 0, opts).is_ok());
        assert!(matches!(skip("\"a\nb\""), Err(Stop::Syntax { .. })));
    }

    #[test]
    fn specials_at_every_word_offset() {
        for pad in 0..17 {
            let s = format!("\"{}\\\"{}\"", "x".repeat(pad), "y".repeat(pad));
            assert_eq!(skip(&s), Ok(s.len()), "{s}");
            let bad = format!("\"{}\u{1f}\"", "x".repeat(pad));
            assert!(matches!(skip(&bad), Err(Stop::Syntax { .. })), "{pad}");
        }
    }

    #[test]
    fn long_strings_cross_the_memchr_path() {
        // Past the first 32 bytes, strings are crossed with memchr: quotes, escapes,
        // control bytes and the slice's end must be found at every offset there too.
        for pad in 0..100 {
            let s = format!(
                "\"{}\\\"{}\\u00e9{}\"",
                "x".repeat(pad),
                "y".repeat(pad),
                "z".repeat(pad)
            );
            assert_eq!(skip(&s), Ok(s.len()), "{pad}");
            assert_eq!(skip_string(s.as_bytes(), 0), Ok((s.len(), true)), "{pad}");
            let plain = format!("\"{}\"", "p".repeat(pad));
            assert_eq!(
                skip_string(plain.as_bytes(), 0),
                Ok((plain.len(), false)),
                "{pad}"
            );
            let control = format!("\"{}\u{1}{}\"", "x".repeat(pad), "y".repeat(40));
            assert_eq!(
                skip(&control),
                Err(Stop::Syntax {
                    at: pad + 1,
                    message: "control byte 0x01 inside a string".into()
                }),
                "{pad}"
            );
            let newline = format!("\"{}\n", "x".repeat(pad));
            assert!(
                matches!(skip(&newline), Err(Stop::Syntax { at, .. }) if at == pad + 1),
                "{pad}"
            );
            let open = format!("\"{}", "x".repeat(pad));
            assert_eq!(skip(&open), Err(Stop::NeedMore), "{pad}");
            let open_escape = format!("\"{}\\", "x".repeat(pad));
            assert_eq!(skip(&open_escape), Err(Stop::NeedMore), "{pad}");
            let bad_escape = format!("\"{}\\q\"", "x".repeat(pad));
            assert!(
                matches!(skip(&bad_escape), Err(Stop::Syntax { at, .. }) if at == pad + 1),
                "{pad}"
            );
        }
    }

    #[test]
    fn object_members() {
        let s = br#"{"a":1, "b\"":{"x":[1]}, "c":"d"}"#;
        let mut seen = Vec::new();
        let r = scan_object(s, 0, ScanOptions::default(), |m, span| {
            if let Some((a, b)) = span {
                seen.push((
                    String::from_utf8_lossy(&s[m.key.0..m.key.1]).into_owned(),
                    m.key_escaped,
                    String::from_utf8_lossy(&s[a..b]).into_owned(),
                ));
            }
            MemberAction::Skip
        });
        assert_eq!(r, Ok(ObjectScan::End(s.len())));
        assert_eq!(
            seen,
            [
                ("a".to_string(), false, "1".to_string()),
                ("b\\\"".to_string(), true, "{\"x\":[1]}".to_string()),
                ("c".to_string(), false, "\"d\"".to_string())
            ]
        );
    }
}
