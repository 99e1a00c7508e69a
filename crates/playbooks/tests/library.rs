//! Loading shipped and user playbooks; rendering.

use std::fs;

use firebreak_playbooks::{render_markdown, Library, Limits, PhaseName};

const MINIMAL: &str = include_str!("data/minimal.yaml");

#[test]
fn user_directory_adds_overrides_and_reports_bad_files() {
    let dir = tempfile::tempdir().expect("temp dir");
    fs::write(dir.path().join("a-leaked-key.yaml"), MINIMAL).expect("write");
    // Same id as a shipped playbook: the user's copy replaces it.
    let shipped = firebreak_playbooks::builtin_playbook_files()
        .iter()
        .find(|(name, _)| *name == "amazon-q.yaml")
        .map(|(_, text)| *text)
        .expect("amazon-q is shipped");
    fs::write(
        dir.path().join("b-q.yaml"),
        shipped.replacen(
            "title: Amazon Q and Q Business security events",
            "title: Our own Q",
            1,
        ),
    )
    .expect("write");
    fs::write(dir.path().join("c-broken.yaml"), "id: [unclosed\n").expect("write");
    fs::write(dir.path().join("d-dup.yml"), MINIMAL).expect("write");
    fs::write(dir.path().join("notes.txt"), "not a playbook").expect("write");

    let library = Library::load(true, &[dir.path().to_path_buf()], &Limits::default());
    let ids: Vec<&str> = library
        .playbooks
        .iter()
        .map(|p| p.playbook.id.as_str())
        .collect();
    assert_eq!(ids.iter().filter(|id| **id == "amazon-q").count(), 1);
    assert_eq!(
        library.get("amazon-q").map(|p| p.playbook.title.as_str()),
        Some("Our own Q")
    );
    assert!(library.get("amazon-q").is_some_and(|p| !p.builtin));
    assert!(library.get("leaked-key").is_some());
    assert!(ids.len() >= 2);
    assert_eq!(library.issues.len(), 2, "{:#?}", library.issues);
    assert!(library
        .issues
        .iter()
        .any(|i| i.file.ends_with("c-broken.yaml")
            && i.line.is_some()
            && i.message.starts_with("invalid YAML")));
    assert!(library.issues.iter().any(|i| i.file.ends_with("d-dup.yml")
        && i.message.contains("already used")
        && i.line == Some(1)));
}

#[test]
fn missing_directory_is_an_issue_not_a_panic() {
    let library = Library::load(
        false,
        &["/nonexistent/playbooks".into()],
        &Limits::default(),
    );
    assert!(library.playbooks.is_empty());
    assert_eq!(library.issues.len(), 1);
    assert!(
        library.issues[0].message.contains("cannot read"),
        "{}",
        library.issues[0]
    );
}

#[test]
fn markdown_has_phases_in_order_steps_and_commands() {
    let loaded =
        firebreak_playbooks::parse_playbook("t.yaml", MINIMAL, &Limits::default()).expect("parses");
    let doc = render_markdown(&loaded.playbook);
    assert!(doc.starts_with("# Leaked access key\n"));
    let positions: Vec<usize> = PhaseName::ALL
        .iter()
        .map(|p| {
            doc.find(&format!("## {}\n", p.title()))
                .expect("phase heading")
        })
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{doc}");
    assert!(doc.contains("`firebreak contain access-key ${access_key_id} --user ${steps.key-timeline.principal}`"), "{doc}");
    assert!(
        doc.contains("if account_environment = production then deactivate"),
        "{doc}"
    );
    assert!(doc.contains("otherwise delete-key"), "{doc}");
    assert!(doc.contains("Question: _Which IPs used the key?_"), "{doc}");
    assert!(
        doc.contains("- legal: When customer data was read with the key."),
        "{doc}"
    );
    assert!(
        doc.contains("## Backlog\n\n- Move the workload to roles"),
        "{doc}"
    );
}
