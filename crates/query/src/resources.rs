//! `resources`: what was created, deleted or modified, and by whom.

use std::str::FromStr;

use datafusion::functions::expr_fn::starts_with;
use datafusion::logical_expr::{col, lit};
use firebreak_store::table::Table;

use crate::convert::{cell, int_cell, millis, text, ResourceLists};
use crate::error::Result;
use crate::exprs::{given, or_all, principal_expr, principal_filter, window_filter};
use crate::resource::{self, Change, CHANGE_EXCEPTIONS, CHANGE_PREFIXES};
use crate::session::CaseQuery;

/// The columns of the resources pivot, in order.
pub const RESOURCES_COLUMNS: &[&str] = &[
    "eventtime",
    "change",
    "resource",
    "resource_type",
    "principal",
    "eventname",
    "eventid",
    "eventsource",
];

/// Which changes to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChangeFilter {
    /// Created resources.
    Created,
    /// Deleted (or disabled) resources.
    Deleted,
    /// Modified resources.
    Modified,
    /// All three.
    #[default]
    Any,
}

impl ChangeFilter {
    fn accepts(self, change: Change) -> bool {
        match self {
            ChangeFilter::Created => change == Change::Created,
            ChangeFilter::Deleted => change == Change::Deleted,
            ChangeFilter::Modified => change == Change::Modified,
            ChangeFilter::Any => true,
        }
    }
}

impl FromStr for ChangeFilter {
    type Err = String;

    /// `created`, `deleted`, `modified` or `any` (any case).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "created" | "create" => Ok(ChangeFilter::Created),
            "deleted" | "delete" => Ok(ChangeFilter::Deleted),
            "modified" | "modify" => Ok(ChangeFilter::Modified),
            "any" | "all" | "" => Ok(ChangeFilter::Any),
            _ => Err("expected created, deleted, modified or any".to_string()),
        }
    }
}

/// Which changes the resources pivot lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourceFilter {
    /// Created, deleted, modified or any.
    pub change: ChangeFilter,
    /// Only changes made by this principal (ARN, user or role name, or `root`).
    pub principal: Option<String>,
    /// Only this service (`iam.amazonaws.com`).
    pub event_source: Option<String>,
    /// Events at or after this instant.
    pub since: Option<jiff::Timestamp>,
    /// Events at or before this instant.
    pub until: Option<jiff::Timestamp>,
    /// Also list calls that failed (by default a call with an `errorcode` changed
    /// nothing and is left out).
    pub include_failed: bool,
}

impl CaseQuery {
    /// The resources changed by management write calls, one row per event and resource
    /// ([`RESOURCES_COLUMNS`]), in time order. The change comes from the event name
    /// ([`resource::classify`]); the resource from the request and response fields of
    /// [`resource::RESOURCE_FIELDS`], else `resources[]` (an event naming none still
    /// gets a row, with an empty resource). Data events (`eventcategory = 'Data'`:
    /// object puts and deletes) and read-only calls are not resource changes here.
    pub fn resources(&self, filter: &ResourceFilter) -> Result<Table> {
        const WHAT: &str = "resources";
        let mut filters = Vec::new();
        let prefixes = CHANGE_PREFIXES
            .iter()
            .map(|(p, _)| *p)
            .chain(CHANGE_EXCEPTIONS.iter().map(|(n, _)| *n))
            .map(|p| starts_with(col("eventname"), lit(p)))
            .collect();
        if let Some(any_prefix) = or_all(prefixes) {
            filters.push(any_prefix);
        }
        filters.push(
            col("eventcategory")
                .is_null()
                .or(col("eventcategory").not_eq(lit("Data"))),
        );
        filters.push(
            col("readonly")
                .is_null()
                .or(col("readonly").not_eq(lit("true"))),
        );
        if !filter.include_failed {
            filters.push(col("errorcode").is_null());
        }
        if let Some(who) = given(&filter.principal) {
            filters.push(principal_filter(who));
        }
        if let Some(source) = given(&filter.event_source) {
            filters.push(col("eventsource").eq(lit(source)));
        }
        if let Some(window) = window_filter(filter.since, filter.until) {
            filters.push(window);
        }
        let batches = self.collect_events(WHAT, filters, |df| {
            df.select(vec![
                col("eventtime"),
                col("eventname"),
                col("eventsource"),
                principal_expr().alias("principal"),
                col("requestparameters"),
                col("responseelements"),
                col("resources"),
                col("eventid"),
                col("event_ts"),
            ])
        })?;

        let mut rows: Vec<(i64, Vec<Option<String>>)> = Vec::new();
        for batch in &batches {
            let times = text(batch, "eventtime", WHAT)?;
            let names = text(batch, "eventname", WHAT)?;
            let sources = text(batch, "eventsource", WHAT)?;
            let principals = text(batch, "principal", WHAT)?;
            let request = text(batch, "requestparameters", WHAT)?;
            let response = text(batch, "responseelements", WHAT)?;
            let resources = ResourceLists::new(batch, "resources", WHAT)?;
            let ids = text(batch, "eventid", WHAT)?;
            let ts = millis(batch, "event_ts", WHAT)?;
            for row in 0..batch.num_rows() {
                let Some(name) = cell(&names, row) else {
                    continue;
                };
                let Some(change) = resource::classify(name) else {
                    continue;
                };
                if !filter.change.accepts(change) {
                    continue;
                }
                let source = cell(&sources, row).unwrap_or("");
                let named = resource::focus(
                    name,
                    resource::extract(
                        source,
                        cell(&request, row),
                        cell(&response, row),
                        &resources.row(row),
                    ),
                );
                let base = |resource: Option<String>, resource_type: Option<String>| {
                    vec![
                        cell(&times, row).map(str::to_string),
                        Some(change.as_str().to_string()),
                        resource,
                        resource_type,
                        cell(&principals, row).map(str::to_string),
                        Some(name.to_string()),
                        cell(&ids, row).map(str::to_string),
                        Some(source.to_string()),
                    ]
                };
                let at = int_cell(&ts, row).unwrap_or(i64::MIN);
                if named.is_empty() {
                    rows.push((at, base(None, None)));
                }
                for r in named {
                    rows.push((at, base(Some(r.id), Some(r.resource_type))));
                }
            }
        }
        // Stable order: time, then event id, then resource.
        rows.sort_by(|a, b| {
            a.0.cmp(&b.0)
                .then_with(|| a.1[6].cmp(&b.1[6]))
                .then_with(|| a.1[2].cmp(&b.1[2]))
        });
        let mut table = Table::new(RESOURCES_COLUMNS.iter().copied());
        for (_, cells) in rows {
            table.push_row(cells);
        }
        Ok(table)
    }
}
