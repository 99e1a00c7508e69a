//! The SQL surface and the pivots against a simulated case whose answers are known:
//! counts recomputed from the raw JSON, and `simulate`'s ground truth.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use firebreak_query::{
    AnomalyKind, AnomalyOptions, CaseQuery, ChangeFilter, QueryError, ResourceFilter,
    SummaryDimension, SummaryFilter, Table, TimelineFilter,
};
use serde_json::Value;
use support::{get, sim_case};

fn query() -> CaseQuery {
    CaseQuery::open(&sim_case().store()).expect("open case")
}

fn ts(text: &str) -> jiff::Timestamp {
    text.parse().expect("timestamp")
}

/// `column` → count, from a two-column result (`value`, `count`).
fn counts(table: &Table, key: &str, count: &str) -> BTreeMap<String, u64> {
    let k = table.column_index(key).expect("key column");
    let c = table.column_index(count).expect("count column");
    table
        .rows
        .iter()
        .map(|r| {
            (
                r[k].clone().unwrap_or_default(),
                r[c].as_deref()
                    .expect("count")
                    .parse::<u64>()
                    .expect("number"),
            )
        })
        .collect()
}

fn raw_counts<'a>(
    records: impl Iterator<Item = &'a Value>,
    path: &[&str],
) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for r in records {
        if let Some(v) = get(r, path) {
            *out.entry(v.to_string()).or_default() += 1;
        }
    }
    out
}

#[test]
fn sql_counts_by_event_name_match_the_raw_records() {
    let case = sim_case();
    let table = query()
        .sql("SELECT eventname, count(*) AS n FROM cloudtrail GROUP BY 1")
        .expect("sql");
    assert_eq!(table.columns, ["eventname", "n"]);
    let expected = raw_counts(case.records.iter(), &["eventName"]);
    assert!(expected.len() > 20, "the simulation has many APIs");
    assert_eq!(counts(&table, "eventname", "n"), expected);
}

#[test]
fn sql_reaches_struct_fields_with_dots() {
    let case = sim_case();
    let q = query();
    let table = q
        .sql("SELECT useridentity.arn, count(*) AS n FROM cloudtrail WHERE useridentity.type = 'IAMUser' GROUP BY useridentity.arn")
        .expect("dotted struct access");
    assert_eq!(table.columns, ["useridentity.arn", "n"]);
    let expected = raw_counts(
        case.records
            .iter()
            .filter(|r| get(r, &["userIdentity", "type"]) == Some("IAMUser")),
        &["userIdentity", "arn"],
    );
    assert!(!expected.is_empty());
    assert_eq!(counts(&table, "useridentity.arn", "n"), expected);

    let table = q
        .sql("SELECT count(useridentity.sessioncontext.sessionissuer.arn) AS n FROM cloudtrail")
        .expect("four-level path");
    let expected = case
        .records
        .iter()
        .filter(|r| {
            get(
                r,
                &["userIdentity", "sessionContext", "sessionIssuer", "arn"],
            )
            .is_some()
        })
        .count();
    assert!(expected > 0);
    assert_eq!(
        table.rows[0][0].as_deref(),
        Some(expected.to_string().as_str())
    );
}

#[test]
fn sql_compares_eventtime_as_text_like_athena() {
    let case = sim_case();
    let cut = "2026-10-02T12:00:00Z";
    let table = query()
        .sql(&format!(
            "SELECT count(*) FROM cloudtrail WHERE eventtime >= '{cut}'"
        ))
        .expect("sql");
    let expected = case
        .records
        .iter()
        .filter(|r| get(r, &["eventTime"]).is_some_and(|t| t >= cut))
        .count();
    assert!(expected > 0 && expected < case.records.len());
    assert_eq!(
        table.rows[0][0].as_deref(),
        Some(expected.to_string().as_str())
    );
}

#[test]
fn bad_sql_is_an_error_with_datafusion_message() {
    let q = query();
    match q.sql("SELEC eventname FROM cloudtrail") {
        Err(QueryError::Sql { message }) => assert!(message.contains("SELEC"), "{message}"),
        other => panic!("expected a SQL error, got {other:?}"),
    }
    match q.sql("SELECT no_such_column FROM cloudtrail") {
        Err(QueryError::Sql { message }) => {
            assert!(message.contains("no_such_column"), "{message}")
        }
        other => panic!("expected a SQL error, got {other:?}"),
    }
    match q.sql("SELECT * FROM no_such_table") {
        Err(QueryError::Sql { message }) => assert!(message.contains("no_such_table"), "{message}"),
        other => panic!("expected a SQL error, got {other:?}"),
    }
    for statement in [
        "DROP TABLE cloudtrail",
        "CREATE TABLE x AS SELECT 1",
        "COPY (SELECT 1) TO '/tmp/firebreak-query-copy.csv'",
    ] {
        match q.sql(statement) {
            Err(QueryError::NotAQuery { .. }) => {}
            other => panic!("{statement}: expected NotAQuery, got {other:?}"),
        }
    }
    // The session still works after the errors.
    let table = q.sql("SELECT count(*) AS n FROM cloudtrail").expect("sql");
    assert_eq!(
        table.rows[0][0].as_deref(),
        Some(sim_case().records.len().to_string().as_str())
    );
}

#[test]
fn findings_table_exists_with_its_columns() {
    let table = query()
        .sql("SELECT rule_id, level, event_id, tags FROM findings")
        .expect("findings table");
    assert_eq!(table.columns, ["rule_id", "level", "event_id", "tags"]);
    assert!(
        !table.is_empty(),
        "the built-in rules fire on the planted scenarios"
    );
    // Every event finding points at a stored event (a join across the two tables).
    let orphans = query()
        .sql(
            "SELECT count(*) FROM findings f LEFT JOIN cloudtrail c ON f.event_id = c.eventid \
             WHERE f.kind = 'event' AND c.eventid IS NULL",
        )
        .expect("join");
    assert_eq!(orphans.rows[0][0].as_deref(), Some("0"));
}

/// Prints the pivots of the simulated case (`cargo test -- --ignored --nocapture show`).
#[test]
#[ignore]
fn show_pivots() {
    let case = sim_case();
    let truth = case.truth("iam-credential-compromise");
    let q = query();
    let print = |title: &str, t: &Table| {
        eprintln!("== {title} ({} rows)\n{:?}", t.len(), t.columns);
        for r in t.rows.iter().take(40) {
            eprintln!("{:?}", r);
        }
    };
    print(
        "timeline key",
        &q.timeline(&TimelineFilter {
            access_key: Some(truth.access_key_id.clone()),
            since: Some(ts(&truth.first)),
            ..Default::default()
        })
        .unwrap(),
    );
    print(
        "resources created by the key's principal",
        &q.resources(&ResourceFilter {
            change: ChangeFilter::Any,
            principal: Some(truth.principal_arn.clone()),
            since: Some(ts(&truth.first)),
            ..Default::default()
        })
        .unwrap(),
    );
    print(
        "anomalies",
        &firebreak_query::anomalies_to_table(
            &q.anomalies(&AnomalyOptions {
                principal: Some(truth.principal_arn.clone()),
                since: Some(ts(&truth.first)),
                ..Default::default()
            })
            .unwrap(),
        ),
    );
    let all = q.anomalies(&AnomalyOptions::default()).unwrap();
    print(
        "anomalies, last 24h, all",
        &firebreak_query::anomalies_to_table(&all),
    );
    print(
        "summary top 3",
        &q.summary(&SummaryFilter {
            top: Some(3),
            ..Default::default()
        })
        .unwrap()
        .to_table(),
    );
    print(
        "resources any",
        &q.resources(&ResourceFilter::default()).unwrap(),
    );
    print("sql", &q.sql("SELECT useridentity.arn, useridentity.sessioncontext.sessionissuer.arn, resources, event_ts, tlsdetails FROM cloudtrail LIMIT 3").unwrap());
}

/// Raw records with `userIdentity.accessKeyId == key`, as (eventTime, eventID).
fn raw_events_of_key(key: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = sim_case()
        .records
        .iter()
        .filter(|r| get(r, &["userIdentity", "accessKeyId"]) == Some(key))
        .map(|r| {
            (
                get(r, &["eventTime"]).unwrap_or_default().to_string(),
                get(r, &["eventID"]).unwrap_or_default().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn timeline_of_the_compromised_key_is_exactly_its_events_in_time_order() {
    let case = sim_case();
    let truth = case.truth("iam-credential-compromise");
    let q = query();
    let table = q
        .timeline(&TimelineFilter {
            access_key: Some(truth.access_key_id.clone()),
            ..TimelineFilter::default()
        })
        .expect("timeline");
    assert_eq!(
        &table.columns[..9],
        firebreak_query::TIMELINE_COLUMNS[..9].to_vec()
    );
    let got: Vec<(String, String)> = table
        .rows
        .iter()
        .map(|r| {
            (
                r[table.column_index("eventtime").unwrap()]
                    .clone()
                    .unwrap_or_default(),
                r[table.column_index("eventid").unwrap()]
                    .clone()
                    .unwrap_or_default(),
            )
        })
        .collect();
    let expected = raw_events_of_key(&truth.access_key_id);
    assert!(expected.len() > 10);
    assert_eq!(got, expected);
    // Every planted event made with the key is there.
    let ids: BTreeSet<&str> = got.iter().map(|(_, id)| id.as_str()).collect();
    let planted_with_key = case
        .records
        .iter()
        .filter(|r| {
            get(r, &["userIdentity", "accessKeyId"]) == Some(truth.access_key_id.as_str())
                && truth
                    .event_ids
                    .iter()
                    .any(|id| Some(id.as_str()) == get(r, &["eventID"]))
        })
        .count();
    assert!(planted_with_key > 0);
    assert!(
        truth
            .event_ids
            .iter()
            .filter(|id| ids.contains(id.as_str()))
            .count()
            >= planted_with_key
    );
    assert!(table
        .column_values("access_key")
        .all(|k| k == Some(truth.access_key_id.as_str())));

    // The window narrows it to the attack.
    let narrowed = q
        .timeline(&TimelineFilter {
            access_key: Some(truth.access_key_id.clone()),
            since: Some(ts(&truth.first)),
            until: Some(ts(&truth.last)),
            ..TimelineFilter::default()
        })
        .expect("timeline");
    let in_window = expected
        .iter()
        .filter(|(t, _)| ts(t) >= ts(&truth.first) && ts(t) <= ts(&truth.last))
        .count();
    assert_eq!(narrowed.len(), in_window);
    assert!(narrowed.len() < table.len() || in_window == expected.len());
}

#[test]
fn timeline_by_ip_and_by_principal_match_the_raw_records() {
    let case = sim_case();
    let truth = case.truth("iam-credential-compromise");
    let q = query();
    let by_ip = q
        .timeline(&TimelineFilter {
            ip: Some(truth.source_ip.clone()),
            ..TimelineFilter::default()
        })
        .expect("timeline");
    let expected = case
        .records
        .iter()
        .filter(|r| get(r, &["sourceIPAddress"]) == Some(truth.source_ip.as_str()))
        .count();
    assert!(expected > 0);
    assert_eq!(by_ip.len(), expected);

    let by_principal = q
        .timeline(&TimelineFilter {
            principal: Some(truth.principal_arn.clone()),
            ..TimelineFilter::default()
        })
        .expect("timeline");
    let expected = case
        .records
        .iter()
        .filter(|r| get(r, &["userIdentity", "arn"]) == Some(truth.principal_arn.as_str()))
        .count();
    assert_eq!(by_principal.len(), expected);
    assert!(by_principal
        .column_values("principal")
        .all(|p| p == Some(truth.principal_arn.as_str())));

    // Root: `root` means the root identity.
    let root = q
        .timeline(&TimelineFilter {
            principal: Some("root".to_string()),
            ..TimelineFilter::default()
        })
        .expect("timeline");
    let expected = case
        .records
        .iter()
        .filter(|r| get(r, &["userIdentity", "type"]) == Some("Root"))
        .count();
    assert!(expected > 0);
    assert_eq!(root.len(), expected);
}

/// Whether a JSON value holds the string `wanted` anywhere.
fn holds_string(value: &Value, wanted: &str) -> bool {
    match value {
        Value::String(s) => s == wanted,
        Value::Array(items) => items.iter().any(|v| holds_string(v, wanted)),
        Value::Object(map) => map.values().any(|v| holds_string(v, wanted)),
        _ => false,
    }
}

#[test]
fn timeline_by_resource_finds_every_event_naming_it() {
    let case = sim_case();
    let wanted = "ops-automation";
    let table = query()
        .timeline(&TimelineFilter {
            resource: Some(wanted.to_string()),
            ..TimelineFilter::default()
        })
        .expect("timeline");
    let expected: BTreeSet<String> = case
        .records
        .iter()
        .filter(|r| {
            ["requestParameters", "responseElements"]
                .iter()
                .any(|k| r.get(k).is_some_and(|v| holds_string(v, wanted)))
                || r.get("resources")
                    .and_then(Value::as_array)
                    .is_some_and(|items| {
                        items.iter().any(|i| {
                            i.get("ARN")
                                .and_then(Value::as_str)
                                .is_some_and(|arn| arn.split([':', '/']).any(|p| p == wanted))
                        })
                    })
        })
        .filter_map(|r| get(r, &["eventID"]).map(str::to_string))
        .collect();
    assert!(expected.len() >= 2, "root creates the user and its key");
    let got: BTreeSet<String> = table
        .column_values("eventid")
        .flatten()
        .map(str::to_string)
        .collect();
    assert_eq!(got, expected);
    let names: BTreeSet<&str> = table.column_values("eventname").flatten().collect();
    assert!(
        names.contains("CreateUser") && names.contains("CreateAccessKey"),
        "{names:?}"
    );
}

#[test]
fn timeline_needs_an_entity() {
    match query().timeline(&TimelineFilter {
        since: Some(ts("2026-10-01T00:00:00Z")),
        ..TimelineFilter::default()
    }) {
        Err(QueryError::MissingParameter { reason, .. }) => assert!(reason.contains("access_key")),
        other => panic!("expected MissingParameter, got {other:?}"),
    }
}

#[test]
fn summary_counts_match_the_raw_records() {
    let case = sim_case();
    let q = query();
    let summary = q.summary(&SummaryFilter::default()).expect("summary");
    assert_eq!(summary.events, case.records.len() as u64);
    let raw_errors = case
        .records
        .iter()
        .filter(|r| get(r, &["errorCode"]).is_some())
        .count() as u64;
    assert_eq!(summary.errors, raw_errors);
    for (dimension, path) in [
        (SummaryDimension::EventName, &["eventName"][..]),
        (SummaryDimension::Service, &["eventSource"][..]),
        (SummaryDimension::SourceIp, &["sourceIPAddress"][..]),
        (
            SummaryDimension::AccessKey,
            &["userIdentity", "accessKeyId"][..],
        ),
        (SummaryDimension::ErrorCode, &["errorCode"][..]),
        (SummaryDimension::Region, &["awsRegion"][..]),
    ] {
        let expected = raw_counts(case.records.iter(), path);
        let got: BTreeMap<String, u64> = summary
            .values(dimension)
            .iter()
            .map(|v| (v.value.clone(), v.count))
            .collect();
        assert_eq!(got, expected, "{dimension:?}");
    }
    // Errors and first/last seen of the compromised key.
    let truth = case.truth("iam-credential-compromise");
    let key = summary
        .values(SummaryDimension::AccessKey)
        .iter()
        .find(|v| v.value == truth.access_key_id)
        .expect("key listed");
    let key_events = raw_events_of_key(&truth.access_key_id);
    let key_errors = case
        .records
        .iter()
        .filter(|r| {
            get(r, &["userIdentity", "accessKeyId"]) == Some(truth.access_key_id.as_str())
                && get(r, &["errorCode"]).is_some()
        })
        .count() as u64;
    assert!(key_errors > 0, "the enumeration burst has AccessDenied");
    assert_eq!(key.errors, key_errors);
    assert_eq!(
        key.first_seen.as_deref(),
        key_events.first().map(|(t, _)| t.as_str())
    );
    assert_eq!(
        key.last_seen.as_deref(),
        key_events.last().map(|(t, _)| t.as_str())
    );

    // Sorted by count, and the table form has one row per value.
    let names = summary.values(SummaryDimension::EventName);
    assert!(names.windows(2).all(|w| w[0].count >= w[1].count));
    let table = summary.to_table();
    assert_eq!(table.columns, firebreak_query::SUMMARY_COLUMNS.to_vec());
    let rows: usize = summary.dimensions.iter().map(|(_, v)| v.len()).sum();
    assert_eq!(table.len(), rows);

    // Limited to a principal and a window.
    let filtered = q
        .summary(&SummaryFilter {
            principal: Some(truth.principal_arn.clone()),
            since: Some(ts(&truth.first)),
            until: Some(ts(&truth.last)),
            top: Some(3),
        })
        .expect("summary");
    let expected = case
        .records
        .iter()
        .filter(|r| {
            get(r, &["userIdentity", "arn"]) == Some(truth.principal_arn.as_str())
                && get(r, &["eventTime"])
                    .is_some_and(|t| ts(t) >= ts(&truth.first) && ts(t) <= ts(&truth.last))
        })
        .count() as u64;
    assert_eq!(filtered.events, expected);
    assert_eq!(filtered.values(SummaryDimension::Principal).len(), 1);
    assert!(filtered.values(SummaryDimension::EventName).len() <= 3);
}

/// `summary` reads the Parquet parts itself; SQL over the same case is the independent
/// count: every dimension's values, counts, errors and first/last seen, with and without
/// the principal and window filters.
#[test]
fn summary_agrees_with_sql_on_every_dimension() {
    let q = query();
    let role = q
        .sql(
            "SELECT useridentity.sessioncontext.sessionissuer.username AS role, count(*) AS n FROM cloudtrail \
             WHERE useridentity.sessioncontext.sessionissuer.username IS NOT NULL GROUP BY 1 ORDER BY n DESC, role LIMIT 1",
        )
        .expect("busiest role");
    let role = role.rows[0][0].clone().expect("a role");
    let since = ts("2026-10-02T00:00:00Z");
    let until = ts("2026-10-03T12:00:00Z");
    let cases = [
        (SummaryFilter::default(), "TRUE".to_string()),
        (
            SummaryFilter {
                principal: Some(role.clone()),
                since: Some(since),
                until: Some(until),
                top: None,
            },
            format!(
                "(useridentity.arn = '{role}' OR useridentity.username = '{role}' \
                 OR useridentity.sessioncontext.sessionissuer.arn = '{role}' \
                 OR useridentity.sessioncontext.sessionissuer.username = '{role}' \
                 OR useridentity.invokedby = '{role}' OR useridentity.principalid = '{role}') \
                 AND CAST(event_ts AS BIGINT) >= {} AND CAST(event_ts AS BIGINT) <= {}",
                since.as_millisecond(),
                until.as_millisecond()
            ),
        ),
        (
            SummaryFilter {
                principal: Some("root".into()),
                ..Default::default()
            },
            "useridentity.type = 'Root'".to_string(),
        ),
    ];
    for (filter, condition) in cases {
        let summary = q.summary(&filter).expect("summary");
        let total = q
            .sql(&format!(
                "SELECT count(*), count(errorcode) FROM cloudtrail WHERE {condition}"
            ))
            .expect("total");
        let cell = |r: usize, c: usize| {
            total.rows[r][c]
                .as_deref()
                .expect("count")
                .parse::<u64>()
                .expect("number")
        };
        assert!(cell(0, 0) > 0, "{condition}: the filter selects events");
        assert_eq!(
            (summary.events, summary.errors),
            (cell(0, 0), cell(0, 1)),
            "{condition}"
        );
        for dimension in SummaryDimension::ALL {
            let expr = match dimension {
                SummaryDimension::Principal => {
                    "coalesce(useridentity.arn, useridentity.invokedby, useridentity.principalid)"
                }
                SummaryDimension::AccessKey => "useridentity.accesskeyid",
                other => other.name(),
            };
            let table = q
                .sql(&format!(
                    "SELECT {expr} AS v, count(*) AS n, count(errorcode) AS e, \
                     CAST(min(event_ts) AS BIGINT) AS f, CAST(max(event_ts) AS BIGINT) AS l \
                     FROM cloudtrail WHERE ({condition}) AND {expr} IS NOT NULL GROUP BY 1"
                ))
                .expect("per-dimension SQL");
            let expected: BTreeMap<String, (u64, u64, i64, i64)> = table
                .rows
                .iter()
                .map(|r| {
                    let n = |i: usize| {
                        r[i].as_deref()
                            .expect("value")
                            .parse::<i64>()
                            .expect("number")
                    };
                    (
                        r[0].clone().expect("value"),
                        (n(1) as u64, n(2) as u64, n(3), n(4)),
                    )
                })
                .collect();
            let got: BTreeMap<String, (u64, u64, i64, i64)> = summary
                .values(dimension)
                .iter()
                .map(|v| {
                    let ms = |t: &Option<String>| ts(t.as_deref().expect("seen")).as_millisecond();
                    (
                        v.value.clone(),
                        (v.count, v.errors, ms(&v.first_seen), ms(&v.last_seen)),
                    )
                })
                .collect();
            assert_eq!(got, expected, "{dimension:?} where {condition}");
        }
    }
}

#[test]
fn resources_created_by_root_include_the_new_user_and_key() {
    let case = sim_case();
    let table = query()
        .resources(&ResourceFilter {
            change: ChangeFilter::Created,
            principal: Some("root".to_string()),
            ..ResourceFilter::default()
        })
        .expect("resources");
    assert_eq!(table.columns, firebreak_query::RESOURCES_COLUMNS.to_vec());
    let find = |name: &str| {
        table
            .rows
            .iter()
            .find(|r| r[5].as_deref() == Some(name))
            .unwrap_or_else(|| panic!("{name} missing from {:?}", table.rows))
    };
    let user = find("CreateUser");
    assert_eq!(user[2].as_deref(), Some("ops-automation"));
    assert_eq!(user[3].as_deref(), Some("iam:user"));
    assert_eq!(user[1].as_deref(), Some("created"));
    let key = find("CreateAccessKey");
    assert_eq!(key[3].as_deref(), Some("iam:access-key"));
    let new_key = case
        .records
        .iter()
        .find(|r| {
            get(r, &["eventName"]) == Some("CreateAccessKey")
                && get(r, &["userIdentity", "type"]) == Some("Root")
        })
        .and_then(|r| get(r, &["responseElements", "accessKey", "accessKeyId"]))
        .expect("raw key");
    assert_eq!(key[2].as_deref(), Some(new_key));
    assert!(table.column_values("change").all(|c| c == Some("created")));
    assert!(table
        .column_values("principal")
        .all(|p| p.is_some_and(|p| p.ends_with(":root"))));
}

#[test]
fn resources_of_the_amazon_q_abuse_cover_every_create_and_delete() {
    let case = sim_case();
    let truth = case.truth("amazon-q-abuse");
    let table = query()
        .resources(&ResourceFilter {
            change: ChangeFilter::Any,
            event_source: Some("qbusiness.amazonaws.com".to_string()),
            since: Some(ts(&truth.first)),
            ..ResourceFilter::default()
        })
        .expect("resources");
    let expected: BTreeSet<String> = case
        .records
        .iter()
        .filter(|r| {
            get(r, &["eventSource"]) == Some("qbusiness.amazonaws.com")
                && get(r, &["errorCode"]).is_none()
                && get(r, &["eventTime"]).is_some_and(|t| ts(t) >= ts(&truth.first))
                && get(r, &["eventName"]).is_some_and(|n| {
                    ["Create", "Delete", "Update", "BatchPut"]
                        .iter()
                        .any(|p| n.starts_with(p))
                })
        })
        .filter_map(|r| get(r, &["eventID"]).map(str::to_string))
        .collect();
    assert!(expected.len() >= 3);
    let got: BTreeSet<String> = table
        .column_values("eventid")
        .flatten()
        .map(str::to_string)
        .collect();
    assert!(
        expected.is_subset(&got),
        "missing: {:?}",
        expected.difference(&got).collect::<Vec<_>>()
    );
    let changes: BTreeSet<&str> = table.column_values("change").flatten().collect();
    assert!(
        changes.contains("created") && changes.contains("deleted"),
        "{changes:?}"
    );
    // Created applications are named by their id, typed.
    assert!(table
        .rows
        .iter()
        .any(|r| r[5].as_deref() == Some("CreateApplication")
            && r[3].as_deref() == Some("qbusiness:application")
            && r[2].is_some()));
}

#[test]
fn anomalies_report_the_attackers_ip_and_user_agent() {
    let case = sim_case();
    let truth = case.truth("iam-credential-compromise");
    let q = query();
    let opts = AnomalyOptions {
        principal: Some(truth.principal_arn.clone()),
        since: Some(ts(&truth.first)),
        until: Some(ts(&truth.last)),
        ..AnomalyOptions::default()
    };
    let found = q.anomalies(&opts).expect("anomalies");
    let has = |kind: AnomalyKind, value: &str| {
        found
            .iter()
            .any(|a| a.kind == kind && a.value == value && a.principal == truth.principal_arn)
    };
    assert!(
        has(AnomalyKind::NewSourceIp, &truth.source_ip),
        "{found:#?}"
    );
    assert!(
        has(AnomalyKind::NewUserAgent, &truth.user_agent),
        "{found:#?}"
    );
    let ip = found
        .iter()
        .find(|a| a.kind == AnomalyKind::NewSourceIp && a.value == truth.source_ip)
        .expect("ip");
    assert!(
        ip.baseline_events > 0,
        "the developer worked before the attack"
    );
    assert!(
        ip.compared_with.contains("baseline"),
        "{}",
        ip.compared_with
    );
    let raw_from_ip = case
        .records
        .iter()
        .filter(|r| {
            get(r, &["sourceIPAddress"]) == Some(truth.source_ip.as_str())
                && get(r, &["userIdentity", "arn"]) == Some(truth.principal_arn.as_str())
                && get(r, &["eventTime"])
                    .is_some_and(|t| ts(t) >= ts(&truth.first) && ts(t) <= ts(&truth.last))
        })
        .count() as u64;
    assert_eq!(ip.count, raw_from_ip);
    // None of the principal's baseline IPs is reported.
    let baseline_ips: BTreeSet<&str> = case
        .records
        .iter()
        .filter(|r| {
            get(r, &["userIdentity", "arn"]) == Some(truth.principal_arn.as_str())
                && get(r, &["eventTime"]).is_some_and(|t| ts(t) < ts(&truth.first))
        })
        .filter_map(|r| get(r, &["sourceIPAddress"]))
        .collect();
    assert!(!baseline_ips.is_empty());
    assert!(found
        .iter()
        .filter(|a| a.kind == AnomalyKind::NewSourceIp)
        .all(|a| !baseline_ips.contains(a.value.as_str())));

    // Over every principal, the routine ones stay quiet.
    let all = q
        .anomalies(&AnomalyOptions {
            principal: None,
            ..opts.clone()
        })
        .expect("anomalies");
    let planted: BTreeSet<&str> = case
        .truth
        .iter()
        .map(|t| t.principal_arn.as_str())
        .collect();
    let routine_ips: Vec<_> = all
        .iter()
        .filter(|a| a.kind == AnomalyKind::NewSourceIp && !planted.contains(a.principal.as_str()))
        .collect();
    eprintln!("routine new IPs: {}", routine_ips.len());
    assert!(all
        .iter()
        .any(|a| a.principal == truth.principal_arn && a.value == truth.source_ip));
    assert!(routine_ips.len() <= 5, "{routine_ips:#?}");
}

#[test]
fn named_queries_take_the_playbook_parameters() {
    let case = sim_case();
    let truth = case.truth("iam-credential-compromise");
    let q = query();
    let params = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let timeline = q
        .run_named(
            "timeline",
            &params(&[("access_key", &truth.access_key_id), ("since", "")]),
        )
        .expect("timeline");
    assert_eq!(
        timeline.len(),
        raw_events_of_key(&truth.access_key_id).len()
    );
    let summary = q
        .run_named("summary", &params(&[("since", "2026-10-01")]))
        .expect("summary");
    assert_eq!(summary.columns, firebreak_query::SUMMARY_COLUMNS.to_vec());
    let resources = q
        .run_named(
            "resources",
            &params(&[("change", "created"), ("principal", "root")]),
        )
        .expect("resources");
    assert!(resources
        .column_values("resource")
        .any(|r| r == Some("ops-automation")));
    let anomalies = q
        .run_named(
            "anomalies",
            &params(&[
                ("principal", &truth.principal_arn),
                ("since", &truth.first),
                ("baseline_days", "3"),
            ]),
        )
        .expect("anomalies");
    assert_eq!(anomalies.columns, firebreak_query::ANOMALY_COLUMNS.to_vec());
    assert!(anomalies
        .column_values("value")
        .any(|v| v == Some(truth.source_ip.as_str())));
    let sql = q
        .run_named(
            "sql",
            &params(&[("sql", "SELECT count(*) AS n FROM cloudtrail")]),
        )
        .expect("sql");
    assert_eq!(
        sql.rows[0][0].as_deref(),
        Some(case.records.len().to_string().as_str())
    );

    let err = q
        .run_named("timeline", &params(&[("acces_key", "x")]))
        .unwrap_err();
    assert!(err.to_string().contains("acces_key"), "{err}");
    let err = q.run_named("resources", &params(&[])).unwrap_err();
    assert!(err.to_string().contains("change"), "{err}");
    let err = q
        .run_named("resources", &params(&[("change", "stolen")]))
        .unwrap_err();
    assert!(err.to_string().contains("stolen"), "{err}");
    let err = q
        .run_named(
            "timeline",
            &params(&[("ip", "1.2.3.4"), ("since", "last tuesday")]),
        )
        .unwrap_err();
    assert!(err.to_string().contains("last tuesday"), "{err}");
    let err = q.run_named("pivot", &params(&[])).unwrap_err();
    assert!(matches!(err, QueryError::UnknownQuery { .. }), "{err}");
}

#[test]
fn an_empty_case_has_empty_tables_not_errors() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = firebreak_store::CaseStore::create(&firebreak_evidence::CaseLocation {
        name: "empty".to_string(),
        dir: dir.path().join("empty"),
    })
    .expect("create");
    let q = CaseQuery::open(&store).expect("open");
    assert_eq!(q.event_parts(), 0);
    let count = q.sql("SELECT count(*) AS n FROM cloudtrail").expect("sql");
    assert_eq!(count.rows, vec![vec![Some("0".to_string())]]);
    let arns = q
        .sql("SELECT useridentity.arn, eventname FROM cloudtrail WHERE eventtime >= '2026-10-01T00:00:00Z'")
        .expect("sql");
    assert_eq!(arns.columns, ["useridentity.arn", "eventname"]);
    assert!(arns.is_empty());
    assert!(q
        .sql("SELECT rule_id FROM findings")
        .expect("findings")
        .is_empty());
    let timeline = q
        .timeline(&TimelineFilter {
            access_key: Some("AKIAEXAMPLE".to_string()),
            ..TimelineFilter::default()
        })
        .expect("timeline");
    assert!(timeline.is_empty());
    assert_eq!(timeline.columns, firebreak_query::TIMELINE_COLUMNS.to_vec());
    let summary = q.summary(&SummaryFilter::default()).expect("summary");
    assert_eq!(summary.events, 0);
    assert!(summary.to_table().is_empty());
    assert!(q
        .resources(&ResourceFilter::default())
        .expect("resources")
        .is_empty());
    assert!(q
        .anomalies(&AnomalyOptions::default())
        .expect("anomalies")
        .is_empty());
}

#[test]
fn an_unreadable_part_is_skipped_and_named() {
    let case = sim_case();
    let dir = tempfile::tempdir().expect("temp dir");
    let copy = dir.path().join("case");
    std::fs::create_dir_all(copy.join("events")).expect("mkdir");
    std::fs::copy(case.case_dir.join("case.json"), copy.join("case.json")).expect("copy case.json");
    let mut copied = 0;
    for entry in std::fs::read_dir(case.case_dir.join("events")).expect("list") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "parquet") {
            std::fs::copy(
                &path,
                copy.join("events").join(path.file_name().expect("name")),
            )
            .expect("copy");
            copied += 1;
        }
    }
    let bad = copy
        .join("events")
        .join("part-20261122T000000ffff-00000.parquet");
    std::fs::write(&bad, b"PAR1 this is not a parquet file").expect("write");
    let q = CaseQuery::open_dir(&copy).expect("open");
    assert_eq!(q.event_parts(), copied);
    assert_eq!(q.skipped_parts().len(), 1);
    assert_eq!(q.skipped_parts()[0].path, bad);
    assert!(q.skipped_parts()[0]
        .to_string()
        .contains("part-20261122T000000ffff-00000.parquet"));
    // The other parts are all there.
    let n = q.sql("SELECT count(*) FROM cloudtrail").expect("sql");
    assert_eq!(
        n.rows[0][0].as_deref(),
        Some(case.records.len().to_string().as_str())
    );
}

/// The `sql` parameters of every shipped playbook, with their file.
fn playbook_sql() -> Vec<(String, String)> {
    fn walk(value: &yaml_serde::Value, file: &str, out: &mut Vec<(String, String)>) {
        match value {
            yaml_serde::Value::Mapping(map) => {
                for (key, inner) in map {
                    if key.as_str() == Some("sql") {
                        if let Some(text) = inner.as_str() {
                            out.push((file.to_string(), text.to_string()));
                            continue;
                        }
                    }
                    walk(inner, file, out);
                }
            }
            yaml_serde::Value::Sequence(items) => {
                for item in items {
                    walk(item, file, out);
                }
            }
            _ => {}
        }
    }
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../playbooks");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("playbooks folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read playbook");
        let value: yaml_serde::Value = yaml_serde::from_str(&text).expect("playbook YAML");
        walk(&value, &file.display().to_string(), &mut out);
    }
    out
}

/// Replaces every `${name}` with `values[name]`.
fn substitute(sql: &str, values: &BTreeMap<&str, String>) -> String {
    let mut out = String::new();
    let mut rest = sql;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}').expect("closed placeholder");
        let name = &after[..end];
        let value = values
            .get(name)
            .unwrap_or_else(|| panic!("no test value for ${{{name}}}"));
        out.push_str(value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

#[test]
fn every_playbook_sql_runs_on_a_simulated_case() {
    let case = sim_case();
    let exposure = case.truth("s3-exposure");
    let bucket = case
        .records
        .iter()
        .filter(|r| {
            exposure
                .event_ids
                .iter()
                .any(|id| Some(id.as_str()) == get(r, &["eventID"]))
        })
        .find_map(|r| get(r, &["requestParameters", "bucketName"]))
        .expect("exposed bucket")
        .to_string();
    let instance_arn = case
        .records
        .iter()
        .filter_map(|r| get(r, &["userIdentity", "arn"]))
        .find(|arn| {
            arn.contains(":assumed-role/")
                && arn.rsplit('/').next().is_some_and(|s| s.starts_with("i-"))
        })
        .unwrap_or("arn:aws:sts::111111111111:assumed-role/app-role/i-0123456789abcdef0")
        .to_string();
    let mut parts = instance_arn.rsplit('/');
    let instance_id = parts.next().unwrap_or_default().to_string();
    let instance_role = parts.next().unwrap_or_default().to_string();
    let values: BTreeMap<&str, String> = [
        ("incident_start", "2026-10-01T00:00:00Z".to_string()),
        ("bucket", bucket),
        ("instance_id", instance_id),
        ("instance_role", instance_role),
    ]
    .into_iter()
    .collect();
    let statements = playbook_sql();
    assert!(statements.len() >= 10, "found {}", statements.len());
    let q = query();
    let mut with_rows = 0;
    for (file, sql) in &statements {
        let sql = substitute(sql, &values);
        let table = q.sql(&sql).unwrap_or_else(|e| panic!("{file}: {e}\n{sql}"));
        assert!(!table.columns.is_empty());
        if !table.is_empty() {
            with_rows += 1;
        }
    }
    // The planted scenarios give most of them something to find.
    assert!(
        with_rows * 2 >= statements.len(),
        "{with_rows} of {} returned rows",
        statements.len()
    );
}
