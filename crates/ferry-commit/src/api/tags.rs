//! Tags on repositories (by ARN).

use std::collections::BTreeMap;

use ferry_model::codecommit::*;
use ferry_store::repos::RepoRow;
use ferry_wire::AwsError;

use super::errors::{repo_does_not_exist, store};
use super::repositories::MAX_TAGS;
use crate::CommitService;

/// Checks tag keys and values as AWS does.
pub(crate) fn check_tags(tags: &BTreeMap<String, String>) -> Result<(), AwsError> {
    for (k, v) in tags {
        if k.is_empty() || k.chars().count() > 128 || v.chars().count() > 256 {
            return Err(AwsError::new(
                "InvalidTagsMapException",
                format!("The tag {k:?} is not valid."),
            ));
        }
        if k.to_ascii_lowercase().starts_with("aws:") {
            return Err(AwsError::new(
                "InvalidSystemTagUsageException",
                "The tag key prefix 'aws:' is reserved for system use.",
            ));
        }
    }
    Ok(())
}

impl CommitService {
    async fn repo_by_arn(&self, arn: &str) -> Result<RepoRow, AwsError> {
        if arn.is_empty() {
            return Err(AwsError::new(
                "ResourceArnRequiredException",
                "A valid Amazon Resource Name (ARN) is required.",
            ));
        }
        let invalid = || {
            AwsError::new(
                "InvalidResourceArnException",
                format!("The value for the resource ARN is not valid: {arn}"),
            )
        };
        let parsed = ferry_types::arn::parse(arn).ok_or_else(invalid)?;
        if parsed.service != "codecommit" || parsed.account != self.settings.account_id {
            return Err(invalid());
        }
        if !crate::names::valid_repository_name(parsed.resource) {
            return Err(invalid());
        }
        self.store
            .repository(parsed.resource)
            .await
            .map_err(store)?
            .ok_or_else(|| repo_does_not_exist(parsed.resource))
    }

    pub(crate) async fn api_tag_resource(&self, i: TagResourceInput) -> Result<(), AwsError> {
        let repo = self.repo_by_arn(&i.resource_arn).await?;
        check_tags(&i.tags)?;
        self.store
            .put_tags(&repo.id, &i.tags, MAX_TAGS)
            .await
            .map_err(|e| match e {
                ferry_store::StoreError::Conflict(_) => AwsError::new(
                    "TooManyTagsException",
                    format!("A resource can have at most {MAX_TAGS} tags"),
                ),
                other => store(other),
            })
    }

    pub(crate) async fn api_untag_resource(&self, i: UntagResourceInput) -> Result<(), AwsError> {
        let repo = self.repo_by_arn(&i.resource_arn).await?;
        self.store
            .remove_tags(&repo.id, &i.tag_keys)
            .await
            .map_err(store)
    }

    pub(crate) async fn api_list_tags_for_resource(
        &self,
        i: ListTagsForResourceInput,
    ) -> Result<ListTagsForResourceOutput, AwsError> {
        let repo = self.repo_by_arn(&i.resource_arn).await?;
        Ok(ListTagsForResourceOutput {
            tags: Some(self.store.tags(&repo.id).await.map_err(store)?),
            next_token: None,
        })
    }
}
