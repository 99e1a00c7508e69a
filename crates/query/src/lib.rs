//! SQL and investigation pivots over a firebreak case.
//!
//! A case's CloudTrail events (`events/part-*.parquet`) and findings
//! (`findings/part-*.parquet`) are the tables `cloudtrail` and `findings` of a
//! [`CaseQuery`], a DataFusion session: any SELECT runs over them with Athena's column
//! names (`useridentity.arn`, `eventtime >= '2026-10-01T00:00:00Z'`...). On top of it,
//! the pivots an investigation starts with:
//!
//! - [`timeline`]: the events of an access key, principal, IP, resource, API or service,
//!   in time order;
//! - [`summary`]: counts, errors and first/last seen per principal, key, IP, user agent,
//!   region, service, API and error code;
//! - [`resources`]: what was created, deleted or modified, and by whom;
//! - [`anomalies`]: the services, APIs, regions, IPs and user agents a principal used
//!   for the first time, compared with a baseline;
//! - [`run_named`]: any of them by name with string parameters (playbook steps).
//!
//! Every result is a [`Table`] of text cells. The API is synchronous (a small tokio
//! runtime runs inside each [`CaseQuery`]).
#![warn(missing_docs)]

mod anomalies;
mod convert;
mod error;
mod exprs;
mod named;
mod partscan;
pub mod resource;
mod resources;
mod session;
mod summary;
mod timeline;

pub use anomalies::{
    anomalies_to_table, Anomaly, AnomalyKind, AnomalyOptions, ANOMALY_COLUMNS,
    DEFAULT_BASELINE_DAYS, DEFAULT_WINDOW_HOURS,
};
pub use datafusion;
pub use datafusion::arrow::record_batch::RecordBatch;
pub use error::{QueryError, Result};
pub use firebreak_store::table::Table;
pub use named::{
    anomalies, parse_time, resources, run_named, summary, timeline, NamedQuery, NAMED_QUERIES,
};
pub use resources::{ChangeFilter, ResourceFilter, RESOURCES_COLUMNS};
pub use session::{CaseQuery, SkippedPart, CLOUDTRAIL_TABLE, FINDINGS_TABLE};
pub use summary::{Summary, SummaryDimension, SummaryFilter, ValueCount, SUMMARY_COLUMNS};
pub use timeline::{TimelineFilter, TIMELINE_COLUMNS};
