//! The CodeBuild API over the build service: projects (create, update, get, list, delete)
//! and builds (start with overrides, get, list, stop, retry, delete). Errors carry CodeBuild's
//! exception names; every operation not implemented here answers `NotImplementedException`.

use std::sync::Arc;

use ferry_model::codebuild::*;
use ferry_store::StoreError;
use ferry_store::builds::{BuildRow, NewBuild, ProjectRow};
use ferry_types::Timestamp;
use ferry_wire::{AwsError, RequestContext};

use crate::phases;
use crate::service::{BuildExtras, BuildService, now};

/// The API face of the shared build service.
pub struct BuildApi(pub Arc<BuildService>);

/// CodeBuild's `InvalidInputException`.
pub(crate) fn invalid(message: impl Into<String>) -> AwsError {
    AwsError::new("InvalidInputException", message)
}

/// CodeBuild's `ResourceNotFoundException`.
pub(crate) fn not_found(message: impl Into<String>) -> AwsError {
    AwsError::new("ResourceNotFoundException", message)
}

/// A store failure as an internal error (the detail is logged, not answered).
pub(crate) fn internal(e: StoreError) -> AwsError {
    AwsError::internal(e)
}

impl BuildApi {
    fn arn(&self, resource: &str) -> String {
        let s = &self.0.settings;
        format!("arn:aws:codebuild:{}:{}:{resource}", s.region, s.account_id)
    }

    /// A project by name or ARN, or CodeBuild's not-found error.
    async fn require_project(&self, name_or_arn: &str) -> Result<Project, AwsError> {
        self.project(name_or_arn).await?.ok_or_else(|| {
            not_found(format!(
                "Project cannot be found: {}",
                self.arn(&format!("project/{}", id_of(name_or_arn, ":project/")))
            ))
        })
    }

    /// A project by name or ARN.
    pub(crate) async fn project(&self, name_or_arn: &str) -> Result<Option<Project>, AwsError> {
        let name = name_or_arn
            .rsplit_once(":project/")
            .map_or(name_or_arn, |(_, n)| n);
        Ok(self
            .0
            .store
            .project(name)
            .await
            .map_err(internal)?
            .and_then(|row| project_doc(&row)))
    }
}

fn project_doc(row: &ProjectRow) -> Option<Project> {
    let mut p: Project = serde_json::from_str(&row.definition).ok()?;
    p.created = Some(Timestamp::from_millis(row.created_ms));
    p.last_modified = Some(Timestamp::from_millis(row.modified_ms));
    Some(p)
}

fn check_project_name(name: &str) -> Result<(), AwsError> {
    let ok = (2..=150).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(invalid(format!(
            "Invalid project name: {name}. It must match [A-Za-z0-9][A-Za-z0-9\\-_]{{1,149}}"
        )))
    }
}

fn check_source(s: &ProjectSource) -> Result<(), AwsError> {
    let no_buildspec = s.buildspec.as_deref().is_none_or(|b| b.trim().is_empty());
    let no_location = s.location.as_deref().is_none_or(str::is_empty);
    match s.r#type {
        SourceType::NoSource if no_buildspec => Err(invalid(
            "Source buildspec cannot be empty if source type is NO_SOURCE",
        )),
        SourceType::Codecommit | SourceType::S3 if no_location => {
            Err(invalid("Source location cannot be empty"))
        }
        _ => Ok(()),
    }
}

fn check_artifacts(a: &ProjectArtifacts) -> Result<(), AwsError> {
    if a.r#type == ArtifactsType::S3 && a.location.as_deref().is_none_or(str::is_empty) {
        return Err(invalid(
            "Artifacts location cannot be empty if artifacts type is S3",
        ));
    }
    Ok(())
}

/// The id or name at the end of an ARN (`…<marker><id>`), or the text itself.
fn id_of(id_or_arn: &str, marker: &str) -> String {
    id_or_arn
        .rsplit_once(marker)
        .map_or(id_or_arn, |(_, id)| id)
        .to_owned()
}

fn page<T: Clone>(
    items: &[T],
    token: Option<&str>,
    key: impl Fn(&T) -> String,
    size: usize,
) -> (Vec<T>, Option<String>) {
    let start = match token.and_then(ferry_types::page::decode) {
        Some(after) => items
            .iter()
            .position(|i| key(i) == after)
            .map_or(items.len(), |p| p + 1),
        None => 0,
    };
    let end = (start + size).min(items.len());
    let next = (end < items.len()).then(|| ferry_types::page::encode(&key(&items[end - 1])));
    (items[start..end].to_vec(), next)
}

impl BuildApi {
    /// StartBuild, optionally as a build of a batch.
    pub async fn start_build_with(
        &self,
        ctx: &RequestContext,
        i: StartBuildInput,
        batch_arn: Option<String>,
    ) -> Result<StartBuildOutput, AwsError> {
        let p = self.require_project(&i.project_name).await?;
        let mut source = p.source.clone().unwrap_or_default();
        if let Some(t) = i.source_type_override {
            source.r#type = t;
        }
        if let Some(l) = i.source_location_override {
            source.location = Some(l);
        }
        if let Some(b) = i.buildspec_override {
            source.buildspec = Some(b);
        }
        if let Some(d) = i.git_clone_depth_override {
            source.git_clone_depth = Some(d);
        }
        check_source(&source)?;
        if source.r#type == SourceType::Codepipeline
            && source.location.as_deref().is_none_or(str::is_empty)
        {
            return Err(invalid(
                "A project whose source is CODEPIPELINE builds only as an action of a pipeline",
            ));
        }
        let mut environment = p.environment.clone().unwrap_or_default();
        if let Some(img) = i.image_override {
            environment.image = img;
        }
        if let Some(t) = i.environment_type_override {
            environment.r#type = t;
        }
        if let Some(c) = i.compute_type_override {
            environment.compute_type = c;
        }
        if let Some(pm) = i.privileged_mode_override {
            environment.privileged_mode = Some(pm);
        }
        if let Some(over) = i.environment_variables_override {
            let vars = environment
                .environment_variables
                .get_or_insert_with(Vec::new);
            for v in over {
                match vars.iter_mut().find(|x| x.name == v.name) {
                    Some(slot) => *slot = v,
                    None => vars.push(v),
                }
            }
        }
        let artifacts = i.artifacts_override.or(p.artifacts.clone());
        if let Some(a) = &artifacts {
            check_artifacts(a)?;
        }
        let extras = BuildExtras {
            artifacts: artifacts.clone(),
            secondary_artifacts: i
                .secondary_artifacts_override
                .or(p.secondary_artifacts.clone()),
            cache: i.cache_override.or(p.cache.clone()),
        };
        let logs_config = i.logs_config_override.or(p.logs_config.clone());
        let uuid = uuid::Uuid::new_v4().to_string();
        let project_name = p.name.clone().unwrap_or_default();
        let id = format!("{project_name}:{uuid}");
        let arn = self.arn(&format!("build/{id}"));
        let cw = logs_config
            .as_ref()
            .and_then(|l| l.cloud_watch_logs.clone());
        let logs_enabled = cw
            .as_ref()
            .is_none_or(|c| c.status == LogsConfigStatusType::Enabled);
        let group = cw
            .as_ref()
            .and_then(|c| c.group_name.clone())
            .unwrap_or_else(|| format!("/aws/codebuild/{project_name}"));
        let stream = match cw.as_ref().and_then(|c| c.stream_name.clone()) {
            Some(prefix) => format!("{prefix}/{uuid}"),
            None => uuid.clone(),
        };
        let s = &self.0.settings;
        let s3_logs = logs_config.as_ref().and_then(|l| l.s3_logs.clone());
        // S3 logs go to `<location>/<build uuid>.gz`.
        let s3_logs_target = s3_logs
            .as_ref()
            .filter(|l| l.status == LogsConfigStatusType::Enabled)
            .and_then(|l| l.location.clone())
            .map(|loc| format!("{}/{uuid}.gz", loc.trim_end_matches('/')));
        let initiator = if ctx.user_name == "root" {
            "root".to_owned()
        } else {
            ctx.user_name.clone()
        };
        let at = now();
        let mut b = Build {
            id: Some(id.clone()),
            arn: Some(arn),
            start_time: Some(at),
            build_status: Some(StatusType::InProgress),
            source_version: i.source_version.or(p.source_version.clone()),
            project_name: Some(project_name.clone()),
            source: Some(source),
            secondary_sources: i.secondary_sources_override.or(p.secondary_sources.clone()),
            secondary_source_versions: i
                .secondary_sources_version_override
                .or(p.secondary_source_versions.clone()),
            artifacts: artifacts.as_ref().map(|a| BuildArtifacts {
                location: (a.r#type == ArtifactsType::S3)
                    .then(|| format!("arn:aws:s3:::{}", a.location.clone().unwrap_or_default())),
                ..BuildArtifacts::default()
            }),
            cache: extras.cache.clone(),
            environment: Some(environment),
            service_role: i.service_role_override.or(p.service_role.clone()),
            logs: Some(LogsLocation {
                group_name: logs_enabled.then(|| group.clone()),
                stream_name: logs_enabled.then(|| stream.clone()),
                deep_link: Some(format!(
                    "{}/console/codebuild/builds/{id}/logs",
                    s.public_url
                )),
                cloud_watch_logs_arn: logs_enabled.then(|| {
                    format!(
                        "arn:aws:logs:{}:{}:log-group:{group}:log-stream:{stream}",
                        s.region, s.account_id
                    )
                }),
                cloud_watch_logs: cw,
                s3_logs: s3_logs.clone(),
                s3_logs_arn: s3_logs_target.as_ref().map(|l| format!("arn:aws:s3:::{l}")),
                s3_deep_link: s3_logs_target
                    .as_ref()
                    .map(|l| format!("{}/{l}", s.public_url)),
            }),
            timeout_in_minutes: Some(
                i.timeout_in_minutes_override
                    .or(p.timeout_in_minutes)
                    .unwrap_or(60),
            ),
            queued_timeout_in_minutes: Some(
                i.queued_timeout_in_minutes_override
                    .or(p.queued_timeout_in_minutes)
                    .unwrap_or(480),
            ),
            build_complete: Some(false),
            initiator: Some(initiator),
            encryption_key: i.encryption_key_override.or(p.encryption_key.clone()),
            build_batch_arn: batch_arn,
            ..Build::default()
        };
        phases::instant(&mut b, BuildPhaseType::Submitted, StatusType::Succeeded, at);
        phases::enter(&mut b, BuildPhaseType::Queued, at);
        let settings = serde_json::to_string(&extras).map_err(AwsError::internal)?;
        let start = self.0.start_at_once(&b, p.concurrent_build_limit);
        let (row, session) = self
            .0
            .record(NewBuild {
                project: project_name.clone(),
                make: {
                    let project_name = project_name.clone();
                    Box::new(move |n| {
                        b.build_number = Some(n);
                        BuildRow {
                            build_id: id,
                            project_name,
                            build_number: n,
                            queue_state: "QUEUED".into(),
                            document: serde_json::to_string(&b).unwrap_or_default(),
                            settings,
                            submitted_ms: at.millis(),
                            stop_requested: false,
                        }
                    })
                },
                start,
            })
            .await
            .map_err(|e| match e {
                StoreError::NotFound => {
                    not_found(format!("Project cannot be found: {project_name}"))
                }
                e => internal(e),
            })?;
        let build: Option<Build> = serde_json::from_str(&row.document).ok();
        match (session, build.clone()) {
            // Claimed as it was recorded: it runs now, without waiting for the scheduler.
            (Some(session), Some(b)) => self.0.launch_started(b, extras, session),
            _ => self.0.poke(),
        }
        Ok(StartBuildOutput { build })
    }
}

impl BuildApi {
    async fn batch_ids(
        &self,
        project: Option<&str>,
        filter: Option<BuildBatchFilter>,
        order: Option<SortOrderType>,
        token: Option<String>,
        max: Option<i32>,
    ) -> Result<(Vec<String>, Option<String>), AwsError> {
        let mut rows = self.0.store.batches(project).await.map_err(internal)?;
        if let Some(want) = filter.and_then(|f| f.status) {
            rows.retain(|r| {
                serde_json::from_str::<BuildBatch>(&r.document)
                    .is_ok_and(|b| b.build_batch_status == Some(want))
            });
        }
        if order != Some(SortOrderType::Ascending) {
            rows.reverse();
        }
        let ids: Vec<String> = rows.into_iter().map(|r| r.batch_id).collect();
        let size = max.unwrap_or(100).clamp(1, 100) as usize;
        let (page, next) = page(&ids, token.as_deref(), |i| i.clone(), size);
        Ok((page, next))
    }
}

impl CodeBuild for BuildApi {
    async fn create_project(
        &self,
        _ctx: &RequestContext,
        i: CreateProjectInput,
    ) -> Result<CreateProjectOutput, AwsError> {
        check_project_name(&i.name)?;
        check_source(&i.source)?;
        check_artifacts(&i.artifacts)?;
        let s = &self.0.settings;
        let arn = self.arn(&format!("project/{}", i.name));
        let project = Project {
            name: Some(i.name.clone()),
            arn: Some(arn.clone()),
            description: i.description,
            source: Some(i.source),
            secondary_sources: Some(i.secondary_sources.unwrap_or_default()),
            source_version: i.source_version,
            secondary_source_versions: Some(i.secondary_source_versions.unwrap_or_default()),
            artifacts: Some(i.artifacts),
            secondary_artifacts: Some(i.secondary_artifacts.unwrap_or_default()),
            cache: Some(i.cache.unwrap_or(ProjectCache {
                r#type: CacheType::NoCache,
                ..ProjectCache::default()
            })),
            environment: Some(i.environment),
            service_role: Some(i.service_role),
            timeout_in_minutes: Some(i.timeout_in_minutes.unwrap_or(60)),
            queued_timeout_in_minutes: Some(i.queued_timeout_in_minutes.unwrap_or(480)),
            encryption_key: Some(i.encryption_key.unwrap_or_else(|| {
                format!("arn:aws:kms:{}:{}:alias/aws/s3", s.region, s.account_id)
            })),
            tags: Some(i.tags.unwrap_or_default()),
            badge: Some(ProjectBadge {
                badge_enabled: Some(i.badge_enabled.unwrap_or(false)),
                ..ProjectBadge::default()
            }),
            logs_config: Some(i.logs_config.unwrap_or(LogsConfig {
                cloud_watch_logs: Some(CloudWatchLogsConfig {
                    status: LogsConfigStatusType::Enabled,
                    ..CloudWatchLogsConfig::default()
                }),
                s3_logs: Some(S3LogsConfig {
                    status: LogsConfigStatusType::Disabled,
                    ..S3LogsConfig::default()
                }),
            })),
            concurrent_build_limit: i.concurrent_build_limit,
            project_visibility: Some(ProjectVisibilityType::Private),
            ..Project::default()
        };
        let ms = now().millis();
        let row = ProjectRow {
            name: i.name.clone(),
            arn: arn.clone(),
            definition: serde_json::to_string(&project).map_err(AwsError::internal)?,
            build_counter: 0,
            created_ms: ms,
            modified_ms: ms,
        };
        match self.0.store.create_project(&row).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => {
                return Err(AwsError::new(
                    "ResourceAlreadyExistsException",
                    format!("Project already exists: {arn}"),
                ));
            }
            Err(e) => return Err(internal(e)),
        }
        Ok(CreateProjectOutput {
            project: project_doc(&row),
        })
    }

    async fn update_project(
        &self,
        _ctx: &RequestContext,
        i: UpdateProjectInput,
    ) -> Result<UpdateProjectOutput, AwsError> {
        let name = i
            .name
            .rsplit_once(":project/")
            .map_or(i.name.as_str(), |(_, n)| n)
            .to_owned();
        let mut p = self.require_project(&name).await?;
        macro_rules! take {
            ($($f:ident),*) => { $( if let Some(v) = i.$f { p.$f = Some(v); } )* };
        }
        take!(
            description,
            source_version,
            secondary_sources,
            secondary_source_versions,
            secondary_artifacts,
            cache,
            environment,
            service_role,
            timeout_in_minutes,
            queued_timeout_in_minutes,
            encryption_key,
            tags,
            logs_config,
            concurrent_build_limit
        );
        if let Some(s) = i.source {
            check_source(&s)?;
            p.source = Some(s);
        }
        if let Some(a) = i.artifacts {
            check_artifacts(&a)?;
            p.artifacts = Some(a);
        }
        if let Some(b) = i.badge_enabled {
            p.badge = Some(ProjectBadge {
                badge_enabled: Some(b),
                ..ProjectBadge::default()
            });
        }
        p.created = None;
        p.last_modified = None;
        let doc = serde_json::to_string(&p).map_err(AwsError::internal)?;
        match self
            .0
            .store
            .update_project(&name, &doc, now().millis())
            .await
        {
            Ok(()) => {}
            Err(StoreError::NotFound) => {
                return Err(not_found(format!("Project cannot be found: {name}")));
            }
            Err(e) => return Err(internal(e)),
        }
        Ok(UpdateProjectOutput {
            project: self.project(&name).await?,
        })
    }

    async fn batch_get_projects(
        &self,
        _ctx: &RequestContext,
        i: BatchGetProjectsInput,
    ) -> Result<BatchGetProjectsOutput, AwsError> {
        let mut found = Vec::new();
        let mut missing = Vec::new();
        for n in i.names {
            match self.project(&n).await? {
                Some(p) => found.push(p),
                None => missing.push(n),
            }
        }
        Ok(BatchGetProjectsOutput {
            projects: Some(found),
            projects_not_found: Some(missing),
        })
    }

    async fn list_projects(
        &self,
        _ctx: &RequestContext,
        i: ListProjectsInput,
    ) -> Result<ListProjectsOutput, AwsError> {
        let mut rows = self.0.store.projects().await.map_err(internal)?;
        rows.retain(|r| !crate::managed::is_managed(&r.name));
        match i.sort_by.unwrap_or(ProjectSortByType::Name) {
            ProjectSortByType::Name => {}
            ProjectSortByType::CreatedTime => rows.sort_by_key(|r| (r.created_ms, r.name.clone())),
            ProjectSortByType::LastModifiedTime => {
                rows.sort_by_key(|r| (r.modified_ms, r.name.clone()))
            }
        }
        if i.sort_order == Some(SortOrderType::Descending) {
            rows.reverse();
        }
        let names: Vec<String> = rows.into_iter().map(|r| r.name).collect();
        let (page, next) = page(&names, i.next_token.as_deref(), |n| n.clone(), 100);
        Ok(ListProjectsOutput {
            projects: Some(page),
            next_token: next,
        })
    }

    async fn delete_project(
        &self,
        _ctx: &RequestContext,
        i: DeleteProjectInput,
    ) -> Result<DeleteProjectOutput, AwsError> {
        let name = i
            .name
            .rsplit_once(":project/")
            .map_or(i.name.as_str(), |(_, n)| n);
        self.0.store.delete_project(name).await.map_err(internal)?;
        Ok(DeleteProjectOutput::default())
    }

    async fn start_build(
        &self,
        ctx: &RequestContext,
        i: StartBuildInput,
    ) -> Result<StartBuildOutput, AwsError> {
        self.start_build_with(ctx, i, None).await
    }

    async fn batch_get_builds(
        &self,
        _ctx: &RequestContext,
        i: BatchGetBuildsInput,
    ) -> Result<BatchGetBuildsOutput, AwsError> {
        let keys: Vec<String> = i.ids.iter().map(|id| id_of(id, ":build/")).collect();
        let wanted: Vec<&str> = keys.iter().map(String::as_str).collect();
        let rows: std::collections::HashMap<String, BuildRow> = self
            .0
            .store
            .builds(&wanted)
            .await
            .map_err(internal)?
            .into_iter()
            .map(|r| (r.build_id.clone(), r))
            .collect();
        // Answered in the order asked (an id asked twice, twice).
        let mut found = Vec::new();
        let mut missing = Vec::new();
        for (id, key) in i.ids.into_iter().zip(&keys) {
            match rows.get(key) {
                Some(row) => found.push(
                    serde_json::from_str::<Build>(&row.document).map_err(AwsError::internal)?,
                ),
                None => missing.push(id),
            }
        }
        Ok(BatchGetBuildsOutput {
            builds: Some(found),
            builds_not_found: Some(missing),
        })
    }

    async fn list_builds(
        &self,
        _ctx: &RequestContext,
        i: ListBuildsInput,
    ) -> Result<ListBuildsOutput, AwsError> {
        let ascending = i.sort_order == Some(SortOrderType::Ascending);
        let after = i
            .next_token
            .as_deref()
            .map(|t| ferry_types::page::decode(t).ok_or_else(|| invalid("Invalid next token")))
            .transpose()?;
        let mut ids = self
            .0
            .store
            .build_ids(ascending, after.as_deref(), 101)
            .await
            .map_err(internal)?;
        let next = (ids.len() > 100).then(|| ferry_types::page::encode(&ids[99]));
        ids.truncate(100);
        ids.retain(|id| !crate::managed::is_managed(id.split(':').next().unwrap_or_default()));
        Ok(ListBuildsOutput {
            ids: Some(ids),
            next_token: next,
        })
    }

    async fn list_builds_for_project(
        &self,
        _ctx: &RequestContext,
        i: ListBuildsForProjectInput,
    ) -> Result<ListBuildsForProjectOutput, AwsError> {
        self.require_project(&i.project_name).await?;
        let ascending = i.sort_order == Some(SortOrderType::Ascending);
        let after = match i.next_token.as_deref() {
            Some(t) => Some(
                ferry_types::page::decode(t)
                    .and_then(|n| n.parse::<i64>().ok())
                    .ok_or_else(|| invalid("Invalid next token"))?,
            ),
            None => None,
        };
        let mut rows = self
            .0
            .store
            .project_build_ids(&i.project_name, ascending, after, 101)
            .await
            .map_err(internal)?;
        let next = (rows.len() > 100).then(|| ferry_types::page::encode(&rows[99].1.to_string()));
        rows.truncate(100);
        Ok(ListBuildsForProjectOutput {
            ids: Some(rows.into_iter().map(|(id, _)| id).collect()),
            next_token: next,
        })
    }

    async fn stop_build(
        &self,
        _ctx: &RequestContext,
        i: StopBuildInput,
    ) -> Result<StopBuildOutput, AwsError> {
        let key = id_of(&i.id, ":build/");
        let row = self
            .0
            .store
            .build(&key)
            .await
            .map_err(internal)?
            .ok_or_else(|| not_found(format!("Build {key} does not exist")))?;
        if row.queue_state != "DONE" {
            self.0.stop_build(&key).await.map_err(internal)?;
            // Give the scheduler a moment so the answer usually shows the stop.
            for _ in 0..20 {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                if let Ok(Some(r)) = self.0.store.build(&key).await
                    && r.queue_state == "DONE"
                {
                    break;
                }
            }
        }
        let row = self
            .0
            .store
            .build(&key)
            .await
            .map_err(internal)?
            .unwrap_or(row);
        Ok(StopBuildOutput {
            build: serde_json::from_str(&row.document).ok(),
        })
    }

    async fn retry_build(
        &self,
        ctx: &RequestContext,
        i: RetryBuildInput,
    ) -> Result<RetryBuildOutput, AwsError> {
        let id = i.id.ok_or_else(|| invalid("id is required"))?;
        let key = id_of(&id, ":build/");
        let row = self
            .0
            .store
            .build(&key)
            .await
            .map_err(internal)?
            .ok_or_else(|| not_found(format!("Build {key} does not exist")))?;
        let old: Build = serde_json::from_str(&row.document).map_err(AwsError::internal)?;
        let extras: BuildExtras = serde_json::from_str(&row.settings).unwrap_or_default();
        let source = old.source.clone();
        let started = self
            .start_build(
                ctx,
                StartBuildInput {
                    project_name: row.project_name.clone(),
                    source_version: old.source_version.clone(),
                    source_type_override: source.as_ref().map(|s| s.r#type),
                    source_location_override: source.as_ref().and_then(|s| s.location.clone()),
                    buildspec_override: source.as_ref().and_then(|s| s.buildspec.clone()),
                    environment_variables_override: old
                        .environment
                        .as_ref()
                        .and_then(|e| e.environment_variables.clone()),
                    image_override: old.environment.as_ref().map(|e| e.image.clone()),
                    artifacts_override: extras.artifacts,
                    secondary_artifacts_override: extras.secondary_artifacts,
                    cache_override: extras.cache,
                    timeout_in_minutes_override: old.timeout_in_minutes,
                    queued_timeout_in_minutes_override: old.queued_timeout_in_minutes,
                    service_role_override: old.service_role.clone(),
                    ..StartBuildInput::default()
                },
            )
            .await?;
        Ok(RetryBuildOutput {
            build: started.build,
        })
    }

    async fn batch_delete_builds(
        &self,
        _ctx: &RequestContext,
        i: BatchDeleteBuildsInput,
    ) -> Result<BatchDeleteBuildsOutput, AwsError> {
        let keys: Vec<String> = i.ids.iter().map(|id| id_of(id, ":build/")).collect();
        let deleted = self.0.store.delete_builds(&keys).await.map_err(internal)?;
        let not_deleted = keys
            .iter()
            .filter(|k| !deleted.contains(k))
            .map(|k| BuildNotDeleted {
                id: Some(k.clone()),
                status_code: Some("BUILD_IN_PROGRESS_OR_NOT_FOUND".into()),
            })
            .collect();
        Ok(BatchDeleteBuildsOutput {
            builds_deleted: Some(deleted),
            builds_not_deleted: Some(not_deleted),
        })
    }

    async fn create_report_group(
        &self,
        _ctx: &RequestContext,
        i: CreateReportGroupInput,
    ) -> Result<CreateReportGroupOutput, AwsError> {
        crate::report_api::create_report_group(self, i).await
    }

    async fn update_report_group(
        &self,
        _ctx: &RequestContext,
        i: UpdateReportGroupInput,
    ) -> Result<UpdateReportGroupOutput, AwsError> {
        crate::report_api::update_report_group(self, i).await
    }

    async fn delete_report_group(
        &self,
        _ctx: &RequestContext,
        i: DeleteReportGroupInput,
    ) -> Result<DeleteReportGroupOutput, AwsError> {
        crate::report_api::delete_report_group(self, i).await
    }

    async fn batch_get_report_groups(
        &self,
        _ctx: &RequestContext,
        i: BatchGetReportGroupsInput,
    ) -> Result<BatchGetReportGroupsOutput, AwsError> {
        crate::report_api::batch_get_report_groups(self, i).await
    }

    async fn list_report_groups(
        &self,
        _ctx: &RequestContext,
        i: ListReportGroupsInput,
    ) -> Result<ListReportGroupsOutput, AwsError> {
        crate::report_api::list_report_groups(self, i).await
    }

    async fn list_reports_for_report_group(
        &self,
        _ctx: &RequestContext,
        i: ListReportsForReportGroupInput,
    ) -> Result<ListReportsForReportGroupOutput, AwsError> {
        crate::report_api::list_reports_for_report_group(self, i).await
    }

    async fn list_reports(
        &self,
        _ctx: &RequestContext,
        i: ListReportsInput,
    ) -> Result<ListReportsOutput, AwsError> {
        crate::report_api::list_reports(self, i).await
    }

    async fn batch_get_reports(
        &self,
        _ctx: &RequestContext,
        i: BatchGetReportsInput,
    ) -> Result<BatchGetReportsOutput, AwsError> {
        crate::report_api::batch_get_reports(self, i).await
    }

    async fn delete_report(
        &self,
        _ctx: &RequestContext,
        i: DeleteReportInput,
    ) -> Result<DeleteReportOutput, AwsError> {
        crate::report_api::delete_report(self, i).await
    }

    async fn describe_test_cases(
        &self,
        _ctx: &RequestContext,
        i: DescribeTestCasesInput,
    ) -> Result<DescribeTestCasesOutput, AwsError> {
        crate::report_api::describe_test_cases(self, i).await
    }

    async fn describe_code_coverages(
        &self,
        _ctx: &RequestContext,
        i: DescribeCodeCoveragesInput,
    ) -> Result<DescribeCodeCoveragesOutput, AwsError> {
        crate::report_api::describe_code_coverages(self, i).await
    }

    async fn get_report_group_trend(
        &self,
        _ctx: &RequestContext,
        i: GetReportGroupTrendInput,
    ) -> Result<GetReportGroupTrendOutput, AwsError> {
        crate::report_api::get_report_group_trend(self, i).await
    }

    async fn invalidate_project_cache(
        &self,
        _ctx: &RequestContext,
        i: InvalidateProjectCacheInput,
    ) -> Result<InvalidateProjectCacheOutput, AwsError> {
        let p = self.require_project(&i.project_name).await?;
        let name = p.name.clone().unwrap_or_default();
        if let Some(store) = crate::cache::CacheStore::of(
            p.cache.as_ref(),
            &name,
            &self.0.settings.work_dir.with_file_name("build-cache"),
        ) {
            crate::cache::invalidate(&store, &self.0.s3)
                .await
                .map_err(AwsError::internal)?;
        }
        Ok(InvalidateProjectCacheOutput::default())
    }

    async fn start_build_batch(
        &self,
        ctx: &RequestContext,
        i: StartBuildBatchInput,
    ) -> Result<StartBuildBatchOutput, AwsError> {
        let p = self.require_project(&i.project_name).await?;
        let mut source = p.source.clone().unwrap_or_default();
        if let Some(t) = i.source_type_override {
            source.r#type = t;
        }
        if let Some(l) = &i.source_location_override {
            source.location = Some(l.clone());
        }
        let project_name = p.name.clone().unwrap_or_default();
        let id = format!("{project_name}:{}", uuid::Uuid::new_v4());
        let arn = self.arn(&format!("build-batch/{id}"));
        let at = now();
        let mut b = BuildBatch {
            id: Some(id.clone()),
            arn: Some(arn),
            start_time: Some(at),
            current_phase: Some("SUBMITTED".into()),
            build_batch_status: Some(StatusType::InProgress),
            source_version: i.source_version.clone().or(p.source_version.clone()),
            project_name: Some(project_name.clone()),
            phases: Some(vec![BuildBatchPhase {
                phase_type: Some(BuildBatchPhaseType::Submitted),
                start_time: Some(at),
                ..BuildBatchPhase::default()
            }]),
            source: Some(source),
            environment: p.environment.clone(),
            service_role: i.service_role_override.clone().or(p.service_role.clone()),
            build_timeout_in_minutes: Some(
                i.build_timeout_in_minutes_override
                    .or(p.timeout_in_minutes)
                    .unwrap_or(60),
            ),
            queued_timeout_in_minutes: Some(
                i.queued_timeout_in_minutes_override
                    .or(p.queued_timeout_in_minutes)
                    .unwrap_or(480),
            ),
            complete: Some(false),
            initiator: Some(ctx.user_name.clone()),
            build_batch_config: i
                .build_batch_config_override
                .clone()
                .or(p.build_batch_config.clone()),
            ..BuildBatch::default()
        };
        let settings = serde_json::to_string(&i).map_err(AwsError::internal)?;
        let row = self
            .0
            .store
            .insert_batch(&project_name, |n| {
                b.build_batch_number = Some(n);
                ferry_store::builds::BatchRow {
                    batch_id: id.clone(),
                    project_name: project_name.clone(),
                    batch_number: n,
                    queue_state: "RUNNING".into(),
                    document: serde_json::to_string(&b).unwrap_or_default(),
                    settings,
                    submitted_ms: at.millis(),
                }
            })
            .await
            .map_err(internal)?;
        let token = tokio_util::sync::CancellationToken::new();
        self.0
            .batches
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.clone(), token.clone());
        let api = Arc::new(BuildApi(self.0.clone()));
        let ctx2 = ctx.clone();
        let doc = b.clone();
        tokio::spawn(async move {
            crate::batch::run(api.clone(), ctx2, doc, i, token).await;
            api.0
                .batches
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&id);
        });
        Ok(StartBuildBatchOutput {
            build_batch: serde_json::from_str(&row.document).ok(),
        })
    }

    async fn batch_get_build_batches(
        &self,
        _ctx: &RequestContext,
        i: BatchGetBuildBatchesInput,
    ) -> Result<BatchGetBuildBatchesOutput, AwsError> {
        let mut found = Vec::new();
        let mut missing = Vec::new();
        for id in i.ids {
            let key = id_of(&id, ":build-batch/");
            match self.0.store.batch(&key).await.map_err(internal)? {
                Some(row) => found.push(
                    serde_json::from_str::<BuildBatch>(&row.document)
                        .map_err(AwsError::internal)?,
                ),
                None => missing.push(id),
            }
        }
        Ok(BatchGetBuildBatchesOutput {
            build_batches: Some(found),
            build_batches_not_found: Some(missing),
        })
    }

    async fn list_build_batches(
        &self,
        _ctx: &RequestContext,
        i: ListBuildBatchesInput,
    ) -> Result<ListBuildBatchesOutput, AwsError> {
        let (ids, next) = self
            .batch_ids(None, i.filter, i.sort_order, i.next_token, i.max_results)
            .await?;
        Ok(ListBuildBatchesOutput {
            ids: Some(ids),
            next_token: next,
        })
    }

    async fn list_build_batches_for_project(
        &self,
        _ctx: &RequestContext,
        i: ListBuildBatchesForProjectInput,
    ) -> Result<ListBuildBatchesForProjectOutput, AwsError> {
        let project = i.project_name.clone().unwrap_or_default();
        if self.project(&project).await?.is_none() {
            return Err(not_found(format!(
                "Project cannot be found: {}",
                self.arn(&format!("project/{project}"))
            )));
        }
        let (ids, next) = self
            .batch_ids(
                Some(&project),
                i.filter,
                i.sort_order,
                i.next_token,
                i.max_results,
            )
            .await?;
        Ok(ListBuildBatchesForProjectOutput {
            ids: Some(ids),
            next_token: next,
        })
    }

    async fn stop_build_batch(
        &self,
        _ctx: &RequestContext,
        i: StopBuildBatchInput,
    ) -> Result<StopBuildBatchOutput, AwsError> {
        let key = id_of(&i.id, ":build-batch/");
        if self.0.store.batch(&key).await.map_err(internal)?.is_none() {
            return Err(not_found(format!("Build batch {key} does not exist")));
        }
        let token = self
            .0
            .batches
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
            .cloned();
        if let Some(t) = token {
            t.cancel();
            for _ in 0..40 {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                if let Ok(Some(r)) = self.0.store.batch(&key).await
                    && r.queue_state == "DONE"
                {
                    break;
                }
            }
        }
        let row = self.0.store.batch(&key).await.map_err(internal)?;
        Ok(StopBuildBatchOutput {
            build_batch: row.and_then(|r| serde_json::from_str(&r.document).ok()),
        })
    }

    async fn retry_build_batch(
        &self,
        ctx: &RequestContext,
        i: RetryBuildBatchInput,
    ) -> Result<RetryBuildBatchOutput, AwsError> {
        let id = i.id.ok_or_else(|| invalid("id is required"))?;
        let key = id_of(&id, ":build-batch/");
        let row = self
            .0
            .store
            .batch(&key)
            .await
            .map_err(internal)?
            .ok_or_else(|| not_found(format!("Build batch {key} does not exist")))?;
        if row.queue_state != "DONE" {
            return Err(invalid("Only a completed build batch can be retried"));
        }
        let input: StartBuildBatchInput =
            serde_json::from_str(&row.settings).map_err(AwsError::internal)?;
        let started = self.start_build_batch(ctx, input).await?;
        Ok(RetryBuildBatchOutput {
            build_batch: started.build_batch,
        })
    }

    async fn delete_build_batch(
        &self,
        _ctx: &RequestContext,
        i: DeleteBuildBatchInput,
    ) -> Result<DeleteBuildBatchOutput, AwsError> {
        let key = id_of(&i.id, ":build-batch/");
        let Some(row) = self.0.store.batch(&key).await.map_err(internal)? else {
            return Err(not_found(format!("Build batch {key} does not exist")));
        };
        if row.queue_state != "DONE" {
            return Err(invalid(
                "A build batch can only be deleted once it is complete",
            ));
        }
        let b: BuildBatch = serde_json::from_str(&row.document).map_err(AwsError::internal)?;
        let ids: Vec<String> = b
            .build_groups
            .unwrap_or_default()
            .into_iter()
            .filter_map(|g| g.current_build_summary.and_then(|s| s.arn))
            .map(|arn| {
                arn.rsplit_once(":build/")
                    .map_or(arn.clone(), |(_, id)| id.to_owned())
            })
            .collect();
        let deleted = self.0.store.delete_builds(&ids).await.map_err(internal)?;
        let not_deleted = ids
            .iter()
            .filter(|id| !deleted.contains(id))
            .map(|id| BuildNotDeleted {
                id: Some(id.clone()),
                status_code: Some("BUILD_IN_PROGRESS_OR_NOT_FOUND".into()),
            })
            .collect();
        self.0.store.delete_batch(&key).await.map_err(internal)?;
        Ok(DeleteBuildBatchOutput {
            status_code: Some("BATCH_DELETED".into()),
            builds_deleted: Some(deleted),
            builds_not_deleted: Some(not_deleted),
        })
    }

    async fn put_resource_policy(
        &self,
        _ctx: &RequestContext,
        i: PutResourcePolicyInput,
    ) -> Result<PutResourcePolicyOutput, AwsError> {
        crate::misc_api::put_resource_policy(self, i).await
    }

    async fn get_resource_policy(
        &self,
        _ctx: &RequestContext,
        i: GetResourcePolicyInput,
    ) -> Result<GetResourcePolicyOutput, AwsError> {
        crate::misc_api::get_resource_policy(self, i).await
    }

    async fn delete_resource_policy(
        &self,
        _ctx: &RequestContext,
        i: DeleteResourcePolicyInput,
    ) -> Result<DeleteResourcePolicyOutput, AwsError> {
        crate::misc_api::delete_resource_policy(self, i).await
    }

    async fn import_source_credentials(
        &self,
        _ctx: &RequestContext,
        i: ImportSourceCredentialsInput,
    ) -> Result<ImportSourceCredentialsOutput, AwsError> {
        crate::misc_api::import_source_credentials(self, i).await
    }

    async fn delete_source_credentials(
        &self,
        _ctx: &RequestContext,
        i: DeleteSourceCredentialsInput,
    ) -> Result<DeleteSourceCredentialsOutput, AwsError> {
        crate::misc_api::delete_source_credentials(self, i).await
    }

    async fn update_project_visibility(
        &self,
        _ctx: &RequestContext,
        i: UpdateProjectVisibilityInput,
    ) -> Result<UpdateProjectVisibilityOutput, AwsError> {
        crate::misc_api::update_project_visibility(self, i).await
    }

    async fn list_source_credentials(
        &self,
        _ctx: &RequestContext,
        _i: ListSourceCredentialsInput,
    ) -> Result<ListSourceCredentialsOutput, AwsError> {
        crate::misc_api::list_source_credentials(self).await
    }

    async fn list_curated_environment_images(
        &self,
        _ctx: &RequestContext,
        _i: ListCuratedEnvironmentImagesInput,
    ) -> Result<ListCuratedEnvironmentImagesOutput, AwsError> {
        Ok(crate::misc_api::list_curated_environment_images())
    }

    async fn list_shared_projects(
        &self,
        _ctx: &RequestContext,
        _i: ListSharedProjectsInput,
    ) -> Result<ListSharedProjectsOutput, AwsError> {
        // One account owns every project of an installation: none is shared with it.
        Ok(ListSharedProjectsOutput {
            projects: Some(Vec::new()),
            next_token: None,
        })
    }

    async fn list_shared_report_groups(
        &self,
        _ctx: &RequestContext,
        _i: ListSharedReportGroupsInput,
    ) -> Result<ListSharedReportGroupsOutput, AwsError> {
        Ok(ListSharedReportGroupsOutput {
            report_groups: Some(Vec::new()),
            next_token: None,
        })
    }
}
