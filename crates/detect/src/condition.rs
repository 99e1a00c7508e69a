//! The Sigma condition grammar: identifiers, `and`, `or`, `not`, parentheses,
//! `1 of X*`, `all of X*`, `any of`, `N of`, `them`. Precedence: not > and > or.

use crate::index::IndexKey;

/// A parsed condition over search identifiers (by index into the rule's identifiers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// One search identifier.
    Search(usize),
    /// Negation.
    Not(Box<Condition>),
    /// All must hold.
    And(Vec<Condition>),
    /// One must hold.
    Or(Vec<Condition>),
    /// At least `n` of the identifiers hold (`1 of X*`, `any of`, `N of`).
    AtLeast(usize, Vec<usize>),
    /// All the identifiers hold (`all of X*`).
    AllOf(Vec<usize>),
}

impl Condition {
    /// Evaluates with `search(i)` giving the result of identifier `i` (called lazily,
    /// short-circuiting).
    pub fn eval(&self, search: &mut dyn FnMut(usize) -> bool) -> bool {
        match self {
            Condition::Search(i) => search(*i),
            Condition::Not(c) => !c.eval(search),
            Condition::And(cs) => cs.iter().all(|c| c.eval(search)),
            Condition::Or(cs) => cs.iter().any(|c| c.eval(search)),
            Condition::AtLeast(n, ids) => {
                let mut hits = 0;
                for &i in ids {
                    if search(i) {
                        hits += 1;
                        if hits >= *n {
                            return true;
                        }
                    }
                }
                false
            }
            Condition::AllOf(ids) => ids.iter().all(|&i| search(i)),
        }
    }

    /// The index keys (values of one field) an event must have for this condition to
    /// hold, or `None` when any value could match. `keys(i)` gives the requirement of
    /// identifier `i`. Conjunctions keep their narrowest requirement, disjunctions need
    /// one on every branch.
    pub(crate) fn required_keys(
        &self,
        keys: &dyn Fn(usize) -> Option<Vec<IndexKey>>,
    ) -> Option<Vec<IndexKey>> {
        fn narrowest(sets: impl Iterator<Item = Option<Vec<IndexKey>>>) -> Option<Vec<IndexKey>> {
            sets.flatten().min_by_key(Vec::len)
        }
        fn union(sets: impl Iterator<Item = Option<Vec<IndexKey>>>) -> Option<Vec<IndexKey>> {
            let mut acc = Vec::new();
            for set in sets {
                acc.extend(set?);
            }
            Some(acc)
        }
        let mut out = match self {
            Condition::Search(i) => keys(*i),
            Condition::Not(_) => None,
            Condition::And(cs) => narrowest(cs.iter().map(|c| c.required_keys(keys))),
            Condition::Or(cs) => union(cs.iter().map(|c| c.required_keys(keys))),
            Condition::AtLeast(n, ids) if *n <= 1 => union(ids.iter().map(|&i| keys(i))),
            Condition::AtLeast(_, _) => None,
            Condition::AllOf(ids) => narrowest(ids.iter().map(|&i| keys(i))),
        }?;
        out.sort();
        out.dedup();
        Some(out)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Open,
    Close,
    Pipe,
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(pos, c)) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' => {
                chars.next();
                out.push(Token::Open);
            }
            ')' => {
                chars.next();
                out.push(Token::Close);
            }
            '|' => {
                chars.next();
                out.push(Token::Pipe);
            }
            c if c.is_alphanumeric() || matches!(c, '_' | '*' | '-' | '.' | '?') => {
                let mut word = String::new();
                while let Some(&(_, c)) = chars.peek() {
                    if c.is_alphanumeric() || matches!(c, '_' | '*' | '-' | '.' | '?') {
                        word.push(c);
                        chars.next();
                    } else {
                        break;
                    }
                }
                out.push(Token::Word(word));
            }
            other => return Err(format!("unexpected character '{other}' at offset {pos}")),
        }
    }
    Ok(out)
}

fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    // Iterative wildcard matching with backtracking on the last '*'.
    let (mut pi, mut ni, mut star, mut mark) = (0usize, 0usize, None::<usize>, 0usize);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == n[ni] || p[pi] == '?') {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

struct Parser<'a> {
    tokens: Vec<Token>,
    pos: usize,
    names: &'a [String],
    depth: usize,
    max_depth: usize,
}

impl Parser<'_> {
    fn peek_word(&self) -> Option<String> {
        match self.tokens.get(self.pos) {
            Some(Token::Word(w)) => Some(w.to_ascii_lowercase()),
            _ => None,
        }
    }

    fn expr(&mut self) -> Result<Condition, String> {
        self.depth += 1;
        if self.depth > self.max_depth {
            return Err(format!("nested deeper than {} levels", self.max_depth));
        }
        let mut terms = vec![self.and_expr()?];
        while self.peek_word().as_deref() == Some("or") {
            self.pos += 1;
            terms.push(self.and_expr()?);
        }
        self.depth -= 1;
        Ok(if terms.len() == 1 {
            terms.remove(0)
        } else {
            Condition::Or(terms)
        })
    }

    fn and_expr(&mut self) -> Result<Condition, String> {
        let mut terms = vec![self.unary()?];
        while self.peek_word().as_deref() == Some("and") {
            self.pos += 1;
            terms.push(self.unary()?);
        }
        Ok(if terms.len() == 1 {
            terms.remove(0)
        } else {
            Condition::And(terms)
        })
    }

    fn unary(&mut self) -> Result<Condition, String> {
        if self.peek_word().as_deref() == Some("not") {
            self.pos += 1;
            self.depth += 1;
            if self.depth > self.max_depth {
                return Err(format!("nested deeper than {} levels", self.max_depth));
            }
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(Condition::Not(Box::new(inner)));
        }
        self.primary()
    }

    fn resolve(&self, pattern: &str) -> Result<Vec<usize>, String> {
        let ids: Vec<usize> = if pattern == "them" {
            (0..self.names.len())
                .filter(|&i| !self.names[i].starts_with('_'))
                .collect()
        } else {
            (0..self.names.len())
                .filter(|&i| glob_match(pattern, &self.names[i]))
                .collect()
        };
        if ids.is_empty() {
            return Err(format!("'{pattern}' matches no search identifier"));
        }
        Ok(ids)
    }

    fn primary(&mut self) -> Result<Condition, String> {
        match self.tokens.get(self.pos).cloned() {
            None => Err("unexpected end of condition".into()),
            Some(Token::Open) => {
                self.pos += 1;
                let inner = self.expr()?;
                match self.tokens.get(self.pos) {
                    Some(Token::Close) => {
                        self.pos += 1;
                        Ok(inner)
                    }
                    _ => Err("missing ')'".into()),
                }
            }
            Some(Token::Close) => Err("unexpected ')'".into()),
            Some(Token::Pipe) => Err(AGGREGATION.into()),
            Some(Token::Word(word)) => {
                let lower = word.to_ascii_lowercase();
                let is_quantifier =
                    lower == "all" || lower == "any" || lower.parse::<usize>().is_ok();
                let next_is_of = matches!(self.tokens.get(self.pos + 1), Some(Token::Word(w)) if w.eq_ignore_ascii_case("of"));
                if is_quantifier && next_is_of {
                    let target = match self.tokens.get(self.pos + 2) {
                        Some(Token::Word(t)) => t.clone(),
                        _ => {
                            return Err(format!(
                                "'{word} of' needs an identifier pattern or 'them'"
                            ))
                        }
                    };
                    self.pos += 3;
                    let ids = self.resolve(&target)?;
                    return Ok(match lower.as_str() {
                        "all" => Condition::AllOf(ids),
                        "any" => Condition::AtLeast(1, ids),
                        n => {
                            let n: usize = n.parse().map_err(|_| format!("bad count '{n}'"))?;
                            if n == 0 {
                                return Err("'0 of' is meaningless".into());
                            }
                            Condition::AtLeast(n, ids)
                        }
                    });
                }
                if matches!(lower.as_str(), "and" | "or" | "of" | "them") {
                    return Err(format!("unexpected '{word}'"));
                }
                if word.contains('*') {
                    return Err(format!("wildcard '{word}' needs '1 of' or 'all of'"));
                }
                self.pos += 1;
                match self.names.iter().position(|n| *n == word) {
                    Some(i) => Ok(Condition::Search(i)),
                    None => Err(format!("unknown search identifier '{word}'")),
                }
            }
        }
    }
}

const AGGREGATION: &str =
    "deprecated Sigma v1 aggregation ('| count()', '| near'...); rewrite as a correlation rule";

/// Parses a condition string over the given search identifier names.
pub fn parse_condition(
    text: &str,
    names: &[String],
    max_depth: usize,
) -> Result<Condition, String> {
    if text.contains('|') {
        return Err(AGGREGATION.into());
    }
    let tokens = tokenize(text)?;
    if tokens.is_empty() {
        return Err("empty condition".into());
    }
    let mut parser = Parser {
        tokens,
        pos: 0,
        names,
        depth: 0,
        max_depth,
    };
    let cond = parser.expr()?;
    if parser.pos != parser.tokens.len() {
        return Err(format!(
            "unexpected {:?} after a complete condition",
            parser.tokens[parser.pos]
        ));
    }
    Ok(cond)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn precedence_not_and_or() {
        let n = names(&["a", "b", "c"]);
        let c = parse_condition("a or b and not c", &n, 32).unwrap();
        assert_eq!(
            c,
            Condition::Or(vec![
                Condition::Search(0),
                Condition::And(vec![
                    Condition::Search(1),
                    Condition::Not(Box::new(Condition::Search(2)))
                ])
            ])
        );
    }

    #[test]
    fn quantifiers_and_them() {
        let n = names(&["sel_a", "sel_b", "_hidden", "filter"]);
        assert_eq!(
            parse_condition("1 of sel_*", &n, 32).unwrap(),
            Condition::AtLeast(1, vec![0, 1])
        );
        assert_eq!(
            parse_condition("all of them", &n, 32).unwrap(),
            Condition::AllOf(vec![0, 1, 3])
        );
        assert_eq!(
            parse_condition("2 of them", &n, 32).unwrap(),
            Condition::AtLeast(2, vec![0, 1, 3])
        );
        assert!(parse_condition("1 of nothing*", &n, 32).is_err());
        assert!(parse_condition("missing", &n, 32)
            .unwrap_err()
            .contains("unknown search identifier"));
        assert!(parse_condition("sel_a | count() > 5", &n, 32)
            .unwrap_err()
            .contains("correlation"));
        assert!(parse_condition("(sel_a", &n, 32).is_err());
        assert!(parse_condition("sel_a sel_b", &n, 32).is_err());
    }

    #[test]
    fn deep_nesting_refused() {
        let n = names(&["a"]);
        let text = format!("{}a{}", "(".repeat(500), ")".repeat(500));
        assert!(parse_condition(&text, &n, 64)
            .unwrap_err()
            .contains("deeper"));
        let nots = format!("{}a", "not ".repeat(500));
        assert!(parse_condition(&nots, &n, 64).is_err());
    }

    #[test]
    fn globs() {
        assert!(glob_match("filter*", "filter_main"));
        assert!(glob_match("*main*", "filter_main_x"));
        assert!(!glob_match("sel_*", "filter"));
    }
}
