//! Decisions branch on facts: a pure function of the decision step and a facts map.

use firebreak_playbooks::model::{Branch, Condition, Step, StepKind, Text};
use firebreak_playbooks::{evaluate, parse_playbook, Facts, Limits};

fn facts(pairs: &[(&str, &str)]) -> Facts {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn test(fact: &str) -> Condition {
    Condition {
        fact: Some(fact.into()),
        ..Condition::default()
    }
}

fn decision(branches: Vec<(Condition, &str)>, otherwise: &str) -> Step {
    Step {
        id: "d".into(),
        kind: StepKind::Decision,
        title: "d".into(),
        description: None,
        who: None,
        rules: vec![],
        query: None,
        params: Default::default(),
        outputs: vec![],
        question: None,
        queries: vec![],
        action: None,
        branches: branches
            .into_iter()
            .map(|(when, then)| Branch {
                when,
                then: vec![then.into()],
            })
            .collect(),
        otherwise: vec![otherwise.into()],
    }
}

#[test]
fn shipped_example_branches_on_environment() {
    let loaded = parse_playbook(
        "t.yaml",
        include_str!("data/minimal.yaml"),
        &Limits::default(),
    )
    .expect("fixture parses");
    let step = loaded
        .playbook
        .step("by-environment")
        .expect("decision step");
    let prod =
        evaluate(step, &facts(&[("account_environment", "Production")])).expect("is a decision");
    assert_eq!(prod.branch, Some(0));
    assert_eq!(prod.next_steps, vec!["deactivate"]);
    let dev =
        evaluate(step, &facts(&[("account_environment", "development")])).expect("is a decision");
    assert_eq!(dev.branch, None);
    assert_eq!(dev.next_steps, vec!["delete-key"]);
    assert!(dev.unknown_facts.is_empty());
    let unknown = evaluate(step, &Facts::new()).expect("is a decision");
    assert_eq!(unknown.next_steps, vec!["delete-key"]);
    assert_eq!(unknown.unknown_facts, vec!["account_environment"]);
    // A step of another kind is not a decision.
    let manual = loaded.playbook.step("know-owners").expect("manual step");
    assert_eq!(evaluate(manual, &Facts::new()), None);
}

#[test]
fn ec2_stop_in_production_terminate_in_development() {
    let mut prod = test("account_environment");
    prod.equals = Some(Text("production".into()));
    let mut tagged = test("instance_tag_environment");
    tagged.one_of = vec![Text("prod".into()), Text("production".into())];
    let either = Condition {
        any: vec![prod, tagged],
        ..Condition::default()
    };
    let step = decision(vec![(either, "stop-instance")], "terminate-instance");
    let run = |f: &[(&str, &str)]| {
        evaluate(&step, &facts(f))
            .map(|o| o.next_steps)
            .unwrap_or_default()
    };
    assert_eq!(
        run(&[("account_environment", "production")]),
        vec!["stop-instance"]
    );
    assert_eq!(
        run(&[
            ("account_environment", "development"),
            ("instance_tag_environment", "PROD")
        ]),
        vec!["stop-instance"]
    );
    assert_eq!(
        run(&[
            ("account_environment", "development"),
            ("instance_tag_environment", "test")
        ]),
        vec!["terminate-instance"]
    );
}

#[test]
fn at_least_levels_and_numbers() {
    let mut high = test("finding_level");
    high.at_least = Some(Text("high".into()));
    let step = decision(vec![(high, "escalate")], "continue");
    let run = |v: &str| {
        evaluate(&step, &facts(&[("finding_level", v)]))
            .map(|o| o.next_steps[0].clone())
            .unwrap_or_default()
    };
    assert_eq!(run("critical"), "escalate");
    assert_eq!(run("high"), "escalate");
    assert_eq!(run("medium"), "continue");
    assert_eq!(run("not a level"), "continue");

    let mut many = test("steps.count-q.count");
    many.at_least = Some(Text("100".into()));
    let step = decision(vec![(many, "mass")], "few");
    assert_eq!(
        evaluate(&step, &facts(&[("steps.count-q.count", "250")])).map(|o| o.next_steps),
        Some(vec!["mass".to_string()])
    );
    assert_eq!(
        evaluate(&step, &facts(&[("steps.count-q.count", "99.5")])).map(|o| o.next_steps),
        Some(vec!["few".to_string()])
    );
}

#[test]
fn all_not_contains_exists_and_first_branch_wins() {
    let mut online = test("steps.ask.answer");
    online.contains = Some(Text("memory".into()));
    let mut has_key = test("access_key_id");
    has_key.exists = Some(true);
    let both = Condition {
        all: vec![online.clone(), has_key],
        ..Condition::default()
    };
    let not_online = Condition {
        not: Some(Box::new(online)),
        ..Condition::default()
    };
    let step = decision(vec![(both, "first"), (not_online, "second")], "third");
    let run = |f: &[(&str, &str)]| {
        evaluate(&step, &facts(f)).map(|o| (o.branch, o.next_steps[0].clone()))
    };
    assert_eq!(
        run(&[
            ("steps.ask.answer", "Need MEMORY capture"),
            ("access_key_id", "AKIA1")
        ]),
        Some((Some(0), "first".into()))
    );
    assert_eq!(
        run(&[("steps.ask.answer", "Need memory capture")]),
        Some((None, "third".into()))
    );
    assert_eq!(
        run(&[("steps.ask.answer", "disk only")]),
        Some((Some(1), "second".into()))
    );
    let mut absent = test("access_key_id");
    absent.exists = Some(false);
    let step = decision(vec![(absent, "look-up-key")], "use-key");
    assert_eq!(
        evaluate(&step, &Facts::new()).map(|o| o.next_steps),
        Some(vec!["look-up-key".to_string()])
    );
}
