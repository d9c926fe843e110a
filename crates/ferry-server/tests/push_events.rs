//! In-process server: a real `git push` publishes one event per changed ref on the event bus,
//! sets the default branch, and graceful shutdown completes. Runs on every backend.

use std::process::Command;
use std::time::Duration;

use ferry_model::codecommit::{CodeCommit, CreateRepositoryInput};
use ferry_server::{ServerConfig, start};
use ferry_store::events::Event;
use ferry_wire::RequestContext;

fn git(dir: &std::path::Path, args: &[&str]) {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=T",
            "-c",
            "user.email=t@example.com",
            "-c",
            "init.defaultBranch=trunk",
        ])
        .args(args)
        .current_dir(dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_publishes_ref_events() {
    let tmp = tempfile::tempdir().unwrap();
    for (i, url) in ferry_store::testing::database_urls(tmp.path())
        .await
        .unwrap()
        .into_iter()
        .enumerate()
    {
        let mut config = ServerConfig::new(tmp.path().join(format!("data{i}")));
        config.listen = "127.0.0.1:0".parse().unwrap();
        config.database_url = Some(url);
        config.root_access_key = Some(("AKIAEVENTSTEST000001".into(), "secret".into()));
        let ferry = start(config).await.unwrap();
        let mut events = ferry.state.store.events().subscribe();
        let ctx = RequestContext {
            account_id: ferry.account_id.clone(),
            ..Default::default()
        };
        let input = CreateRepositoryInput {
            repository_name: "ev".into(),
            ..Default::default()
        };
        let md = ferry
            .state
            .commit
            .create_repository(&ctx, input)
            .await
            .unwrap()
            .repository_metadata
            .unwrap();
        let (user, pass) = ferry
            .state
            .store
            .create_git_credential("root")
            .await
            .unwrap();

        let work = tmp.path().join(format!("work{i}"));
        std::fs::create_dir_all(&work).unwrap();
        let remote = format!("http://{user}:{pass}@{}/v1/repos/ev", ferry.addr);
        let w = work.clone();
        tokio::task::spawn_blocking(move || {
            git(&w, &["init", "-q"]);
            std::fs::write(w.join("f"), "x").unwrap();
            git(&w, &["add", "f"]);
            git(&w, &["commit", "-q", "-m", "m"]);
            git(&w, &["tag", "v1"]);
            git(&w, &["push", "-q", &remote, "trunk", "v1"]);
        })
        .await
        .unwrap();

        let mut seen = Vec::new();
        for _ in 0..2 {
            let ev = tokio::time::timeout(Duration::from_secs(5), events.recv())
                .await
                .unwrap()
                .unwrap();
            let Event::RefUpdated {
                repository_id,
                repository_name,
                ref_name,
                old,
                new,
            } = ev;
            assert_eq!(Some(repository_id), md.repository_id);
            assert_eq!(repository_name, "ev");
            assert!(old.is_none() && new.is_some());
            seen.push(ref_name);
        }
        seen.sort();
        assert_eq!(seen, ["refs/heads/trunk", "refs/tags/v1"]);
        let repo = ferry.state.store.repository("ev").await.unwrap().unwrap();
        assert_eq!(
            repo.default_branch.as_deref(),
            Some("trunk"),
            "the only pushed branch becomes default"
        );
        ferry.shutdown().await.unwrap();
    }
}
