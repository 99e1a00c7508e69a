//! Making attacker-controlled log text safe to show.
//!
//! Every CloudTrail field an attacker can influence (user agent, request parameters,
//! error messages, names of things they created) may carry terminal escape sequences
//! that rewrite the screen, bidi overrides that make text read backwards, or spreadsheet
//! formulas. These helpers neutralise them by replacing the dangerous characters with
//! visible escapes, so the text stays readable and nothing is silently dropped.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether `c` must not reach a terminal as is.
fn is_unsafe_for_terminal(c: char) -> bool {
    matches!(c,
        // C0 controls (ESC starts CSI/OSC sequences, BEL, backspace, CR and LF can forge
        // or hide lines), DEL, and C1 controls (U+009B is an 8-bit CSI).
        '\u{00}'..='\u{1f}' | '\u{7f}' | '\u{80}'..='\u{9f}'
        // Bidirectional overrides, embeddings, isolates and marks ("Trojan Source").
        | '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        // Line and paragraph separators.
        | '\u{2028}' | '\u{2029}'
        // Zero-width characters, which hide differences between look-alike names.
        | '\u{200b}'..='\u{200d}' | '\u{2060}' | '\u{feff}')
}

/// `s` with every control character, DEL, C1 control, bidi control, Unicode line
/// separator and zero-width character replaced by a visible escape (`\x1b`, `\n`, `\u{202e}`). Borrowed when
/// there is nothing to replace (the common case). Backslashes are left as they are, so
/// an escape in the output is either one of ours or literal text from the log.
///
/// ```
/// use firebreak_events::sanitize::for_terminal;
/// assert_eq!(for_terminal("a\u{1b}[31mred"), "a\\x1b[31mred");
/// assert_eq!(for_terminal("plain"), "plain");
/// ```
pub fn for_terminal(s: &str) -> Cow<'_, str> {
    let Some(first) = s
        .char_indices()
        .find(|&(_, c)| is_unsafe_for_terminal(c))
        .map(|(i, _)| i)
    else {
        return Cow::Borrowed(s);
    };
    let mut out = String::with_capacity(s.len() + 8);
    out.push_str(&s[..first]);
    for c in s[first..].chars() {
        if !is_unsafe_for_terminal(c) {
            out.push(c);
            continue;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
        }
    }
    Cow::Owned(out)
}

/// `s` made safe as a CSV cell for spreadsheets: a cell starting with `=`, `+`, `-`,
/// `@`, a tab or a carriage return gets a leading `'` so it is not read as a formula
/// (OWASP's advice on CSV injection). CSV quoting itself is the CSV writer's job.
///
/// ```
/// use firebreak_events::sanitize::for_csv_cell;
/// assert_eq!(for_csv_cell("=HYPERLINK(\"http://x\")"), "'=HYPERLINK(\"http://x\")");
/// assert_eq!(for_csv_cell("AssumeRole"), "AssumeRole");
/// ```
pub fn for_csv_cell(s: &str) -> Cow<'_, str> {
    match s.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => Cow::Owned(format!("'{s}")),
        _ => Cow::Borrowed(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_escapes_are_visible() {
        assert_eq!(for_terminal("\u{1b}]0;title\u{07}"), "\\x1b]0;title\\x07");
        assert_eq!(for_terminal("a\u{7f}b"), "a\\x7fb");
        assert_eq!(for_terminal("x\u{9b}2J"), "x\\u{9b}2J");
        assert_eq!(for_terminal("abc\u{202e}fed"), "abc\\u{202e}fed");
        assert_eq!(for_terminal("l1\nl2\r\t"), "l1\\nl2\\r\\t");
        assert_eq!(for_terminal("admin\u{200b}"), "admin\\u{200b}");
        assert!(matches!(for_terminal("héllo wörld"), Cow::Borrowed(_)));
    }

    #[test]
    fn csv_formulas_are_defused() {
        for s in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(for_csv_cell(s), format!("'{s}"));
        }
        assert!(matches!(for_csv_cell("ok"), Cow::Borrowed(_)));
        assert!(matches!(for_csv_cell(""), Cow::Borrowed(_)));
    }
}
