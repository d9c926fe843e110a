//! Pull request pages: a repository's pull requests by status, and one pull request with its
//! description, branches, approval rules and whether they are satisfied, the approvals given,
//! its diff (each changed file, as lines with their numbers and a few lines of context),
//! comments with a form to add one, an approve button, and a merge form with the strategy to
//! use — or a notice when the branches conflict. Everything goes through the CodeCommit API
//! face with the session's context; every form is CSRF-checked.

use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use ferry_model::codecommit::*;
use ferry_wire::{AwsError, RequestContext};
use serde::{Deserialize, Serialize};

use super::diffs::diff;
use super::view::{Page, failed, message, render, segment, when};
use super::{Session, authorize};
use crate::state::SharedState;

/// The user name at the end of an ARN.
fn who(arn: &str) -> String {
    arn.rsplit(['/', ':']).next().unwrap_or(arn).to_owned()
}

#[derive(Deserialize, Default)]
pub struct StatusQuery {
    #[serde(default)]
    status: Option<String>,
}

#[derive(Serialize)]
struct PullRow {
    id: String,
    title: String,
    author: String,
    branches: String,
    updated: String,
}

pub async fn list(
    State(st): State<SharedState>,
    session: Session,
    Path(name): Path<String>,
    Query(q): Query<StatusQuery>,
) -> Response {
    let ctx = authorize(&st, &session, "codecommit:ListPullRequests");
    let closed = q.status.as_deref() == Some("CLOSED");
    let ids = match st
        .commit
        .list_pull_requests(
            &ctx,
            ListPullRequestsInput {
                repository_name: name.clone(),
                pull_request_status: Some(if closed {
                    PullRequestStatusEnum::Closed
                } else {
                    PullRequestStatusEnum::Open
                }),
                max_results: Some(100),
                ..Default::default()
            },
        )
        .await
    {
        Ok(o) => o.pull_request_ids,
        Err(e) => return failed(&session, e),
    };
    let mut rows = Vec::new();
    for id in ids {
        let Ok(out) = st
            .commit
            .get_pull_request(
                &ctx,
                GetPullRequestInput {
                    pull_request_id: id.clone(),
                },
            )
            .await
        else {
            continue;
        };
        let pr = out.pull_request;
        let target = pr.pull_request_targets.clone().unwrap_or_default();
        let t = target.first().cloned().unwrap_or_default();
        rows.push(PullRow {
            id,
            title: pr.title.clone().unwrap_or_default(),
            author: who(pr.author_arn.as_deref().unwrap_or_default()),
            branches: format!(
                "{} → {}",
                t.source_reference
                    .unwrap_or_default()
                    .trim_start_matches("refs/heads/"),
                t.destination_reference
                    .unwrap_or_default()
                    .trim_start_matches("refs/heads/")
            ),
            updated: when(pr.last_activity_date),
        });
    }
    render(
        "pulls.html",
        Page::of(&session, &format!("Pull requests · {name}"))
            .with("section", "repos")
            .with("repo", &name)
            .with("closed", closed)
            .with("pulls", rows),
    )
}

#[derive(Serialize)]
struct CommentRow {
    author: String,
    when: String,
    content: String,
}

/// A pull request and its (first) target.
async fn pull_request(
    st: &SharedState,
    ctx: &RequestContext,
    id: &str,
) -> Result<(PullRequest, PullRequestTarget), AwsError> {
    let pr = st
        .commit
        .get_pull_request(
            ctx,
            GetPullRequestInput {
                pull_request_id: id.to_owned(),
            },
        )
        .await?
        .pull_request;
    let t = pr
        .pull_request_targets
        .clone()
        .unwrap_or_default()
        .into_iter()
        .next()
        .unwrap_or_default();
    Ok((pr, t))
}

pub async fn pull(
    State(st): State<SharedState>,
    session: Session,
    Path((name, id)): Path<(String, String)>,
) -> Response {
    let ctx = authorize(&st, &session, "codecommit:GetPullRequest");
    let (pr, t) = match pull_request(&st, &ctx, &id).await {
        Ok(x) => x,
        Err(e) => return failed(&session, e),
    };
    let revision = pr.revision_id.clone().unwrap_or_default();
    let open = pr.pull_request_status == Some(PullRequestStatusEnum::Open);
    let source = t.source_commit.clone().unwrap_or_default();
    let destination = t.destination_commit.clone().unwrap_or_default();
    let base = t.merge_base.clone().unwrap_or_else(|| destination.clone());
    let evaluation = st
        .commit
        .evaluate_pull_request_approval_rules(
            &ctx,
            EvaluatePullRequestApprovalRulesInput {
                pull_request_id: id.clone(),
                revision_id: revision.clone(),
            },
        )
        .await
        .ok()
        .map(|o| o.evaluation);
    let approvals: Vec<String> = st
        .commit
        .get_pull_request_approval_states(
            &ctx,
            GetPullRequestApprovalStatesInput {
                pull_request_id: id.clone(),
                revision_id: revision.clone(),
            },
        )
        .await
        .ok()
        .and_then(|o| o.approvals)
        .unwrap_or_default()
        .into_iter()
        .filter(|a| a.approval_state == Some(ApprovalState::Approve))
        .filter_map(|a| a.user_arn.map(|u| who(&u)))
        .collect();
    let rules: Vec<(String, bool)> = pr
        .approval_rules
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|r| {
            let n = r.approval_rule_name.unwrap_or_default();
            let ok = evaluation
                .as_ref()
                .and_then(|e| e.approval_rules_satisfied.as_ref())
                .is_some_and(|s| s.contains(&n));
            (n, ok)
        })
        .collect();
    let mergeable = if open && !source.is_empty() {
        st.commit
            .get_merge_conflicts(
                &ctx,
                GetMergeConflictsInput {
                    repository_name: name.clone(),
                    destination_commit_specifier: destination.clone(),
                    source_commit_specifier: source.clone(),
                    merge_option: MergeOptionTypeEnum::ThreeWayMerge,
                    ..Default::default()
                },
            )
            .await
            .ok()
            .map(|o| o.mergeable)
    } else {
        None
    };
    let comments: Vec<CommentRow> = st
        .commit
        .get_comments_for_pull_request(
            &ctx,
            GetCommentsForPullRequestInput {
                pull_request_id: id.clone(),
                ..Default::default()
            },
        )
        .await
        .ok()
        .and_then(|o| o.comments_for_pull_request_data)
        .unwrap_or_default()
        .into_iter()
        .flat_map(|c| c.comments.unwrap_or_default())
        .filter(|c| c.deleted != Some(true))
        .map(|c| CommentRow {
            author: who(c.author_arn.as_deref().unwrap_or_default()),
            when: when(c.creation_date),
            content: c.content.unwrap_or_default(),
        })
        .collect();
    let files = if source.is_empty() {
        Vec::new()
    } else {
        diff(&st, &ctx, &name, Some(&base), &source).await
    };
    let merged = t
        .merge_metadata
        .as_ref()
        .and_then(|m| m.is_merged)
        .unwrap_or(false);
    render(
        "pull.html",
        Page::of(
            &session,
            &format!("{} · {name}", pr.title.clone().unwrap_or_default()),
        )
        .with("section", "repos")
        .with("repo", &name)
        .with("id", &id)
        .with("title", pr.title.clone().unwrap_or_default())
        .with("description", &pr.description)
        .with("author", who(pr.author_arn.as_deref().unwrap_or_default()))
        .with("open", open)
        .with("merged", merged)
        .with(
            "source_ref",
            t.source_reference
                .unwrap_or_default()
                .trim_start_matches("refs/heads/"),
        )
        .with(
            "destination_ref",
            t.destination_reference
                .unwrap_or_default()
                .trim_start_matches("refs/heads/"),
        )
        .with("source", &source)
        .with("destination", &destination)
        .with("approved", evaluation.as_ref().and_then(|e| e.approved))
        .with("rules", rules)
        .with("approvals", approvals)
        .with("mergeable", mergeable)
        .with("comments", comments)
        .with("files", files),
    )
}

#[derive(Deserialize)]
pub struct PullForm {
    #[serde(default)]
    csrf: String,
    /// `comment`, `approve` or `merge`.
    what: String,
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    strategy: Option<String>,
}

pub async fn act(
    State(st): State<SharedState>,
    session: Session,
    Path((name, id)): Path<(String, String)>,
    Form(f): Form<PullForm>,
) -> Response {
    if let Some(refused) = session.refusal(&f.csrf) {
        return refused;
    }
    let ctx = authorize(&st, &session, "codecommit:GetPullRequest");
    let (pr, t) = match pull_request(&st, &ctx, &id).await {
        Ok(x) => x,
        Err(e) => return failed(&session, e),
    };
    let source = t.source_commit.clone();
    let done: Result<(), AwsError> = match f.what.as_str() {
        "comment" => {
            let ctx = authorize(&st, &session, "codecommit:PostCommentForPullRequest");
            st.commit
                .post_comment_for_pull_request(
                    &ctx,
                    PostCommentForPullRequestInput {
                        pull_request_id: id.clone(),
                        repository_name: name.clone(),
                        before_commit_id: t.destination_commit.clone().unwrap_or_default(),
                        after_commit_id: source.clone().unwrap_or_default(),
                        content: f.content.clone().unwrap_or_default(),
                        ..Default::default()
                    },
                )
                .await
                .map(|_| ())
        }
        "approve" => {
            let ctx = authorize(&st, &session, "codecommit:UpdatePullRequestApprovalState");
            st.commit
                .update_pull_request_approval_state(
                    &ctx,
                    UpdatePullRequestApprovalStateInput {
                        pull_request_id: id.clone(),
                        revision_id: pr.revision_id.clone().unwrap_or_default(),
                        approval_state: ApprovalState::Approve,
                    },
                )
                .await
                .map(|_| ())
        }
        "merge" => {
            let ctx = authorize(&st, &session, "codecommit:MergePullRequest");
            let message = format!(
                "Merge pull request {id}: {}",
                pr.title.clone().unwrap_or_default()
            );
            match f.strategy.as_deref().unwrap_or("FAST_FORWARD_MERGE") {
                "SQUASH_MERGE" => st
                    .commit
                    .merge_pull_request_by_squash(
                        &ctx,
                        MergePullRequestBySquashInput {
                            pull_request_id: id.clone(),
                            repository_name: name.clone(),
                            source_commit_id: source.clone(),
                            commit_message: Some(message),
                            ..Default::default()
                        },
                    )
                    .await
                    .map(|_| ()),
                "THREE_WAY_MERGE" => st
                    .commit
                    .merge_pull_request_by_three_way(
                        &ctx,
                        MergePullRequestByThreeWayInput {
                            pull_request_id: id.clone(),
                            repository_name: name.clone(),
                            source_commit_id: source.clone(),
                            commit_message: Some(message),
                            ..Default::default()
                        },
                    )
                    .await
                    .map(|_| ()),
                _ => st
                    .commit
                    .merge_pull_request_by_fast_forward(
                        &ctx,
                        MergePullRequestByFastForwardInput {
                            pull_request_id: id.clone(),
                            repository_name: name.clone(),
                            source_commit_id: source.clone(),
                        },
                    )
                    .await
                    .map(|_| ()),
            }
        }
        _ => {
            return message(
                StatusCode::BAD_REQUEST,
                Some(&session),
                "Not possible",
                "Unknown action",
            );
        }
    };
    match done {
        Ok(()) => Redirect::to(&format!(
            "/console/repos/{}/pulls/{}",
            segment(&name),
            segment(&id)
        ))
        .into_response(),
        Err(e) => failed(&session, e),
    }
}
