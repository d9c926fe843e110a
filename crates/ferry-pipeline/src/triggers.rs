//! Push triggers: a ref update on a Ferry repository (from the event bus, as it happens)
//! starts an execution of every pipeline whose source stage watches that repository with a
//! CodeCommit action, once per push. Without a V2 trigger the action's `BranchName` decides,
//! and the trigger type is `CloudWatchEvent` (the event-based start AWS uses); with a V2
//! trigger naming the action (a Ferry extension: AWS offers them for connections only), its
//! push filters decide on branches, tags and the files the push changed (`filters.rs`), and
//! the trigger type is `WebhookV2`. The source action takes the pushed commit.

use std::collections::BTreeMap;
use std::sync::Arc;

use ferry_model::codepipeline::ActionCategory;
use ferry_store::events::Event;
use tokio_util::sync::CancellationToken;

use crate::filters::{Pushed, push_matches};
use crate::service::{PipelineService, Stored};

pub(crate) async fn listen(svc: Arc<PipelineService>, stop: CancellationToken) {
    let mut events = svc.store.events().subscribe();
    loop {
        let event = tokio::select! {
            e = events.recv() => e,
            _ = stop.cancelled() => return,
        };
        match event {
            Ok(Event::RefUpdated {
                repository_name,
                ref_name,
                old,
                new: Some(commit),
                ..
            }) => {
                let pushed = if let Some(b) = ref_name.strip_prefix("refs/heads/") {
                    Pushed::Branch(b)
                } else if let Some(t) = ref_name.strip_prefix("refs/tags/") {
                    Pushed::Tag(t)
                } else {
                    continue;
                };
                on_push(&svc, &repository_name, &pushed, old.as_deref(), &commit).await;
            }
            Ok(_) => {}
            Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                tracing::warn!(missed = n, "pipeline triggers missed ref updates");
            }
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
        }
    }
}

/// The files a push changed (every file of the commit for a new ref).
async fn changed_files(
    svc: &PipelineService,
    repo: &str,
    old: Option<&str>,
    new: &str,
) -> Vec<String> {
    let Some(row) = svc.commit.repository_for_git(repo).await else {
        return Vec::new();
    };
    let dir = svc.commit.git.path(&row.id);
    let mut cmd = tokio::process::Command::new("git");
    cmd.arg("--git-dir").arg(&dir);
    match old {
        Some(o) => cmd.args(["diff", "--name-only", o, new]),
        None => cmd.args([
            "diff-tree",
            "--no-commit-id",
            "--name-only",
            "-r",
            "--root",
            new,
        ]),
    };
    match cmd.output().await {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

async fn on_push(
    svc: &Arc<PipelineService>,
    repo: &str,
    pushed: &Pushed<'_>,
    old: Option<&str>,
    commit: &str,
) {
    let rows = match svc.store.pipelines().await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "pipeline triggers: listing pipelines");
            return;
        }
    };
    let mut files: Option<Vec<String>> = None;
    for row in rows {
        let Ok(stored) = serde_json::from_str::<Stored>(&row.document) else {
            continue;
        };
        let Some(first) = stored.pipeline.stages.first() else {
            continue;
        };
        let triggers = stored.pipeline.triggers.clone().unwrap_or_default();
        let mut overrides = BTreeMap::new();
        let mut by_trigger = false;
        for a in &first.actions {
            let cfg = a.configuration.clone().unwrap_or_default();
            let source = a.action_type_id.category == ActionCategory::Source
                && a.action_type_id.provider == "CodeCommit"
                && cfg.get("RepositoryName").map(String::as_str) == Some(repo);
            if !source {
                continue;
            }
            let trigger = triggers
                .iter()
                .find(|t| t.git_configuration.source_action_name == a.name);
            let starts = match trigger {
                Some(t) => {
                    if files.is_none() {
                        files = Some(changed_files(svc, repo, old, commit).await);
                    }
                    by_trigger = true;
                    push_matches(
                        &t.git_configuration,
                        pushed,
                        files.as_deref().unwrap_or_default(),
                    )
                }
                None => *pushed == Pushed::Branch(cfg.get("BranchName").map_or("", String::as_str)),
            };
            if starts {
                overrides.insert(a.name.clone(), ("COMMIT_ID".to_owned(), commit.to_owned()));
            }
        }
        if overrides.is_empty() {
            continue;
        }
        let (kind, detail) = if by_trigger {
            ("WebhookV2", format!("ferry:codecommit:{repo}"))
        } else {
            (
                "CloudWatchEvent",
                format!(
                    "arn:aws:events:{}:{}:rule/ferry-codecommit-{repo}",
                    svc.settings.region, svc.settings.account_id
                ),
            )
        };
        match svc
            .start_execution(&row.name, kind, Some(detail), overrides, BTreeMap::new())
            .await
        {
            Ok(id) => {
                tracing::info!(pipeline = %row.name, execution = %id, repo, "push started a pipeline execution")
            }
            Err(e) => {
                tracing::warn!(pipeline = %row.name, error = %e.message, "push could not start an execution")
            }
        }
    }
}
