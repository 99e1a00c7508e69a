//! Validation of a parsed playbook: metadata, phase order, step kinds and their keys,
//! that referenced rules, queries and actions exist, and that every `${...}` and `fact:`
//! reference resolves to a declared fact or an earlier step's output.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::catalogue::{self, Catalogue, ParamSpec};
use crate::error::{Issue, Severity};
use crate::load::LoadedPlaybook;
use crate::locate::{locate, KeyPath};
use crate::model::{Condition, FactDecl, PhaseName, Step, StepKind, Text};

struct Linter<'a> {
    loaded: &'a LoadedPlaybook,
    catalogue: &'a Catalogue,
    issues: Vec<Issue>,
    facts: BTreeMap<&'a str, &'a FactDecl>,
    /// Step id -> position in document order.
    order: HashMap<&'a str, usize>,
    /// Step id -> the outputs it produces.
    outputs: HashMap<&'a str, BTreeSet<String>>,
}

fn root() -> KeyPath {
    KeyPath::default()
}

fn is_id(text: &str, extra: &[char]) -> bool {
    let mut chars = text.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || extra.contains(&c))
}

fn is_date(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    if parts.len() != 3 || parts[0].len() != 4 || parts[1].len() != 2 || parts[2].len() != 2 {
        return false;
    }
    let (Ok(_), Ok(month), Ok(day)) = (
        parts[0].parse::<u16>(),
        parts[1].parse::<u8>(),
        parts[2].parse::<u8>(),
    ) else {
        return false;
    };
    (1..=12).contains(&month) && (1..=31).contains(&day)
}

/// The `${...}` references of a text, or the offset of an unterminated one.
pub fn references(text: &str) -> Result<Vec<&str>, usize> {
    let mut out = Vec::new();
    let mut rest = text;
    let mut offset = 0;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            return Err(offset + start);
        };
        out.push(after[..end].trim());
        let consumed = start + 2 + end + 1;
        offset += consumed;
        rest = &rest[consumed..];
    }
    Ok(out)
}

impl<'a> Linter<'a> {
    fn push(&mut self, severity: Severity, path: &KeyPath, message: impl Into<String>) {
        self.issues.push(Issue {
            file: self.loaded.origin.clone(),
            line: locate(&self.loaded.text, path),
            path: path.to_string(),
            severity,
            message: message.into(),
        });
    }

    fn error(&mut self, path: &KeyPath, message: impl Into<String>) {
        self.push(Severity::Error, path, message);
    }

    fn warn(&mut self, path: &KeyPath, message: impl Into<String>) {
        self.push(Severity::Warning, path, message);
    }

    fn metadata(&mut self) {
        let pb = &self.loaded.playbook;
        if !is_id(&pb.id, &['-']) {
            self.error(
                &root().key("id"),
                format!("id '{}' must be lowercase letters, digits and '-'", pb.id),
            );
        }
        for (key, value) in [
            ("title", pb.title.as_str()),
            ("owner", pb.owner.as_str()),
            ("approver", pb.approver.as_str()),
            ("version", pb.version.as_str()),
        ] {
            if value.trim().is_empty() {
                self.error(&root().key(key), format!("{key} must not be empty"));
            }
        }
        if !is_date(pb.last_approved.as_str()) {
            self.error(
                &root().key("last_approved"),
                format!(
                    "last_approved '{}' is not a date (YYYY-MM-DD)",
                    pb.last_approved
                ),
            );
        }
        let class = root().key("classification");
        if pb.classification.category.trim().is_empty() {
            self.error(&class.key("category"), "category must not be empty");
        }
        for (i, ttp) in pb.classification.ttps.iter().enumerate() {
            let lower = ttp.to_ascii_lowercase();
            let ok = lower.strip_prefix("attack.t").is_some_and(|rest| {
                !rest.is_empty() && rest.chars().all(|c| c.is_ascii_digit() || c == '.')
            });
            if !ok {
                self.error(
                    &class.key("ttps").index(i),
                    format!("TTP '{ttp}' is not an ATT&CK technique tag (attack.t1078.004)"),
                );
            }
        }
        for (key, list) in [
            ("ttps", &pb.classification.ttps),
            ("log_sources", &pb.classification.log_sources),
            ("teams", &pb.classification.teams),
        ] {
            if list.is_empty() {
                self.warn(&class.key(key), format!("classification has no {key}"));
            }
        }
        let mut seen = BTreeSet::new();
        for (i, fact) in pb.facts.iter().enumerate() {
            let path = root().key("facts").index(i);
            if !is_id(&fact.name, &['_']) || fact.name.starts_with(|c: char| c.is_ascii_digit()) {
                self.error(
                    &path.key("name"),
                    format!(
                        "fact name '{}' must be lowercase letters, digits and '_'",
                        fact.name
                    ),
                );
            }
            if !seen.insert(fact.name.as_str()) {
                self.error(
                    &path.key("name"),
                    format!("fact '{}' is declared twice", fact.name),
                );
            }
        }
        let esc = root().key("escalation");
        for (key, value) in [
            ("legal", &pb.escalation.legal),
            ("press", &pb.escalation.press),
            ("provider_support", &pb.escalation.provider_support),
        ] {
            if value.trim().is_empty() {
                self.error(
                    &esc.key(key),
                    format!("escalation.{key} must say when they are brought in"),
                );
            }
        }
        if pb.escalation.notify.is_empty() {
            self.warn(&esc, "escalation names nobody to notify");
        }
        for (i, n) in pb.escalation.notify.iter().enumerate() {
            if n.who.is_empty() || n.who.iter().any(|w| w.trim().is_empty()) {
                self.error(
                    &esc.key("notify").index(i).key("who"),
                    "notify.who must name who is told",
                );
            }
        }
        if pb.lessons_learned.is_empty() {
            self.warn(&root().key("lessons_learned"), "no lessons-learned prompts");
        }
    }

    fn phases(&mut self) {
        let pb = &self.loaded.playbook;
        if pb.phases.is_empty() {
            self.error(&root().key("phases"), "a playbook needs phases");
            return;
        }
        let mut last: Option<PhaseName> = None;
        let mut present = BTreeSet::new();
        for (i, phase) in pb.phases.iter().enumerate() {
            let path = root().key("phases").index(i).key("phase");
            if !present.insert(phase.phase) {
                self.error(&path, format!("phase {} appears twice", phase.phase.key()));
            } else if let Some(prev) = last.filter(|prev| *prev > phase.phase) {
                self.error(
                    &path,
                    format!(
                        "phase {} comes after {}: phases go {}",
                        phase.phase.key(),
                        prev.key(),
                        phase_order()
                    ),
                );
            }
            last = Some(last.map_or(phase.phase, |l| l.max(phase.phase)));
            if phase.steps.is_empty() {
                self.warn(
                    &root().key("phases").index(i),
                    format!("phase {} has no steps", phase.phase.key()),
                );
            }
        }
        for name in PhaseName::ALL {
            if !present.contains(&name) {
                self.warn(
                    &root().key("phases"),
                    format!("phase {} is missing", name.key()),
                );
            }
        }
    }

    fn collect_steps(&mut self) {
        let pb = &self.loaded.playbook;
        for (position, (pi, si, step)) in pb
            .phases
            .iter()
            .enumerate()
            .flat_map(|(pi, p)| p.steps.iter().enumerate().map(move |(si, s)| (pi, si, s)))
            .enumerate()
        {
            let path = step_path(pi, si).key("id");
            if !is_id(&step.id, &['-', '_']) {
                self.error(
                    &path,
                    format!(
                        "step id '{}' must be lowercase letters, digits, '-' and '_'",
                        step.id
                    ),
                );
            }
            if self.order.contains_key(step.id.as_str()) {
                self.error(&path, format!("step id '{}' is used twice", step.id));
                continue;
            }
            self.order.insert(step.id.as_str(), position);
            let mut outs: BTreeSet<String> = step
                .kind
                .fixed_outputs()
                .iter()
                .map(|s| s.to_string())
                .collect();
            outs.extend(step.outputs.iter().cloned());
            for q in &step.queries {
                outs.extend(q.outputs.iter().cloned());
            }
            self.outputs.insert(step.id.as_str(), outs);
        }
    }

    /// Checks a reference (`fact` or `steps.<id>.<output>`) used by the step at `position`.
    fn reference(&mut self, path: &KeyPath, reference: &str, position: usize) {
        if let Some(rest) = reference.strip_prefix("steps.") {
            let Some((id, output)) = rest.split_once('.') else {
                self.error(
                    path,
                    format!("reference '{reference}' must be steps.<step id>.<output>"),
                );
                return;
            };
            match self.order.get(id) {
                None => self.error(
                    path,
                    format!("reference '{reference}': there is no step '{id}'"),
                ),
                Some(&at) if at >= position => self.error(
                    path,
                    format!("reference '{reference}': step '{id}' does not come before this step"),
                ),
                Some(_) => {
                    let known = self.outputs.get(id).is_some_and(|o| o.contains(output));
                    if !known {
                        let list = self
                            .outputs
                            .get(id)
                            .map(|o| o.iter().cloned().collect::<Vec<_>>().join(", "))
                            .unwrap_or_default();
                        self.error(path, format!("reference '{reference}': step '{id}' has no output '{output}' (it has: {list})"));
                    }
                }
            }
        } else if !self.facts.contains_key(reference) {
            self.error(
                path,
                format!("reference '{reference}' is not a declared fact (declare it under facts:)"),
            );
        }
    }

    fn text_references(&mut self, path: &KeyPath, text: &str, position: usize) {
        match references(text) {
            Ok(refs) => {
                for r in refs {
                    self.reference(path, r, position);
                }
            }
            Err(offset) => self.error(path, format!("unterminated '${{' at offset {offset}")),
        }
    }

    fn params(
        &mut self,
        path: &KeyPath,
        what: &str,
        specs: &[ParamSpec],
        params: &BTreeMap<String, Text>,
        position: usize,
    ) {
        for spec in specs.iter().filter(|s| s.required) {
            if !params.contains_key(spec.name) {
                self.error(
                    path,
                    format!("{what} needs parameter '{}' ({})", spec.name, spec.help),
                );
            }
        }
        for (name, value) in params {
            let p = path.key("params").key(name);
            match specs.iter().find(|s| s.name == name) {
                None => {
                    let known: Vec<&str> = specs.iter().map(|s| s.name).collect();
                    self.error(
                        &p,
                        format!(
                            "{what} has no parameter '{name}' (known: {})",
                            known.join(", ")
                        ),
                    );
                }
                Some(spec) if spec.flag => {
                    let v = value.as_str();
                    if v != "true" && v != "false" && !v.contains("${") {
                        self.error(
                            &p,
                            format!("parameter '{name}' is a flag: true or false, not '{v}'"),
                        );
                    } else if spec.required && v == "false" {
                        self.error(&p, format!("parameter '{name}' must be true for {what}"));
                    }
                }
                Some(_) => {
                    if value.as_str().trim().is_empty() {
                        self.error(&p, format!("parameter '{name}' is empty"));
                    }
                }
            }
            self.text_references(&p, value.as_str(), position);
        }
    }

    fn query(
        &mut self,
        path: &KeyPath,
        name: &str,
        params: &BTreeMap<String, Text>,
        outputs: &[String],
        position: usize,
    ) {
        let Some(spec) = catalogue::query(name) else {
            let known: Vec<&str> = catalogue::QUERIES.iter().map(|q| q.name).collect();
            self.error(
                &path.key("query"),
                format!("unknown query '{name}' (known: {})", known.join(", ")),
            );
            return;
        };
        let what = format!("query {name}");
        self.params(path, &what, spec.params, params, position);
        if !spec.one_of.is_empty() && !spec.one_of.iter().any(|p| params.contains_key(*p)) {
            self.error(
                path,
                format!("query {name} needs one of: {}", spec.one_of.join(", ")),
            );
        }
        if name == "resources" {
            if let Some(change) = params.get("change") {
                if !["created", "deleted", "any"].contains(&change.as_str()) {
                    self.error(
                        &path.key("params").key("change"),
                        format!("change must be created, deleted or any, not '{change}'"),
                    );
                }
            }
        }
        if name == "sql" {
            if let Some(sql) = params.get("sql") {
                self.sql(&path.key("params").key("sql"), sql.as_str());
            }
        }
        for (i, out) in outputs.iter().enumerate() {
            let p = path.key("outputs").index(i);
            if !is_id(out, &['_']) {
                self.error(
                    &p,
                    format!("output '{out}' must be lowercase letters, digits and '_'"),
                );
            } else if !spec.columns.is_empty() && !spec.columns.contains(&out.as_str()) {
                self.error(
                    &p,
                    format!(
                        "query {name} has no column '{out}' (it has: {})",
                        spec.columns.join(", ")
                    ),
                );
            }
        }
    }

    fn sql(&mut self, path: &KeyPath, sql: &str) {
        let trimmed = sql.trim().trim_end_matches(';').trim();
        let lower = trimmed.to_ascii_lowercase();
        if !(lower.starts_with("select") || lower.starts_with("with")) {
            self.error(
                path,
                "sql must be a single SELECT (or WITH ... SELECT) statement",
            );
        }
        if trimmed.contains(';') {
            self.error(path, "sql must be a single statement (no ';' inside)");
        }
        let words: Vec<&str> = lower
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| !w.is_empty())
            .collect();
        let from_cloudtrail = words
            .windows(2)
            .any(|w| (w[0] == "from" || w[0] == "join") && w[1] == "cloudtrail");
        if !from_cloudtrail {
            self.error(path, "sql must read from table cloudtrail");
        }
        if !catalogue::CLOUDTRAIL_COLUMNS
            .iter()
            .any(|c| words.contains(c))
        {
            self.warn(path, "sql names none of the cloudtrail columns (eventtime, eventname, useridentity, ...)");
        }
    }

    fn condition(&mut self, path: &KeyPath, cond: &Condition, position: usize, depth: usize) {
        let forms = usize::from(!cond.all.is_empty())
            + usize::from(!cond.any.is_empty())
            + usize::from(cond.not.is_some())
            + usize::from(cond.fact.is_some());
        if forms != 1 {
            self.error(
                path,
                "a condition is exactly one of: all, any, not, or fact with a test",
            );
            return;
        }
        if depth > 16 {
            self.error(path, "condition nests too deeply");
            return;
        }
        for (key, list) in [("all", &cond.all), ("any", &cond.any)] {
            for (i, c) in list.iter().enumerate() {
                self.condition(&path.key(key).index(i), c, position, depth + 1);
            }
        }
        if let Some(inner) = &cond.not {
            self.condition(&path.key("not"), inner, position, depth + 1);
        }
        let Some(fact) = &cond.fact else {
            return;
        };
        let tests = usize::from(cond.equals.is_some())
            + usize::from(!cond.one_of.is_empty())
            + usize::from(cond.contains.is_some())
            + usize::from(cond.at_least.is_some())
            + usize::from(cond.exists.is_some());
        if tests != 1 {
            self.error(&path.key("fact"), format!("condition on '{fact}' needs exactly one test: equals, in, contains, at_least or exists"));
        }
        self.reference(&path.key("fact"), fact, position);
        // A closed fact can only equal one of its values.
        let values = self
            .facts
            .get(fact.as_str())
            .map(|f| f.values.clone())
            .unwrap_or_default();
        if !values.is_empty() {
            let tested: Vec<(&str, &Text)> = cond
                .equals
                .iter()
                .map(|v| ("equals", v))
                .chain(cond.one_of.iter().map(|v| ("in", v)))
                .collect();
            for (key, v) in tested {
                if !values
                    .iter()
                    .any(|known| known.eq_ignore_ascii_case(v.as_str()))
                {
                    self.error(
                        &path.key(key),
                        format!("fact '{fact}' takes {}, never '{v}'", values.join(", ")),
                    );
                }
            }
        }
        if let Some(bound) = &cond.at_least {
            let b = bound.as_str();
            let level = ["informational", "low", "medium", "high", "critical"]
                .iter()
                .any(|l| l.eq_ignore_ascii_case(b));
            if !level && b.parse::<f64>().is_err() {
                self.error(
                    &path.key("at_least"),
                    format!("at_least takes a finding level or a number, not '{b}'"),
                );
            }
        }
    }

    fn targets(&mut self, path: &KeyPath, ids: &[String], position: usize) {
        for (i, id) in ids.iter().enumerate() {
            match self.order.get(id.as_str()) {
                None => self.error(&path.index(i), format!("no step '{id}'")),
                Some(&at) if at <= position => self.error(
                    &path.index(i),
                    format!(
                        "step '{id}' comes before the decision: decisions only choose later steps"
                    ),
                ),
                Some(_) => {}
            }
        }
    }

    fn step(&mut self, path: &KeyPath, step: &'a Step, position: usize) {
        if step.title.trim().is_empty() {
            self.error(&path.key("title"), "step title must not be empty");
        }
        let kind = step.kind;
        let present: [(&str, bool, &[StepKind]); 9] = [
            (
                "who",
                step.who.is_some(),
                &[StepKind::Manual, StepKind::Action, StepKind::Question],
            ),
            ("rules", !step.rules.is_empty(), &[StepKind::Detect]),
            ("query", step.query.is_some(), &[StepKind::Query]),
            (
                "params",
                !step.params.is_empty(),
                &[StepKind::Query, StepKind::Action],
            ),
            ("outputs", !step.outputs.is_empty(), &[StepKind::Query]),
            ("question", step.question.is_some(), &[StepKind::Question]),
            ("queries", !step.queries.is_empty(), &[StepKind::Question]),
            ("action", step.action.is_some(), &[StepKind::Action]),
            (
                "branches",
                !step.branches.is_empty() || !step.otherwise.is_empty(),
                &[StepKind::Decision],
            ),
        ];
        for (key, is_present, kinds) in present {
            if is_present && !kinds.contains(&kind) {
                let key = if key == "branches" && step.branches.is_empty() {
                    "otherwise"
                } else {
                    key
                };
                self.error(
                    &path.key(key),
                    format!("'{key}' does not belong in a {} step", kind.key()),
                );
            }
        }
        match kind {
            StepKind::Manual => {
                if step.who.as_deref().is_none_or(|w| w.trim().is_empty()) {
                    self.error(path, "a manual step must say who does it (who:)");
                }
            }
            StepKind::Detect => {
                if step.rules.is_empty() {
                    self.error(
                        path,
                        "a detect step needs rules: (id, title, tag or origin selectors)",
                    );
                }
                for (i, sel) in step.rules.iter().enumerate() {
                    let p = path.key("rules").index(i);
                    let keys = [&sel.id, &sel.title, &sel.tag, &sel.origin]
                        .iter()
                        .filter(|k| k.is_some())
                        .count();
                    if keys != 1 {
                        self.error(
                            &p,
                            "a rule selector has exactly one of: id, title, tag, origin",
                        );
                        continue;
                    }
                    if self.catalogue.select(sel).next().is_none() {
                        let (key, value) = [
                            ("id", &sel.id),
                            ("title", &sel.title),
                            ("tag", &sel.tag),
                            ("origin", &sel.origin),
                        ]
                        .into_iter()
                        .find_map(|(k, v)| v.as_ref().map(|v| (k, v.clone())))
                        .unwrap_or(("id", String::new()));
                        self.error(&p.key(key), format!("no rule matches {key} '{value}'"));
                    }
                }
            }
            StepKind::Query => match &step.query {
                Some(name) => self.query(path, name, &step.params, &step.outputs, position),
                None => self.error(
                    path,
                    "a query step needs query: (timeline, summary, resources, anomalies or sql)",
                ),
            },
            StepKind::Question => {
                if step.question.as_deref().is_none_or(|q| q.trim().is_empty()) {
                    self.error(
                        path,
                        "a question step needs question: (the analysis question)",
                    );
                }
                if step.queries.is_empty() {
                    self.error(
                        path,
                        "a question step needs at least one query under queries:",
                    );
                }
                for (i, q) in step.queries.iter().enumerate() {
                    self.query(
                        &path.key("queries").index(i),
                        &q.query,
                        &q.params,
                        &q.outputs,
                        position,
                    );
                }
            }
            StepKind::Action => match step.action.as_deref().map(str::trim) {
                Some(name) => match catalogue::action(name) {
                    Some(spec) => self.params(
                        path,
                        &format!("action {name}"),
                        spec.params,
                        &step.params,
                        position,
                    ),
                    None => {
                        let known: Vec<&str> = catalogue::ACTIONS.iter().map(|a| a.name).collect();
                        self.error(
                            &path.key("action"),
                            format!("unknown action '{name}' (known: {})", known.join(", ")),
                        );
                    }
                },
                None => self.error(
                    path,
                    "an action step needs action: (e.g. contain access-key)",
                ),
            },
            StepKind::Decision => {
                if step.branches.is_empty() {
                    self.error(
                        path,
                        "a decision step needs branches: (when: ..., then: [...])",
                    );
                }
                for (i, branch) in step.branches.iter().enumerate() {
                    let p = path.key("branches").index(i);
                    self.condition(&p.key("when"), &branch.when, position, 0);
                    if branch.then.is_empty() {
                        self.error(&p.key("then"), "a branch must name the steps it takes");
                    }
                    self.targets(&p.key("then"), &branch.then, position);
                }
                self.targets(&path.key("otherwise"), &step.otherwise, position);
            }
        }
        if let Some(d) = &step.description {
            self.text_references(&path.key("description"), d, position);
        }
    }
}

fn phase_order() -> String {
    PhaseName::ALL
        .iter()
        .map(|p| p.key())
        .collect::<Vec<_>>()
        .join(", ")
}

fn step_path(phase: usize, step: usize) -> KeyPath {
    root().key("phases").index(phase).key("steps").index(step)
}

/// Lints one playbook; issues come sorted by line.
pub fn lint(loaded: &LoadedPlaybook, catalogue: &Catalogue) -> Vec<Issue> {
    let mut linter = Linter {
        loaded,
        catalogue,
        issues: Vec::new(),
        facts: loaded
            .playbook
            .facts
            .iter()
            .map(|f| (f.name.as_str(), f))
            .collect(),
        order: HashMap::new(),
        outputs: HashMap::new(),
    };
    linter.metadata();
    linter.phases();
    linter.collect_steps();
    let mut position = 0;
    for (pi, phase) in loaded.playbook.phases.iter().enumerate() {
        for (si, step) in phase.steps.iter().enumerate() {
            linter.step(&step_path(pi, si), step, position);
            position += 1;
        }
    }
    let mut issues = linter.issues;
    issues.sort_by_key(|i| (i.line.unwrap_or(0), std::cmp::Reverse(i.severity)));
    issues
}

/// Whether any issue is an error.
pub fn has_errors(issues: &[Issue]) -> bool {
    issues.iter().any(|i| i.severity == Severity::Error)
}
