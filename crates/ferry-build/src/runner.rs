//! Runs one claimed build on the local executor, phase by phase as AWS does: PROVISIONING
//! (workspace, temporary credentials), DOWNLOAD_SOURCE (source, buildspec, variables),
//! INSTALL / PRE_BUILD / BUILD / POST_BUILD (commands and `finally`, `on-failure`, the rules
//! for what runs after a failure), UPLOAD_ARTIFACTS, FINALIZING; with the `[Container]` log
//! lines tools grep for, the build timeout, and StopBuild.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferry_model::codebuild::{
    ArtifactPackaging, ArtifactsType, Build, BuildArtifacts, BuildPhaseType,
    EnvironmentVariableType, ExportedEnvironmentVariable, SourceType, StatusType,
};
use ferry_store::iam::IssuedSession;
use ferry_types::Timestamp;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::buildspec::{Buildspec, OnFailure, Phase};
use crate::env::{self, EnvSet};
use crate::executor::{Container, Provision};
use crate::logsink::{self, LogTarget};
use crate::phases::{self, phase_name};
use crate::service::{BuildExtras, BuildService, now};
use crate::shell::{Exit, ShellState};

/// The most bytes of files one artifact may hold (S3's largest single upload).
const MAX_ARTIFACT_BYTES: u64 = 5 * 1024 * 1024 * 1024;
/// Output lines kept for `RETRY-<regex>` matching.
const RECENT_LINES: usize = 2000;

/// Why the command phases ended early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Interrupt {
    Stopped,
    TimedOut,
}

/// The running state of one build.
struct Run<'a> {
    svc: &'a BuildService,
    arc: Arc<BuildService>,
    b: Build,
    log: mpsc::Sender<String>,
    recent: Arc<Mutex<VecDeque<String>>>,
    secrets: Arc<Mutex<Vec<String>>>,
    /// The build's workspace (from [`crate::workspace::Workspaces`]).
    ws: PathBuf,
    /// Why no workspace could be had (the build then fails in PROVISIONING).
    ws_error: Option<String>,
    src: PathBuf,
    env: EnvSet,
    succeeding: bool,
    extras: BuildExtras,
    /// Where commands run (from PROVISIONING until FINALIZING releases it).
    place: Option<Arc<dyn Container>>,
    /// The shell state carried between commands (from DOWNLOAD_SOURCE on).
    shell: Option<ShellState>,
}

fn container_line(msg: &str) -> String {
    let ts = jiff::Timestamp::now().strftime("%Y/%m/%d %H:%M:%S%.6f");
    format!("[Container] {ts} {msg}")
}

impl Run<'_> {
    async fn say(&self, msg: &str) {
        let _ = self.log.send(container_line(msg)).await;
    }

    fn save(&self) {
        self.svc.save_soon(&self.b, "RUNNING");
    }

    async fn enter(&mut self, p: BuildPhaseType) {
        phases::enter(&mut self.b, p, now());
        self.say(&format!("Entering phase {}", phase_name(p))).await;
        self.save();
    }

    async fn end(&mut self, status: StatusType, context: Option<(&str, &str)>) {
        let phase = self
            .b
            .phases
            .as_ref()
            .and_then(|p| p.last())
            .and_then(|p| p.phase_type)
            .map_or("", phase_name);
        phases::end(&mut self.b, status, context, now());
        self.say(&format!(
            "Phase complete: {phase} State: {}",
            phases::status_name(status)
        ))
        .await;
        let (code, message) = context.unwrap_or(("", ""));
        self.say(&format!(
            "Phase context status code: {code} Message: {message}"
        ))
        .await;
        // Saved with the next phase's entry (one write per transition).
    }

    fn command_env(&self) -> Vec<(String, String)> {
        let mut v = self.env.vars.clone();
        v.retain(|(n, _)| n != "CODEBUILD_BUILD_SUCCEEDING");
        v.push((
            "CODEBUILD_BUILD_SUCCEEDING".into(),
            if self.succeeding { "1" } else { "0" }.into(),
        ));
        v
    }
}

/// Runs a build to completion (or stop, or timeout) and saves the outcome; `session` holds
/// the credentials issued when it was claimed.
pub async fn run(
    svc: &Arc<BuildService>,
    b: Build,
    extras: BuildExtras,
    session: IssuedSession,
    cancel: CancellationToken,
) {
    let id = b.id.clone().unwrap_or_default();
    let (ws, ws_error) = match svc.workspaces.take().await {
        Ok(ws) => (ws, None),
        Err(e) => (
            svc.settings.work_dir.join("unavailable"),
            Some(e.to_string()),
        ),
    };
    let (log_tx, log_rx) = mpsc::channel::<String>(1024);
    let secrets = Arc::new(Mutex::new(Vec::<String>::new()));
    let target = b.logs.as_ref().and_then(|l| {
        Some(LogTarget {
            group: l.group_name.clone()?,
            stream: l.stream_name.clone()?,
        })
    });
    let s3_logs = b
        .logs
        .as_ref()
        .and_then(|l| l.s3_logs_arn.clone())
        .and_then(|a| a.strip_prefix("arn:aws:s3:::").map(str::to_owned));
    let log_copy = s3_logs.as_ref().map(|_| ws.join("build.log"));
    if log_copy.is_some() {
        let _ = tokio::fs::create_dir_all(&ws).await;
    }
    let sink = tokio::spawn(logsink::run(
        svc.log_writer(),
        target,
        secrets.clone(),
        log_copy.clone(),
        log_rx,
    ));
    let mut run = Run {
        svc,
        arc: svc.clone(),
        b,
        log: log_tx,
        recent: Arc::new(Mutex::new(VecDeque::new())),
        secrets,
        src: ws.join("src"),
        ws,
        ws_error,
        env: EnvSet::default(),
        succeeding: true,
        extras,
        place: None,
        shell: None,
    };
    // The build timeout and StopBuild both cancel `work`; `timed_out` tells them apart.
    let work = cancel.child_token();
    let timed_out = CancellationToken::new();
    let timeout = Duration::from_secs(60 * run.b.timeout_in_minutes.unwrap_or(60).max(1) as u64);
    {
        let (work, timed_out) = (work.clone(), timed_out.clone());
        tokio::spawn(async move {
            tokio::select! {
                _ = tokio::time::sleep(timeout) => { timed_out.cancel(); work.cancel(); }
                _ = work.cancelled() => {}
            }
        });
    }
    let outcome = execute(&mut run, &session, &work).await;
    let interrupt = if timed_out.is_cancelled() {
        Some(Interrupt::TimedOut)
    } else if work.is_cancelled() {
        Some(Interrupt::Stopped)
    } else {
        None
    };
    work.cancel();
    // The phase in progress when a stop or timeout came.
    let final_status = match (interrupt, outcome) {
        (Some(Interrupt::TimedOut), _) => {
            run.end(
                StatusType::TimedOut,
                Some(("BUILD_TIMED_OUT", "Build has timed out. ")),
            )
            .await;
            StatusType::TimedOut
        }
        (Some(Interrupt::Stopped), _)
            if svc.shutting_down.load(std::sync::atomic::Ordering::SeqCst) =>
        {
            run.end(
                StatusType::Failed,
                Some((
                    "BUILD_CONTAINER_UNABLE_TO_RUN",
                    "Build was interrupted: the Ferry node running it stopped",
                )),
            )
            .await;
            StatusType::Failed
        }
        (Some(Interrupt::Stopped), _) => {
            run.end(StatusType::Stopped, None).await;
            StatusType::Stopped
        }
        (None, Err(fault)) => {
            tracing::error!(build = %id, error = %fault, "build fault");
            run.end(StatusType::Fault, Some(("CLIENT_ERROR", &fault)))
                .await;
            StatusType::Fault
        }
        (None, Ok(())) if run.succeeding => StatusType::Succeeded,
        (None, Ok(())) => StatusType::Failed,
    };
    run.enter(BuildPhaseType::Finalizing).await;
    if let Some(shell) = run.shell.as_mut() {
        shell.close().await;
    }
    if let Some(place) = run.place.take() {
        place.release().await;
    }
    run.end(StatusType::Succeeded, None).await;
    phases::complete(&mut run.b, final_status, now());
    run.say(&format!(
        "Phase complete: COMPLETED State: {}",
        phases::status_name(final_status)
    ))
    .await;
    drop(run.log);
    let _ = sink.await;
    if let (Some(dest), Some(copy)) = (&s3_logs, &log_copy) {
        upload_log(svc, dest, copy).await;
    }
    svc.save(&run.b, "DONE").await;
    let _ = svc.finished.send(id.clone());
    if run.ws_error.is_none() {
        svc.workspaces.give_back(run.ws).await;
    }
}

/// The phases up to UPLOAD_ARTIFACTS. `Err` is a service fault.
async fn execute(
    run: &mut Run<'_>,
    session: &IssuedSession,
    work: &CancellationToken,
) -> Result<(), String> {
    let at = now();
    run.end(StatusType::Succeeded, None).await; // QUEUED
    run.enter(BuildPhaseType::Provisioning).await;
    if let Some(e) = &run.ws_error {
        return Err(format!("workspace: {e}"));
    }
    base_env(run, at, session);
    let id = run.b.id.clone().unwrap_or_default();
    let env = run.b.environment.clone().unwrap_or_default();
    let provisioned = run
        .svc
        .executor
        .provision(Provision {
            build_id: &id,
            workspace: &run.ws,
            image: &env.image,
            privileged: env.privileged_mode.unwrap_or(false),
        })
        .await;
    match provisioned {
        Ok(place) => run.place = Some(place),
        Err(e) => {
            run.succeeding = false;
            run.end(
                StatusType::Failed,
                Some(("BUILD_CONTAINER_UNABLE_TO_PULL_IMAGE", &e.0)),
            )
            .await;
            return Ok(());
        }
    }
    run.end(StatusType::Succeeded, None).await;
    if work.is_cancelled() {
        return Ok(());
    }

    run.enter(BuildPhaseType::DownloadSource).await;
    let spec = match download_source(run).await {
        Ok(spec) => spec,
        Err((code, message)) => {
            run.succeeding = false;
            run.end(StatusType::Failed, Some((code, &message))).await;
            return Ok(());
        }
    };
    let mut shell = ShellState::new(
        spec.env.shell.as_deref(),
        run.src.clone(),
        run.ws.join("tmp"),
    )
    .map_err(|e| format!("shell: {e}"))?;
    shell.default_user = spec.run_as.clone();
    let cache_key = match (&spec.cache, &run.place) {
        (Some(c), Some(place)) => {
            let env = run.command_env();
            let expanded = shell
                .expand(&**place, c.key.as_deref().unwrap_or(""), &env)
                .await;
            Some(crate::cache::key_name(Some(&expanded)))
        }
        _ => None,
    };
    run.shell = Some(shell);
    if let (Some(c), Some(key)) = (&spec.cache, &cache_key)
        && c.action.as_deref() != Some("save")
    {
        restore_cache(run, c, key).await;
    }
    run.end(StatusType::Succeeded, None).await;
    if work.is_cancelled() {
        return Ok(());
    }
    let mut next = Some(BuildPhaseType::Install);
    let mut upload = false;
    let mut post_build_ran = false;
    while let Some(p) = next {
        if work.is_cancelled() {
            return Ok(());
        }
        if p == BuildPhaseType::UploadArtifacts {
            upload = true;
            break;
        }
        run.enter(p).await;
        let phase = match p {
            BuildPhaseType::Install => spec.phases.install.as_ref(),
            BuildPhaseType::PreBuild => spec.phases.pre_build.as_ref(),
            BuildPhaseType::Build => spec.phases.build.as_ref(),
            _ => spec.phases.post_build.as_ref(),
        };
        if p == BuildPhaseType::PostBuild {
            post_build_ran = true;
        }
        let result = match phase {
            Some(ph) => run_phase(run, p, ph, work).await,
            None => PhaseResult::Succeeded,
        };
        match result {
            PhaseResult::Succeeded => {
                run.end(StatusType::Succeeded, None).await;
                next = following(p);
            }
            PhaseResult::Cancelled => return Ok(()),
            PhaseResult::Failed(message) => {
                run.succeeding = false;
                run.end(
                    StatusType::Failed,
                    Some(("COMMAND_EXECUTION_ERROR", &message)),
                )
                .await;
                next = match phase.map(|ph| &ph.on_failure) {
                    Some(OnFailure::Continue) => following(p),
                    Some(OnFailure::Abort) | None | Some(OnFailure::Retry { .. }) => {
                        Some(phases::after_failure(p))
                    }
                };
                if next == Some(BuildPhaseType::Finalizing) {
                    next = None;
                }
            }
        }
    }
    if post_build_ran && !spec.env.exported_variables.is_empty() {
        let env = run.command_env();
        if let (Some(sh), Some(place)) = (run.shell.clone(), run.place.clone()) {
            // AWS_* names and values from Parameter Store or Secrets Manager are not exported.
            let sourced: Vec<&String> = spec
                .env
                .parameter_store
                .iter()
                .map(|(k, _)| k)
                .chain(spec.env.secrets_manager.iter().map(|(k, _)| k))
                .collect();
            let names: Vec<String> = spec
                .env
                .exported_variables
                .iter()
                .filter(|n| !n.starts_with("AWS_") && !sourced.contains(n))
                .cloned()
                .collect();
            let got = sh.values(&*place, &names, &env).await;
            run.b.exported_environment_variables = Some(
                spec.env
                    .exported_variables
                    .iter()
                    .filter(|n| names.contains(n))
                    .map(|n| ExportedEnvironmentVariable {
                        name: Some(n.clone()),
                        value: Some(
                            got.iter()
                                .find(|(k, _)| k == n)
                                .map(|(_, v)| v.clone())
                                .unwrap_or_default(),
                        ),
                    })
                    .collect(),
            );
        }
    }
    if upload && !work.is_cancelled() {
        run.enter(BuildPhaseType::UploadArtifacts).await;
        if !spec.reports.is_empty() {
            let api = crate::api::BuildApi(run.arc.clone());
            let project = run.b.project_name.clone().unwrap_or_default();
            let arn = run.b.arn.clone().unwrap_or_default();
            let (arns, lines) =
                crate::report_upload::create_reports(&api, &project, &arn, &run.src, &spec.reports)
                    .await;
            for l in lines {
                run.say(&l).await;
            }
            run.b.report_arns = Some(arns);
        }
        let uploaded = upload_artifacts(run, &spec).await;
        if let (Some(c), Some(key)) = (&spec.cache, &cache_key)
            && c.action.as_deref() != Some("restore")
        {
            save_cache(run, c, key).await;
        }
        match uploaded {
            Ok(()) => run.end(StatusType::Succeeded, None).await,
            Err(message) => {
                run.succeeding = false;
                run.end(StatusType::Failed, Some(("CLIENT_ERROR", &message)))
                    .await;
            }
        }
    }
    Ok(())
}

fn following(p: BuildPhaseType) -> Option<BuildPhaseType> {
    match p {
        BuildPhaseType::Install => Some(BuildPhaseType::PreBuild),
        BuildPhaseType::PreBuild => Some(BuildPhaseType::Build),
        BuildPhaseType::Build => Some(BuildPhaseType::PostBuild),
        BuildPhaseType::PostBuild => Some(BuildPhaseType::UploadArtifacts),
        _ => None,
    }
}

enum PhaseResult {
    Succeeded,
    Failed(String),
    Cancelled,
}

/// Runs a phase's commands then its `finally` commands, retrying as `on-failure` says.
async fn run_phase(
    run: &mut Run<'_>,
    p: BuildPhaseType,
    phase: &Phase,
    work: &CancellationToken,
) -> PhaseResult {
    if p == BuildPhaseType::Install && !phase.runtime_versions.is_empty() {
        run.say("Skipping install of runtimes. Runtime version selection is not supported by this build image.").await;
    }
    if let Some(shell) = run.shell.as_mut() {
        shell.user = phase.run_as.clone().or_else(|| shell.default_user.clone());
    }
    let (retries, pattern) = match &phase.on_failure {
        OnFailure::Retry { count, pattern } => (*count, pattern.clone()),
        _ => (0, None),
    };
    let mut attempt = 0;
    loop {
        let mark = run.recent.lock().unwrap_or_else(|e| e.into_inner()).len();
        let r = run_commands(run, phase, work).await;
        match r {
            PhaseResult::Failed(_) if attempt < retries => {
                let matches = match &pattern {
                    None => true,
                    Some(re) => {
                        let lines = run.recent.lock().unwrap_or_else(|e| e.into_inner());
                        regex::Regex::new(re).is_ok_and(|re| {
                            lines
                                .iter()
                                .skip(mark.min(lines.len()))
                                .any(|l| re.is_match(l))
                        })
                    }
                };
                if !matches {
                    return r;
                }
                attempt += 1;
                run.say(&format!(
                    "Retrying phase {} (attempt {attempt} of {retries})",
                    phase_name(p)
                ))
                .await;
            }
            other => return other,
        }
    }
}

async fn run_commands(run: &mut Run<'_>, phase: &Phase, work: &CancellationToken) -> PhaseResult {
    let mut failure: Option<String> = None;
    for (list, is_finally) in [(&phase.commands, false), (&phase.finally, true)] {
        for command in list {
            if failure.is_some() && !is_finally {
                break;
            }
            run.say(&format!("Running command {command}")).await;
            let env = run.command_env();
            let (Some(mut shell), Some(place)) = (run.shell.take(), run.place.clone()) else {
                return PhaseResult::Failed("the build's shell is gone".into());
            };
            let (tx, mut rx) = mpsc::channel::<String>(256);
            let log = run.log.clone();
            let recent = run.recent.clone();
            let forward = tokio::spawn(async move {
                while let Some(line) = rx.recv().await {
                    {
                        let mut r = recent.lock().unwrap_or_else(|e| e.into_inner());
                        if r.len() >= RECENT_LINES {
                            r.pop_front();
                        }
                        r.push_back(line.clone());
                    }
                    let _ = log.send(line).await;
                }
            });
            let result = shell.run(&*place, command, &env, &tx, work).await;
            drop(tx);
            let _ = forward.await;
            run.shell = Some(shell);
            match result {
                Ok(Exit::Code(0)) => {}
                Ok(Exit::Code(code)) => {
                    run.say(&format!(
                        "Command did not exit successfully {command} exit status {code}"
                    ))
                    .await;
                    if failure.is_none() {
                        failure = Some(format!(
                            "Error while executing command: {command}. Reason: exit status {code}"
                        ));
                    }
                }
                Ok(Exit::Cancelled) => return PhaseResult::Cancelled,
                Err(e) => {
                    failure.get_or_insert(format!(
                        "Error while executing command: {command}. Reason: {e}"
                    ));
                }
            }
        }
    }
    match failure {
        None => PhaseResult::Succeeded,
        Some(m) => PhaseResult::Failed(m),
    }
}

/// Who a build's commands act as (its service role's session) and for how many seconds:
/// the build timeout and a quarter hour for the phases after it.
pub(crate) fn principal(b: &Build, account_id: &str) -> (ferry_store::identity::Principal, i64) {
    let id = b.id.clone().unwrap_or_default();
    let uuid = id.rsplit(':').next().unwrap_or(&id);
    let role = b
        .service_role
        .as_deref()
        .and_then(|r| r.rsplit('/').next())
        .filter(|r| !r.is_empty())
        .unwrap_or("codebuild-service-role");
    let timeout_s = 60 * i64::from(b.timeout_in_minutes.unwrap_or(60).max(1));
    (
        ferry_store::identity::Principal {
            user_name: format!("AWSCodeBuild-{uuid}"),
            arn: format!("arn:aws:sts::{account_id}:assumed-role/{role}/AWSCodeBuild-{uuid}"),
        },
        (timeout_s + 900).max(900),
    )
}

/// The variables every command sees before the buildspec's and the project's.
fn base_env(run: &mut Run<'_>, at: Timestamp, session: &IssuedSession) {
    let s = &run.svc.settings;
    let b = &run.b;
    let id = b.id.clone().unwrap_or_default();
    let uuid = id.rsplit(':').next().unwrap_or(&id).to_owned();
    let project = b.project_name.clone().unwrap_or_default();
    let e = &mut run.env;
    e.set(
        "PATH",
        std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into()),
    );
    e.set("HOME", run.ws.join("home").to_string_lossy());
    e.set("LANG", "C.UTF-8");
    e.set("CODEBUILD_CI", "true");
    e.set("CODEBUILD_BUILD_ID", id.as_str());
    e.set("CODEBUILD_BUILD_ARN", b.arn.clone().unwrap_or_default());
    e.set(
        "CODEBUILD_BUILD_NUMBER",
        b.build_number.unwrap_or(0).to_string(),
    );
    e.set(
        "CODEBUILD_BUILD_IMAGE",
        b.environment
            .as_ref()
            .map(|e| e.image.clone())
            .unwrap_or_default(),
    );
    e.set(
        "CODEBUILD_INITIATOR",
        b.initiator.clone().unwrap_or_default(),
    );
    e.set("CODEBUILD_LOG_PATH", uuid.as_str());
    e.set("CODEBUILD_SRC_DIR", run.src.to_string_lossy());
    e.set(
        "CODEBUILD_START_TIME",
        b.start_time.unwrap_or(at).millis().to_string(),
    );
    e.set(
        "CODEBUILD_BUILD_URL",
        format!("{}/console/codebuild/builds/{id}", s.public_url),
    );
    e.set("CODEBUILD_PROJECT_NAME", project.as_str());
    e.set("AWS_REGION", s.region.as_str());
    e.set("AWS_DEFAULT_REGION", s.region.as_str());
    e.set("AWS_ENDPOINT_URL", s.public_url.as_str());
    e.set("AWS_ACCESS_KEY_ID", session.access_key_id.as_str());
    e.set_secret("AWS_SECRET_ACCESS_KEY", session.secret_access_key.clone());
    e.set_secret("AWS_SESSION_TOKEN", session.session_token.clone());
    e.set("AWS_EXECUTION_ENV", "AWS_ECS_EC2");
    run.secrets
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .extend(run.env.secrets.clone());
}

/// DOWNLOAD_SOURCE: source, buildspec and variables. `Err((status code, message))`.
async fn download_source(run: &mut Run<'_>) -> Result<Buildspec, (&'static str, String)> {
    let source = run.b.source.clone().unwrap_or_default();
    let version = run.b.source_version.clone();
    match source.r#type {
        SourceType::Codecommit => {
            let location = source.location.clone().unwrap_or_default();
            let resolved =
                crate::source::codecommit(&run.svc.commit, &location, version.as_deref(), &run.src)
                    .await
                    .map_err(|e| ("CLIENT_ERROR", e.0))?;
            run.env
                .set("CODEBUILD_RESOLVED_SOURCE_VERSION", resolved.as_str());
            run.env.set("CODEBUILD_SOURCE_REPO_URL", location.as_str());
            run.env.set(
                "CODEBUILD_SOURCE_VERSION",
                version.clone().unwrap_or_else(|| resolved.clone()),
            );
            run.b.resolved_source_version = Some(resolved);
        }
        // A pipeline's build: the input artifact's zip in the artifact store (`bucket/key`).
        SourceType::S3 | SourceType::Codepipeline => {
            let location = source.location.clone().unwrap_or_default();
            crate::source::s3_zip(
                &run.svc.s3,
                &location,
                version.as_deref(),
                &run.src,
                &run.ws.join("tmp"),
            )
            .await
            .map_err(|e| ("CLIENT_ERROR", e.0))?;
            run.env
                .set("CODEBUILD_SOURCE_REPO_URL", format!("s3://{location}"));
            if let Some(v) = &version {
                run.env.set("CODEBUILD_SOURCE_VERSION", v.as_str());
            }
        }
        SourceType::NoSource => {}
        other => {
            return Err((
                "CLIENT_ERROR",
                format!(
                    "Source type {} is not supported by Ferry yet",
                    source_type_name(other)
                ),
            ));
        }
    }
    run.say(&format!("CODEBUILD_SRC_DIR={}", run.src.display()))
        .await;
    secondary_sources(run).await?;
    let text = buildspec_text(run, source.buildspec.as_deref()).await?;
    let spec = crate::buildspec::parse(&text).map_err(|e| (e.status_code(), e.to_string()))?;
    if spec.env.git_credential_helper {
        // git inside the build reaches Ferry's repositories with the build's credentials.
        let config = "[credential]\n\thelper = !aws codecommit credential-helper --ignore-host-check $@\n\tUseHttpPath = true\n";
        tokio::fs::write(run.ws.join("home/.gitconfig"), config)
            .await
            .map_err(|e| ("CLIENT_ERROR", format!("git credential helper: {e}")))?;
    }
    for w in &spec.warnings {
        run.say(&format!("Warning: {w}")).await;
    }
    // buildspec env first; project variables (with StartBuild overrides merged) replace them.
    for (k, v) in &spec.env.variables {
        run.env.set(k, v.as_str());
    }
    let store = run.svc.store.clone();
    for (k, name) in &spec.env.parameter_store {
        let v = env::parameter(&store, name)
            .await
            .map_err(|e| ("CLIENT_ERROR", e.0))?;
        run.env.set_secret(k, v);
    }
    for (k, r) in &spec.env.secrets_manager {
        let v = env::secret(&store, r)
            .await
            .map_err(|e| ("CLIENT_ERROR", e.0))?;
        run.env.set_secret(k, v);
    }
    let project_vars = run
        .b
        .environment
        .as_ref()
        .and_then(|e| e.environment_variables.clone())
        .unwrap_or_default();
    for v in project_vars {
        match v.r#type.unwrap_or_default() {
            EnvironmentVariableType::Plaintext => run.env.set(&v.name, v.value),
            EnvironmentVariableType::ParameterStore => {
                let value = env::parameter(&store, &v.value)
                    .await
                    .map_err(|e| ("CLIENT_ERROR", e.0))?;
                run.env.set_secret(&v.name, value);
            }
            EnvironmentVariableType::SecretsManager => {
                let value = env::secret(&store, &env::secret_ref(&v.value))
                    .await
                    .map_err(|e| ("CLIENT_ERROR", e.0))?;
                run.env.set_secret(&v.name, value);
            }
        }
    }
    run.secrets
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .extend(run.env.secrets.clone());
    Ok(spec)
}

fn cache_store(run: &Run<'_>) -> Option<crate::cache::CacheStore> {
    let project = run.b.project_name.clone().unwrap_or_default();
    crate::cache::CacheStore::of(
        run.extras.cache.as_ref(),
        &project,
        &run.svc.settings.work_dir.with_file_name("build-cache"),
    )
}

async fn restore_cache(run: &Run<'_>, spec: &crate::buildspec::CacheSpec, key: &str) {
    let Some(store) = cache_store(run) else {
        return;
    };
    let zip = run.ws.join("tmp/cache-in.zip");
    match crate::cache::fetch(&store, &run.svc.s3, key, &spec.fallback_keys, &zip).await {
        Some(found) => {
            let ws = run.ws.clone();
            let z = zip.clone();
            let res = tokio::task::spawn_blocking(move || crate::archive::unzip(&z, &ws)).await;
            match res {
                Ok(Ok(())) => run.say(&format!("Restored cache {found}")).await,
                _ => {
                    run.say(&format!(
                        "Could not restore cache {found}; continuing without it"
                    ))
                    .await
                }
            }
            let _ = tokio::fs::remove_file(&zip).await;
        }
        None => run.say(&format!("No cache found for key {key}")).await,
    }
}

async fn save_cache(run: &Run<'_>, spec: &crate::buildspec::CacheSpec, key: &str) {
    let Some(store) = cache_store(run) else {
        return;
    };
    let (home, src, skipped) = crate::cache::split_paths(spec);
    for p in skipped {
        run.say(&format!("Not caching {p}: only paths in the source or the home directory are cached by the local executor")).await;
    }
    let zip = run.ws.join("tmp/cache-out.zip");
    let (ws, z) = (run.ws.clone(), zip.clone());
    let packed =
        tokio::task::spawn_blocking(move || crate::cache::pack(&ws, &home, &src, &z)).await;
    match packed {
        Ok(Ok(0)) => {
            run.say("No files matched the cache paths; nothing to cache")
                .await
        }
        Ok(Ok(n)) => match crate::cache::store(&store, &run.svc.s3, key, &zip).await {
            Ok(()) => run.say(&format!("Saved cache {key} ({n} files)")).await,
            Err(e) => run.say(&format!("Could not save cache {key}: {e}")).await,
        },
        Ok(Err(e)) => run.say(&format!("Could not pack cache {key}: {e}")).await,
        Err(e) => run.say(&format!("Could not pack cache {key}: {e}")).await,
    }
    let _ = tokio::fs::remove_file(&zip).await;
}

/// Secondary sources, each in its own directory named by `CODEBUILD_SRC_DIR_<identifier>`.
async fn secondary_sources(run: &mut Run<'_>) -> Result<(), (&'static str, String)> {
    let sources = run.b.secondary_sources.clone().unwrap_or_default();
    let versions = run.b.secondary_source_versions.clone().unwrap_or_default();
    for s in sources {
        let Some(id) = s.source_identifier.clone().filter(|i| {
            !i.is_empty()
                && i.len() < 128
                && i.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        }) else {
            return Err((
                "CLIENT_ERROR",
                "Secondary source identifier is missing or invalid".into(),
            ));
        };
        let dir = run.ws.join("src2").join(&id);
        let version = versions
            .iter()
            .find(|v| v.source_identifier == id)
            .map(|v| v.source_version.clone());
        let location = s.location.clone().unwrap_or_default();
        match s.r#type {
            SourceType::Codecommit => {
                let resolved =
                    crate::source::codecommit(&run.svc.commit, &location, version.as_deref(), &dir)
                        .await
                        .map_err(|e| ("CLIENT_ERROR", format!("secondary source {id}: {}", e.0)))?;
                run.env
                    .set(&format!("CODEBUILD_RESOLVED_SOURCE_VERSION_{id}"), resolved);
            }
            SourceType::S3 => {
                crate::source::s3_zip(
                    &run.svc.s3,
                    &location,
                    version.as_deref(),
                    &dir,
                    &run.ws.join("tmp"),
                )
                .await
                .map_err(|e| ("CLIENT_ERROR", format!("secondary source {id}: {}", e.0)))?;
            }
            other => {
                return Err((
                    "CLIENT_ERROR",
                    format!(
                        "Secondary source type {} is not supported by Ferry yet",
                        source_type_name(other)
                    ),
                ));
            }
        }
        run.env
            .set(&format!("CODEBUILD_SRC_DIR_{id}"), dir.to_string_lossy());
        run.env.set(
            &format!("CODEBUILD_SOURCE_REPO_URL_{id}"),
            location.as_str(),
        );
        if let Some(v) = version {
            run.env.set(&format!("CODEBUILD_SOURCE_VERSION_{id}"), v);
        }
    }
    Ok(())
}

fn source_type_name(t: SourceType) -> String {
    serde_json::to_value(t)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The buildspec's text: inline, a path in the source, or an object in Ferry's S3.
async fn buildspec_text(
    run: &Run<'_>,
    configured: Option<&str>,
) -> Result<String, (&'static str, String)> {
    let configured = configured.map(str::trim).filter(|c| !c.is_empty());
    match configured {
        Some(c) if c.contains('\n') || c.starts_with("version") => Ok(c.to_owned()),
        Some(c) if c.starts_with("arn:aws:s3:::") => {
            let (bucket, key) = c["arn:aws:s3:::".len()..]
                .split_once('/')
                .ok_or(("YAML_FILE_ERROR", format!("Invalid buildspec location {c}")))?;
            let dest = run.ws.join("tmp/buildspec.yml");
            run.svc
                .s3
                .read_to_file(bucket, key, None, &dest)
                .await
                .map_err(|e| ("YAML_FILE_ERROR", format!("{c}: {}", e.message)))?;
            tokio::fs::read_to_string(&dest)
                .await
                .map_err(|e| ("YAML_FILE_ERROR", e.to_string()))
        }
        other => {
            let rel = other.unwrap_or("buildspec.yml");
            let path = inside(&run.src, rel).ok_or((
                "YAML_FILE_ERROR",
                format!("Invalid buildspec path {rel}: it must stay inside the source directory"),
            ))?;
            tokio::fs::read_to_string(&path).await.map_err(|_| {
                (
                    "YAML_FILE_ERROR",
                    format!("stat {}: no such file or directory", path.display()),
                )
            })
        }
    }
}

/// `root/rel` when `rel` stays inside `root` (no `..` escapes, not absolute).
fn inside(root: &Path, rel: &str) -> Option<PathBuf> {
    let mut out = root.to_path_buf();
    for c in Path::new(rel).components() {
        match c {
            std::path::Component::Normal(s) => out.push(s),
            std::path::Component::CurDir => {}
            _ => return None,
        }
    }
    Some(out)
}

/// UPLOAD_ARTIFACTS: the primary artifact and each secondary one (matched to the project's
/// `secondaryArtifacts` by identifier).
async fn upload_artifacts(run: &mut Run<'_>, spec: &Buildspec) -> Result<(), String> {
    let Some(art) = &spec.artifacts else {
        return Ok(());
    };
    if let Some(project_art) = run.extras.artifacts.clone()
        && let Some(done) = upload_one(run, &project_art, art).await?
    {
        run.b.artifacts = Some(done);
    }
    let configured = run.extras.secondary_artifacts.clone().unwrap_or_default();
    let mut results = Vec::new();
    for (id, sec) in &art.secondary {
        let project_art = configured
            .iter()
            .find(|a| a.artifact_identifier.as_deref() == Some(id.as_str()))
            .ok_or_else(|| format!("Secondary artifact {id} is not configured in the project"))?;
        if let Some(mut done) = upload_one(run, project_art, sec).await? {
            done.artifact_identifier = Some(id.clone());
            results.push(done);
        }
    }
    if !results.is_empty() {
        run.b.secondary_artifacts = Some(results);
    }
    Ok(())
}

/// One artifact: the selected files, zipped or one by one, into Ferry's S3 at
/// `<location>/<path>/<build-id?>/<name>`; `None` when the project does not store it in S3.
async fn upload_one(
    run: &mut Run<'_>,
    project_art: &ferry_model::codebuild::ProjectArtifacts,
    art: &crate::buildspec::Artifacts,
) -> Result<Option<BuildArtifacts>, String> {
    if project_art.r#type != ArtifactsType::S3 {
        return Ok(None);
    }
    let bucket = project_art.location.clone().unwrap_or_default();
    let selected = crate::artifacts::select(&run.src, art).map_err(|e| e.to_string())?;
    let total: u64 = selected
        .iter()
        .filter_map(|s| std::fs::metadata(&s.source).ok())
        .map(|m| m.len())
        .sum();
    if total > MAX_ARTIFACT_BYTES {
        return Err(format!(
            "artifact files total {total} bytes, more than the {} GiB an artifact may hold",
            MAX_ARTIFACT_BYTES >> 30
        ));
    }
    let id = run.b.id.clone().unwrap_or_default();
    let uuid = id.rsplit(':').next().unwrap_or(&id).to_owned();
    let mut name = project_art.name.clone().unwrap_or_default();
    if project_art.override_artifact_name.unwrap_or(false)
        && let Some(n) = &art.name
    {
        let env = run.command_env();
        name = match (&run.shell, &run.place) {
            (Some(sh), Some(place)) => sh.expand(&**place, n, &env).await,
            _ => n.clone(),
        };
    }
    let mut prefix: Vec<String> = Vec::new();
    if let Some(p) = project_art.path.as_deref().filter(|p| !p.is_empty()) {
        prefix.push(p.trim_matches('/').to_owned());
    }
    if project_art.namespace_type == Some(ferry_model::codebuild::ArtifactNamespace::BuildId) {
        prefix.push(uuid.clone());
    }
    let zip = project_art.packaging == Some(ArtifactPackaging::Zip);
    let arn = run.b.arn.clone().unwrap_or_default();
    let mut meta = vec![("codebuild-buildarn".to_owned(), arn)];
    let key_of = |name: &str| {
        let mut parts = prefix.clone();
        if !name.is_empty() && name != "/" {
            parts.push(name.trim_matches('/').to_owned());
        }
        parts.join("/")
    };
    let result = if zip {
        let files: Vec<(PathBuf, String)> = selected
            .iter()
            .map(|s| (s.source.clone(), s.archive_path.clone()))
            .collect();
        let zip_path = run.ws.join(format!(
            "tmp/artifact-{}.zip",
            uuid::Uuid::new_v4().simple()
        ));
        let zp = zip_path.clone();
        tokio::task::spawn_blocking(move || crate::archive::zip_files(&files, &zp))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| format!("could not package the artifact: {e}"))?;
        let (md5, sha256) = file_digests(&zip_path).await.map_err(|e| e.to_string())?;
        meta.push(("codebuild-content-md5".into(), md5.clone()));
        meta.push(("codebuild-content-sha256".into(), sha256.clone()));
        let key = key_of(&name);
        run.svc
            .s3
            .put_local_file(&bucket, &key, &zip_path, "application/zip", &meta)
            .await
            .map_err(|e| format!("{}: {}", e.code, e.message))?;
        let _ = tokio::fs::remove_file(&zip_path).await;
        BuildArtifacts {
            location: Some(format!("arn:aws:s3:::{bucket}/{key}")),
            md5sum: Some(md5),
            sha256sum: Some(sha256),
            ..BuildArtifacts::default()
        }
    } else {
        let base = key_of(&name);
        for s in &selected {
            let key = if base.is_empty() {
                s.archive_path.clone()
            } else {
                format!("{base}/{}", s.archive_path)
            };
            run.svc
                .s3
                .put_local_file(&bucket, &key, &s.source, "binary/octet-stream", &meta)
                .await
                .map_err(|e| format!("{}: {}", e.code, e.message))?;
        }
        BuildArtifacts {
            location: Some(format!("arn:aws:s3:::{bucket}/{base}")),
            ..BuildArtifacts::default()
        }
    };
    run.say(&format!(
        "Uploaded {} artifact file(s) to {}",
        selected.len(),
        result.location.as_deref().unwrap_or("")
    ))
    .await;
    Ok(Some(result))
}

async fn file_digests(path: &Path) -> std::io::Result<(String, String)> {
    use md5::Digest as _;
    use tokio::io::AsyncReadExt;
    let mut f = tokio::fs::File::open(path).await?;
    let mut md5 = md5::Md5::new();
    let mut sha = sha2::Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = f.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        md5.update(&buf[..n]);
        sha.update(&buf[..n]);
    }
    Ok((hex::encode(md5.finalize()), hex::encode(sha.finalize())))
}

/// The buildspec text of a batch: the override, the project's inline or S3 buildspec, or the
/// file in a checkout of the source (`buildspec.yml` unless the project names another path).
pub(crate) async fn batchspec_text(
    svc: &BuildService,
    b: &ferry_model::codebuild::BuildBatch,
    input: &ferry_model::codebuild::StartBuildBatchInput,
) -> Result<String, String> {
    let source = b.source.clone().unwrap_or_default();
    let configured = input
        .buildspec_override
        .clone()
        .or_else(|| source.buildspec.clone())
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty());
    if let Some(c) = &configured
        && (c.contains('\n') || c.starts_with("version"))
    {
        return Ok(c.clone());
    }
    let scratch = svc
        .settings
        .work_dir
        .join(format!("batchspec-{}", uuid::Uuid::new_v4().simple()));
    let src = scratch.join("src");
    let result = async {
        tokio::fs::create_dir_all(&scratch)
            .await
            .map_err(|e| e.to_string())?;
        if let Some(c) = configured
            .as_deref()
            .filter(|c| c.starts_with("arn:aws:s3:::"))
        {
            let (bucket, key) = c["arn:aws:s3:::".len()..]
                .split_once('/')
                .ok_or_else(|| format!("Invalid buildspec location {c}"))?;
            let dest = scratch.join("buildspec.yml");
            svc.s3
                .read_to_file(bucket, key, None, &dest)
                .await
                .map_err(|e| e.message)?;
            return tokio::fs::read_to_string(&dest)
                .await
                .map_err(|e| e.to_string());
        }
        let location = source.location.clone().unwrap_or_default();
        match source.r#type {
            SourceType::Codecommit => {
                crate::source::codecommit(
                    &svc.commit,
                    &location,
                    b.source_version.as_deref(),
                    &src,
                )
                .await
                .map_err(|e| e.0)?;
            }
            SourceType::S3 | SourceType::Codepipeline => {
                crate::source::s3_zip(
                    &svc.s3,
                    &location,
                    b.source_version.as_deref(),
                    &src,
                    &scratch,
                )
                .await
                .map_err(|e| e.0)?;
            }
            _ => return Err("The batch's source has no buildspec file".to_owned()),
        }
        let rel = configured.as_deref().unwrap_or("buildspec.yml");
        let path = inside(&src, rel).ok_or_else(|| format!("Invalid buildspec path {rel}"))?;
        tokio::fs::read_to_string(&path)
            .await
            .map_err(|_| format!("stat {}: no such file or directory", path.display()))
    }
    .await;
    let _ = tokio::fs::remove_dir_all(&scratch).await;
    result
}

/// Puts the build's log, gzipped, at `bucket/key` in Ferry's S3 (S3 logs).
async fn upload_log(svc: &BuildService, dest: &str, copy: &Path) {
    let Some((bucket, key)) = dest.split_once('/') else {
        return;
    };
    let gz = copy.with_extension("log.gz");
    let (src, out) = (copy.to_path_buf(), gz.clone());
    let packed = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        let mut input = std::fs::File::open(&src)?;
        let mut enc = flate2::write::GzEncoder::new(
            std::fs::File::create(&out)?,
            flate2::Compression::default(),
        );
        std::io::copy(&mut input, &mut enc)?;
        enc.finish()?;
        Ok(())
    })
    .await;
    if !matches!(packed, Ok(Ok(()))) {
        tracing::warn!(dest, "could not compress the build log for S3");
        return;
    }
    if let Err(e) = svc
        .s3
        .put_local_file(bucket, key, &gz, "application/gzip", &[])
        .await
    {
        tracing::warn!(dest, error = %e.message, "could not store the build log in S3");
    }
}
