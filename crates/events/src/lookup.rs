//! Fast navigation inside JSON text that was already checked by [`crate::json`]
//! (every [`crate::CloudTrailEvent`] was scanned in full before it exists).
//!
//! Nothing here validates the grammar again: strings are crossed with
//! [`memchr::memchr2`] (looking only for the closing quote and backslashes), and
//! nested values are skipped by counting brackets outside strings. Every access is
//! bounds-checked, so text that is not valid JSON gives `None` or a wrong-but-safe
//! answer, never a panic.

/// The position of the first byte at or after `i` that is not JSON whitespace.
#[inline]
pub(crate) fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\r' | b'\n') = b.get(i) {
        i += 1;
    }
    i
}

/// The position of the first quote or backslash at or after `i`: the first 32 bytes
/// (most keys and values are shorter) are tested eight at a time in a register,
/// the rest with [`memchr::memchr2`].
#[inline(always)]
fn quote_or_backslash(b: &[u8], mut i: usize) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let zero_byte = |v: u64| v.wrapping_sub(LO) & !v & HI;
    for _ in 0..4 {
        let Some(chunk) = b.get(i..i + 8) else {
            let tail = b.get(i..)?;
            return tail
                .iter()
                .position(|&c| c == b'"' || c == b'\\')
                .map(|at| i + at);
        };
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let v = u64::from_le_bytes(word);
        let found = zero_byte(v ^ (LO * u64::from(b'"'))) | zero_byte(v ^ (LO * u64::from(b'\\')));
        if found != 0 {
            return Some(i + (found.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    memchr::memchr2(b'"', b'\\', b.get(i..)?).map(|at| i + at)
}

/// The position just after the string whose opening quote is at `i`, and whether
/// the string holds escapes.
#[inline]
pub(crate) fn string_end(b: &[u8], i: usize) -> Option<(usize, bool)> {
    let mut i = i + 1;
    let mut escaped = false;
    loop {
        let at = quote_or_backslash(b, i)?;
        if b[at] == b'"' {
            return Some((at + 1, escaped));
        }
        // A backslash: the escaped byte is never the closing quote.
        escaped = true;
        i = at + 2;
    }
}

/// The position just after the value starting at `i` (no whitespace before it).
#[inline]
pub(crate) fn value_end(b: &[u8], i: usize) -> Option<usize> {
    match *b.get(i)? {
        b'"' => string_end(b, i).map(|(end, _)| end),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut i = i;
            loop {
                match *b.get(i)? {
                    b'"' => i = string_end(b, i)?.0,
                    b'{' | b'[' => {
                        depth += 1;
                        i += 1;
                    }
                    b'}' | b']' => {
                        depth -= 1;
                        i += 1;
                        if depth == 0 {
                            return Some(i);
                        }
                    }
                    _ => i += 1,
                }
            }
        }
        _ => {
            // A number or a literal: up to the next delimiter.
            let rest = b.get(i..)?;
            let len = rest
                .iter()
                .position(|c| matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\r' | b'\n'))
                .unwrap_or(rest.len());
            Some(i + len)
        }
    }
}

/// Whether the raw key text (between its quotes, escaped when `escaped`) names `want`.
#[inline]
pub(crate) fn key_is(raw_key: &[u8], escaped: bool, want: &str) -> bool {
    if !escaped {
        return raw_key == want.as_bytes();
    }
    let Ok(text) = std::str::from_utf8(raw_key) else {
        return false;
    };
    let quoted = format!("\"{text}\"");
    matches!(crate::event::unescape_json_string(&quoted), Some(k) if k == want)
}

/// The value of member `want` of the object whose `{` is at `i`: the last one when
/// the key is repeated (as `serde_json` keeps it). Returns the value's span.
pub(crate) fn object_get(b: &[u8], i: usize, want: &str) -> Option<(usize, usize)> {
    let mut found = None;
    for (key, escaped, value) in members(b, i) {
        if key_is(b.get(key.0..key.1)?, escaped, want) {
            found = Some(value);
        }
    }
    found
}

/// The members of the object whose `{` is at `i`: each key's span (inside the
/// quotes), whether it holds escapes, and its value's span. Ends early on text that
/// is not an object.
pub(crate) fn members(b: &[u8], i: usize) -> Members<'_> {
    Members {
        b,
        i: i + 1,
        done: b.get(i) != Some(&b'{'),
    }
}

/// Iterator returned by [`members`].
pub(crate) struct Members<'b> {
    b: &'b [u8],
    /// Just after `{` or after the previous value.
    i: usize,
    done: bool,
}

impl Iterator for Members<'_> {
    type Item = ((usize, usize), bool, (usize, usize));

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let b = self.b;
        let mut i = skip_ws(b, self.i);
        if b.get(i) == Some(&b',') {
            i = skip_ws(b, i + 1);
        }
        if b.get(i) != Some(&b'"') {
            self.done = true;
            return None;
        }
        let Some((key_end, escaped)) = string_end(b, i) else {
            self.done = true;
            return None;
        };
        let key = (i + 1, key_end - 1);
        let colon = skip_ws(b, key_end);
        if b.get(colon) != Some(&b':') {
            self.done = true;
            return None;
        }
        let value_start = skip_ws(b, colon + 1);
        let Some(value_end) = value_end(b, value_start) else {
            self.done = true;
            return None;
        };
        self.i = value_end;
        Some((key, escaped, (value_start, value_end)))
    }
}

/// The elements of the array whose `[` is at `i`, as value spans. Ends early on text
/// that is not an array.
pub(crate) fn elements(b: &[u8], i: usize) -> Elements<'_> {
    Elements {
        b,
        i: i + 1,
        done: b.get(i) != Some(&b'['),
    }
}

/// Iterator returned by [`elements`].
pub(crate) struct Elements<'b> {
    b: &'b [u8],
    i: usize,
    done: bool,
}

impl Iterator for Elements<'_> {
    type Item = (usize, usize);

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let b = self.b;
        let mut i = skip_ws(b, self.i);
        if b.get(i) == Some(&b',') {
            i = skip_ws(b, i + 1);
        }
        match b.get(i) {
            None | Some(b']' | b',' | b'}') => {
                self.done = true;
                None
            }
            Some(_) => match value_end(b, i) {
                Some(end) => {
                    self.i = end;
                    Some((i, end))
                }
                None => {
                    self.done = true;
                    None
                }
            },
        }
    }
}

/// `raw[start..end]` as text (spans always sit on ASCII delimiters of valid UTF-8).
#[inline]
pub(crate) fn text(raw: &str, (start, end): (usize, usize)) -> Option<&str> {
    raw.get(start..end)
}

/// A key's text, decoded when it holds escapes.
#[cfg(test)]
pub(crate) fn key_text(
    raw: &str,
    (start, end): (usize, usize),
    escaped: bool,
) -> Option<std::borrow::Cow<'_, str>> {
    let inner = raw.get(start..end)?;
    if !escaped {
        return Some(std::borrow::Cow::Borrowed(inner));
    }
    let quoted = raw.get(start.checked_sub(1)?..end + 1)?;
    crate::event::unescape_json_string(quoted).map(|k| std::borrow::Cow::Owned(k.into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans_text(raw: &str, spans: impl Iterator<Item = (usize, usize)>) -> Vec<&str> {
        spans.map(|s| text(raw, s).unwrap()).collect()
    }

    #[test]
    fn members_and_elements() {
        let raw = r#"{ "a" : 1 , "b\"c":{"x":["}",{"y":"]"}]}, "d":[1, "two",[3],{}] ,"e":null}"#;
        let got: Vec<_> = members(raw.as_bytes(), 0)
            .map(|(k, esc, v)| {
                (
                    key_text(raw, k, esc).unwrap().into_owned(),
                    text(raw, v).unwrap(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("a".to_string(), "1"),
                ("b\"c".to_string(), r#"{"x":["}",{"y":"]"}]}"#),
                ("d".to_string(), r#"[1, "two",[3],{}]"#),
                ("e".to_string(), "null")
            ]
        );
        let d = object_get(raw.as_bytes(), 0, "d").unwrap();
        assert_eq!(
            spans_text(raw, elements(raw.as_bytes(), d.0)),
            ["1", r#""two""#, "[3]", "{}"]
        );
        assert_eq!(
            object_get(raw.as_bytes(), 0, "b\"c").map(|s| text(raw, s).unwrap().len()),
            Some(21)
        );
        assert_eq!(object_get(raw.as_bytes(), 0, "zz"), None);
        assert_eq!(elements(b"[]", 0).count(), 0);
        assert_eq!(members(b"{}", 0).count(), 0);
    }

    #[test]
    fn repeated_keys_answer_the_last() {
        let raw = br#"{"k":1,"k":{"z":2}}"#;
        assert_eq!(object_get(raw, 0, "k"), Some((11, 18)));
    }

    #[test]
    fn broken_text_never_panics() {
        for raw in [
            "",
            "{",
            "[",
            "{\"",
            "{\"a",
            "{\"a\"",
            "{\"a\":",
            "{\"a\":\"",
            "{\"a\":[",
            "[1,",
            "[\"\\",
            "{\"a\\",
            "}",
            "]",
            "{\"a\":1,,}",
            "[,]",
            "{\"a\" 1}",
            "{\"a\":}}}}",
        ] {
            let b = raw.as_bytes();
            let _ = members(b, 0).count();
            let _ = elements(b, 0).count();
            let _ = object_get(b, 0, "a");
            let _ = value_end(b, 0);
            let _ = string_end(b, 0);
        }
        // Every prefix and every one-byte deletion of a nested record.
        let sample = br#"{"a":[1,{"b":"x\"y"},[true,null]],"c":{"d":{}},"e":"\u0041"}"#;
        for cut in 0..=sample.len() {
            let mut deleted = sample.to_vec();
            if cut < sample.len() {
                deleted.remove(cut);
            }
            for b in [&sample[..cut], &deleted[..]] {
                for (_, _, (vs, _)) in members(b, 0) {
                    let _ = elements(b, vs).count();
                    let _ = members(b, vs).count();
                }
                let _ = object_get(b, 0, "a");
                let _ = object_get(b, 0, "e");
                let _ = value_end(b, 0);
            }
        }
    }
}
