use super::*;
use crate::client::ClientConfig;
use crate::credentials::Credentials;
use crate::http::Endpoint;
use ferry_wire::sigv4;
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::io::{Cursor, Write};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const SECRET: &str = "fake-secret-key";
const HOST_ARN: &str = "arn:aws:iam::123456789012:user/web-1";
const GROUP_ID: &str = "0b8ad4b2-0000-4000-8000-000000000000";

/// One request the fake command plane received.
#[derive(Debug, Clone)]
struct Call {
    op: String,
    /// The SigV4 service the request was signed for.
    service: String,
    /// The JSON body (`Null` for other bodies).
    body: Value,
}

struct Answer {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn json(value: Value) -> Self {
        Self {
            status: 200,
            headers: vec![("Content-Type", "application/x-amz-json-1.1".into())],
            body: value.to_string().into_bytes(),
        }
    }
    fn error(code: &str) -> Self {
        Self {
            status: 400,
            ..Self::json(json!({ "__type": code, "message": format!("{code} (fake)") }))
        }
    }
}

/// What the fake answers, and when it asks the runner to stop.
struct Script {
    register_error: Option<&'static str>,
    /// `instanceInfo` of GetOnPremisesInstance.
    instance: Value,
    /// Handed out one per poll.
    commands: VecDeque<Value>,
    /// The specification payload for every command.
    spec: String,
    spec_format: &'static str,
    /// Ack answers in order; `InProgress` once used up.
    acks: VecDeque<&'static str>,
    /// GetObject's body and ETag.
    object: Option<(Vec<u8>, &'static str)>,
    /// Stop the runner once this operation has been called this many times.
    stop_on: (&'static str, usize),
    stop: Option<tokio::sync::watch::Sender<bool>>,
    counts: HashMap<String, usize>,
}

impl Script {
    fn new(spec: &Value) -> Self {
        Self {
            register_error: None,
            instance: json!({
                "instanceName": "web-1",
                "iamUserArn": HOST_ARN,
                "tags": [{"Key": "old", "Value": "1"}, {"Key": "env", "Value": "prod"}],
            }),
            commands: VecDeque::new(),
            spec: spec.to_string(),
            spec_format: "TEXT/JSON",
            acks: VecDeque::new(),
            object: None,
            stop_on: ("PutHostCommandComplete", 1),
            stop: None,
            counts: HashMap::new(),
        }
    }

    fn command(mut self, id: &str, name: &str) -> Self {
        self.commands.push_back(json!({
            "HostCommandIdentifier": id,
            "HostIdentifier": HOST_ARN,
            "DeploymentExecutionId": format!("us-east-1/d-TEST00001/web-1/{id}"),
            "CommandName": name,
            "Nonce": 1,
        }));
        self
    }

    fn answer(&mut self, call: &Call) -> Answer {
        match call.op.as_str() {
            "GetCallerIdentity" => Answer {
                status: 200,
                headers: vec![("Content-Type", "text/xml".into())],
                body: format!(
                    "<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>{HOST_ARN}</Arn><Account>123456789012</Account></GetCallerIdentityResult></GetCallerIdentityResponse>"
                )
                .into_bytes(),
            },
            "RegisterOnPremisesInstance" => match self.register_error {
                Some(code) => Answer::error(code),
                None => Answer::json(json!({})),
            },
            "GetOnPremisesInstance" => Answer::json(json!({ "instanceInfo": self.instance })),
            "AddTagsToOnPremisesInstances" | "RemoveTagsFromOnPremisesInstances" => {
                Answer::json(json!({}))
            }
            "PollHostCommand" => match self.commands.pop_front() {
                Some(command) => Answer::json(json!({ "HostCommand": command })),
                None => Answer::json(json!({})),
            },
            "GetDeploymentSpecification" => Answer::json(json!({
                "DeploymentSystem": "CodeDeploy",
                "DeploymentSpecification": {
                    "GenericEnvelope": {"Format": self.spec_format, "Payload": self.spec},
                },
            })),
            "PutHostCommandAcknowledgement" => Answer::json(json!({
                "CommandStatus": self.acks.pop_front().unwrap_or("InProgress"),
            })),
            "PostHostCommandUpdate" => Answer::json(json!({ "CommandStatus": "InProgress" })),
            "PutHostCommandComplete" => Answer::json(json!({})),
            "GetObject" => match &self.object {
                Some((bytes, etag)) => Answer {
                    status: 200,
                    headers: vec![("ETag", format!("\"{etag}\""))],
                    body: bytes.clone(),
                },
                None => Answer {
                    status: 404,
                    headers: vec![],
                    body: b"<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>".to_vec(),
                },
            },
            other => Answer::error(&format!("Unexpected{other}")),
        }
    }
}

/// A tiny HTTP/1.1 server standing in for Ferry: checks every signature with ferry-wire's
/// verifier, records the calls and answers from a [`Script`].
struct Fake {
    calls: Arc<Mutex<Vec<Call>>>,
    endpoint: Endpoint,
}

impl Fake {
    async fn start(script: Script) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let calls = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(script));
        let recorded = calls.clone();
        tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    return;
                };
                let (calls, script) = (recorded.clone(), script.clone());
                tokio::spawn(async move { serve(sock, &calls, &script).await });
            }
        });
        Self {
            calls,
            endpoint: Endpoint::parse(&format!("http://127.0.0.1:{port}")).unwrap(),
        }
    }

    fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    /// The operations called, consecutive polls collapsed into one.
    fn ops(&self) -> Vec<String> {
        let mut ops: Vec<String> = Vec::new();
        for call in self.calls() {
            if call.op == "PollHostCommand" && ops.last().is_some_and(|o| o == "PollHostCommand") {
                continue;
            }
            ops.push(call.op);
        }
        ops
    }

    fn bodies(&self, op: &str) -> Vec<Value> {
        self.calls()
            .into_iter()
            .filter(|c| c.op == op)
            .map(|c| c.body)
            .collect()
    }
}

async fn serve(mut sock: tokio::net::TcpStream, calls: &Mutex<Vec<Call>>, script: &Mutex<Script>) {
    let mut data = Vec::new();
    let mut buf = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        match sock.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    };
    let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap().split(' ');
    let (method, target) = (request_line.next().unwrap(), request_line.next().unwrap());
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let length: usize = header("content-length").map_or(0, |v| v.parse().unwrap());
    let mut body = data[head_end + 4..].to_vec();
    while body.len() < length {
        let n = sock.read(&mut buf).await.unwrap();
        body.extend_from_slice(&buf[..n]);
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let pairs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let req = sigv4::Request {
        method,
        path,
        query,
        headers: &pairs,
    };
    let cred = sigv4::parse(&req).expect("the request is signed");
    let s3 = cred.service == "s3";
    let payload = if s3 {
        sigv4::Payload::Declared
    } else {
        sigv4::Payload::Bytes(&body)
    };
    let opts = sigv4::Options {
        services: &["sts", "codedeploy", "codedeploy-commands", "s3"],
        double_encode_path: !s3,
        now: std::time::SystemTime::now()
            .duration_since(std::time::SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64,
    };
    let verified = sigv4::verify(&req, &cred, SECRET, payload, &opts);
    let op = if verified.is_err() {
        format!("BadSignature({verified:?})")
    } else if let Some(target) = header("x-amz-target") {
        target.rsplit('.').next().unwrap().to_owned()
    } else if method == "GET" {
        "GetObject".to_owned()
    } else {
        let form = String::from_utf8_lossy(&body);
        sigv4::query_pairs(&form)
            .into_iter()
            .find(|(k, _)| k == "Action")
            .map(|(_, v)| v)
            .unwrap_or_default()
    };
    let call = Call {
        op: op.clone(),
        service: cred.service.clone(),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    };
    if op == "GetObject" {
        assert_eq!(path, "/bundles/app/v1.zip");
    }
    calls.lock().unwrap().push(call.clone());
    let answer = {
        let mut script = script.lock().unwrap();
        let answer = script.answer(&call);
        let count = script.counts.entry(op.clone()).or_default();
        *count += 1;
        if (op.as_str(), *count) == script.stop_on
            && let Some(stop) = script.stop.take()
        {
            let _ = stop.send(true);
        }
        answer
    };
    let mut out = format!(
        "HTTP/1.1 {} X\r\nContent-Length: {}\r\nConnection: close\r\n",
        answer.status,
        answer.body.len()
    );
    for (name, value) in &answer.headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    let _ = sock.write_all(out.as_bytes()).await;
    let _ = sock.write_all(&answer.body).await;
    let _ = sock.shutdown().await;
}

fn spec_json(etag: Option<&str>) -> Value {
    let mut s3 = json!({"Bucket": "bundles", "Key": "app/v1.zip", "BundleType": "zip"});
    if let Some(etag) = etag {
        s3["ETag"] = json!(etag);
    }
    json!({
        "DeploymentId": "d-TEST00001",
        "DeploymentGroupId": GROUP_ID,
        "DeploymentGroupName": "web",
        "ApplicationName": "shop",
        "Revision": {"RevisionType": "S3", "S3Revision": s3},
    })
}

struct Host {
    tmp: tempfile::TempDir,
}

impl Host {
    fn new() -> Self {
        Self {
            tmp: tempfile::tempdir().unwrap(),
        }
    }

    fn root(&self) -> PathBuf {
        self.tmp.path().join("root")
    }

    fn runner(&self, endpoint: &Endpoint, tags: &[(&str, &str)]) -> Runner {
        let client = Client::new(ClientConfig {
            endpoint: endpoint.clone(),
            credentials: Credentials {
                access_key_id: "AKIDWEB1".into(),
                secret_access_key: SECRET.into(),
                session_token: None,
            },
            region: "us-east-1".into(),
            timeout: Duration::from_secs(10),
        })
        .unwrap();
        let mut agent = Agent::new(self.root());
        agent.allowed_roots = vec![self.tmp.path().to_owned()];
        agent.kill_grace = Duration::from_millis(100);
        let mut config = RunnerConfig::new("web-1");
        config.tags = tags
            .iter()
            .map(|(k, v)| Tag {
                key: (*k).into(),
                value: (*v).into(),
            })
            .collect();
        config.heartbeat_interval = Duration::from_millis(300);
        config.log_interval = Duration::from_millis(50);
        config.min_poll_interval = Duration::from_millis(20);
        config.first_backoff = Duration::from_millis(20);
        config.max_backoff = Duration::from_millis(100);
        config.stop_report_timeout = Duration::from_secs(5);
        Runner::new(client, agent, config)
    }

    /// A zip bundle whose `BeforeInstall` script runs `script`.
    fn bundle(&self, script: &str) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let plain = zip::write::SimpleFileOptions::default();
        zip.start_file("appspec.yml", plain).unwrap();
        write!(
            zip,
            "version: 0.0\nos: linux\nhooks:\n  BeforeInstall:\n    - location: before.sh\n      timeout: 60\n"
        )
        .unwrap();
        zip.start_file("before.sh", plain.unix_permissions(0o755))
            .unwrap();
        write!(zip, "#!/bin/sh\n{script}\n").unwrap();
        zip.finish().unwrap().into_inner()
    }

    fn tracking_file(&self) -> PathBuf {
        self.root().join(TRACKING_FILE)
    }
}

/// Run until the script stops the runner (within a bound, against hangs).
async fn run(runner: &Runner, shutdown: Shutdown) {
    tokio::time::timeout(Duration::from_secs(30), runner.run(shutdown))
        .await
        .expect("the runner stops")
        .expect("the runner succeeds");
}

async fn start(script: Script) -> (Fake, Shutdown) {
    let (stop, shutdown) = Shutdown::channel();
    let script = Script {
        stop: Some(stop),
        ..script
    };
    (Fake::start(script).await, shutdown)
}

fn diagnostics_of(complete: &Value) -> Diagnostics {
    assert_eq!(complete["Diagnostics"]["Format"], "JSON");
    serde_json::from_str(complete["Diagnostics"]["Payload"].as_str().unwrap()).unwrap()
}

#[tokio::test]
async fn a_noop_command_goes_poll_spec_ack_complete() {
    let host = Host::new();
    // ApplicationStop with no earlier install has nothing to run.
    let script = Script::new(&spec_json(None)).command("c-1", "ApplicationStop");
    let (fake, shutdown) = start(script).await;
    let runner = host.runner(&fake.endpoint, &[("env", "prod"), ("role", "web")]);
    run(&runner, shutdown).await;

    assert_eq!(
        fake.ops(),
        [
            "GetCallerIdentity",
            "RegisterOnPremisesInstance",
            "GetOnPremisesInstance",
            "RemoveTagsFromOnPremisesInstances",
            "AddTagsToOnPremisesInstances",
            "PollHostCommand",
            "GetDeploymentSpecification",
            "PutHostCommandAcknowledgement",
            "PutHostCommandComplete",
        ]
    );
    let calls = fake.calls();
    let service_of = |op: &str| {
        calls
            .iter()
            .find(|c| c.op == op)
            .map(|c| c.service.clone())
            .unwrap()
    };
    assert_eq!(service_of("GetCallerIdentity"), "sts");
    assert_eq!(service_of("RegisterOnPremisesInstance"), "codedeploy");
    assert_eq!(service_of("PollHostCommand"), "codedeploy-commands");
    assert_eq!(
        fake.bodies("RegisterOnPremisesInstance")[0],
        json!({"instanceName": "web-1", "iamUserArn": HOST_ARN})
    );
    assert_eq!(
        fake.bodies("RemoveTagsFromOnPremisesInstances")[0],
        json!({"tags": [{"Key": "old", "Value": "1"}], "instanceNames": ["web-1"]})
    );
    assert_eq!(
        fake.bodies("AddTagsToOnPremisesInstances")[0],
        json!({"tags": [{"Key": "role", "Value": "web"}], "instanceNames": ["web-1"]})
    );
    assert_eq!(
        fake.bodies("PollHostCommand")[0],
        json!({"HostIdentifier": HOST_ARN})
    );
    assert_eq!(
        fake.bodies("GetDeploymentSpecification")[0],
        json!({"DeploymentExecutionId": "us-east-1/d-TEST00001/web-1/c-1", "HostIdentifier": HOST_ARN})
    );
    assert_eq!(
        fake.bodies("PutHostCommandAcknowledgement")[0],
        json!({"HostCommandIdentifier": "c-1", "Diagnostics": {"Format": "JSON", "Payload": "{\"IsCommandNoop\":true}"}})
    );
    let complete = &fake.bodies("PutHostCommandComplete")[0];
    assert_eq!(complete["HostCommandIdentifier"], "c-1");
    assert_eq!(complete["CommandStatus"], "Succeeded");
    assert_eq!(diagnostics_of(complete), Diagnostics::success());
    assert!(!host.tracking_file().exists());
}

#[tokio::test]
async fn download_bundle_then_a_hook_streams_its_output() {
    let host = Host::new();
    let bundle = host.bundle("echo hello\nsleep 0.4\necho world >&2\nsleep 0.4\necho bye");
    let mut script = Script::new(&spec_json(Some("etag-1")))
        .command("c-1", "DownloadBundle")
        .command("c-2", "BeforeInstall");
    script.object = Some((bundle, "etag-1"));
    script.stop_on = ("PutHostCommandComplete", 2);
    let (fake, shutdown) = start(script).await;
    let runner = host.runner(&fake.endpoint, &[("env", "prod")]);
    run(&runner, shutdown).await;

    let ops = fake.ops();
    let download = ops.iter().position(|o| o == "GetObject").unwrap();
    assert_eq!(
        ops[download - 3..download],
        [
            "PollHostCommand",
            "GetDeploymentSpecification",
            "PutHostCommandAcknowledgement"
        ]
    );
    assert_eq!(
        fake.calls()
            .iter()
            .find(|c| c.op == "GetObject")
            .unwrap()
            .service,
        "s3"
    );
    let acks = fake.bodies("PutHostCommandAcknowledgement");
    assert_eq!(
        acks[0]["Diagnostics"]["Payload"],
        "{\"IsCommandNoop\":false}"
    );
    assert_eq!(
        acks[1]["Diagnostics"]["Payload"],
        "{\"IsCommandNoop\":false}"
    );
    let completes = fake.bodies("PutHostCommandComplete");
    assert_eq!(completes.len(), 2);
    for complete in &completes {
        assert_eq!(complete["CommandStatus"], "Succeeded", "{complete}");
    }
    assert_eq!(diagnostics_of(&completes[1]), Diagnostics::success());
    let deployment = host.root().join(GROUP_ID).join("d-TEST00001");
    assert!(deployment.join("bundle.zip").exists());
    assert!(deployment.join("deployment-archive/before.sh").exists());
    // The output went out in updates while the script ran.
    let logs: String = fake
        .bodies("PostHostCommandUpdate")
        .iter()
        .filter(|u| u["HostCommandIdentifier"] == "c-2")
        .filter_map(|u| u["Diagnostics"]["Payload"].as_str().map(str::to_owned))
        .map(|p| {
            serde_json::from_str::<Value>(&p).unwrap()["log"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(logs, "[stdout]hello\n[stderr]world\n[stdout]bye\n");
    assert!(!host.tracking_file().exists());
}

#[tokio::test]
async fn heartbeats_while_a_command_runs() {
    let host = Host::new();
    let bundle = host.bundle("sleep 1");
    let mut script = Script::new(&spec_json(None))
        .command("c-1", "DownloadBundle")
        .command("c-2", "BeforeInstall");
    script.object = Some((bundle, "whatever"));
    script.stop_on = ("PutHostCommandComplete", 2);
    let (fake, shutdown) = start(script).await;
    let runner = host.runner(&fake.endpoint, &[("env", "prod")]);
    run(&runner, shutdown).await;
    let beats: Vec<Value> = fake
        .bodies("PostHostCommandUpdate")
        .into_iter()
        .filter(|u| u["HostCommandIdentifier"] == "c-2")
        .collect();
    // One second of script at a 300 ms heartbeat.
    assert!((2..=4).contains(&beats.len()), "{beats:?}");
    assert!(
        beats.iter().all(|b| b.get("Diagnostics").is_none()),
        "{beats:?}"
    );
}

#[tokio::test]
async fn a_changed_bundle_fails_download_bundle() {
    let host = Host::new();
    let mut script = Script::new(&spec_json(Some("expected"))).command("c-1", "DownloadBundle");
    script.object = Some((host.bundle("true"), "other"));
    let (fake, shutdown) = start(script).await;
    let runner = host.runner(&fake.endpoint, &[("env", "prod")]);
    run(&runner, shutdown).await;
    let complete = &fake.bodies("PutHostCommandComplete")[0];
    assert_eq!(complete["CommandStatus"], "Failed");
    let diagnostics = diagnostics_of(complete);
    assert_eq!(diagnostics.error_code, ErrorCode::UnknownError);
    assert!(
        diagnostics
            .message
            .contains("ETag other does not match the ETag expected"),
        "{diagnostics:?}"
    );
    let deployment = host.root().join(GROUP_ID).join("d-TEST00001");
    assert!(!deployment.join("bundle.zip").exists());
}

#[tokio::test]
async fn a_missing_bundle_and_a_signed_spec_fail_clearly() {
    let host = Host::new();
    let script = Script::new(&spec_json(None)).command("c-1", "DownloadBundle");
    let (fake, shutdown) = start(script).await;
    let runner = host.runner(&fake.endpoint, &[("env", "prod")]);
    run(&runner, shutdown).await;
    let diagnostics = diagnostics_of(&fake.bodies("PutHostCommandComplete")[0]);
    assert!(diagnostics.message.contains("NoSuchKey"), "{diagnostics:?}");

    let host = Host::new();
    let mut script = Script::new(&spec_json(None)).command("c-1", "BeforeInstall");
    script.spec_format = "PKCS7/JSON";
    let (fake, shutdown) = start(script).await;
    let runner = host.runner(&fake.endpoint, &[("env", "prod")]);
    run(&runner, shutdown).await;
    let complete = &fake.bodies("PutHostCommandComplete")[0];
    assert_eq!(complete["CommandStatus"], "Failed");
    assert!(diagnostics_of(complete).message.contains("PKCS7/JSON"));
}

#[tokio::test]
async fn only_in_progress_acks_run() {
    let host = Host::new();
    // c-1: a no-op the service already failed → reported done without running.
    // c-2: a command the service already considers succeeded → left alone.
    // c-3: a hook that fails (no bundle) → runs and is reported failed.
    let mut script = Script::new(&spec_json(None))
        .command("c-1", "ApplicationStop")
        .command("c-2", "BeforeInstall")
        .command("c-3", "BeforeInstall");
    script.acks = VecDeque::from(["Failed", "Succeeded", "InProgress"]);
    script.stop_on = ("PutHostCommandComplete", 2);
    let (fake, shutdown) = start(script).await;
    let runner = host.runner(&fake.endpoint, &[("env", "prod")]);
    run(&runner, shutdown).await;
    let completes = fake.bodies("PutHostCommandComplete");
    assert_eq!(completes.len(), 2);
    assert_eq!(
        (
            &completes[0]["HostCommandIdentifier"],
            &completes[0]["CommandStatus"]
        ),
        (&json!("c-1"), &json!("Succeeded"))
    );
    assert_eq!(
        (
            &completes[1]["HostCommandIdentifier"],
            &completes[1]["CommandStatus"]
        ),
        (&json!("c-3"), &json!("Failed"))
    );
    let diagnostics = diagnostics_of(&completes[1]);
    assert_eq!(diagnostics.error_code, ErrorCode::UnknownError);
    assert!(diagnostics.message.contains("AppSpec"), "{diagnostics:?}");
}

#[tokio::test]
async fn a_command_for_another_host_is_not_acknowledged() {
    let host = Host::new();
    let mut script = Script::new(&spec_json(None)).command("c-1", "ApplicationStop");
    script.commands[0]["HostIdentifier"] = json!("arn:aws:iam::123456789012:user/other");
    script.stop_on = ("PollHostCommand", 3);
    let (fake, shutdown) = start(script).await;
    let runner = host.runner(&fake.endpoint, &[("env", "prod")]);
    run(&runner, shutdown).await;
    let ops = fake.ops();
    assert!(
        !ops.iter()
            .any(|o| o == "GetDeploymentSpecification" || o == "PutHostCommandAcknowledgement"),
        "{ops:?}"
    );
}

#[tokio::test]
async fn a_command_cut_short_by_a_restart_is_reported() {
    let host = Host::new();
    std::fs::create_dir_all(host.root()).unwrap();
    std::fs::write(
        host.tracking_file(),
        r#"{"HostCommandIdentifier":"c-0","CommandName":"AfterInstall","DeploymentExecutionId":"r/d/i/0"}"#,
    )
    .unwrap();
    let mut script = Script::new(&spec_json(None));
    script.stop_on = ("PollHostCommand", 1);
    let (fake, shutdown) = start(script).await;
    let runner = host.runner(&fake.endpoint, &[("env", "prod")]);
    run(&runner, shutdown).await;
    let ops = fake.ops();
    let complete = ops
        .iter()
        .position(|o| o == "PutHostCommandComplete")
        .unwrap();
    assert_eq!(ops[complete + 1], "PollHostCommand");
    let body = &fake.bodies("PutHostCommandComplete")[0];
    assert_eq!(
        (&body["HostCommandIdentifier"], &body["CommandStatus"]),
        (&json!("c-0"), &json!("Failed"))
    );
    assert_eq!(
        diagnostics_of(body).error_code,
        ErrorCode::FailedAfterRestart
    );
    assert!(!host.tracking_file().exists());
}

#[tokio::test]
async fn stopping_mid_command_reports_it_failed() {
    let host = Host::new();
    let mut script = Script::new(&spec_json(None))
        .command("c-1", "DownloadBundle")
        .command("c-2", "BeforeInstall");
    // `exec`: the script's own process is the one a stop kills (its children would outlive it).
    script.object = Some((host.bundle("echo started\nexec sleep 30"), "e"));
    script.stop_on = ("PostHostCommandUpdate", 1);
    let (fake, shutdown) = start(script).await;
    let runner = host.runner(&fake.endpoint, &[("env", "prod")]);
    let started = std::time::Instant::now();
    run(&runner, shutdown).await;
    assert!(started.elapsed() < Duration::from_secs(10));
    let completes = fake.bodies("PutHostCommandComplete");
    let last = completes.last().unwrap();
    assert_eq!(
        (&last["HostCommandIdentifier"], &last["CommandStatus"]),
        (&json!("c-2"), &json!("Failed"))
    );
    assert!(diagnostics_of(last).message.contains("stopped"));
    assert!(!host.tracking_file().exists());
}

#[tokio::test]
async fn registration_accepts_only_this_host() {
    // Registered already, with this name and ARN: accepted, tags converge.
    let host = Host::new();
    let mut script = Script::new(&spec_json(None));
    script.register_error = Some("InstanceNameAlreadyRegisteredException");
    script.stop_on = ("PollHostCommand", 1);
    let (fake, shutdown) = start(script).await;
    let runner = host.runner(&fake.endpoint, &[("env", "prod"), ("old", "1")]);
    run(&runner, shutdown).await;
    assert_eq!(
        fake.ops(),
        [
            "GetCallerIdentity",
            "RegisterOnPremisesInstance",
            "GetOnPremisesInstance",
            "GetOnPremisesInstance",
            "PollHostCommand"
        ]
    );

    // The name belongs to another ARN: a clear error, no polling.
    let mut script = Script::new(&spec_json(None));
    script.register_error = Some("InstanceNameAlreadyRegisteredException");
    script.instance["iamUserArn"] = json!("arn:aws:iam::123456789012:user/other");
    let (fake, shutdown) = start(script).await;
    let runner = host.runner(&fake.endpoint, &[]);
    let err = runner.run(shutdown).await.unwrap_err();
    assert!(matches!(err, RunnerError::Registration(_)));
    assert!(err.to_string().contains("user/other"), "{err}");
    assert!(!fake.ops().iter().any(|o| o == "PollHostCommand"));
}

#[tokio::test]
async fn an_unreachable_server_is_retried_until_stopped() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let host = Host::new();
    let endpoint = Endpoint::parse(&format!("http://127.0.0.1:{port}")).unwrap();
    let runner = host.runner(&endpoint, &[]);
    let (stop, shutdown) = Shutdown::channel();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let _ = stop.send(true);
    });
    tokio::time::timeout(Duration::from_secs(5), runner.run(shutdown))
        .await
        .unwrap()
        .unwrap();
}

#[test]
fn tag_diffs() {
    let tag = |k: &str, v: &str| Tag {
        key: k.into(),
        value: v.into(),
    };
    let current = [tag("env", "prod"), tag("old", "1"), tag("role", "web")];
    let wanted = [
        tag("env", "staging"),
        tag("role", "web"),
        tag("team", "a"),
        tag("team", "a"),
    ];
    let (remove, add) = tag_diff(&current, &wanted);
    assert_eq!(remove, [tag("env", "prod"), tag("old", "1")]);
    assert_eq!(add, [tag("env", "staging"), tag("team", "a")]);
    assert_eq!(tag_diff(&current, &current), (vec![], vec![]));
    assert_eq!(tag_diff(&[], &[]), (vec![], vec![]));
}

#[test]
fn etag_checks() {
    assert!(check_etag(None, None).is_ok());
    assert!(check_etag(Some("abc"), Some("\"abc\"")).is_ok());
    assert!(check_etag(Some("\"abc\""), Some("abc")).is_ok());
    assert!(
        check_etag(Some("abc"), Some("abd"))
            .unwrap_err()
            .contains("does not match")
    );
    assert!(
        check_etag(Some("abc"), None)
            .unwrap_err()
            .contains("without an ETag")
    );
}

#[test]
fn registration_checks() {
    let info = |name: &str, user: Option<&str>, session: Option<&str>| InstanceInfo {
        instance_name: Some(name.into()),
        iam_user_arn: user.map(Into::into),
        iam_session_arn: session.map(Into::into),
        instance_arn: None,
        deregister_time: None,
        tags: vec![],
    };
    assert!(check_registration(&info("web-1", Some(HOST_ARN), None), "web-1", HOST_ARN).is_ok());
    let session = "arn:aws:sts::123456789012:assumed-role/r/s";
    assert!(check_registration(&info("web-1", None, Some(session)), "web-1", session).is_ok());
    assert!(check_registration(&info("web-1", Some("arn:x"), None), "web-1", HOST_ARN).is_err());
    assert!(check_registration(&info("web-2", Some(HOST_ARN), None), "web-1", HOST_ARN).is_err());
    let mut gone = info("web-1", Some(HOST_ARN), None);
    gone.deregister_time = Some(json!(1.5));
    assert!(
        check_registration(&gone, "web-1", HOST_ARN)
            .unwrap_err()
            .contains("deregistered")
    );
}

#[test]
fn backoff_doubles_to_its_ceiling() {
    let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(30));
    let delays: Vec<u64> = (0..7).map(|_| b.next_delay().as_secs()).collect();
    assert_eq!(delays, [1, 2, 4, 8, 16, 30, 30]);
    b.reset();
    assert_eq!(b.next_delay().as_secs(), 1);
}

#[test]
fn pending_output_is_bounded() {
    let mut log = PendingLog::default();
    assert_eq!(log.take_payload(), None);
    log.push(&OutputLine {
        script: "s".into(),
        stream: OutputStream::Stderr,
        line: "a \"quoted\" line".into(),
    });
    assert_eq!(
        log.take_payload().unwrap(),
        r#"{"log":"[stderr]a \"quoted\" line\n"}"#
    );
    assert!(log.is_empty());
    for _ in 0..2000 {
        log.push(&OutputLine {
            script: "s".into(),
            stream: OutputStream::Stdout,
            line: "é".repeat(40),
        });
    }
    assert!(log.0.len() <= MAX_UPDATE_LOG_BYTES);
}
