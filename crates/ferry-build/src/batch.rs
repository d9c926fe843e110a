//! Batch builds: a buildspec's `batch` section (`build-list`, `build-graph` with `depend-on`,
//! `build-matrix` with its static and dynamic parts) becomes build groups, each run as an
//! ordinary build of the project with `CODEBUILD_BATCH_BUILD_IDENTIFIER` set; a coordinator
//! starts groups as their dependencies succeed, honours `fast-fail` and `ignore-failure`, and
//! keeps the BuildBatch document's phases and groups current.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use ferry_model::codebuild::{
    Build, BuildBatch, BuildBatchPhase, BuildBatchPhaseType, BuildGroup, BuildSummary, ComputeType,
    EnvironmentVariable, EnvironmentVariableType, PhaseContext, StartBuildBatchInput,
    StartBuildInput, StatusType,
};
use ferry_types::Timestamp;
use ferry_wire::RequestContext;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::api::BuildApi;
use crate::service::now;

/// The most builds one batch may start.
pub const MAX_BUILDS: usize = 100;

/// One build of a batch, as the batchspec describes it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Task {
    pub identifier: String,
    pub buildspec: Option<String>,
    pub variables: Vec<(String, String)>,
    pub image: Option<String>,
    pub compute_type: Option<String>,
    pub ignore_failure: bool,
    pub depend_on: Vec<String>,
}

/// The batch section as tasks, and whether one failure stops the rest.
pub fn plan(batch: &Value) -> Result<(Vec<Task>, bool), String> {
    let fast_fail = match batch.get("fast-fail") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => matches!(s.as_str(), "true" | "yes" | "on"),
        _ => false,
    };
    let flag = |v: Option<&Value>| match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => matches!(s.as_str(), "true" | "yes" | "on"),
        _ => false,
    };
    let env_of = |task: &mut Task, env: Option<&Value>| {
        let Some(env) = env else { return };
        if let Some(Value::Object(vars)) = env.get("variables") {
            for (k, v) in vars {
                let text = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                task.variables.push((k.clone(), text));
            }
        }
        task.image = env.get("image").and_then(Value::as_str).map(str::to_owned);
        task.compute_type = env
            .get("compute-type")
            .and_then(Value::as_str)
            .map(str::to_owned);
    };
    let mut tasks = Vec::new();
    let list = batch.get("build-graph").or_else(|| batch.get("build-list"));
    if let Some(list) = list {
        let items = list
            .as_array()
            .ok_or("build-list/build-graph must be a list")?;
        for item in items {
            let identifier = item
                .get("identifier")
                .and_then(Value::as_str)
                .ok_or("every batch build needs an identifier")?
                .to_owned();
            if identifier.is_empty()
                || !identifier
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                return Err(format!("Invalid batch build identifier: {identifier}"));
            }
            let mut t = Task {
                identifier,
                buildspec: item
                    .get("buildspec")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                ignore_failure: flag(item.get("ignore-failure")),
                ..Task::default()
            };
            if let Some(Value::Array(deps)) = item.get("depend-on") {
                t.depend_on = deps
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect();
            }
            env_of(&mut t, item.get("env"));
            tasks.push(t);
        }
    } else if let Some(matrix) = batch.get("build-matrix") {
        let stat = matrix.get("static");
        let dynamic = matrix
            .get("dynamic")
            .ok_or("build-matrix needs a dynamic section")?;
        let buildspecs: Vec<Option<String>> = match dynamic.get("buildspec") {
            Some(Value::Array(a)) => a.iter().map(|v| v.as_str().map(str::to_owned)).collect(),
            Some(Value::String(s)) => vec![Some(s.clone())],
            _ => vec![None],
        };
        let denv = dynamic.get("env");
        let axis = |name: &str| -> Vec<Option<String>> {
            match denv.and_then(|e| e.get(name)) {
                Some(Value::Array(a)) => a.iter().map(|v| v.as_str().map(str::to_owned)).collect(),
                Some(Value::String(s)) => vec![Some(s.clone())],
                _ => vec![None],
            }
        };
        let images = axis("image");
        let computes = axis("compute-type");
        let mut var_sets: Vec<Vec<(String, String)>> = vec![Vec::new()];
        if let Some(Value::Object(vars)) = denv.and_then(|e| e.get("variables")) {
            for (k, v) in vars {
                let values: Vec<String> = match v {
                    Value::Array(a) => a
                        .iter()
                        .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_owned))
                        .collect(),
                    Value::String(s) => vec![s.clone()],
                    other => vec![other.to_string()],
                };
                var_sets = var_sets
                    .into_iter()
                    .flat_map(|set| {
                        values.iter().map(move |val| {
                            let mut s = set.clone();
                            s.push((k.clone(), val.clone()));
                            s
                        })
                    })
                    .collect();
            }
        }
        let mut n = 0;
        for bs in &buildspecs {
            for img in &images {
                for ct in &computes {
                    for vars in &var_sets {
                        n += 1;
                        let mut t = Task {
                            identifier: format!("build{n}"),
                            buildspec: bs.clone(),
                            ignore_failure: flag(stat.and_then(|s| s.get("ignore-failure"))),
                            ..Task::default()
                        };
                        env_of(&mut t, stat.and_then(|s| s.get("env")));
                        t.variables.extend(vars.iter().cloned());
                        if img.is_some() {
                            t.image = img.clone();
                        }
                        if ct.is_some() {
                            t.compute_type = ct.clone();
                        }
                        tasks.push(t);
                    }
                }
            }
        }
    } else {
        return Err("the batch section needs build-list, build-graph or build-matrix".into());
    }
    if tasks.is_empty() {
        return Err("the batch has no builds".into());
    }
    if tasks.len() > MAX_BUILDS {
        return Err(format!(
            "the batch has {} builds; the limit is {MAX_BUILDS}",
            tasks.len()
        ));
    }
    let ids: Vec<&str> = tasks.iter().map(|t| t.identifier.as_str()).collect();
    for (i, t) in tasks.iter().enumerate() {
        if ids[..i].contains(&t.identifier.as_str()) {
            return Err(format!(
                "Duplicate batch build identifier: {}",
                t.identifier
            ));
        }
        for d in &t.depend_on {
            if !ids.contains(&d.as_str()) {
                return Err(format!(
                    "Build {} depends on unknown build {d}",
                    t.identifier
                ));
            }
        }
    }
    // A dependency cycle would never start: refuse it.
    let mut done: Vec<&str> = Vec::new();
    while done.len() < tasks.len() {
        let before = done.len();
        for t in &tasks {
            if !done.contains(&t.identifier.as_str())
                && t.depend_on.iter().all(|d| done.contains(&d.as_str()))
            {
                done.push(&t.identifier);
            }
        }
        if done.len() == before {
            return Err("The build graph has a dependency cycle".into());
        }
    }
    Ok((tasks, fast_fail))
}

fn phase(b: &mut BuildBatch, p: BuildBatchPhaseType, name: &str) {
    let at = now();
    let phases = b.phases.get_or_insert_with(Vec::new);
    if let Some(last) = phases.last_mut()
        && last.phase_status.is_none()
    {
        last.phase_status = Some(StatusType::Succeeded);
        last.end_time = Some(at);
        let start = last.start_time.map_or(at.millis(), |s| s.millis());
        last.duration_in_seconds = Some((at.millis() - start) / 1000);
    }
    phases.push(BuildBatchPhase {
        phase_type: Some(p),
        start_time: Some(at),
        ..BuildBatchPhase::default()
    });
    b.current_phase = Some(name.to_owned());
}

fn finish(b: &mut BuildBatch, status: StatusType, context: Option<String>) {
    let at = now();
    if let Some(last) = b.phases.get_or_insert_with(Vec::new).last_mut()
        && last.phase_status.is_none()
    {
        last.phase_status = Some(if status == StatusType::Succeeded {
            StatusType::Succeeded
        } else {
            status
        });
        last.end_time = Some(at);
        let start = last.start_time.map_or(at.millis(), |s| s.millis());
        last.duration_in_seconds = Some((at.millis() - start) / 1000);
        if let Some(msg) = &context {
            last.contexts = Some(vec![PhaseContext {
                status_code: Some("CLIENT_ERROR".into()),
                message: Some(msg.clone()),
            }]);
        }
    }
    let (p, name) = match status {
        StatusType::Succeeded => (BuildBatchPhaseType::Succeeded, "SUCCEEDED"),
        StatusType::Stopped => (BuildBatchPhaseType::Stopped, "STOPPED"),
        _ => (BuildBatchPhaseType::Failed, "FAILED"),
    };
    b.phases.get_or_insert_with(Vec::new).push(BuildBatchPhase {
        phase_type: Some(p),
        start_time: Some(at),
        ..BuildBatchPhase::default()
    });
    b.current_phase = Some(name.to_owned());
    b.build_batch_status = Some(status);
    b.end_time = Some(at);
    b.complete = Some(true);
}

async fn save(api: &BuildApi, b: &BuildBatch, state: &str) {
    let id = b.id.clone().unwrap_or_default();
    if let Ok(doc) = serde_json::to_string(b)
        && let Err(e) = api.0.store.save_batch(&id, state, &doc).await
    {
        tracing::error!(batch = %id, error = %e, "could not save batch");
    }
    if state == "DONE" {
        let _ = api.0.finished.send(id);
    }
}

/// Runs a batch to its end.
pub async fn run(
    api: Arc<BuildApi>,
    ctx: RequestContext,
    mut b: BuildBatch,
    input: StartBuildBatchInput,
    stop: CancellationToken,
) {
    phase(
        &mut b,
        BuildBatchPhaseType::DownloadBatchspec,
        "DOWNLOAD_BATCHSPEC",
    );
    save(&api, &b, "RUNNING").await;
    let text = match crate::runner::batchspec_text(&api.0, &b, &input).await {
        Ok(t) => t,
        Err(e) => {
            finish(&mut b, StatusType::Failed, Some(e));
            return save(&api, &b, "DONE").await;
        }
    };
    let planned = crate::buildspec::parse(&text)
        .map_err(|e| e.to_string())
        .and_then(|spec| {
            spec.batch
                .ok_or_else(|| "The buildspec has no batch section".to_owned())
        })
        .and_then(|batch| plan(&batch));
    let (tasks, fast_fail) = match planned {
        Ok(p) => p,
        Err(e) => {
            finish(&mut b, StatusType::Failed, Some(e));
            return save(&api, &b, "DONE").await;
        }
    };
    phase(&mut b, BuildBatchPhaseType::InProgress, "IN_PROGRESS");
    b.build_groups = Some(
        tasks
            .iter()
            .map(|t| BuildGroup {
                identifier: Some(t.identifier.clone()),
                depends_on: Some(t.depend_on.clone()),
                ignore_failure: Some(t.ignore_failure),
                ..BuildGroup::default()
            })
            .collect(),
    );
    save(&api, &b, "RUNNING").await;
    let mut finished_rx = api.0.finished.subscribe();
    // identifier → (build id, status when known)
    let mut started: BTreeMap<String, (String, Option<StatusType>)> = BTreeMap::new();
    let mut failed = false;
    let mut stopped = false;
    loop {
        if stop.is_cancelled() && !stopped {
            stopped = true;
            for (id, st) in started.values() {
                if st.is_none() {
                    let _ = api.0.stop_build(id).await;
                }
            }
        }
        // Start every task whose dependencies have succeeded.
        if !(stopped || (failed && fast_fail)) {
            for t in &tasks {
                if started.contains_key(&t.identifier) {
                    continue;
                }
                let ready = t.depend_on.iter().all(|d| {
                    started
                        .get(d)
                        .is_some_and(|(_, s)| *s == Some(StatusType::Succeeded))
                });
                if !ready {
                    continue;
                }
                match start_task(&api, &ctx, &b, &input, t).await {
                    Ok(id) => {
                        started.insert(t.identifier.clone(), (id, None));
                    }
                    Err(e) => {
                        failed = true;
                        tracing::warn!(batch = ?b.id, task = %t.identifier, error = %e, "batch build did not start");
                        started.insert(
                            t.identifier.clone(),
                            (String::new(), Some(StatusType::Failed)),
                        );
                    }
                }
            }
        }
        // Refresh the groups from the builds.
        for g in b.build_groups.get_or_insert_with(Vec::new) {
            let ident = g.identifier.clone().unwrap_or_default();
            if let Some((id, status)) = started.get_mut(&ident)
                && !id.is_empty()
                && let Ok(Some(row)) = api.0.store.build(id).await
                && let Ok(build) = serde_json::from_str::<Build>(&row.document)
            {
                if build.build_complete == Some(true) {
                    *status = build.build_status;
                    let task_ignores = tasks
                        .iter()
                        .any(|t| t.identifier == ident && t.ignore_failure);
                    if build.build_status != Some(StatusType::Succeeded) && !task_ignores {
                        failed = true;
                    }
                }
                g.current_build_summary = Some(BuildSummary {
                    arn: build.arn.clone(),
                    requested_on: build.start_time,
                    build_status: build.build_status,
                    ..BuildSummary::default()
                });
            }
        }
        if failed && fast_fail && !stopped {
            for (id, st) in started.values() {
                if st.is_none() && !id.is_empty() {
                    let _ = api.0.stop_build(id).await;
                }
            }
        }
        save(&api, &b, "RUNNING").await;
        let running = started.values().any(|(_, s)| s.is_none());
        if !running {
            let startable = !(stopped || (failed && fast_fail))
                && tasks.iter().any(|t| {
                    !started.contains_key(&t.identifier)
                        && t.depend_on.iter().all(|d| {
                            started
                                .get(d)
                                .is_some_and(|(_, s)| *s == Some(StatusType::Succeeded))
                        })
                });
            if !startable {
                break;
            }
            continue;
        }
        tokio::select! {
            _ = finished_rx.recv() => {}
            _ = stop.cancelled(), if !stopped => {}
            _ = tokio::time::sleep(Duration::from_secs(2)) => {}
        }
    }
    let never_ran = tasks.iter().any(|t| !started.contains_key(&t.identifier));
    let status = if stopped {
        StatusType::Stopped
    } else if failed || never_ran {
        StatusType::Failed
    } else {
        StatusType::Succeeded
    };
    finish(&mut b, status, None);
    save(&api, &b, "DONE").await;
}

async fn start_task(
    api: &BuildApi,
    ctx: &RequestContext,
    b: &BuildBatch,
    input: &StartBuildBatchInput,
    t: &Task,
) -> Result<String, String> {
    let mut vars: Vec<EnvironmentVariable> = input
        .environment_variables_override
        .clone()
        .unwrap_or_default();
    for (k, v) in t.variables.iter().chain(std::iter::once(&(
        "CODEBUILD_BATCH_BUILD_IDENTIFIER".to_owned(),
        t.identifier.clone(),
    ))) {
        vars.retain(|x| &x.name != k);
        vars.push(EnvironmentVariable {
            name: k.clone(),
            value: v.clone(),
            r#type: Some(EnvironmentVariableType::Plaintext),
        });
    }
    let compute = t
        .compute_type
        .as_deref()
        .and_then(|c| serde_json::from_value::<ComputeType>(Value::String(c.to_owned())).ok());
    // Each build of the batch keeps its S3 artifacts apart, under its identifier.
    let artifacts = match input.artifacts_override.clone() {
        Some(a) => Some(a),
        None => api
            .project(b.project_name.as_deref().unwrap_or_default())
            .await
            .ok()
            .flatten()
            .and_then(|p| p.artifacts),
    }
    .map(|mut a| {
        if a.r#type == ferry_model::codebuild::ArtifactsType::S3 {
            a.path = Some(match a.path.as_deref().map(|p| p.trim_end_matches('/')) {
                Some(p) if !p.is_empty() => format!("{p}/{}", t.identifier),
                _ => t.identifier.clone(),
            });
        }
        a
    });
    let req = StartBuildInput {
        project_name: b.project_name.clone().unwrap_or_default(),
        source_version: b.source_version.clone(),
        source_type_override: input.source_type_override,
        source_location_override: input.source_location_override.clone(),
        secondary_sources_override: input.secondary_sources_override.clone(),
        secondary_sources_version_override: input.secondary_sources_version_override.clone(),
        git_clone_depth_override: input.git_clone_depth_override,
        buildspec_override: t
            .buildspec
            .clone()
            .or_else(|| input.buildspec_override.clone()),
        environment_variables_override: Some(vars),
        image_override: t.image.clone().or_else(|| input.image_override.clone()),
        compute_type_override: compute.or(input.compute_type_override),
        artifacts_override: artifacts,
        secondary_artifacts_override: input.secondary_artifacts_override.clone(),
        cache_override: input.cache_override.clone(),
        timeout_in_minutes_override: input.build_timeout_in_minutes_override,
        service_role_override: input.service_role_override.clone(),
        ..StartBuildInput::default()
    };
    api.start_build_with(ctx, req, b.arn.clone())
        .await
        .map_err(|e| e.message)?
        .build
        .and_then(|b| b.id)
        .ok_or_else(|| "no build id".to_owned())
}

/// Marks batches left running by a stopped node as failed.
pub async fn recover(api: &BuildApi) {
    let Ok(rows) = api.0.store.batches_in_state("RUNNING").await else {
        return;
    };
    for row in rows {
        if let Ok(mut b) = serde_json::from_str::<BuildBatch>(&row.document) {
            finish(
                &mut b,
                StatusType::Failed,
                Some("Batch was interrupted: the Ferry node running it stopped".into()),
            );
            save(api, &b, "DONE").await;
        }
    }
}

/// The time a batch started, for sorting.
pub fn started(b: &BuildBatch) -> Timestamp {
    b.start_time.unwrap_or(Timestamp::from_millis(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(s: &str) -> Value {
        crate::buildspec::parse(&format!(
            "version: 0.2\nbatch:\n{s}\nphases:\n  build:\n    commands:\n      - echo\n"
        ))
        .unwrap()
        .batch
        .unwrap()
    }

    #[test]
    fn lists_graphs_and_matrices() {
        let (t, ff) = plan(&yaml("  fast-fail: true\n  build-graph:\n    - identifier: lint\n    - identifier: test\n      depend-on:\n        - lint\n      env:\n        variables:\n          SUITE: unit\n    - identifier: pkg\n      depend-on: [test]\n      ignore-failure: yes\n")).unwrap();
        assert!(ff);
        assert_eq!(
            t.iter().map(|t| t.identifier.as_str()).collect::<Vec<_>>(),
            ["lint", "test", "pkg"]
        );
        assert_eq!(t[1].depend_on, vec!["lint".to_owned()]);
        assert_eq!(
            t[1].variables,
            vec![("SUITE".to_owned(), "unit".to_owned())]
        );
        assert!(t[2].ignore_failure);
        let (t, _) = plan(&yaml("  build-matrix:\n    static:\n      ignore-failure: false\n    dynamic:\n      env:\n        variables:\n          PY: ['3.10', '3.11']\n          OS: [a, b, c]\n")).unwrap();
        assert_eq!(t.len(), 6);
        assert!(
            t.iter()
                .any(|x| x.variables.contains(&("PY".into(), "3.10".into()))
                    && x.variables.contains(&("OS".into(), "c".into())))
        );
        assert!(plan(&yaml("  build-graph:\n    - identifier: a\n      depend-on: [b]\n    - identifier: b\n      depend-on: [a]\n")).unwrap_err().contains("cycle"));
        assert!(
            plan(&yaml(
                "  build-list:\n    - identifier: a\n    - identifier: a\n"
            ))
            .unwrap_err()
            .contains("Duplicate")
        );
        assert!(
            plan(&yaml(
                "  build-graph:\n    - identifier: a\n      depend-on: [zz]\n"
            ))
            .unwrap_err()
            .contains("unknown")
        );
    }
}
