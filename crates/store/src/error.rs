//! The errors of the case store.

use std::path::PathBuf;

/// Errors of the case store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file or folder could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder concerned.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// `create` was asked for a folder that already holds a case (or other files).
    #[error("{path}: a case already exists there (or the folder is not empty); open it instead")]
    CaseExists {
        /// The case folder.
        path: PathBuf,
    },
    /// `open` was asked for a folder that is not a case.
    #[error("{path}: not a firebreak case (no case.json)")]
    NotACase {
        /// The case folder.
        path: PathBuf,
    },
    /// `case.json` (or another store file) is not what it should be.
    #[error("{path}: {message}")]
    BadCaseFile {
        /// The file concerned.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A Parquet file could not be read or written.
    #[error("{path}: parquet: {source}")]
    Parquet {
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        source: parquet::errors::ParquetError,
    },
    /// Arrow data could not be built or transformed.
    #[error("{context}: arrow: {source}")]
    Arrow {
        /// What was being done.
        context: String,
        /// The underlying error.
        source: arrow::error::ArrowError,
    },
    /// A stored Parquet file does not have the expected columns.
    #[error("{path}: {message}")]
    BadPart {
        /// The file concerned.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A worker or writer thread stopped unexpectedly.
    #[error("ingest: {0}")]
    Thread(String),
}

/// The result type of this crate.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl StoreError {
    /// An I/O error about `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        StoreError::Io {
            path: path.into(),
            source,
        }
    }

    /// A Parquet error about `path`.
    pub fn parquet(path: impl Into<PathBuf>, source: parquet::errors::ParquetError) -> Self {
        StoreError::Parquet {
            path: path.into(),
            source,
        }
    }

    /// An Arrow error while doing `context`.
    pub fn arrow(context: impl Into<String>, source: arrow::error::ArrowError) -> Self {
        StoreError::Arrow {
            context: context.into(),
            source,
        }
    }
}
