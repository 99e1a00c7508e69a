//! CSV output: one row per finding; cells that a spreadsheet would run as a formula
//! are neutralised.

use firebreak_events::sanitize::for_csv_cell;

use crate::Finding;

const HEADER: &[&str] = &[
    "event_time", "level", "rule_title", "rule_author", "rule_id", "event_source", "event_name",
    "principal_arn", "access_key_id", "source_ip", "user_agent", "account_id", "region", "error_code",
    "event_id", "tags", "correlation_count", "correlation_group", "input",
];

fn encode<I, T>(cells: I) -> Result<Vec<u8>, csv::Error>
where
    I: IntoIterator<Item = T>,
    T: AsRef<[u8]>,
{
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(cells)?;
    w.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

/// The header row, encoded.
pub(super) fn header() -> Result<Vec<u8>, csv::Error> {
    encode(HEADER)
}

/// One finding as an encoded row.
pub(super) fn row(f: &Finding) -> Result<Vec<u8>, csv::Error> {
    let e = &f.event;
    let o = |v: &Option<String>| v.clone().unwrap_or_default();
    let (count, group) = match &f.correlation {
        Some(c) => (
            c.count.to_string(),
            c.group.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(";"),
        ),
        None => (String::new(), String::new()),
    };
    let row = [
        o(&e.event_time),
        f.rule.level.to_string(),
        f.rule.title.clone(),
        f.rule.author.clone(),
        f.rule.id.clone(),
        o(&e.event_source),
        o(&e.event_name),
        o(&e.principal_arn),
        o(&e.access_key_id),
        o(&e.source_ip),
        o(&e.user_agent),
        o(&e.account_id),
        o(&e.region),
        o(&e.error_code),
        o(&e.event_id),
        f.rule.tags.join(" "),
        count,
        group,
        f.input.clone().unwrap_or_default(),
    ];
    encode(row.iter().map(|c| for_csv_cell(c).into_owned()))
}
