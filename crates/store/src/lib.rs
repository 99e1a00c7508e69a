//! The case store: a case folder holding CloudTrail events and the findings of the
//! detection run at ingest, as Parquet tables that Athena, Spark, DuckDB and
//! DataFusion read as is.
//!
//! - [`schema`]: the `cloudtrail` and `findings` Arrow schemas and column names.
//! - [`table`]: [`Table`], the generic query result.
//! - [`case`]: [`CaseStore`], the case folder (`case.json`, `events/`, `findings/`,
//!   `ingest.jsonl`).
//! - [`batch`]: [`EventBatchBuilder`] and [`FindingBatchBuilder`], events and findings
//!   to Arrow.
//! - [`ingest()`]: read inputs (every CloudTrail shape, objects in memory, Security Lake
//!   Parquet) into a case, de-duplicated by `eventID`, crash-safe, with the findings of
//!   the rules stored alongside.
//! - [`securitylake`]: Amazon Security Lake OCSF rows back to CloudTrail records.
//! - [`export_hive`]: the events as `account=/region=/day=` Hive partitions.
//! - [`parts`], [`dedup`]: the Parquet settings and readers, the event keys.

#![warn(missing_docs)]

pub mod batch;
pub mod case;
pub mod dedup;
pub mod error;
pub mod export;
pub mod ingest;
pub mod parts;
mod rawjson;
pub mod schema;
pub mod securitylake;
pub mod table;

pub use batch::{EventBatchBuilder, FindingBatchBuilder};
pub use case::{CaseInfo, CaseStore, Recovery};
pub use error::{Result, StoreError};
pub use export::{export_hive, ExportReport};
pub use ingest::{ingest, IngestInput, IngestOptions, IngestProgress, IngestReport, InputSummary};
pub use schema::{cloudtrail_schema, findings_schema};
pub use table::Table;
