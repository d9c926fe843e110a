//! Pull requests: create (idempotent by client request token), get, list, events, title /
//! description / status updates, approvals per revision, and merging by fast-forward, squash or
//! three-way. A pull request's revision is derived from its source commit, so a push to the
//! source branch makes a new revision (recorded as an event) and earlier approvals stop
//! counting, as on AWS.

use ferry_model::codecommit::*;
use ferry_store::pulls::PullRow;
use ferry_store::repos::RepoRow;
use ferry_types::Timestamp;
use ferry_wire::{AwsError, RequestContext};
use sha2::{Digest, Sha256};

use super::errors::{git, store};
use crate::CommitService;
use crate::git::merge;

/// Page size of pull request listings and events.
const PAGE: usize = 100;

/// The revision of a pull request at a source commit: stable for the same source tip,
/// different for every new one.
fn revision_of(p: &PullRow, source_commit: &str) -> String {
    let key = format!(
        "{}:{}:{}:{}:{source_commit}",
        p.repository_id, p.created_ms, p.source_ref, p.destination_ref
    );
    hex::encode(Sha256::digest(key.as_bytes()))
}

fn pull_id(s: &str) -> Result<i64, AwsError> {
    if s.is_empty() {
        return Err(AwsError::new(
            "PullRequestIdRequiredException",
            "A pull request ID is required.",
        ));
    }
    s.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| {
        AwsError::new(
            "InvalidPullRequestIdException",
            format!("The pull request ID {s} is not valid."),
        )
    })
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "{}".into())
}

fn status_of(s: &str) -> PullRequestStatusEnum {
    if s == "OPEN" {
        PullRequestStatusEnum::Open
    } else {
        PullRequestStatusEnum::Closed
    }
}

impl CommitService {
    pub(crate) async fn load_pull(&self, id: &str) -> Result<PullRow, AwsError> {
        let n = pull_id(id)?;
        self.store
            .pull_request(n)
            .await
            .map_err(store)?
            .ok_or_else(|| {
                AwsError::new(
                    "PullRequestDoesNotExistException",
                    format!("The pull request {id} does not exist."),
                )
            })
    }

    /// Current tips of an open pull request's branches (recorded values once closed).
    async fn live_tips(&self, p: &PullRow) -> Result<(String, String), AwsError> {
        if p.status != "OPEN" {
            return Ok((p.source_commit.clone(), p.destination_commit.clone()));
        }
        let branch = |r: &str| r.strip_prefix("refs/heads/").unwrap_or(r).to_owned();
        let src = self
            .git
            .branch(&p.repository_id, &branch(&p.source_ref))
            .await
            .map_err(git)?;
        let dst = self
            .git
            .branch(&p.repository_id, &branch(&p.destination_ref))
            .await
            .map_err(git)?;
        Ok((
            src.unwrap_or_else(|| p.source_commit.clone()),
            dst.unwrap_or_else(|| p.destination_commit.clone()),
        ))
    }

    async fn pull_view(&self, p: &PullRow) -> Result<PullRequest, AwsError> {
        let repo_name = self
            .store
            .repository_by_id(&p.repository_id)
            .await
            .map_err(store)?
            .map(|r| r.name)
            .unwrap_or_default();
        let (source, destination) = self.live_tips(p).await?;
        Ok(PullRequest {
            pull_request_id: Some(p.id.to_string()),
            title: Some(p.title.clone()),
            description: p.description.clone(),
            last_activity_date: Some(Timestamp::from_millis(p.last_activity_ms)),
            creation_date: Some(Timestamp::from_millis(p.created_ms)),
            pull_request_status: Some(status_of(&p.status)),
            author_arn: Some(p.author_arn.clone()),
            pull_request_targets: Some(vec![PullRequestTarget {
                repository_name: Some(repo_name),
                source_reference: Some(p.source_ref.clone()),
                destination_reference: Some(p.destination_ref.clone()),
                destination_commit: Some(destination),
                source_commit: Some(source),
                merge_base: p.merge_base.clone(),
                merge_metadata: Some(MergeMetadata {
                    is_merged: Some(p.is_merged),
                    merged_by: p.merged_by.clone(),
                    merge_commit_id: p.merge_commit.clone(),
                    merge_option: p
                        .merge_option
                        .as_deref()
                        .and_then(MergeOptionTypeEnum::parse),
                }),
            }]),
            client_request_token: p.client_request_token.clone(),
            revision_id: Some(p.revision_id.clone()),
            approval_rules: Some(
                self.store
                    .approval_rules(p.id)
                    .await
                    .map_err(store)?
                    .iter()
                    .map(super::approvals::rule_view)
                    .collect(),
            ),
        })
    }

    /// The tip of a branch reference (`refs/heads/...`) named by a pull request.
    async fn reference_tip(&self, repo: &RepoRow, r: &str) -> Result<String, AwsError> {
        let branch = r.strip_prefix("refs/heads/").ok_or_else(|| {
            AwsError::new(
                "ReferenceTypeNotSupportedException",
                format!("{r} is not a branch."),
            )
        })?;
        self.git
            .branch(&repo.id, branch)
            .await
            .map_err(git)?
            .ok_or_else(|| {
                AwsError::new(
                    "ReferenceDoesNotExistException",
                    format!("The reference {r} does not exist."),
                )
            })
    }

    async fn merge_base_of(
        &self,
        repo_id: &str,
        a: &str,
        b: &str,
    ) -> Result<Option<String>, AwsError> {
        let (a, b) = (
            gix::ObjectId::from_hex(a.as_bytes()).map_err(AwsError::internal)?,
            gix::ObjectId::from_hex(b.as_bytes()).map_err(AwsError::internal)?,
        );
        let base = self
            .git
            .with(repo_id, move |r| merge::merge_base(r, a, b))
            .await
            .map_err(git)?;
        Ok(base.map(|b| b.to_string()))
    }

    pub(crate) async fn api_create_pull_request(
        &self,
        ctx: &RequestContext,
        i: CreatePullRequestInput,
    ) -> Result<CreatePullRequestOutput, AwsError> {
        if let Some(token) = i.client_request_token.as_deref().filter(|t| !t.is_empty())
            && let Some(existing) = self
                .store
                .pull_request_by_token(token)
                .await
                .map_err(store)?
        {
            let same = existing.title == i.title && existing.author_arn == ctx.principal_arn;
            if !same {
                return Err(AwsError::new(
                    "IdempotencyParameterMismatchException",
                    "The client request token was used before with other parameters.",
                ));
            }
            return Ok(CreatePullRequestOutput {
                pull_request: self.pull_view(&existing).await?,
            });
        }
        if i.title.trim().is_empty() {
            return Err(AwsError::new(
                "TitleRequiredException",
                "A pull request title is required.",
            ));
        }
        let target = match i.targets.as_slice() {
            [] => {
                return Err(AwsError::new(
                    "TargetsRequiredException",
                    "An array of target objects is required.",
                ));
            }
            [t] => t,
            _ => {
                return Err(AwsError::new(
                    "MultipleRepositoriesInPullRequestException",
                    "You cannot include more than one repository in a pull request.",
                ));
            }
        };
        let repo = self.existing_repo(&target.repository_name).await?;
        let full = |r: &str| {
            if r.starts_with("refs/") {
                r.to_owned()
            } else {
                format!("refs/heads/{r}")
            }
        };
        if target.source_reference.is_empty() {
            return Err(AwsError::new(
                "ReferenceNameRequiredException",
                "A source reference is required.",
            ));
        }
        let source_ref = full(&target.source_reference);
        let destination_ref = match target
            .destination_reference
            .as_deref()
            .filter(|d| !d.is_empty())
        {
            Some(d) => full(d),
            None => full(repo.default_branch.as_deref().unwrap_or("main")),
        };
        let source_commit = self.reference_tip(&repo, &source_ref).await?;
        let destination_commit = self.reference_tip(&repo, &destination_ref).await?;
        if source_ref == destination_ref {
            return Err(AwsError::new(
                "SourceAndDestinationAreSameException",
                "The source and destination references are the same.",
            ));
        }
        let merge_base = self
            .merge_base_of(&repo.id, &source_commit, &destination_commit)
            .await?;
        let now = Timestamp::now().millis();
        let mut row = PullRow {
            repository_id: repo.id.clone(),
            title: i.title.clone(),
            description: i.description.clone(),
            status: "OPEN".into(),
            author_arn: ctx.principal_arn.clone(),
            source_ref,
            destination_ref,
            source_commit: source_commit.clone(),
            destination_commit: destination_commit.clone(),
            merge_base: merge_base.clone(),
            client_request_token: i.client_request_token.clone().filter(|t| !t.is_empty()),
            created_ms: now,
            last_activity_ms: now,
            ..Default::default()
        };
        let meta = json(&PullRequestCreatedEventMetadata {
            repository_name: Some(repo.name.clone()),
            source_commit_id: Some(source_commit.clone()),
            destination_commit_id: Some(destination_commit),
            merge_base,
        });
        row.revision_id = revision_of(&row, &source_commit);
        let id = self
            .store
            .insert_pull_request(&row, ("PULL_REQUEST_CREATED", &meta))
            .await
            .map_err(|e| match e {
                ferry_store::StoreError::Conflict(_) => AwsError::new(
                    "IdempotencyParameterMismatchException",
                    "The client request token was used before.",
                ),
                other => store(other),
            })?;
        row.id = id;
        self.apply_templates(&row).await?;
        Ok(CreatePullRequestOutput {
            pull_request: self.pull_view(&row).await?,
        })
    }

    pub(crate) async fn api_get_pull_request(
        &self,
        i: GetPullRequestInput,
    ) -> Result<GetPullRequestOutput, AwsError> {
        let p = self.load_pull(&i.pull_request_id).await?;
        Ok(GetPullRequestOutput {
            pull_request: self.pull_view(&p).await?,
        })
    }

    pub(crate) async fn api_list_pull_requests(
        &self,
        i: ListPullRequestsInput,
    ) -> Result<ListPullRequestsOutput, AwsError> {
        let repo = self.existing_repo(&i.repository_name).await?;
        let limit = match i.max_results {
            None => PAGE,
            Some(n) if n >= 1 => (n as usize).min(PAGE),
            Some(n) => {
                return Err(AwsError::new(
                    "InvalidMaxResultsException",
                    format!("{n} is not a valid maxResults."),
                ));
            }
        };
        let before = match &i.next_token {
            None => None,
            Some(t) => Some(
                ferry_types::page::decode(t)
                    .and_then(|s| s.parse::<i64>().ok())
                    .ok_or_else(super::paging::invalid_token)?,
            ),
        };
        let status = i.pull_request_status.as_ref().map(|s| s.as_str());
        let mut ids = self
            .store
            .list_pull_requests(
                &repo.id,
                i.author_arn.as_deref(),
                status,
                before,
                limit as i64 + 1,
            )
            .await
            .map_err(store)?;
        let next_token = if ids.len() > limit {
            ids.truncate(limit);
            ids.last()
                .map(|id| ferry_types::page::encode(&id.to_string()))
        } else {
            None
        };
        Ok(ListPullRequestsOutput {
            pull_request_ids: ids.iter().map(i64::to_string).collect(),
            next_token,
        })
    }

    pub(crate) async fn api_describe_pull_request_events(
        &self,
        i: DescribePullRequestEventsInput,
    ) -> Result<DescribePullRequestEventsOutput, AwsError> {
        let p = self.load_pull(&i.pull_request_id).await?;
        let limit = super::paging::limit(i.max_results, PAGE)?;
        let offset = super::paging::offset(i.next_token.as_deref())?;
        let wanted = i.pull_request_event_type.as_ref().map(|t| t.as_str());
        let events: Vec<_> = self
            .store
            .pull_request_events(p.id)
            .await
            .map_err(store)?
            .into_iter()
            .filter(|e| wanted.is_none_or(|w| w == e.event_type))
            .filter(|e| i.actor_arn.as_deref().is_none_or(|a| a == e.actor_arn))
            .collect();
        let (events, next_token) = super::paging::slice(events, offset, limit);
        let out = events
            .into_iter()
            .map(|e| {
                let mut ev = PullRequestEvent {
                    pull_request_id: Some(e.pull_request_id.to_string()),
                    event_date: Some(Timestamp::from_millis(e.event_ms)),
                    pull_request_event_type: PullRequestEventType::parse(&e.event_type),
                    actor_arn: Some(e.actor_arn),
                    ..Default::default()
                };
                match e.event_type.as_str() {
                    "PULL_REQUEST_CREATED" => {
                        ev.pull_request_created_event_metadata =
                            serde_json::from_str(&e.metadata).ok()
                    }
                    "PULL_REQUEST_STATUS_CHANGED" => {
                        ev.pull_request_status_changed_event_metadata =
                            serde_json::from_str(&e.metadata).ok()
                    }
                    "PULL_REQUEST_SOURCE_REFERENCE_UPDATED" => {
                        ev.pull_request_source_reference_updated_event_metadata =
                            serde_json::from_str(&e.metadata).ok()
                    }
                    "PULL_REQUEST_MERGE_STATE_CHANGED" => {
                        ev.pull_request_merged_state_changed_event_metadata =
                            serde_json::from_str(&e.metadata).ok()
                    }
                    "PULL_REQUEST_APPROVAL_STATE_CHANGED" => {
                        ev.approval_state_changed_event_metadata =
                            serde_json::from_str(&e.metadata).ok()
                    }
                    _ => {}
                }
                ev
            })
            .collect();
        Ok(DescribePullRequestEventsOutput {
            pull_request_events: out,
            next_token,
        })
    }

    async fn touch_pull(
        &self,
        ctx: &RequestContext,
        mut p: PullRow,
        change: impl FnOnce(&mut PullRow),
    ) -> Result<PullRequest, AwsError> {
        let before = p.status.clone();
        change(&mut p);
        p.last_activity_ms = Timestamp::now().millis();
        // Title and description edits have no event type in CodeCommit; status changes do.
        let meta = json(&PullRequestStatusChangedEventMetadata {
            pull_request_status: Some(status_of(&p.status)),
        });
        let event = (before != p.status).then_some((
            "PULL_REQUEST_STATUS_CHANGED",
            ctx.principal_arn.as_str(),
            meta.as_str(),
        ));
        self.store
            .update_pull_request(&p, event)
            .await
            .map_err(store)?;
        self.pull_view(&p).await
    }

    pub(crate) async fn api_update_pull_request_title(
        &self,
        ctx: &RequestContext,
        i: UpdatePullRequestTitleInput,
    ) -> Result<UpdatePullRequestTitleOutput, AwsError> {
        let p = self.load_pull(&i.pull_request_id).await?;
        if p.status != "OPEN" {
            return Err(closed(&p));
        }
        if i.title.trim().is_empty() {
            return Err(AwsError::new(
                "TitleRequiredException",
                "A pull request title is required.",
            ));
        }
        let pull_request = self.touch_pull(ctx, p, |p| p.title = i.title).await?;
        Ok(UpdatePullRequestTitleOutput { pull_request })
    }

    pub(crate) async fn api_update_pull_request_description(
        &self,
        ctx: &RequestContext,
        i: UpdatePullRequestDescriptionInput,
    ) -> Result<UpdatePullRequestDescriptionOutput, AwsError> {
        let p = self.load_pull(&i.pull_request_id).await?;
        if p.status != "OPEN" {
            return Err(closed(&p));
        }
        let pull_request = self
            .touch_pull(ctx, p, |p| p.description = Some(i.description))
            .await?;
        Ok(UpdatePullRequestDescriptionOutput { pull_request })
    }

    pub(crate) async fn api_update_pull_request_status(
        &self,
        ctx: &RequestContext,
        i: UpdatePullRequestStatusInput,
    ) -> Result<UpdatePullRequestStatusOutput, AwsError> {
        let p = self.load_pull(&i.pull_request_id).await?;
        let to = i.pull_request_status.as_str();
        if p.is_merged && to == "OPEN" {
            return Err(AwsError::new(
                "InvalidPullRequestStatusUpdateException",
                "A merged pull request cannot be reopened.",
            ));
        }
        let (source, destination) = self.live_tips(&p).await?;
        let pull_request = self
            .touch_pull(ctx, p, |p| {
                p.status = to.to_owned();
                p.source_commit = source;
                p.destination_commit = destination;
            })
            .await?;
        Ok(UpdatePullRequestStatusOutput { pull_request })
    }

    pub(crate) async fn api_get_approval_states(
        &self,
        i: GetPullRequestApprovalStatesInput,
    ) -> Result<GetPullRequestApprovalStatesOutput, AwsError> {
        let p = self.load_pull(&i.pull_request_id).await?;
        self.check_revision(&p, &i.revision_id).await?;
        let approvals = self
            .store
            .approvals(p.id, &i.revision_id)
            .await
            .map_err(store)?;
        Ok(GetPullRequestApprovalStatesOutput {
            approvals: Some(
                approvals
                    .into_iter()
                    .filter(|(_, s)| s == "APPROVE")
                    .map(|(u, s)| Approval {
                        user_arn: Some(u),
                        approval_state: ApprovalState::parse(&s),
                    })
                    .collect(),
            ),
        })
    }

    pub(crate) async fn check_revision(&self, p: &PullRow, revision: &str) -> Result<(), AwsError> {
        if revision.is_empty() {
            return Err(AwsError::new(
                "RevisionIdRequiredException",
                "A revision ID is required.",
            ));
        }
        let (source, _) = self.live_tips(p).await?;
        if revision_of(p, &source) != revision {
            return Err(AwsError::new(
                "RevisionNotCurrentException",
                "The revision ID provided is not the current revision of the pull request.",
            ));
        }
        Ok(())
    }

    pub(crate) async fn api_update_approval_state(
        &self,
        ctx: &RequestContext,
        i: UpdatePullRequestApprovalStateInput,
    ) -> Result<(), AwsError> {
        let p = self.load_pull(&i.pull_request_id).await?;
        if p.status != "OPEN" {
            return Err(closed(&p));
        }
        self.check_revision(&p, &i.revision_id).await?;
        if p.author_arn == ctx.principal_arn {
            return Err(AwsError::new(
                "PullRequestCannotBeApprovedByAuthorException",
                "The author of a pull request cannot approve it.",
            ));
        }
        let meta = json(&ApprovalStateChangedEventMetadata {
            revision_id: Some(i.revision_id.clone()),
            approval_status: Some(i.approval_state),
        });
        self.store
            .set_approval(
                p.id,
                &i.revision_id,
                &ctx.principal_arn,
                i.approval_state.as_str(),
                Timestamp::now().millis(),
                &meta,
            )
            .await
            .map_err(store)
    }

    /// Merges an open pull request with `option` and closes it.
    pub(crate) async fn merge_pull(
        &self,
        ctx: &RequestContext,
        id: &str,
        repository: &str,
        source_commit_id: Option<&str>,
        option: MergeOptionTypeEnum,
        squash_or_three_way: Option<MergeSettings<'_>>,
    ) -> Result<PullRequest, AwsError> {
        let mut p = self.load_pull(id).await?;
        let repo: RepoRow = self.existing_repo(repository).await?;
        if repo.id != p.repository_id {
            return Err(AwsError::new(
                "RepositoryNotAssociatedWithPullRequestException",
                format!("The repository {repository} is not associated with pull request {id}."),
            ));
        }
        if p.status != "OPEN" {
            return Err(closed(&p));
        }
        let (source, _) = self.live_tips(&p).await?;
        if let Some(expected) = source_commit_id.filter(|s| !s.is_empty())
            && !expected.eq_ignore_ascii_case(&source)
        {
            return Err(AwsError::new(
                "TipOfSourceReferenceIsDifferentException",
                "The tip of the source branch is different from the specified source commit ID.",
            ));
        }
        let destination = p
            .destination_ref
            .strip_prefix("refs/heads/")
            .unwrap_or(&p.destination_ref)
            .to_owned();
        let revision = revision_of(&p, &source);
        let evaluation = self.evaluate(&p, &revision).await?;
        if evaluation.approved != Some(true) && evaluation.overridden != Some(true) {
            return Err(AwsError::new(
                "PullRequestApprovalRulesNotSatisfiedException",
                format!(
                    "The pull request cannot be merged because approval rules are not satisfied: {}",
                    evaluation
                        .approval_rules_not_satisfied
                        .unwrap_or_default()
                        .join(", ")
                ),
            ));
        }
        let merge_commit = match (&option, squash_or_three_way) {
            (MergeOptionTypeEnum::FastForwardMerge, _) => {
                let out = self
                    .api_merge_fast_forward(MergeBranchesByFastForwardInput {
                        repository_name: repo.name.clone(),
                        source_commit_specifier: source.clone(),
                        destination_commit_specifier: destination.clone(),
                        target_branch: None,
                    })
                    .await?;
                out.commit_id.unwrap_or_default()
            }
            (opt, settings) => {
                let s = settings.unwrap_or_default();
                let message = s
                    .message
                    .map(str::to_owned)
                    .unwrap_or_else(|| format!("Merged pull request {id}: {}", p.title));
                self.merge_into_branch(
                    ctx,
                    &repo.name,
                    &source,
                    &destination,
                    None,
                    s.level,
                    s.strategy,
                    (s.author, s.email, Some(&message)),
                    *opt == MergeOptionTypeEnum::SquashMerge,
                    s.resolution,
                )
                .await?
                .0
            }
        };
        let now = Timestamp::now().millis();
        p.source_commit = source;
        p.destination_commit = self
            .git
            .branch(&repo.id, &destination)
            .await
            .map_err(git)?
            .unwrap_or_default();
        p.status = "CLOSED".into();
        p.is_merged = true;
        p.merged_by = Some(ctx.principal_arn.clone());
        p.merge_commit = Some(merge_commit.clone());
        p.merge_option = Some(option.as_str().to_owned());
        p.last_activity_ms = now;
        let meta = json(&PullRequestMergedStateChangedEventMetadata {
            repository_name: Some(repo.name.clone()),
            destination_reference: Some(p.destination_ref.clone()),
            merge_metadata: Some(MergeMetadata {
                is_merged: Some(true),
                merged_by: Some(ctx.principal_arn.clone()),
                merge_commit_id: Some(merge_commit),
                merge_option: Some(option),
            }),
        });
        self.store
            .update_pull_request(
                &p,
                Some((
                    "PULL_REQUEST_MERGE_STATE_CHANGED",
                    &ctx.principal_arn,
                    &meta,
                )),
            )
            .await
            .map_err(store)?;
        self.pull_view(&p).await
    }

    /// Records a push to the source branch of open pull requests: new source commit and
    /// revision, and a `PULL_REQUEST_SOURCE_REFERENCE_UPDATED` event.
    pub(crate) async fn record_source_update(
        &self,
        repo: &RepoRow,
        ref_name: &str,
        old: Option<&str>,
        new: &str,
    ) {
        let Ok(pulls) = self.store.open_pull_requests_from(&repo.id, ref_name).await else {
            return;
        };
        for mut p in pulls {
            if p.source_commit == new {
                continue;
            }
            let base = self
                .merge_base_of(&repo.id, new, &p.destination_commit)
                .await
                .ok()
                .flatten();
            let meta = json(&PullRequestSourceReferenceUpdatedEventMetadata {
                repository_name: Some(repo.name.clone()),
                before_commit_id: old.map(str::to_owned).or(Some(p.source_commit.clone())),
                after_commit_id: Some(new.to_owned()),
                merge_base: base.clone(),
            });
            p.source_commit = new.to_owned();
            p.merge_base = base;
            p.revision_id = revision_of(&p, new);
            p.last_activity_ms = Timestamp::now().millis();
            let author = p.author_arn.clone();
            if let Err(e) = self
                .store
                .update_pull_request(
                    &p,
                    Some(("PULL_REQUEST_SOURCE_REFERENCE_UPDATED", &author, &meta)),
                )
                .await
            {
                tracing::warn!(error = %e, pull_request = p.id, "cannot record a source update");
            }
        }
    }
}

/// Settings of squash and three-way pull request merges.
#[derive(Default, Clone, Copy)]
pub(crate) struct MergeSettings<'a> {
    pub level: Option<&'a ConflictDetailLevelTypeEnum>,
    pub strategy: Option<&'a ConflictResolutionStrategyTypeEnum>,
    pub author: Option<&'a str>,
    pub email: Option<&'a str>,
    pub message: Option<&'a str>,
    pub resolution: Option<&'a ConflictResolution>,
}

fn closed(p: &PullRow) -> AwsError {
    AwsError::new(
        "PullRequestAlreadyClosedException",
        format!("The pull request {} is already closed.", p.id),
    )
}
