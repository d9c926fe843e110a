//! Repository triggers: Put / Get / Test. Firing on ref changes lives with the ref-change
//! bookkeeping (`push.rs`), delivery in `crate::triggers`.

use ferry_model::codecommit::*;
use ferry_wire::{AwsError, RequestContext};

use super::errors::store;
use crate::CommitService;
use crate::triggers::{self, Destination, RefEvent};

impl CommitService {
    /// A repository's triggers and their configuration id.
    pub(crate) async fn load_triggers(
        &self,
        repository_id: &str,
    ) -> Result<(String, Vec<RepositoryTrigger>), AwsError> {
        match self.store.triggers(repository_id).await.map_err(store)? {
            Some((id, json)) => Ok((id, serde_json::from_str(&json).map_err(AwsError::internal)?)),
            None => Ok((String::new(), Vec::new())),
        }
    }

    pub(crate) async fn api_put_triggers(
        &self,
        i: PutRepositoryTriggersInput,
    ) -> Result<PutRepositoryTriggersOutput, AwsError> {
        let repo = self.existing_repo(&i.repository_name).await?;
        if i.triggers.len() > triggers::MAX_TRIGGERS {
            return Err(AwsError::new(
                "MaximumRepositoryTriggersExceededException",
                format!(
                    "A repository can have at most {} triggers.",
                    triggers::MAX_TRIGGERS
                ),
            ));
        }
        for t in &i.triggers {
            triggers::validate(t).map_err(|(code, msg)| AwsError::new(code, msg))?;
        }
        let configuration_id = uuid::Uuid::new_v4().to_string();
        let json = serde_json::to_string(&i.triggers).map_err(AwsError::internal)?;
        self.store
            .put_triggers(&repo.id, &configuration_id, &json)
            .await
            .map_err(store)?;
        Ok(PutRepositoryTriggersOutput {
            configuration_id: Some(configuration_id),
        })
    }

    pub(crate) async fn api_get_triggers(
        &self,
        i: GetRepositoryTriggersInput,
    ) -> Result<GetRepositoryTriggersOutput, AwsError> {
        let repo = self.existing_repo(&i.repository_name).await?;
        let (id, list) = self.load_triggers(&repo.id).await?;
        Ok(GetRepositoryTriggersOutput {
            configuration_id: (!id.is_empty()).then_some(id),
            triggers: Some(list),
        })
    }

    pub(crate) async fn api_test_triggers(
        &self,
        ctx: &RequestContext,
        i: TestRepositoryTriggersInput,
    ) -> Result<TestRepositoryTriggersOutput, AwsError> {
        let repo = self.existing_repo(&i.repository_name).await?;
        for t in &i.triggers {
            triggers::validate(t).map_err(|(code, msg)| AwsError::new(code, msg))?;
        }
        let secret = self
            .store
            .installation_secret("trigger-signing")
            .await
            .map_err(store)?;
        let branch = repo.default_branch.clone().unwrap_or_else(|| "main".into());
        let tip = self.git.branch(&repo.id, &branch).await.ok().flatten();
        let refs = [RefEvent {
            ref_name: format!("refs/heads/{branch}"),
            commit: tip,
            created: false,
            deleted: false,
        }];
        let (configuration_id, _) = self.load_triggers(&repo.id).await?;
        let arn = self.arn(&repo.name);
        let mut ok = Vec::new();
        let mut failed = Vec::new();
        for t in &i.triggers {
            let d = Destination {
                trigger: t,
                configuration_id: &configuration_id,
                repository_arn: &arn,
                region: &self.settings.region,
                actor_arn: &ctx.principal_arn,
            };
            let body = serde_json::to_vec(&triggers::event(&d, &refs, true))
                .map_err(AwsError::internal)?;
            match triggers::deliver_once(&t.destination_arn, &body, &secret).await {
                Ok(()) => ok.push(t.name.clone()),
                Err(e) => failed.push(RepositoryTriggerExecutionFailure {
                    trigger: Some(t.name.clone()),
                    failure_message: Some(e),
                }),
            }
        }
        Ok(TestRepositoryTriggersOutput {
            successful_executions: Some(ok),
            failed_executions: Some(failed),
        })
    }

    /// Sends the repository's triggers that fire for these ref changes (in the background).
    pub(crate) async fn fire_triggers(
        &self,
        repo: &ferry_store::repos::RepoRow,
        refs: &[RefEvent],
        actor: &str,
    ) {
        let Ok((configuration_id, list)) = self.load_triggers(&repo.id).await else {
            return;
        };
        if list.is_empty() {
            return;
        }
        let Ok(secret) = self.store.installation_secret("trigger-signing").await else {
            return;
        };
        let arn = self.arn(&repo.name);
        for t in &list {
            let matching: Vec<RefEvent> = refs
                .iter()
                .filter(|r| triggers::fires(t, r))
                .cloned()
                .collect();
            if matching.is_empty() {
                continue;
            }
            let d = Destination {
                trigger: t,
                configuration_id: &configuration_id,
                repository_arn: &arn,
                region: &self.settings.region,
                actor_arn: actor,
            };
            let Ok(body) = serde_json::to_vec(&triggers::event(&d, &matching, false)) else {
                continue;
            };
            tokio::spawn(triggers::deliver(
                t.destination_arn.clone(),
                body,
                secret.clone(),
            ));
        }
    }
}
