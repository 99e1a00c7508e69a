//! Maps a key path (`phases[1].steps[0].params.user`) back to a line of the YAML text.
//!
//! `yaml_serde` values carry no positions, so lint keeps the path of what it checks and
//! this small scanner finds it in block-style YAML (the style playbooks are written in):
//! mapping keys at one indentation, sequence items as `- ` lines. When the path goes
//! into flow style or a scalar, the line of the deepest part found is returned.

use std::fmt;

/// One step of a key path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    /// A mapping key.
    Key(String),
    /// A sequence index (0-based).
    Index(usize),
}

/// A key path into the document.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeyPath(pub Vec<Seg>);

impl KeyPath {
    /// The path extended by a key.
    pub fn key(&self, key: &str) -> KeyPath {
        let mut segs = self.0.clone();
        segs.push(Seg::Key(key.to_owned()));
        KeyPath(segs)
    }

    /// The path extended by an index.
    pub fn index(&self, index: usize) -> KeyPath {
        let mut segs = self.0.clone();
        segs.push(Seg::Index(index));
        KeyPath(segs)
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Key(k) if i == 0 => write!(f, "{k}")?,
                Seg::Key(k) => write!(f, ".{k}")?,
                Seg::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone)]
struct Line<'a> {
    number: usize,
    indent: usize,
    text: &'a str,
}

fn significant_lines(text: &str) -> Vec<Line<'_>> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let trimmed = raw.trim_start_matches(' ');
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.trim_end().is_empty() {
            continue;
        }
        if raw.starts_with("---") || raw.starts_with("...") {
            continue;
        }
        out.push(Line {
            number: i + 1,
            indent: raw.len() - trimmed.len(),
            text: trimmed.trim_end(),
        });
    }
    out
}

/// The mapping key a line starts with, unquoted (`id` for `id: x`, `"a b"` gives `a b`).
fn key_of(text: &str) -> Option<&str> {
    let bytes = text.as_bytes();
    if let Some(&q) = bytes.first().filter(|&&c| c == b'"' || c == b'\'') {
        let end = text[1..].find(q as char)? + 1;
        let rest = &text[end + 1..];
        return rest.trim_start().starts_with(':').then(|| &text[1..end]);
    }
    let mut search = 0;
    while let Some(pos) = text[search..].find(':') {
        let at = search + pos;
        let after = text[at + 1..].chars().next();
        if after.is_none() || after == Some(' ') {
            return Some(text[..at].trim_end());
        }
        search = at + 1;
    }
    None
}

fn is_item(text: &str) -> bool {
    text == "-" || text.starts_with("- ")
}

/// The 1-based line of `path` in `text`, or of its deepest ancestor that can be found.
pub fn locate(text: &str, path: &KeyPath) -> Option<usize> {
    let mut scope: Vec<Line<'_>> = significant_lines(text);
    let mut found = None;
    for seg in &path.0 {
        let Some(level) = scope.iter().map(|l| l.indent).min() else {
            break;
        };
        let position = match seg {
            Seg::Key(key) => scope.iter().position(|l| {
                l.indent == level && !is_item(l.text) && key_of(l.text) == Some(key.as_str())
            }),
            Seg::Index(n) => scope
                .iter()
                .enumerate()
                .filter(|(_, l)| l.indent == level && is_item(l.text))
                .nth(*n)
                .map(|(i, _)| i),
        };
        let Some(at) = position else {
            break;
        };
        let head = scope[at].clone();
        found = Some(head.number);
        let mut next: Vec<Line<'_>> = Vec::new();
        let is_key = matches!(seg, Seg::Key(_));
        if !is_key {
            // The item's own content, after "- ", becomes a line at a deeper indentation.
            let rest = head.text[1..].trim_start_matches(' ');
            if !rest.is_empty() {
                let extra = head.text.len() - rest.len();
                next.push(Line {
                    number: head.number,
                    indent: head.indent + extra,
                    text: rest,
                });
            }
        }
        for line in &scope[at + 1..] {
            let belongs =
                line.indent > level || (is_key && line.indent == level && is_item(line.text));
            if !belongs {
                break;
            }
            next.push(line.clone());
        }
        scope = next;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(segs: &[Seg]) -> KeyPath {
        KeyPath(segs.to_vec())
    }

    #[test]
    fn finds_nested_keys_and_items() {
        let text = "id: x\nphases:\n  - phase: preparation\n    steps:\n      - id: a\n        kind: manual\n      - id: b\n        params:\n          user: u\n  - phase: recovery\n";
        let k = |s: &str| Seg::Key(s.to_owned());
        assert_eq!(locate(text, &p(&[k("id")])), Some(1));
        assert_eq!(locate(text, &p(&[k("phases"), Seg::Index(1)])), Some(10));
        assert_eq!(
            locate(
                text,
                &p(&[k("phases"), Seg::Index(0), k("steps"), Seg::Index(1)])
            ),
            Some(7)
        );
        assert_eq!(
            locate(
                text,
                &p(&[
                    k("phases"),
                    Seg::Index(0),
                    k("steps"),
                    Seg::Index(1),
                    k("params"),
                    k("user")
                ])
            ),
            Some(9)
        );
        assert_eq!(
            locate(
                text,
                &p(&[
                    k("phases"),
                    Seg::Index(0),
                    k("steps"),
                    Seg::Index(0),
                    k("kind")
                ])
            ),
            Some(6)
        );
        // A missing key gives its deepest found ancestor.
        assert_eq!(
            locate(text, &p(&[k("phases"), Seg::Index(0), k("nope")])),
            Some(3)
        );
    }

    #[test]
    fn sequences_at_parent_indent_and_comments() {
        let text = "# c\nlist:\n- a\n# between\n- b: 1\n  c: 2\nother: 3\n";
        let k = |s: &str| Seg::Key(s.to_owned());
        assert_eq!(
            locate(text, &p(&[k("list"), Seg::Index(1), k("c")])),
            Some(6)
        );
        assert_eq!(locate(text, &p(&[k("other")])), Some(7));
    }
}
