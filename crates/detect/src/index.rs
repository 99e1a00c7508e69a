//! The rule index: rules grouped by the `eventName` values they can match, looked up
//! case-insensitively without allocating.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use firebreak_events::{EventFields, FieldValue};

use crate::compile::{decode_json_escapes, FieldPath};
use crate::rule::RuleIdx;

/// FNV-1a: short keys, no DoS concern (keys come from our own rules).
#[derive(Default)]
pub(crate) struct FnvHasher(u64);

impl Hasher for FnvHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

/// A value a rule requires of an indexed field (lowercase).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum IndexKey {
    /// The whole value.
    Exact(String),
    /// A prefix of the value (`|startswith`, or a trailing `*`).
    Prefix(String),
}

type FastMap = HashMap<Box<[u8]>, Vec<RuleIdx>, BuildHasherDefault<FnvHasher>>;

/// Rules by the exact values and prefixes they require of one field.
#[derive(Debug, Default, Clone)]
struct KeyTable {
    exact: FastMap,
    prefixes: Vec<(Box<[u8]>, Vec<RuleIdx>)>,
}

fn push_unique(list: &mut Vec<RuleIdx>, rule: RuleIdx) {
    if list.last() != Some(&rule) {
        list.push(rule);
    }
}

const STACK_NAME: usize = 128;

impl KeyTable {
    fn add(&mut self, rule: RuleIdx, keys: &[IndexKey]) {
        for key in keys {
            match key {
                IndexKey::Exact(v) => {
                    let k: Box<[u8]> = v.to_ascii_lowercase().into_bytes().into_boxed_slice();
                    push_unique(self.exact.entry(k).or_default(), rule);
                }
                IndexKey::Prefix(p) => {
                    let k: Box<[u8]> = p.to_ascii_lowercase().into_bytes().into_boxed_slice();
                    match self
                        .prefixes
                        .iter_mut()
                        .find(|(existing, _)| *existing == k)
                    {
                        Some((_, list)) => push_unique(list, rule),
                        None => self.prefixes.push((k, vec![rule])),
                    }
                }
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.prefixes.is_empty()
    }

    /// Keeps only the rules for which `keep` is true, dropping keys left without rules.
    fn retain(&mut self, keep: &dyn Fn(RuleIdx) -> bool) {
        self.exact.retain(|_, list| {
            list.retain(|&r| keep(r));
            !list.is_empty()
        });
        self.prefixes.retain_mut(|(_, list)| {
            list.retain(|&r| keep(r));
            !list.is_empty()
        });
    }

    /// Visits the rules whose keys match `value` (ASCII case-insensitively).
    fn visit(&self, value: &str, visit: &mut dyn FnMut(RuleIdx)) {
        let bytes = value.as_bytes();
        let mut buf = [0u8; STACK_NAME];
        let owned;
        let lower: &[u8] = if bytes.len() <= STACK_NAME {
            let slot = &mut buf[..bytes.len()];
            slot.copy_from_slice(bytes);
            slot.make_ascii_lowercase();
            slot
        } else {
            owned = value.to_ascii_lowercase().into_bytes();
            &owned
        };
        if let Some(list) = self.exact.get(lower) {
            list.iter().for_each(|&r| visit(r));
        }
        for (prefix, list) in &self.prefixes {
            if lower.starts_with(prefix) {
                list.iter().for_each(|&r| visit(r));
            }
        }
    }
}

/// Where a rule sits in the index.
#[derive(Debug, Clone)]
pub(crate) enum Placement {
    /// Under the `eventName` values/prefixes it requires.
    Name(Vec<IndexKey>),
    /// Under the `eventSource` values/prefixes it requires.
    Source(Vec<IndexKey>),
    /// Under the values/prefixes it requires of another field.
    Field(String, Vec<IndexKey>),
    /// Tested on every event.
    Always,
}

/// Rules indexed by the `eventName` values they require, else by the `eventSource`
/// values they require, else by the values of some other field they require (e.g.
/// `userIdentity.type: Root`), else tested on every event.
#[derive(Debug, Default, Clone)]
pub(crate) struct NameIndex {
    by_name: KeyTable,
    by_source: KeyTable,
    by_field: Vec<(FieldPath, KeyTable)>,
    unindexed: Vec<RuleIdx>,
}

impl NameIndex {
    /// Adds a rule at its placement.
    pub(crate) fn add(&mut self, rule: RuleIdx, placement: &Placement) {
        match placement {
            Placement::Name(keys) => self.by_name.add(rule, keys),
            Placement::Source(keys) => self.by_source.add(rule, keys),
            Placement::Field(field, keys) => {
                match self
                    .by_field
                    .iter_mut()
                    .find(|(path, _)| path.name() == field)
                {
                    Some((_, table)) => table.add(rule, keys),
                    None => {
                        let mut table = KeyTable::default();
                        table.add(rule, keys);
                        self.by_field.push((FieldPath::new(field), table));
                    }
                }
            }
            Placement::Always => self.unindexed.push(rule),
        }
    }

    /// Whether no rule at all is in the index.
    pub(crate) fn is_empty(&self) -> bool {
        self.by_name.is_empty()
            && self.by_source.is_empty()
            && self.by_field.is_empty()
            && self.unindexed.is_empty()
    }

    /// Keeps only the rules for which `keep` is true; fields left without rules are no
    /// longer looked up on events.
    pub(crate) fn retain(&mut self, keep: &dyn Fn(RuleIdx) -> bool) {
        self.by_name.retain(keep);
        self.by_source.retain(keep);
        self.by_field.retain_mut(|(_, table)| {
            table.retain(keep);
            !table.is_empty()
        });
        self.unindexed.retain(|&r| keep(r));
    }

    /// The fields (other than `eventName` and `eventSource`) rules are indexed by.
    #[cfg(test)]
    pub(crate) fn indexed_fields(&self) -> Vec<&str> {
        self.by_field.iter().map(|(path, _)| path.name()).collect()
    }

    /// Rules that need no particular field value.
    pub(crate) fn unindexed(&self) -> &[RuleIdx] {
        &self.unindexed
    }

    /// Number of distinct indexed values and prefixes (over all indexed fields).
    pub(crate) fn key_count(&self) -> usize {
        let table = |t: &KeyTable| t.exact.len() + t.prefixes.len();
        table(&self.by_name)
            + table(&self.by_source)
            + self.by_field.iter().map(|(_, t)| table(t)).sum::<usize>()
    }

    /// Visits every rule that may match an event with this name and source (a rule
    /// may be visited twice when several of its keys match).
    pub(crate) fn candidates<E: EventFields + ?Sized>(
        &self,
        event: &E,
        name: Option<&str>,
        source: Option<&str>,
        visit: &mut dyn FnMut(RuleIdx),
    ) {
        if let Some(name) = name {
            self.by_name.visit(name, visit);
        }
        if let Some(source) = source {
            self.by_source.visit(source, visit);
        }
        for (path, table) in &self.by_field {
            path.any(event, &mut |value| {
                match value {
                    FieldValue::Null => {}
                    FieldValue::Bool(b) => table.visit(if *b { "true" } else { "false" }, visit),
                    FieldValue::Number(t) | FieldValue::Str(t) => table.visit(t, visit),
                    FieldValue::Object(t) | FieldValue::Array(t) => {
                        table.visit(t, visit);
                        if let std::borrow::Cow::Owned(decoded) = decode_json_escapes(t) {
                            table.visit(&decoded, visit);
                        }
                    }
                }
                false
            });
        }
        self.unindexed.iter().for_each(|&r| visit(r));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_is_case_insensitive_with_prefixes_sources_and_fields() {
        let exact = |s: &str| IndexKey::Exact(s.to_string());
        let mut idx = NameIndex::default();
        idx.add(0, &Placement::Name(vec![exact("ConsoleLogin")]));
        idx.add(
            1,
            &Placement::Name(vec![exact("consolelogin"), exact("GetUser")]),
        );
        idx.add(2, &Placement::Always);
        idx.add(
            3,
            &Placement::Name(vec![IndexKey::Prefix("updatefunctioncode".into())]),
        );
        idx.add(4, &Placement::Source(vec![exact("Q.amazonaws.com")]));
        idx.add(
            5,
            &Placement::Field("userIdentity.type".into(), vec![exact("Root")]),
        );
        idx.add(
            6,
            &Placement::Field("readOnly".into(), vec![exact("false")]),
        );
        let seen = |event: serde_json::Value| {
            let mut v = Vec::new();
            let name = event.event_name();
            let source = event.event_source();
            idx.candidates(&event, name.as_deref(), source.as_deref(), &mut |r| {
                v.push(r)
            });
            v
        };
        use serde_json::json;
        assert_eq!(seen(json!({"eventName": "CONSOLELOGIN"})), vec![0, 1, 2]);
        assert_eq!(seen(json!({"eventName": "getuser"})), vec![1, 2]);
        assert_eq!(seen(json!({"eventName": "Other"})), vec![2]);
        assert_eq!(
            seen(
                json!({"eventName": "UpdateFunctionCode20150331v2", "eventSource": "lambda.amazonaws.com"})
            ),
            vec![3, 2]
        );
        assert_eq!(
            seen(json!({"eventName": "Chat", "eventSource": "q.amazonaws.com"})),
            vec![4, 2]
        );
        assert_eq!(
            seen(json!({"userIdentity": {"type": "root"}, "readOnly": false})),
            vec![5, 6, 2]
        );
        let long = "x".repeat(300);
        assert_eq!(seen(json!({"eventName": long})), vec![2]);
        assert_eq!(idx.key_count(), 6);

        let mut kept = idx.clone();
        kept.retain(&|r| r != 1 && r != 5);
        let seen_kept = |event: serde_json::Value| {
            let mut v = Vec::new();
            let name = event.event_name();
            let source = event.event_source();
            kept.candidates(&event, name.as_deref(), source.as_deref(), &mut |r| {
                v.push(r)
            });
            v
        };
        assert_eq!(seen_kept(json!({"eventName": "CONSOLELOGIN"})), vec![0, 2]);
        assert_eq!(seen_kept(json!({"eventName": "getuser"})), vec![2]);
        assert_eq!(
            seen_kept(json!({"userIdentity": {"type": "root"}, "readOnly": false})),
            vec![6, 2]
        );
        // getuser and the userIdentity.type field are gone.
        assert_eq!(kept.key_count(), 4);
        assert_eq!(kept.by_field.len(), 1);
    }
}
