use super::*;
use std::time::Duration;

#[test]
fn paths_follow_the_agent_layout() {
    let layout = Layout::new("/root");
    let dir = layout.deployment("dg-1", "d-ABC").unwrap();
    assert_eq!(dir.path(), Path::new("/root/dg-1/d-ABC"));
    assert_eq!(
        dir.archive_dir(),
        Path::new("/root/dg-1/d-ABC/deployment-archive")
    );
    assert_eq!(
        dir.script_log(),
        Path::new("/root/dg-1/d-ABC/logs/scripts.log")
    );
    assert_eq!(
        dir.bundle_file(BundleType::Tgz),
        Path::new("/root/dg-1/d-ABC/bundle.tgz")
    );
    assert_eq!(
        layout.cleanup_file("dg-1").unwrap(),
        Path::new("/root/deployment-instructions/dg-1-cleanup")
    );
}

#[test]
fn ids_cannot_escape_the_root() {
    let layout = Layout::new("/root");
    for bad in [
        "",
        ".",
        "..",
        "a/b",
        "../x",
        "/abs",
        "nul\0",
        "deployment-instructions",
    ] {
        assert!(
            matches!(
                layout.deployment(bad, "d-1"),
                Err(LayoutError::InvalidId { .. })
            ),
            "group {bad:?}"
        );
        assert!(layout.cleanup_file(bad).is_err(), "cleanup {bad:?}");
    }
    for bad in ["", ".", "..", "a/b", "../../etc"] {
        assert!(layout.deployment("dg", bad).is_err(), "deployment {bad:?}");
    }
    assert!(layout.deployment("dg", "d-..x").is_ok());
}

#[tokio::test]
async fn records_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = Layout::new(tmp.path());
    assert_eq!(layout.most_recent("dg").await.unwrap(), None);
    assert_eq!(layout.last_successful("dg").await.unwrap(), None);
    let one = layout.deployment("dg", "d-1").unwrap();
    let two = layout.deployment("dg", "d-2").unwrap();
    layout.record_most_recent("dg", &two).await.unwrap();
    layout.record_last_successful("dg", &one).await.unwrap();
    assert_eq!(layout.most_recent("dg").await.unwrap(), Some(two.clone()));
    assert_eq!(layout.last_successful("dg").await.unwrap(), Some(one));
    let text = std::fs::read_to_string(
        tmp.path()
            .join("deployment-instructions/dg_most_recent_install"),
    )
    .unwrap();
    assert_eq!(text, two.path().display().to_string());
}

#[tokio::test]
async fn records_naming_other_places_are_ignored() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = Layout::new(tmp.path());
    let file = tmp
        .path()
        .join("deployment-instructions/dg_last_successful_install");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    for recorded in ["/etc", "", "relative/path"] {
        std::fs::write(&file, recorded).unwrap();
        assert_eq!(
            layout.last_successful("dg").await.unwrap(),
            None,
            "{recorded}"
        );
    }
    let other_group = tmp.path().join("other/d-1");
    std::fs::write(&file, other_group.display().to_string()).unwrap();
    assert_eq!(layout.last_successful("dg").await.unwrap(), None);
    let nested = tmp.path().join("dg/d-1/deployment-archive");
    std::fs::write(&file, nested.display().to_string()).unwrap();
    assert_eq!(layout.last_successful("dg").await.unwrap(), None);
    // A trailing newline (a hand-written file) is fine.
    std::fs::write(&file, format!("{}\n", tmp.path().join("dg/d-1").display())).unwrap();
    assert_eq!(
        layout.last_successful("dg").await.unwrap(),
        Some(layout.deployment("dg", "d-1").unwrap())
    );
}

#[tokio::test]
async fn prune_keeps_the_newest_and_the_protected() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = Layout::new(tmp.path());
    let mut dirs = Vec::new();
    for i in 0..8 {
        let dir = layout.deployment("dg", &format!("d-{i}")).unwrap();
        std::fs::create_dir_all(dir.archive_dir()).unwrap();
        // Directory modification times must differ.
        std::thread::sleep(Duration::from_millis(15));
        dirs.push(dir);
    }
    // d-1 is the last successful install; d-0 is "current" (say, a re-run of an old one).
    layout.record_last_successful("dg", &dirs[1]).await.unwrap();
    let removed = layout.prune("dg", &dirs[0], 3).await.unwrap();
    let mut removed: Vec<_> = removed
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    removed.sort();
    assert_eq!(removed, ["d-2", "d-3", "d-4"]);
    let mut left: Vec<_> = std::fs::read_dir(tmp.path().join("dg"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["d-0", "d-1", "d-5", "d-6", "d-7"]);
    // A group without deployments has nothing to prune.
    assert!(layout.prune("other", &dirs[0], 3).await.unwrap().is_empty());
}
