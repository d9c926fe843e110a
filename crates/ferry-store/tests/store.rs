//! Storage behaviour on every backend (SQLite always, PostgreSQL when configured).

use std::collections::BTreeMap;

use ferry_store::repos::{RepoRow, RepoSort};
use ferry_store::{StoreError, testing};

fn repo(name: &str, ms: i64) -> RepoRow {
    RepoRow {
        id: format!("id-{name}"),
        name: name.into(),
        description: None,
        default_branch: None,
        kms_key_id: None,
        created_ms: ms,
        modified_ms: ms,
        refs_version: 0,
    }
}

#[tokio::test]
async fn initialize_is_idempotent_and_keys_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    for store in testing::stores(dir.path()).await.unwrap() {
        let first = store
            .initialize(None, Some(("AKIDEXAMPLE", "secret-1")))
            .await
            .unwrap();
        assert_eq!(first.account_id.len(), 12);
        assert_eq!(
            first.new_root_key,
            Some(("AKIDEXAMPLE".into(), "secret-1".into()))
        );
        let again = store.initialize(None, None).await.unwrap();
        assert_eq!(again.account_id, first.account_id);
        assert_eq!(again.new_root_key, None);
        let key = store.access_key("AKIDEXAMPLE").await.unwrap().unwrap();
        assert_eq!(key.secret_access_key, "secret-1");
        assert_eq!(
            key.principal.arn,
            format!("arn:aws:iam::{}:root", first.account_id)
        );
        assert!(store.access_key("AKIDNOPE").await.unwrap().is_none());

        let alice = store.create_user("alice").await.unwrap();
        assert!(matches!(
            store.create_user("alice").await,
            Err(StoreError::Conflict(_))
        ));
        assert!(store.create_user("bad/name").await.is_err());
        let (akid, secret) = store.create_access_key("alice").await.unwrap();
        assert_eq!(
            store
                .access_key(&akid)
                .await
                .unwrap()
                .unwrap()
                .secret_access_key,
            secret
        );

        let (u1, p1) = store.create_git_credential("alice").await.unwrap();
        assert_eq!(u1, format!("alice-at-{}", first.account_id));
        let (u2, _) = store.create_git_credential("alice").await.unwrap();
        assert_ne!(u1, u2);
        assert!(
            store.create_git_credential("alice").await.is_err(),
            "two per user at most"
        );
        assert_eq!(
            store.verify_git_credential(&u1, &p1).await.unwrap(),
            Some(alice)
        );
        assert_eq!(
            store.verify_git_credential(&u1, "wrong").await.unwrap(),
            None
        );
        assert_eq!(
            store.verify_git_credential("nobody", &p1).await.unwrap(),
            None
        );
    }
}

#[tokio::test]
async fn repositories_crud_rename_and_pagination() {
    let dir = tempfile::tempdir().unwrap();
    for store in testing::stores(dir.path()).await.unwrap() {
        for (i, name) in ["b", "a", "C", "d", "_e"].iter().enumerate() {
            store
                .insert_repository(&repo(name, 1000 + i as i64))
                .await
                .unwrap();
        }
        assert!(matches!(
            store.insert_repository(&repo("a", 5)).await,
            Err(StoreError::Conflict(_))
        ));
        let names = |v: Vec<RepoRow>| v.into_iter().map(|r| r.name).collect::<Vec<_>>();
        // Byte order on both backends.
        let all = store
            .list_repositories(RepoSort::Name, false, None, 100)
            .await
            .unwrap();
        assert_eq!(names(all), ["C", "_e", "a", "b", "d"]);
        let page1 = store
            .list_repositories(RepoSort::Name, false, None, 2)
            .await
            .unwrap();
        let last = page1.last().unwrap().clone();
        let page2 = store
            .list_repositories(RepoSort::Name, false, Some((0, last.name)), 2)
            .await
            .unwrap();
        assert_eq!(names(page2), ["a", "b"]);
        let desc = store
            .list_repositories(RepoSort::LastModified, true, None, 2)
            .await
            .unwrap();
        assert_eq!(names(desc.clone()), ["_e", "d"]);
        let l = desc.last().unwrap();
        let next = store
            .list_repositories(
                RepoSort::LastModified,
                true,
                Some((l.modified_ms, l.name.clone())),
                10,
            )
            .await
            .unwrap();
        assert_eq!(names(next), ["C", "a", "b"]);

        store.rename_repository("a", "z", 2000).await.unwrap();
        assert!(store.repository("a").await.unwrap().is_none());
        assert_eq!(store.repository("z").await.unwrap().unwrap().id, "id-a");
        assert!(matches!(
            store.rename_repository("z", "b", 1).await,
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(
            store.rename_repository("nope", "q", 1).await,
            Err(StoreError::NotFound)
        ));

        assert!(
            store
                .set_default_branch("id-b", "main", true, 3000)
                .await
                .unwrap()
        );
        assert!(
            !store
                .set_default_branch("id-b", "dev", true, 3000)
                .await
                .unwrap()
        );
        assert_eq!(
            store
                .repository("b")
                .await
                .unwrap()
                .unwrap()
                .default_branch
                .as_deref(),
            Some("main")
        );
        store
            .set_repository_description("b", Some("hello"), 3001)
            .await
            .unwrap();
        assert_eq!(
            store
                .repository_by_id("id-b")
                .await
                .unwrap()
                .unwrap()
                .description
                .as_deref(),
            Some("hello")
        );

        let mut tags = BTreeMap::new();
        tags.insert("team".to_string(), "x".to_string());
        store.put_tags("id-b", &tags, 50).await.unwrap();
        tags.insert("k2".into(), "v".into());
        assert!(
            store.put_tags("id-b", &tags, 1).await.is_err(),
            "over the limit changes nothing"
        );
        assert_eq!(store.tags("id-b").await.unwrap().len(), 1);
        store
            .remove_tags("id-b", &["team".into(), "absent".into()])
            .await
            .unwrap();
        assert!(store.tags("id-b").await.unwrap().is_empty());

        store.touch_repository("id-b", 4000).await.unwrap();
        let b = store.repository("b").await.unwrap().unwrap();
        assert_eq!((b.modified_ms, b.refs_version), (4000, 1));

        let pull = ferry_store::pulls::PullRow {
            repository_id: "id-b".into(),
            title: "t".into(),
            status: "OPEN".into(),
            author_arn: "arn".into(),
            source_ref: "refs/heads/x".into(),
            destination_ref: "refs/heads/main".into(),
            source_commit: "a".into(),
            destination_commit: "b".into(),
            revision_id: "r".into(),
            ..Default::default()
        };
        let pid = store
            .insert_pull_request(&pull, ("PULL_REQUEST_CREATED", "{}"))
            .await
            .unwrap();
        store.put_triggers("id-b", "conf", "[]").await.unwrap();

        let gone = store.delete_repository("b").await.unwrap().unwrap();
        assert!(
            store.pull_request(pid).await.unwrap().is_none(),
            "pull requests go with their repository"
        );
        assert!(store.pull_request_events(pid).await.unwrap().is_empty());
        assert!(store.triggers("id-b").await.unwrap().is_none());
        assert_eq!(gone.id, "id-b");
        assert!(store.delete_repository("b").await.unwrap().is_none());
    }
}

#[tokio::test]
async fn agent_tokens_are_spent_refunded_and_expire() {
    let dir = tempfile::tempdir().unwrap();
    for store in testing::stores(dir.path()).await.unwrap() {
        let token = store.create_agent_token(60_000, 2).await.unwrap();
        assert!(token.starts_with(ferry_store::agent_tokens::TOKEN_PREFIX));
        assert!(store.spend_agent_token(&token).await.unwrap());
        assert!(store.spend_agent_token(&token).await.unwrap());
        assert!(!store.spend_agent_token(&token).await.unwrap());
        store.refund_agent_token(&token).await.unwrap();
        assert_eq!(
            store.agent_token(&token).await.unwrap().unwrap().uses_left,
            1
        );
        assert!(!store.spend_agent_token("ferryreg-unknown").await.unwrap());
        let expired = store.create_agent_token(-1, 5).await.unwrap();
        assert!(!store.spend_agent_token(&expired).await.unwrap());
        assert_eq!(store.revoke_agent_tokens().await.unwrap(), 2);
        assert!(!store.spend_agent_token(&token).await.unwrap());
    }
}

/// Two nodes sharing one PostgreSQL database: a CodeArtifact write on one moves the other's
/// generation on (so neither serves an answer it cached before the write). On SQLite, a
/// single node's own writes do.
#[tokio::test]
async fn codeartifact_writes_reach_every_node() {
    let dir = tempfile::tempdir().unwrap();
    for url in testing::database_urls(dir.path()).await.unwrap() {
        let one = ferry_store::Store::open(&url, ferry_store::secret::SecretBox::new([7; 32]))
            .await
            .unwrap();
        let before = one.ca_generation();
        one.create_ca_domain("d1", "{}", 1).await.unwrap();
        assert!(one.ca_generation() > before, "{url}: own write");
        if !url.starts_with("postgres") {
            continue;
        }
        let two = ferry_store::Store::open(&url, ferry_store::secret::SecretBox::new([7; 32]))
            .await
            .unwrap();
        // Give the listener time to subscribe, then write on node one.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let seen = two.ca_generation();
        one.create_ca_domain("d2", "{}", 2).await.unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while two.ca_generation() == seen {
            assert!(
                std::time::Instant::now() < deadline,
                "node two never heard of the write"
            );
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }
}

fn queued(id: &str, n: i64) -> ferry_store::builds::BuildRow {
    ferry_store::builds::BuildRow {
        build_id: id.into(),
        project_name: "p".into(),
        build_number: n,
        queue_state: "QUEUED".into(),
        document: "{}".into(),
        settings: "{}".into(),
        submitted_ms: n,
        stop_requested: false,
    }
}

/// Records one build (as StartBuild does, alone in its transaction).
async fn insert_one(
    store: &ferry_store::Store,
    id: &'static str,
    n_at_least: i64,
    start: Option<&ferry_store::builds::StartAtOnce>,
) -> (
    ferry_store::builds::BuildRow,
    Option<ferry_store::iam::IssuedSession>,
) {
    let mut answers = store
        .insert_builds(vec![ferry_store::builds::NewBuild {
            project: "p".into(),
            make: Box::new(move |n| queued(id, n.max(n_at_least))),
            start: start.cloned(),
        }])
        .await
        .unwrap();
    answers.remove(0).unwrap()
}

fn claim(id: &str) -> ferry_store::builds::Claim {
    ferry_store::builds::Claim {
        build_id: id.into(),
        project: "p".into(),
        limit: Some(2),
        principal: ferry_store::identity::Principal {
            user_name: format!("AWSCodeBuild-{id}"),
            arn: format!("arn:aws:sts::123456789012:assumed-role/r/AWSCodeBuild-{id}"),
        },
        duration_s: 900,
    }
}

/// Two nodes claiming the same queued builds at once never run more of a project's builds
/// than its concurrentBuildLimit, and StartBuild's start-at-once claim respects the limit and
/// the builds already waiting.
#[tokio::test]
async fn build_claims_keep_the_project_limit_across_nodes() {
    let dir = tempfile::tempdir().unwrap();
    for url in testing::database_urls(dir.path()).await.unwrap() {
        let open = || ferry_store::Store::open(&url, ferry_store::secret::SecretBox::new([7; 32]));
        let (one, two) = (open().await.unwrap(), open().await.unwrap());
        one.create_project(&ferry_store::builds::ProjectRow {
            name: "p".into(),
            arn: "arn:aws:codebuild:us-east-1:123456789012:project/p".into(),
            definition: "{}".into(),
            build_counter: 0,
            created_ms: 1,
            modified_ms: 1,
        })
        .await
        .unwrap();
        for (k, id) in ["p:a", "p:b", "p:c"].into_iter().enumerate() {
            let (_, session) = insert_one(&one, id, k as i64, None).await;
            assert!(session.is_none(), "{url}: no start asked");
        }
        let all: Vec<_> = ["p:a", "p:b", "p:c"].iter().map(|id| claim(id)).collect();
        let (got_one, got_two) = tokio::join!(
            one.claim_builds(&all, "node-1", i64::MAX),
            two.claim_builds(&all, "node-2", i64::MAX)
        );
        let (got_one, got_two) = (got_one.unwrap(), got_two.unwrap());
        assert_eq!(
            got_one.len() + got_two.len(),
            2,
            "{url}: {got_one:?} {got_two:?}"
        );
        assert_eq!(one.running_builds_of("p").await.unwrap(), 2, "{url}");
        // The project is full: a new build waits, without credentials.
        let start = ferry_store::builds::StartAtOnce {
            owner: "node-1".into(),
            until_ms: i64::MAX,
            limit: Some(2),
            principal: claim("p:d").principal,
            duration_s: 900,
        };
        let (row, session) = insert_one(&one, "p:d", 0, Some(&start)).await;
        assert!(session.is_none(), "{url}: the project is full");
        assert_eq!(row.queue_state, "QUEUED");
        // A place frees, but p:c and p:d wait before a new one: it does not jump the queue.
        let done = got_one.first().or(got_two.first()).unwrap().0.clone();
        one.save_builds(&[(done, "DONE".into(), "{}".into())])
            .await
            .unwrap();
        let (_, session) = insert_one(&one, "p:e", 0, Some(&start)).await;
        assert!(session.is_none(), "{url}: builds wait before it");
        // Once nothing waits and there is room, it starts at once with credentials.
        let rest: Vec<_> = ["p:c", "p:d", "p:e"].iter().map(|id| claim(id)).collect();
        assert_eq!(
            one.claim_builds(&rest, "node-1", i64::MAX)
                .await
                .unwrap()
                .len(),
            1,
            "{url}"
        );
        // Several builds saved by one statement; read back by one query (an unknown id is
        // left out).
        let saved: Vec<(String, String, String)> = ["p:c", "p:d", "p:e"]
            .iter()
            .map(|id| {
                (
                    id.to_string(),
                    "DONE".into(),
                    format!("{{\"id\":\"{id}\"}}"),
                )
            })
            .collect();
        one.save_builds(&saved).await.unwrap();
        let mut back = one
            .builds(&["p:e", "p:nothing", "p:c", "p:d"])
            .await
            .unwrap();
        back.sort_by(|a, b| a.build_id.cmp(&b.build_id));
        let back: Vec<_> = back
            .iter()
            .map(|b| {
                (
                    b.build_id.clone(),
                    b.queue_state.clone(),
                    b.document.clone(),
                )
            })
            .collect();
        assert_eq!(back, saved, "{url}");
        let (row, session) = insert_one(&one, "p:f", 0, Some(&start)).await;
        let session = session.expect("started at once");
        assert!(session.access_key_id.starts_with("ASIA"), "{url}");
        assert_eq!(
            one.build(&row.build_id).await.unwrap().unwrap().queue_state,
            "RUNNING"
        );
        // StartBuild requests arriving together are recorded in one transaction, each with
        // its own answer: numbered in order, started while the limit has room (one place,
        // once p:f is done), and a build of a missing project alone fails.
        one.save_builds(&[(row.build_id.clone(), "DONE".into(), "{}".into())])
            .await
            .unwrap();
        let new = |project: &str, id: &'static str| ferry_store::builds::NewBuild {
            project: project.into(),
            make: Box::new(move |n| queued(id, n)),
            start: Some(start.clone()),
        };
        let answers = one
            .insert_builds(vec![
                new("p", "p:g"),
                new("gone", "gone:x"),
                new("p", "p:h"),
            ])
            .await
            .unwrap();
        assert_eq!(answers.len(), 3, "{url}");
        let (g, g_session) = answers[0].as_ref().unwrap();
        assert!(matches!(answers[1], Err(ferry_store::StoreError::NotFound)));
        let (h, h_session) = answers[2].as_ref().unwrap();
        assert_eq!(h.build_number, g.build_number + 1, "{url}");
        assert!(
            g_session.is_some() && h_session.is_none(),
            "{url}: the limit is 2"
        );
        assert_eq!(one.running_builds_of("p").await.unwrap(), 2, "{url}");
        assert!(one.build("gone:x").await.unwrap().is_none(), "{url}");
    }
}

/// On SQLite, commits leave the write-ahead log alone and a task of the store folds it back
/// into the database file soon after: the file alone (without its log) holds what was written.
#[tokio::test]
async fn sqlite_writes_reach_the_database_file_without_a_commit_folding_them_back() {
    use sqlx::Row;
    let dir = tempfile::tempdir().unwrap();
    let store = ferry_store::Store::open_data_dir(dir.path(), None, Some(&"07".repeat(32)))
        .await
        .unwrap();
    store.insert_repository(&repo("folded", 1)).await.unwrap();
    let copy = dir.path().join("copy.db");
    let mut found = 0;
    for _ in 0..40 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        std::fs::copy(dir.path().join("ferry.db"), &copy).unwrap();
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&format!("sqlite://{}?mode=ro", copy.display()))
            .await
            .unwrap();
        found =
            sqlx::query("SELECT COUNT(*) FROM cc_repositories WHERE repository_name = 'folded'")
                .fetch_one(&pool)
                .await
                .map(|r| r.get::<i64, _>(0))
                .unwrap_or(0);
        pool.close().await;
        let _ = std::fs::remove_file(&copy);
        if found == 1 {
            break;
        }
    }
    assert_eq!(found, 1, "the repository reached ferry.db itself");
    store.close().await;
}
