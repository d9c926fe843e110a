//! Repository operations: create, get, batch get, list, delete, rename, describe.

use ferry_model::codecommit::*;
use ferry_store::StoreError;
use ferry_store::repos::{RepoRow, RepoSort};
use ferry_types::Timestamp;
use ferry_wire::{AwsError, RequestContext};

use super::errors::{check_repo_name, invalid_repo_name, repo_does_not_exist, store};
use super::tags::check_tags;
use crate::CommitService;

/// ListRepositories page size (AWS's).
const PAGE: i64 = 1000;
/// BatchGetRepositories limit.
const MAX_BATCH: usize = 25;
/// Tags per resource.
pub(crate) const MAX_TAGS: usize = 50;

impl CommitService {
    /// The API view of a repository row.
    pub(crate) fn metadata(&self, r: &RepoRow) -> RepositoryMetadata {
        RepositoryMetadata {
            account_id: Some(self.settings.account_id.clone()),
            repository_id: Some(r.id.clone()),
            repository_name: Some(r.name.clone()),
            repository_description: r.description.clone(),
            default_branch: r.default_branch.clone(),
            last_modified_date: Some(Timestamp::from_millis(r.modified_ms)),
            creation_date: Some(Timestamp::from_millis(r.created_ms)),
            clone_url_http: Some(self.clone_url_http(&r.name)),
            clone_url_ssh: Some(self.clone_url_ssh(&r.name)),
            arn: Some(self.arn(&r.name)),
            kms_key_id: r.kms_key_id.clone(),
        }
    }

    pub(crate) async fn api_create_repository(
        &self,
        _ctx: &RequestContext,
        i: CreateRepositoryInput,
    ) -> Result<CreateRepositoryOutput, AwsError> {
        check_repo_name(&i.repository_name)?;
        if let Some(tags) = &i.tags {
            check_tags(tags)?;
            if tags.len() > MAX_TAGS {
                return Err(AwsError::new(
                    "TooManyTagsException",
                    format!("A resource can have at most {MAX_TAGS} tags"),
                ));
            }
        }
        let now = Timestamp::now().millis();
        let row = RepoRow {
            id: uuid::Uuid::new_v4().to_string(),
            name: i.repository_name.clone(),
            description: i.repository_description.clone(),
            default_branch: None,
            kms_key_id: i.kms_key_id.clone(),
            created_ms: now,
            modified_ms: now,
            refs_version: 0,
        };
        // The directory first (nothing refers to a fresh id), then the row that makes it visible.
        self.git.init(&row.id).await.map_err(super::errors::git)?;
        match self.store.insert_repository(&row).await {
            Ok(()) => {}
            Err(e) => {
                let _ = self.git.remove(&row.id).await;
                return Err(match e {
                    StoreError::Conflict(_) => AwsError::new(
                        "RepositoryNameExistsException",
                        format!("Repository named {} already exists", row.name),
                    ),
                    other => store(other),
                });
            }
        }
        if let Some(tags) = &i.tags {
            self.store
                .put_tags(&row.id, tags, MAX_TAGS)
                .await
                .map_err(store)?;
        }
        Ok(CreateRepositoryOutput {
            repository_metadata: Some(self.metadata(&row)),
        })
    }

    pub(crate) async fn api_get_repository(
        &self,
        i: GetRepositoryInput,
    ) -> Result<GetRepositoryOutput, AwsError> {
        let row = self.existing_repo(&i.repository_name).await?;
        Ok(GetRepositoryOutput {
            repository_metadata: Some(self.metadata(&row)),
        })
    }

    pub(crate) async fn api_batch_get_repositories(
        &self,
        i: BatchGetRepositoriesInput,
    ) -> Result<BatchGetRepositoriesOutput, AwsError> {
        if i.repository_names.is_empty() {
            return Err(AwsError::new(
                "RepositoryNamesRequiredException",
                "At least one repository name is required.",
            ));
        }
        if i.repository_names.len() > MAX_BATCH {
            return Err(AwsError::new(
                "MaximumRepositoryNamesExceededException",
                format!(
                    "The maximum number of allowed repository names ({MAX_BATCH}) was exceeded."
                ),
            ));
        }
        for name in &i.repository_names {
            check_repo_name(name)?;
        }
        let mut found = Vec::new();
        let mut missing = Vec::new();
        let mut errors = Vec::new();
        for name in &i.repository_names {
            match self.store.repository(name).await.map_err(store)? {
                Some(r) => found.push(self.metadata(&r)),
                None => {
                    missing.push(name.clone());
                    errors.push(BatchGetRepositoriesError {
                        repository_id: None,
                        repository_name: Some(name.clone()),
                        error_code: Some(
                            BatchGetRepositoriesErrorCodeEnum::RepositoryDoesNotExistException,
                        ),
                        error_message: Some(format!("{name} does not exist")),
                    });
                }
            }
        }
        Ok(BatchGetRepositoriesOutput {
            repositories: Some(found),
            repositories_not_found: Some(missing),
            errors: Some(errors),
        })
    }

    pub(crate) async fn api_list_repositories(
        &self,
        i: ListRepositoriesInput,
    ) -> Result<ListRepositoriesOutput, AwsError> {
        let sort = match i.sort_by {
            Some(SortByEnum::LastModifiedDate) => RepoSort::LastModified,
            _ => RepoSort::Name,
        };
        let descending = matches!(i.order, Some(OrderEnum::Descending));
        let after = match &i.next_token {
            None => None,
            Some(t) => Some(decode_list_token(t).ok_or_else(super::paging::invalid_token)?),
        };
        let mut rows = self
            .store
            .list_repositories(sort, descending, after, PAGE + 1)
            .await
            .map_err(store)?;
        let next_token = if rows.len() as i64 > PAGE {
            rows.truncate(PAGE as usize);
            rows.last()
                .map(|r| ferry_types::page::encode(&format!("{}|{}", r.modified_ms, r.name)))
        } else {
            None
        };
        Ok(ListRepositoriesOutput {
            repositories: Some(
                rows.into_iter()
                    .map(|r| RepositoryNameIdPair {
                        repository_name: Some(r.name),
                        repository_id: Some(r.id),
                    })
                    .collect(),
            ),
            next_token,
        })
    }

    pub(crate) async fn api_delete_repository(
        &self,
        i: DeleteRepositoryInput,
    ) -> Result<DeleteRepositoryOutput, AwsError> {
        check_repo_name(&i.repository_name)?;
        // The row first (the repository disappears at once), then its directory.
        let deleted = self
            .store
            .delete_repository(&i.repository_name)
            .await
            .map_err(store)?;
        if let Some(r) = &deleted {
            let _lock = self.locks.lock(&r.id).await;
            if let Err(e) = self.git.remove(&r.id).await {
                tracing::warn!(error = %e, id = %r.id, "repository directory left for the orphan collector");
            }
        }
        Ok(DeleteRepositoryOutput {
            repository_id: deleted.map(|r| r.id),
        })
    }

    pub(crate) async fn api_update_repository_name(
        &self,
        i: UpdateRepositoryNameInput,
    ) -> Result<(), AwsError> {
        check_repo_name(&i.old_name)?;
        if !crate::names::valid_repository_name(&i.new_name) {
            return Err(invalid_repo_name(&i.new_name));
        }
        match self
            .store
            .rename_repository(&i.old_name, &i.new_name, Timestamp::now().millis())
            .await
        {
            Ok(()) => Ok(()),
            Err(StoreError::NotFound) => Err(repo_does_not_exist(&i.old_name)),
            Err(StoreError::Conflict(_)) => Err(AwsError::new(
                "RepositoryNameExistsException",
                format!("Repository named {} already exists", i.new_name),
            )),
            Err(e) => Err(store(e)),
        }
    }

    pub(crate) async fn api_update_repository_description(
        &self,
        i: UpdateRepositoryDescriptionInput,
    ) -> Result<(), AwsError> {
        check_repo_name(&i.repository_name)?;
        let now = Timestamp::now().millis();
        match self
            .store
            .set_repository_description(
                &i.repository_name,
                i.repository_description.as_deref(),
                now,
            )
            .await
        {
            Ok(()) => Ok(()),
            Err(StoreError::NotFound) => Err(repo_does_not_exist(&i.repository_name)),
            Err(e) => Err(store(e)),
        }
    }
}

fn decode_list_token(token: &str) -> Option<(i64, String)> {
    let raw = ferry_types::page::decode(token)?;
    let (ms, name) = raw.split_once('|')?;
    Some((ms.parse().ok()?, name.to_owned()))
}
