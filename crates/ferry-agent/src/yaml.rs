//! The little YAML plumbing the appspec parser needs on top of serde-saphyr: untyped scalars that
//! keep their source text (so `mode: 0644` and `version: 0.0` are read as written), maps kept
//! in document order with their keys' locations, and syntax errors split into message and
//! position.

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
pub(crate) use serde_saphyr::{Location, Spanned};
use std::fmt;

/// A scalar as the YAML core schema resolved it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Scalar {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
}

/// A mapping in document order (duplicate keys are already refused by the parser).
pub(crate) struct Entries<K, V>(pub Vec<(K, V)>);

pub(crate) trait SpannedExt {
    /// The text of this node as written in `src` (quotes included), or a rendering of the value
    /// when the parser gave no byte span.
    fn source_text<'a>(&'a self, src: &'a str) -> std::borrow::Cow<'a, str>;
}

impl SpannedExt for Spanned<Scalar> {
    fn source_text<'a>(&'a self, src: &'a str) -> std::borrow::Cow<'a, str> {
        let span = self.defined.span();
        let text = span
            .byte_offset()
            .zip(span.byte_len())
            .and_then(|(at, len)| {
                let at = usize::try_from(at).ok()?;
                src.get(at..at.checked_add(usize::try_from(len).ok()?)?)
            });
        match (text.map(str::trim), &self.value) {
            (Some(t), _) if !t.is_empty() => t.into(),
            (_, Scalar::Str(s)) => s.as_str().into(),
            (_, Scalar::Null) => "null".into(),
            (_, Scalar::Bool(b)) => b.to_string().into(),
            (_, Scalar::Int(i)) => i.to_string().into(),
            (_, Scalar::Float(f)) => f.to_string().into(),
        }
    }
}

/// A YAML syntax or shape error: the parser's message without its location suffix, and the
/// location.
#[derive(Debug)]
pub(crate) struct YamlError {
    pub message: String,
    pub line: Option<u64>,
    pub column: Option<u64>,
}

/// Deserialize one YAML document; `None` for an empty one.
pub(crate) fn from_str<T: for<'de> Deserialize<'de>>(text: &str) -> Result<Option<T>, YamlError> {
    serde_saphyr::from_str::<Option<T>>(text).map_err(|e| {
        let location = e.location().filter(|l| l.line() > 0);
        let mut message = e.without_snippet().to_string();
        if let Some(at) = message.rfind(" at line ") {
            message.truncate(at);
        }
        if let Some(at) = message.find(", set DuplicateKeyPolicy") {
            message.truncate(at);
        }
        YamlError {
            message,
            line: location.map(|l| l.line()),
            column: location.map(|l| l.column()),
        }
    })
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a single value")
    }
    fn visit_unit<E>(self) -> Result<Scalar, E> {
        Ok(Scalar::Null)
    }
    fn visit_none<E>(self) -> Result<Scalar, E> {
        Ok(Scalar::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Scalar, D::Error> {
        Scalar::deserialize(d)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Scalar, E> {
        Ok(Scalar::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Scalar, E> {
        Ok(Scalar::Int(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Scalar, E> {
        Ok(Scalar::Int(v.into()))
    }
    fn visit_i128<E>(self, v: i128) -> Result<Scalar, E> {
        Ok(Scalar::Int(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Scalar, E> {
        Ok(Scalar::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Scalar, E> {
        Ok(Scalar::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Scalar, E> {
        Ok(Scalar::Str(v))
    }
}

impl<'de, K: Deserialize<'de>, V: Deserialize<'de>> Deserialize<'de> for Entries<K, V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct EntriesVisitor<K, V>(std::marker::PhantomData<(K, V)>);
        impl<'de, K: Deserialize<'de>, V: Deserialize<'de>> Visitor<'de> for EntriesVisitor<K, V> {
            type Value = Entries<K, V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(Entries(entries))
            }
        }
        d.deserialize_map(EntriesVisitor(std::marker::PhantomData))
    }
}
