//! Comments on pull requests and on compared commits (optionally at a file location), replies,
//! edits and deletion of content. Posting is idempotent by client request token. Comments are
//! returned grouped by their context (commits and location), oldest first.

use ferry_model::codecommit::*;
use ferry_store::comments::CommentRow;
use ferry_store::repos::RepoRow;
use ferry_types::Timestamp;
use ferry_wire::{AwsError, RequestContext};

use super::errors::{git, store};
use crate::CommitService;
use crate::git::objects;
use crate::names;

/// The longest comment (characters).
const MAX_CONTENT: usize = 10_240;
/// Comment groups per page.
const PAGE: usize = 100;

fn check_content(content: &str) -> Result<(), AwsError> {
    if content.is_empty() {
        return Err(AwsError::new(
            "CommentContentRequiredException",
            "The comment is empty.",
        ));
    }
    if content.chars().count() > MAX_CONTENT {
        return Err(AwsError::new(
            "CommentContentSizeLimitExceededException",
            format!("A comment can be at most {MAX_CONTENT} characters long."),
        ));
    }
    Ok(())
}

fn view(c: &CommentRow) -> Comment {
    Comment {
        comment_id: Some(c.id.clone()),
        content: Some(if c.deleted {
            String::new()
        } else {
            c.content.clone()
        }),
        in_reply_to: c.in_reply_to.clone(),
        creation_date: Some(Timestamp::from_millis(c.created_ms)),
        last_modified_date: Some(Timestamp::from_millis(c.modified_ms)),
        author_arn: Some(c.author_arn.clone()),
        deleted: Some(c.deleted),
        client_request_token: c.client_request_token.clone(),
        caller_reactions: Some(vec![]),
        reaction_counts: Some(Default::default()),
    }
}

fn location_of(json: &str) -> Option<Location> {
    serde_json::from_str::<Location>(json)
        .ok()
        .filter(|l| l.file_path.is_some())
}

/// Groups comments by context, in order of each group's first comment.
fn group(comments: Vec<CommentRow>) -> Vec<Vec<CommentRow>> {
    let mut groups: Vec<Vec<CommentRow>> = Vec::new();
    for c in comments {
        let same = |g: &Vec<CommentRow>| {
            let f = &g[0];
            f.before_commit == c.before_commit
                && f.after_commit == c.after_commit
                && f.location == c.location
        };
        match groups.iter_mut().find(|g| same(g)) {
            Some(g) => g.push(c),
            None => groups.push(vec![c]),
        }
    }
    groups
}

/// What a new comment is about.
struct Context<'a> {
    repo: &'a RepoRow,
    pull_request_id: Option<i64>,
    before: Option<&'a str>,
    after: &'a str,
    location: Option<&'a Location>,
}

impl CommitService {
    async fn commit_arg(&self, repo: &RepoRow, id: &str, which: &str) -> Result<String, AwsError> {
        if id.is_empty() {
            return Err(AwsError::new(
                "CommitIdRequiredException",
                format!("The {which} commit ID is required."),
            ));
        }
        if !names::is_full_sha(id) {
            return Err(AwsError::new(
                "InvalidCommitIdException",
                format!("The commit ID {id} is not valid."),
            ));
        }
        let id = id.to_ascii_lowercase();
        match self.git.commit(&repo.id, &id).await {
            Ok(_) => Ok(id),
            Err(_) => Err(AwsError::new(
                "CommitDoesNotExistException",
                format!("The commit {id} does not exist."),
            )),
        }
    }

    /// Blob ids at the location's path in the two commits, checking the path exists.
    async fn location_blobs(
        &self,
        repo: &RepoRow,
        before: Option<&str>,
        after: &str,
        location: Option<&Location>,
    ) -> Result<(Option<String>, Option<String>, String), AwsError> {
        let Some(loc) = location else {
            return Ok((None, None, "{}".into()));
        };
        let Some(raw_path) = loc.file_path.as_deref() else {
            return Err(AwsError::new(
                "PathRequiredException",
                "A file path is required for a location.",
            ));
        };
        let path = super::content::path_arg(raw_path, false)?;
        if loc.file_position.is_some_and(|p| p < 0) {
            return Err(AwsError::new(
                "InvalidFilePositionException",
                "The file position is not valid.",
            ));
        }
        let lookup = |commit: String| {
            let path = path.clone();
            let repo_id = repo.id.clone();
            async move {
                let id = gix::ObjectId::from_hex(commit.as_bytes()).map_err(AwsError::internal)?;
                self.git
                    .with(&repo_id, move |r| {
                        let tree = objects::commit_tree(r, id)?;
                        Ok(objects::entry_at(r, tree, &path)?.map(|e| e.id))
                    })
                    .await
                    .map_err(git)
            }
        };
        let after_blob = lookup(after.to_owned()).await?;
        let before_blob = match before {
            Some(b) => lookup(b.to_owned()).await?,
            None => None,
        };
        if after_blob.is_none() && before_blob.is_none() {
            return Err(AwsError::new(
                "PathDoesNotExistException",
                format!("The path {path} does not exist."),
            ));
        }
        let mut stored = loc.clone();
        stored.file_path = Some(path);
        Ok((
            before_blob,
            after_blob,
            serde_json::to_string(&stored).unwrap_or_else(|_| "{}".into()),
        ))
    }

    async fn post(
        &self,
        ctx: &RequestContext,
        c: Context<'_>,
        content: &str,
        token: Option<&str>,
    ) -> Result<CommentRow, AwsError> {
        check_content(content)?;
        let token = token.filter(|t| !t.is_empty());
        if let Some(t) = token
            && let Some(existing) = self.store.comment_by_token(t).await.map_err(store)?
        {
            if existing.content != content || existing.after_commit != c.after {
                return Err(AwsError::new(
                    "IdempotencyParameterMismatchException",
                    "The client request token was used before with other parameters.",
                ));
            }
            return Ok(existing);
        }
        let (before_blob, after_blob, location) = self
            .location_blobs(c.repo, c.before, c.after, c.location)
            .await?;
        let now = Timestamp::now().millis();
        let row = CommentRow {
            id: uuid::Uuid::new_v4().to_string(),
            repository_id: c.repo.id.clone(),
            pull_request_id: c.pull_request_id,
            before_commit: c.before.unwrap_or("").to_owned(),
            after_commit: c.after.to_owned(),
            before_blob,
            after_blob,
            location,
            in_reply_to: None,
            content: content.to_owned(),
            author_arn: ctx.principal_arn.clone(),
            deleted: false,
            client_request_token: token.map(str::to_owned),
            created_ms: now,
            modified_ms: now,
        };
        self.store.insert_comment(&row).await.map_err(store)?;
        Ok(row)
    }

    pub(crate) async fn api_post_comment_for_pull_request(
        &self,
        ctx: &RequestContext,
        i: PostCommentForPullRequestInput,
    ) -> Result<PostCommentForPullRequestOutput, AwsError> {
        let pull = self.load_pull(&i.pull_request_id).await?;
        let repo = self.existing_repo(&i.repository_name).await?;
        if repo.id != pull.repository_id {
            return Err(AwsError::new(
                "RepositoryNotAssociatedWithPullRequestException",
                "The repository is not associated with the pull request.",
            ));
        }
        let before = self
            .commit_arg(&repo, &i.before_commit_id, "before")
            .await?;
        let after = self.commit_arg(&repo, &i.after_commit_id, "after").await?;
        let ctx_c = Context {
            repo: &repo,
            pull_request_id: Some(pull.id),
            before: Some(&before),
            after: &after,
            location: i.location.as_ref(),
        };
        let row = self
            .post(ctx, ctx_c, &i.content, i.client_request_token.as_deref())
            .await?;
        Ok(PostCommentForPullRequestOutput {
            repository_name: Some(repo.name),
            pull_request_id: Some(pull.id.to_string()),
            before_commit_id: Some(before),
            after_commit_id: Some(after),
            before_blob_id: row.before_blob.clone(),
            after_blob_id: row.after_blob.clone(),
            location: location_of(&row.location),
            comment: Some(view(&row)),
        })
    }

    pub(crate) async fn api_post_comment_for_compared_commit(
        &self,
        ctx: &RequestContext,
        i: PostCommentForComparedCommitInput,
    ) -> Result<PostCommentForComparedCommitOutput, AwsError> {
        let repo = self.existing_repo(&i.repository_name).await?;
        let before = match i.before_commit_id.as_deref().filter(|b| !b.is_empty()) {
            Some(b) => Some(self.commit_arg(&repo, b, "before").await?),
            None => None,
        };
        let after = self.commit_arg(&repo, &i.after_commit_id, "after").await?;
        let ctx_c = Context {
            repo: &repo,
            pull_request_id: None,
            before: before.as_deref(),
            after: &after,
            location: i.location.as_ref(),
        };
        let row = self
            .post(ctx, ctx_c, &i.content, i.client_request_token.as_deref())
            .await?;
        Ok(PostCommentForComparedCommitOutput {
            repository_name: Some(repo.name),
            before_commit_id: before,
            after_commit_id: Some(after),
            before_blob_id: row.before_blob.clone(),
            after_blob_id: row.after_blob.clone(),
            location: location_of(&row.location),
            comment: Some(view(&row)),
        })
    }

    pub(crate) async fn load_comment(&self, id: &str) -> Result<CommentRow, AwsError> {
        if id.is_empty() {
            return Err(AwsError::new(
                "CommentIdRequiredException",
                "A comment ID is required.",
            ));
        }
        self.store.comment(id).await.map_err(store)?.ok_or_else(|| {
            AwsError::new(
                "CommentDoesNotExistException",
                format!("The comment {id} does not exist."),
            )
        })
    }

    /// A comment that has not been deleted.
    pub(crate) async fn load_live_comment(&self, id: &str) -> Result<CommentRow, AwsError> {
        let c = self.load_comment(id).await?;
        if c.deleted {
            return Err(AwsError::new(
                "CommentDeletedException",
                "This comment has already been deleted.",
            ));
        }
        Ok(c)
    }

    pub(crate) async fn api_post_comment_reply(
        &self,
        ctx: &RequestContext,
        i: PostCommentReplyInput,
    ) -> Result<PostCommentReplyOutput, AwsError> {
        check_content(&i.content)?;
        let parent = self.load_comment(&i.in_reply_to).await?;
        let token = i.client_request_token.as_deref().filter(|t| !t.is_empty());
        if let Some(t) = token
            && let Some(existing) = self.store.comment_by_token(t).await.map_err(store)?
        {
            return Ok(PostCommentReplyOutput {
                comment: Some(view(&existing)),
            });
        }
        let now = Timestamp::now().millis();
        let row = CommentRow {
            id: uuid::Uuid::new_v4().to_string(),
            in_reply_to: Some(parent.id.clone()),
            content: i.content.clone(),
            author_arn: ctx.principal_arn.clone(),
            deleted: false,
            client_request_token: token.map(str::to_owned),
            created_ms: now,
            modified_ms: now,
            ..parent
        };
        self.store.insert_comment(&row).await.map_err(store)?;
        Ok(PostCommentReplyOutput {
            comment: Some(view(&row)),
        })
    }

    pub(crate) async fn api_get_comment(
        &self,
        ctx: &RequestContext,
        i: GetCommentInput,
    ) -> Result<GetCommentOutput, AwsError> {
        let c = self.load_live_comment(&i.comment_id).await?;
        Ok(GetCommentOutput {
            comment: Some(self.with_reactions(ctx, view(&c)).await?),
        })
    }

    pub(crate) async fn api_update_comment(
        &self,
        ctx: &RequestContext,
        i: UpdateCommentInput,
    ) -> Result<UpdateCommentOutput, AwsError> {
        check_content(&i.content)?;
        let mut c = self.load_live_comment(&i.comment_id).await?;
        if c.author_arn != ctx.principal_arn {
            return Err(AwsError::new(
                "CommentNotCreatedByCallerException",
                "You cannot modify a comment that you did not create.",
            ));
        }
        c.modified_ms = Timestamp::now().millis();
        c.content = i.content;
        self.store
            .set_comment_content(&c.id, &c.content, false, c.modified_ms)
            .await
            .map_err(store)?;
        Ok(UpdateCommentOutput {
            comment: Some(view(&c)),
        })
    }

    pub(crate) async fn api_delete_comment_content(
        &self,
        i: DeleteCommentContentInput,
    ) -> Result<DeleteCommentContentOutput, AwsError> {
        let mut c = self.load_comment(&i.comment_id).await?;
        c.modified_ms = Timestamp::now().millis();
        c.deleted = true;
        c.content.clear();
        self.store
            .set_comment_content(&c.id, "", true, c.modified_ms)
            .await
            .map_err(store)?;
        Ok(DeleteCommentContentOutput {
            comment: Some(view(&c)),
        })
    }

    pub(crate) async fn api_get_comments_for_pull_request(
        &self,
        i: GetCommentsForPullRequestInput,
    ) -> Result<GetCommentsForPullRequestOutput, AwsError> {
        let pull = self.load_pull(&i.pull_request_id).await?;
        let repo_name = match i.repository_name.as_deref().filter(|n| !n.is_empty()) {
            Some(name) => {
                let repo = self.existing_repo(name).await?;
                if repo.id != pull.repository_id {
                    return Err(AwsError::new(
                        "RepositoryNotAssociatedWithPullRequestException",
                        "The repository is not associated with the pull request.",
                    ));
                }
                repo.name
            }
            None => self
                .store
                .repository_by_id(&pull.repository_id)
                .await
                .map_err(store)?
                .map(|r| r.name)
                .unwrap_or_default(),
        };
        let comments: Vec<_> = self
            .store
            .comments_for_pull_request(pull.id)
            .await
            .map_err(store)?
            .into_iter()
            .filter(|c| {
                i.before_commit_id
                    .as_deref()
                    .is_none_or(|b| b.eq_ignore_ascii_case(&c.before_commit))
            })
            .filter(|c| {
                i.after_commit_id
                    .as_deref()
                    .is_none_or(|a| a.eq_ignore_ascii_case(&c.after_commit))
            })
            .collect();
        let (groups, next_token) = super::paging::page(
            group(comments),
            i.next_token.as_deref(),
            i.max_results,
            PAGE,
        )?;
        let data = groups
            .into_iter()
            .map(|g| {
                let f = &g[0];
                CommentsForPullRequest {
                    pull_request_id: Some(pull.id.to_string()),
                    repository_name: Some(repo_name.clone()),
                    before_commit_id: Some(f.before_commit.clone()),
                    after_commit_id: Some(f.after_commit.clone()),
                    before_blob_id: f.before_blob.clone(),
                    after_blob_id: f.after_blob.clone(),
                    location: location_of(&f.location),
                    comments: Some(g.iter().map(view).collect()),
                }
            })
            .collect();
        Ok(GetCommentsForPullRequestOutput {
            comments_for_pull_request_data: Some(data),
            next_token,
        })
    }

    pub(crate) async fn api_get_comments_for_compared_commit(
        &self,
        i: GetCommentsForComparedCommitInput,
    ) -> Result<GetCommentsForComparedCommitOutput, AwsError> {
        let repo = self.existing_repo(&i.repository_name).await?;
        let after = self.commit_arg(&repo, &i.after_commit_id, "after").await?;
        let before = match i.before_commit_id.as_deref().filter(|b| !b.is_empty()) {
            Some(b) => self.commit_arg(&repo, b, "before").await?,
            None => String::new(),
        };
        let comments = self
            .store
            .comments_for_compared_commit(&repo.id, &before, &after)
            .await
            .map_err(store)?;
        let (groups, next_token) = super::paging::page(
            group(comments),
            i.next_token.as_deref(),
            i.max_results,
            PAGE,
        )?;
        let data = groups
            .into_iter()
            .map(|g| {
                let f = &g[0];
                CommentsForComparedCommit {
                    repository_name: Some(repo.name.clone()),
                    before_commit_id: (!f.before_commit.is_empty())
                        .then(|| f.before_commit.clone()),
                    after_commit_id: Some(f.after_commit.clone()),
                    before_blob_id: f.before_blob.clone(),
                    after_blob_id: f.after_blob.clone(),
                    location: location_of(&f.location),
                    comments: Some(g.iter().map(view).collect()),
                }
            })
            .collect();
        Ok(GetCommentsForComparedCommitOutput {
            comments_for_compared_commit_data: Some(data),
            next_token,
        })
    }
}
