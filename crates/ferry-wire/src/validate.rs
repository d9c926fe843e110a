//! Model-driven request validation: walks a request's JSON against the operation's input shape
//! in the generated tables and answers the error AWS would. A wrong JSON type is a
//! `SerializationException`; a constraint violation (required, length, range, enum, pattern)
//! becomes the most specific exception the operation models for that member
//! (`RepositoryNameRequiredException`, `InvalidRepositoryNameException`, ...), else the
//! service's validation exception with the Coral message (`1 validation error detected: ...`).
//! Also the JSON 1.1 request decoding the generated dispatchers share.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{LazyLock, Mutex, PoisonError};

use regex::Regex;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::AwsError;
use crate::shape::{Member, Operation, Service, ShapeId, ShapeKind};

/// Checks `input` against `op`'s input shape. Unknown members are ignored and `null` counts as
/// absent.
pub fn validate(service: &Service, op: &Operation, input: &Value) -> Result<(), AwsError> {
    let Some(id) = op.input else {
        return Ok(());
    };
    let mut walker = Walker {
        service,
        violations: Vec::new(),
    };
    walker.value(id, input, "", None)?;
    if walker.violations.is_empty() {
        Ok(())
    } else {
        Err(choose_error(service, op, &walker.violations))
    }
}

/// Decodes a JSON 1.1 request: finds the operation, parses the body (empty counts as `{}`) and
/// validates it. Returns the operation and the input object for [`from_value`].
pub fn decode_json_request<'s>(
    service: &'s Service,
    operation: &str,
    body: &[u8],
) -> Result<(&'s Operation, Value), AwsError> {
    let Some(op) = service.operation(operation) else {
        return Err(AwsError::new(
            "UnknownOperationException",
            format!("Unknown operation {operation}"),
        ));
    };
    let input = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Map::new())
    } else {
        serde_json::from_slice(body).map_err(|e| {
            AwsError::serialization(format!("The request body is not valid JSON: {e}"))
        })?
    };
    validate(service, op, &input)?;
    Ok((op, input))
}

/// Converts a validated input object into its typed form; a mismatch the walk did not catch
/// (an integer out of the Rust type's range, bad base64) is a `SerializationException`.
pub fn from_value<T: DeserializeOwned>(input: Value) -> Result<T, AwsError> {
    serde_json::from_value(input).map_err(|e| AwsError::serialization(e.to_string()))
}

/// What a violation is about, for choosing the modeled exception.
#[derive(Clone, Copy)]
struct Subject {
    /// The member name nearest to the value.
    name: &'static str,
    /// Whether the value is an element of that (list or map) member.
    element: bool,
    /// `List` or `Map` when the member is one (CodeCommit models `InvalidTagsMapException`).
    container: Option<&'static str>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Absent, or an empty list that must not be.
    Missing,
    /// Present with a bad value.
    Invalid,
    /// A list or map with too many entries.
    TooMany,
}

struct Violation {
    subject: Option<Subject>,
    kind: Kind,
    /// `Value ... at '...' failed to satisfy constraint: ...`
    text: String,
}

struct Walker<'s> {
    service: &'s Service,
    violations: Vec<Violation>,
}

impl Walker<'_> {
    fn value(
        &mut self,
        id: ShapeId,
        v: &Value,
        path: &str,
        subject: Option<Subject>,
    ) -> Result<(), AwsError> {
        let shape = self.service.shape(id);
        match &shape.kind {
            ShapeKind::Structure(members) => {
                let Value::Object(obj) = v else {
                    return Err(type_error(path, "a structure", v));
                };
                self.structure(members, obj, path)?;
            }
            ShapeKind::List { member, min, max } => {
                let Value::Array(items) = v else {
                    return Err(type_error(path, "a list", v));
                };
                self.size(items.len(), *min, *max, v, path, subject);
                let element = subject.map(|s| Subject { element: true, ..s });
                for (i, item) in items.iter().enumerate() {
                    if !item.is_null() {
                        self.value(*member, item, &format!("{path}.{}.member", i + 1), element)?;
                    }
                }
            }
            ShapeKind::Map {
                key,
                value,
                min,
                max,
            } => {
                let Value::Object(obj) = v else {
                    return Err(type_error(path, "a map", v));
                };
                self.size(obj.len(), *min, *max, v, path, subject);
                let element = subject.map(|s| Subject { element: true, ..s });
                for (k, item) in obj {
                    let at = format!("{path}.{k}");
                    self.value(*key, &Value::String(k.clone()), &at, element)?;
                    if !item.is_null() {
                        self.value(*value, item, &at, element)?;
                    }
                }
            }
            ShapeKind::String {
                min,
                max,
                pattern,
                enum_values,
            } => {
                let Value::String(s) = v else {
                    return Err(type_error(path, "a string", v));
                };
                self.length(s.chars().count(), *min, *max, v, path, subject);
                if !enum_values.is_empty() && !enum_values.contains(&s.as_str()) {
                    let set = enum_values.join(", ");
                    self.push(
                        subject,
                        Kind::Invalid,
                        v,
                        path,
                        format!("Member must satisfy enum value set: [{set}]"),
                    );
                }
                if let Some(p) = pattern
                    && pattern_matches(p, s) == Some(false)
                {
                    self.push(
                        subject,
                        Kind::Invalid,
                        v,
                        path,
                        format!("Member must satisfy regular expression pattern: {p}"),
                    );
                }
            }
            ShapeKind::Integer { min, max } | ShapeKind::Long { min, max } => {
                let Some(n) = v.as_i64() else {
                    return Err(type_error(path, "an integer", v));
                };
                if let Some(min) = min
                    && n < *min
                {
                    self.push(
                        subject,
                        Kind::Invalid,
                        v,
                        path,
                        format!("Member must have value greater than or equal to {min}"),
                    );
                }
                if let Some(max) = max
                    && n > *max
                {
                    self.push(
                        subject,
                        Kind::Invalid,
                        v,
                        path,
                        format!("Member must have value less than or equal to {max}"),
                    );
                }
            }
            ShapeKind::Double => {
                if !v.is_number() {
                    return Err(type_error(path, "a number", v));
                }
            }
            ShapeKind::Boolean => {
                if !v.is_boolean() {
                    return Err(type_error(path, "a boolean", v));
                }
            }
            ShapeKind::Timestamp => {
                if !v.is_number() && !v.is_string() {
                    return Err(type_error(path, "a timestamp", v));
                }
            }
            ShapeKind::Blob { min, max } => {
                let Value::String(s) = v else {
                    return Err(type_error(path, "base64 text", v));
                };
                self.length(decoded_len(s), *min, *max, v, path, subject);
            }
        }
        Ok(())
    }

    fn structure(
        &mut self,
        members: &'static [Member],
        obj: &Map<String, Value>,
        path: &str,
    ) -> Result<(), AwsError> {
        for m in members {
            let at = if path.is_empty() {
                m.name.to_owned()
            } else {
                format!("{path}.{}", m.name)
            };
            let container = match self.service.shape(m.target).kind {
                ShapeKind::List { .. } => Some("List"),
                ShapeKind::Map { .. } => Some("Map"),
                _ => None,
            };
            let subject = Some(Subject {
                name: m.name,
                element: false,
                container,
            });
            match obj.get(m.name) {
                None | Some(Value::Null) => {
                    if m.required {
                        self.violations.push(Violation {
                            subject,
                            kind: Kind::Missing,
                            text: format!(
                                "Value null at '{at}' failed to satisfy constraint: Member must not be null"
                            ),
                        });
                    }
                }
                Some(v) => self.value(m.target, v, &at, subject)?,
            }
        }
        Ok(())
    }

    /// Length limits of a string or blob.
    fn length(
        &mut self,
        len: usize,
        min: Option<u64>,
        max: Option<u64>,
        v: &Value,
        path: &str,
        subject: Option<Subject>,
    ) {
        let len = len as u64;
        if let Some(min) = min
            && len < min
        {
            self.push(
                subject,
                Kind::Invalid,
                v,
                path,
                format!("Member must have length greater than or equal to {min}"),
            );
        }
        if let Some(max) = max
            && len > max
        {
            self.push(
                subject,
                Kind::Invalid,
                v,
                path,
                format!("Member must have length less than or equal to {max}"),
            );
        }
    }

    /// Entry-count limits of a list or map: empty when entries are needed reads as missing,
    /// too many as exceeding a maximum.
    fn size(
        &mut self,
        len: usize,
        min: Option<u64>,
        max: Option<u64>,
        v: &Value,
        path: &str,
        subject: Option<Subject>,
    ) {
        let len = len as u64;
        if let Some(min) = min
            && len < min
        {
            let kind = if len == 0 {
                Kind::Missing
            } else {
                Kind::Invalid
            };
            self.push(
                subject,
                kind,
                v,
                path,
                format!("Member must have length greater than or equal to {min}"),
            );
        }
        if let Some(max) = max
            && len > max
        {
            self.push(
                subject,
                Kind::TooMany,
                v,
                path,
                format!("Member must have length less than or equal to {max}"),
            );
        }
    }

    fn push(
        &mut self,
        subject: Option<Subject>,
        kind: Kind,
        v: &Value,
        path: &str,
        constraint: String,
    ) {
        let mut text = String::from("Value ");
        render_quoted(&mut text, v);
        let _ = write!(
            text,
            " at '{path}' failed to satisfy constraint: {constraint}"
        );
        self.violations.push(Violation {
            subject,
            kind,
            text,
        });
    }
}

/// The error for a set of violations: the first one the operation models a specific exception
/// for, else the service's validation exception listing them all.
fn choose_error(service: &Service, op: &Operation, violations: &[Violation]) -> AwsError {
    for v in violations {
        if let Some(code) = specific_exception(op, v) {
            return AwsError::new(code, format!("1 validation error detected: {}", v.text));
        }
    }
    let n = violations.len();
    let plural = if n == 1 { "" } else { "s" };
    let texts: Vec<&str> = violations.iter().map(|v| v.text.as_str()).collect();
    AwsError::new(
        service.validation_exception,
        format!(
            "{n} validation error{plural} detected: {}",
            texts.join("; ")
        ),
    )
}

/// The modeled exception named after the violating member: `<Member>RequiredException` when
/// missing, `Maximum<Member>ExceededException` for too many entries, `Invalid<Member>Exception`
/// or `<Member>SizeLimitExceededException` otherwise; leading camel-case words are dropped one by one (`filePath` → `FilePath`, then
/// `Path`); an element of a plural member tries the singular first (`repositoryNames` →
/// `RepositoryName`), and a list or map member also tries its name with `List` / `Map`
/// appended (`tags` → `InvalidTagsMapException`).
fn specific_exception(op: &Operation, v: &Violation) -> Option<&'static str> {
    let subject = v.subject?;
    let mut names = Vec::with_capacity(3);
    if subject.element
        && let Some(singular) = subject.name.strip_suffix('s')
        && !singular.ends_with('s')
    {
        names.push(singular.to_owned());
    }
    names.push(subject.name.to_owned());
    if let Some(container) = subject.container {
        names.push(format!("{}{container}", subject.name));
    }
    let forms: &[(&str, &str)] = match v.kind {
        Kind::Missing => &[("", "RequiredException")],
        Kind::Invalid => &[("Invalid", "Exception"), ("", "SizeLimitExceededException")],
        Kind::TooMany => &[("Maximum", "ExceededException"), ("Invalid", "Exception")],
    };
    for (prefix, suffix) in forms {
        for name in &names {
            let words = camel_words(name);
            for start in 0..words.len() {
                let candidate = format!("{prefix}{}{suffix}", words[start..].concat());
                if let Some(code) = op.errors.iter().find(|e| **e == candidate) {
                    return Some(code);
                }
            }
        }
    }
    None
}

/// `filePath` → `["File", "Path"]`, `KMSKeyId` → `["KMS", "Key", "Id"]`.
fn camel_words(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    let mut words: Vec<String> = Vec::new();
    let mut current = String::new();
    for (i, &c) in chars.iter().enumerate() {
        let boundary = i > 0
            && c.is_ascii_uppercase()
            && (!chars[i - 1].is_ascii_uppercase()
                || chars.get(i + 1).is_some_and(char::is_ascii_lowercase));
        if boundary && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        if current.is_empty() {
            current.push(c.to_ascii_uppercase());
        } else {
            current.push(c);
        }
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// A wrong JSON type.
fn type_error(path: &str, expected: &str, found: &Value) -> AwsError {
    let found = match found {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    };
    let at = if path.is_empty() {
        "the request body".to_owned()
    } else {
        format!("'{path}'")
    };
    AwsError::serialization(format!("Expected {expected} at {at} but found {found}"))
}

/// The value as Coral quotes it: `'text'`, `'5'`, `'[a, b]'`.
/// The longest rendering of a value in a message; longer ones are cut (an 8 MB blob must not
/// come back in an error message).
const MAX_RENDERED: usize = 256;

fn render_quoted(out: &mut String, v: &Value) {
    let mut text = String::new();
    render(&mut text, v);
    if text.len() > MAX_RENDERED {
        let mut cut = MAX_RENDERED;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push_str("...");
    }
    out.push('\'');
    out.push_str(&text);
    out.push('\'');
}

fn render(out: &mut String, v: &Value) {
    match v {
        Value::String(s) => out.push_str(s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                render(out, item);
            }
            out.push(']');
        }
        Value::Object(obj) => {
            out.push('{');
            for (i, (k, item)) in obj.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(k);
                out.push('=');
                render(out, item);
            }
            out.push('}');
        }
        other => {
            let _ = write!(out, "{other}");
        }
    }
}

/// The byte length base64 text decodes to (validity is checked when deserialising).
fn decoded_len(s: &str) -> usize {
    let s = s.trim_end_matches('=');
    s.len() * 3 / 4
}

/// Compiled patterns by model text; `None` when the `regex` crate cannot compile one.
static PATTERNS: LazyLock<Mutex<HashMap<&'static str, Option<Regex>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// Whether `s` matches the whole of `pattern`; `None` when the pattern is not supported.
fn pattern_matches(pattern: &'static str, s: &str) -> Option<bool> {
    let re = {
        let mut cache = PATTERNS.lock().unwrap_or_else(PoisonError::into_inner);
        cache
            .entry(pattern)
            .or_insert_with(|| Regex::new(&format!("^(?:{})$", translate(pattern))).ok())
            .clone()?
    };
    Some(re.is_match(s))
}

/// Rewrites the Java classes the models use that the workspace's `regex` features lack
/// (no `unicode-gencat`): `\p{C}` is approximated by the control characters and
/// `\p{IsWhitespace}` by `\s`. Other unsupported classes make the pattern fail to compile,
/// and it is then skipped.
fn translate(pattern: &str) -> String {
    pattern
        .replace(r"\P{C}", r"[^\x00-\x1F\x7F-\x9F]")
        .replace(r"\p{C}", r"[\x00-\x1F\x7F-\x9F]")
        .replace(r"\p{IsWhitespace}", r"\s")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::shape::{ErrorShape, Location, Protocol, Shape};

    const fn string(
        name: &'static str,
        min: Option<u64>,
        max: Option<u64>,
        pattern: Option<&'static str>,
        enum_values: &'static [&'static str],
    ) -> Shape {
        Shape {
            name,
            kind: ShapeKind::String {
                min,
                max,
                pattern,
                enum_values,
            },
        }
    }

    static SHAPES: &[Shape] = &[
        /* 0 */
        Shape {
            name: "PutFileInput",
            kind: ShapeKind::Structure(&[
                Member::new("repositoryName", 1).req(),
                Member::new("filePath", 2).req(),
                Member::new("sortBy", 3),
                Member::new("limit", 4),
                Member::new("entries", 5),
                Member::new("tags", 7),
                Member::new("when", 8),
                Member::new("content", 9),
                Member::new("force", 10),
                Member::new("names", 11),
                Member::new("clientToken", 1)
                    .token()
                    .at(Location::Header("x-token")),
            ]),
        },
        /* 1 */ string("RepositoryName", Some(1), Some(10), Some(r"[\w\.-]+"), &[]),
        /* 2 */ string("Path", None, None, None, &[]),
        /* 3 */ string("SortBy", None, None, None, &["a", "b"]),
        /* 4 */
        Shape {
            name: "Limit",
            kind: ShapeKind::Integer {
                min: Some(1),
                max: Some(100),
            },
        },
        /* 5 */
        Shape {
            name: "Entries",
            kind: ShapeKind::List {
                member: 6,
                min: None,
                max: Some(2),
            },
        },
        /* 6 */
        Shape {
            name: "Entry",
            kind: ShapeKind::Structure(&[Member::new("name", 2).req()]),
        },
        /* 7 */
        Shape {
            name: "Tags",
            kind: ShapeKind::Map {
                key: 1,
                value: 2,
                min: None,
                max: None,
            },
        },
        /* 8 */
        Shape {
            name: "When",
            kind: ShapeKind::Timestamp,
        },
        /* 9 */
        Shape {
            name: "Content",
            kind: ShapeKind::Blob {
                min: None,
                max: Some(3),
            },
        },
        /* 10 */
        Shape {
            name: "Force",
            kind: ShapeKind::Boolean,
        },
        /* 11 */
        Shape {
            name: "Names",
            kind: ShapeKind::List {
                member: 1,
                min: Some(1),
                max: Some(2),
            },
        },
    ];

    static OP: Operation = Operation {
        name: "PutFile",
        method: "POST",
        request_uri: "/",
        input: Some(0),
        output: None,
        errors: &[
            "RepositoryNameRequiredException",
            "InvalidRepositoryNameException",
            "PathRequiredException",
            "MaximumNamesExceededException",
            "InvalidNameException",
            "InvalidTagsMapException",
        ],
    };

    static SVC: Service = Service {
        name: "test",
        signing_name: "test",
        target_prefix: "Test_1",
        protocol: Protocol::Json11,
        validation_exception: "ValidationException",
        operations: &[Operation {
            name: "Ping",
            method: "POST",
            request_uri: "/",
            input: None,
            output: None,
            errors: &[],
        }],
        shapes: SHAPES,
        errors: &[ErrorShape {
            name: "ValidationException",
            status: 400,
        }],
    };

    fn check(v: Value) -> Result<(), AwsError> {
        validate(&SVC, &OP, &v)
    }

    fn code(v: Value) -> String {
        check(v).unwrap_err().code.into_owned()
    }

    #[test]
    fn accepts_a_good_request_and_ignores_unknown_members() {
        let ok = json!({
            "repositoryName": "my-repo", "filePath": "a/b", "sortBy": "a", "limit": 100,
            "entries": [{"name": "x"}], "tags": {"k": "v"}, "when": "2024-01-01T00:00:00Z",
            "content": "YWJj", "force": true, "names": ["n1"], "somethingNew": [1, 2],
        });
        check(ok).unwrap();
        check(json!({"repositoryName": "r", "filePath": "p", "when": 1.5, "limit": null})).unwrap();
    }

    #[test]
    fn missing_required_members_map_to_modeled_exceptions() {
        let e = check(json!({"filePath": "p"})).unwrap_err();
        assert_eq!(e.code, "RepositoryNameRequiredException");
        assert_eq!(
            e.message,
            "1 validation error detected: Value null at 'repositoryName' failed to satisfy constraint: Member must not be null"
        );
        // `filePath` → `FilePathRequiredException` is not modeled, `PathRequiredException` is.
        assert_eq!(
            code(json!({"repositoryName": "r", "filePath": null})),
            "PathRequiredException"
        );
    }

    #[test]
    fn bad_values_map_to_invalid_exceptions() {
        assert_eq!(
            code(json!({"repositoryName": "a/b", "filePath": "p"})),
            "InvalidRepositoryNameException"
        );
        assert_eq!(
            code(json!({"repositoryName": "abcdefghijk", "filePath": "p"})),
            "InvalidRepositoryNameException"
        );
        // An element of `names` tries the singular `InvalidNameException`.
        assert_eq!(
            code(json!({"repositoryName": "r", "filePath": "p", "names": ["a b"]})),
            "InvalidNameException"
        );
        assert_eq!(
            code(json!({"repositoryName": "r", "filePath": "p", "names": ["a", "b", "c"]})),
            "MaximumNamesExceededException"
        );
        // A bad key of the `tags` map: `InvalidTagsMapException`.
        assert_eq!(
            code(json!({"repositoryName": "r", "filePath": "p", "tags": {"a b": "v"}})),
            "InvalidTagsMapException"
        );
    }

    #[test]
    fn unmodeled_violations_use_the_validation_exception() {
        let e = check(json!({"repositoryName": "r", "filePath": "p", "sortBy": "x"})).unwrap_err();
        assert_eq!(e.code, "ValidationException");
        assert_eq!(
            e.message,
            "1 validation error detected: Value 'x' at 'sortBy' failed to satisfy constraint: Member must satisfy enum value set: [a, b]"
        );
        let e = check(
            json!({"repositoryName": "r", "filePath": "p", "limit": 0, "content": "YWJjZA=="}),
        )
        .unwrap_err();
        assert_eq!(e.code, "ValidationException");
        assert!(e.message.starts_with("2 validation errors detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1; "));
        assert!(e.message.ends_with("at 'content' failed to satisfy constraint: Member must have length less than or equal to 3"));
        let e = check(json!({"repositoryName": "r", "filePath": "p", "entries": [{}, {}, {}]}))
            .unwrap_err();
        assert_eq!(e.code, "ValidationException");
        assert!(
            e.message.contains("at 'entries.1.member.name'"),
            "{}",
            e.message
        );
        assert!(
            e.message.contains("Value '[{}, {}, {}]' at 'entries'"),
            "{}",
            e.message
        );
    }

    #[test]
    fn long_values_are_cut_in_messages() {
        let mut out = String::new();
        render_quoted(&mut out, &Value::String("é".repeat(1000)));
        assert!(
            out.len() < MAX_RENDERED + 8 && out.ends_with("...'"),
            "{out}"
        );
    }

    #[test]
    fn regex_patterns_are_anchored() {
        let e = check(json!({"repositoryName": "ok!", "filePath": "p"})).unwrap_err();
        assert!(
            e.message
                .ends_with(r"Member must satisfy regular expression pattern: [\w\.-]+")
        );
        assert_eq!(pattern_matches(r"[\w\.-]+", "abc"), Some(true));
        assert_eq!(pattern_matches(r"[0-9]{12}", "1234567890123"), Some(false));
        // Lookbehind is not supported by `regex`: skipped, not an error.
        assert_eq!(pattern_matches(r"(?<=x)y", "y"), None);
        assert_eq!(pattern_matches(r"\P{C}+", "héllo wörld"), Some(true));
        assert_eq!(pattern_matches(r"\P{C}+", "bell\u{7}"), Some(false));
        assert_eq!(
            pattern_matches(r"[^\p{C}\p{IsWhitespace}]+", "a b"),
            Some(false)
        );
    }

    #[test]
    fn wrong_types_are_serialization_errors() {
        let e = check(json!({"repositoryName": 5, "filePath": "p"})).unwrap_err();
        assert_eq!(e.code, "SerializationException");
        assert!(e.message.contains("'repositoryName'"), "{}", e.message);
        for bad in [
            json!({"repositoryName": "r", "filePath": "p", "entries": {}}),
            json!({"repositoryName": "r", "filePath": "p", "entries": ["x"]}),
            json!({"repositoryName": "r", "filePath": "p", "limit": 1.5}),
            json!({"repositoryName": "r", "filePath": "p", "limit": "1"}),
            json!({"repositoryName": "r", "filePath": "p", "force": "true"}),
            json!({"repositoryName": "r", "filePath": "p", "when": true}),
            json!({"repositoryName": "r", "filePath": "p", "content": [1]}),
            json!({"repositoryName": "r", "filePath": "p", "tags": []}),
            json!([]),
        ] {
            assert_eq!(code(bad), "SerializationException");
        }
        // A wrong type wins over constraint violations found before it.
        assert_eq!(
            code(json!({"filePath": "p", "force": 1})),
            "SerializationException"
        );
    }

    #[test]
    fn camel_words_split_acronyms_and_digits() {
        assert_eq!(camel_words("filePath"), ["File", "Path"]);
        assert_eq!(camel_words("KMSKeyId"), ["KMS", "Key", "Id"]);
        assert_eq!(camel_words("s3Location"), ["S3", "Location"]);
        assert_eq!(camel_words("repositoryNames"), ["Repository", "Names"]);
    }

    #[test]
    fn decodes_json_requests() {
        let (op, v) = decode_json_request(&SVC, "Ping", b"").unwrap();
        assert_eq!((op.name, v), ("Ping", json!({})));
        let e = decode_json_request(&SVC, "Pong", b"{}").unwrap_err();
        assert_eq!(e.code, "UnknownOperationException");
        let e = decode_json_request(&SVC, "Ping", b"{").unwrap_err();
        assert_eq!(e.code, "SerializationException");
        let n: Result<u8, _> = from_value(json!(300));
        assert_eq!(n.unwrap_err().code, "SerializationException");
    }
}
