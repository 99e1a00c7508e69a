//! The error type of every query.

/// What went wrong running a query over a case.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// A SQL statement could not be planned or run (syntax error, unknown column, type
    /// error...); `message` is DataFusion's own explanation.
    #[error("SQL error: {message}")]
    Sql {
        /// DataFusion's message.
        message: String,
    },
    /// The statement is not a query (DDL, DML and `SET` are refused: the case is read-only).
    #[error("only SELECT queries are allowed over a case: {message}")]
    NotAQuery {
        /// DataFusion's message.
        message: String,
    },
    /// A pivot failed while reading the case (corrupt part file, unreadable column...).
    #[error("{what} failed: {message}")]
    Execution {
        /// Which query.
        what: String,
        /// DataFusion's or Arrow's message (names the file when the reader does).
        message: String,
    },
    /// The case store could not be read (not a case, folder unreadable...).
    #[error(transparent)]
    Store(#[from] firebreak_store::StoreError),
    /// The tokio runtime the queries run on could not be started.
    #[error("cannot start the query runtime: {0}")]
    Runtime(std::io::Error),
    /// A parameter has a value the query cannot use.
    #[error("{query}: parameter {name}={value:?} is invalid: {reason}")]
    InvalidParameter {
        /// The query (`timeline`).
        query: String,
        /// The parameter name.
        name: String,
        /// The value given.
        value: String,
        /// Why it is refused.
        reason: String,
    },
    /// A required parameter is missing.
    #[error("{query}: {reason}")]
    MissingParameter {
        /// The query.
        query: String,
        /// Which parameter(s) and why.
        reason: String,
    },
    /// `run_named` was given a name the catalogue does not have.
    #[error("unknown query {name:?} (known: {known})")]
    UnknownQuery {
        /// The name given.
        name: String,
        /// The known names, comma separated.
        known: String,
    },
}

/// Result of a query.
pub type Result<T, E = QueryError> = std::result::Result<T, E>;

impl QueryError {
    /// An execution error of the pivot `what`.
    pub(crate) fn exec(what: &str, message: impl std::fmt::Display) -> Self {
        QueryError::Execution {
            what: what.to_string(),
            message: message.to_string(),
        }
    }

    /// An invalid parameter of `query`.
    pub(crate) fn invalid(query: &str, name: &str, value: &str, reason: impl Into<String>) -> Self {
        QueryError::InvalidParameter {
            query: query.to_string(),
            name: name.to_string(),
            value: value.to_string(),
            reason: reason.into(),
        }
    }
}
