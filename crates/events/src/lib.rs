//! The CloudTrail event model and the readers that turn every CloudTrail delivery
//! shape (S3 `.json.gz` objects, JSON lines, EventBridge envelopes, `lookup-events`
//! output, CloudTrail Lake results) into a stream of records.
//!
//! Values are kept exactly as they were logged: an IP field that is not an IP, a fake
//! region or an odd `eventTime` format is data, not an error.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod field;

pub use field::{EventFields, FieldValue};
