//! Reading playbooks: size cap, a guarded first pass that refuses alias bombs and deep
//! nesting, then typed deserialisation with line numbers in every error.

use std::cell::Cell;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};

use crate::error::{Issue, LoadError, Severity};
use crate::model::Playbook;

/// Limits that keep hostile playbook files from exhausting the process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest file accepted, in bytes (default 512 KiB).
    pub max_file_bytes: u64,
    /// Most YAML nodes after alias expansion (default 50,000).
    pub max_yaml_nodes: usize,
    /// Deepest nesting (default 32).
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_bytes: 512 << 10,
            max_yaml_nodes: 50_000,
            max_depth: 32,
        }
    }
}

/// A parsed playbook with where it came from and its text (for line numbers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedPlaybook {
    /// The file path, or `builtin:<file name>`.
    pub origin: String,
    /// Whether it is one of the shipped playbooks.
    pub builtin: bool,
    /// The YAML text.
    pub text: String,
    /// The playbook.
    pub playbook: Playbook,
}

#[derive(Debug, Clone, Copy)]
enum Exceeded {
    Nodes,
    Depth,
}

struct Guard<'a> {
    nodes_left: &'a Cell<usize>,
    depth_left: usize,
    exceeded: &'a Cell<Option<Exceeded>>,
}

impl Guard<'_> {
    fn take<E: de::Error>(&self) -> Result<(), E> {
        let left = self.nodes_left.get();
        if left == 0 {
            self.exceeded.set(Some(Exceeded::Nodes));
            return Err(E::custom("node budget exceeded"));
        }
        self.nodes_left.set(left - 1);
        Ok(())
    }

    fn child<E: de::Error>(&self) -> Result<Guard<'_>, E> {
        if self.depth_left == 0 {
            self.exceeded.set(Some(Exceeded::Depth));
            return Err(E::custom("depth limit exceeded"));
        }
        Ok(Guard {
            nodes_left: self.nodes_left,
            depth_left: self.depth_left - 1,
            exceeded: self.exceeded,
        })
    }
}

impl<'de> DeserializeSeed<'de> for &Guard<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for &Guard<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a YAML value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.take()
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.take()
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.take()
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.take()
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.take()
    }
    fn visit_i128<E: de::Error>(self, _: i128) -> Result<(), E> {
        self.take()
    }
    fn visit_u128<E: de::Error>(self, _: u128) -> Result<(), E> {
        self.take()
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.take()
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.take()
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.take()?;
        let child = self.child()?;
        while seq.next_element_seed(&child)?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.take()?;
        let child = self.child()?;
        while map.next_key_seed(&child)?.is_some() {
            map.next_value_seed(&child)?;
        }
        Ok(())
    }
    fn visit_enum<A: de::EnumAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(de::Error::custom(
            "YAML tags (!tag) are not supported in playbooks",
        ))
    }
}

fn issue(origin: &str, line: Option<usize>, message: String) -> Issue {
    Issue {
        file: origin.to_owned(),
        line,
        path: String::new(),
        severity: Severity::Error,
        message,
    }
}

/// Parses one playbook from YAML text. `origin` names the file in messages.
///
/// Refuses (with an [`Issue`] naming the line where known) text over the size limit,
/// more than one document, alias bombs, excessive nesting, unknown keys, wrong types
/// and missing required keys. Meaning is checked afterwards by [`crate::lint()`].
pub fn parse_playbook(origin: &str, text: &str, limits: &Limits) -> Result<LoadedPlaybook, Issue> {
    if text.len() as u64 > limits.max_file_bytes {
        return Err(issue(
            origin,
            None,
            format!(
                "{} bytes, over the limit of {} bytes",
                text.len(),
                limits.max_file_bytes
            ),
        ));
    }
    let blank = text.lines().all(|l| {
        let t = l.trim();
        t.is_empty() || t.starts_with('#') || t == "---" || t == "..."
    });
    if blank {
        return Err(issue(origin, None, "empty file: no playbook".into()));
    }
    let mut documents = 0usize;
    for document in yaml_serde::Deserializer::from_str(text) {
        documents += 1;
        if documents > 1 {
            return Err(issue(
                origin,
                None,
                "a playbook file holds exactly one YAML document".into(),
            ));
        }
        let nodes_left = Cell::new(limits.max_yaml_nodes);
        let exceeded = Cell::new(None);
        let guard = Guard {
            nodes_left: &nodes_left,
            depth_left: limits.max_depth,
            exceeded: &exceeded,
        };
        if let Err(e) = (&guard).deserialize(document) {
            let message = match exceeded.get() {
                Some(Exceeded::Nodes) => format!(
                    "document has more than {} YAML nodes (alias expansion or huge playbook)",
                    limits.max_yaml_nodes
                ),
                Some(Exceeded::Depth) => {
                    format!("document nests deeper than {} levels", limits.max_depth)
                }
                None => format!("invalid YAML: {}", strip_location(&e.to_string())),
            };
            return Err(issue(origin, e.location().map(|l| l.line()), message));
        }
    }
    if documents == 0 {
        return Err(issue(origin, None, "empty file: no playbook".into()));
    }
    match yaml_serde::from_str::<Playbook>(text) {
        Ok(playbook) => Ok(LoadedPlaybook {
            origin: origin.to_owned(),
            builtin: origin.starts_with("builtin:"),
            text: text.to_owned(),
            playbook,
        }),
        Err(e) => Err(issue(
            origin,
            e.location().map(|l| l.line()),
            strip_location(&e.to_string()),
        )),
    }
}

/// yaml_serde appends " at line L column C"; the line is reported separately.
fn strip_location(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

/// Reads and parses one playbook file.
pub fn load_file(path: &Path, limits: &Limits) -> Result<LoadedPlaybook, Issue> {
    let origin = path.display().to_string();
    let text = read_text(path, limits).map_err(|e| issue(&origin, None, error_message(&e)))?;
    parse_playbook(&origin, &text, limits)
}

fn error_message(e: &LoadError) -> String {
    let full = e.to_string();
    match full.split_once(": ") {
        Some((_, rest)) => rest.to_owned(),
        None => full,
    }
}

/// Reads a file as UTF-8 text within the size limit.
pub fn read_text(path: &Path, limits: &Limits) -> Result<String, LoadError> {
    let file = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|e| LoadError::Io {
        file: file.clone(),
        message: e.to_string(),
    })?;
    if meta.len() > limits.max_file_bytes {
        return Err(LoadError::TooLarge {
            file,
            size: meta.len(),
            limit: limits.max_file_bytes,
        });
    }
    let bytes = std::fs::read(path).map_err(|e| LoadError::Io {
        file: file.clone(),
        message: e.to_string(),
    })?;
    String::from_utf8(bytes).map_err(|_| LoadError::NotUtf8 { file })
}

/// The `*.yaml` / `*.yml` files of a directory (not recursive), sorted.
pub fn playbook_files(dir: &Path) -> Result<Vec<PathBuf>, LoadError> {
    let entries = std::fs::read_dir(dir).map_err(|e| LoadError::Io {
        file: dir.display().to_string(),
        message: e.to_string(),
    })?;
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    files.sort();
    Ok(files)
}

/// The shipped playbooks and any user directories, parsed.
#[derive(Debug, Clone, Default)]
pub struct Library {
    /// Playbooks that parsed, in load order (built-in first). A user playbook with the
    /// id of a shipped one replaces it.
    pub playbooks: Vec<LoadedPlaybook>,
    /// Files that could not be parsed, and duplicate ids among user playbooks.
    pub issues: Vec<Issue>,
}

impl Library {
    /// Loads the embedded playbooks (when `builtin`) and every playbook file in `dirs`.
    /// Bad files are reported in [`Library::issues`]; the others still load.
    pub fn load(builtin: bool, dirs: &[PathBuf], limits: &Limits) -> Library {
        let mut library = Library::default();
        if builtin {
            for (name, text) in crate::builtin_playbook_files() {
                library.add(parse_playbook(&format!("builtin:{name}"), text, limits));
            }
        }
        for dir in dirs {
            if dir.is_file() {
                library.add(load_file(dir, limits));
                continue;
            }
            match playbook_files(dir) {
                Ok(files) => {
                    for file in files {
                        library.add(load_file(&file, limits));
                    }
                }
                Err(e) => {
                    library
                        .issues
                        .push(issue(&dir.display().to_string(), None, error_message(&e)))
                }
            }
        }
        library
    }

    /// Adds one parse result.
    pub fn add(&mut self, result: Result<LoadedPlaybook, Issue>) {
        match result {
            Ok(loaded) => {
                let same = self
                    .playbooks
                    .iter()
                    .position(|p| p.playbook.id == loaded.playbook.id);
                match same {
                    Some(at) if self.playbooks[at].builtin && !loaded.builtin => {
                        self.playbooks[at] = loaded
                    }
                    Some(at) => {
                        let first = self.playbooks[at].origin.clone();
                        self.issues.push(issue(
                            &loaded.origin,
                            crate::locate::locate(
                                &loaded.text,
                                &crate::locate::KeyPath::default().key("id"),
                            ),
                            format!(
                                "playbook id '{}' is already used by {first}",
                                loaded.playbook.id
                            ),
                        ));
                    }
                    None => self.playbooks.push(loaded),
                }
            }
            Err(problem) => self.issues.push(problem),
        }
    }

    /// Finds a playbook by id.
    pub fn get(&self, id: &str) -> Option<&LoadedPlaybook> {
        self.playbooks.iter().find(|p| p.playbook.id == id)
    }
}
