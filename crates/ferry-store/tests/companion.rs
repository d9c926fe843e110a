//! The companion services' storage on every backend: values sealed at rest, event order and
//! cursors, parameter versions and labels, secret stages.

use std::collections::BTreeMap;

use ferry_store::logs::{EventQuery, LogGroupRow, NewLogEvent, OpenStream, StreamSelector};
use ferry_store::params::NewParamVersion;
use ferry_store::secrets::{NewSecretVersion, SecretRow, SecretValue};
use ferry_store::testing;

#[tokio::test]
async fn log_events_are_ordered_and_paged_by_position() {
    let dir = tempfile::tempdir().unwrap();
    for store in testing::stores(dir.path()).await.unwrap() {
        let group = LogGroupRow {
            name: "/g".into(),
            created_ms: 1,
            retention_days: None,
            kms_key_id: None,
            class: "STANDARD".into(),
            stored_bytes: 0,
        };
        store
            .create_log_group(&group, &BTreeMap::new())
            .await
            .unwrap();
        store.create_log_stream("/g", "a", 1).await.unwrap();
        store.create_log_stream("/g", "b", 1).await.unwrap();
        let ev = |ts, m: &str| NewLogEvent {
            ts_ms: ts,
            message: m.into(),
        };
        store
            .put_log_events("/g", "a", &[ev(10, "a1"), ev(20, "a2")], 100)
            .await
            .unwrap();
        store
            .put_log_events("/g", "b", &[ev(10, "b1"), ev(15, "b2")], 100)
            .await
            .unwrap();
        let q = |cursor, descending, streams| EventQuery {
            group: "/g".into(),
            streams,
            start_ms: None,
            end_ms: None,
            cursor,
            descending,
            limit: 10,
        };
        let all = store
            .log_events(&q(None, false, StreamSelector::All))
            .await
            .unwrap();
        let msgs: Vec<&str> = all.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(msgs, ["a1", "b1", "b2", "a2"]);
        let after = store
            .log_events(&q(
                Some((all[1].ts_ms, all[1].seq)),
                false,
                StreamSelector::All,
            ))
            .await
            .unwrap();
        assert_eq!(after.len(), 2);
        let before = store
            .log_events(&q(Some((20, 0)), true, StreamSelector::Prefix("b".into())))
            .await
            .unwrap();
        let msgs: Vec<&str> = before.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(msgs, ["b2", "b1"]);
        let s = store.log_stream("/g", "a").await.unwrap().unwrap();
        assert_eq!(
            (s.first_event_ms, s.last_event_ms, s.stored_bytes),
            (Some(10), Some(20), 4)
        );
        assert_eq!(
            store.log_group("/g").await.unwrap().unwrap().stored_bytes,
            8
        );
        assert_eq!(store.prune_log_events("/g", 15).await.unwrap(), 2);
        assert!(store.delete_log_group("/g").await.unwrap());
        assert!(
            store
                .log_events(&q(None, false, StreamSelector::All))
                .await
                .unwrap()
                .is_empty()
        );
    }
}

/// Many writers' lines in one transaction: groups and streams made where absent (again
/// without harm), events numbered in their group in the order given, a batch whose stream is
/// gone left out alone.
#[tokio::test]
async fn log_batches_open_streams_and_number_each_groups_events_in_order() {
    let dir = tempfile::tempdir().unwrap();
    for store in testing::stores(dir.path()).await.unwrap() {
        let ev = |m: &str| NewLogEvent {
            ts_ms: 50,
            message: m.into(),
        };
        let open = |group, stream| OpenStream {
            group,
            stream,
            created_ms: 5,
        };
        let streams = [open("/b1", "s1"), open("/b1", "s2"), open("/b2", "s1")];
        let (x, y, z, w) = ([ev("x1"), ev("x2")], [ev("y")], [ev("z")], [ev("w")]);
        let batches: [(&str, &str, &[NewLogEvent]); 4] = [
            ("/b1", "s1", &x),
            ("/b1", "gone", &y),
            ("/b2", "s1", &z),
            ("/b1", "s2", &w),
        ];
        let missing = store.put_log_batches(&streams, &batches, 60).await.unwrap();
        assert_eq!(missing, [1]);
        let more = [ev("x3")];
        let missing = store
            .put_log_batches(&streams, &[("/b1", "s1", &more)], 70)
            .await
            .unwrap();
        assert!(missing.is_empty());
        let read = |group: &str| EventQuery {
            group: group.into(),
            streams: StreamSelector::All,
            start_ms: None,
            end_ms: None,
            cursor: None,
            descending: false,
            limit: 10,
        };
        let b1 = store.log_events(&read("/b1")).await.unwrap();
        let got: Vec<(&str, &str)> = b1
            .iter()
            .map(|e| (e.stream_name.as_str(), e.message.as_str()))
            .collect();
        assert_eq!(got, [("s1", "x1"), ("s1", "x2"), ("s2", "w"), ("s1", "x3")]);
        assert!(b1.windows(2).all(|p| p[0].seq < p[1].seq), "{b1:?}");
        let b2 = store.log_events(&read("/b2")).await.unwrap();
        assert_eq!(b2.len(), 1);
        assert_eq!(b2[0].message, "z");
        let s1 = store.log_stream("/b1", "s1").await.unwrap().unwrap();
        assert_eq!(
            (
                s1.created_ms,
                s1.first_event_ms,
                s1.stored_bytes,
                s1.last_ingestion_ms
            ),
            (5, Some(50), 6, Some(70))
        );
        assert!(store.log_stream("/b1", "gone").await.unwrap().is_none());
    }
}

#[tokio::test]
async fn secure_values_are_sealed_and_versions_labeled() {
    let dir = tempfile::tempdir().unwrap();
    for store in testing::stores(dir.path()).await.unwrap() {
        let p = |value: &str| NewParamVersion {
            name: "/p".into(),
            param_type: "SecureString".into(),
            value: value.into(),
            description: None,
            key_id: Some("alias/aws/ssm".into()),
            allowed_pattern: None,
            tier: "Standard".into(),
            data_type: "text".into(),
            modified_ms: 1,
            modified_user: "me".into(),
        };
        let none = BTreeMap::new();
        assert_eq!(
            store
                .put_parameter(&p("first-secret"), false, &none)
                .await
                .unwrap(),
            1
        );
        assert!(store.put_parameter(&p("x"), false, &none).await.is_err());
        assert_eq!(
            store
                .put_parameter(&p("second"), true, &none)
                .await
                .unwrap(),
            2
        );
        let latest = store.parameter("/p").await.unwrap().unwrap();
        assert!(!latest.value.contains("second"));
        assert_eq!(store.open_parameter_value(&latest.value).unwrap(), "second");
        store
            .label_parameter_version("/p", 1, &["old".into()])
            .await
            .unwrap();
        assert_eq!(store.parameter_label("/p", "old").await.unwrap(), Some(1));
        let history = store.parameter_history("/p").await.unwrap();
        assert_eq!(history[0].labels, ["old"]);
        assert!(store.delete_parameter("/p").await.unwrap());
        assert!(store.parameter_history("/p").await.unwrap().is_empty());

        let secret = SecretRow {
            arn: "arn:aws:secretsmanager:r:1:secret:s-abcdef".into(),
            name: "s".into(),
            description: None,
            kms_key_id: None,
            created_ms: 1,
            last_changed_ms: 1,
            last_accessed_ms: None,
            deleted_ms: None,
            recovery_days: None,
        };
        let current = vec!["AWSCURRENT".to_owned()];
        let v1 = SecretValue::Text("top-secret-1".into());
        store
            .create_secret(
                &secret,
                &none,
                Some(NewSecretVersion {
                    version_id: "v1",
                    value: &v1,
                    stages: &current,
                    created_ms: 1,
                }),
            )
            .await
            .unwrap();
        let v2 = SecretValue::Binary(vec![0, 1, 2, 255]);
        store
            .add_secret_version(
                &secret.arn,
                NewSecretVersion {
                    version_id: "v2",
                    value: &v2,
                    stages: &current,
                    created_ms: 2,
                },
            )
            .await
            .unwrap();
        let stages = store.secret_stages(&secret.arn).await.unwrap();
        assert_eq!(stages["v1"], ["AWSPREVIOUS"]);
        assert_eq!(stages["v2"], ["AWSCURRENT"]);
        let cur = store
            .secret_version(&secret.arn, None, Some("AWSCURRENT"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(cur.value, v2);
        assert!(!format!("{cur:?}").contains("255"), "Debug hides the value");
        store.purge_secret(&secret.arn).await.unwrap();
        assert!(store.secret_by_name("s").await.unwrap().is_none());
    }
}
