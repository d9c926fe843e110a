//! The phase record of a build, as `BatchGetBuilds` shows it: one entry per phase entered,
//! with start and end times, duration, status and contexts; `currentPhase` and `buildStatus`
//! kept in step; and the AWS rules for which phase comes after a failure.

use ferry_model::codebuild::{Build, BuildPhase, BuildPhaseType, PhaseContext, StatusType};
use ferry_types::Timestamp;

/// The name AWS prints for a phase (`DOWNLOAD_SOURCE`, …).
pub fn phase_name(p: BuildPhaseType) -> &'static str {
    match p {
        BuildPhaseType::Submitted => "SUBMITTED",
        BuildPhaseType::Queued => "QUEUED",
        BuildPhaseType::Provisioning => "PROVISIONING",
        BuildPhaseType::DownloadSource => "DOWNLOAD_SOURCE",
        BuildPhaseType::Install => "INSTALL",
        BuildPhaseType::PreBuild => "PRE_BUILD",
        BuildPhaseType::Build => "BUILD",
        BuildPhaseType::PostBuild => "POST_BUILD",
        BuildPhaseType::UploadArtifacts => "UPLOAD_ARTIFACTS",
        BuildPhaseType::Finalizing => "FINALIZING",
        BuildPhaseType::Completed => "COMPLETED",
    }
}

/// The name AWS prints for a status.
pub fn status_name(s: StatusType) -> &'static str {
    match s {
        StatusType::Succeeded => "SUCCEEDED",
        StatusType::Failed => "FAILED",
        StatusType::Fault => "FAULT",
        StatusType::TimedOut => "TIMED_OUT",
        StatusType::InProgress => "IN_PROGRESS",
        StatusType::Stopped => "STOPPED",
    }
}

/// Starts a phase: a new entry without status or end, and `currentPhase`.
pub fn enter(b: &mut Build, phase: BuildPhaseType, at: Timestamp) {
    let phases = b.phases.get_or_insert_with(Vec::new);
    phases.push(BuildPhase {
        phase_type: Some(phase),
        start_time: Some(at),
        ..BuildPhase::default()
    });
    b.current_phase = Some(phase_name(phase).to_owned());
}

/// Ends the phase in progress with a status and, for failures, a context.
pub fn end(b: &mut Build, status: StatusType, context: Option<(&str, &str)>, at: Timestamp) {
    let Some(last) = b.phases.as_mut().and_then(|p| p.last_mut()) else {
        return;
    };
    if last.phase_status.is_some() {
        return;
    }
    last.phase_status = Some(status);
    last.end_time = Some(at);
    let start = last.start_time.map_or(at.millis(), |s| s.millis());
    last.duration_in_seconds = Some((at.millis() - start).max(0) / 1000);
    last.contexts = Some(match context {
        Some((code, message)) => vec![PhaseContext {
            status_code: Some(code.to_owned()),
            message: Some(message.to_owned()),
        }],
        None => vec![PhaseContext {
            status_code: Some(String::new()),
            message: Some(String::new()),
        }],
    });
}

/// Records a phase that starts and ends at once.
pub fn instant(b: &mut Build, phase: BuildPhaseType, status: StatusType, at: Timestamp) {
    enter(b, phase, at);
    end(b, status, None, at);
}

/// Closes the build: the terminal `COMPLETED` entry, status, end time.
pub fn complete(b: &mut Build, status: StatusType, at: Timestamp) {
    b.phases.get_or_insert_with(Vec::new).push(BuildPhase {
        phase_type: Some(BuildPhaseType::Completed),
        start_time: Some(at),
        ..BuildPhase::default()
    });
    b.current_phase = Some("COMPLETED".to_owned());
    b.build_status = Some(status);
    b.end_time = Some(at);
    b.build_complete = Some(true);
}

/// The command phases, in order.
pub const COMMAND_PHASES: [BuildPhaseType; 4] = [
    BuildPhaseType::Install,
    BuildPhaseType::PreBuild,
    BuildPhaseType::Build,
    BuildPhaseType::PostBuild,
];

/// After a phase failed without `on-failure: CONTINUE`: the phase to go to next (reference
/// §3.1). INSTALL / PRE_BUILD failures skip to FINALIZING; BUILD still runs POST_BUILD;
/// POST_BUILD still uploads artifacts.
pub fn after_failure(failed: BuildPhaseType) -> BuildPhaseType {
    match failed {
        BuildPhaseType::Build => BuildPhaseType::PostBuild,
        BuildPhaseType::PostBuild => BuildPhaseType::UploadArtifacts,
        _ => BuildPhaseType::Finalizing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_and_rules() {
        let mut b = Build::default();
        let t0 = Timestamp::from_millis(1_000);
        instant(&mut b, BuildPhaseType::Submitted, StatusType::Succeeded, t0);
        enter(&mut b, BuildPhaseType::Queued, t0);
        assert_eq!(b.current_phase.as_deref(), Some("QUEUED"));
        end(
            &mut b,
            StatusType::Failed,
            Some(("X", "why")),
            Timestamp::from_millis(4_500),
        );
        let q = &b.phases.as_ref().unwrap()[1];
        assert_eq!(q.duration_in_seconds, Some(3));
        assert_eq!(
            q.contexts.as_ref().unwrap()[0].status_code.as_deref(),
            Some("X")
        );
        complete(&mut b, StatusType::Failed, Timestamp::from_millis(5_000));
        assert_eq!(b.current_phase.as_deref(), Some("COMPLETED"));
        assert_eq!(b.build_complete, Some(true));
        assert_eq!(
            after_failure(BuildPhaseType::Build),
            BuildPhaseType::PostBuild
        );
        assert_eq!(
            after_failure(BuildPhaseType::PostBuild),
            BuildPhaseType::UploadArtifacts
        );
        assert_eq!(
            after_failure(BuildPhaseType::PreBuild),
            BuildPhaseType::Finalizing
        );
        assert_eq!(
            after_failure(BuildPhaseType::Install),
            BuildPhaseType::Finalizing
        );
    }
}
