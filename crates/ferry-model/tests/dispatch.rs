//! The generated dispatchers end to end: a handler overriding one trait method with an
//! `async fn`, called through `codecommit::dispatch` (JSON 1.1) and `codeartifact::dispatch`
//! (REST-JSON, routed with `ferry_wire::rest::route`), with the error codes clients see.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use ferry_model::codeartifact::{self, CodeArtifact};
use ferry_model::codecommit::{self, CodeCommit, GetRepositoryInput, GetRepositoryOutput};
use ferry_types::Blob;
use ferry_wire::{AwsError, RequestContext};
use serde_json::{Value, json};

/// Runs a future that never waits on I/O.
fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

fn assert_send<T: Send>(t: T) -> T {
    t
}

fn ctx() -> RequestContext {
    RequestContext {
        request_id: "req-1".into(),
        account_id: "123456789012".into(),
        region: "us-east-1".into(),
        ..RequestContext::default()
    }
}

struct Commit;

impl CodeCommit for Commit {
    async fn get_repository(
        &self,
        ctx: &RequestContext,
        input: GetRepositoryInput,
    ) -> Result<GetRepositoryOutput, AwsError> {
        if input.repository_name == "missing" {
            return Err(AwsError::new(
                "RepositoryDoesNotExistException",
                "missing does not exist",
            ));
        }
        Ok(GetRepositoryOutput {
            repository_metadata: Some(codecommit::RepositoryMetadata {
                repository_name: Some(input.repository_name),
                account_id: Some(ctx.account_id.clone()),
                ..Default::default()
            }),
        })
    }
}

fn commit(operation: &str, body: &[u8]) -> Result<Value, AwsError> {
    let ctx = ctx();
    let fut = assert_send(codecommit::dispatch(&Commit, &ctx, operation, body));
    block_on(fut).map(|b| serde_json::from_slice(&b).unwrap())
}

#[test]
fn json11_good_request() {
    let out = commit(
        "GetRepository",
        br#"{"repositoryName": "demo", "newMember": 1}"#,
    )
    .unwrap();
    assert_eq!(
        out,
        json!({"repositoryMetadata": {"repositoryName": "demo", "accountId": "123456789012"}})
    );
}

#[test]
fn json11_errors() {
    let code = |op: &str, body: &[u8]| commit(op, body).unwrap_err().code.into_owned();
    assert_eq!(code("GetRepository", b"{"), "SerializationException");
    assert_eq!(code("GetRepository", b"[]"), "SerializationException");
    assert_eq!(
        code("GetRepository", br#"{"repositoryName": 5}"#),
        "SerializationException"
    );
    assert_eq!(
        code("GetRepository", b"{}"),
        "RepositoryNameRequiredException"
    );
    assert_eq!(
        code("GetRepository", b""),
        "RepositoryNameRequiredException"
    );
    assert_eq!(code("NoSuchOperation", b"{}"), "UnknownOperationException");
    let e = commit("ListRepositories", b"{}").unwrap_err();
    assert_eq!(e.code, "NotImplementedException");
    assert_eq!(e.status, 400);
    let e = commit("GetRepository", br#"{"repositoryName": "missing"}"#).unwrap_err();
    assert_eq!(e.code, "RepositoryDoesNotExistException");
    assert_eq!(e.status, 400);
}

#[test]
fn json11_typed_request_and_response() {
    let r = codecommit::Request::decode("ListRepositories", br#"{"sortBy": "repositoryName"}"#)
        .unwrap();
    assert_eq!(r.operation(), "ListRepositories");
    let codecommit::Request::ListRepositories(input) = r else {
        panic!("wrong variant");
    };
    assert_eq!(input.sort_by, Some(codecommit::SortByEnum::RepositoryName));
    let unit = codecommit::Response::UpdateRepositoryDescription
        .to_json()
        .unwrap();
    assert_eq!(unit, b"{}");
}

struct Artifact;

impl CodeArtifact for Artifact {
    async fn describe_domain(
        &self,
        _ctx: &RequestContext,
        input: codeartifact::DescribeDomainRequest,
    ) -> Result<codeartifact::DescribeDomainResult, AwsError> {
        if input.domain == "gone" {
            return Err(AwsError::new("ResourceNotFoundException", "no such domain"));
        }
        Ok(codeartifact::DescribeDomainResult {
            domain: Some(codeartifact::DomainDescription {
                name: Some(input.domain),
                status: Some(codeartifact::DomainStatus::Active),
                created_time: Some(ferry_types::Timestamp::from_millis(1_700_000_000_000)),
                ..Default::default()
            }),
        })
    }

    async fn publish_package_version(
        &self,
        _ctx: &RequestContext,
        input: codeartifact::PublishPackageVersionRequest,
    ) -> Result<codeartifact::PublishPackageVersionResult, AwsError> {
        Ok(codeartifact::PublishPackageVersionResult {
            format: Some(input.format),
            package: Some(input.package),
            version: Some(input.package_version),
            asset: Some(codeartifact::AssetSummary {
                name: input.asset_name,
                size: Some(input.asset_content.0.len() as i64),
                ..Default::default()
            }),
            ..Default::default()
        })
    }

    async fn get_package_version_asset(
        &self,
        _ctx: &RequestContext,
        input: codeartifact::GetPackageVersionAssetRequest,
    ) -> Result<codeartifact::GetPackageVersionAssetResult, AwsError> {
        Ok(codeartifact::GetPackageVersionAssetResult {
            asset: Some(Blob(b"PK\x03\x04bytes".to_vec())),
            asset_name: Some(input.asset),
            package_version: Some(input.package_version),
            package_version_revision: Some("rev1".into()),
        })
    }
}

fn artifact(
    method: &str,
    path_and_query: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<ferry_wire::rest::RestResponse, AwsError> {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let op = ferry_wire::rest::route(&codeartifact::SERVICE, method, path).expect("routed");
    let headers: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let ctx = ctx();
    let fut = assert_send(codeartifact::dispatch(
        &Artifact, &ctx, op, query, &headers, body,
    ));
    block_on(fut)
}

#[test]
fn rest_json_dispatch() {
    let r = artifact("GET", "/v1/domain?domain=d1", &[], b"").unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.content_type, Some("application/json"));
    let body: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(
        body,
        json!({"domain": {"name": "d1", "status": "Active", "createdTime": 1_700_000_000}})
    );

    let e = artifact("GET", "/v1/domain?domain=gone", &[], b"").unwrap_err();
    assert_eq!(
        (e.code.as_ref(), e.status),
        ("ResourceNotFoundException", 404)
    );
    let e = artifact("GET", "/v1/domain", &[], b"").unwrap_err();
    assert_eq!((e.code.as_ref(), e.status), ("ValidationException", 400));
    let e = artifact("DELETE", "/v1/domain?domain=d1", &[], b"").unwrap_err();
    assert_eq!(e.code, "NotImplementedException");
    let e = artifact("POST", "/v1/repository?domain=d1&repository=r1", &[], b"{").unwrap_err();
    assert_eq!(e.code, "SerializationException");
}

#[test]
fn rest_json_payloads() {
    let sha = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
    let r = artifact(
        "POST",
        "/v1/package/version/publish?domain=d1&repository=r1&format=generic&namespace=ns\
         &package=p&version=1.0.0&asset=hello.txt&unfinished=true",
        &[("x-amz-content-sha256", sha)],
        b"hello",
    )
    .unwrap();
    let body: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(
        body,
        json!({"format": "generic", "package": "p", "version": "1.0.0",
               "asset": {"name": "hello.txt", "size": 5}})
    );

    let r = artifact(
        "GET",
        "/v1/package/version/asset?domain=d1&repository=r1&format=generic&namespace=ns\
         &package=p&version=1.0.0&asset=a.zip",
        &[],
        b"",
    )
    .unwrap();
    assert_eq!(r.body, b"PK\x03\x04bytes");
    assert_eq!(r.content_type, Some("application/octet-stream"));
    assert_eq!(
        r.headers,
        vec![
            ("X-AssetName".to_owned(), "a.zip".to_owned()),
            ("X-PackageVersion".to_owned(), "1.0.0".to_owned()),
            ("X-PackageVersionRevision".to_owned(), "rev1".to_owned()),
        ]
    );
}
