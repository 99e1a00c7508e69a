//! `firebreak playbook list|show|lint`.

mod support;

use support::*;

const SHIPPED: [&str; 9] = [
    "amazon-q",
    "bedrock-abuse",
    "cloudtrail-tampering",
    "crypto-mining",
    "ec2-instance-compromise",
    "iam-credential-compromise",
    "root-user-activity",
    "s3-data-exposure",
    "s3-ransomware",
];

#[test]
fn list_shows_every_shipped_playbook() {
    let out = run(&["playbook", "list", "--format", "jsonl"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rows = json_lines(&out);
    let mut ids: Vec<String> = rows
        .iter()
        .map(|r| r["id"].as_str().unwrap_or("").to_string())
        .collect();
    ids.sort();
    assert_eq!(ids, SHIPPED.map(String::from).to_vec());
    for r in &rows {
        assert_eq!(r["phases"].as_str(), Some("5"), "{r}");
        assert!(
            r["steps"]
                .as_str()
                .unwrap_or("0")
                .parse::<usize>()
                .unwrap_or(0)
                >= 8,
            "{r}"
        );
        assert!(r["ttps"].as_str().unwrap_or("").contains("attack.t"), "{r}");
        assert!(
            r["source"].as_str().unwrap_or("").starts_with("builtin:"),
            "{r}"
        );
    }
    let csv = run(&["playbook", "list", "--format", "csv"]);
    assert_eq!(stdout(&csv).lines().count(), 1 + SHIPPED.len());
}

#[test]
fn show_renders_a_readable_document() {
    let out = run(&["playbook", "show", "amazon-q"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with("# Amazon Q and Q Business security events"),
        "{text}"
    );
    for heading in [
        "## Preparation",
        "## Detection and analysis",
        "## Containment and eradication",
        "## Recovery",
        "## Post-incident activity",
        "## Escalation",
    ] {
        assert!(text.contains(heading), "missing {heading}");
    }
    assert!(
        text.contains("firebreak eradicate qbusiness-app ${q_application_id} --with-data-sources"),
        "{text}"
    );
    assert!(
        text.lines().count() > 80,
        "one line per item, not escaped newlines"
    );
    let unknown_lint = run(&["playbook", "lint", "no-such-playbook"]);
    assert_eq!(unknown_lint.status.code(), Some(1));
    assert!(
        stdout(&unknown_lint)
            .contains("no-such-playbook: error: no playbook with this id, and no such file"),
        "{}",
        stdout(&unknown_lint)
    );
    let unknown = run(&["playbook", "show", "no-such-playbook"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        stderr(&unknown).contains("no playbook 'no-such-playbook'"),
        "{}",
        stderr(&unknown)
    );
}

#[test]
fn lint_passes_every_shipped_playbook() {
    let out = run(&["playbook", "lint"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("9 playbook(s) checked: 0 error(s), 0 warning(s)"),
        "{}",
        stderr(&out)
    );
    let one = run(&["playbook", "lint", "ec2-instance-compromise"]);
    assert_eq!(one.status.code(), Some(0), "{}", stdout(&one));
}

#[test]
fn lint_of_a_user_file_gives_errors_with_line_numbers() {
    let dir = tempdir();
    let shipped = std::fs::read_to_string(repo().join("playbooks/iam-credential-compromise.yaml"))
        .expect("shipped playbook");
    let broken = shipped
        .replacen("id: iam-credential-compromise", "id: my-own", 1)
        .replacen(
            "action: contain access-key",
            "action: contain access-keyz",
            1,
        );
    let path = dir.path().join("my-own.yaml");
    std::fs::write(&path, &broken).expect("write");
    let line = broken
        .lines()
        .position(|l| l.contains("access-keyz"))
        .map(|i| i + 1)
        .expect("line");
    let out = run(&["playbook", "lint", path.to_str().expect("utf-8 path")]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(
        text.contains(&format!("my-own.yaml:{line}: error:")),
        "{text}"
    );
    assert!(
        text.contains("unknown action 'contain access-keyz'"),
        "{text}"
    );

    // The same file through --playbooks: listed beside the shipped ones, and lint as jsonl.
    let out = run(&[
        "playbook",
        "lint",
        "--playbooks",
        dir.path().to_str().expect("utf-8"),
        "--format",
        "jsonl",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let rows = json_lines(&out);
    assert_eq!(rows.len(), 1, "only the broken file has issues: {rows:?}");
    assert_eq!(rows[0]["line"].as_str(), Some(line.to_string().as_str()));
}

#[test]
fn hostile_or_broken_files_are_refused_with_a_message() {
    let dir = tempdir();
    let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..9 {
        let p = i - 1;
        bomb.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    std::fs::write(dir.path().join("bomb.yaml"), bomb).expect("write");
    std::fs::write(dir.path().join("typo.yaml"), "id: x\ntitel: y\n").expect("write");
    let out = run(&[
        "playbook",
        "lint",
        "--no-builtin-playbooks",
        "--playbooks",
        dir.path().to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains("bomb.yaml") && (text.contains("YAML nodes") || text.contains("repetition")),
        "{text}"
    );
    assert!(
        text.contains("typo.yaml:2: error") && text.contains("titel"),
        "{text}"
    );
    // list still works and reports the bad files on stderr.
    let out = run(&[
        "playbook",
        "list",
        "--playbooks",
        dir.path().to_str().expect("utf-8"),
        "--format",
        "csv",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out).lines().count(), 1 + SHIPPED.len());
    assert!(stderr(&out).contains("typo.yaml"), "{}", stderr(&out));
}
