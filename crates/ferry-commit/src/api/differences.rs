//! GetDifferences: the files that differ between two commits, paginated.

use ferry_model::codecommit::*;
use ferry_wire::AwsError;

use super::errors::git;
use crate::CommitService;
use crate::git::objects::{self, Entry};

/// Default and largest page of differences.
const PAGE: usize = 100;

fn under(path: &str, dir: &str) -> bool {
    dir.is_empty()
        || path == dir
        || path
            .strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/'))
}

fn blob_meta(e: Entry) -> BlobMetadata {
    BlobMetadata {
        blob_id: Some(e.id),
        mode: Some(e.kind.octal().to_owned()),
        path: Some(e.path),
    }
}

impl CommitService {
    pub(crate) async fn api_get_differences(
        &self,
        i: GetDifferencesInput,
    ) -> Result<GetDifferencesOutput, AwsError> {
        let repo = self.existing_repo(&i.repository_name).await?;
        if i.after_commit_specifier.is_empty() {
            return Err(AwsError::new(
                "CommitRequiredException",
                "A commit specifier is required.",
            ));
        }
        let limit = super::paging::limit(i.max_results, PAGE)?;
        let offset = super::paging::offset(i.next_token.as_deref())?;
        let before_path = i
            .before_path
            .as_deref()
            .map(|p| super::content::path_arg(p, true))
            .transpose()?;
        let after_path = i
            .after_path
            .as_deref()
            .map(|p| super::content::path_arg(p, true))
            .transpose()?;
        let after = self
            .resolve_spec(&repo, Some(&i.after_commit_specifier))
            .await?;
        let before = match i.before_commit_specifier.as_deref() {
            Some(spec) if !spec.is_empty() => Some(self.resolve_spec(&repo, Some(spec)).await?),
            _ => None,
        };
        let (bp, ap) = (before_path.clone(), after_path.clone());
        let changes = self
            .git
            .with(&repo.id, move |r| {
                let after_tree = objects::commit_tree(r, after)?;
                let before_tree = before.map(|b| objects::commit_tree(r, b)).transpose()?;
                // A path argument must name something in its commit.
                for (tree, path) in [(before_tree, &bp), (Some(after_tree), &ap)] {
                    if let (Some(tree), Some(p)) = (tree, path)
                        && objects::entry_at(r, tree, p)?.is_none()
                    {
                        return Ok(Err(p.clone()));
                    }
                }
                Ok(Ok(objects::diff_trees(r, before_tree, after_tree)?))
            })
            .await
            .map_err(git)?
            .map_err(|p| {
                AwsError::new(
                    "PathDoesNotExistException",
                    format!("The specified path {p} does not exist."),
                )
            })?;
        // One path given limits both sides; two name a folder before and after a rename.
        let bp = before_path
            .as_deref()
            .or(after_path.as_deref())
            .unwrap_or("");
        let ap = after_path
            .as_deref()
            .or(before_path.as_deref())
            .unwrap_or("");
        let selected: Vec<_> = changes
            .into_iter()
            .filter(|c| {
                c.before.as_ref().is_some_and(|e| under(&e.path, bp))
                    || c.after.as_ref().is_some_and(|e| under(&e.path, ap))
            })
            .collect();
        let (selected, next_token) = super::paging::slice(selected, offset, limit);
        let differences = selected
            .into_iter()
            .map(|c| {
                let change_type = match (&c.before, &c.after) {
                    (None, _) => ChangeTypeEnum::A,
                    (_, None) => ChangeTypeEnum::D,
                    _ => ChangeTypeEnum::M,
                };
                Difference {
                    before_blob: c.before.map(blob_meta),
                    after_blob: c.after.map(blob_meta),
                    change_type: Some(change_type),
                }
            })
            .collect();
        Ok(GetDifferencesOutput {
            differences: Some(differences),
            next_token,
        })
    }
}
