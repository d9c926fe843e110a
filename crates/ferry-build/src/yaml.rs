//! A small YAML document tree on top of serde-saphyr that keeps the *source text* of every
//! scalar and the line of every node.
//!
//! serde-saphyr resolves plain scalars while deserializing untyped values (`3.10` arrives as the
//! float `3.1`, `010` as `10`, `yes`/`n` as booleans). Buildspecs need the text as written, so
//! every node is read through [`serde_saphyr::Spanned`], whose location carries the byte span of
//! the scalar in the input; for scalars that were resolved to a bool or a number we slice the
//! original text with that span (using the *defined* location, so aliases give the anchored
//! scalar's text, not `*alias`). Quoted and block scalars arrive as strings already.

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{Location, Spanned};
use std::fmt;

/// How a scalar was resolved by the YAML 1.1 core schema (as written, before our own typing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScalarKind {
    /// Quoted, block or plain text that is not a bool or number.
    Str,
    Bool(bool),
    Int,
    Float,
}

#[derive(Debug, Clone)]
pub(crate) enum Kind {
    Null,
    Scalar { text: String, kind: ScalarKind },
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub kind: Kind,
    /// 1-based line (0 when unknown).
    pub line: usize,
}

impl Node {
    pub fn describe(&self) -> &'static str {
        match self.kind {
            Kind::Null => "null",
            Kind::Scalar { .. } => "string",
            Kind::Seq(_) => "list",
            Kind::Map(_) => "subkeys",
        }
    }

    /// The text of a scalar key/value (None for null and collections).
    pub fn scalar(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match &self.kind {
            Kind::Null => Value::Null,
            Kind::Scalar { text, kind } => match kind {
                ScalarKind::Bool(b) => Value::Bool(*b),
                ScalarKind::Int => text
                    .parse::<i64>()
                    .map(Value::from)
                    .unwrap_or_else(|_| Value::String(text.clone())),
                // Floats keep their text (`0.2`, `3.10`); strings are strings.
                ScalarKind::Float | ScalarKind::Str => Value::String(text.clone()),
            },
            Kind::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            Kind::Map(entries) => {
                let mut map = serde_json::Map::new();
                for (k, v) in entries {
                    let key = match &k.kind {
                        Kind::Scalar { text, .. } => text.clone(),
                        Kind::Null => String::new(),
                        _ => k.to_json().to_string(),
                    };
                    map.insert(key, v.to_json());
                }
                Value::Object(map)
            }
        }
    }
}

/// A YAML syntax error: saphyr's message without its location suffix, and the location.
#[derive(Debug)]
pub(crate) struct SyntaxError {
    pub message: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
}

/// Parse the first document of `text` (like go-yaml's `Unmarshal`, which CodeBuild uses, later
/// documents are ignored); also returns how many documents followed it. `Ok(None)` = empty.
pub(crate) fn parse(text: &str) -> Result<Option<(Node, usize)>, SyntaxError> {
    let docs: Vec<Spanned<Raw>> = serde_saphyr::from_str_multiple(text).map_err(|e| {
        let loc = e.location().filter(|l| l.line() > 0);
        let mut message = e.without_snippet().to_string();
        // saphyr appends " at line L, column C"; the caller renders locations its own way.
        if let Some(idx) = message.rfind(" at line ") {
            let tail = &message[idx + " at line ".len()..];
            if tail
                .chars()
                .all(|c| c.is_ascii_digit() || c == ',' || c == ' ' || c.is_ascii_alphabetic())
                && tail.contains("column")
            {
                message.truncate(idx);
            }
        }
        SyntaxError {
            message,
            line: loc.map(|l| l.line() as usize),
            column: loc.map(|l| l.column() as usize),
        }
    })?;
    let extra = docs.len().saturating_sub(1);
    Ok(docs
        .into_iter()
        .next()
        .map(|first| (convert(first, text), extra)))
}

fn source_text<'a>(loc: &Location, src: &'a str) -> Option<&'a str> {
    let span = loc.span();
    let start = usize::try_from(span.byte_offset()?).ok()?;
    let len = usize::try_from(span.byte_len()?).ok()?;
    let s = src.get(start..start.checked_add(len)?)?;
    (!s.is_empty()).then_some(s)
}

fn convert(raw: Spanned<Raw>, src: &str) -> Node {
    let line = raw.referenced.line() as usize;
    let kind = match raw.value {
        Raw::Null => Kind::Null,
        Raw::Str(text) => Kind::Scalar {
            text,
            kind: ScalarKind::Str,
        },
        Raw::Resolved { fallback, kind } => {
            let text = source_text(&raw.defined, src)
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .unwrap_or(fallback);
            Kind::Scalar { text, kind }
        }
        Raw::Seq(items) => Kind::Seq(items.into_iter().map(|i| convert(i, src)).collect()),
        Raw::Map(entries) => Kind::Map(
            entries
                .into_iter()
                .map(|(k, v)| (convert(k, src), convert(v, src)))
                .collect(),
        ),
    };
    Node { kind, line }
}

/// What serde-saphyr hands an untyped visitor.
enum Raw {
    Null,
    Str(String),
    Resolved { fallback: String, kind: ScalarKind },
    Seq(Vec<Spanned<Raw>>),
    Map(Vec<(Spanned<Raw>, Spanned<Raw>)>),
}

impl<'de> Deserialize<'de> for Raw {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(RawVisitor)
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = Raw;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML node")
    }
    fn visit_unit<E>(self) -> Result<Raw, E> {
        Ok(Raw::Null)
    }
    fn visit_none<E>(self) -> Result<Raw, E> {
        Ok(Raw::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Raw, D::Error> {
        Raw::deserialize(d)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Raw, E> {
        Ok(Raw::Resolved {
            fallback: v.to_string(),
            kind: ScalarKind::Bool(v),
        })
    }
    fn visit_i64<E>(self, v: i64) -> Result<Raw, E> {
        Ok(Raw::Resolved {
            fallback: v.to_string(),
            kind: ScalarKind::Int,
        })
    }
    fn visit_u64<E>(self, v: u64) -> Result<Raw, E> {
        Ok(Raw::Resolved {
            fallback: v.to_string(),
            kind: ScalarKind::Int,
        })
    }
    fn visit_i128<E>(self, v: i128) -> Result<Raw, E> {
        Ok(Raw::Resolved {
            fallback: v.to_string(),
            kind: ScalarKind::Int,
        })
    }
    fn visit_u128<E>(self, v: u128) -> Result<Raw, E> {
        Ok(Raw::Resolved {
            fallback: v.to_string(),
            kind: ScalarKind::Int,
        })
    }
    fn visit_f64<E>(self, v: f64) -> Result<Raw, E> {
        Ok(Raw::Resolved {
            fallback: v.to_string(),
            kind: ScalarKind::Float,
        })
    }
    fn visit_str<E>(self, v: &str) -> Result<Raw, E> {
        Ok(Raw::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Raw, E> {
        Ok(Raw::Str(v))
    }
    fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Raw, E> {
        Ok(Raw::Str(String::from_utf8_lossy(v).into_owned()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Raw, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Raw::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = map.next_entry()? {
            entries.push(entry);
        }
        Ok(Raw::Map(entries))
    }
}
