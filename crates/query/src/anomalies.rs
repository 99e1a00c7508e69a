//! `anomalies`: what a principal did in a window that it never did in the baseline
//! before it (a new service, API, region, source IP or user agent).

use std::collections::{BTreeMap, HashMap, HashSet};

use datafusion::functions_aggregate::expr_fn::{count, max, min};
use datafusion::logical_expr::{col, lit, when, Expr};
use firebreak_store::table::Table;

use crate::convert::{cell, format_millis, int64, int_cell, millis, text};
use crate::error::{QueryError, Result};
use crate::exprs::{given, identity, principal_expr, principal_filter, session_issuer, ts_literal};
use crate::session::CaseQuery;

/// The columns of [`anomalies_to_table`].
pub const ANOMALY_COLUMNS: &[&str] = &[
    "kind",
    "value",
    "first_seen",
    "principal",
    "count",
    "compared_with",
];

/// Default length of the baseline before `since`, in days.
pub const DEFAULT_BASELINE_DAYS: u32 = 7;

/// Default window when `since` is not given: the last 24 hours of the case (up to
/// `until`, by default the case's last event).
pub const DEFAULT_WINDOW_HOURS: i64 = 24;

/// What was new.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AnomalyKind {
    /// A service (`eventsource`) the principal had not called.
    NewService,
    /// An API (`iam:CreateUser`: service prefix and event name) it had not called.
    NewApi,
    /// A region it had not acted in.
    NewRegion,
    /// A source IP address (or service name) it had not acted from.
    NewSourceIp,
    /// A user agent it had not used.
    NewUserAgent,
}

impl AnomalyKind {
    /// Every kind, in report order.
    pub const ALL: [AnomalyKind; 5] = [
        AnomalyKind::NewService,
        AnomalyKind::NewApi,
        AnomalyKind::NewRegion,
        AnomalyKind::NewSourceIp,
        AnomalyKind::NewUserAgent,
    ];

    /// `new_service`, `new_api`, `new_region`, `new_source_ip` or `new_user_agent`.
    pub fn as_str(self) -> &'static str {
        match self {
            AnomalyKind::NewService => "new_service",
            AnomalyKind::NewApi => "new_api",
            AnomalyKind::NewRegion => "new_region",
            AnomalyKind::NewSourceIp => "new_source_ip",
            AnomalyKind::NewUserAgent => "new_user_agent",
        }
    }

    fn plural(self) -> &'static str {
        match self {
            AnomalyKind::NewService => "services",
            AnomalyKind::NewApi => "APIs",
            AnomalyKind::NewRegion => "regions",
            AnomalyKind::NewSourceIp => "source IPs",
            AnomalyKind::NewUserAgent => "user agents",
        }
    }

    fn index(self) -> usize {
        match self {
            AnomalyKind::NewService => 0,
            AnomalyKind::NewApi => 1,
            AnomalyKind::NewRegion => 2,
            AnomalyKind::NewSourceIp => 3,
            AnomalyKind::NewUserAgent => 4,
        }
    }
}

/// What to compare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnomalyOptions {
    /// Only this principal (ARN, user or role name, or `root`); `None`: every principal.
    pub principal: Option<String>,
    /// Start of the window; default: [`DEFAULT_WINDOW_HOURS`] before `until`.
    pub since: Option<jiff::Timestamp>,
    /// End of the window (inclusive); default: the case's last event.
    pub until: Option<jiff::Timestamp>,
    /// The baseline is `[since - baseline_days, since)`.
    pub baseline_days: u32,
}

impl Default for AnomalyOptions {
    fn default() -> Self {
        AnomalyOptions {
            principal: None,
            since: None,
            until: None,
            baseline_days: DEFAULT_BASELINE_DAYS,
        }
    }
}

/// Something a principal did in the window and never in the baseline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anomaly {
    /// What was new.
    pub kind: AnomalyKind,
    /// The new value (`203.0.113.7`, `iam:CreateUser`...).
    pub value: String,
    /// Its first use in the window (RFC 3339).
    pub first_seen: String,
    /// The principal: its ARN; for an assumed role, the role's ARN (sessions of one
    /// role share their baseline).
    pub principal: String,
    /// Events in the window with this value.
    pub count: u64,
    /// What it was compared with, as a sentence.
    pub compared_with: String,
    /// Events of the principal in the baseline.
    pub baseline_events: u64,
    /// Distinct values of this kind the principal had in the baseline.
    pub baseline_values: u64,
}

/// The anomalies as a [`Table`] with [`ANOMALY_COLUMNS`].
pub fn anomalies_to_table(anomalies: &[Anomaly]) -> Table {
    let mut table = Table::new(ANOMALY_COLUMNS.iter().copied());
    for a in anomalies {
        table.push_row(vec![
            Some(a.kind.as_str().to_string()),
            Some(a.value.clone()),
            Some(a.first_seen.clone()),
            Some(a.principal.clone()),
            Some(a.count.to_string()),
            Some(a.compared_with.clone()),
        ]);
    }
    table
}

/// The principal an anomaly baseline belongs to: the role for assumed-role sessions,
/// else the principal.
fn baseline_key() -> Expr {
    when(
        identity("type")
            .eq(lit("AssumedRole"))
            .and(session_issuer("arn").is_not_null()),
        session_issuer("arn"),
    )
    .otherwise(principal_expr())
    .unwrap_or_else(|_| principal_expr())
}

/// `iam.amazonaws.com` + `CreateUser` → `iam:CreateUser`.
fn api_name(event_source: &str, event_name: &str) -> String {
    let service = event_source.split('.').next().unwrap_or(event_source);
    format!("{service}:{event_name}")
}

#[derive(Default)]
struct PrincipalStats {
    baseline_events: u64,
    baseline: [HashSet<String>; 5],
    /// Per kind: value → (first seen ms, count) in the window.
    window: [BTreeMap<String, (i64, u64)>; 5],
}

impl CaseQuery {
    /// The first uses in `[since, until]` of a service, API, region, source IP or user
    /// agent per principal, compared with `[since - baseline_days, since)`. Sorted by
    /// principal, kind, first use. A principal with no baseline events has every value
    /// reported (its `compared_with` says so).
    pub fn anomalies(&self, opts: &AnomalyOptions) -> Result<Vec<Anomaly>> {
        const WHAT: &str = "anomalies";
        let until = match opts.until {
            Some(until) => until,
            None => match self.last_event_time(WHAT)? {
                Some(last) => last,
                None => return Ok(Vec::new()),
            },
        };
        let since = match opts.since {
            Some(since) => since,
            None => until
                .checked_sub(jiff::SignedDuration::from_hours(DEFAULT_WINDOW_HOURS))
                .map_err(|e| QueryError::exec(WHAT, e))?,
        };
        if since > until {
            return Err(QueryError::invalid(
                WHAT,
                "since",
                &since.to_string(),
                format!("after until ({until})"),
            ));
        }
        let baseline_start = since
            .checked_sub(jiff::SignedDuration::from_hours(
                i64::from(opts.baseline_days) * 24,
            ))
            .map_err(|e| QueryError::exec(WHAT, e))?;
        let in_range = col("event_ts")
            .gt_eq(ts_literal(baseline_start))
            .and(col("event_ts").lt_eq(ts_literal(until)));

        let principal = given(&opts.principal);
        let keys: Option<Vec<String>> = match principal {
            None => None,
            Some(who) => {
                let batches = self.collect_events(
                    WHAT,
                    vec![principal_filter(who), in_range.clone()],
                    |df| df.aggregate(vec![baseline_key().alias("key")], vec![]),
                )?;
                let mut keys = Vec::new();
                for batch in &batches {
                    let column = text(batch, "key", WHAT)?;
                    keys.extend(
                        (0..batch.num_rows()).filter_map(|r| cell(&column, r).map(str::to_string)),
                    );
                }
                if keys.is_empty() {
                    return Ok(Vec::new());
                }
                Some(keys)
            }
        };

        let mut filters = vec![in_range];
        if let Some(keys) = &keys {
            filters.push(
                baseline_key().in_list(keys.iter().map(|k| lit(k.as_str())).collect(), false),
            );
        }
        let batches = self.collect_events(WHAT, filters, |df| {
            df.aggregate(
                vec![
                    baseline_key().alias("key"),
                    col("eventsource"),
                    col("eventname"),
                    col("awsregion"),
                    col("sourceipaddress"),
                    col("useragent"),
                    col("event_ts").gt_eq(ts_literal(since)).alias("in_window"),
                ],
                vec![
                    count(lit(1)).alias("n"),
                    min(col("event_ts")).alias("first"),
                ],
            )
        })?;

        let mut stats: HashMap<String, PrincipalStats> = HashMap::new();
        for batch in &batches {
            let key = text(batch, "key", WHAT)?;
            let source = text(batch, "eventsource", WHAT)?;
            let name = text(batch, "eventname", WHAT)?;
            let region = text(batch, "awsregion", WHAT)?;
            let ip = text(batch, "sourceipaddress", WHAT)?;
            let agent = text(batch, "useragent", WHAT)?;
            let in_window = text(batch, "in_window", WHAT)?;
            let counts = int64(batch, "n", WHAT)?;
            let firsts = millis(batch, "first", WHAT)?;
            for row in 0..batch.num_rows() {
                let Some(principal) = cell(&key, row) else {
                    continue;
                };
                let n = int_cell(&counts, row).unwrap_or(0).max(0) as u64;
                let first = int_cell(&firsts, row).unwrap_or(i64::MIN);
                let window = cell(&in_window, row) == Some("true");
                let api = match (cell(&source, row), cell(&name, row)) {
                    (Some(s), Some(n)) => Some(api_name(s, n)),
                    _ => None,
                };
                let values: [Option<String>; 5] = [
                    cell(&source, row).map(str::to_string),
                    api,
                    cell(&region, row).map(str::to_string),
                    cell(&ip, row).map(str::to_string),
                    cell(&agent, row).map(str::to_string),
                ];
                let entry = stats.entry(principal.to_string()).or_default();
                if !window {
                    entry.baseline_events += n;
                }
                for (i, value) in values.into_iter().enumerate() {
                    let Some(value) = value else { continue };
                    if window {
                        let slot = entry.window[i].entry(value).or_insert((first, 0));
                        slot.0 = slot.0.min(first);
                        slot.1 += n;
                    } else {
                        entry.baseline[i].insert(value);
                    }
                }
            }
        }

        let baseline_text = format!("{baseline_start}..{since}");
        let mut anomalies = Vec::new();
        for (principal, stat) in &stats {
            for kind in AnomalyKind::ALL {
                let i = kind.index();
                let known = &stat.baseline[i];
                for (value, (first, n)) in &stat.window[i] {
                    if known.contains(value) {
                        continue;
                    }
                    let compared_with = if stat.baseline_events == 0 {
                        format!("baseline {baseline_text}: no events of this principal")
                    } else {
                        format!(
                            "baseline {baseline_text}: {} events of this principal, {} {} seen",
                            stat.baseline_events,
                            known.len(),
                            kind.plural()
                        )
                    };
                    anomalies.push(Anomaly {
                        kind,
                        value: value.clone(),
                        first_seen: format_millis(*first),
                        principal: principal.clone(),
                        count: *n,
                        compared_with,
                        baseline_events: stat.baseline_events,
                        baseline_values: known.len() as u64,
                    });
                }
            }
        }
        anomalies.sort_by(|a, b| {
            a.principal
                .cmp(&b.principal)
                .then_with(|| a.kind.cmp(&b.kind))
                .then_with(|| a.first_seen.cmp(&b.first_seen))
                .then_with(|| a.value.cmp(&b.value))
        });
        Ok(anomalies)
    }

    /// The case's latest `event_ts` (`None`: no events).
    pub fn last_event_time(&self, what: &str) -> Result<Option<jiff::Timestamp>> {
        let batches = self.collect_events(what, Vec::new(), |df| {
            df.aggregate(vec![], vec![max(col("event_ts")).alias("last")])
        })?;
        for batch in &batches {
            let last = millis(batch, "last", what)?;
            if let Some(ms) = (0..batch.num_rows()).find_map(|r| int_cell(&last, r)) {
                return jiff::Timestamp::from_millisecond(ms)
                    .map(Some)
                    .map_err(|e| QueryError::exec(what, e));
            }
        }
        Ok(None)
    }
}
