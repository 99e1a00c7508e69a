//! Typed errors: a file that cannot be loaded, and the problems lint reports.

use std::fmt;

/// Why a playbook file could not be loaded at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("{file}: cannot read: {message}")]
    Io {
        /// The file.
        file: String,
        /// The operating system's message.
        message: String,
    },
    /// The file is larger than the limit.
    #[error("{file}: {size} bytes, over the limit of {limit} bytes")]
    TooLarge {
        /// The file.
        file: String,
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The file is not UTF-8.
    #[error("{file}: not valid UTF-8")]
    NotUtf8 {
        /// The file.
        file: String,
    },
}

/// How serious a lint finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Worth fixing; the playbook still works.
    Warning,
    /// The playbook is wrong and cannot be used as written.
    Error,
}

impl Severity {
    /// `error` or `warning`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// One problem found in a playbook: where (file, line, key path) and what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Issue {
    /// The file (or `builtin:<name>`).
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// Key path in the document (`phases[1].steps[2].params.access_key`), or empty.
    pub path: String,
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        write!(f, ": {}", self.severity.as_str())?;
        if !self.path.is_empty() {
            write!(f, ": {}", self.path)?;
        }
        write!(f, ": {}", self.message)
    }
}
