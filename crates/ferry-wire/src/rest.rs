//! The REST-JSON binding (CodeArtifact): routing a request by method and path to its operation,
//! gathering the input object from query parameters, headers, the JSON body or a raw payload,
//! and splitting an output object into response headers, a raw payload or a JSON body. It works
//! on `serde_json::Value` and the generated tables; typing happens in `ferry-model`.

use serde_json::{Map, Value};

use crate::AwsError;
use crate::shape::{Location, Operation, Service, ShapeId, ShapeKind};

/// The operation bound to `method` and `path` (exact match; a trailing `/` is ignored).
pub fn route<'a>(service: &'a Service, method: &str, path: &str) -> Option<&'a Operation> {
    let path = trim_slash(path);
    service.operations.iter().find(|op| {
        op.method.eq_ignore_ascii_case(method) && trim_slash(uri_path(op.request_uri)) == path
    })
}

/// Whether `op` binds a member to `x-amz-content-sha256`: the client then signs the hash it
/// declares for the body (CodeArtifact's PublishPackageVersion), and the operation checks the
/// body against that member itself.
pub fn declares_payload_hash(service: &Service, op: &Operation) -> bool {
    op.input.is_some_and(|id| {
        service.shape(id).members().iter().any(|m| {
            matches!(m.location, Location::Header(h) if h.eq_ignore_ascii_case("x-amz-content-sha256"))
        })
    })
}

/// The path part of a model `requestUri` (`/v1/package?x` → `/v1/package`).
fn uri_path(uri: &str) -> &str {
    uri.split_once('?').map_or(uri, |(p, _)| p)
}

fn trim_slash(path: &str) -> &str {
    match path.strip_suffix('/') {
        Some(p) if !p.is_empty() => p,
        _ => path,
    }
}

/// Builds `op`'s input object from a request: query parameters and headers by their location
/// names (converted to the member's type, repeated parameters forming a list), the JSON body's
/// members, and a payload member from the whole body (a blob as base64 text, so it
/// deserialises into `ferry_types::Blob`). `headers` names are lower-case.
pub fn request_to_json(
    service: &Service,
    op: &Operation,
    query: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Result<Value, AwsError> {
    let mut input = Map::new();
    let Some(id) = op.input else {
        return Ok(Value::Object(input));
    };
    let members = service.shape(id).members();
    if let Some(payload) = members.iter().find(|m| m.location == Location::Payload) {
        if let Some(v) = payload_value(service, payload.target, body)? {
            input.insert(payload.name.to_owned(), v);
        }
    } else if members.iter().any(|m| m.location == Location::Body) && !is_blank(body) {
        match parse_json(body)? {
            Value::Object(obj) => {
                for (k, v) in obj {
                    // A member bound elsewhere is not taken from the body.
                    let bound_elsewhere = members
                        .iter()
                        .any(|m| m.name == k && m.location != Location::Body);
                    if !bound_elsewhere {
                        input.insert(k, v);
                    }
                }
            }
            _ => {
                return Err(AwsError::serialization(
                    "The request body must be a JSON object",
                ));
            }
        }
    }
    let params = parse_query(query);
    for m in members {
        let value = match m.location {
            Location::Query(name) => {
                let raw: Vec<&str> = params
                    .iter()
                    .filter(|(k, _)| k == name)
                    .map(|(_, v)| v.as_str())
                    .collect();
                bind(service, m.target, &raw, name)?
            }
            Location::Header(name) => {
                let raw: Vec<&str> = headers
                    .iter()
                    .filter(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.as_str())
                    .collect();
                bind(service, m.target, &raw, name)?
            }
            Location::Body | Location::Uri(_) | Location::Payload => None,
        };
        if let Some(v) = value {
            input.insert(m.name.to_owned(), v);
        }
    }
    Ok(Value::Object(input))
}

/// The value of a query parameter or header: every occurrence for a list, else the last.
fn bind(
    service: &Service,
    target: ShapeId,
    raw: &[&str],
    name: &str,
) -> Result<Option<Value>, AwsError> {
    let Some(last) = raw.last() else {
        return Ok(None);
    };
    if let ShapeKind::List { member, .. } = service.shape(target).kind {
        let items = raw
            .iter()
            .map(|r| scalar(service, member, r, name))
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(Some(Value::Array(items)));
    }
    scalar(service, target, last, name).map(Some)
}

/// Text converted to the JSON type of a scalar shape.
fn scalar(service: &Service, target: ShapeId, raw: &str, name: &str) -> Result<Value, AwsError> {
    let bad =
        |what: &str| AwsError::serialization(format!("Cannot read '{raw}' as {what} for '{name}'"));
    match service.shape(target).kind {
        ShapeKind::Integer { .. } | ShapeKind::Long { .. } => raw
            .trim()
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| bad("an integer")),
        ShapeKind::Double => raw
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| bad("a number")),
        ShapeKind::Boolean => match raw.trim() {
            t if t.eq_ignore_ascii_case("true") => Ok(Value::Bool(true)),
            f if f.eq_ignore_ascii_case("false") => Ok(Value::Bool(false)),
            _ => Err(bad("a boolean")),
        },
        _ => Ok(Value::String(raw.to_owned())),
    }
}

/// The payload member's value from the raw body; `None` for an empty structure payload.
fn payload_value(
    service: &Service,
    target: ShapeId,
    body: &[u8],
) -> Result<Option<Value>, AwsError> {
    match service.shape(target).kind {
        ShapeKind::Structure(_) | ShapeKind::Map { .. } | ShapeKind::List { .. } => {
            if is_blank(body) {
                Ok(None)
            } else {
                parse_json(body).map(Some)
            }
        }
        ShapeKind::String { .. } => Ok(Some(Value::String(
            String::from_utf8_lossy(body).into_owned(),
        ))),
        _ => serde_json::to_value(ferry_types::Blob(body.to_vec()))
            .map(Some)
            .map_err(AwsError::internal),
    }
}

fn parse_json(body: &[u8]) -> Result<Value, AwsError> {
    serde_json::from_slice(body)
        .map_err(|e| AwsError::serialization(format!("The request body is not valid JSON: {e}")))
}

fn is_blank(body: &[u8]) -> bool {
    body.iter().all(u8::is_ascii_whitespace)
}

/// `a=1&b=x%20y&b=z` → `[("a","1"), ("b","x y"), ("b","z")]`; `+` reads as a space.
fn parse_query(query: &str) -> Vec<(String, String)> {
    let query = query.strip_prefix('?').unwrap_or(query);
    crate::sigv4::query_pairs(&query.replace('+', "%20"))
}

/// An HTTP answer of a REST-JSON operation.
#[derive(Debug, Clone, PartialEq)]
pub struct RestResponse {
    /// The HTTP status.
    pub status: u16,
    /// Response headers bound from output members.
    pub headers: Vec<(String, String)>,
    /// The body: JSON, or the raw payload.
    pub body: Vec<u8>,
    /// The body's media type, if any.
    pub content_type: Option<&'static str>,
}

/// Splits `op`'s output object into the HTTP answer: header members become headers, a payload
/// member the whole body (a blob decoded from base64), the rest the JSON body.
pub fn json_to_response(service: &Service, op: &Operation, output: Value) -> RestResponse {
    let mut obj = match output {
        Value::Object(obj) => obj,
        _ => Map::new(),
    };
    let members = op.output.map_or(&[][..], |id| service.shape(id).members());
    let mut headers = Vec::new();
    let mut payload = None;
    for m in members {
        match m.location {
            Location::Header(name) => {
                if let Some(v) = obj.remove(m.name) {
                    match v {
                        Value::Null => {}
                        Value::String(s) => headers.push((name.to_owned(), s)),
                        other => headers.push((name.to_owned(), other.to_string())),
                    }
                }
            }
            Location::Payload => {
                let v = obj.remove(m.name).unwrap_or(Value::Null);
                payload = Some(payload_bytes(service, m.target, v));
            }
            Location::Body | Location::Query(_) | Location::Uri(_) => {}
        }
    }
    let (body, content_type) = payload.unwrap_or_else(|| {
        let body = serde_json::to_vec(&Value::Object(obj)).unwrap_or_else(|_| b"{}".to_vec());
        (body, Some("application/json"))
    });
    RestResponse {
        status: 200,
        headers,
        body,
        content_type,
    }
}

/// The raw body for a payload member's value.
fn payload_bytes(service: &Service, target: ShapeId, v: Value) -> (Vec<u8>, Option<&'static str>) {
    match (&service.shape(target).kind, v) {
        (_, Value::Null) => (Vec::new(), None),
        (ShapeKind::Blob { .. }, v @ Value::String(_)) => {
            let bytes = serde_json::from_value::<ferry_types::Blob>(v)
                .map(|b| b.0)
                .unwrap_or_default();
            (bytes, Some("application/octet-stream"))
        }
        (ShapeKind::String { .. }, Value::String(s)) => (s.into_bytes(), Some("text/plain")),
        (_, v) => (
            serde_json::to_vec(&v).unwrap_or_default(),
            Some("application/json"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::shape::{Member, Protocol, Shape};

    static SHAPES: &[Shape] = &[
        /* 0 */
        Shape {
            name: "PublishRequest",
            kind: ShapeKind::Structure(&[
                Member::new("domain", 2).req().at(Location::Query("domain")),
                Member::new("max", 3).at(Location::Query("max-results")),
                Member::new("unfinished", 4).at(Location::Query("unfinished")),
                Member::new("names", 5).at(Location::Query("name")),
                Member::new("sha", 2).at(Location::Header("x-amz-content-sha256")),
                Member::new("content", 6).req().at(Location::Payload),
            ]),
        },
        /* 1 */
        Shape {
            name: "CreateRequest",
            kind: ShapeKind::Structure(&[
                Member::new("domain", 2).req().at(Location::Query("domain")),
                Member::new("description", 2),
            ]),
        },
        /* 2 */
        Shape {
            name: "String",
            kind: ShapeKind::String {
                min: None,
                max: None,
                pattern: None,
                enum_values: &[],
            },
        },
        /* 3 */
        Shape {
            name: "Max",
            kind: ShapeKind::Integer {
                min: None,
                max: None,
            },
        },
        /* 4 */
        Shape {
            name: "Bool",
            kind: ShapeKind::Boolean,
        },
        /* 5 */
        Shape {
            name: "Names",
            kind: ShapeKind::List {
                member: 2,
                min: None,
                max: None,
            },
        },
        /* 6 */
        Shape {
            name: "Asset",
            kind: ShapeKind::Blob {
                min: None,
                max: None,
            },
        },
        /* 7 */
        Shape {
            name: "AssetResult",
            kind: ShapeKind::Structure(&[
                Member::new("asset", 6).at(Location::Payload),
                Member::new("assetName", 2).at(Location::Header("X-AssetName")),
                Member::new("size", 3).at(Location::Header("X-Size")),
            ]),
        },
    ];

    static OPS: &[Operation] = &[
        Operation {
            name: "Publish",
            method: "POST",
            request_uri: "/v1/publish",
            input: Some(0),
            output: Some(7),
            errors: &[],
        },
        Operation {
            name: "Create",
            method: "POST",
            request_uri: "/v1/thing?x",
            input: Some(1),
            output: Some(1),
            errors: &[],
        },
        Operation {
            name: "Describe",
            method: "GET",
            request_uri: "/v1/thing",
            input: Some(1),
            output: None,
            errors: &[],
        },
    ];

    static SVC: Service = Service {
        name: "test",
        signing_name: "test",
        target_prefix: "",
        protocol: Protocol::RestJson,
        validation_exception: "ValidationException",
        operations: OPS,
        shapes: SHAPES,
        errors: &[],
    };

    fn op(name: &str) -> &'static Operation {
        SVC.operation(name).unwrap()
    }

    #[test]
    fn routes_by_method_and_path() {
        assert_eq!(
            route(&SVC, "POST", "/v1/thing").map(|o| o.name),
            Some("Create")
        );
        assert_eq!(
            route(&SVC, "get", "/v1/thing/").map(|o| o.name),
            Some("Describe")
        );
        assert!(route(&SVC, "DELETE", "/v1/thing").is_none());
        assert!(route(&SVC, "GET", "/v1/thingy").is_none());
    }

    #[test]
    fn binds_query_headers_and_payload() {
        let headers = vec![("x-amz-content-sha256".to_owned(), "abc".to_owned())];
        let v = request_to_json(
            &SVC,
            op("Publish"),
            "domain=d%201&max-results=5&unfinished=true&name=a&name=b+c&other=1",
            &headers,
            b"hello\n",
        )
        .unwrap();
        assert_eq!(
            v,
            json!({"domain": "d 1", "max": 5, "unfinished": true, "names": ["a", "b c"],
                   "sha": "abc", "content": "aGVsbG8K"})
        );
        let e = request_to_json(&SVC, op("Publish"), "max-results=x", &[], b"").unwrap_err();
        assert_eq!(e.code, "SerializationException");
    }

    #[test]
    fn merges_the_json_body() {
        let v = request_to_json(
            &SVC,
            op("Create"),
            "domain=d1",
            &[],
            br#"{"description": "x", "domain": "ignored", "extra": 1}"#,
        )
        .unwrap();
        assert_eq!(v, json!({"domain": "d1", "description": "x", "extra": 1}));
        let v = request_to_json(&SVC, op("Create"), "", &[], b"").unwrap();
        assert_eq!(v, json!({}));
        for bad in [&b"{"[..], b"[1]"] {
            let e = request_to_json(&SVC, op("Create"), "", &[], bad).unwrap_err();
            assert_eq!(e.code, "SerializationException");
        }
    }

    #[test]
    fn splits_output_into_headers_and_payload() {
        let r = json_to_response(
            &SVC,
            op("Publish"),
            json!({"asset": "aGVsbG8K", "assetName": "a.tgz", "size": 6}),
        );
        assert_eq!(r.status, 200);
        assert_eq!(r.body, b"hello\n");
        assert_eq!(r.content_type, Some("application/octet-stream"));
        assert_eq!(
            r.headers,
            vec![
                ("X-AssetName".to_owned(), "a.tgz".to_owned()),
                ("X-Size".to_owned(), "6".to_owned())
            ]
        );
        let r = json_to_response(
            &SVC,
            op("Create"),
            json!({"domain": "d", "description": "x"}),
        );
        assert_eq!(r.content_type, Some("application/json"));
        let body: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(body, json!({"domain": "d", "description": "x"}));
        let r = json_to_response(&SVC, op("Describe"), Value::Null);
        assert_eq!(r.body, b"{}");
    }
}
