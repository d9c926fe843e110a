//! Build pages: projects with their latest build and a start button, a project's builds, and
//! a build with its phase timeline (status, duration, the failure message of a phase), its
//! exported variables, reports (test counts and cases, or coverage) and its artifact (to
//! download when it is one object), stop and
//! retry buttons, and its log — complete when the
//! page is drawn, then growing live while the build runs (server-sent events, read by a few
//! lines of JavaScript; without JavaScript a reload shows the rest). Reads and actions go
//! through the CodeBuild and CloudWatch Logs API faces with the session's context.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Form, Path, Query, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Redirect, Response};
use ferry_model::codebuild::*;
use ferry_model::logs::{GetLogEventsRequest, Logs};
use ferry_wire::{AwsError, RequestContext};
use serde::{Deserialize, Serialize};

use super::session::Csrf;
use super::view::{Page, failed, render, segment, when};
use super::{Session, authorize};
use crate::state::SharedState;

/// Builds listed for a project.
const BUILDS_SHOWN: usize = 50;
/// How often a live log looks for new lines.
const LIVE_POLL: Duration = Duration::from_millis(250);

#[derive(Serialize)]
struct BuildRow {
    id: String,
    number: Option<i64>,
    status: String,
    phase: String,
    started: String,
    seconds: Option<i64>,
    source_version: Option<String>,
}

fn build_row(b: &Build) -> BuildRow {
    BuildRow {
        id: b.id.clone().unwrap_or_default(),
        number: b.build_number,
        status: b.build_status.map(|s| s.to_string()).unwrap_or_default(),
        phase: b.current_phase.clone().unwrap_or_default(),
        started: when(b.start_time),
        seconds: match (b.start_time, b.end_time) {
            (Some(s), Some(e)) => Some((e.millis() - s.millis()) / 1000),
            _ => None,
        },
        source_version: b
            .resolved_source_version
            .clone()
            .or(b.source_version.clone()),
    }
}

async fn builds_of(
    st: &SharedState,
    ctx: &RequestContext,
    project: &str,
    n: usize,
) -> Result<Vec<Build>, AwsError> {
    let ids = st
        .builds
        .list_builds_for_project(
            ctx,
            ListBuildsForProjectInput {
                project_name: project.to_owned(),
                sort_order: Some(SortOrderType::Descending),
                next_token: None,
            },
        )
        .await?
        .ids
        .unwrap_or_default();
    let ids: Vec<String> = ids.into_iter().take(n).collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut builds = st
        .builds
        .batch_get_builds(ctx, BatchGetBuildsInput { ids: ids.clone() })
        .await?
        .builds
        .unwrap_or_default();
    builds.sort_by_key(|b| std::cmp::Reverse(b.build_number));
    Ok(builds)
}

#[derive(Serialize)]
struct ProjectRow {
    name: String,
    description: Option<String>,
    source: String,
    latest: Option<BuildRow>,
}

pub async fn projects(State(st): State<SharedState>, session: Session) -> Response {
    let ctx = authorize(&st, &session, "codebuild:ListProjects");
    let mut names = Vec::new();
    let mut token = None;
    loop {
        let out = match st
            .builds
            .list_projects(
                &ctx,
                ListProjectsInput {
                    sort_by: Some(ProjectSortByType::Name),
                    sort_order: Some(SortOrderType::Ascending),
                    next_token: token,
                },
            )
            .await
        {
            Ok(o) => o,
            Err(e) => return failed(&session, e),
        };
        names.extend(out.projects.unwrap_or_default());
        token = out.next_token;
        if token.is_none() {
            break;
        }
    }
    let mut rows = Vec::new();
    for chunk in names.chunks(100) {
        let got = st
            .builds
            .batch_get_projects(
                &ctx,
                BatchGetProjectsInput {
                    names: chunk.to_vec(),
                },
            )
            .await;
        for p in got.ok().and_then(|o| o.projects).unwrap_or_default() {
            let name = p.name.unwrap_or_default();
            let latest = builds_of(&st, &ctx, &name, 1)
                .await
                .ok()
                .and_then(|b| b.first().map(build_row));
            rows.push(ProjectRow {
                source: p
                    .source
                    .map(|s| format!("{} {}", s.r#type, s.location.unwrap_or_default()))
                    .unwrap_or_default(),
                name,
                description: p.description,
                latest,
            });
        }
    }
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    render(
        "projects.html",
        Page::of(&session, "Builds")
            .with("section", "builds")
            .with("projects", rows),
    )
}

pub async fn project(
    State(st): State<SharedState>,
    session: Session,
    Path(name): Path<String>,
) -> Response {
    let ctx = authorize(&st, &session, "codebuild:ListBuildsForProject");
    let builds = match builds_of(&st, &ctx, &name, BUILDS_SHOWN).await {
        Ok(b) => b,
        Err(e) => return failed(&session, e),
    };
    let rows: Vec<BuildRow> = builds.iter().map(build_row).collect();
    render(
        "project.html",
        Page::of(&session, &format!("{name} · builds"))
            .with("section", "builds")
            .with("project", &name)
            .with("builds", rows),
    )
}

#[derive(Serialize)]
struct PhaseRow {
    phase: String,
    status: String,
    seconds: Option<i64>,
    context: Vec<String>,
}

/// A build's log from `token` (the start when `None`): its text and the token after it.
async fn log_from(
    st: &SharedState,
    ctx: &RequestContext,
    b: &Build,
    token: Option<String>,
) -> (String, Option<String>) {
    let Some(logs) = &b.logs else {
        return (String::new(), token);
    };
    let (Some(group), Some(stream)) = (&logs.group_name, &logs.stream_name) else {
        return (String::new(), token);
    };
    let mut text = String::new();
    let mut token = token;
    loop {
        let got = st
            .companion
            .get_log_events(
                ctx,
                GetLogEventsRequest {
                    log_group_name: Some(group.clone()),
                    log_stream_name: stream.clone(),
                    start_from_head: Some(true),
                    next_token: token.clone(),
                    ..Default::default()
                },
            )
            .await;
        let Ok(got) = got else {
            return (text, token);
        };
        let events = got.events.unwrap_or_default();
        for e in &events {
            text.push_str(e.message.as_deref().unwrap_or_default());
            if !text.ends_with('\n') {
                text.push('\n');
            }
        }
        let next = got.next_forward_token;
        if events.is_empty() || next == token {
            return (text, next.or(token));
        }
        token = next;
    }
}

async fn one_build(st: &SharedState, ctx: &RequestContext, id: &str) -> Result<Build, AwsError> {
    st.builds
        .batch_get_builds(
            ctx,
            BatchGetBuildsInput {
                ids: vec![id.to_owned()],
            },
        )
        .await?
        .builds
        .unwrap_or_default()
        .into_iter()
        .next()
        .ok_or_else(|| AwsError::new("ResourceNotFoundException", format!("No build {id}")))
}

pub async fn build(
    State(st): State<SharedState>,
    session: Session,
    Path((project, id)): Path<(String, String)>,
) -> Response {
    let ctx = authorize(&st, &session, "codebuild:BatchGetBuilds");
    let b = match one_build(&st, &ctx, &id).await {
        Ok(b) => b,
        Err(e) => return failed(&session, e),
    };
    let phases: Vec<PhaseRow> = b
        .phases
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|p| PhaseRow {
            phase: p.phase_type.map(|t| t.to_string()).unwrap_or_default(),
            status: p.phase_status.map(|s| s.to_string()).unwrap_or_default(),
            seconds: p.duration_in_seconds,
            context: p
                .contexts
                .unwrap_or_default()
                .into_iter()
                .filter_map(|c| c.message.filter(|m| !m.is_empty()))
                .collect(),
        })
        .collect();
    let (log, token) = log_from(&st, &ctx, &b, None).await;
    let done = b.build_complete.unwrap_or(false);
    let live = (!done).then(|| {
        format!(
            "/console/builds/{}/{}/log?token={}",
            segment(&project),
            segment(&id),
            segment(token.as_deref().unwrap_or_default())
        )
    });
    let exported: Vec<(String, String)> = b
        .exported_environment_variables
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|v| (v.name.unwrap_or_default(), v.value.unwrap_or_default()))
        .collect();
    render(
        "build.html",
        Page::of(&session, &format!("{id} · builds"))
            .with("section", "builds")
            .with("project", &project)
            .with("build", build_row(&b))
            .with("done", done)
            .with("phases", phases)
            .with("exported", exported)
            .with(
                "artifacts",
                b.artifacts.as_ref().and_then(|a| a.location.clone()),
            )
            .with("log", log)
            .with("live", live)
            .with("reports", reports(&st, &ctx, &b).await),
    )
}

/// A report of a build as drawn: its name and status, the test counts or coverage, and its
/// test cases (failed ones first).
#[derive(Serialize)]
struct ReportView {
    name: String,
    status: String,
    summary: String,
    cases: Vec<(String, String, Option<String>)>,
}

async fn reports(st: &SharedState, ctx: &RequestContext, b: &Build) -> Vec<ReportView> {
    let arns = b.report_arns.clone().unwrap_or_default();
    if arns.is_empty() {
        return Vec::new();
    }
    let got = st
        .builds
        .batch_get_reports(ctx, BatchGetReportsInput { report_arns: arns })
        .await
        .ok()
        .and_then(|o| o.reports)
        .unwrap_or_default();
    let mut out = Vec::new();
    for r in got {
        let summary = match (&r.test_summary, &r.code_coverage_summary) {
            (Some(t), _) => {
                let counts: Vec<String> = t
                    .status_counts
                    .iter()
                    .filter(|(_, n)| **n > 0)
                    .map(|(k, n)| format!("{n} {}", k.to_lowercase()))
                    .collect();
                format!("{} tests: {}", t.total, counts.join(", "))
            }
            (None, Some(c)) => format!(
                "line coverage {:.1}% ({} covered, {} missed)",
                c.line_coverage_percentage.unwrap_or(0.0),
                c.lines_covered.unwrap_or(0),
                c.lines_missed.unwrap_or(0)
            ),
            _ => String::new(),
        };
        let mut cases: Vec<(String, String, Option<String>)> = match &r.arn {
            Some(arn) if r.test_summary.is_some() => st
                .builds
                .describe_test_cases(
                    ctx,
                    DescribeTestCasesInput {
                        report_arn: arn.clone(),
                        max_results: Some(100),
                        ..Default::default()
                    },
                )
                .await
                .ok()
                .and_then(|o| o.test_cases)
                .unwrap_or_default()
                .into_iter()
                .map(|c| {
                    let name = match c.prefix.filter(|p| !p.is_empty()) {
                        Some(p) => format!("{p}.{}", c.name.unwrap_or_default()),
                        None => c.name.unwrap_or_default(),
                    };
                    (
                        name,
                        c.status.unwrap_or_default(),
                        c.message.filter(|m| !m.is_empty()),
                    )
                })
                .collect(),
            _ => Vec::new(),
        };
        cases.sort_by_key(|(n, s, _)| (s == "SUCCEEDED", n.clone()));
        out.push(ReportView {
            name: r.name.unwrap_or_default(),
            status: r.status.map(|s| s.to_string()).unwrap_or_default(),
            summary,
            cases,
        });
    }
    out
}

/// The bucket and key of an artifact location (`arn:aws:s3:::bucket/key`).
fn s3_location(location: &str) -> Option<(&str, &str)> {
    location
        .strip_prefix("arn:aws:s3:::")?
        .split_once('/')
        .filter(|(b, k)| !b.is_empty() && !k.is_empty())
}

/// The build's artifact, when it is one object (ZIP packaging, or a single file), streamed
/// from Ferry's S3 as a download.
pub async fn artifact(
    State(st): State<SharedState>,
    session: Session,
    Path((_project, id)): Path<(String, String)>,
) -> Response {
    let ctx = authorize(&st, &session, "s3:GetObject");
    let b = match one_build(&st, &ctx, &id).await {
        Ok(b) => b,
        Err(e) => return failed(&session, e),
    };
    let location = b.artifacts.and_then(|a| a.location).unwrap_or_default();
    let missing = || {
        super::view::message(
            axum::http::StatusCode::NOT_FOUND,
            Some(&session),
            "Not found",
            "This build has no artifact to download as one file",
        )
    };
    let Some((bucket, key)) = s3_location(&location) else {
        return missing();
    };
    let object = match st.store.object_version(bucket, key, None).await {
        Ok(Some(o)) if !o.is_delete_marker => o,
        _ => return missing(),
    };
    let Some(blob) = object.blob_key.as_deref() else {
        return missing();
    };
    let size = u64::try_from(object.size).unwrap_or_default();
    let reader = match st.blobs.open_range(blob, 0, size).await {
        Ok(r) => r,
        Err(_) => return missing(),
    };
    let name = key.rsplit('/').next().unwrap_or("artifact");
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    (
        [
            (CONTENT_TYPE, "application/octet-stream".to_owned()),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{safe}\""),
            ),
            (axum::http::header::CONTENT_LENGTH, size.to_string()),
        ],
        Body::from_stream(tokio_util::io::ReaderStream::with_capacity(
            reader,
            256 << 10,
        )),
    )
        .into_response()
}

#[derive(Deserialize, Default)]
pub struct LiveFrom {
    #[serde(default)]
    token: Option<String>,
}

/// One server-sent event carrying `text` (JSON-encoded, so it is one line).
fn event(kind: Option<&str>, text: &str) -> String {
    let data = serde_json::to_string(text).unwrap_or_default();
    match kind {
        Some(k) => format!("event: {k}\ndata: {data}\n\n"),
        None => format!("data: {data}\n\n"),
    }
}

/// The build's log as it grows, from `token`, as server-sent events; an `end` event when the
/// build has finished and everything is sent.
pub async fn live_log(
    State(st): State<SharedState>,
    session: Session,
    Path((_project, id)): Path<(String, String)>,
    Query(q): Query<LiveFrom>,
) -> Response {
    let ctx = authorize(&st, &session, "logs:GetLogEvents");
    let start = q.token.filter(|t| !t.is_empty());
    let stream = futures_util::stream::unfold(
        (st, ctx, id, start, false),
        |(st, ctx, id, token, ended)| async move {
            if ended {
                return None;
            }
            loop {
                let Ok(b) = one_build(&st, &ctx, &id).await else {
                    let chunk = event(Some("end"), "");
                    return Some((Ok::<_, std::io::Error>(chunk), (st, ctx, id, token, true)));
                };
                let complete = b.build_complete.unwrap_or(false);
                let (text, next) = log_from(&st, &ctx, &b, token.clone()).await;
                if !text.is_empty() {
                    return Some((Ok(event(None, &text)), (st, ctx, id, next, false)));
                }
                if complete {
                    return Some((Ok(event(Some("end"), "")), (st, ctx, id, next, true)));
                }
                tokio::time::sleep(LIVE_POLL).await;
            }
        },
    );
    (
        [
            (CONTENT_TYPE, "text/event-stream"),
            (CACHE_CONTROL, "no-store"),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}

pub async fn start(
    State(st): State<SharedState>,
    session: Session,
    Path(project): Path<String>,
    Form(f): Form<Csrf>,
) -> Response {
    if let Some(refused) = session.refusal(&f.csrf) {
        return refused;
    }
    let ctx = authorize(&st, &session, "codebuild:StartBuild");
    match st
        .builds
        .start_build(
            &ctx,
            StartBuildInput {
                project_name: project.clone(),
                ..Default::default()
            },
        )
        .await
    {
        Ok(o) => {
            let id = o.build.and_then(|b| b.id).unwrap_or_default();
            Redirect::to(&format!(
                "/console/builds/{}/{}",
                segment(&project),
                segment(&id)
            ))
            .into_response()
        }
        Err(e) => failed(&session, e),
    }
}

pub async fn stop(
    State(st): State<SharedState>,
    session: Session,
    Path((project, id)): Path<(String, String)>,
    Form(f): Form<Csrf>,
) -> Response {
    if let Some(refused) = session.refusal(&f.csrf) {
        return refused;
    }
    let ctx = authorize(&st, &session, "codebuild:StopBuild");
    match st
        .builds
        .stop_build(&ctx, StopBuildInput { id: id.clone() })
        .await
    {
        Ok(_) => Redirect::to(&format!(
            "/console/builds/{}/{}",
            segment(&project),
            segment(&id)
        ))
        .into_response(),
        Err(e) => failed(&session, e),
    }
}

pub async fn retry(
    State(st): State<SharedState>,
    session: Session,
    Path((project, id)): Path<(String, String)>,
    Form(f): Form<Csrf>,
) -> Response {
    if let Some(refused) = session.refusal(&f.csrf) {
        return refused;
    }
    let ctx = authorize(&st, &session, "codebuild:RetryBuild");
    match st
        .builds
        .retry_build(
            &ctx,
            RetryBuildInput {
                id: Some(id),
                idempotency_token: None,
            },
        )
        .await
    {
        Ok(o) => {
            let new = o.build.and_then(|b| b.id).unwrap_or_default();
            Redirect::to(&format!(
                "/console/builds/{}/{}",
                segment(&project),
                segment(&new)
            ))
            .into_response()
        }
        Err(e) => failed(&session, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifact_locations() {
        assert_eq!(
            s3_location("arn:aws:s3:::b/p/out.zip"),
            Some(("b", "p/out.zip"))
        );
        assert_eq!(s3_location("arn:aws:s3:::b/"), None);
        assert_eq!(s3_location("s3://b/k"), None);
    }

    #[test]
    fn events_are_one_line_each() {
        assert_eq!(event(None, "a\nb"), "data: \"a\\nb\"\n\n");
        assert_eq!(event(Some("end"), ""), "event: end\ndata: \"\"\n\n");
    }
}
