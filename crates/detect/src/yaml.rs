//! A small YAML tree built with a node budget and a depth limit, so that alias bombs
//! ("billion laughs") and absurdly nested documents are refused instead of expanded.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};

use crate::error::Problem;

/// One YAML node. Scalars keep their text form, which is how Sigma compares values.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Yaml {
    /// `null`, `~` or an empty value.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer or float, as text.
    Number(String),
    /// A string.
    Str(String),
    /// A sequence.
    Seq(Vec<Yaml>),
    /// A mapping, in document order.
    Map(Vec<(Yaml, Yaml)>),
}

impl Yaml {
    /// The node as scalar text (`None` for null, sequences and mappings).
    pub(crate) fn scalar_text(&self) -> Option<String> {
        match self {
            Yaml::Bool(b) => Some(b.to_string()),
            Yaml::Number(n) | Yaml::Str(n) => Some(n.clone()),
            _ => None,
        }
    }

    /// Looks up a key in a mapping.
    pub(crate) fn get(&self, key: &str) -> Option<&Yaml> {
        match self {
            Yaml::Map(entries) => entries
                .iter()
                .find(|(k, _)| matches!(k, Yaml::Str(s) if s == key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// The text of a string (or number/bool) node.
    pub(crate) fn as_str_like(&self) -> Option<String> {
        self.scalar_text()
    }

    /// A short name of the node's type, for messages.
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Yaml::Null => "null",
            Yaml::Bool(_) => "boolean",
            Yaml::Number(_) => "number",
            Yaml::Str(_) => "string",
            Yaml::Seq(_) => "list",
            Yaml::Map(_) => "mapping",
        }
    }
}

/// Limits applied while building the tree.
struct Budget<'a> {
    nodes_left: &'a Cell<usize>,
    depth_left: usize,
    node_limit: usize,
    depth_limit: usize,
    exceeded: &'a Cell<Option<Problem>>,
}

impl Budget<'_> {
    fn take_node<E: de::Error>(&self) -> Result<(), E> {
        let left = self.nodes_left.get();
        if left == 0 {
            self.exceeded.set(Some(Problem::TooManyNodes {
                limit: self.node_limit,
            }));
            return Err(E::custom("node budget exceeded"));
        }
        self.nodes_left.set(left - 1);
        Ok(())
    }

    fn child<E: de::Error>(&self) -> Result<Budget<'_>, E> {
        if self.depth_left == 0 {
            self.exceeded.set(Some(Problem::TooDeep {
                limit: self.depth_limit,
            }));
            return Err(E::custom("depth limit exceeded"));
        }
        Ok(Budget {
            nodes_left: self.nodes_left,
            depth_left: self.depth_left - 1,
            node_limit: self.node_limit,
            depth_limit: self.depth_limit,
            exceeded: self.exceeded,
        })
    }
}

impl<'de> DeserializeSeed<'de> for &Budget<'_> {
    type Value = Yaml;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Yaml, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for &Budget<'_> {
    type Value = Yaml;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a YAML value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Yaml, E> {
        self.take_node()?;
        Ok(Yaml::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Yaml, E> {
        self.take_node()?;
        Ok(Yaml::Null)
    }

    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Yaml, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Yaml, E> {
        self.take_node()?;
        Ok(Yaml::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Yaml, E> {
        self.take_node()?;
        Ok(Yaml::Number(v.to_string()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Yaml, E> {
        self.take_node()?;
        Ok(Yaml::Number(v.to_string()))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Yaml, E> {
        self.take_node()?;
        Ok(Yaml::Number(v.to_string()))
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Yaml, E> {
        self.take_node()?;
        Ok(Yaml::Number(v.to_string()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Yaml, E> {
        self.take_node()?;
        Ok(Yaml::Number(v.to_string()))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Yaml, E> {
        self.take_node()?;
        Ok(Yaml::Str(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Yaml, E> {
        self.take_node()?;
        Ok(Yaml::Str(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Yaml, A::Error> {
        self.take_node()?;
        let child = self.child()?;
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(&child)? {
            items.push(item);
        }
        Ok(Yaml::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Yaml, A::Error> {
        self.take_node()?;
        let child = self.child()?;
        let mut entries = Vec::new();
        while let Some(key) = map.next_key_seed(&child)? {
            let value = map.next_value_seed(&child)?;
            entries.push((key, value));
        }
        Ok(Yaml::Map(entries))
    }

    fn visit_enum<A: de::EnumAccess<'de>>(self, _data: A) -> Result<Yaml, A::Error> {
        Err(de::Error::custom(
            "YAML tags (!tag) are not supported in rules",
        ))
    }
}

/// Parses every document of `text` into trees, each document separately so that a bad
/// document does not hide the others. Each item is the document or the problem with it.
pub(crate) fn parse_documents(
    text: &str,
    node_limit: usize,
    depth_limit: usize,
    max_documents: usize,
) -> Vec<Result<Yaml, Problem>> {
    let mut out = Vec::new();
    for document in yaml_serde::Deserializer::from_str(text) {
        if out.len() >= max_documents {
            out.push(Err(Problem::TooManyDocuments {
                limit: max_documents,
            }));
            break;
        }
        let nodes_left = Cell::new(node_limit);
        let exceeded = Cell::new(None);
        let budget = Budget {
            nodes_left: &nodes_left,
            depth_left: depth_limit,
            node_limit,
            depth_limit,
            exceeded: &exceeded,
        };
        let result = (&budget).deserialize(document);
        let failed_hard = result.is_err();
        out.push(result.map_err(|e| match exceeded.take() {
            Some(problem) => problem,
            None => Problem::Yaml(e.to_string()),
        }));
        // A syntax error ends libyaml's stream: later documents cannot be trusted.
        if failed_hard && matches!(out.last(), Some(Err(Problem::Yaml(_)))) {
            break;
        }
    }
    out
}
