//! Approval rules on pull requests (create, update, delete, evaluate, override) and approval
//! rule templates (CRUD, association with repositories; associated templates whose
//! destination references match become rules of new pull requests).

use ferry_model::codecommit::*;
use ferry_store::StoreError;
use ferry_store::approvals::{RuleRow, TemplateRow};
use ferry_store::pulls::PullRow;
use ferry_types::Timestamp;
use ferry_wire::{AwsError, RequestContext};
use sha2::{Digest, Sha256};

use super::errors::store;
use crate::CommitService;
use crate::rules;

/// The most approval rules on one pull request.
const MAX_RULES: usize = 30;
/// Template listing page size.
const PAGE: usize = 100;

fn sha256(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

fn invalid_content(why: String) -> AwsError {
    AwsError::new(
        "InvalidApprovalRuleContentException",
        format!("The approval rule content is not valid: {why}"),
    )
}

fn invalid_template_content(why: String) -> AwsError {
    AwsError::new(
        "InvalidApprovalRuleTemplateContentException",
        format!("The approval rule template content is not valid: {why}"),
    )
}

pub(crate) fn rule_view(r: &RuleRow) -> ApprovalRule {
    ApprovalRule {
        approval_rule_id: Some(r.id.clone()),
        approval_rule_name: Some(r.name.clone()),
        approval_rule_content: Some(r.content.clone()),
        rule_content_sha256: Some(sha256(&r.content)),
        last_modified_date: Some(Timestamp::from_millis(r.modified_ms)),
        creation_date: Some(Timestamp::from_millis(r.created_ms)),
        last_modified_user: Some(r.modified_user.clone()),
        origin_approval_rule_template: r.template.as_ref().map(|(id, name)| {
            OriginApprovalRuleTemplate {
                approval_rule_template_id: Some(id.clone()),
                approval_rule_template_name: Some(name.clone()),
            }
        }),
    }
}

fn template_view(t: &TemplateRow) -> ApprovalRuleTemplate {
    ApprovalRuleTemplate {
        approval_rule_template_id: Some(t.id.clone()),
        approval_rule_template_name: Some(t.name.clone()),
        approval_rule_template_description: Some(t.description.clone()),
        approval_rule_template_content: Some(t.content.clone()),
        rule_content_sha256: Some(sha256(&t.content)),
        last_modified_date: Some(Timestamp::from_millis(t.modified_ms)),
        creation_date: Some(Timestamp::from_millis(t.created_ms)),
        last_modified_user: Some(t.modified_user.clone()),
    }
}

fn rule_event(r: &RuleRow) -> String {
    serde_json::to_string(&ApprovalRuleEventMetadata {
        approval_rule_name: Some(r.name.clone()),
        approval_rule_id: Some(r.id.clone()),
        approval_rule_content: Some(r.content.clone()),
    })
    .unwrap_or_default()
}

fn no_rule(name: &str) -> AwsError {
    AwsError::new(
        "ApprovalRuleDoesNotExistException",
        format!("The approval rule {name} does not exist."),
    )
}

fn no_template(name: &str) -> AwsError {
    AwsError::new(
        "ApprovalRuleTemplateDoesNotExistException",
        format!("The approval rule template {name} does not exist."),
    )
}

impl CommitService {
    async fn open_pull(&self, id: &str) -> Result<PullRow, AwsError> {
        let p = self.load_pull(id).await?;
        if p.status != "OPEN" {
            return Err(AwsError::new(
                "PullRequestAlreadyClosedException",
                format!("The pull request {id} is already closed."),
            ));
        }
        Ok(p)
    }

    /// Rules of the templates associated with the repository that apply to a new pull request.
    pub(crate) async fn apply_templates(&self, p: &PullRow) -> Result<(), AwsError> {
        let templates = self
            .store
            .templates_for_repository(&p.repository_id)
            .await
            .map_err(store)?;
        for t in templates {
            let Ok(rule) = rules::parse(&t.content, true) else {
                continue;
            };
            if !rules::applies_to(&rule, &p.destination_ref) {
                continue;
            }
            let row = RuleRow {
                pull_request_id: p.id,
                name: t.name.clone(),
                id: uuid::Uuid::new_v4().to_string(),
                content: t.content.clone(),
                created_ms: p.created_ms,
                modified_ms: p.created_ms,
                modified_user: p.author_arn.clone(),
                template: Some((t.id.clone(), t.name.clone())),
            };
            self.store.insert_approval_rule(&row).await.map_err(store)?;
        }
        Ok(())
    }

    pub(crate) async fn api_create_pr_rule(
        &self,
        ctx: &RequestContext,
        i: CreatePullRequestApprovalRuleInput,
    ) -> Result<CreatePullRequestApprovalRuleOutput, AwsError> {
        let p = self.open_pull(&i.pull_request_id).await?;
        rules::parse(&i.approval_rule_content, false).map_err(invalid_content)?;
        if self.store.approval_rules(p.id).await.map_err(store)?.len() >= MAX_RULES {
            return Err(AwsError::new(
                "NumberOfRulesExceededException",
                format!("A pull request can have at most {MAX_RULES} approval rules."),
            ));
        }
        let now = Timestamp::now().millis();
        let row = RuleRow {
            pull_request_id: p.id,
            name: i.approval_rule_name.clone(),
            id: uuid::Uuid::new_v4().to_string(),
            content: i.approval_rule_content,
            created_ms: now,
            modified_ms: now,
            modified_user: ctx.principal_arn.clone(),
            template: None,
        };
        self.store
            .insert_approval_rule(&row)
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => AwsError::new(
                    "ApprovalRuleNameAlreadyExistsException",
                    format!(
                        "An approval rule named {} already exists on this pull request.",
                        i.approval_rule_name
                    ),
                ),
                other => store(other),
            })?;
        self.store
            .add_pull_request_event(
                p.id,
                "PULL_REQUEST_APPROVAL_RULE_CREATED",
                &ctx.principal_arn,
                now,
                &rule_event(&row),
            )
            .await
            .map_err(store)?;
        Ok(CreatePullRequestApprovalRuleOutput {
            approval_rule: rule_view(&row),
        })
    }

    pub(crate) async fn api_update_pr_rule(
        &self,
        ctx: &RequestContext,
        i: UpdatePullRequestApprovalRuleContentInput,
    ) -> Result<UpdatePullRequestApprovalRuleContentOutput, AwsError> {
        let p = self.open_pull(&i.pull_request_id).await?;
        let mut rule = self
            .store
            .approval_rules(p.id)
            .await
            .map_err(store)?
            .into_iter()
            .find(|r| r.name == i.approval_rule_name)
            .ok_or_else(|| no_rule(&i.approval_rule_name))?;
        if rule.template.is_some() {
            return Err(AwsError::new(
                "CannotModifyApprovalRuleFromTemplateException",
                "An approval rule created from a template cannot be modified.",
            ));
        }
        if let Some(expected) = i.existing_rule_content_sha256.as_deref()
            && expected != sha256(&rule.content)
        {
            return Err(AwsError::new(
                "InvalidRuleContentSha256Exception",
                "The SHA-256 hash of the approval rule content does not match the current content.",
            ));
        }
        rules::parse(&i.new_rule_content, false).map_err(invalid_content)?;
        let now = Timestamp::now().millis();
        self.store
            .update_approval_rule(
                p.id,
                &rule.name,
                &i.new_rule_content,
                now,
                &ctx.principal_arn,
            )
            .await
            .map_err(store)?;
        rule.content = i.new_rule_content;
        rule.modified_ms = now;
        rule.modified_user = ctx.principal_arn.clone();
        self.store
            .add_pull_request_event(
                p.id,
                "PULL_REQUEST_APPROVAL_RULE_UPDATED",
                &ctx.principal_arn,
                now,
                &rule_event(&rule),
            )
            .await
            .map_err(store)?;
        Ok(UpdatePullRequestApprovalRuleContentOutput {
            approval_rule: rule_view(&rule),
        })
    }

    pub(crate) async fn api_delete_pr_rule(
        &self,
        ctx: &RequestContext,
        i: DeletePullRequestApprovalRuleInput,
    ) -> Result<DeletePullRequestApprovalRuleOutput, AwsError> {
        let p = self.open_pull(&i.pull_request_id).await?;
        let Some(rule) = self
            .store
            .approval_rules(p.id)
            .await
            .map_err(store)?
            .into_iter()
            .find(|r| r.name == i.approval_rule_name)
        else {
            return Ok(DeletePullRequestApprovalRuleOutput {
                approval_rule_id: String::new(),
            });
        };
        if rule.template.is_some() {
            return Err(AwsError::new(
                "CannotDeleteApprovalRuleFromTemplateException",
                "An approval rule created from a template cannot be deleted.",
            ));
        }
        self.store
            .delete_approval_rule(p.id, &rule.name)
            .await
            .map_err(store)?;
        let now = Timestamp::now().millis();
        self.store
            .add_pull_request_event(
                p.id,
                "PULL_REQUEST_APPROVAL_RULE_DELETED",
                &ctx.principal_arn,
                now,
                &rule_event(&rule),
            )
            .await
            .map_err(store)?;
        Ok(DeletePullRequestApprovalRuleOutput {
            approval_rule_id: rule.id,
        })
    }

    /// The evaluation of a pull request's rules at its current revision.
    pub(crate) async fn evaluate(
        &self,
        p: &PullRow,
        revision: &str,
    ) -> Result<Evaluation, AwsError> {
        let approvers: Vec<String> = self
            .store
            .approvals(p.id, revision)
            .await
            .map_err(store)?
            .into_iter()
            .filter(|(_, s)| s == "APPROVE")
            .map(|(u, _)| u)
            .collect();
        let mut ok = Vec::new();
        let mut not = Vec::new();
        for r in self.store.approval_rules(p.id).await.map_err(store)? {
            let satisfied = rules::parse(&r.content, r.template.is_some())
                .is_ok_and(|rule| rules::satisfied(&rule, &approvers));
            if satisfied {
                ok.push(r.name)
            } else {
                not.push(r.name)
            }
        }
        let overridden = self
            .store
            .override_of(p.id, revision)
            .await
            .map_err(store)?
            .is_some();
        Ok(Evaluation {
            approved: Some(not.is_empty()),
            overridden: Some(overridden),
            approval_rules_satisfied: Some(ok),
            approval_rules_not_satisfied: Some(not),
        })
    }

    pub(crate) async fn api_evaluate(
        &self,
        i: EvaluatePullRequestApprovalRulesInput,
    ) -> Result<EvaluatePullRequestApprovalRulesOutput, AwsError> {
        let p = self.load_pull(&i.pull_request_id).await?;
        self.check_revision(&p, &i.revision_id).await?;
        Ok(EvaluatePullRequestApprovalRulesOutput {
            evaluation: self.evaluate(&p, &i.revision_id).await?,
        })
    }

    pub(crate) async fn api_override(
        &self,
        ctx: &RequestContext,
        i: OverridePullRequestApprovalRulesInput,
    ) -> Result<(), AwsError> {
        let p = self.open_pull(&i.pull_request_id).await?;
        self.check_revision(&p, &i.revision_id).await?;
        let current = self
            .store
            .override_of(p.id, &i.revision_id)
            .await
            .map_err(store)?;
        match (&i.override_status, current) {
            (OverrideStatus::Override, Some(_)) => {
                return Err(AwsError::new(
                    "OverrideAlreadySetException",
                    "The approval rules are already overridden.",
                ));
            }
            (OverrideStatus::Override, None) => self
                .store
                .set_override(p.id, &i.revision_id, Some(&ctx.principal_arn))
                .await
                .map_err(store)?,
            (OverrideStatus::Revoke, _) => self
                .store
                .set_override(p.id, &i.revision_id, None)
                .await
                .map_err(store)?,
        }
        let meta = serde_json::to_string(&ApprovalRuleOverriddenEventMetadata {
            revision_id: Some(i.revision_id.clone()),
            override_status: Some(i.override_status),
        })
        .unwrap_or_default();
        self.store
            .add_pull_request_event(
                p.id,
                "PULL_REQUEST_APPROVAL_RULE_OVERRIDDEN",
                &ctx.principal_arn,
                Timestamp::now().millis(),
                &meta,
            )
            .await
            .map_err(store)
    }

    pub(crate) async fn api_override_state(
        &self,
        i: GetPullRequestOverrideStateInput,
    ) -> Result<GetPullRequestOverrideStateOutput, AwsError> {
        let p = self.load_pull(&i.pull_request_id).await?;
        self.check_revision(&p, &i.revision_id).await?;
        let who = self
            .store
            .override_of(p.id, &i.revision_id)
            .await
            .map_err(store)?;
        Ok(GetPullRequestOverrideStateOutput {
            overridden: Some(who.is_some()),
            overrider: who,
        })
    }

    // --- templates ---------------------------------------------------------------------------

    async fn load_template(&self, name: &str) -> Result<TemplateRow, AwsError> {
        self.store
            .template(name)
            .await
            .map_err(store)?
            .ok_or_else(|| no_template(name))
    }

    pub(crate) async fn api_create_template(
        &self,
        ctx: &RequestContext,
        i: CreateApprovalRuleTemplateInput,
    ) -> Result<CreateApprovalRuleTemplateOutput, AwsError> {
        rules::parse(&i.approval_rule_template_content, true).map_err(invalid_template_content)?;
        let now = Timestamp::now().millis();
        let t = TemplateRow {
            id: uuid::Uuid::new_v4().to_string(),
            name: i.approval_rule_template_name.clone(),
            description: i.approval_rule_template_description.unwrap_or_default(),
            content: i.approval_rule_template_content,
            created_ms: now,
            modified_ms: now,
            modified_user: ctx.principal_arn.clone(),
        };
        self.store.insert_template(&t).await.map_err(|e| match e {
            StoreError::Conflict(_) => AwsError::new(
                "ApprovalRuleTemplateNameAlreadyExistsException",
                format!("An approval rule template named {} already exists.", t.name),
            ),
            other => store(other),
        })?;
        Ok(CreateApprovalRuleTemplateOutput {
            approval_rule_template: template_view(&t),
        })
    }

    pub(crate) async fn api_get_template(
        &self,
        i: GetApprovalRuleTemplateInput,
    ) -> Result<GetApprovalRuleTemplateOutput, AwsError> {
        Ok(GetApprovalRuleTemplateOutput {
            approval_rule_template: template_view(
                &self.load_template(&i.approval_rule_template_name).await?,
            ),
        })
    }

    pub(crate) async fn api_list_templates(
        &self,
        i: ListApprovalRuleTemplatesInput,
    ) -> Result<ListApprovalRuleTemplatesOutput, AwsError> {
        let limit = i
            .max_results
            .filter(|n| *n >= 1)
            .map_or(PAGE, |n| (n as usize).min(PAGE));
        let after = match &i.next_token {
            None => String::new(),
            Some(t) => ferry_types::page::decode(t).ok_or_else(super::paging::invalid_token)?,
        };
        let mut names = self
            .store
            .template_names(&after, limit as i64 + 1)
            .await
            .map_err(store)?;
        let next_token = if names.len() > limit {
            names.truncate(limit);
            names.last().map(|n| ferry_types::page::encode(n))
        } else {
            None
        };
        Ok(ListApprovalRuleTemplatesOutput {
            approval_rule_template_names: Some(names),
            next_token,
        })
    }

    async fn change_template(
        &self,
        ctx: &RequestContext,
        name: &str,
        change: impl FnOnce(&mut TemplateRow) -> Result<(), AwsError>,
    ) -> Result<ApprovalRuleTemplate, AwsError> {
        let mut t = self.load_template(name).await?;
        change(&mut t)?;
        t.modified_ms = Timestamp::now().millis();
        t.modified_user = ctx.principal_arn.clone();
        self.store.update_template(&t).await.map_err(|e| match e {
            StoreError::Conflict(_) => AwsError::new(
                "ApprovalRuleTemplateNameAlreadyExistsException",
                format!("An approval rule template named {} already exists.", t.name),
            ),
            other => store(other),
        })?;
        Ok(template_view(&t))
    }

    pub(crate) async fn api_update_template_content(
        &self,
        ctx: &RequestContext,
        i: UpdateApprovalRuleTemplateContentInput,
    ) -> Result<UpdateApprovalRuleTemplateContentOutput, AwsError> {
        rules::parse(&i.new_rule_content, true).map_err(invalid_template_content)?;
        let expected = i.existing_rule_content_sha256.clone();
        let t = self
            .change_template(ctx, &i.approval_rule_template_name, |t| {
                if let Some(e) = expected
                    && e != sha256(&t.content)
                {
                    return Err(AwsError::new(
                        "InvalidRuleContentSha256Exception",
                        "The SHA-256 hash of the template content does not match the current content.",
                    ));
                }
                t.content = i.new_rule_content;
                Ok(())
            })
            .await?;
        Ok(UpdateApprovalRuleTemplateContentOutput {
            approval_rule_template: t,
        })
    }

    pub(crate) async fn api_update_template_name(
        &self,
        ctx: &RequestContext,
        i: UpdateApprovalRuleTemplateNameInput,
    ) -> Result<UpdateApprovalRuleTemplateNameOutput, AwsError> {
        let t = self
            .change_template(ctx, &i.old_approval_rule_template_name, |t| {
                t.name = i.new_approval_rule_template_name;
                Ok(())
            })
            .await?;
        Ok(UpdateApprovalRuleTemplateNameOutput {
            approval_rule_template: t,
        })
    }

    pub(crate) async fn api_update_template_description(
        &self,
        ctx: &RequestContext,
        i: UpdateApprovalRuleTemplateDescriptionInput,
    ) -> Result<UpdateApprovalRuleTemplateDescriptionOutput, AwsError> {
        let t = self
            .change_template(ctx, &i.approval_rule_template_name, |t| {
                t.description = i.approval_rule_template_description;
                Ok(())
            })
            .await?;
        Ok(UpdateApprovalRuleTemplateDescriptionOutput {
            approval_rule_template: t,
        })
    }

    pub(crate) async fn api_delete_template(
        &self,
        i: DeleteApprovalRuleTemplateInput,
    ) -> Result<DeleteApprovalRuleTemplateOutput, AwsError> {
        let id = self
            .store
            .delete_template(&i.approval_rule_template_name)
            .await
            .map_err(store)?;
        Ok(DeleteApprovalRuleTemplateOutput {
            approval_rule_template_id: id.unwrap_or_default(),
        })
    }

    pub(crate) async fn api_associate_template(
        &self,
        template: &str,
        repository: &str,
    ) -> Result<(), AwsError> {
        let t = self.load_template(template).await?;
        let repo = self.existing_repo(repository).await?;
        self.store
            .associate_template(&t.id, &repo.id)
            .await
            .map_err(store)
    }

    pub(crate) async fn api_disassociate_template(
        &self,
        template: &str,
        repository: &str,
    ) -> Result<(), AwsError> {
        let t = self.load_template(template).await?;
        let repo = self.existing_repo(repository).await?;
        self.store
            .disassociate_template(&t.id, &repo.id)
            .await
            .map_err(store)
    }

    /// Runs `one` for each repository of a batch; returns `(done, [(name, code, message)])`.
    pub(crate) async fn batch_templates(
        &self,
        template: &str,
        repositories: &[String],
        associate: bool,
    ) -> Result<(Vec<String>, Vec<(String, String, String)>), AwsError> {
        self.load_template(template).await?;
        if repositories.is_empty() {
            return Err(AwsError::new(
                "RepositoryNamesRequiredException",
                "At least one repository name is required.",
            ));
        }
        if repositories.len() > 25 {
            return Err(AwsError::new(
                "MaximumRepositoryNamesExceededException",
                "The maximum number of allowed repository names (25) was exceeded.",
            ));
        }
        let mut done = Vec::new();
        let mut errors = Vec::new();
        for name in repositories {
            let r = if associate {
                self.api_associate_template(template, name).await
            } else {
                self.api_disassociate_template(template, name).await
            };
            match r {
                Ok(()) => done.push(name.clone()),
                Err(e) => errors.push((name.clone(), e.code.to_string(), e.message)),
            }
        }
        Ok((done, errors))
    }

    pub(crate) async fn api_templates_for_repository(
        &self,
        i: ListAssociatedApprovalRuleTemplatesForRepositoryInput,
    ) -> Result<ListAssociatedApprovalRuleTemplatesForRepositoryOutput, AwsError> {
        let repo = self.existing_repo(&i.repository_name).await?;
        let names = self
            .store
            .templates_for_repository(&repo.id)
            .await
            .map_err(store)?
            .into_iter()
            .map(|t| t.name)
            .collect();
        Ok(ListAssociatedApprovalRuleTemplatesForRepositoryOutput {
            approval_rule_template_names: Some(names),
            next_token: None,
        })
    }

    pub(crate) async fn api_repositories_for_template(
        &self,
        i: ListRepositoriesForApprovalRuleTemplateInput,
    ) -> Result<ListRepositoriesForApprovalRuleTemplateOutput, AwsError> {
        let t = self.load_template(&i.approval_rule_template_name).await?;
        let names = self
            .store
            .repositories_for_template(&t.id)
            .await
            .map_err(store)?;
        Ok(ListRepositoriesForApprovalRuleTemplateOutput {
            repository_names: Some(names),
            next_token: None,
        })
    }
}
