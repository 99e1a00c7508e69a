//! A minimal scanner over the JSON text of one record, for filling the columns: it finds
//! an object's members and an array's items as slices of the text, without building
//! anything and without checking the grammar beyond what it needs (the reader already
//! parsed every record it hands over). Damaged text ends the scan: what was found before
//! the damage is kept, nothing panics.

use std::borrow::Cow;

/// The text of one JSON value inside a record (no surrounding whitespace).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RawValue<'a> {
    text: &'a str,
    /// For a string: whether it holds a backslash escape.
    escaped: bool,
}

impl<'a> RawValue<'a> {
    /// A value whose extent another scanner already found: `text` is exactly the
    /// value's JSON text, `escaped` whether a string value holds an escape.
    pub(crate) fn located(text: &'a str, escaped: bool) -> Self {
        RawValue { text, escaped }
    }

    /// The value's JSON text.
    pub(crate) fn text(&self) -> &'a str {
        self.text
    }

    /// Whether it is `null`.
    pub(crate) fn is_null(&self) -> bool {
        self.text == "null"
    }

    /// Whether it is a string.
    pub(crate) fn is_string(&self) -> bool {
        self.text.starts_with('"')
    }

    /// Whether it is an object.
    pub(crate) fn is_object(&self) -> bool {
        self.text.starts_with('{')
    }

    /// Whether it is an array.
    pub(crate) fn is_array(&self) -> bool {
        self.text.starts_with('[')
    }

    /// A string's content, unescaped (`None` when not a string or a bad escape).
    pub(crate) fn as_str(&self) -> Option<Cow<'a, str>> {
        if !self.is_string() {
            return None;
        }
        if self.escaped {
            return sonic_rs::from_str::<String>(self.text).ok().map(Cow::Owned);
        }
        self.text
            .get(1..self.text.len().saturating_sub(1))
            .map(Cow::Borrowed)
    }
}

fn skip_whitespace(bytes: &[u8], mut i: usize) -> usize {
    while matches!(bytes.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// The end (exclusive) of the string whose opening quote is at `i`, and whether it
/// holds an escape; `None` when it is not terminated.
fn string_end(bytes: &[u8], i: usize) -> Option<(usize, bool)> {
    let mut j = i + 1;
    let mut escaped = false;
    loop {
        j += memchr::memchr2(b'"', b'\\', bytes.get(j..)?)?;
        if bytes.get(j) == Some(&b'\\') {
            escaped = true;
            j += 2;
        } else {
            return Some((j + 1, escaped));
        }
    }
}

/// The end (exclusive) of the value starting at `i` and, for a string, whether it holds
/// an escape; `None` when the text is damaged there.
fn value_end(bytes: &[u8], i: usize) -> Option<(usize, bool)> {
    match *bytes.get(i)? {
        b'"' => string_end(bytes, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = i;
            loop {
                match *bytes.get(j)? {
                    b'"' => {
                        j = string_end(bytes, j)?.0;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth = depth.checked_sub(1)?;
                        if depth == 0 {
                            return Some((j + 1, false));
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
        }
        b',' | b'}' | b']' | b':' => None,
        _ => {
            let mut j = i;
            while let Some(&b) = bytes.get(j) {
                if matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                    break;
                }
                j += 1;
            }
            Some((j, false))
        }
    }
}

/// The value starting at `i` (after whitespace) and the index after it.
fn value_at(text: &str, i: usize) -> Option<(RawValue<'_>, usize)> {
    let start = skip_whitespace(text.as_bytes(), i);
    let (end, escaped) = value_end(text.as_bytes(), start)?;
    Some((
        RawValue {
            text: text.get(start..end)?,
            escaped,
        },
        end,
    ))
}

/// Calls `each(key, value)` for every member of the object `text` (leading whitespace
/// allowed), in order, until the end or the first damage.
pub(crate) fn for_each_member<'a>(text: &'a str, mut each: impl FnMut(&str, RawValue<'a>)) {
    let bytes = text.as_bytes();
    let mut i = skip_whitespace(bytes, 0);
    if bytes.get(i) != Some(&b'{') {
        return;
    }
    i += 1;
    loop {
        i = skip_whitespace(bytes, i);
        match bytes.get(i) {
            Some(b'"') => {}
            _ => return,
        }
        let Some((key_end, key_escaped)) = string_end(bytes, i) else {
            return;
        };
        let Some(key_text) = text.get(i..key_end) else {
            return;
        };
        i = skip_whitespace(bytes, key_end);
        if bytes.get(i) != Some(&b':') {
            return;
        }
        let Some((value, end)) = value_at(text, i + 1) else {
            return;
        };
        let key = RawValue {
            text: key_text,
            escaped: key_escaped,
        };
        match key.as_str() {
            Some(k) => each(&k, value),
            None => return,
        }
        i = skip_whitespace(bytes, end);
        match bytes.get(i) {
            Some(b',') => i += 1,
            _ => return,
        }
    }
}

/// Calls `each(item)` for every item of the array `text`, in order, until the end or the
/// first damage.
pub(crate) fn for_each_item<'a>(text: &'a str, mut each: impl FnMut(RawValue<'a>)) {
    let bytes = text.as_bytes();
    let mut i = skip_whitespace(bytes, 0);
    if bytes.get(i) != Some(&b'[') {
        return;
    }
    i = skip_whitespace(bytes, i + 1);
    if bytes.get(i) == Some(&b']') {
        return;
    }
    loop {
        let Some((value, end)) = value_at(text, i) else {
            return;
        };
        each(value);
        i = skip_whitespace(bytes, end);
        match bytes.get(i) {
            Some(b',') => i += 1,
            _ => return,
        }
    }
}

/// The members named in `keys` of the object `text` (the first occurrence of each wins);
/// `None` for everything when the text is not an object.
pub(crate) fn members<'a, const N: usize>(
    text: &'a str,
    keys: &[&str; N],
) -> [Option<RawValue<'a>>; N] {
    let mut out: [Option<RawValue<'a>>; N] = [None; N];
    for_each_member(text, |key, value| {
        if let Some(i) = keys.iter().position(|k| *k == key) {
            if out[i].is_none() {
                out[i] = Some(value);
            }
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_members(text: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for_each_member(text, |k, v| out.push((k.to_string(), v.text().to_string())));
        out
    }

    #[test]
    fn members_are_found_with_nesting_escapes_and_whitespace() {
        let text = " {\"a\" : \"x\\\"}\" ,\"b\":{\"c\":[1,{\"d\":\"]\"}]},\n\"e\":-1.5e3,\"f\":null,\"g\":true,\"h\\u0041\":[] }";
        let got = all_members(text);
        let keys: Vec<&str> = got.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["a", "b", "e", "f", "g", "hA"]);
        assert_eq!(got[0].1, "\"x\\\"}\"");
        assert_eq!(got[1].1, "{\"c\":[1,{\"d\":\"]\"}]}");
        assert_eq!(got[2].1, "-1.5e3");
        let [a, f, missing] = members(text, &["a", "f", "zz"]);
        assert_eq!(a.and_then(|v| v.as_str()).as_deref(), Some("x\"}"));
        assert!(f.is_some_and(|v| v.is_null()));
        assert!(missing.is_none());
    }

    #[test]
    fn first_occurrence_wins_and_damage_stops_the_scan() {
        let [a] = members(r#"{"a":"1","a":"2"}"#, &["a"]);
        assert_eq!(a.map(|v| v.text()), Some("\"1\""));
        // Damage after the first member: it is kept, the rest is not guessed at.
        assert_eq!(
            all_members(r#"{"a":1,"b":"unterminated}"#),
            [("a".to_string(), "1".to_string())]
        );
        assert!(all_members(r#"{"a" 1}"#).is_empty());
        assert!(all_members(r#"["a"]"#).is_empty());
        assert!(all_members("").is_empty());
        assert!(all_members(r#"{"a":}"#).is_empty());
        assert_eq!(
            all_members(r#"{"a":{"b":1"#),
            Vec::<(String, String)>::new()
        );
        // A stray closing bracket inside a container does not underflow.
        assert_eq!(all_members(r#"{"a":]"#), Vec::<(String, String)>::new());
    }

    #[test]
    fn strings_of_any_length_with_escapes_are_found() {
        for len in [0usize, 1, 22, 23, 24, 25, 26, 100] {
            let long = "x".repeat(len);
            let escaped = format!("{long}\\\"{long}");
            let text = format!(r#"{{"a":"{long}","b":"{escaped}","c":1}}"#);
            let [a, b, c] = members(&text, &["a", "b", "c"]);
            assert_eq!(
                a.and_then(|v| v.as_str()).as_deref(),
                Some(long.as_str()),
                "{len}"
            );
            assert_eq!(
                b.and_then(|v| v.as_str()),
                Some(std::borrow::Cow::Owned(format!("{long}\"{long}"))),
                "{len}"
            );
            assert_eq!(c.map(|v| v.text()), Some("1"), "{len}");
        }
    }

    #[test]
    fn array_items_are_found() {
        let mut items = Vec::new();
        for_each_item(r#" [ {"x":"[,]"} , "s", 3 ,[] ] "#, |v| {
            items.push(v.text().to_string())
        });
        assert_eq!(items, [r#"{"x":"[,]"}"#, "\"s\"", "3", "[]"]);
        let mut none = 0;
        for_each_item("[ ]", |_| none += 1);
        for_each_item("{}", |_| none += 1);
        assert_eq!(none, 0);
    }

    #[test]
    fn strings_unescape_and_non_strings_are_not_text() {
        let [s, n] = members(r#"{"s":"caf\u00e9\n","n":12}"#, &["s", "n"]);
        assert_eq!(s.and_then(|v| v.as_str()).as_deref(), Some("café\n"));
        assert!(n.is_some_and(|v| v.as_str().is_none() && !v.is_string()));
        // Non-ASCII text is sliced on character boundaries.
        let [u] = members("{\"u\":\"é€\"}", &["u"]);
        assert_eq!(u.and_then(|v| v.as_str()).as_deref(), Some("é€"));
    }
}
