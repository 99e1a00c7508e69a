//! Every shipped playbook parses, passes lint without errors, and covers what the issue asks.

use firebreak_playbooks::{
    builtin_playbook_files, has_errors, lint, parse_playbook, Catalogue, Limits,
};

#[test]
fn every_shipped_playbook_passes_lint() {
    let catalogue = Catalogue::builtin();
    assert!(
        !catalogue.rules.is_empty(),
        "the built-in rule pack must load"
    );
    let files = builtin_playbook_files();
    assert!(!files.is_empty());
    let mut failures = Vec::new();
    for (name, text) in files {
        match parse_playbook(&format!("builtin:{name}"), text, &Limits::default()) {
            Err(issue) => failures.push(issue.to_string()),
            Ok(loaded) => {
                let issues = lint(&loaded, &catalogue);
                for issue in &issues {
                    eprintln!("{issue}");
                }
                if has_errors(&issues) {
                    failures.extend(issues.iter().map(|i| i.to_string()));
                }
                // Shipped playbooks are complete: no warnings either.
                assert!(issues.is_empty(), "{name}: {issues:#?}");
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_issue_s_playbooks_are_all_shipped_and_complete() {
    use firebreak_playbooks::{Library, PhaseName, StepKind};
    let library = Library::load(true, &[], &Limits::default());
    assert!(library.issues.is_empty(), "{:#?}", library.issues);
    let expected = [
        "amazon-q",
        "root-user-activity",
        "iam-credential-compromise",
        "ec2-instance-compromise",
        "cloudtrail-tampering",
        "s3-data-exposure",
        "s3-ransomware",
        "crypto-mining",
        "bedrock-abuse",
    ];
    for id in expected {
        let loaded = library
            .get(id)
            .unwrap_or_else(|| panic!("playbook {id} is not shipped"));
        let pb = &loaded.playbook;
        let phases: Vec<PhaseName> = pb.phases.iter().map(|p| p.phase).collect();
        assert_eq!(
            phases,
            PhaseName::ALL.to_vec(),
            "{id}: all five phases, in order"
        );
        assert!(pb.count_kind(StepKind::Detect) >= 1, "{id}: runs rules");
        assert!(
            pb.count_kind(StepKind::Action) >= 1,
            "{id}: plans a respond action"
        );
        assert!(
            pb.count_kind(StepKind::Query) + pb.count_kind(StepKind::Question) >= 1,
            "{id}: investigates"
        );
        assert!(
            !pb.escalation.notify.is_empty() && !pb.lessons_learned.is_empty(),
            "{id}"
        );
    }
    // Amazon Q: its six analysis questions.
    let q = &library
        .get("amazon-q")
        .map(|l| l.playbook.clone())
        .unwrap_or_else(|| panic!("amazon-q"));
    assert_eq!(q.count_kind(StepKind::Question), 6);
    // EC2: the online/offline decision and the production/development decision.
    let ec2 = &library
        .get("ec2-instance-compromise")
        .map(|l| l.playbook.clone())
        .unwrap_or_else(|| panic!("ec2"));
    let decide = |id: &str, fact: &str, value: &str| {
        let step = ec2.step(id).unwrap_or_else(|| panic!("step {id}"));
        let facts = [(fact.to_string(), value.to_string())]
            .into_iter()
            .collect();
        firebreak_playbooks::evaluate(step, &facts)
            .map(|o| o.next_steps)
            .unwrap_or_default()
    };
    assert_eq!(
        decide("online-or-offline", "memory_needed", "yes"),
        vec!["capture-memory"]
    );
    assert_eq!(
        decide("online-or-offline", "memory_needed", "no"),
        vec!["offline-analysis"]
    );
    assert_eq!(
        decide("stop-or-terminate", "account_environment", "production"),
        vec!["stop-instance"]
    );
    assert_eq!(
        decide("stop-or-terminate", "account_environment", "development"),
        vec!["terminate-instance"]
    );
}

#[test]
fn truncated_or_damaged_playbooks_give_errors_never_panics() {
    let catalogue = Catalogue::builtin();
    let mut refused = 0usize;
    for (name, text) in builtin_playbook_files() {
        let cuts = (1..text.len())
            .step_by(61)
            .filter(|i| text.is_char_boundary(*i));
        for cut in cuts {
            for damaged in [
                text[..cut].to_string(),
                format!("{}\t{}", &text[..cut], &text[cut..]),
            ] {
                match parse_playbook(name, &damaged, &Limits::default()) {
                    Ok(loaded) => {
                        // Whatever lint says, it must point inside the file.
                        for issue in lint(&loaded, &catalogue) {
                            let lines = damaged.lines().count();
                            assert!(issue.line.is_none_or(|l| l >= 1 && l <= lines), "{issue}");
                        }
                    }
                    Err(issue) => {
                        refused += 1;
                        assert!(!issue.message.is_empty());
                        assert_eq!(issue.file, *name);
                    }
                }
            }
        }
    }
    assert!(refused > 100, "most damaged files are refused: {refused}");
}
