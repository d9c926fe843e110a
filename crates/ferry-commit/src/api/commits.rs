//! Commit reads.

use ferry_model::codecommit::*;
use ferry_wire::AwsError;

use super::errors::git;
use crate::CommitService;
use crate::git::{GitError, Person};
use crate::names;

fn user_info(p: Person) -> UserInfo {
    UserInfo {
        name: Some(p.name),
        email: Some(p.email),
        date: Some(p.date),
    }
}

pub(crate) fn to_commit(c: crate::git::CommitInfo) -> Commit {
    Commit {
        commit_id: Some(c.commit_id),
        tree_id: Some(c.tree_id),
        parents: Some(c.parents),
        message: Some(c.message),
        author: Some(user_info(c.author)),
        committer: Some(user_info(c.committer)),
        additional_data: Some(String::new()),
    }
}

/// BatchGetCommits limit.
const MAX_BATCH: usize = 100;

impl CommitService {
    pub(crate) async fn api_batch_get_commits(
        &self,
        i: BatchGetCommitsInput,
    ) -> Result<BatchGetCommitsOutput, AwsError> {
        let repo = self.existing_repo(&i.repository_name).await?;
        if i.commit_ids.is_empty() {
            return Err(AwsError::new(
                "CommitIdsListRequiredException",
                "A list of commit IDs is required.",
            ));
        }
        if i.commit_ids.len() > MAX_BATCH {
            return Err(AwsError::new(
                "CommitIdsLimitExceededException",
                format!("The maximum number of commit IDs ({MAX_BATCH}) was exceeded."),
            ));
        }
        let ids = i.commit_ids.clone();
        let results = self
            .git
            .with(&repo.id, move |r| {
                Ok(ids
                    .into_iter()
                    .map(|id| {
                        let found = if names::is_full_sha(&id) {
                            crate::git::objects::commit(r, &id.to_ascii_lowercase()).ok()
                        } else {
                            None
                        };
                        (id, found)
                    })
                    .collect::<Vec<_>>())
            })
            .await
            .map_err(git)?;
        let mut commits = Vec::new();
        let mut errors = Vec::new();
        for (id, found) in results {
            match found {
                Some(c) => commits.push(to_commit(c)),
                None => errors.push(BatchGetCommitsError {
                    commit_id: Some(id.clone()),
                    error_code: Some("CommitDoesNotExistException".into()),
                    error_message: Some(format!("Commit {id} does not exist")),
                }),
            }
        }
        Ok(BatchGetCommitsOutput {
            commits: Some(commits),
            errors: Some(errors),
        })
    }

    pub(crate) async fn api_get_commit(
        &self,
        i: GetCommitInput,
    ) -> Result<GetCommitOutput, AwsError> {
        let repo = self.existing_repo(&i.repository_name).await?;
        if i.commit_id.is_empty() {
            return Err(AwsError::new(
                "CommitIdRequiredException",
                "A commit ID is required, but was not specified.",
            ));
        }
        if !names::is_full_sha(&i.commit_id) {
            return Err(AwsError::new(
                "InvalidCommitIdException",
                format!("The commit ID {} is not valid.", i.commit_id),
            ));
        }
        let c = match self
            .git
            .commit(&repo.id, &i.commit_id.to_ascii_lowercase())
            .await
        {
            Ok(c) => c,
            Err(GitError::NotFound) => {
                return Err(AwsError::new(
                    "CommitIdDoesNotExistException",
                    format!("Commit {} does not exist", i.commit_id),
                ));
            }
            Err(e) => return Err(git(e)),
        };
        Ok(GetCommitOutput {
            commit: to_commit(c),
        })
    }
}
