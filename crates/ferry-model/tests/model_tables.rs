//! The generated model tables: their internal consistency, `ferry_wire::validate` against the
//! real CodeCommit and CodeBuild models, and `ferry_wire::rest` against CodeArtifact's routes.

use ferry_model::{
    codeartifact, codebuild, codecommit, codedeploy, codepipeline, logs, secretsmanager, ssm,
};
use ferry_wire::rest::{request_to_json, route};
use ferry_wire::shape::{Protocol, Service, ShapeKind};
use ferry_wire::validate::validate;
use serde_json::{Value, json};

// The typed operations (the tables hold only those; see `TYPED_OPERATIONS`).
const ALL: [(&Service, &[&str]); 8] = [
    (&codecommit::SERVICE, codecommit::OPERATIONS),
    (&codebuild::SERVICE, codebuild::OPERATIONS),
    (&codedeploy::SERVICE, codedeploy::OPERATIONS),
    (&codepipeline::SERVICE, codepipeline::OPERATIONS),
    (&codeartifact::SERVICE, codeartifact::OPERATIONS),
    (&logs::SERVICE, logs::TYPED_OPERATIONS),
    (&ssm::SERVICE, ssm::TYPED_OPERATIONS),
    (&secretsmanager::SERVICE, secretsmanager::OPERATIONS),
];

#[test]
fn allow_listed_models_keep_every_operation_name() {
    assert_eq!(logs::OPERATIONS.len(), 113);
    assert_eq!(ssm::OPERATIONS.len(), 146);
    for typed in [logs::TYPED_OPERATIONS, ssm::TYPED_OPERATIONS] {
        assert!(typed.is_sorted());
    }
    assert!(
        logs::TYPED_OPERATIONS
            .iter()
            .all(|o| logs::OPERATIONS.contains(o))
    );
    assert!(
        ssm::TYPED_OPERATIONS
            .iter()
            .all(|o| ssm::OPERATIONS.contains(o))
    );
    assert_eq!(logs::SERVICE.target_prefix, "Logs_20140328");
    assert_eq!(ssm::SERVICE.signing_name, "ssm");
    assert_eq!(secretsmanager::SERVICE.target_prefix, "secretsmanager");
}

#[test]
fn tables_are_consistent() {
    for (svc, names) in ALL {
        let n = svc.shapes.len();
        let ok = |id: u16| usize::from(id) < n;
        assert_eq!(svc.operations.len(), names.len(), "{}", svc.name);
        for (op, name) in svc.operations.iter().zip(names) {
            assert_eq!(op.name, *name);
            assert!(op.input.is_none_or(ok) && op.output.is_none_or(ok));
            for e in op.errors {
                assert!(
                    svc.error(e).is_some(),
                    "{} {}: unknown error {e}",
                    svc.name,
                    op.name
                );
            }
            if let Some(id) = op.input {
                assert!(matches!(svc.shape(id).kind, ShapeKind::Structure(_)));
            }
        }
        assert!(names.is_sorted());
        for shape in svc.shapes {
            match shape.kind {
                ShapeKind::Structure(members) => assert!(members.iter().all(|m| ok(m.target))),
                ShapeKind::List { member, .. } => assert!(ok(member)),
                ShapeKind::Map { key, value, .. } => assert!(ok(key) && ok(value)),
                _ => {}
            }
        }
    }
    assert_eq!(codecommit::SERVICE.target_prefix, "CodeCommit_20150413");
    assert_eq!(
        codebuild::SERVICE.validation_exception,
        "InvalidInputException"
    );
    assert_eq!(codeartifact::SERVICE.protocol, Protocol::RestJson);
    assert_eq!(codeartifact::SERVICE.target_prefix, "");
    assert_eq!(codeartifact::SERVICE.error_status("ConflictException"), 409);
    assert_eq!(
        codeartifact::SERVICE.error_status("ThrottlingException"),
        429
    );
    assert_eq!(
        codecommit::SERVICE.error_status("RepositoryDoesNotExistException"),
        400
    );
    assert_eq!(
        codecommit::SERVICE.error_status("EncryptionIntegrityChecksFailedException"),
        500
    );
}

fn check(svc: &Service, op: &str, input: Value) -> Result<(), String> {
    let op = svc.operation(op).expect("operation");
    validate(svc, op, &input).map_err(|e| e.code.into_owned())
}

#[test]
fn codecommit_validation() {
    let cc = &codecommit::SERVICE;
    assert_eq!(
        check(cc, "CreateRepository", json!({})).unwrap_err(),
        "RepositoryNameRequiredException"
    );
    assert_eq!(
        check(cc, "CreateRepository", json!({"repositoryName": "a/b"})).unwrap_err(),
        "InvalidRepositoryNameException"
    );
    let long = "a".repeat(101);
    assert_eq!(
        check(cc, "CreateRepository", json!({"repositoryName": long})).unwrap_err(),
        "InvalidRepositoryNameException"
    );
    check(
        cc,
        "CreateRepository",
        json!({"repositoryName": "a".repeat(100)}),
    )
    .unwrap();
    check(
        cc,
        "CreateRepository",
        json!({"repositoryName": "my-repo.v2_x"}),
    )
    .unwrap();
    assert_eq!(
        check(cc, "ListRepositories", json!({"sortBy": "x"})).unwrap_err(),
        "InvalidSortByException"
    );
    check(
        cc,
        "ListRepositories",
        json!({"sortBy": "lastModifiedDate", "order": "descending"}),
    )
    .unwrap();
    assert_eq!(
        check(cc, "CreateRepository", json!({"repositoryName": 5})).unwrap_err(),
        "SerializationException"
    );
    assert_eq!(
        check(cc, "BatchGetRepositories", json!({})).unwrap_err(),
        "RepositoryNamesRequiredException"
    );
    assert_eq!(
        check(
            cc,
            "BatchGetRepositories",
            json!({"repositoryNames": ["ok", "not ok"]})
        )
        .unwrap_err(),
        "InvalidRepositoryNameException"
    );
    assert_eq!(
        check(cc, "GetFile", json!({"repositoryName": "r"})).unwrap_err(),
        "PathRequiredException"
    );
    assert_eq!(
        check(
            cc,
            "TagResource",
            json!({"resourceArn": "arn", "tags": {"": "v"}})
        )
        .unwrap_err(),
        "InvalidTagsMapException"
    );
    assert_eq!(
        check(cc, "UntagResource", json!({"resourceArn": "arn"})).unwrap_err(),
        "TagKeysListRequiredException"
    );
}

#[test]
fn generic_validation_exception_message() {
    let cb = &codebuild::SERVICE;
    let op = cb.operation("CreateProject").unwrap();
    let e = validate(cb, op, &json!({"name": "proj"})).unwrap_err();
    assert_eq!(e.code, "InvalidInputException");
    assert!(
        e.message.starts_with("4 validation errors detected: Value null at 'source' failed to satisfy constraint: Member must not be null"),
        "{}",
        e.message
    );
    let e = validate(cb, op, &json!({"name": "proj", "source": {"type": "NOPE"}, "artifacts": {"type": "NO_ARTIFACTS"}, "environment": {"type": "LINUX_CONTAINER", "image": "i", "computeType": "BUILD_GENERAL1_SMALL"}, "serviceRole": "r"})).unwrap_err();
    assert!(e.message.contains("Value 'NOPE' at 'source.type' failed to satisfy constraint: Member must satisfy enum value set: ["), "{}", e.message);
}

fn rest(method: &str, path_and_query: &str, body: &[u8]) -> (&'static str, Value) {
    let svc = &codeartifact::SERVICE;
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let op = route(svc, method, path).expect("routed");
    (op.name, request_to_json(svc, op, query, &[], body).unwrap())
}

#[test]
fn codeartifact_routes_and_binding() {
    assert_eq!(
        rest("GET", "/v1/domain?domain=d1", b""),
        ("DescribeDomain", json!({"domain": "d1"}))
    );
    assert_eq!(
        rest(
            "POST",
            "/v1/repository?domain=d1&repository=r1",
            br#"{"upstreams":[{"repositoryName":"up1"}]}"#
        ),
        (
            "CreateRepository",
            json!({"domain": "d1", "repository": "r1", "upstreams": [{"repositoryName": "up1"}]})
        )
    );
    assert_eq!(
        rest(
            "POST",
            "/v1/authorization-token?domain=d1&duration=900",
            b""
        ),
        (
            "GetAuthorizationToken",
            json!({"domain": "d1", "durationSeconds": 900})
        )
    );
    assert_eq!(
        rest(
            "POST",
            "/v1/package/versions?domain=d&repository=r&format=npm&package=p&max-results=5",
            b"{}"
        ),
        (
            "ListPackageVersions",
            json!({"domain": "d", "repository": "r", "format": "npm", "package": "p", "maxResults": 5})
        )
    );
    let (name, v) = rest(
        "POST",
        "/v1/package/version/publish?domain=d&asset=a%2Fb.txt",
        b"abc",
    );
    assert_eq!(name, "PublishPackageVersion");
    assert_eq!(
        v,
        json!({"domain": "d", "assetName": "a/b.txt", "assetContent": "YWJj"})
    );
    assert_eq!(
        rest("DELETE", "/v1/domain?domain=d1", b"").0,
        "DeleteDomain"
    );
    assert_eq!(
        rest("POST", "/v1/package?domain=d1", b"{}").0,
        "PutPackageOriginConfiguration"
    );
    assert!(route(&codeartifact::SERVICE, "PATCH", "/v1/domain").is_none());
}
