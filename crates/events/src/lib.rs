//! The CloudTrail event model and the readers that turn every CloudTrail delivery
//! shape (S3 `.json.gz` objects, JSON lines, EventBridge envelopes, `lookup-events`
//! output, CloudTrail Lake results) into a stream of records.
//!
//! Values are kept exactly as they were logged: an IP field that is not an IP, a fake
//! region or an odd `eventTime` format is data, not an error.
//!
//! - [`read`]: find inputs ([`discover_inputs`]) and stream their records
//!   ([`read_file`], [`read_stream`], [`RecordReader`]). Turn a delivered [`Record`]
//!   into an event with [`Record::event`], which reuses what the reader found while
//!   scanning (cheaper than [`CloudTrailEvent::parse`] on its bytes).
//! - [`event`]: [`CloudTrailEvent`], one record borrowed from its bytes, with its head
//!   fields decoded and everything else looked up lazily through [`EventFields`].
//! - [`sanitize`]: making attacker-controlled field text safe for terminals and CSV.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod event;
pub mod field;
mod head;
mod json;
mod lookup;
pub mod read;
pub mod sanitize;

pub use event::{CloudTrailEvent, RecordError, TopLevelMember};
pub use field::{EventFields, FieldValue};
pub use read::{
    discover_inputs, read_file, read_stream, ErrorLocation, FileReport, InputFile, InputShape,
    ReadError, ReadErrorKind, Record, RecordReader,
};
