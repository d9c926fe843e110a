//! The service-model tables: static data that `ferry-model` generates from botocore for each
//! service (operations, HTTP bindings, shapes with their constraints, modeled errors), and the
//! small lookups the wire layer needs on them. Validation (`validate.rs`) and the REST-JSON
//! binding (`rest.rs`) walk these tables instead of per-shape generated code.

use crate::AwsError;

/// The wire protocol of a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// `awsJson1_1`: `POST /` with `X-Amz-Target`.
    Json11,
    /// `restJson1`: method + path routing, members bound to query, headers and body.
    RestJson,
}

/// One service's model.
#[derive(Debug)]
pub struct Service {
    /// The botocore service name (`codecommit`).
    pub name: &'static str,
    /// The SigV4 service name.
    pub signing_name: &'static str,
    /// The `X-Amz-Target` prefix (`CodeCommit_20150413`); empty for REST services.
    pub target_prefix: &'static str,
    /// The wire protocol.
    pub protocol: Protocol,
    /// The exception raised for a constraint violation no more specific modeled error covers.
    pub validation_exception: &'static str,
    /// The operations, sorted by name.
    pub operations: &'static [Operation],
    /// Every non-exception shape reachable from an operation; [`ShapeId`] indexes this.
    pub shapes: &'static [Shape],
    /// The modeled exceptions, sorted by name.
    pub errors: &'static [ErrorShape],
}

/// One operation.
#[derive(Debug)]
pub struct Operation {
    /// The operation name (`CreateRepository`).
    pub name: &'static str,
    /// The HTTP method (`POST` for every JSON 1.1 operation).
    pub method: &'static str,
    /// The path part of the request URI (`/` for JSON 1.1, `/v1/domain` for CodeArtifact).
    pub request_uri: &'static str,
    /// The input structure.
    pub input: Option<ShapeId>,
    /// The output structure.
    pub output: Option<ShapeId>,
    /// The names of the exceptions the operation models.
    pub errors: &'static [&'static str],
}

/// A modeled exception.
#[derive(Debug)]
pub struct ErrorShape {
    /// The exception name, which is also the wire error code.
    pub name: &'static str,
    /// The HTTP status: the model's `error.httpStatusCode`, else 500 for faults, else 400.
    pub status: u16,
}

/// Index into [`Service::shapes`].
pub type ShapeId = u16;

/// One named shape.
#[derive(Debug)]
pub struct Shape {
    /// The model's shape name.
    pub name: &'static str,
    /// What kind of value it is, with its constraints.
    pub kind: ShapeKind,
}

/// A shape's type and constraints.
#[derive(Debug)]
pub enum ShapeKind {
    /// An object with named members.
    Structure(&'static [Member]),
    /// An array.
    List {
        member: ShapeId,
        min: Option<u64>,
        max: Option<u64>,
    },
    /// An object with arbitrary keys.
    Map {
        key: ShapeId,
        value: ShapeId,
        min: Option<u64>,
        max: Option<u64>,
    },
    /// Text, possibly an enum.
    String {
        min: Option<u64>,
        max: Option<u64>,
        pattern: Option<&'static str>,
        enum_values: &'static [&'static str],
    },
    /// A 32-bit integer.
    Integer { min: Option<i64>, max: Option<i64> },
    /// A 64-bit integer.
    Long { min: Option<i64>, max: Option<i64> },
    /// A floating-point number (`double` or `float`).
    Double,
    /// `true` / `false`.
    Boolean,
    /// An instant (epoch seconds on the wire; ISO-8601 text accepted).
    Timestamp,
    /// Bytes (base64 text in JSON, raw bytes as a REST payload).
    Blob { min: Option<u64>, max: Option<u64> },
}

/// A member of a structure.
#[derive(Debug)]
pub struct Member {
    /// The member name as the JSON body spells it.
    pub name: &'static str,
    /// The member's shape.
    pub target: ShapeId,
    /// Whether the model marks it required.
    pub required: bool,
    /// Where REST-JSON carries it.
    pub location: Location,
    /// Whether it is an idempotency token (SDKs fill it with a UUID when absent).
    pub idempotency_token: bool,
}

/// Where a REST-JSON member travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// A member of the JSON body.
    Body,
    /// A query parameter with this name.
    Query(&'static str),
    /// A header with this name.
    Header(&'static str),
    /// A path parameter with this name.
    Uri(&'static str),
    /// The whole HTTP body (raw bytes for a blob).
    Payload,
}

impl Member {
    /// An optional body member; the generated tables refine it with the methods below.
    pub const fn new(name: &'static str, target: ShapeId) -> Self {
        Self {
            name,
            target,
            required: false,
            location: Location::Body,
            idempotency_token: false,
        }
    }

    /// The same member, required.
    pub const fn req(mut self) -> Self {
        self.required = true;
        self
    }

    /// The same member at another location.
    pub const fn at(mut self, location: Location) -> Self {
        self.location = location;
        self
    }

    /// The same member, marked as an idempotency token.
    pub const fn token(mut self) -> Self {
        self.idempotency_token = true;
        self
    }
}

/// Codes that mean a server fault when a service does not model them.
const FAULT_CODES: &[(&str, u16)] = &[
    ("InternalFailure", 500),
    ("InternalServerError", 500),
    ("InternalServerException", 500),
    ("InternalError", 500),
    ("ServiceUnavailable", 503),
    ("ServiceUnavailableException", 503),
];

impl Service {
    /// The operation with this name.
    pub fn operation(&self, name: &str) -> Option<&Operation> {
        self.operations.iter().find(|op| op.name == name)
    }

    /// The shape with this id.
    ///
    /// # Panics
    /// When the id is not an index of [`Service::shapes`], which the generator never emits.
    pub fn shape(&self, id: ShapeId) -> &Shape {
        &self.shapes[usize::from(id)]
    }

    /// The modeled exception with this code.
    pub fn error(&self, code: &str) -> Option<&ErrorShape> {
        self.errors.iter().find(|e| e.name == code)
    }

    /// The HTTP status for an error code: the modeled one, 500/503 for unmodeled server
    /// faults, else 400.
    pub fn error_status(&self, code: &str) -> u16 {
        if let Some(e) = self.error(code) {
            return e.status;
        }
        FAULT_CODES
            .iter()
            .find(|(c, _)| *c == code)
            .map_or(400, |(_, status)| *status)
    }

    /// The error with its status taken from the model when it still carries the default 400.
    pub fn with_error_status(&self, mut error: AwsError) -> AwsError {
        if error.status == 400 {
            error.status = self.error_status(&error.code);
        }
        error
    }
}

impl Shape {
    /// The members of a structure; empty for any other kind.
    pub fn members(&self) -> &'static [Member] {
        match self.kind {
            ShapeKind::Structure(members) => members,
            _ => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static SHAPES: &[Shape] = &[
        Shape {
            name: "In",
            kind: ShapeKind::Structure(&[Member::new("a", 1).req().at(Location::Query("a-q"))]),
        },
        Shape {
            name: "Str",
            kind: ShapeKind::String {
                min: None,
                max: None,
                pattern: None,
                enum_values: &[],
            },
        },
    ];

    static SVC: Service = Service {
        name: "test",
        signing_name: "test",
        target_prefix: "Test_1",
        protocol: Protocol::Json11,
        validation_exception: "ValidationException",
        operations: &[Operation {
            name: "Op",
            method: "POST",
            request_uri: "/",
            input: Some(0),
            output: None,
            errors: &[],
        }],
        shapes: SHAPES,
        errors: &[
            ErrorShape {
                name: "BoomException",
                status: 500,
            },
            ErrorShape {
                name: "GoneException",
                status: 404,
            },
        ],
    };

    #[test]
    fn lookups() {
        assert_eq!(SVC.operation("Op").map(|o| o.input), Some(Some(0)));
        assert!(SVC.operation("Nope").is_none());
        let m = &SVC.shape(0).members()[0];
        assert!(m.required && !m.idempotency_token);
        assert_eq!(m.location, Location::Query("a-q"));
        assert!(SVC.shape(1).members().is_empty());
    }

    #[test]
    fn error_statuses() {
        assert_eq!(SVC.error_status("GoneException"), 404);
        assert_eq!(SVC.error_status("BoomException"), 500);
        assert_eq!(SVC.error_status("Whatever"), 400);
        assert_eq!(SVC.error_status("InternalFailure"), 500);
        let e = SVC.with_error_status(AwsError::new("GoneException", "x"));
        assert_eq!(e.status, 404);
        let e = SVC.with_error_status(AwsError::new("GoneException", "x").with_status(409));
        assert_eq!(e.status, 409);
    }
}
