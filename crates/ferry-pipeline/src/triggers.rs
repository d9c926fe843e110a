//! Push triggers: a ref update on a Ferry repository (from the event bus, as it happens)
//! starts an execution of every pipeline whose source stage watches that repository and
//! branch with a CodeCommit action, once per push, with trigger type `CloudWatchEvent` (the
//! event-based start AWS uses). The source action takes the pushed commit.

use std::collections::BTreeMap;
use std::sync::Arc;

use ferry_model::codepipeline::ActionCategory;
use ferry_store::events::Event;
use tokio_util::sync::CancellationToken;

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
                new: Some(commit),
                ..
            }) => {
                if let Some(branch) = ref_name.strip_prefix("refs/heads/") {
                    on_push(&svc, &repository_name, branch, &commit).await;
                }
            }
            Ok(_) => {}
            Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                tracing::warn!(missed = n, "pipeline triggers missed ref updates");
            }
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
        }
    }
}

async fn on_push(svc: &Arc<PipelineService>, repo: &str, branch: &str, commit: &str) {
    let rows = match svc.store.pipelines().await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "pipeline triggers: listing pipelines");
            return;
        }
    };
    for row in rows {
        let Ok(stored) = serde_json::from_str::<Stored>(&row.document) else {
            continue;
        };
        let Some(first) = stored.pipeline.stages.first() else {
            continue;
        };
        let mut overrides = BTreeMap::new();
        for a in &first.actions {
            let cfg = a.configuration.clone().unwrap_or_default();
            let watches = a.action_type_id.category == ActionCategory::Source
                && a.action_type_id.provider == "CodeCommit"
                && cfg.get("RepositoryName").map(String::as_str) == Some(repo)
                && cfg.get("BranchName").map(String::as_str) == Some(branch);
            if watches {
                overrides.insert(a.name.clone(), ("COMMIT_ID".to_owned(), commit.to_owned()));
            }
        }
        if overrides.is_empty() {
            continue;
        }
        let detail = format!(
            "arn:aws:events:{}:{}:rule/ferry-codecommit-{repo}",
            svc.settings.region, svc.settings.account_id
        );
        match svc
            .start_execution(
                &row.name,
                "CloudWatchEvent",
                Some(detail),
                overrides,
                BTreeMap::new(),
            )
            .await
        {
            Ok(id) => {
                tracing::info!(pipeline = %row.name, execution = %id, repo, branch, "push started a pipeline execution")
            }
            Err(e) => {
                tracing::warn!(pipeline = %row.name, error = %e.message, "push could not start an execution")
            }
        }
    }
}
