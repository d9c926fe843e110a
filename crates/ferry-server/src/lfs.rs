//! Git LFS (beyond AWS): the batch API at `<repo>.git/info/lfs/objects/batch` and the basic
//! transfer at `<repo>.git/info/lfs/objects/<oid>`, authenticated like git over HTTP. Objects
//! live in the blob store under `lfs/<repositoryId>/<oid>`; an upload becomes visible only once
//! its content matches its SHA-256 object id. The locking API is not offered (clients are told
//! 404 and carry on).

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ferry_store::StoreError;
use ferry_store::blob::BlobStore;
use ferry_store::repos::RepoRow;
use futures_util::TryStreamExt;
use serde_json::{Value, json};
use tokio_util::io::{ReaderStream, StreamReader};

use crate::state::SharedState;

const LFS_JSON: &str = "application/vnd.git-lfs+json";

fn lfs_error(status: StatusCode, message: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, LFS_JSON)],
        json!({ "message": message }).to_string(),
    )
        .into_response()
}

fn valid_oid(oid: &str) -> bool {
    oid.len() == 64
        && oid
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn key(repo: &RepoRow, oid: &str) -> String {
    format!("lfs/{}/{}/{oid}", repo.id, &oid[..2])
}

/// Handles `info/lfs/...` below a repository (`rest` is what follows `info/lfs/`).
pub async fn handle(
    st: &SharedState,
    repo: &RepoRow,
    repo_part: &str,
    rest: &str,
    method: &Method,
    headers: &HeaderMap,
    body: Body,
) -> Response {
    match (method, rest) {
        (&Method::POST, "objects/batch") => batch(st, repo, repo_part, headers, body).await,
        (&Method::PUT, path) if path.strip_prefix("objects/").is_some_and(valid_oid) => {
            upload(st, repo, &path["objects/".len()..], body).await
        }
        (&Method::GET, path) if path.strip_prefix("objects/").is_some_and(valid_oid) => {
            download(st, repo, &path["objects/".len()..]).await
        }
        _ => lfs_error(
            StatusCode::NOT_FOUND,
            "Not found: Ferry offers the LFS batch API and basic transfers",
        ),
    }
}

async fn batch(
    st: &SharedState,
    repo: &RepoRow,
    repo_part: &str,
    headers: &HeaderMap,
    body: Body,
) -> Response {
    let Ok(bytes) = axum::body::to_bytes(body, 4 * 1024 * 1024).await else {
        return lfs_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "The batch request is too large",
        );
    };
    let Ok(req) = serde_json::from_slice::<Value>(&bytes) else {
        return lfs_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "The batch request is not JSON",
        );
    };
    let operation = req["operation"].as_str().unwrap_or("");
    if operation != "upload" && operation != "download" {
        return lfs_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "operation must be upload or download",
        );
    }
    let Some(objects) = req["objects"].as_array() else {
        return lfs_error(StatusCode::UNPROCESSABLE_ENTITY, "objects must be a list");
    };
    if let Some(transfers) = req["transfers"].as_array()
        && !transfers.iter().any(|t| t == "basic")
    {
        return lfs_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "only the basic transfer is offered",
        );
    }
    // The actions reuse the caller's own credentials, which are valid for this repository.
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let base = st.commit.settings.public_url.clone();
    let mut out = Vec::with_capacity(objects.len());
    for o in objects {
        let oid = o["oid"].as_str().unwrap_or("").to_owned();
        let size = o["size"].as_u64();
        if !valid_oid(&oid) || size.is_none() {
            out.push(json!({ "oid": oid, "size": o["size"], "error": { "code": 422, "message": "invalid object" } }));
            continue;
        }
        let size = size.unwrap_or(0);
        let href = format!("{base}/v1/repos/{repo_part}/info/lfs/objects/{oid}");
        let action =
            json!({ "href": href, "header": { "Authorization": auth }, "expires_in": 3600 });
        let stored = match st.blobs.size(&key(repo, &oid)).await {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "lfs: blob store");
                return lfs_error(StatusCode::INTERNAL_SERVER_ERROR, "Internal error");
            }
        };
        out.push(match (operation, stored) {
            ("download", Some(_)) => json!({ "oid": oid, "size": size, "authenticated": true, "actions": { "download": action } }),
            ("download", None) => {
                json!({ "oid": oid, "size": size, "error": { "code": 404, "message": "Object does not exist" } })
            }
            (_, Some(_)) => json!({ "oid": oid, "size": size, "authenticated": true }),
            (_, None) => json!({ "oid": oid, "size": size, "authenticated": true, "actions": { "upload": action } }),
        });
    }
    let body = json!({ "transfer": "basic", "objects": out, "hash_algo": "sha256" });
    ([(header::CONTENT_TYPE, LFS_JSON)], body.to_string()).into_response()
}

async fn upload(st: &SharedState, repo: &RepoRow, oid: &str, body: Body) -> Response {
    let reader = StreamReader::new(body.into_data_stream().map_err(std::io::Error::other));
    match st.blobs.put_checked(&key(repo, oid), reader, oid).await {
        Ok(info) => {
            tracing::info!(repository = %repo.name, oid, size = info.size, "lfs object stored");
            StatusCode::OK.into_response()
        }
        Err(StoreError::Conflict(_)) => lfs_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "The content does not match its object id",
        ),
        Err(e) => {
            tracing::info!(error = %e, "lfs upload failed");
            lfs_error(StatusCode::BAD_REQUEST, "The upload did not complete")
        }
    }
}

async fn download(st: &SharedState, repo: &RepoRow, oid: &str) -> Response {
    let k = key(repo, oid);
    let size = st.blobs.size(&k).await.ok().flatten();
    match st.blobs.open(&k).await {
        Ok(reader) => {
            let mut r = Response::new(Body::from_stream(ReaderStream::new(reader)));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            );
            if let Some(n) = size
                && let Ok(v) = HeaderValue::from_str(&n.to_string())
            {
                r.headers_mut().insert(header::CONTENT_LENGTH, v);
            }
            r
        }
        Err(_) => lfs_error(StatusCode::NOT_FOUND, "Object does not exist"),
    }
}
