//! Git smart HTTP at `/v1/repos/<name>`: `info/refs`, `git-upload-pack` and `git-receive-pack`,
//! protocol v0 and v2, gzip request bodies, streamed both ways through the git child process
//! (a pack is never held in memory). Pushes run under the repository's lock and are recorded
//! (default branch, events) once `git receive-pack` has exited.

use std::time::Instant;

use async_compression::tokio::bufread::GzipDecoder;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ferry_commit::transport::{self, GitService};
use futures_util::TryStreamExt;
use tokio::io::{AsyncRead, AsyncWriteExt};
use tokio_util::io::{ReaderStream, StreamReader};

use crate::auth::{GitAuthError, verify_git};
use crate::state::SharedState;

fn plain(status: StatusCode, text: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{text}\n"),
    )
        .into_response()
}

fn unauthorized() -> Response {
    let mut r = plain(StatusCode::UNAUTHORIZED, "Authentication required");
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"Ferry\""),
    );
    r
}

fn no_cache(r: &mut Response) {
    let h = r.headers_mut();
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, max-age=0, must-revalidate"),
    );
    h.insert(
        header::EXPIRES,
        HeaderValue::from_static("Fri, 01 Jan 1980 00:00:00 GMT"),
    );
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

/// The git caller, or the answer that refuses it (401 asks for credentials).
async fn authenticate(
    st: &SharedState,
    headers: &HeaderMap,
    repo_paths: &[&str],
) -> Result<ferry_store::identity::Principal, Response> {
    match verify_git(&st.store, &st.keys, &st.region, headers, repo_paths).await {
        Ok(p) => Ok(p),
        Err(GitAuthError::Missing) | Err(GitAuthError::Rejected) => Err(unauthorized()),
        Err(GitAuthError::Internal(e)) => {
            tracing::error!(error = %e, "git authentication failed internally");
            Err(plain(StatusCode::INTERNAL_SERVER_ERROR, "Internal error"))
        }
    }
}

/// Handles every request under `/v1/repos/`.
pub async fn handle(
    State(st): State<SharedState>,
    Path(rest): Path<String>,
    req: Request,
) -> Response {
    let started = Instant::now();
    if let Some((repo_part, lfs_rest)) = rest.split_once("/info/lfs/") {
        return lfs_request(&st, repo_part, lfs_rest, req, started).await;
    }
    let (repo_part, action) = if let Some(r) = rest.strip_suffix("/info/refs") {
        (r, "info/refs")
    } else if let Some(r) = rest.strip_suffix("/git-upload-pack") {
        (r, "git-upload-pack")
    } else if let Some(r) = rest.strip_suffix("/git-receive-pack") {
        (r, "git-receive-pack")
    } else {
        return plain(
            StatusCode::NOT_FOUND,
            "Not found (Ferry serves the git smart-HTTP protocol only)",
        );
    };
    let name = repo_part.strip_suffix(".git").unwrap_or(repo_part);
    if !ferry_commit::names::valid_repository_name(name) {
        return plain(StatusCode::NOT_FOUND, "Repository not found");
    }
    let service = match action {
        "info/refs" => {
            let q = req.uri().query().unwrap_or("");
            match q
                .split('&')
                .find_map(|kv| kv.strip_prefix("service="))
                .and_then(GitService::from_name)
            {
                Some(s) => s,
                None => {
                    return plain(
                        StatusCode::FORBIDDEN,
                        "Ferry does not serve the dumb HTTP protocol",
                    );
                }
            }
        }
        other => GitService::from_name(other).expect("matched above"),
    };
    let advertise = action == "info/refs";
    if advertise != (req.method() == Method::GET) {
        return plain(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed");
    }
    let repo_path = format!("/v1/repos/{repo_part}");
    let principal = match authenticate(&st, req.headers(), &[repo_path.as_str()]).await {
        Ok(p) => p,
        Err(response) => return response,
    };
    let Some(repo) = st.commit.repository_for_git(name).await else {
        return plain(StatusCode::NOT_FOUND, "Repository not found");
    };
    let git_protocol = req
        .headers()
        .get("git-protocol")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let op = if advertise {
        format!("info/refs:{}", service.name())
    } else {
        service.name().to_owned()
    };
    let request_id = uuid::Uuid::new_v4().to_string();
    tracing::info!(request_id, repository = %repo.name, user = %principal.user_name, op, "git");

    let response = if advertise {
        advertise_refs(&st, &repo, service, git_protocol.as_deref()).await
    } else {
        run_service(
            &st,
            &repo,
            service,
            git_protocol.as_deref(),
            req,
            &principal.arn,
        )
        .await
    };
    st.metrics.record(
        "git",
        &op,
        started.elapsed(),
        !response.status().is_success(),
    );
    response
}

async fn lfs_request(
    st: &SharedState,
    repo_part: &str,
    lfs_rest: &str,
    req: Request,
    started: Instant,
) -> Response {
    let name = repo_part.strip_suffix(".git").unwrap_or(repo_part);
    if !ferry_commit::names::valid_repository_name(name) {
        return plain(StatusCode::NOT_FOUND, "Repository not found");
    }
    let paths = [
        format!("/v1/repos/{repo_part}"),
        format!("/v1/repos/{repo_part}/info/lfs"),
        format!("/v1/repos/{name}"),
        format!("/v1/repos/{name}.git/info/lfs"),
    ];
    let path_refs: Vec<&str> = paths.iter().map(String::as_str).collect();
    if let Err(response) = authenticate(st, req.headers(), &path_refs).await {
        return response;
    }
    let Some(repo) = st.commit.repository_for_git(name).await else {
        return plain(StatusCode::NOT_FOUND, "Repository not found");
    };
    let (parts, body) = req.into_parts();
    let response = crate::lfs::handle(
        st,
        &repo,
        repo_part,
        lfs_rest,
        &parts.method,
        &parts.headers,
        body,
    )
    .await;
    st.metrics.record(
        "git",
        &format!("lfs:{}", parts.method),
        started.elapsed(),
        !response.status().is_success(),
    );
    response
}

async fn advertise_refs(
    st: &SharedState,
    repo: &ferry_store::repos::RepoRow,
    service: GitService,
    proto: Option<&str>,
) -> Response {
    match st.commit.advertisement(repo, service, proto).await {
        Ok(body) => {
            let mut r = Response::new(Body::from(body));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(service.advertisement_content_type()),
            );
            no_cache(&mut r);
            r
        }
        Err(e) => {
            tracing::error!(error = %e, repository = %repo.name, "cannot advertise refs");
            plain(StatusCode::INTERNAL_SERVER_ERROR, "Internal error")
        }
    }
}

use futures_util::StreamExt;

async fn run_service(
    st: &SharedState,
    repo: &ferry_store::repos::RepoRow,
    service: GitService,
    proto: Option<&str>,
    req: Request,
    actor: &str,
) -> Response {
    let headers: HeaderMap = req.headers().clone();
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type != service.request_content_type() {
        return plain(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Unexpected content type",
        );
    }
    // A push holds the repository's lock from before git starts until it is recorded.
    let change = if service == GitService::ReceivePack {
        match st.commit.begin_ref_change(repo).await.map(|c| c.by(actor)) {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::error!(error = %e, "cannot read refs before push");
                return plain(StatusCode::INTERNAL_SERVER_ERROR, "Internal error");
            }
        }
    } else {
        None
    };
    let mut child = match transport::spawn(&st.commit.git, &repo.id, service, false, proto) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "cannot start git");
            return plain(StatusCode::INTERNAL_SERVER_ERROR, "Internal error");
        }
    };
    let mut stdin = child.stdin.take().expect("piped");
    let stdout = child.stdout.take().expect("piped");
    drain_stderr(&mut child, service);

    let gzip = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("gzip") || v.eq_ignore_ascii_case("x-gzip"));
    let body = req
        .into_body()
        .into_data_stream()
        .map_err(std::io::Error::other);
    let reader = StreamReader::new(body);
    let mut input: Box<dyn AsyncRead + Send + Unpin> = if gzip {
        Box::new(GzipDecoder::new(reader))
    } else {
        Box::new(reader)
    };
    st.tasks.spawn(async move {
        // A client that goes away mid-upload closes git's input early: git then fails and,
        // for a push, leaves refs and objects as they were (its quarantine is discarded).
        if let Err(e) = tokio::io::copy(&mut input, &mut stdin).await {
            tracing::info!(error = %e, "git request body ended early");
        }
        let _ = stdin.shutdown().await;
    });
    let commit = st.commit.clone();
    let repo_name = repo.name.clone();
    // The answer ends only once the push is recorded, so a client that reads the repository
    // right after `git push` returns sees the new default branch and modified time.
    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
    st.tasks.spawn(async move {
        let status = child.wait().await;
        if let Some(change) = change {
            match commit.finish_ref_change(change).await {
                Ok(updates) if !updates.is_empty() => {
                    tracing::info!(repository = %repo_name, refs = updates.len(), "push recorded")
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(repository = %repo_name, error = %e, "cannot record push")
                }
            }
        }
        if let Ok(s) = status
            && !s.success()
        {
            tracing::info!(repository = %repo_name, status = %s, "git service exited with failure");
        }
        let _ = done_tx.send(());
    });
    let done = futures_util::stream::once(async move {
        let _ = done_rx.await;
        Ok::<_, std::io::Error>(bytes::Bytes::new())
    });
    let mut r = Response::new(Body::from_stream(ReaderStream::new(stdout).chain(done)));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(service.result_content_type()),
    );
    no_cache(&mut r);
    r
}

fn drain_stderr(child: &mut tokio::process::Child, service: GitService) {
    if let Some(mut err) = child.stderr.take() {
        tokio::spawn(async move {
            let mut buf = Vec::new();
            let _ = tokio::io::AsyncReadExt::read_to_end(&mut err, &mut buf).await;
            if !buf.is_empty() {
                tracing::debug!(service = service.name(), stderr = %String::from_utf8_lossy(&buf), "git stderr");
            }
        });
    }
}
