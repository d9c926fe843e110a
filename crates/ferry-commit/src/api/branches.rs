//! Branch operations: get, list, create, delete, and the default branch.

use ferry_model::codecommit::*;
use ferry_types::Timestamp;
use ferry_wire::AwsError;

use super::errors::{git, store};
use crate::CommitService;
use crate::git::GitError;
use crate::names;

/// ListBranches page size.
const PAGE: usize = 100;

fn branch_required() -> AwsError {
    AwsError::new(
        "BranchNameRequiredException",
        "A branch name is required, but was not specified.",
    )
}

fn check_branch(name: &str) -> Result<String, AwsError> {
    if name.is_empty() {
        return Err(branch_required());
    }
    if !names::valid_branch_name(name) {
        return Err(AwsError::new(
            "InvalidBranchNameException",
            format!("The branch name '{name}' is not valid."),
        ));
    }
    Ok(name.strip_prefix("refs/heads/").unwrap_or(name).to_owned())
}

fn branch_does_not_exist(name: &str) -> AwsError {
    AwsError::new(
        "BranchDoesNotExistException",
        format!("Branch {name} does not exist"),
    )
}

impl CommitService {
    pub(crate) async fn api_get_branch(
        &self,
        i: GetBranchInput,
    ) -> Result<GetBranchOutput, AwsError> {
        let repo_name = i.repository_name.ok_or_else(|| {
            AwsError::new(
                "RepositoryNameRequiredException",
                "A repository name is required, but was not specified.",
            )
        })?;
        let branch = check_branch(i.branch_name.as_deref().unwrap_or(""))?;
        let repo = self.existing_repo(&repo_name).await?;
        let tip = self
            .git
            .branch(&repo.id, &branch)
            .await
            .map_err(git)?
            .ok_or_else(|| branch_does_not_exist(&branch))?;
        Ok(GetBranchOutput {
            branch: Some(BranchInfo {
                branch_name: Some(branch),
                commit_id: Some(tip),
            }),
        })
    }

    pub(crate) async fn api_list_branches(
        &self,
        i: ListBranchesInput,
    ) -> Result<ListBranchesOutput, AwsError> {
        let repo = self.existing_repo(&i.repository_name).await?;
        let all = self.git.branches(&repo.id).await.map_err(git)?;
        let start = match &i.next_token {
            None => 0,
            Some(t) => {
                let after =
                    ferry_types::page::decode(t).ok_or_else(super::paging::invalid_token)?;
                all.partition_point(|(name, _)| name.as_str() <= after.as_str())
            }
        };
        let page: Vec<String> = all
            .iter()
            .skip(start)
            .take(PAGE)
            .map(|(n, _)| n.clone())
            .collect();
        let next_token = (start + PAGE < all.len())
            .then(|| ferry_types::page::encode(page.last().map_or("", |s| s)));
        Ok(ListBranchesOutput {
            branches: Some(page),
            next_token,
        })
    }

    pub(crate) async fn api_create_branch(&self, i: CreateBranchInput) -> Result<(), AwsError> {
        let branch = check_branch(&i.branch_name)?;
        if i.commit_id.is_empty() {
            return Err(AwsError::new(
                "CommitIdRequiredException",
                "A commit ID is required, but was not specified.",
            ));
        }
        let repo = self.existing_repo(&i.repository_name).await?;
        if !names::is_full_sha(&i.commit_id) {
            return Err(AwsError::new(
                "InvalidCommitIdException",
                format!("The commit ID {} is not valid.", i.commit_id),
            ));
        }
        match self.git.commit(&repo.id, &i.commit_id).await {
            Ok(_) => {}
            Err(GitError::NotFound) => {
                return Err(AwsError::new(
                    "CommitDoesNotExistException",
                    format!("Commit {} does not exist", i.commit_id),
                ));
            }
            Err(e) => return Err(git(e)),
        }
        let change = self.begin_ref_change(&repo).await.map_err(git)?;
        let created = self
            .git
            .create_branch(&repo.id, &branch, &i.commit_id)
            .await;
        self.finish_ref_change(change).await.map_err(git)?;
        match created {
            Ok(()) => Ok(()),
            Err(GitError::RefConflict) => Err(AwsError::new(
                "BranchNameExistsException",
                format!("Branch {branch} already exists"),
            )),
            Err(e) => Err(git(e)),
        }
    }

    pub(crate) async fn api_delete_branch(
        &self,
        i: DeleteBranchInput,
    ) -> Result<DeleteBranchOutput, AwsError> {
        let branch = check_branch(&i.branch_name)?;
        let repo = self.existing_repo(&i.repository_name).await?;
        if repo.default_branch.as_deref() == Some(branch.as_str()) {
            return Err(AwsError::new(
                "DefaultBranchCannotBeDeletedException",
                format!("The default branch {branch} cannot be deleted."),
            ));
        }
        let change = self.begin_ref_change(&repo).await.map_err(git)?;
        let tip = self.git.branch(&repo.id, &branch).await.map_err(git);
        let result = match &tip {
            Ok(Some(sha)) => self
                .git
                .delete_branch(&repo.id, &branch, sha)
                .await
                .map_err(git),
            Ok(None) => Ok(()),
            Err(e) => Err(e.clone()),
        };
        self.finish_ref_change(change).await.map_err(git)?;
        result?;
        Ok(DeleteBranchOutput {
            deleted_branch: tip?.map(|sha| BranchInfo {
                branch_name: Some(branch),
                commit_id: Some(sha),
            }),
        })
    }

    pub(crate) async fn api_update_default_branch(
        &self,
        i: UpdateDefaultBranchInput,
    ) -> Result<(), AwsError> {
        let branch = check_branch(&i.default_branch_name)?;
        let repo = self.existing_repo(&i.repository_name).await?;
        let _guard = self.locks.lock(&repo.id).await;
        if self
            .git
            .branch(&repo.id, &branch)
            .await
            .map_err(git)?
            .is_none()
        {
            return Err(branch_does_not_exist(&branch));
        }
        self.store
            .set_default_branch(&repo.id, &branch, false, Timestamp::now().millis())
            .await
            .map_err(store)?;
        self.git.set_head(&repo.id, &branch).await.map_err(git)?;
        self.adverts.invalidate(&repo.id);
        self.store
            .touch_repository(&repo.id, Timestamp::now().millis())
            .await
            .map_err(store)?;
        Ok(())
    }
}
