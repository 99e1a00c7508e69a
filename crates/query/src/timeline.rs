//! `timeline`: the events of one pivot (key, principal, IP, resource...) in time order.

use datafusion::logical_expr::{col, lit};
use firebreak_store::table::Table;

use crate::convert::{cell, int_cell, millis, text, ResourceLists};
use crate::error::{QueryError, Result};
use crate::exprs::{given, identity, principal_expr, principal_filter, window_filter};
use crate::resource;
use crate::session::CaseQuery;

/// The columns of a timeline, in order.
pub const TIMELINE_COLUMNS: &[&str] = &[
    "eventtime",
    "eventsource",
    "eventname",
    "principal",
    "access_key",
    "sourceipaddress",
    "useragent",
    "resource",
    "errorcode",
    "eventid",
    "awsregion",
    "recipientaccountid",
];

/// Where `resource` (the only column not read as is) is in [`TIMELINE_COLUMNS`].
const RESOURCE_COLUMN: usize = 7;
/// Where `eventid` (the tie-breaker of the time order) is in [`TIMELINE_COLUMNS`].
const EVENT_ID_COLUMN: usize = 9;

/// Which events a timeline shows: every filter given must match, and at least one of
/// the entity filters (all but `since` / `until`) must be given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TimelineFilter {
    /// `useridentity.accesskeyid` equals this.
    pub access_key: Option<String>,
    /// The principal: its ARN, user name, assumed role (ARN or name), or `root`.
    pub principal: Option<String>,
    /// `sourceipaddress` equals this.
    pub ip: Option<String>,
    /// A resource ARN or name, found in `resources[].arn` (whole ARN or one of its
    /// `:`/`/` parts) or as a JSON string in the request parameters or response elements.
    pub resource: Option<String>,
    /// `eventname` equals this.
    pub event_name: Option<String>,
    /// `eventsource` equals this (`s3.amazonaws.com`).
    pub event_source: Option<String>,
    /// Events at or after this instant (`event_ts`).
    pub since: Option<jiff::Timestamp>,
    /// Events at or before this instant.
    pub until: Option<jiff::Timestamp>,
}

impl TimelineFilter {
    fn has_entity(&self) -> bool {
        [
            &self.access_key,
            &self.principal,
            &self.ip,
            &self.resource,
            &self.event_name,
            &self.event_source,
        ]
        .into_iter()
        .any(|f| given(f).is_some())
    }
}

impl CaseQuery {
    /// The events matching `filter`, in time order (ties by event id), with the
    /// [`TIMELINE_COLUMNS`]. `resource` is the first resource the event names
    /// ([`resource::extract`]).
    pub fn timeline(&self, filter: &TimelineFilter) -> Result<Table> {
        const WHAT: &str = "timeline";
        if !filter.has_entity() {
            return Err(QueryError::MissingParameter {
                query: WHAT.to_string(),
                reason: "give at least one of access_key, principal, ip, resource, event_name, event_source".to_string(),
            });
        }
        let mut filters = Vec::new();
        if let Some(key) = given(&filter.access_key) {
            filters.push(identity("accesskeyid").eq(lit(key)));
        }
        if let Some(who) = given(&filter.principal) {
            filters.push(principal_filter(who));
        }
        if let Some(ip) = given(&filter.ip) {
            filters.push(col("sourceipaddress").eq(lit(ip)));
        }
        if let Some(name) = given(&filter.event_name) {
            filters.push(col("eventname").eq(lit(name)));
        }
        if let Some(source) = given(&filter.event_source) {
            filters.push(col("eventsource").eq(lit(source)));
        }
        if let Some(window) = window_filter(filter.since, filter.until) {
            filters.push(window);
        }
        let wanted_resource = given(&filter.resource);
        let batches = self.collect_events(WHAT, filters, |df| {
            df.select(vec![
                col("eventtime"),
                col("eventsource"),
                col("eventname"),
                principal_expr().alias("principal"),
                identity("accesskeyid").alias("access_key"),
                col("sourceipaddress"),
                col("useragent"),
                col("requestparameters"),
                col("responseelements"),
                col("resources"),
                col("errorcode"),
                col("eventid"),
                col("awsregion"),
                col("recipientaccountid"),
                col("event_ts"),
            ])
        })?;

        let mut rows: Vec<(i64, Vec<Option<String>>)> = Vec::new();
        for batch in &batches {
            // The columns before and after `resource`, as selected.
            let leading = TIMELINE_COLUMNS[..RESOURCE_COLUMN]
                .iter()
                .map(|n| text(batch, n, WHAT))
                .collect::<Result<Vec<_>>>()?;
            let request = text(batch, "requestparameters", WHAT)?;
            let response = text(batch, "responseelements", WHAT)?;
            let resources = ResourceLists::new(batch, "resources", WHAT)?;
            let trailing = TIMELINE_COLUMNS[RESOURCE_COLUMN + 1..]
                .iter()
                .map(|n| text(batch, n, WHAT))
                .collect::<Result<Vec<_>>>()?;
            let times = millis(batch, "event_ts", WHAT)?;
            // `eventsource` and `eventname` are the second and third columns.
            let (source, name) = (&leading[1], &leading[2]);
            for row in 0..batch.num_rows() {
                let listed = resources.row(row);
                let req = cell(&request, row);
                let resp = cell(&response, row);
                if let Some(wanted) = wanted_resource {
                    if !resource::mentions(wanted, req, resp, &listed) {
                        continue;
                    }
                }
                let named = resource::focus(
                    cell(name, row).unwrap_or(""),
                    resource::extract(cell(source, row).unwrap_or(""), req, resp, &listed),
                );
                let mut cells: Vec<Option<String>> = leading
                    .iter()
                    .map(|a| cell(a, row).map(str::to_string))
                    .collect();
                let shown = match wanted_resource {
                    Some(wanted) => named
                        .iter()
                        .find(|r| r.id == wanted)
                        .or(named.first())
                        .map(|r| r.id.clone()),
                    None => named.first().map(|r| r.id.clone()),
                };
                cells.push(shown);
                cells.extend(trailing.iter().map(|a| cell(a, row).map(str::to_string)));
                rows.push((int_cell(&times, row).unwrap_or(i64::MIN), cells));
            }
        }
        // Time order; ties by event id so the order is stable.
        rows.sort_by(|a, b| {
            a.0.cmp(&b.0)
                .then_with(|| a.1[EVENT_ID_COLUMN].cmp(&b.1[EVENT_ID_COLUMN]))
        });
        let mut table = Table::new(TIMELINE_COLUMNS.iter().copied());
        for (_, cells) in rows {
            table.push_row(cells);
        }
        Ok(table)
    }
}
