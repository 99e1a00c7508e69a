//! Evaluating decisions against the facts of a case: a pure function of the decision
//! step and a facts map.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{Condition, Step, StepKind};

/// What the case knows: fact name (or `steps.<id>.<output>`) to value.
pub type Facts = BTreeMap<String, String>;

/// The result of a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionOutcome {
    /// Index of the branch taken, or `None` when `otherwise` was taken.
    pub branch: Option<usize>,
    /// The step ids to run next.
    pub next_steps: Vec<String>,
    /// Facts the conditions tested that the map does not hold (the responder may want
    /// to establish them: an unknown fact never satisfies a test except `exists: false`).
    pub unknown_facts: Vec<String>,
}

/// Finding levels in increasing order, for `at_least`.
const LEVELS: [&str; 5] = ["informational", "low", "medium", "high", "critical"];

fn level_rank(text: &str) -> Option<usize> {
    LEVELS
        .iter()
        .position(|l| l.eq_ignore_ascii_case(text.trim()))
}

fn at_least(value: &str, bound: &str) -> bool {
    if let (Some(v), Some(b)) = (level_rank(value), level_rank(bound)) {
        return v >= b;
    }
    match (value.trim().parse::<f64>(), bound.trim().parse::<f64>()) {
        (Ok(v), Ok(b)) => v >= b,
        _ => false,
    }
}

/// Whether `condition` holds for `facts`; records the facts it needed but did not find.
pub fn condition_holds(
    condition: &Condition,
    facts: &Facts,
    unknown: &mut BTreeSet<String>,
) -> bool {
    if !condition.all.is_empty() {
        // Evaluate every part so that all unknown facts are reported.
        let results: Vec<bool> = condition
            .all
            .iter()
            .map(|c| condition_holds(c, facts, unknown))
            .collect();
        return results.into_iter().all(|r| r);
    }
    if !condition.any.is_empty() {
        let results: Vec<bool> = condition
            .any
            .iter()
            .map(|c| condition_holds(c, facts, unknown))
            .collect();
        return results.into_iter().any(|r| r);
    }
    if let Some(inner) = &condition.not {
        return !condition_holds(inner, facts, unknown);
    }
    let Some(name) = &condition.fact else {
        return false;
    };
    let value = facts.get(name);
    if let Some(want) = condition.exists {
        return value.is_some() == want;
    }
    let Some(value) = value else {
        unknown.insert(name.clone());
        return false;
    };
    if let Some(expected) = &condition.equals {
        return value.trim().eq_ignore_ascii_case(expected.as_str().trim());
    }
    if !condition.one_of.is_empty() {
        return condition
            .one_of
            .iter()
            .any(|v| value.trim().eq_ignore_ascii_case(v.as_str().trim()));
    }
    if let Some(part) = &condition.contains {
        return value
            .to_ascii_lowercase()
            .contains(&part.as_str().to_ascii_lowercase());
    }
    if let Some(bound) = &condition.at_least {
        return at_least(value, bound.as_str());
    }
    false
}

/// Evaluates a decision step: the first branch whose condition holds gives the next
/// steps; when none holds, `otherwise`. Returns `None` for a step that is not a decision.
pub fn evaluate(step: &Step, facts: &Facts) -> Option<DecisionOutcome> {
    if step.kind != StepKind::Decision {
        return None;
    }
    let mut unknown = BTreeSet::new();
    let mut taken = None;
    for (i, branch) in step.branches.iter().enumerate() {
        if condition_holds(&branch.when, facts, &mut unknown) {
            taken = Some(i);
            break;
        }
    }
    let next_steps = match taken {
        Some(i) => step.branches[i].then.clone(),
        None => step.otherwise.clone(),
    };
    Some(DecisionOutcome {
        branch: taken,
        next_steps,
        unknown_facts: unknown.into_iter().collect(),
    })
}
