//! Finding inputs: directories walked recursively in sorted order, nothing skipped
//! silently, `-` as standard input.
mod common;

use std::path::PathBuf;

use firebreak_events::{discover_inputs, InputFile, ReadErrorKind};

#[test]
fn walks_directories_sorted_and_reports_problems() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("b/nested")).unwrap();
    std::fs::create_dir_all(root.join("a")).unwrap();
    std::fs::write(root.join("b/nested/z.json"), b"{}").unwrap();
    std::fs::write(root.join("b/2.json.gz"), b"").unwrap();
    std::fs::write(root.join("a/1.json"), b"[]").unwrap();
    std::fs::write(root.join(".hidden"), b"x").unwrap();
    std::fs::write(root.join("README"), b"hello").unwrap();
    std::os::unix::fs::symlink(root.join("nowhere"), root.join("dangling")).unwrap();
    std::os::unix::fs::symlink(root, root.join("b/loop")).unwrap();

    let (files, errors) = discover_inputs(&[
        root.to_path_buf(),
        PathBuf::from("-"),
        root.join("missing.json"),
    ]);
    let names: Vec<String> = files
        .iter()
        .map(|f| {
            if f.is_stdin() {
                "-".into()
            } else {
                f.path.strip_prefix(root).unwrap().display().to_string()
            }
        })
        .collect();
    assert_eq!(
        names,
        [
            ".hidden",
            "README",
            "a/1.json",
            "b/2.json.gz",
            "b/nested/z.json",
            "-"
        ]
    );
    assert_eq!(files[2].len, 2);
    assert_eq!(files[5], InputFile::stdin());

    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(errors.iter().all(|e| e.kind == ReadErrorKind::Io));
    assert!(errors.iter().any(|e| e.file.ends_with("dangling")));
    assert!(errors
        .iter()
        .any(|e| e.file.ends_with("b/loop") && e.message.contains("loop")));
    assert!(errors.iter().any(|e| e.file.ends_with("missing.json")));
}

#[test]
fn a_file_given_directly_is_kept() {
    let (files, errors) = discover_inputs(&[common::data("lines.jsonl")]);
    assert!(errors.is_empty());
    assert_eq!(files.len(), 1);
    assert!(files[0].len > 100);
    assert_eq!(
        files[0].display_name(),
        common::data("lines.jsonl").display().to_string()
    );
}
