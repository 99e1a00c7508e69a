//! Escaping of attacker-controlled text for HTML and Markdown.

/// Escapes `text` for HTML element content and (double- or single-quoted) attribute values:
/// `& < > " '` become entities; control characters other than tab and newline become U+FFFD
/// so that nothing invisible reaches the page.
pub fn html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' => out.push(c),
            c if is_invisible(c) => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Characters replaced by U+FFFD: controls and the bidirectional overrides that can make
/// text read differently from what it is.
fn is_invisible(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}')
}

/// Escapes `text` for inline Markdown (a paragraph, list item or GFM table cell), so that it
/// renders as the literal text:
///
/// * `\ ` * _ [ ] < > | ~ & ! #` are backslash-escaped: no emphasis, code span, link, image,
///   inline HTML, entity, strikethrough, heading or table-cell break;
/// * GFM autolinks are broken: `://` becomes `\://`, `www.` becomes `www\.`, `@` becomes `\@`;
/// * line breaks and other control characters become a space / U+FFFD, so a value never
///   leaves its table row;
/// * a leading `+`, `-`, `=` or ordered-list marker (`1. `) is escaped so a value is never
///   read as a list item or a setext underline.
pub fn markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '~' | '&' | '!' | '#' | '@' => {
                out.push('\\');
                out.push(c);
            }
            ':' if chars.get(i + 1) == Some(&'/') && chars.get(i + 2) == Some(&'/') => out.push_str("\\:"),
            '.' if i >= 3 && chars[i - 3..i].iter().collect::<String>().eq_ignore_ascii_case("www") => out.push_str("\\."),
            '+' | '-' | '=' if out.is_empty() => {
                out.push('\\');
                out.push(c);
            }
            '.' | ')' if i > 0 && chars[..i].iter().all(|d| d.is_ascii_digit()) && chars.get(i + 1).is_none_or(|n| *n == ' ' || *n == '\t') => {
                out.push('\\');
                out.push(c);
            }
            '\r' | '\n' => out.push(' '),
            '\t' => out.push(' '),
            c if is_invisible(c) => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escapes_markup_and_quotes() {
        assert_eq!(html(r#"<script>alert("x")</script> & 'y'"#), "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;");
        assert_eq!(html("a\u{0}b\u{202E}c"), "a\u{FFFD}b\u{FFFD}c");
    }

    #[test]
    fn markdown_escapes_structure() {
        assert_eq!(markdown("a|b"), "a\\|b");
        assert_eq!(markdown("`x`"), "\\`x\\`");
        assert_eq!(markdown("[click](http://evil)"), "\\[click\\](http\\://evil)");
        assert_eq!(markdown("<img src=x>"), "\\<img src=x\\>");
        assert_eq!(markdown("www.evil.com"), "www\\.evil.com");
        assert_eq!(markdown("a@b.c"), "a\\@b.c");
        assert_eq!(markdown("line1\nline2"), "line1 line2");
        assert_eq!(markdown("- item"), "\\- item");
        assert_eq!(markdown("1. item"), "1\\. item");
        assert_eq!(markdown("12)"), "12\\)");
        assert_eq!(markdown("198.51.100.7"), "198.51.100.7");
        assert_eq!(markdown("arn:aws:iam::1:user/a"), "arn:aws:iam::1:user/a");
    }
}
