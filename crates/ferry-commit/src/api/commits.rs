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

impl CommitService {
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
            commit: Commit {
                commit_id: Some(c.commit_id),
                tree_id: Some(c.tree_id),
                parents: Some(c.parents),
                message: Some(c.message),
                author: Some(user_info(c.author)),
                committer: Some(user_info(c.committer)),
                additional_data: Some(String::new()),
            },
        })
    }
}
