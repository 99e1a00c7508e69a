//! Translation of compiled single-event rules into SQL over the `cloudtrail` table
//! (Athena's CloudTrail columns, as `firebreak export --parquet` writes them), for
//! Athena (Trino), Spark (4.0 or later: JSON sub-fields use the `VARIANT` functions)
//! and DuckDB.
//!
//! Each rule becomes one boolean expression that holds exactly when
//! [`crate::RuleSet::match_event`] reports the rule, within the limits listed below.
//! A rule that cannot be translated faithfully is skipped with the reason (never
//! translated approximately).
//!
//! # Fields
//! - Top-level CloudTrail fields map to their lower-case columns (`eventName` ->
//!   `eventname`). Field names are case-sensitive, as in the engine.
//! - `userIdentity.*` and `tlsDetails.*` map to the struct members
//!   (`useridentity.sessioncontext.sessionissuer.type`); `tlsDetails.clientProvidedHostHeader`
//!   is `tlsdetails.clienthostheader`. Asking for a whole struct is skipped.
//! - `resources.ARN`, `resources.accountId`, `resources.type` test every element of
//!   `resources`.
//! - `requestParameters`, `responseElements`, `additionalEventData`,
//!   `serviceEventDetails`, `addendum`, `edgeDeviceDetails` hold JSON text: sub-fields
//!   are extracted from the parsed JSON, fanning out through arrays met along the path
//!   and testing a terminal array as a whole and element by element, like the engine.
//!   Objects and arrays compare as their JSON text and that text with the escapes
//!   `\" \\ \/ \n \r \t \b \f` decoded.
//! - Any other field is not a column: the rule is skipped.
//!
//! # Known differences from the engine
//! - Absent and JSON `null` are the same for plain and struct columns (both SQL
//!   `NULL`), so `|exists: true` on such a column does not see a key whose value is
//!   `null`. Inside JSON text the two are told apart.
//! - Arrays of arrays along a JSON path fan out one level only; a rule field that is
//!   absent as a path is not retried as one literal dotted key.
//! - Case-insensitive comparisons use SQL `lower()` (Unicode) where the engine folds
//!   ASCII only; `\uXXXX` escapes inside objects are not decoded; numbers inside JSON
//!   text compare as the SQL engine prints them (`1.50` may read `1.5`).
//! - Spark re-serialises JSON objects with their keys sorted, so an object compared
//!   as text (not its members) may read differently there.
//! - `|re` runs on the SQL engine's regex library (Java for Athena/Spark, RE2 for
//!   DuckDB); the common syntax is the same, corner cases (`$` before a final newline,
//!   Unicode `\d`) are not.
//! - `|cidr` with an IPv6 network is only translated for Athena.
//!
//! # Queries
//! [`matches_query`] reads the table once and returns `(rule_id, eventid, eventtime)`
//! per match; for the built-in pack it is about 80 KB of SQL (Athena accepts up to
//! 256 KB per query). [`render_script`] prints one commented `SELECT` per rule.
//! `tests/sql/run_sql.py` runs a query on DuckDB or Spark over CloudTrail JSON lines
//! (it builds the table) and is what the equivalence tests use.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::str::FromStr;

use crate::compile::{
    Anchor, Cidr, Detection, FieldMatcher, NumOp, Search, StrMatch, StrPattern, ValueTest,
};
use crate::condition::Condition;
use crate::rule::{Level, RuleKind};
use crate::RuleSet;

/// The SQL engine a query is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SqlDialect {
    /// Amazon Athena (engine v3, Trino SQL).
    Athena,
    /// Apache Spark SQL, 4.0 or later.
    Spark,
    /// DuckDB, 1.3 or later.
    DuckDb,
}

impl SqlDialect {
    /// The name used on the command line (`athena`, `spark`, `duckdb`).
    pub fn as_str(self) -> &'static str {
        match self {
            SqlDialect::Athena => "athena",
            SqlDialect::Spark => "spark",
            SqlDialect::DuckDb => "duckdb",
        }
    }

    /// `text` as an SQL string literal of this dialect (quotes and, for Spark,
    /// backslashes escaped), so that no rule value can end the literal.
    pub fn string_literal(self, text: &str) -> String {
        let mut out = String::with_capacity(text.len() + 2);
        out.push('\'');
        for c in text.chars() {
            match (self, c) {
                (SqlDialect::Spark, '\\') => out.push_str("\\\\"),
                (SqlDialect::Spark, '\'') => out.push_str("\\'"),
                (_, '\'') => out.push_str("''"),
                (_, c) => out.push(c),
            }
        }
        out.push('\'');
        out
    }
}

impl std::fmt::Display for SqlDialect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A dialect name that is not `athena`, `spark` or `duckdb`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown SQL dialect '{0}' (expected athena, spark or duckdb)")]
pub struct UnknownDialect(pub String);

impl FromStr for SqlDialect {
    type Err = UnknownDialect;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "athena" | "trino" | "presto" => Ok(SqlDialect::Athena),
            "spark" | "sparksql" | "databricks" => Ok(SqlDialect::Spark),
            "duckdb" => Ok(SqlDialect::DuckDb),
            _ => Err(UnknownDialect(s.to_string())),
        }
    }
}

/// A rule translated to SQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlRule {
    /// The rule's `id` (its title when it has none).
    pub rule_id: String,
    /// The rule's `title`.
    pub title: String,
    /// The rule's level.
    pub level: Level,
    /// A boolean SQL expression over the `cloudtrail` columns; never `NULL`.
    pub condition: String,
    /// The dialect `condition` is written in.
    pub dialect: SqlDialect,
}

/// A rule left out of the SQL, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlSkip {
    /// The rule's `id` (its title when it has none).
    pub rule_id: String,
    /// The rule's `title`.
    pub title: String,
    /// Why it cannot be expressed (faithfully) as one SQL condition.
    pub reason: String,
}

/// Translates every rule of `rules` that [`RuleSet::match_event`] can report.
/// Correlations, base rules of `generate: false` correlations, keyword searches and
/// fields that are not columns of the table are skipped with a reason.
pub fn compile_rules(rules: &RuleSet, dialect: SqlDialect) -> (Vec<SqlRule>, Vec<SqlSkip>) {
    let mut compiled = Vec::new();
    let mut skipped = Vec::new();
    for (idx, meta) in rules.rules().iter().enumerate() {
        let rule_id = if meta.id.trim().is_empty() {
            meta.title.clone()
        } else {
            meta.id.clone()
        };
        let skip = |reason: String| SqlSkip {
            rule_id: rule_id.clone(),
            title: meta.title.clone(),
            reason,
        };
        if let RuleKind::Correlation(c) = &meta.kind {
            skipped.push(skip(format!(
                "{} correlation: it counts matches over a time window, not one event",
                c.kind.as_str()
            )));
            continue;
        }
        if !meta.generate {
            skipped.push(skip(
                "base rule of a correlation with generate: false (no findings of its own)".into(),
            ));
            continue;
        }
        let Some(detection) = rules.detection(idx) else {
            skipped.push(skip("the rule has no compiled detection".into()));
            continue;
        };
        match detection_condition(detection, dialect) {
            Ok(condition) => compiled.push(SqlRule {
                rule_id,
                title: meta.title.clone(),
                level: meta.level,
                condition,
                dialect,
            }),
            Err(reason) => skipped.push(skip(reason)),
        }
    }
    (compiled, skipped)
}

/// The boolean SQL expression of one compiled detection, or why there is none.
pub fn detection_condition(detection: &Detection, dialect: SqlDialect) -> Result<String, String> {
    let mut gen = Gen { dialect, vars: 0 };
    let mut searches = Vec::with_capacity(detection.searches.len());
    for (i, search) in detection.searches.iter().enumerate() {
        let name = detection.names.get(i).map(String::as_str).unwrap_or("?");
        searches.push(
            gen.search(search)
                .map_err(|e| format!("search identifier '{name}': {e}"))?,
        );
    }
    condition_sql(&detection.condition, &searches)
}

/// One query returning `rule_id`, `eventid` and `eventtime` for every match of every
/// rule, reading `table` (an identifier, inserted as given) once: each row gets the
/// array of the ids of the rules whose condition holds (`CASE WHEN <condition> THEN
/// '<id>' END`), which is unnested. The rules must all be of one dialect (that of the
/// first rule). With no rules, a query with the same columns and no rows.
pub fn matches_query(rules: &[SqlRule], table: &str) -> String {
    let Some(first) = rules.first() else {
        return format!("SELECT '' AS rule_id, eventid, eventtime FROM {table} WHERE 1 = 0\n");
    };
    let dialect = first.dialect;
    let cases: Vec<String> = rules
        .iter()
        .map(|rule| {
            format!(
                "    CASE WHEN {} THEN {} END",
                rule.condition,
                dialect.string_literal(&rule.rule_id)
            )
        })
        .collect();
    let cases = cases.join(",\n");
    match dialect {
        SqlDialect::Athena => format!(
            "SELECT m.rule_id, t.eventid, t.eventtime\nFROM (SELECT eventid, eventtime, ARRAY[\n{cases}\n  ] AS rule_ids FROM {table}) AS t\nCROSS JOIN UNNEST(t.rule_ids) AS m(rule_id)\nWHERE m.rule_id IS NOT NULL\n"
        ),
        SqlDialect::Spark => format!(
            "SELECT rule_id, eventid, eventtime\nFROM (SELECT eventid, eventtime, explode(array(\n{cases}\n  )) AS rule_id FROM {table}) AS t\nWHERE rule_id IS NOT NULL\n"
        ),
        SqlDialect::DuckDb => format!(
            "SELECT rule_id, eventid, eventtime\nFROM (SELECT eventid, eventtime, unnest([\n{cases}\n  ]) AS rule_id FROM {table}) AS t\nWHERE rule_id IS NOT NULL\n"
        ),
    }
}

fn comment_text(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// A commented SQL script: a header, the skipped rules with their reasons, then one
/// `SELECT` per rule returning the rule id, title, level and the matching rows.
pub fn render_script(
    rules: &[SqlRule],
    skipped: &[SqlSkip],
    dialect: SqlDialect,
    table: &str,
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "-- firebreak rules compiled to SQL ({dialect}) over table {}",
        comment_text(table)
    );
    let _ = writeln!(
        out,
        "-- {} rules compiled, {} skipped. Each query returns the rows one rule matches.",
        rules.len(),
        skipped.len()
    );
    if !skipped.is_empty() {
        out.push_str("--\n-- Skipped:\n");
        for s in skipped {
            let _ = writeln!(
                out,
                "--   {} ({}): {}",
                comment_text(&s.title),
                comment_text(&s.rule_id),
                comment_text(&s.reason)
            );
        }
    }
    for rule in rules {
        let _ = writeln!(
            out,
            "\n-- {} [{}]\n-- id: {}",
            comment_text(&rule.title),
            rule.level,
            comment_text(&rule.rule_id)
        );
        let _ = writeln!(
            out,
            "SELECT {} AS rule_id, {} AS rule_title, '{}' AS level, *\nFROM {table}\nWHERE {};",
            rule.dialect.string_literal(&rule.rule_id),
            rule.dialect.string_literal(&rule.title),
            rule.level,
            rule.condition
        );
    }
    out
}

// ---------------------------------------------------------------------------
// Conditions

fn condition_sql(condition: &Condition, searches: &[String]) -> Result<String, String> {
    let search = |i: usize| {
        searches
            .get(i)
            .cloned()
            .ok_or_else(|| format!("condition refers to search identifier #{i}, which is missing"))
    };
    let join = |parts: Vec<String>, op: &str, empty: &str| {
        if parts.is_empty() {
            empty.to_string()
        } else if parts.len() == 1 {
            parts.into_iter().next().unwrap_or_default()
        } else {
            format!("({})", parts.join(&format!(" {op} ")))
        }
    };
    Ok(match condition {
        Condition::Search(i) => search(*i)?,
        Condition::Not(c) => format!("NOT {}", condition_sql(c, searches)?),
        Condition::And(cs) => join(
            cs.iter()
                .map(|c| condition_sql(c, searches))
                .collect::<Result<_, _>>()?,
            "AND",
            "TRUE",
        ),
        Condition::Or(cs) => join(
            cs.iter()
                .map(|c| condition_sql(c, searches))
                .collect::<Result<_, _>>()?,
            "OR",
            "FALSE",
        ),
        Condition::AtLeast(n, ids) if *n <= 1 => join(
            ids.iter().map(|&i| search(i)).collect::<Result<_, _>>()?,
            "OR",
            "FALSE",
        ),
        Condition::AtLeast(n, ids) if *n > ids.len() => "FALSE".to_string(),
        Condition::AtLeast(n, ids) => {
            let terms: Vec<String> = ids
                .iter()
                .map(|&i| search(i).map(|s| format!("CASE WHEN {s} THEN 1 ELSE 0 END")))
                .collect::<Result<_, _>>()?;
            format!("({}) >= {n}", terms.join(" + "))
        }
        Condition::AllOf(ids) => join(
            ids.iter().map(|&i| search(i)).collect::<Result<_, _>>()?,
            "AND",
            "TRUE",
        ),
    })
}

// ---------------------------------------------------------------------------
// Fields

/// Where a rule field lives in the table.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    /// A nullable text expression (a column or a struct member).
    Text(String),
    /// A column holding JSON text, compared as a whole.
    JsonWhole(&'static str),
    /// A sub-field of a JSON-text column.
    JsonPath(&'static str, Vec<String>),
    /// A member of every element of `resources`.
    Resources(&'static str),
}

const TEXT_COLUMNS: &[(&str, &str)] = &[
    ("eventVersion", "eventversion"),
    ("eventTime", "eventtime"),
    ("eventSource", "eventsource"),
    ("eventName", "eventname"),
    ("awsRegion", "awsregion"),
    ("sourceIPAddress", "sourceipaddress"),
    ("userAgent", "useragent"),
    ("errorCode", "errorcode"),
    ("errorMessage", "errormessage"),
    ("requestID", "requestid"),
    ("eventID", "eventid"),
    ("eventType", "eventtype"),
    ("apiVersion", "apiversion"),
    ("readOnly", "readonly"),
    ("recipientAccountId", "recipientaccountid"),
    ("sharedEventID", "sharedeventid"),
    ("vpcEndpointId", "vpcendpointid"),
    ("vpcEndpointAccountId", "vpcendpointaccountid"),
    ("eventCategory", "eventcategory"),
    (
        "sessionCredentialFromConsole",
        "sessioncredentialfromconsole",
    ),
];

const JSON_COLUMNS: &[(&str, &str)] = &[
    ("requestParameters", "requestparameters"),
    ("responseElements", "responseelements"),
    ("additionalEventData", "additionaleventdata"),
    ("serviceEventDetails", "serviceeventdetails"),
    ("addendum", "addendum"),
    ("edgeDeviceDetails", "edgedevicedetails"),
];

/// A struct member: JSON name, column name, and its members when it is a struct.
struct Member {
    json: &'static str,
    col: &'static str,
    members: &'static [Member],
}

const fn leaf(json: &'static str, col: &'static str) -> Member {
    Member {
        json,
        col,
        members: &[],
    }
}

const fn node(json: &'static str, col: &'static str, members: &'static [Member]) -> Member {
    Member { json, col, members }
}

const ATTRIBUTES: &[Member] = &[
    leaf("mfaAuthenticated", "mfaauthenticated"),
    leaf("creationDate", "creationdate"),
];
const SESSION_ISSUER: &[Member] = &[
    leaf("type", "type"),
    leaf("principalId", "principalid"),
    leaf("arn", "arn"),
    leaf("accountId", "accountid"),
    leaf("userName", "username"),
];
const SESSION_CONTEXT: &[Member] = &[
    node("attributes", "attributes", ATTRIBUTES),
    node("sessionIssuer", "sessionissuer", SESSION_ISSUER),
    leaf("sourceIdentity", "sourceidentity"),
    leaf("ec2RoleDelivery", "ec2roledelivery"),
];
const ON_BEHALF_OF: &[Member] = &[
    leaf("userId", "userid"),
    leaf("identityStoreArn", "identitystorearn"),
];
const USER_IDENTITY: &[Member] = &[
    leaf("type", "type"),
    leaf("principalId", "principalid"),
    leaf("arn", "arn"),
    leaf("accountId", "accountid"),
    leaf("invokedBy", "invokedby"),
    leaf("accessKeyId", "accesskeyid"),
    leaf("userName", "username"),
    node("sessionContext", "sessioncontext", SESSION_CONTEXT),
    node("onBehalfOf", "onbehalfof", ON_BEHALF_OF),
    leaf("identityStoreArn", "identitystorearn"),
    leaf("credentialId", "credentialid"),
];
const TLS_DETAILS: &[Member] = &[
    leaf("tlsVersion", "tlsversion"),
    leaf("cipherSuite", "ciphersuite"),
    leaf("clientProvidedHostHeader", "clienthostheader"),
];
const STRUCT_COLUMNS: &[Member] = &[
    node("userIdentity", "useridentity", USER_IDENTITY),
    node("tlsDetails", "tlsdetails", TLS_DETAILS),
];
const RESOURCE_MEMBERS: &[(&str, &str)] =
    &[("ARN", "arn"), ("accountId", "accountid"), ("type", "type")];

/// Where the rule field `name` (as written in the rule) lives in the table.
fn resolve(name: &str) -> Result<Source, String> {
    let segments: Vec<&str> = name.split('.').collect();
    let (first, rest) = match segments.split_first() {
        Some((first, rest)) => (*first, rest),
        None => return Err(format!("field '{name}' is empty")),
    };
    let find = |table: &[(&'static str, &'static str)]| {
        table
            .iter()
            .find(|(json, _)| *json == first)
            .map(|(_, col)| *col)
    };
    if let Some(col) = find(TEXT_COLUMNS) {
        if !rest.is_empty() {
            return Err(format!(
                "field '{name}': {first} is text and has no members (column {col})"
            ));
        }
        return Ok(Source::Text(col.to_string()));
    }
    if let Some(col) = find(JSON_COLUMNS) {
        if rest.is_empty() {
            return Ok(Source::JsonWhole(col));
        }
        for seg in rest {
            if seg.is_empty() || seg.contains(['"', '\'', '\\', '[', ']', '$', '*']) {
                return Err(format!(
                    "field '{name}': member name '{seg}' cannot be written as a JSON path"
                ));
            }
        }
        return Ok(Source::JsonPath(
            col,
            rest.iter().map(|s| s.to_string()).collect(),
        ));
    }
    if first == "resources" {
        return match rest {
            [member] => RESOURCE_MEMBERS
                .iter()
                .find(|(json, _)| json == member)
                .map(|(_, col)| Source::Resources(col))
                .ok_or_else(|| {
                    format!("field '{name}': resources elements only have ARN, accountId and type")
                }),
            [] => Err(format!(
                "field '{name}': the resources list as a whole is not available as JSON text"
            )),
            _ => Err(format!(
                "field '{name}': resources members (ARN, accountId, type) have no members"
            )),
        };
    }
    let Some(top) = STRUCT_COLUMNS.iter().find(|m| m.json == first) else {
        return Err(format!(
            "field '{name}' is not a column of the cloudtrail table"
        ));
    };
    let mut expr = top.col.to_string();
    let mut members = top.members;
    for seg in rest {
        if members.is_empty() {
            return Err(format!("field '{name}': {expr} is text and has no members"));
        }
        let Some(member) = members.iter().find(|m| m.json == *seg) else {
            return Err(format!(
                "field '{name}': '{seg}' is not a member of the {expr} struct column"
            ));
        };
        expr.push('.');
        expr.push_str(member.col);
        members = member.members;
    }
    if !members.is_empty() {
        return Err(format!(
            "field '{name}' is the struct {expr}, which is not available as JSON text"
        ));
    }
    Ok(Source::Text(expr))
}

// ---------------------------------------------------------------------------
// Expressions

/// Which texts of a field value a test looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Texts {
    /// Strings, numbers, booleans, and objects/arrays as JSON text raw and decoded
    /// (plain, wildcard, contains..., `|re`).
    Compare,
    /// Strings, numbers and booleans only (`|cidr`, `|gt`...).
    Scalars,
    /// Strings, numbers, booleans, and objects/arrays as JSON text (`|fieldref`).
    AsText,
}

const IPV4_OCTET: &str = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])";

struct Gen {
    dialect: SqlDialect,
    vars: u32,
}

impl Gen {
    fn lit(&self, text: &str) -> String {
        self.dialect.string_literal(text)
    }

    fn var(&mut self) -> String {
        self.vars += 1;
        format!("v{}", self.vars)
    }

    fn lambda(&self, var: &str, body: &str) -> String {
        match self.dialect {
            SqlDialect::DuckDb => format!("lambda {var}: {body}"),
            _ => format!("{var} -> {body}"),
        }
    }

    fn transform(&self, list: &str, var: &str, body: &str) -> String {
        let f = match self.dialect {
            SqlDialect::DuckDb => "list_transform",
            _ => "transform",
        };
        format!("{f}({list}, {})", self.lambda(var, body))
    }

    fn filter(&self, list: &str, var: &str, body: &str) -> String {
        let f = match self.dialect {
            SqlDialect::DuckDb => "list_filter",
            _ => "filter",
        };
        format!("{f}({list}, {})", self.lambda(var, body))
    }

    fn array1(&self, item: &str) -> String {
        match self.dialect {
            SqlDialect::Athena => format!("ARRAY[{item}]"),
            SqlDialect::Spark => format!("array({item})"),
            SqlDialect::DuckDb => format!("[{item}]"),
        }
    }

    fn array_of(&self, items: &[String]) -> String {
        let items = items.join(", ");
        match self.dialect {
            SqlDialect::Athena => format!("ARRAY[{items}]"),
            SqlDialect::Spark => format!("array({items})"),
            SqlDialect::DuckDb => format!("[{items}]"),
        }
    }

    fn concat(&self, a: &str, b: &str) -> String {
        match self.dialect {
            SqlDialect::DuckDb => format!("list_concat({a}, {b})"),
            _ => format!("concat({a}, {b})"),
        }
    }

    fn size(&self, list: &str) -> String {
        match self.dialect {
            SqlDialect::Athena => format!("cardinality({list})"),
            SqlDialect::Spark => format!("size({list})"),
            SqlDialect::DuckDb => format!("len({list})"),
        }
    }

    /// Whether `body` holds for some element of `list`; `FALSE` (never `NULL`) for
    /// an empty or `NULL` list.
    fn any(&mut self, list: &str, body: impl FnOnce(&mut Self, &str) -> String) -> String {
        let var = self.var();
        let body = body(self, &var);
        let lambda = self.lambda(&var, &body);
        match self.dialect {
            SqlDialect::Athena => format!("coalesce(any_match({list}, {lambda}), FALSE)"),
            SqlDialect::Spark => format!("coalesce(exists({list}, {lambda}), FALSE)"),
            SqlDialect::DuckDb => {
                format!("coalesce(len(list_filter({list}, {lambda})) > 0, FALSE)")
            }
        }
    }

    // JSON values (Trino/DuckDB `JSON`, Spark `VARIANT`).

    fn json_parse(&self, text: &str) -> String {
        match self.dialect {
            SqlDialect::Athena => format!("try(json_parse({text}))"),
            SqlDialect::Spark => format!("try_parse_json({text})"),
            SqlDialect::DuckDb => format!("TRY_CAST({text} AS JSON)"),
        }
    }

    fn json_member(&self, value: &str, key: &str) -> String {
        let simple = key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !key.starts_with(|c: char| c.is_ascii_digit());
        let path = match (simple, self.dialect) {
            (true, _) => format!("$.{key}"),
            (false, SqlDialect::DuckDb) => format!("$.\"{key}\""),
            (false, _) => format!("$[\"{key}\"]"),
        };
        let path = self.lit(&path);
        match self.dialect {
            SqlDialect::Athena | SqlDialect::DuckDb => format!("json_extract({value}, {path})"),
            SqlDialect::Spark => format!("try_variant_get({value}, {path})"),
        }
    }

    fn json_is_array(&self, value: &str) -> String {
        match self.dialect {
            SqlDialect::Athena => format!("try_cast({value} AS array(json)) IS NOT NULL"),
            SqlDialect::Spark => {
                format!("try_variant_get({value}, '$', 'array<variant>') IS NOT NULL")
            }
            SqlDialect::DuckDb => format!("json_type({value}) = 'ARRAY'"),
        }
    }

    fn json_elements(&self, value: &str) -> String {
        match self.dialect {
            SqlDialect::Athena => format!("CAST({value} AS array(json))"),
            SqlDialect::Spark => format!("try_variant_get({value}, '$', 'array<variant>')"),
            SqlDialect::DuckDb => format!("json_extract({value}, '$[*]')"),
        }
    }

    /// The elements of an array value, or the value itself.
    fn json_elements_or_self(&self, value: &str) -> String {
        format!(
            "CASE WHEN {} THEN {} ELSE {} END",
            self.json_is_array(value),
            self.json_elements(value),
            self.array1(value)
        )
    }

    fn json_not_null(&self, value: &str) -> String {
        match self.dialect {
            SqlDialect::Athena => format!("json_format({value}) <> 'null'"),
            SqlDialect::Spark => format!("NOT is_variant_null({value})"),
            SqlDialect::DuckDb => format!("json_type({value}) <> 'NULL'"),
        }
    }

    /// The text of a string, number or boolean value; `NULL` otherwise.
    fn json_scalar_text(&self, value: &str) -> String {
        match self.dialect {
            SqlDialect::Athena => format!("json_extract_scalar({value}, '$')"),
            SqlDialect::Spark => format!(
                "CASE WHEN schema_of_variant({value}) NOT LIKE 'OBJECT%' AND schema_of_variant({value}) NOT LIKE 'ARRAY%' THEN try_variant_get({value}, '$', 'string') END"
            ),
            SqlDialect::DuckDb => format!(
                "CASE WHEN json_type({value}) NOT IN ('OBJECT', 'ARRAY', 'NULL') THEN json_extract_string({value}, '$') END"
            ),
        }
    }

    /// The JSON text of an object or array value; `NULL` otherwise.
    fn json_container_text(&self, value: &str) -> String {
        match self.dialect {
            SqlDialect::Athena => format!(
                "CASE WHEN json_extract_scalar({value}, '$') IS NULL AND json_format({value}) <> 'null' THEN json_format({value}) END"
            ),
            SqlDialect::Spark => format!(
                "CASE WHEN schema_of_variant({value}) LIKE 'OBJECT%' OR schema_of_variant({value}) LIKE 'ARRAY%' THEN to_json({value}) END"
            ),
            SqlDialect::DuckDb => format!(
                "CASE WHEN json_type({value}) IN ('OBJECT', 'ARRAY') THEN CAST({value} AS VARCHAR) END"
            ),
        }
    }

    /// `text` with the JSON escapes `\\ \" \/ \n \r \t \b \f` decoded.
    fn json_unescape(&self, text: &str) -> String {
        let chr = |n: u32| format!("chr({n})");
        let steps: [(String, String); 8] = [
            (self.lit("\\\""), self.lit("\"")),
            (self.lit("\\/"), self.lit("/")),
            (self.lit("\\n"), chr(10)),
            (self.lit("\\r"), chr(13)),
            (self.lit("\\t"), chr(9)),
            (self.lit("\\b"), chr(8)),
            (self.lit("\\f"), chr(12)),
            (chr(1), self.lit("\\")),
        ];
        // Escaped backslashes are set aside first so that `\\n` stays `\n`.
        let mut out = format!("replace({text}, {}, chr(1))", self.lit("\\\\"));
        for (from, to) in steps {
            out = format!("replace({out}, {from}, {to})");
        }
        out
    }

    /// The list of JSON values at `segments` inside the JSON text of `column`,
    /// fanning out through arrays on the way (absent members dropped).
    fn json_nodes(&mut self, column: &str, segments: &[String]) -> String {
        let mut list = self.array1(&self.json_parse(column));
        for seg in segments {
            let e = self.var();
            let x = self.var();
            let y = self.var();
            let inner = self.transform(
                &self.json_elements_or_self(&e),
                &x,
                &self.json_member(&x, seg),
            );
            let flat = format!("flatten({})", self.transform(&list, &e, &inner));
            list = self.filter(&flat, &y, &format!("{y} IS NOT NULL"));
        }
        list
    }

    /// `nodes` plus the elements of the arrays among them (a terminal array is
    /// tested whole and element by element).
    fn json_expand_terminal(&mut self, nodes: &str) -> String {
        let e = self.var();
        let body = format!(
            "CASE WHEN {} THEN {} ELSE {} END",
            self.json_is_array(&e),
            self.concat(&self.array1(&e), &self.json_elements(&e)),
            self.array1(&e)
        );
        format!("flatten({})", self.transform(nodes, &e, &body))
    }

    /// Whether `pred` holds for some text of the field (never `NULL`).
    fn any_text(
        &mut self,
        source: &Source,
        texts: Texts,
        pred: &mut dyn FnMut(&mut Self, &str) -> Result<String, String>,
    ) -> Result<String, String> {
        Ok(match source {
            Source::Text(expr) => format!("coalesce({}, FALSE)", pred(self, expr)?),
            Source::JsonWhole(col) => match texts {
                Texts::Compare => {
                    let raw = pred(self, col)?;
                    let decoded = pred(self, &self.json_unescape(col))?;
                    format!("coalesce({raw} OR {decoded}, FALSE)")
                }
                Texts::AsText => format!("coalesce({}, FALSE)", pred(self, col)?),
                Texts::Scalars => "FALSE".to_string(),
            },
            Source::Resources(member) => {
                let mut result = Ok(String::new());
                let sql = self.any("resources", |g, r| {
                    match pred(g, &format!("{r}.{member}")) {
                        Ok(s) => s,
                        Err(e) => {
                            result = Err(e);
                            String::new()
                        }
                    }
                });
                result?;
                sql
            }
            Source::JsonPath(col, segments) => {
                let nodes = self.json_nodes(col, segments);
                let nodes = self.json_expand_terminal(&nodes);
                let mut result = Ok(String::new());
                let sql = self.any(&nodes, |g, v| {
                    let scalar = g.json_scalar_text(v);
                    let texts = match texts {
                        Texts::Scalars => {
                            return pred(g, &scalar).unwrap_or_else(|e| {
                                result = Err(e);
                                String::new()
                            })
                        }
                        Texts::AsText => vec![scalar, g.json_container_text(v)],
                        Texts::Compare => {
                            let container = g.json_container_text(v);
                            let decoded = g.json_unescape(&container);
                            vec![scalar, container, decoded]
                        }
                    };
                    let list = g.array_of(&texts);
                    g.any(&list, |g, t| {
                        pred(g, t).unwrap_or_else(|e| {
                            result = Err(e);
                            String::new()
                        })
                    })
                });
                result?;
                sql
            }
        })
    }

    fn is_null(&mut self, source: &Source) -> String {
        match source {
            Source::Text(expr) => format!("{expr} IS NULL"),
            Source::JsonWhole(col) => format!("{col} IS NULL"),
            Source::Resources(member) => {
                let any = self.any("resources", |_, r| format!("{r}.{member} IS NOT NULL"));
                format!("NOT {any}")
            }
            Source::JsonPath(col, segments) => {
                let nodes = self.json_nodes(col, segments);
                let any = self.any(&nodes, |g, v| g.json_not_null(v));
                format!("NOT {any}")
            }
        }
    }

    fn exists(&mut self, source: &Source) -> String {
        match source {
            Source::Text(expr) => format!("{expr} IS NOT NULL"),
            Source::JsonWhole(col) => format!("{col} IS NOT NULL"),
            Source::Resources(member) => {
                self.any("resources", |_, r| format!("{r}.{member} IS NOT NULL"))
            }
            Source::JsonPath(col, segments) => {
                let nodes = self.json_nodes(col, segments);
                format!("{} > 0", self.size(&nodes))
            }
        }
    }

    // Tests.

    fn search(&mut self, search: &Search) -> Result<String, String> {
        match search {
            Search::AllOf(entries) => self.all_of(entries),
            Search::AnyMap(maps) => {
                let parts: Vec<String> = maps
                    .iter()
                    .map(|m| self.all_of(m))
                    .collect::<Result<_, _>>()?;
                Ok(match parts.len() {
                    0 => "FALSE".to_string(),
                    1 => parts.into_iter().next().unwrap_or_default(),
                    _ => format!("({})", parts.join(" OR ")),
                })
            }
            Search::Keywords { .. } => Err(
                "keyword search over the whole event: not translated (it needs the raw record text)"
                    .into(),
            ),
        }
    }

    fn all_of(&mut self, entries: &[FieldMatcher]) -> Result<String, String> {
        let mut parts: Vec<String> = entries
            .iter()
            .map(|m| self.matcher(m))
            .collect::<Result<_, _>>()?;
        // The entries of a map are independent: the shortest (cheapest, usually
        // eventSource/eventName) first, so engines that evaluate AND from the left
        // skip the JSON work on most rows.
        parts.sort_by_key(String::len);
        Ok(match parts.len() {
            0 => "FALSE".to_string(),
            1 => parts.into_iter().next().unwrap_or_default(),
            _ => format!("({})", parts.join(" AND ")),
        })
    }

    fn matcher(&mut self, m: &FieldMatcher) -> Result<String, String> {
        let source = resolve(m.path.name())?;
        let or = |parts: Vec<String>| match parts.len() {
            0 => "FALSE".to_string(),
            1 => parts.into_iter().next().unwrap_or_default(),
            _ => format!("({})", parts.join(" OR ")),
        };
        if m.all {
            let mut ands = Vec::with_capacity(m.values.len());
            for alts in &m.values {
                let parts = self.value_tests(&source, alts)?;
                ands.push(or(parts));
            }
            return Ok(match ands.len() {
                0 => "TRUE".to_string(),
                1 => ands.into_iter().next().unwrap_or_default(),
                _ => format!("({})", ands.join(" AND ")),
            });
        }
        let all: Vec<ValueTest> = m.values.iter().flatten().cloned().collect();
        Ok(or(self.value_tests(&source, &all)?))
    }

    /// One SQL test per value test; the string-like tests of one field are merged
    /// into a single pass over its values.
    fn value_tests(&mut self, source: &Source, tests: &[ValueTest]) -> Result<Vec<String>, String> {
        let mut out = Vec::new();
        let compare: Vec<&ValueTest> = tests
            .iter()
            .filter(|t| matches!(t, ValueTest::Str(_) | ValueTest::Regex(_)))
            .collect();
        if !compare.is_empty() {
            out.push(self.any_text(source, Texts::Compare, &mut |g, text| {
                // Whole-value comparisons become `IN` lists, the rest one test each.
                let (mut folded, mut cased, mut parts) = (Vec::new(), Vec::new(), Vec::new());
                for t in &compare {
                    match t {
                        ValueTest::Str(StrPattern {
                            kind: StrMatch::Exact(v),
                            cased: false,
                        }) => folded.push(g.lit(&v.to_ascii_lowercase())),
                        ValueTest::Str(StrPattern {
                            kind: StrMatch::Exact(v),
                            cased: true,
                        }) => cased.push(g.lit(v)),
                        other => parts.push(g.text_test(other, text)?),
                    }
                }
                let in_list = |subject: String, values: Vec<String>| match values.len() {
                    0 => None,
                    1 => Some(format!("{subject} = {}", values.join(""))),
                    _ => Some(format!("{subject} IN ({})", values.join(", "))),
                };
                let mut all: Vec<String> = Vec::new();
                all.extend(in_list(format!("lower({text})"), folded));
                all.extend(in_list(text.to_string(), cased));
                all.extend(parts);
                Ok(all.join(" OR "))
            })?);
        }
        let scalars: Vec<&ValueTest> = tests
            .iter()
            .filter(|t| matches!(t, ValueTest::Cidr(_) | ValueTest::Num(..)))
            .collect();
        if !scalars.is_empty() {
            out.push(self.any_text(source, Texts::Scalars, &mut |g, text| {
                let parts: Vec<String> = scalars
                    .iter()
                    .map(|t| g.text_test(t, text))
                    .collect::<Result<_, _>>()?;
                Ok(parts.join(" OR "))
            })?);
        }
        for t in tests {
            match t {
                ValueTest::Null => out.push(self.is_null(source)),
                ValueTest::Exists(true) => out.push(self.exists(source)),
                ValueTest::Exists(false) => out.push(format!("NOT {}", self.exists(source))),
                ValueTest::FieldRef {
                    other,
                    anchor,
                    cased,
                } => {
                    let other_source =
                        resolve(other.name()).map_err(|e| format!("|fieldref target: {e}"))?;
                    let (anchor, cased) = (*anchor, *cased);
                    out.push(self.any_text(source, Texts::AsText, &mut |g, a| {
                        g.any_text(&other_source, Texts::AsText, &mut |g, b| {
                            Ok(g.fieldref_test(a, b, anchor, cased))
                        })
                    })?);
                }
                _ => {}
            }
        }
        Ok(out)
    }

    fn fieldref_test(&self, a: &str, b: &str, anchor: Anchor, cased: bool) -> String {
        let (a, b) = if cased {
            (a.to_string(), b.to_string())
        } else {
            (format!("lower({a})"), format!("lower({b})"))
        };
        match anchor {
            Anchor::Whole => format!("{a} = {b}"),
            Anchor::StartsWith => format!("substr({a}, 1, length({b})) = {b}"),
            Anchor::EndsWith => format!(
                "(length({a}) >= length({b}) AND substr({a}, length({a}) - length({b}) + 1) = {b})"
            ),
            Anchor::Contains => match self.dialect {
                SqlDialect::Spark => format!("instr({a}, {b}) > 0"),
                _ => format!("strpos({a}, {b}) > 0"),
            },
        }
    }

    fn text_test(&self, test: &ValueTest, text: &str) -> Result<String, String> {
        match test {
            ValueTest::Str(p) => self.str_test(p, text),
            ValueTest::Regex(re) => Ok(self.regex_test(re.as_str(), text)),
            ValueTest::Cidr(c) => self.cidr_test(c, text),
            ValueTest::Num(op, n) => {
                let op = match op {
                    NumOp::Gt => ">",
                    NumOp::Gte => ">=",
                    NumOp::Lt => "<",
                    NumOp::Lte => "<=",
                };
                if !n.is_finite() {
                    return Err(format!("number {n} has no SQL literal"));
                }
                Ok(format!(
                    "TRY_CAST(trim({text}) AS DOUBLE) {op} CAST('{n:?}' AS DOUBLE)"
                ))
            }
            ValueTest::Null | ValueTest::Exists(_) | ValueTest::FieldRef { .. } => {
                Err("internal: not a value test".into())
            }
        }
    }

    fn regex_test(&self, pattern: &str, text: &str) -> String {
        match self.dialect {
            SqlDialect::Athena => format!(
                "regexp_like({text}, {})",
                self.lit(&pattern.replace("(?P<", "(?<"))
            ),
            SqlDialect::Spark => format!(
                "({text} RLIKE {})",
                self.lit(&pattern.replace("(?P<", "(?<"))
            ),
            SqlDialect::DuckDb => format!("regexp_matches({text}, {})", self.lit(pattern)),
        }
    }

    fn like(&self, text: &str, pattern: &str, cased: bool) -> String {
        let subject = if cased {
            text.to_string()
        } else {
            format!("lower({text})")
        };
        format!(
            "{subject} LIKE {} ESCAPE {}",
            self.lit(pattern),
            self.lit("\\")
        )
    }

    fn str_test(&self, p: &StrPattern, text: &str) -> Result<String, String> {
        let fold = |t: &str| {
            if p.cased {
                t.to_string()
            } else {
                t.to_ascii_lowercase()
            }
        };
        let subject = |cased: bool| {
            if cased {
                text.to_string()
            } else {
                format!("lower({text})")
            }
        };
        Ok(match &p.kind {
            StrMatch::Any => format!("{text} IS NOT NULL"),
            StrMatch::Exact(t) => format!("{} = {}", subject(p.cased), self.lit(&fold(t))),
            StrMatch::Prefix(t) => self.like(text, &format!("{}%", like_escape(&fold(t))), p.cased),
            StrMatch::Suffix(t) => self.like(text, &format!("%{}", like_escape(&fold(t))), p.cased),
            StrMatch::Contains(t, _) => {
                self.like(text, &format!("%{}%", like_escape(&fold(t))), p.cased)
            }
            StrMatch::Regex(re) => {
                let (pattern, cased) = like_from_wildcard_regex(re.as_str()).ok_or_else(|| {
                    format!(
                        "internal: cannot read back wildcard pattern {}",
                        re.as_str()
                    )
                })?;
                self.like(text, &pattern, cased)
            }
        })
    }

    fn cidr_test(&self, cidr: &Cidr, text: &str) -> Result<String, String> {
        let prefix = u32::from(cidr.prefix());
        match cidr.network() {
            IpAddr::V4(net) => {
                let mask = if prefix == 0 {
                    0
                } else {
                    u32::MAX << (32 - prefix)
                };
                let low = u64::from(u32::from(net) & mask);
                let high = low + u64::from(!mask);
                let t = format!("trim({text})");
                let octet = |i: u32| format!("TRY_CAST(split_part({t}, '.', {i}) AS BIGINT)");
                let re = format!("^{IPV4_OCTET}(\\.{IPV4_OCTET}){{3}}$");
                Ok(format!(
                    "({} AND ({} * 16777216 + {} * 65536 + {} * 256 + {}) BETWEEN {low} AND {high})",
                    self.regex_test(&re, &t),
                    octet(1),
                    octet(2),
                    octet(3),
                    octet(4)
                ))
            }
            IpAddr::V6(net) => match self.dialect {
                SqlDialect::Athena => Ok(format!(
                    "(strpos({text}, ':') > 0 AND contains({}, try_cast(trim({text}) AS ipaddress)))",
                    self.lit(&format!("{net}/{prefix}"))
                )),
                _ => Err(format!(
                    "|cidr with the IPv6 network {net}/{prefix}: {} has no IPv6 address type",
                    self.dialect
                )),
            },
        }
    }
}

/// Escapes `%`, `_` and `\` for a `LIKE ... ESCAPE '\'` pattern.
fn like_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Reads back the anchored regex the engine builds for a wildcard value
/// (`(?s)^` or `(?si)^`, then `.*`, `.` and escaped literals, then `$`) as a LIKE
/// pattern (lower-cased when case-insensitive) and whether it is case-sensitive.
fn like_from_wildcard_regex(source: &str) -> Option<(String, bool)> {
    let (cased, body) = if let Some(rest) = source.strip_prefix("(?s)^") {
        (true, rest)
    } else {
        (false, source.strip_prefix("(?si)^")?)
    };
    let body = body.strip_suffix('$')?;
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '.' => {
                if chars.peek() == Some(&'*') {
                    chars.next();
                    out.push('%');
                } else {
                    out.push('_');
                }
            }
            '\\' => {
                let lit = chars.next()?;
                out.push_str(&like_escape(&lit.to_string()));
            }
            '^' | '$' | '*' | '+' | '?' | '(' | ')' | '[' | ']' | '{' | '}' | '|' => return None,
            c => out.push_str(&like_escape(&c.to_string())),
        }
    }
    Some(if cased {
        (out, true)
    } else {
        (out.to_lowercase(), false)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_resolve_to_columns() {
        assert_eq!(resolve("eventName"), Ok(Source::Text("eventname".into())));
        assert_eq!(
            resolve("userIdentity.sessionContext.sessionIssuer.type"),
            Ok(Source::Text(
                "useridentity.sessioncontext.sessionissuer.type".into()
            ))
        );
        assert_eq!(
            resolve("tlsDetails.clientProvidedHostHeader"),
            Ok(Source::Text("tlsdetails.clienthostheader".into()))
        );
        assert_eq!(resolve("resources.ARN"), Ok(Source::Resources("arn")));
        assert_eq!(
            resolve("requestParameters.a.b"),
            Ok(Source::JsonPath(
                "requestparameters",
                vec!["a".into(), "b".into()]
            ))
        );
        assert_eq!(
            resolve("responseElements"),
            Ok(Source::JsonWhole("responseelements"))
        );
        assert!(resolve("eventname").is_err());
        assert!(resolve("userIdentity").unwrap_err().contains("struct"));
        assert!(resolve("userIdentity.sessionContext").is_err());
        assert!(resolve("userIdentity.type.x").is_err());
        assert!(resolve("userIdentity.nope").is_err());
        assert!(resolve("eventName.x").is_err());
        assert!(resolve("resources").is_err());
        assert!(resolve("requestParameters.a'b").is_err());
    }

    #[test]
    fn wildcard_regex_reads_back_as_like() {
        assert_eq!(
            like_from_wildcard_regex(r"(?si)^a.*b.c\*d%_$"),
            Some((r"a%b_c*d\%\_".to_string(), false))
        );
        assert_eq!(
            like_from_wildcard_regex(r"(?s)^É.*\\$"),
            Some((r"É%\\".to_string(), true))
        );
        assert_eq!(
            like_from_wildcard_regex(r"(?si)^É$"),
            Some(("é".to_string(), false))
        );
        assert_eq!(like_from_wildcard_regex("a+"), None);
    }

    #[test]
    fn literals_are_escaped_per_dialect() {
        assert_eq!(SqlDialect::Athena.string_literal(r"it's \x"), r"'it''s \x'");
        assert_eq!(SqlDialect::DuckDb.string_literal("'"), "''''");
        assert_eq!(SqlDialect::Spark.string_literal(r"it's \x"), r"'it\'s \\x'");
        assert_eq!("Spark".parse::<SqlDialect>(), Ok(SqlDialect::Spark));
        assert!("oracle".parse::<SqlDialect>().is_err());
    }
}
