use super::*;
use crate::diagnostics::ErrorCode;
use crate::spec::DeploymentType;
use std::fs;
use std::io::{Cursor, Write};
use zip::write::SimpleFileOptions;

const IN_PLACE_EVENTS: [&str; 7] = [
    "ApplicationStop",
    "DownloadBundle",
    "BeforeInstall",
    "Install",
    "AfterInstall",
    "ApplicationStart",
    "ValidateService",
];

/// `tmp/root` is the agent's root, `tmp/www` where bundles install to, `tmp/events.log` what
/// the scripts record.
struct Host {
    tmp: tempfile::TempDir,
    agent: Agent,
}

impl Host {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let mut agent = Agent::new(tmp.path().join("root"));
        agent.allowed_roots = vec![tmp.path().to_owned()];
        agent.kill_grace = Duration::from_millis(200);
        Self { tmp, agent }
    }
    fn path(&self, rel: &str) -> PathBuf {
        self.tmp.path().join(rel)
    }
    fn events(&self) -> Vec<String> {
        fs::read_to_string(self.path("events.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }
    /// A zip bundle whose scripts append `<event> <tag> $DEPLOYMENT_ID` to events.log, for the
    /// events in `hooks`, plus the `app/` files given.
    fn bundle(&self, tag: &str, hooks: &[&str], app_files: &[(&str, &str)]) -> PathBuf {
        let mut appspec = format!(
            "version: 0.0\nos: linux\nfiles:\n  - source: app\n    destination: {}\nhooks:\n",
            self.path("www").display()
        );
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let exec = SimpleFileOptions::default().unix_permissions(0o755);
        for event in hooks {
            appspec.push_str(&format!(
                "  {event}:\n    - location: scripts/{event}.sh\n      timeout: 60\n"
            ));
            zip.start_file(format!("scripts/{event}.sh"), exec).unwrap();
            write!(
                zip,
                "#!/bin/sh\necho \"$LIFECYCLE_EVENT {tag} $DEPLOYMENT_ID\" >> '{}'\n",
                self.path("events.log").display()
            )
            .unwrap();
        }
        zip.start_file("appspec.yml", SimpleFileOptions::default())
            .unwrap();
        zip.write_all(appspec.as_bytes()).unwrap();
        for (name, contents) in app_files {
            zip.start_file(format!("app/{name}"), SimpleFileOptions::default())
                .unwrap();
            zip.write_all(contents.as_bytes()).unwrap();
        }
        let path = self.path(&format!("{tag}.zip"));
        fs::write(&path, zip.finish().unwrap().into_inner()).unwrap();
        path
    }
    async fn run(
        &self,
        command: &str,
        spec: &DeploymentSpec,
        bundle: Option<&Path>,
    ) -> Diagnostics {
        self.agent.execute(command, spec, bundle, None).await
    }
    /// Every in-place event in order, as the service would send them; stops at a failure.
    async fn deploy(&self, spec: &DeploymentSpec, bundle: &Path) -> Vec<(String, bool)> {
        let mut seen = Vec::new();
        for event in IN_PLACE_EVENTS {
            let noop = self.agent.is_noop(event, spec).await;
            let d = self.run(event, spec, Some(bundle)).await;
            assert!(d.is_success(), "{event}: {d:?}");
            seen.push((event.to_owned(), noop));
        }
        seen
    }
}

fn spec(deployment_id: &str) -> DeploymentSpec {
    DeploymentSpec::from_json(&format!(
        r#"{{"DeploymentId": "{deployment_id}", "DeploymentGroupId": "dg-1",
            "DeploymentGroupName": "web", "ApplicationName": "shop",
            "Revision": {{"RevisionType": "S3",
              "S3Revision": {{"Bucket": "b", "Key": "k", "BundleType": "zip"}}}}}}"#
    ))
    .unwrap()
}

const ALL_HOOKS: [&str; 5] = [
    "ApplicationStop",
    "BeforeInstall",
    "AfterInstall",
    "ApplicationStart",
    "ValidateService",
];

#[tokio::test]
async fn two_in_place_deployments_of_one_group() {
    let host = Host::new();
    let v1 = host.bundle(
        "v1",
        &ALL_HOOKS,
        &[("index.html", "v1"), ("old-only.txt", "v1")],
    );
    let seen = host.deploy(&spec("d-1"), &v1).await;
    // The first ApplicationStop has no previous revision: a no-op.
    assert_eq!(seen[0], ("ApplicationStop".to_owned(), true));
    assert!(seen[1..].iter().all(|(_, noop)| !noop), "{seen:?}");
    assert_eq!(
        fs::read_to_string(host.path("www/index.html")).unwrap(),
        "v1"
    );

    let v2 = host.bundle("v2", &ALL_HOOKS, &[("index.html", "v2")]);
    host.deploy(&spec("d-2"), &v2).await;

    assert_eq!(
        host.events(),
        [
            "BeforeInstall v1 d-1",
            "AfterInstall v1 d-1",
            "ApplicationStart v1 d-1",
            "ValidateService v1 d-1",
            // Deployment 2 stops the application with deployment 1's script.
            "ApplicationStop v1 d-2",
            "BeforeInstall v2 d-2",
            "AfterInstall v2 d-2",
            "ApplicationStart v2 d-2",
            "ValidateService v2 d-2",
        ]
    );
    // The cleanup removed what deployment 1 installed and deployment 2 no longer ships.
    assert_eq!(
        fs::read_to_string(host.path("www/index.html")).unwrap(),
        "v2"
    );
    assert!(!host.path("www/old-only.txt").exists());

    let layout = &host.agent.layout;
    let d2 = layout.deployment("dg-1", "d-2").unwrap();
    assert_eq!(
        layout.last_successful("dg-1").await.unwrap(),
        Some(d2.clone())
    );
    assert_eq!(layout.most_recent("dg-1").await.unwrap(), Some(d2.clone()));
    let log = fs::read_to_string(d2.script_log()).unwrap();
    assert!(log.contains("LifecycleEvent - ApplicationStop"), "{log}");
    assert!(log.contains("Script - scripts/ApplicationStop.sh"), "{log}");
}

#[tokio::test]
async fn application_stop_uses_the_last_install_even_if_it_then_failed() {
    let host = Host::new();
    let v1 = host.bundle("v1", &["ApplicationStop"], &[("a", "1")]);
    let s1 = spec("d-1");
    host.run("DownloadBundle", &s1, Some(&v1)).await;
    host.run("Install", &s1, None).await;
    // d-1 then fails in ApplicationStart (not modelled here); d-2 arrives.
    let v2 = host.bundle("v2", &["ApplicationStop"], &[("a", "2")]);
    let s2 = spec("d-2");
    assert!(!host.agent.is_noop("ApplicationStop", &s2).await);
    assert!(host.run("ApplicationStop", &s2, None).await.is_success());
    assert_eq!(host.events(), ["ApplicationStop v1 d-2"]);
    host.run("DownloadBundle", &s2, Some(&v2)).await;
    // Downloaded but not installed: ApplicationStop still uses v1.
    host.run("ApplicationStop", &s2, None).await;
    assert_eq!(
        host.events(),
        ["ApplicationStop v1 d-2", "ApplicationStop v1 d-2"]
    );
}

#[tokio::test]
async fn blue_green_rollback_maps_traffic_hooks() {
    let host = Host::new();
    let traffic = [
        "BeforeBlockTraffic",
        "AfterBlockTraffic",
        "BeforeAllowTraffic",
        "AfterAllowTraffic",
    ];
    // `good` is installed (last successful); `bad` only downloaded (most recent).
    let good = host.bundle("good", &traffic, &[("a", "1")]);
    let bad = host.bundle("bad", &traffic, &[("a", "2")]);
    host.run("DownloadBundle", &spec("d-good"), Some(&good))
        .await;
    host.run("Install", &spec("d-good"), None).await;
    host.run("DownloadBundle", &spec("d-bad"), Some(&bad)).await;

    let mut rollback = spec("d-rb");
    rollback.deployment_creator = "codeDeployRollback".into();
    rollback.deployment_type = DeploymentType::BlueGreen;
    for event in traffic {
        assert!(
            host.run(event, &rollback, None).await.is_success(),
            "{event}"
        );
    }
    assert_eq!(
        host.events(),
        [
            "BeforeBlockTraffic bad d-rb",
            "AfterBlockTraffic bad d-rb",
            "BeforeAllowTraffic good d-rb",
            "AfterAllowTraffic good d-rb",
        ]
    );

    // Without the rollback: block-traffic hooks use the last successful install, allow-traffic
    // hooks the current deployment's bundle.
    fs::remove_file(host.path("events.log")).unwrap();
    let current = spec("d-bad");
    for event in traffic {
        assert!(
            host.run(event, &current, None).await.is_success(),
            "{event}"
        );
    }
    assert_eq!(
        host.events(),
        [
            "BeforeBlockTraffic good d-bad",
            "AfterBlockTraffic good d-bad",
            "BeforeAllowTraffic bad d-bad",
            "AfterAllowTraffic bad d-bad",
        ]
    );
}

#[tokio::test]
async fn file_exists_behavior_comes_from_the_appspec_then_the_deployment() {
    let host = Host::new();
    fs::create_dir(host.path("www")).unwrap();
    fs::write(host.path("www/a"), "theirs").unwrap();
    let v1 = host.bundle("v1", &[], &[("a", "ours")]);
    let mut s = spec("d-1");
    host.run("DownloadBundle", &s, Some(&v1)).await;
    let d = host.run("Install", &s, None).await;
    assert_eq!(d.error_code, ErrorCode::UnknownError);
    assert!(
        d.message
            .starts_with("The deployment failed because a specified file already exists"),
        "{}",
        d.message
    );
    assert_eq!(
        host.agent.layout.last_successful("dg-1").await.unwrap(),
        None
    );

    s.agent_action_overrides = Some(crate::spec::AgentActionOverrides {
        agent_overrides: Some(crate::spec::AgentOverrides {
            file_exists_behavior: Some(FileExistsBehavior::Retain),
        }),
    });
    assert!(host.run("Install", &s, None).await.is_success());
    assert_eq!(fs::read_to_string(host.path("www/a")).unwrap(), "theirs");

    // The appspec's own setting wins over the deployment's.
    let archive = host
        .agent
        .layout
        .deployment("dg-1", "d-1")
        .unwrap()
        .archive_dir();
    let appspec_path = archive.join("appspec.yml");
    let text = fs::read_to_string(&appspec_path).unwrap();
    fs::write(
        &appspec_path,
        format!("{text}file_exists_behavior: OVERWRITE\n"),
    )
    .unwrap();
    assert!(host.run("Install", &s, None).await.is_success());
    assert_eq!(fs::read_to_string(host.path("www/a")).unwrap(), "ours");
}

#[tokio::test]
async fn bad_bundles_fail_download_bundle() {
    let host = Host::new();
    let s = spec("d-1");
    let junk = host.path("junk.zip");
    fs::write(&junk, "not a zip").unwrap();
    let d = host.run("DownloadBundle", &s, Some(&junk)).await;
    assert_eq!(d.error_code, ErrorCode::UnknownError);
    assert!(
        d.message
            .starts_with("The deployment failed because the revision is invalid: "),
        "{}",
        d.message
    );
    assert_eq!(host.agent.layout.most_recent("dg-1").await.unwrap(), None);

    // A bundle without an appspec.
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    zip.start_file("readme", SimpleFileOptions::default())
        .unwrap();
    let bare = host.path("bare.zip");
    fs::write(&bare, zip.finish().unwrap().into_inner()).unwrap();
    let d = host.run("DownloadBundle", &s, Some(&bare)).await;
    assert!(
        d.message.starts_with(
            "The CodeDeploy agent did not find an AppSpec file within the unpacked revision directory at revision-relative path \"appspec.yml\""
        ),
        "{}",
        d.message
    );

    // An invalid appspec names the problem and its line.
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    zip.start_file("appspec.yml", SimpleFileOptions::default())
        .unwrap();
    zip.write_all(b"version: 0.0\nos: windows\n").unwrap();
    let wrong = host.path("wrong.zip");
    fs::write(&wrong, zip.finish().unwrap().into_inner()).unwrap();
    let d = host.run("DownloadBundle", &s, Some(&wrong)).await;
    assert!(
        d.message.contains("windows") && d.message.contains("line 2"),
        "{}",
        d.message
    );

    // No bundle given, or a revision type this agent cannot unpack.
    assert!(!host.run("DownloadBundle", &s, None).await.is_success());
    let mut github = spec("d-1");
    github.revision.s3_revision = None;
    github.revision.revision_type = "GitHub".into();
    let d = host.run("DownloadBundle", &github, Some(&junk)).await;
    assert!(d.message.contains("GitHub"), "{}", d.message);
}

#[tokio::test]
async fn a_retried_download_bundle_starts_afresh() {
    let host = Host::new();
    let s = spec("d-1");
    let v1 = host.bundle("v1", &[], &[("a", "1")]);
    assert!(host.run("DownloadBundle", &s, Some(&v1)).await.is_success());
    assert!(host.run("DownloadBundle", &s, Some(&v1)).await.is_success());
}

#[tokio::test]
async fn hook_failures_come_back_as_diagnostics() {
    let host = Host::new();
    let s = spec("d-1");
    let v1 = host.bundle("v1", &[], &[("a", "1")]);
    host.run("DownloadBundle", &s, Some(&v1)).await;
    let archive = host
        .agent
        .layout
        .deployment("dg-1", "d-1")
        .unwrap()
        .archive_dir();
    fs::write(
        archive.join("appspec.yml"),
        "version: 0.0\nos: linux\nhooks:\n  AfterInstall:\n    - location: missing.sh\n",
    )
    .unwrap();
    assert!(!host.agent.is_noop("AfterInstall", &s).await);
    let d = host.run("AfterInstall", &s, None).await;
    assert_eq!(d.error_code, ErrorCode::ScriptMissing);
    assert_eq!(d.script_name, "missing.sh");
    // Events without scripts are no-ops and succeed.
    assert!(host.agent.is_noop("BeforeInstall", &s).await);
    assert!(host.run("BeforeInstall", &s, None).await.is_success());
}

#[tokio::test]
async fn commands_and_noops() {
    let host = Host::new();
    let mut s = spec("d-1");
    assert!(!host.agent.is_noop("DownloadBundle", &s).await);
    assert!(!host.agent.is_noop("Install", &s).await);
    assert!(!host.agent.is_noop("Reboot", &s).await);
    let d = host.run("Reboot", &s, None).await;
    assert_eq!(d.error_code, ErrorCode::UnknownError);
    assert!(d.message.contains("Reboot"));
    // Reserved events are never sent to the agent.
    assert_eq!(Command::parse("BlockTraffic", &s), None);
    s.all_possible_lifecycle_events = Some(vec!["Warmup".into()]);
    assert_eq!(Command::parse("Warmup", &s), Some(Command::Hook("Warmup")));
    // A current-bundle hook before DownloadBundle: the appspec is missing.
    let d = host.run("BeforeInstall", &s, None).await;
    assert_eq!(d.error_code, ErrorCode::UnknownError);
    assert!(
        d.message.contains("did not find an AppSpec file"),
        "{}",
        d.message
    );
}

#[tokio::test]
async fn ids_that_would_escape_the_root_are_refused() {
    let host = Host::new();
    let mut s = spec("../../etc");
    assert!(!host.run("Install", &s, None).await.is_success());
    s = spec("d-1");
    s.deployment_group_id = "..".into();
    let d = host.run("ApplicationStop", &s, None).await;
    assert_eq!(d.error_code, ErrorCode::UnknownError);
}

#[tokio::test]
async fn output_is_streamed_to_the_caller() {
    let host = Host::new();
    let s = spec("d-1");
    let v1 = host.bundle("v1", &["AfterInstall"], &[("a", "1")]);
    host.run("DownloadBundle", &s, Some(&v1)).await;
    let archive = host
        .agent
        .layout
        .deployment("dg-1", "d-1")
        .unwrap()
        .archive_dir();
    fs::write(
        archive.join("scripts/AfterInstall.sh"),
        "#!/bin/sh\necho streamed\n",
    )
    .unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let d = host.agent.execute("AfterInstall", &s, None, Some(tx)).await;
    assert!(d.is_success());
    assert_eq!(rx.recv().await.unwrap().line, "streamed");
}
