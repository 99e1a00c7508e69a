//! Hostile rule files are refused with a message: no hang, no crash, no blow-up.

mod common;

use firebreak_detect::{Limits, Problem, RuleLoader, RuleOutcome};

fn first_problem(text: &str) -> Problem {
    let (_, report) = common::load(text);
    let found = report.errors().next().map(|e| e.problem.clone());
    found.unwrap_or_else(|| panic!("no error in {report:?}"))
}

#[test]
fn billion_laughs_is_refused() {
    let mut text = String::from(
        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
    for w in names.windows(2) {
        let refs = vec![format!("*{}", w[0]); 9].join(",");
        text.push_str(&format!("{}: &{} [{}]\n", w[1], w[1], refs));
    }
    text.push_str("title: lol\ndetection:\n    sel:\n        f: *i\n    condition: sel\n");
    let problem = first_problem(&text);
    assert!(
        matches!(problem, Problem::TooManyNodes { .. })
            || matches!(&problem, Problem::Yaml(m) if m.contains("limit")),
        "{problem:?}"
    );
}

#[test]
fn aliases_within_budget_still_work() {
    let text = "title: alias\nlogsource: {product: aws}\ndetection:\n    sel:\n        eventName: &n CreateUser\n    other:\n        eventName: *n\n    condition: sel and other\n";
    let (set, report) = common::load(text);
    assert_eq!(report.errors().count(), 0, "{report:?}");
    assert!(common::fires(
        &set,
        &serde_json::json!({"eventName": "CreateUser"})
    ));
}

#[test]
fn deep_nesting_is_refused() {
    let text = format!(
        "title: deep\ndetection:\n    sel:\n        f: {}1{}\n    condition: sel\n",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let problem = first_problem(&text);
    assert!(
        matches!(problem, Problem::TooDeep { .. })
            || matches!(&problem, Problem::Yaml(m) if m.contains("recursion")),
        "{problem:?}"
    );
    let cond = format!("{}sel{}", "(".repeat(1000), ")".repeat(1000));
    let text =
        format!("title: deep\ndetection:\n    sel:\n        f: 1\n    condition: '{cond}'\n");
    assert!(matches!(first_problem(&text), Problem::Condition(m) if m.contains("deeper")));
}

#[test]
fn oversized_file_is_refused() {
    let mut text = String::from("title: big\ndetection:\n    sel:\n        f:\n");
    while text.len() <= (1 << 20) {
        text.push_str("            - 'padding padding padding padding padding padding'\n");
    }
    text.push_str("    condition: sel\n");
    assert!(matches!(first_problem(&text), Problem::FileTooLarge { .. }));
}

#[test]
fn huge_regex_is_refused() {
    let text = "title: re\ndetection:\n    sel:\n        f|re: '(\\w{100}){100}{100}'\n    condition: sel\n";
    let problem = first_problem(text);
    assert!(matches!(problem, Problem::Regex { .. }), "{problem:?}");
    let long = format!(
        "title: re\ndetection:\n    sel:\n        f|re: '{}'\n    condition: sel\n",
        "a".repeat(100_000)
    );
    assert!(
        matches!(first_problem(&long), Problem::Regex { message, .. } if message.contains("limit"))
    );
}

#[test]
fn absurd_number_of_values_is_refused() {
    let limits = Limits {
        max_values_per_rule: 100,
        ..Limits::default()
    };
    let values: String = (0..101).map(|i| format!("            - v{i}\n")).collect();
    let text =
        format!("title: many\ndetection:\n    sel:\n        f:\n{values}    condition: sel\n");
    let mut loader = RuleLoader::new(limits);
    loader.add_yaml("many.yml", &text);
    let (_, report) = loader.finish();
    let e = report.errors().next().expect("refused").to_string();
    assert!(e.contains("more than 100 values"), "{e}");
    // With the default limits, 20,000 values are refused too (default cap 10,000).
    let values: String = (0..20_000)
        .map(|i| format!("            - v{i}\n"))
        .collect();
    let text =
        format!("title: many\ndetection:\n    sel:\n        f:\n{values}    condition: sel\n");
    let problem = first_problem(&text);
    assert!(
        matches!(&problem, Problem::Field { message, .. } if message.contains("more than")),
        "{problem:?}"
    );
}

#[test]
fn too_many_documents_is_refused_but_earlier_ones_load() {
    let limits = Limits {
        max_documents_per_file: 3,
        ..Limits::default()
    };
    let doc = "title: d\nlogsource: {product: aws}\ndetection:\n    s: {a: 1}\n    condition: s\n";
    let text = [doc; 5].join("---\n");
    let mut loader = RuleLoader::new(limits);
    loader.add_yaml("docs.yml", &text);
    let (set, report) = loader.finish();
    assert_eq!(set.rules().len(), 3);
    assert!(report
        .errors()
        .any(|e| matches!(e.problem, Problem::TooManyDocuments { limit: 3 })));
}

#[test]
fn garbage_and_wrong_shapes_are_errors_not_panics() {
    let inputs = [
        "",
        "---\n---\n",
        ":\n  - [",
        "just a string",
        "- a\n- b",
        "title: x\ndetection: 5",
        "title: x\ndetection:\n    condition: sel",
        "title: x\ndetection:\n    sel: null\n    condition: sel",
        "title: x\ndetection:\n    sel: []\n    condition: sel",
        "title: x\ndetection:\n    sel: {}\n    condition: sel",
        "title: x\ndetection:\n    sel: [a, {b: c}]\n    condition: sel",
        "title: x\ndetection:\n    sel: {a: 1}\n    condition: [1, 2]\n",
        "title: x\ndetection:\n    sel: {a: 1}\n    condition: {}\n",
        "title: x\ndetection:\n    sel: {'|contains': a}\n    condition: sel",
        "title: x\nlevel: severe\ndetection:\n    sel: {a: 1}\n    condition: sel",
        "title: x\nlogsource: 7\ndetection:\n    sel: {a: 1}\n    condition: sel",
        "title: x\naction: global\ndetection:\n    sel: {a: 1}\n",
        "title: x\ncorrelation: {type: nope}",
        "title: x\ncorrelation: {type: temporal, rules: [a], timespan: 1m}",
        "title: x\ndetection:\n    sel: {a: !custom 1}\n    condition: sel",
        "title: x\ndetection:\n    sel: {a: 1}\n    condition: 'sel and \u{0}'",
        "title: x\ndetection:\n    sel: {a: 1}\n    condition: '0 of them'",
        "title: x\ndetection:\n    sel: {a: 1, a: 2}\n    condition: sel",
        "title: x\ndetection:\n    sel: {a: 1}\n    sel: {b: 1}\n    condition: sel",
    ];
    for input in inputs {
        let (set, report) = common::load(input);
        assert!(set.rules().is_empty(), "{input:?} loaded");
        for status in &report.rules {
            match &status.outcome {
                RuleOutcome::Error(e) => assert!(e.to_string().starts_with("test.yml"), "{e}"),
                other => panic!("{input:?}: {other:?}"),
            }
        }
    }
}

#[test]
fn other_products_are_skipped_not_errors() {
    let text = "title: win\nlogsource: {product: windows, category: process_creation}\ndetection:\n    sel: {Image|endswith: '\\cmd.exe'}\n    condition: sel\n---\ntitle: az\nlogsource: {product: azure, service: activitylogs}\ndetection:\n    sel: {a: 1}\n    condition: sel\n---\ntitle: other aws\nlogsource: {product: aws, service: s3access}\ndetection:\n    sel: {a: 1}\n    condition: sel\n";
    let (set, report) = common::load(text);
    assert!(set.rules().is_empty());
    assert_eq!(report.skipped_count(), 3);
    let reasons: Vec<String> = report
        .rules
        .iter()
        .map(|r| match &r.outcome {
            RuleOutcome::Skipped(why) => why.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert!(reasons[0].contains("'windows'"));
    assert!(reasons[2].contains("'s3access'"));
}

#[test]
fn unreadable_and_non_utf8_files_are_reported() {
    let dir = std::env::temp_dir().join(format!("firebreak-detect-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("bad.yml"), [0xff, 0xfe, b'a']).unwrap();
    std::fs::write(
        dir.join("ok.yaml"),
        "title: ok\nlogsource: {product: aws}\ndetection:\n    s: {a: 1}\n    condition: s\n",
    )
    .unwrap();
    std::fs::write(dir.join("ignored.txt"), "not a rule").unwrap();
    let mut loader = RuleLoader::new(Limits::default());
    loader.add_path(&dir);
    loader.add_path(&dir.join("missing.yml"));
    let (set, report) = loader.finish();
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(set.rules().len(), 1);
    let errors: Vec<&firebreak_detect::RuleError> = report.errors().collect();
    assert_eq!(errors.len(), 2, "{report:?}");
    assert!(matches!(errors[0].problem, Problem::NotUtf8) && errors[0].origin.ends_with("bad.yml"));
    assert!(
        matches!(errors[1].problem, Problem::Io(_)) && errors[1].origin.ends_with("missing.yml")
    );
}

#[test]
fn builtin_pack_is_embedded_without_test_events() {
    let files = firebreak_detect::builtin_rule_files();
    assert!(files.iter().all(|(path, _)| !path.starts_with("tests/")
        && (path.ends_with(".yml") || path.ends_with(".yaml"))));
    let mut loader = RuleLoader::default();
    loader.add_builtin();
    let (set, report) = loader.finish();
    assert_eq!(
        report
            .rules
            .iter()
            .map(|r| r.origin.as_str())
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        files.len()
    );
    assert!(set.rules().iter().all(|r| r.origin.starts_with("builtin:")));
}
