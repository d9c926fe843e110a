//! CodeCommit exceptions used by more than one resource, and the lookups that raise them.

use ferry_store::StoreError;
use ferry_store::repos::RepoRow;
use ferry_wire::AwsError;

use crate::CommitService;
use crate::git::GitError;
use crate::names;

pub(crate) fn store(e: StoreError) -> AwsError {
    AwsError::internal(e)
}

pub(crate) fn git(e: GitError) -> AwsError {
    AwsError::internal(e)
}

pub(crate) fn repo_does_not_exist(name: &str) -> AwsError {
    AwsError::new(
        "RepositoryDoesNotExistException",
        format!("{name} does not exist"),
    )
}

pub(crate) fn invalid_repo_name(name: &str) -> AwsError {
    AwsError::new(
        "InvalidRepositoryNameException",
        format!(
            "The repository name '{name}' is not valid. Repository names can be any valid combination of letters, numbers, periods, underscores, and dashes between 1 and 100 characters in length, and must not end in .git."
        ),
    )
}

/// Checks a repository name without looking it up.
pub(crate) fn check_repo_name(name: &str) -> Result<(), AwsError> {
    if name.is_empty() {
        return Err(AwsError::new(
            "RepositoryNameRequiredException",
            "A repository name is required, but was not specified.",
        ));
    }
    if !names::valid_repository_name(name) {
        return Err(invalid_repo_name(name));
    }
    Ok(())
}

impl CommitService {
    /// The repository called `name`, or the exception AWS answers.
    pub(crate) async fn existing_repo(&self, name: &str) -> Result<RepoRow, AwsError> {
        check_repo_name(name)?;
        self.store
            .repository(name)
            .await
            .map_err(store)?
            .ok_or_else(|| repo_does_not_exist(name))
    }
}
