//! `summary`: who and what, how often, with errors and first/last seen, per dimension.

use firebreak_store::table::Table;

use crate::convert::format_millis;
use crate::error::Result;
use crate::exprs::given;
use crate::partscan::{tally_dimensions, EventSelection};
use crate::session::CaseQuery;

/// The columns of [`Summary::to_table`].
pub const SUMMARY_COLUMNS: &[&str] = &[
    "dimension",
    "value",
    "count",
    "errors",
    "first_seen",
    "last_seen",
];

/// What a summary counts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SummaryDimension {
    /// The principal (ARN, else invoking service, else principal id).
    Principal,
    /// `useridentity.accesskeyid`.
    AccessKey,
    /// `sourceipaddress`.
    SourceIp,
    /// `useragent`.
    UserAgent,
    /// `awsregion`.
    Region,
    /// `eventsource`.
    Service,
    /// `eventname`.
    EventName,
    /// `errorcode` (only failed calls).
    ErrorCode,
}

impl SummaryDimension {
    /// Every dimension, in report order.
    pub const ALL: [SummaryDimension; 8] = [
        SummaryDimension::Principal,
        SummaryDimension::AccessKey,
        SummaryDimension::SourceIp,
        SummaryDimension::UserAgent,
        SummaryDimension::Region,
        SummaryDimension::Service,
        SummaryDimension::EventName,
        SummaryDimension::ErrorCode,
    ];

    /// The name in the table's `dimension` column (a column name of the timeline).
    pub fn name(self) -> &'static str {
        match self {
            SummaryDimension::Principal => "principal",
            SummaryDimension::AccessKey => "access_key",
            SummaryDimension::SourceIp => "sourceipaddress",
            SummaryDimension::UserAgent => "useragent",
            SummaryDimension::Region => "awsregion",
            SummaryDimension::Service => "eventsource",
            SummaryDimension::EventName => "eventname",
            SummaryDimension::ErrorCode => "errorcode",
        }
    }
}

/// Which events a summary counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SummaryFilter {
    /// Only this principal (ARN, user or role name, or `root`).
    pub principal: Option<String>,
    /// Events at or after this instant.
    pub since: Option<jiff::Timestamp>,
    /// Events at or before this instant.
    pub until: Option<jiff::Timestamp>,
    /// Keep only the most frequent values of each dimension (`None`: all).
    pub top: Option<usize>,
}

/// The counts of one value of a dimension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueCount {
    /// The value.
    pub value: String,
    /// Events with it.
    pub count: u64,
    /// Of which failed (`errorcode` set).
    pub errors: u64,
    /// Earliest `event_ts` (RFC 3339).
    pub first_seen: Option<String>,
    /// Latest `event_ts`.
    pub last_seen: Option<String>,
}

/// A summary of the events a [`SummaryFilter`] selects.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Summary {
    /// Events counted.
    pub events: u64,
    /// Of which failed.
    pub errors: u64,
    /// Earliest event.
    pub first_seen: Option<String>,
    /// Latest event.
    pub last_seen: Option<String>,
    /// Per dimension, its values by decreasing count (ties by value); events without a
    /// value for the dimension (no access key, no error) are not listed.
    pub dimensions: Vec<(SummaryDimension, Vec<ValueCount>)>,
}

impl Summary {
    /// The values of `dimension`.
    pub fn values(&self, dimension: SummaryDimension) -> &[ValueCount] {
        self.dimensions
            .iter()
            .find(|(d, _)| *d == dimension)
            .map(|(_, v)| v.as_slice())
            .unwrap_or(&[])
    }

    /// The count of `value` in `dimension` (0 when absent).
    pub fn count(&self, dimension: SummaryDimension, value: &str) -> u64 {
        self.values(dimension)
            .iter()
            .find(|v| v.value == value)
            .map_or(0, |v| v.count)
    }

    /// One row per dimension and value, with [`SUMMARY_COLUMNS`].
    pub fn to_table(&self) -> Table {
        let mut table = Table::new(SUMMARY_COLUMNS.iter().copied());
        for (dimension, values) in &self.dimensions {
            for v in values {
                table.push_row(vec![
                    Some(dimension.name().to_string()),
                    Some(v.value.clone()),
                    Some(v.count.to_string()),
                    Some(v.errors.to_string()),
                    v.first_seen.clone(),
                    v.last_seen.clone(),
                ]);
            }
        }
        table
    }
}

impl CaseQuery {
    /// Counts the events `filter` selects by principal, access key, source IP, user
    /// agent, region, service, event name and error code. Exact: the event parts are read
    /// directly, in parallel, with the text columns kept as Parquet dictionaries, and
    /// counted per dictionary value (see `partscan`); a principal is selected by the same
    /// fields as `timeline --principal`.
    pub fn summary(&self, filter: &SummaryFilter) -> Result<Summary> {
        const WHAT: &str = "summary";
        let selection = EventSelection {
            principal: given(&filter.principal).map(str::to_string),
            since: filter.since.map(|t| t.as_millisecond()),
            until: filter.until.map(|t| t.as_millisecond()),
        };
        let tallies = tally_dimensions(self.event_files(), &selection, WHAT)?;
        let total = tallies.total;
        let mut per_value = tallies.values;
        let mut dimensions: Vec<(SummaryDimension, Vec<ValueCount>)> = SummaryDimension::ALL
            .iter()
            .map(|d| (*d, Vec::new()))
            .collect();
        for (dimension, values) in &mut dimensions {
            for (value, acc) in per_value.remove(dimension).unwrap_or_default() {
                values.push(ValueCount {
                    value,
                    count: acc.count,
                    errors: acc.errors,
                    first_seen: acc.first.map(format_millis),
                    last_seen: acc.last.map(format_millis),
                });
            }
        }
        for (_, values) in &mut dimensions {
            values.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
            if let Some(top) = filter.top {
                values.truncate(top);
            }
        }
        Ok(Summary {
            events: total.count,
            errors: total.errors,
            first_seen: total.first.map(format_millis),
            last_seen: total.last.map(format_millis),
            dimensions,
        })
    }
}
