//! Embeds the shipped playbooks: every `playbooks/*.yaml` (and `*.yml`) of the repository,
//! as a static list of `(file name, text)`.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let root = Path::new(&manifest).join("../../playbooks");
    println!("cargo:rerun-if-changed={}", root.display());
    println!("cargo:rerun-if-changed=build.rs");
    let mut files = Vec::new();
    if let Ok(root) = root.canonicalize() {
        if let Ok(entries) = std::fs::read_dir(&root) {
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_file() && path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                    println!("cargo:rerun-if-changed={}", path.display());
                    let name = entry.file_name().to_string_lossy().into_owned();
                    files.push((name, path));
                }
            }
        }
    }
    files.sort();
    let mut code = String::from("/// Embedded playbook files: (file name, text).\n");
    code.push_str("pub(crate) static BUILTIN_PLAYBOOK_FILES: &[(&str, &str)] = &[\n");
    for (name, path) in &files {
        let _ = writeln!(
            code,
            "    ({:?}, include_str!({:?})),",
            name,
            path.display().to_string()
        );
    }
    code.push_str("];\n");
    let out_dir = std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into());
    let dest = Path::new(&out_dir).join("builtin_playbooks.rs");
    if let Err(e) = std::fs::write(&dest, code) {
        panic!("cannot write {}: {e}", dest.display());
    }
}
