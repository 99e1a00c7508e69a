//! Embeds the built-in rule pack: every `rules/**/*.yml` of the repository except
//! `rules/tests/**`, as a static list of `(relative path, text)`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn collect(dir: &Path, root: &Path, out: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(rel) = path.strip_prefix(root) else {
            continue;
        };
        let rel = rel.to_string_lossy().replace('\\', "/");
        if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            if rel == "tests" {
                continue;
            }
            println!("cargo:rerun-if-changed={}", path.display());
            collect(&path, root, out);
        } else if path.extension().is_some_and(|e| e == "yml" || e == "yaml") {
            out.push((rel, path));
        }
    }
}

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let root = Path::new(&manifest).join("../../rules");
    println!("cargo:rerun-if-changed={}", root.display());
    println!("cargo:rerun-if-changed=build.rs");
    let mut files = Vec::new();
    if let Ok(root) = root.canonicalize() {
        collect(&root, &root, &mut files);
    }
    files.sort();
    let mut code = String::from("/// Embedded rule files: (path relative to rules/, text).\n");
    code.push_str("pub(crate) static BUILTIN_RULE_FILES: &[(&str, &str)] = &[\n");
    for (rel, path) in &files {
        let _ = writeln!(
            code,
            "    ({:?}, include_str!({:?})),",
            rel,
            path.display().to_string()
        );
    }
    code.push_str("];\n");
    let out_dir = std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into());
    let dest = Path::new(&out_dir).join("builtin_rules.rs");
    if let Err(e) = std::fs::write(&dest, code) {
        panic!("cannot write {}: {e}", dest.display());
    }
}
