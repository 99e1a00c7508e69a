//! Typed errors of rule loading and compilation.

use std::fmt;

/// What is wrong with one rule document. Wrapped in a [`RuleError`] that names the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// The file could not be read.
    #[error("cannot read file: {0}")]
    Io(String),
    /// The file is not valid UTF-8.
    #[error("file is not valid UTF-8")]
    NotUtf8,
    /// The file is larger than [`crate::Limits::max_file_bytes`].
    #[error("file is {size} bytes, over the limit of {limit} bytes")]
    FileTooLarge {
        /// Size of the file in bytes.
        size: usize,
        /// The configured limit.
        limit: usize,
    },
    /// The YAML text does not parse (includes libyaml's recursion and alias-repetition limits).
    #[error("invalid YAML: {0}")]
    Yaml(String),
    /// The document expands to more YAML nodes than allowed (alias bombs, huge lists).
    #[error("document has more than {limit} YAML nodes (alias expansion or huge rule)")]
    TooManyNodes {
        /// The configured limit.
        limit: usize,
    },
    /// The document nests deeper than allowed.
    #[error("document nests deeper than {limit} levels")]
    TooDeep {
        /// The configured limit.
        limit: usize,
    },
    /// The file holds more documents than allowed.
    #[error("file has more than {limit} YAML documents")]
    TooManyDocuments {
        /// The configured limit.
        limit: usize,
    },
    /// A required key is missing or has the wrong type.
    #[error("{0}")]
    Malformed(String),
    /// The rule uses a Sigma feature that this engine refuses.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// The `condition` does not parse or references unknown identifiers.
    #[error("condition: {0}")]
    Condition(String),
    /// A detection value or modifier is invalid.
    #[error("field '{field}': {message}")]
    Field {
        /// The detection key, with its modifiers, as written in the rule.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// A regular expression does not compile or is too big.
    #[error("field '{field}': regex /{pattern}/: {message}")]
    Regex {
        /// The detection key.
        field: String,
        /// The regular expression as written (cut to 200 characters).
        pattern: String,
        /// Why it was refused.
        message: String,
    },
    /// A correlation rule is invalid or references rules that cannot be found.
    #[error("correlation: {0}")]
    Correlation(String),
}

/// A rule document that could not be loaded: which file, which document in it, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    /// The file (or origin label) the rule came from.
    pub origin: String,
    /// 1-based index of the YAML document in the file (`---` separated); 0 when the
    /// problem concerns the whole file.
    pub document: usize,
    /// What is wrong.
    pub problem: Problem,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.document == 0 {
            write!(f, "{}: {}", self.origin, self.problem)
        } else {
            write!(
                f,
                "{} (document {}): {}",
                self.origin, self.document, self.problem
            )
        }
    }
}

impl std::error::Error for RuleError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.problem)
    }
}
