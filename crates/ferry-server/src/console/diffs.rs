//! Diffs as pages draw them: each file changed between two commits (through GetDifferences and
//! GetBlob), its lines numbered on both sides, cut to a few lines of context around each
//! change. Binary and very large files are listed without their lines.

use ferry_commit::hunks::diff_lines;
use ferry_model::codecommit::*;
use ferry_wire::RequestContext;
use serde::Serialize;

use crate::state::SharedState;

/// Unchanged lines shown around each change.
const CONTEXT: usize = 3;
/// Files larger than this are listed without their lines.
const MAX_DIFF_BYTES: usize = 512 * 1024;

/// One diff line as drawn: kind (`None` marks elided context), old and new line numbers, text.
type ShownLine = (Option<char>, Option<usize>, Option<usize>, String);

#[derive(Serialize)]
pub struct FileDiff {
    path: String,
    change: String,
    lines: Vec<ShownLine>,
    shown: bool,
}

async fn blob_text(
    st: &SharedState,
    ctx: &RequestContext,
    repo: &str,
    blob: Option<&BlobMetadata>,
) -> Option<String> {
    let Some(id) = blob.and_then(|b| b.blob_id.clone()) else {
        return Some(String::new());
    };
    let out = st
        .commit
        .get_blob(
            ctx,
            GetBlobInput {
                repository_name: repo.to_owned(),
                blob_id: id,
            },
        )
        .await
        .ok()?;
    let bytes = out.content.0;
    (bytes.len() <= MAX_DIFF_BYTES && !bytes.contains(&0))
        .then(|| String::from_utf8(bytes).ok())
        .flatten()
}

/// The diff lines with unchanged runs cut to `CONTEXT` lines around each change.
fn with_context(all: Vec<ferry_commit::hunks::DiffLine>) -> Vec<ShownLine> {
    let near: Vec<bool> = (0..all.len())
        .map(|i| {
            let lo = i.saturating_sub(CONTEXT);
            let hi = (i + CONTEXT + 1).min(all.len());
            all[lo..hi].iter().any(|l| l.kind != ' ')
        })
        .collect();
    let mut out = Vec::new();
    let mut gap = false;
    for (l, keep) in all.into_iter().zip(near) {
        if keep {
            out.push((Some(l.kind), l.old, l.new, l.text));
            gap = false;
        } else if !gap {
            out.push((None, None, None, String::new()));
            gap = true;
        }
    }
    out
}

pub async fn diff(
    st: &SharedState,
    ctx: &RequestContext,
    repo: &str,
    before: Option<&str>,
    after: &str,
) -> Vec<FileDiff> {
    let mut files = Vec::new();
    let mut token = None;
    loop {
        let Ok(out) = st
            .commit
            .get_differences(
                ctx,
                GetDifferencesInput {
                    repository_name: repo.to_owned(),
                    before_commit_specifier: before.map(str::to_owned),
                    after_commit_specifier: after.to_owned(),
                    next_token: token,
                    ..Default::default()
                },
            )
            .await
        else {
            break;
        };
        for d in out.differences.unwrap_or_default() {
            let path = d
                .after_blob
                .as_ref()
                .or(d.before_blob.as_ref())
                .and_then(|b| b.path.clone())
                .unwrap_or_default();
            let old = blob_text(st, ctx, repo, d.before_blob.as_ref()).await;
            let new = blob_text(st, ctx, repo, d.after_blob.as_ref()).await;
            let (lines, shown) = match (old, new) {
                (Some(o), Some(n)) => (with_context(diff_lines(&o, &n)), true),
                _ => (Vec::new(), false),
            };
            files.push(FileDiff {
                path,
                change: d.change_type.map(|c| c.to_string()).unwrap_or_default(),
                lines,
                shown,
            });
        }
        token = out.next_token;
        if token.is_none() {
            break;
        }
    }
    files
}
