//! The build service of one node: settings, the persisted queue and its scheduler (claims
//! queued builds with a lease and their credentials in one write, honours
//! `concurrentBuildLimit` and the queued timeout, wakes when a build is queued or ends instead
//! of polling, renews leases, and fails builds whose node died), the start of a build the
//! moment StartBuild records it when nothing waits before it, the group-committed writes of
//! build documents and log lines, and stop requests.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferry_commit::CommitService;
use ferry_model::codebuild::{Build, Project, StatusType};
use ferry_s3::S3;
use ferry_store::builds::NewBuild;
use ferry_store::iam::IssuedSession;
use ferry_store::{Store, StoreError};
use ferry_types::Timestamp;
use tokio::sync::{Notify, mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::phases;

/// How long a claimed build is held without renewal.
const LEASE: Duration = Duration::from_secs(30);
/// How often the scheduler looks at leases, stop requests and queued timeouts even when
/// nothing woke it.
const TICK: Duration = Duration::from_secs(1);

/// A build's settings that its Build document does not carry (after StartBuild overrides).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BuildExtras {
    pub artifacts: Option<ferry_model::codebuild::ProjectArtifacts>,
    pub secondary_artifacts: Option<Vec<ferry_model::codebuild::ProjectArtifacts>>,
    pub cache: Option<ferry_model::codebuild::ProjectCache>,
}

/// What the build service needs to know about its node.
#[derive(Debug, Clone)]
pub struct BuildSettings {
    /// Where build workspaces live (`<data-dir>/builds`).
    pub work_dir: PathBuf,
    /// Ferry's URL, given to builds as `AWS_ENDPOINT_URL`.
    pub public_url: String,
    pub region: String,
    pub account_id: String,
    /// This node's stable id (leases name it).
    pub node_id: String,
    /// Builds this node runs at once.
    pub max_running: usize,
}

/// The CodeBuild service.
pub struct BuildService {
    pub store: Store,
    pub s3: S3,
    pub commit: Arc<CommitService>,
    pub settings: BuildSettings,
    /// Where builds run.
    pub executor: Arc<dyn crate::executor::Executor>,
    pub(crate) wake: Notify,
    /// Builds running here, by id: their stop switch.
    pub(crate) running: Mutex<HashMap<String, CancellationToken>>,
    /// Set when the node stops: builds cut short end FAILED as interrupted, not STOPPED.
    pub(crate) shutting_down: std::sync::atomic::AtomicBool,
    /// Announces the id of every build that finishes here (batch coordinators listen).
    pub(crate) finished: tokio::sync::broadcast::Sender<String>,
    /// Batches coordinated here, by id: their stop switch.
    pub(crate) batches: Mutex<HashMap<String, CancellationToken>>,
    /// This node's build workspaces.
    pub(crate) workspaces: crate::workspace::Workspaces,
    /// Stores every build's log lines (started with the first build).
    logs: std::sync::OnceLock<crate::logsink::LogWriter>,
    /// Where this node's builds run as tasks (set when the scheduler starts).
    tasks: std::sync::OnceLock<TaskTracker>,
    /// The queue of build documents to write (started with the first save).
    saves: std::sync::OnceLock<mpsc::UnboundedSender<SaveJob>>,
    /// The queue of new builds to record (started with the first StartBuild).
    records: std::sync::OnceLock<mpsc::UnboundedSender<RecordJob>>,
}

/// What recording a new build answers: its row, and its credentials when it was claimed.
type Recorded = Result<(ferry_store::builds::BuildRow, Option<IssuedSession>), StoreError>;

/// One new build to record; `answer` hears how it went.
struct RecordJob {
    build: NewBuild,
    answer: oneshot::Sender<Recorded>,
}

/// One build document to write; `stored` hears when it is written.
struct SaveJob {
    id: String,
    queue_state: String,
    document: String,
    stored: Option<oneshot::Sender<()>>,
}

/// Milliseconds now.
pub(crate) fn now() -> Timestamp {
    Timestamp::now()
}

impl BuildService {
    /// Ids of builds as they end, from now on.
    pub fn subscribe_finished(&self) -> tokio::sync::broadcast::Receiver<String> {
        self.finished.subscribe()
    }

    pub fn new(
        store: Store,
        s3: S3,
        commit: Arc<CommitService>,
        settings: BuildSettings,
        executor: Arc<dyn crate::executor::Executor>,
    ) -> Arc<Self> {
        let workspaces = crate::workspace::Workspaces::new(settings.work_dir.clone());
        Arc::new(Self {
            store,
            s3,
            commit,
            settings,
            executor,
            wake: Notify::new(),
            running: Mutex::new(HashMap::new()),
            shutting_down: std::sync::atomic::AtomicBool::new(false),
            finished: tokio::sync::broadcast::channel(256).0,
            batches: Mutex::new(HashMap::new()),
            saves: std::sync::OnceLock::new(),
            records: std::sync::OnceLock::new(),
            tasks: std::sync::OnceLock::new(),
            logs: std::sync::OnceLock::new(),
            workspaces,
        })
    }

    /// Starts the scheduler on `tasks`; it stops when `stop` is cancelled.
    pub fn start(self: &Arc<Self>, tasks: &TaskTracker, stop: CancellationToken) {
        let _ = self.tasks.set(tasks.clone());
        let me = self.clone();
        let tracker = tasks.clone();
        tasks.spawn(async move { me.schedule(tracker, stop).await });
    }

    /// Asks the scheduler to look at the queue now.
    pub fn poke(&self) {
        self.wake.notify_one();
    }

    async fn schedule(self: Arc<Self>, tasks: TaskTracker, stop: CancellationToken) {
        // A build this node was running when it last stopped cannot be running now, and
        // nothing in its workspaces is needed any more.
        self.recover(true).await;
        self.workspaces.remove_leftovers().await;
        crate::batch::recover(&crate::api::BuildApi(self.clone())).await;
        let mut last_renew = std::time::Instant::now();
        let mut last_look = std::time::Instant::now();
        loop {
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(TICK) => {}
                _ = stop.cancelled() => break,
            }
            if last_renew.elapsed() >= LEASE / 3 {
                let until = now().millis() + LEASE.as_millis() as i64;
                if let Err(e) = self
                    .store
                    .renew_build_leases(&self.settings.node_id, until)
                    .await
                {
                    tracing::warn!(error = %e, "could not renew build leases");
                }
                last_renew = std::time::Instant::now();
            }
            // A wake (StartBuild, a build ending) only needs the queue looked at; leases of
            // dead nodes and stop requests made on other nodes are looked at every tick.
            if last_look.elapsed() >= TICK {
                self.recover(false).await;
                self.honour_stop_requests().await;
                last_look = std::time::Instant::now();
            }
            if let Err(e) = self.dispatch(&tasks).await {
                tracing::warn!(error = %e, "build scheduling failed");
            }
        }
        // Shutting down: what runs here ends FAILED as interrupted.
        self.shutting_down
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let tokens: Vec<CancellationToken> = self
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect();
        for t in tokens {
            t.cancel();
        }
    }

    /// Fails builds left RUNNING by a node that is gone (or by this node before a restart).
    async fn recover(&self, at_start: bool) {
        let now_ms = now().millis();
        let orphans = match self.store.orphaned_builds(now_ms).await {
            Ok(o) => o,
            Err(e) => {
                tracing::warn!(error = %e, "could not look for interrupted builds");
                return;
            }
        };
        let mut rows = orphans;
        if at_start && let Ok(mine) = self.store.builds_in_state("RUNNING").await {
            for b in mine {
                if !rows.iter().any(|r| r.build_id == b.build_id) {
                    rows.push(b);
                }
            }
        }
        for row in rows {
            if !at_start && self.is_running_here(&row.build_id) {
                continue;
            }
            let Ok(mut b) = serde_json::from_str::<Build>(&row.document) else {
                continue;
            };
            let at = now();
            phases::end(
                &mut b,
                StatusType::Failed,
                Some((
                    "BUILD_CONTAINER_UNABLE_TO_RUN",
                    "Build was interrupted: the Ferry node running it stopped",
                )),
                at,
            );
            phases::complete(&mut b, StatusType::Failed, at);
            tracing::warn!(build = %row.build_id, "build interrupted by a node stop; marked FAILED");
            self.save(&b, "DONE").await;
        }
    }

    fn is_running_here(&self, id: &str) -> bool {
        self.running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(id)
    }

    /// Stops the builds running here that were asked to stop on another node (a stop asked
    /// here reaches its build at once).
    async fn honour_stop_requests(&self) {
        let ids = match self.store.stop_requests_of(&self.settings.node_id).await {
            Ok(ids) => ids,
            Err(e) => {
                tracing::warn!(error = %e, "could not look for stop requests");
                return;
            }
        };
        let running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        for id in ids {
            if let Some(token) = running.get(&id) {
                token.cancel();
            }
        }
    }

    /// Starts queued builds while there is room.
    async fn dispatch(
        self: &Arc<Self>,
        tasks: &TaskTracker,
    ) -> Result<(), ferry_store::StoreError> {
        let queued = self.store.builds_in_state("QUEUED").await?;
        // Per project: its concurrentBuildLimit and how many of its builds run.
        let mut rooms: HashMap<String, (Option<i64>, i64)> = HashMap::new();
        let mut picked = Vec::new();
        for row in queued {
            let Ok(mut b) = serde_json::from_str::<Build>(&row.document) else {
                continue;
            };
            // Queued too long: TIMED_OUT in QUEUED.
            let limit_min = b.queued_timeout_in_minutes.unwrap_or(480) as i64;
            if now().millis() - row.submitted_ms > limit_min * 60_000 {
                let at = now();
                phases::end(
                    &mut b,
                    StatusType::TimedOut,
                    Some(("BUILD_TIMED_OUT", "Build has timed out in the queue.")),
                    at,
                );
                phases::complete(&mut b, StatusType::TimedOut, at);
                self.save(&b, "DONE").await;
                continue;
            }
            if row.stop_requested {
                let at = now();
                phases::end(&mut b, StatusType::Stopped, None, at);
                phases::complete(&mut b, StatusType::Stopped, at);
                self.save(&b, "DONE").await;
                continue;
            }
            if self.running.lock().unwrap_or_else(|e| e.into_inner()).len() + picked.len()
                >= self.settings.max_running
            {
                break;
            }
            // A project's limit and running count are read once a pass.
            let room = match rooms.get_mut(&row.project_name) {
                Some(r) => r,
                None => {
                    let limit = self
                        .store
                        .project(&row.project_name)
                        .await?
                        .and_then(|p| serde_json::from_str::<Project>(&p.definition).ok())
                        .and_then(|p| p.concurrent_build_limit);
                    let running = match limit {
                        Some(_) => self.store.running_builds_of(&row.project_name).await?,
                        None => 0,
                    };
                    rooms
                        .entry(row.project_name.clone())
                        .or_insert((limit.map(i64::from), running))
                }
            };
            if room.0.is_some_and(|limit| room.1 >= limit) {
                continue;
            }
            room.1 += 1;
            picked.push((row, b));
        }
        if picked.is_empty() {
            return Ok(());
        }
        // Every build picked is claimed, and given its credentials, in one write; a build
        // another node took first is skipped.
        let until = now().millis() + LEASE.as_millis() as i64;
        let claims: Vec<_> = picked
            .iter()
            .map(|(r, b)| {
                let (principal, duration_s) =
                    crate::runner::principal(b, &self.settings.account_id);
                ferry_store::builds::Claim {
                    build_id: r.build_id.clone(),
                    project: r.project_name.clone(),
                    limit: rooms.get(&r.project_name).and_then(|room| room.0),
                    principal,
                    duration_s,
                }
            })
            .collect();
        let mut claimed = self
            .store
            .claim_builds(&claims, &self.settings.node_id, until)
            .await?;
        for (row, b) in picked {
            let Some(at) = claimed.iter().position(|(id, _)| *id == row.build_id) else {
                continue;
            };
            let session = claimed.swap_remove(at).1;
            let extras: BuildExtras = serde_json::from_str(&row.settings).unwrap_or_default();
            self.launch(tasks, b, extras, session);
        }
        Ok(())
    }

    /// Runs a build this node has claimed.
    fn launch(
        self: &Arc<Self>,
        tasks: &TaskTracker,
        b: Build,
        extras: BuildExtras,
        session: ferry_store::iam::IssuedSession,
    ) {
        let id = b.id.clone().unwrap_or_default();
        let token = CancellationToken::new();
        self.running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.clone(), token.clone());
        let me = self.clone();
        tasks.spawn(async move {
            crate::runner::run(&me, b, extras, session, token).await;
            let idle = {
                let mut running = me.running.lock().unwrap_or_else(|e| e.into_inner());
                running.remove(&id);
                running.is_empty()
            };
            me.poke();
            if idle {
                // Quiet now: the workspaces given back are emptied, then their shells
                // started ahead, unless a build came meanwhile.
                me.workspaces.tidy().await;
                if me
                    .running
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .is_empty()
                {
                    me.prestart_drivers();
                }
            }
        });
    }

    /// While nothing runs here, starts the shell driver of every kept workspace ahead of its
    /// next build, which then starts without waiting for a shell.
    fn prestart_drivers(&self) {
        for ws in self.workspaces.kept() {
            let tmp = ws.join("tmp");
            let (program, args) = crate::shell::default_driver(&tmp);
            let cwd = ws.join("src");
            self.executor.prestart(
                &ws,
                crate::executor::Proc {
                    program: &program,
                    args: &args,
                    env: &[],
                    cwd: &cwd,
                    command: "",
                    user: None,
                },
            );
        }
    }

    /// How this node would start a build of `project` the moment it is submitted; `None`
    /// when it cannot (its scheduler is not running, or it runs as many builds as it may).
    pub(crate) fn start_at_once(
        &self,
        b: &Build,
        limit: Option<i32>,
    ) -> Option<ferry_store::builds::StartAtOnce> {
        self.tasks.get()?;
        if self.running.lock().unwrap_or_else(|e| e.into_inner()).len() >= self.settings.max_running
        {
            return None;
        }
        let (principal, duration_s) = crate::runner::principal(b, &self.settings.account_id);
        Some(ferry_store::builds::StartAtOnce {
            owner: self.settings.node_id.clone(),
            until_ms: now().millis() + LEASE.as_millis() as i64,
            limit: limit.map(i64::from),
            principal,
            duration_s,
        })
    }

    /// Runs a build that StartBuild claimed for this node (see [`BuildService::start_at_once`]).
    pub(crate) fn launch_started(
        self: &Arc<Self>,
        b: Build,
        extras: BuildExtras,
        session: ferry_store::iam::IssuedSession,
    ) {
        if let Some(tasks) = self.tasks.get() {
            self.launch(tasks, b, extras, session);
        }
    }

    /// The node's writer of build log lines.
    pub(crate) fn log_writer(&self) -> crate::logsink::LogWriter {
        self.logs
            .get_or_init(|| crate::logsink::LogWriter::start(self.store.clone()))
            .clone()
    }

    /// Saves a build document with its queue state.
    pub(crate) async fn save(&self, b: &Build, queue_state: &str) {
        let (tx, rx) = oneshot::channel();
        if self.queue_save(b, queue_state, Some(tx)) {
            let _ = rx.await;
        }
    }

    /// Records a new build (StartBuild, see [`Store::insert_builds`]). Builds submitted while
    /// earlier ones are being recorded go in one transaction.
    pub(crate) async fn record(&self, build: NewBuild) -> Recorded {
        let queue = self.records.get_or_init(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(write_records(self.store.clone(), rx));
            tx
        });
        let (answer, heard) = oneshot::channel();
        let gone = || StoreError::Io(std::io::Error::other("the build recorder stopped"));
        queue
            .send(RecordJob { build, answer })
            .map_err(|_| gone())?;
        heard.await.unwrap_or_else(|_| Err(gone()))
    }

    /// Queues a build's save without waiting for it (a phase change). Saves queued while
    /// the previous ones were being written go in one transaction, and of a build's queued
    /// saves only the last is written; a later [`BuildService::save`] of the same build is
    /// always written after it.
    pub(crate) fn save_soon(&self, b: &Build, queue_state: &str) {
        self.queue_save(b, queue_state, None);
    }

    /// Whether the save was queued.
    fn queue_save(
        &self,
        b: &Build,
        queue_state: &str,
        stored: Option<oneshot::Sender<()>>,
    ) -> bool {
        let id = b.id.clone().unwrap_or_default();
        let document = match serde_json::to_string(b) {
            Ok(doc) => doc,
            Err(e) => {
                tracing::error!(build = %id, error = %e, "could not encode build");
                return false;
            }
        };
        let queue = self.saves.get_or_init(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(write_saves(self.store.clone(), rx));
            tx
        });
        queue
            .send(SaveJob {
                id,
                queue_state: queue_state.to_owned(),
                document,
                stored,
            })
            .is_ok()
    }

    /// Asks a build to stop: queued builds stop at once, running ones as soon as their
    /// node sees the request.
    pub async fn stop_build(&self, id: &str) -> Result<bool, ferry_store::StoreError> {
        if !self.store.request_build_stop(id).await? {
            return Ok(false);
        }
        if let Some(t) = self
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
        {
            t.cancel();
        }
        self.poke();
        Ok(true)
    }
}

/// Writes queued build saves: everything queued at the time in one transaction, each build's
/// last document only, then tells the waiting savers.
async fn write_records(store: Store, mut rx: mpsc::UnboundedReceiver<RecordJob>) {
    while let Some(first) = rx.recv().await {
        let mut jobs = vec![first];
        while let Ok(j) = rx.try_recv() {
            jobs.push(j);
        }
        let (builds, answers): (Vec<NewBuild>, Vec<_>) =
            jobs.into_iter().map(|j| (j.build, j.answer)).unzip();
        match store.insert_builds(builds).await {
            Ok(results) => {
                for (answer, r) in answers.into_iter().zip(results) {
                    let _ = answer.send(r);
                }
            }
            Err(e) => {
                let message = e.to_string();
                for answer in answers {
                    let _ =
                        answer.send(Err(StoreError::Io(std::io::Error::other(message.clone()))));
                }
            }
        }
    }
}

async fn write_saves(store: Store, mut rx: mpsc::UnboundedReceiver<SaveJob>) {
    while let Some(first) = rx.recv().await {
        let mut jobs = vec![first];
        while let Ok(j) = rx.try_recv() {
            jobs.push(j);
        }
        let mut rows: Vec<(String, String, String)> = Vec::with_capacity(jobs.len());
        let mut waiting = Vec::new();
        for j in jobs {
            match rows.iter_mut().find(|r| r.0 == j.id) {
                Some(r) => {
                    r.1 = j.queue_state;
                    r.2 = j.document;
                }
                None => rows.push((j.id, j.queue_state, j.document)),
            }
            waiting.extend(j.stored);
        }
        if let Err(e) = store.save_builds(&rows).await {
            tracing::error!(error = %e, builds = rows.len(), "could not save builds");
        }
        for w in waiting {
            let _ = w.send(());
        }
    }
}
