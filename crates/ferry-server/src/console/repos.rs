//! Repository pages: the list, a tree at any branch, tag or commit (`?ref=`, the default
//! branch otherwise) with clone instructions at the top, a file with numbered, anchored
//! lines, and the commit log page by page. They read through the CodeCommit API face with
//! the session's context, as an API caller would.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use ferry_model::codecommit::*;
use serde::{Deserialize, Serialize};

use super::diffs::diff;
use super::view::{Page, failed, render};
use super::{Session, authorize};
use crate::state::SharedState;

/// Commits on one page of the log.
const LOG_PAGE: usize = 30;
/// The largest file shown inline.
const MAX_SHOWN: usize = 1 << 20;

#[derive(Deserialize, Default)]
pub struct At {
    #[serde(default, rename = "ref")]
    at: Option<String>,
    #[serde(default)]
    page: Option<usize>,
}

#[derive(Serialize)]
struct RepoRow {
    name: String,
    description: Option<String>,
    default_branch: Option<String>,
    modified: Option<String>,
}

pub async fn list(State(st): State<SharedState>, session: Session) -> Response {
    let ctx = authorize(&st, &session, "codecommit:ListRepositories");
    let mut names = Vec::new();
    let mut token = None;
    loop {
        let out = match st
            .commit
            .list_repositories(
                &ctx,
                ListRepositoriesInput {
                    next_token: token,
                    sort_by: Some(SortByEnum::RepositoryName),
                    order: Some(OrderEnum::Ascending),
                },
            )
            .await
        {
            Ok(o) => o,
            Err(e) => return failed(&session, e),
        };
        names.extend(
            out.repositories
                .unwrap_or_default()
                .into_iter()
                .filter_map(|r| r.repository_name),
        );
        token = out.next_token;
        if token.is_none() {
            break;
        }
    }
    let mut rows = Vec::new();
    for chunk in names.chunks(25) {
        let got = st
            .commit
            .batch_get_repositories(
                &ctx,
                BatchGetRepositoriesInput {
                    repository_names: chunk.to_vec(),
                },
            )
            .await;
        for m in got.ok().and_then(|o| o.repositories).unwrap_or_default() {
            rows.push(RepoRow {
                name: m.repository_name.unwrap_or_default(),
                description: m.repository_description,
                default_branch: m.default_branch,
                modified: m.last_modified_date.map(|t| {
                    jiff::Timestamp::from_millisecond(t.millis())
                        .map(|t| t.strftime("%Y-%m-%d %H:%M UTC").to_string())
                        .unwrap_or_default()
                }),
            });
        }
    }
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    render(
        "repos.html",
        Page::of(&session, "Repositories")
            .with("section", "repos")
            .with("repos", rows),
    )
}

#[derive(Serialize)]
struct Entry {
    name: String,
    path: String,
    kind: &'static str,
}

/// The path's parts as breadcrumbs: (name, path up to it).
fn crumbs(path: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut at = String::new();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        if !at.is_empty() {
            at.push('/');
        }
        at.push_str(part);
        out.push((part.to_owned(), at.clone()));
    }
    out
}

pub async fn root(
    State(st): State<SharedState>,
    session: Session,
    Path(name): Path<String>,
    Query(q): Query<At>,
) -> Response {
    folder(st, session, name, String::new(), q).await
}

pub async fn tree(
    State(st): State<SharedState>,
    session: Session,
    Path((name, path)): Path<(String, String)>,
    Query(q): Query<At>,
) -> Response {
    folder(st, session, name, path, q).await
}

async fn folder(st: SharedState, session: Session, name: String, path: String, q: At) -> Response {
    let ctx = authorize(&st, &session, "codecommit:GetFolder");
    let meta = match st
        .commit
        .get_repository(
            &ctx,
            GetRepositoryInput {
                repository_name: name.clone(),
            },
        )
        .await
    {
        Ok(o) => o.repository_metadata.unwrap_or_default(),
        Err(e) => return failed(&session, e),
    };
    let branches = st
        .commit
        .list_branches(
            &ctx,
            ListBranchesInput {
                repository_name: name.clone(),
                next_token: None,
            },
        )
        .await
        .ok()
        .and_then(|o| o.branches)
        .unwrap_or_default();
    let at = q.at.clone().or(meta.default_branch.clone());
    let page = Page::of(&session, &name)
        .with("section", "repos")
        .with("repo", &name)
        .with("description", &meta.repository_description)
        .with("clone_http", &meta.clone_url_http)
        .with("clone_ssh", &meta.clone_url_ssh)
        .with("branches", &branches)
        .with("at", &at)
        .with("path", &path)
        .with("crumbs", crumbs(&path));
    if branches.is_empty() && q.at.is_none() {
        return render("tree.html", page.with("empty", true));
    }
    let out = match st
        .commit
        .get_folder(
            &ctx,
            GetFolderInput {
                repository_name: name.clone(),
                commit_specifier: at.clone(),
                folder_path: if path.is_empty() {
                    "/".into()
                } else {
                    path.clone()
                },
            },
        )
        .await
    {
        Ok(o) => o,
        Err(e) => return failed(&session, e),
    };
    let mut entries: Vec<Entry> = Vec::new();
    for f in out.sub_folders.unwrap_or_default() {
        entries.push(Entry {
            name: f.relative_path.unwrap_or_default(),
            path: f.absolute_path.unwrap_or_default(),
            kind: "folder",
        });
    }
    for f in out.files.unwrap_or_default() {
        entries.push(Entry {
            name: f.relative_path.unwrap_or_default(),
            path: f.absolute_path.unwrap_or_default(),
            kind: "file",
        });
    }
    for f in out.symbolic_links.unwrap_or_default() {
        entries.push(Entry {
            name: f.relative_path.unwrap_or_default(),
            path: f.absolute_path.unwrap_or_default(),
            kind: "link",
        });
    }
    for f in out.sub_modules.unwrap_or_default() {
        entries.push(Entry {
            name: f.relative_path.unwrap_or_default(),
            path: f.absolute_path.unwrap_or_default(),
            kind: "submodule",
        });
    }
    entries.sort_by(|a, b| (a.kind != "folder", &a.name).cmp(&(b.kind != "folder", &b.name)));
    let readme = match entries
        .iter()
        .find(|e| e.kind == "file" && super::rich::is_markdown_readme(&e.name))
    {
        Some(e) => st
            .commit
            .get_file(
                &ctx,
                GetFileInput {
                    repository_name: name.clone(),
                    commit_specifier: Some(out.commit_id.clone()),
                    file_path: e.path.clone(),
                },
            )
            .await
            .ok()
            .and_then(|f| String::from_utf8(f.file_content.0).ok())
            .map(|md| minijinja::Value::from_safe_string(super::rich::markdown(&md))),
        None => None,
    };
    render(
        "tree.html",
        page.with("entries", entries)
            .with("commit", &out.commit_id)
            .with("readme", readme),
    )
}

pub async fn blob(
    State(st): State<SharedState>,
    session: Session,
    Path((name, path)): Path<(String, String)>,
    Query(q): Query<At>,
) -> Response {
    let ctx = authorize(&st, &session, "codecommit:GetFile");
    let out = match st
        .commit
        .get_file(
            &ctx,
            GetFileInput {
                repository_name: name.clone(),
                commit_specifier: q.at.clone(),
                file_path: path.clone(),
            },
        )
        .await
    {
        Ok(o) => o,
        Err(e) => return failed(&session, e),
    };
    let bytes = &out.file_content.0;
    let text = (bytes.len() <= MAX_SHOWN && !bytes.contains(&0))
        .then(|| std::str::from_utf8(bytes).ok())
        .flatten();
    let lines: Vec<&str> = text.map(|t| t.lines().collect()).unwrap_or_default();
    // Highlighted lines are HTML that syntect escaped; marked safe for the template.
    let highlighted: Option<Vec<minijinja::Value>> = text
        .and_then(|t| super::rich::highlight(&path, t))
        .map(|l| {
            l.into_iter()
                .map(minijinja::Value::from_safe_string)
                .collect()
        });
    render(
        "blob.html",
        Page::of(&session, &format!("{path} · {name}"))
            .with("section", "repos")
            .with("repo", &name)
            .with("path", &path)
            .with("crumbs", crumbs(&path))
            .with("at", &q.at)
            .with("commit", &out.commit_id)
            .with("size", out.file_size)
            .with("text", text.is_some())
            .with("lines", lines)
            .with("highlighted", highlighted),
    )
}

#[derive(Serialize)]
struct LogRow {
    id: String,
    short: String,
    subject: String,
    author: String,
    date: String,
}

pub async fn commits(
    State(st): State<SharedState>,
    session: Session,
    Path(name): Path<String>,
    Query(q): Query<At>,
) -> Response {
    let _ctx = authorize(&st, &session, "codecommit:GetCommit");
    let page_no = q.page.unwrap_or(0);
    let (list, more) = match st
        .commit
        .log(&name, q.at.as_deref(), page_no * LOG_PAGE, LOG_PAGE)
        .await
    {
        Ok(x) => x,
        Err(e) => return failed(&session, e),
    };
    let rows: Vec<LogRow> = list
        .into_iter()
        .map(|c| {
            let id = c.commit_id.unwrap_or_default();
            let author = c.author.unwrap_or_default();
            LogRow {
                short: id.chars().take(8).collect(),
                id,
                subject: c
                    .message
                    .unwrap_or_default()
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_owned(),
                author: author.name.unwrap_or_default(),
                date: author.date.unwrap_or_default(),
            }
        })
        .collect();
    render(
        "commits.html",
        Page::of(&session, &format!("Commits · {name}"))
            .with("section", "repos")
            .with("repo", &name)
            .with("at", &q.at)
            .with("commits", rows)
            .with("page", page_no)
            .with("more", more),
    )
}

pub async fn commit(
    State(st): State<SharedState>,
    session: Session,
    Path((name, id)): Path<(String, String)>,
) -> Response {
    let ctx = authorize(&st, &session, "codecommit:GetCommit");
    let c = match st
        .commit
        .get_commit(
            &ctx,
            GetCommitInput {
                repository_name: name.clone(),
                commit_id: id.clone(),
            },
        )
        .await
    {
        Ok(o) => o.commit,
        Err(e) => return failed(&session, e),
    };
    let commit_id = c.commit_id.clone().unwrap_or(id);
    let parent = c.parents.clone().unwrap_or_default().into_iter().next();
    // A first commit is shown against nothing: every file added.
    let files = diff(&st, &ctx, &name, parent.as_deref(), &commit_id).await;
    let author = c.author.clone().unwrap_or_default();
    render(
        "commit.html",
        Page::of(
            &session,
            &format!("{} · {name}", &commit_id[..commit_id.len().min(8)]),
        )
        .with("section", "repos")
        .with("repo", &name)
        .with("id", &commit_id)
        .with("message", c.message.unwrap_or_default())
        .with("author", author.name.unwrap_or_default())
        .with("email", author.email.unwrap_or_default())
        .with("date", author.date.unwrap_or_default())
        .with("parents", c.parents.unwrap_or_default())
        .with("files", files),
    )
}

pub async fn branches(
    State(st): State<SharedState>,
    session: Session,
    Path(name): Path<String>,
) -> Response {
    let ctx = authorize(&st, &session, "codecommit:ListBranches");
    let meta = match st
        .commit
        .get_repository(
            &ctx,
            GetRepositoryInput {
                repository_name: name.clone(),
            },
        )
        .await
    {
        Ok(o) => o.repository_metadata.unwrap_or_default(),
        Err(e) => return failed(&session, e),
    };
    let mut names = Vec::new();
    let mut token = None;
    loop {
        let out = match st
            .commit
            .list_branches(
                &ctx,
                ListBranchesInput {
                    repository_name: name.clone(),
                    next_token: token,
                },
            )
            .await
        {
            Ok(o) => o,
            Err(e) => return failed(&session, e),
        };
        names.extend(out.branches.unwrap_or_default());
        token = out.next_token;
        if token.is_none() {
            break;
        }
    }
    names.sort();
    let mut rows: Vec<(String, String, bool)> = Vec::new();
    for b in names {
        let commit = st
            .commit
            .get_branch(
                &ctx,
                GetBranchInput {
                    repository_name: Some(name.clone()),
                    branch_name: Some(b.clone()),
                },
            )
            .await
            .ok()
            .and_then(|o| o.branch)
            .and_then(|i| i.commit_id)
            .unwrap_or_default();
        let default = meta.default_branch.as_deref() == Some(b.as_str());
        rows.push((b, commit, default));
    }
    render(
        "branches.html",
        Page::of(&session, &format!("Branches · {name}"))
            .with("section", "repos")
            .with("repo", &name)
            .with("branches", rows),
    )
}
