//! DataFusion expressions the pivots share: principals, time windows, literals.

use std::sync::Arc;

use datafusion::common::ScalarValue;
use datafusion::functions::core::expr_ext::FieldAccessor;
use datafusion::functions::expr_fn::coalesce;
use datafusion::logical_expr::{col, lit, Expr};

/// A filter value as given: trimmed, `None` when absent or blank.
pub(crate) fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// `useridentity.<field>`.
pub(crate) fn identity(field: &str) -> Expr {
    col("useridentity").field(field)
}

/// `useridentity.sessioncontext.sessionissuer.<field>`.
pub(crate) fn session_issuer(field: &str) -> Expr {
    col("useridentity")
        .field("sessioncontext")
        .field("sessionissuer")
        .field(field)
}

/// Who acted, as one text: the identity's ARN, else the invoking service
/// (`ec2.amazonaws.com`), else the principal id.
pub(crate) fn principal_expr() -> Expr {
    coalesce(vec![
        identity("arn"),
        identity("invokedby"),
        identity("principalid"),
    ])
}

/// Events of the principal `who`: its ARN, user name, the role it assumed (role ARN or
/// name), the invoking service or its principal id; `root` means the root user.
pub(crate) fn principal_filter(who: &str) -> Expr {
    let who = who.trim();
    if who.eq_ignore_ascii_case("root") {
        return identity("type").eq(lit("Root"));
    }
    identity("arn")
        .eq(lit(who))
        .or(identity("username").eq(lit(who)))
        .or(session_issuer("arn").eq(lit(who)))
        .or(session_issuer("username").eq(lit(who)))
        .or(identity("invokedby").eq(lit(who)))
        .or(identity("principalid").eq(lit(who)))
}

/// A `Timestamp(Millisecond, "UTC")` literal.
pub(crate) fn ts_literal(ts: jiff::Timestamp) -> Expr {
    lit(ScalarValue::TimestampMillisecond(
        Some(ts.as_millisecond()),
        Some(Arc::from("UTC")),
    ))
}

/// `event_ts` within `[since, until]` (either end open when `None`).
pub(crate) fn window_filter(
    since: Option<jiff::Timestamp>,
    until: Option<jiff::Timestamp>,
) -> Option<Expr> {
    let mut filters = Vec::new();
    if let Some(since) = since {
        filters.push(col("event_ts").gt_eq(ts_literal(since)));
    }
    if let Some(until) = until {
        filters.push(col("event_ts").lt_eq(ts_literal(until)));
    }
    and_all(filters)
}

/// The conjunction of `filters` (`None` when empty).
pub(crate) fn and_all(filters: Vec<Expr>) -> Option<Expr> {
    filters.into_iter().reduce(|a, b| a.and(b))
}

/// The disjunction of `filters` (`None` when empty).
pub(crate) fn or_all(filters: Vec<Expr>) -> Option<Expr> {
    filters.into_iter().reduce(|a, b| a.or(b))
}
