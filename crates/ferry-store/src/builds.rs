//! CodeBuild's persistent state: projects (their definition as the API's JSON document, and a
//! counter that numbers their builds) and builds (the API's Build document, and the columns
//! the scheduler needs: queue state `QUEUED` → `RUNNING` → `DONE`, a lease held by the node
//! running it, and a stop request).

use sqlx::Row;

use crate::iam::IssuedSession;
use crate::identity::Principal;
use crate::{Store, StoreError};

/// A stored project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectRow {
    pub name: String,
    pub arn: String,
    pub definition: String,
    pub build_counter: i64,
    pub created_ms: i64,
    pub modified_ms: i64,
}

/// A stored build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildRow {
    pub build_id: String,
    pub project_name: String,
    pub build_number: i64,
    pub queue_state: String,
    pub document: String,
    /// The build's effective settings that the Build document does not carry (artifact and
    /// cache configuration after overrides), as JSON.
    pub settings: String,
    pub submitted_ms: i64,
    pub stop_requested: bool,
}

const BUILD_COLUMNS: &str = "build_id, project_name, build_number, queue_state, document, settings, submitted_ms, stop_requested";

fn build_of(r: &sqlx::any::AnyRow) -> BuildRow {
    BuildRow {
        build_id: r.get(0),
        project_name: r.get(1),
        build_number: r.get(2),
        queue_state: r.get(3),
        document: r.get(4),
        settings: r.get(5),
        submitted_ms: r.get(6),
        stop_requested: r.get::<i64, _>(7) != 0,
    }
}

fn project_of(r: &sqlx::any::AnyRow) -> ProjectRow {
    ProjectRow {
        name: r.get(0),
        arn: r.get(1),
        definition: r.get(2),
        build_counter: r.get(3),
        created_ms: r.get(4),
        modified_ms: r.get(5),
    }
}

const PROJECT_COLUMNS: &str =
    "project_name, arn, definition, build_counter, created_ms, modified_ms";

/// Takes the next number of a project's counter (`build_counter` or `batch_counter`) inside a
/// write transaction; `NotFound` when the project is gone.
async fn next_number(
    tx: &mut crate::WriteTx,
    counter: &'static str,
    project: &str,
) -> Result<i64, StoreError> {
    take_numbers(tx, counter, project, 1)
        .await?
        .ok_or(StoreError::NotFound)
}

/// Takes the next `n` numbers of a project's counter inside a write transaction; the last of
/// them, or `None` when the project is gone.
async fn take_numbers(
    tx: &mut crate::WriteTx,
    counter: &'static str,
    project: &str,
    n: i64,
) -> Result<Option<i64>, StoreError> {
    Ok(sqlx::query(&format!(
        "UPDATE cb_projects SET {counter} = {counter} + $1 WHERE project_name = $2 RETURNING {counter}"
    ))
    .bind(n)
    .bind(project)
    .fetch_optional(&mut **tx)
    .await?
    .map(|r| r.get(0)))
}

/// A project's share of [`Store::insert_builds`]: how many builds it gets, whether one may
/// start at once, the next number to give (`None` when the project is gone), and its builds
/// waiting and running, counted when one may start and kept up as builds are added.
struct Numbering {
    project: String,
    count: i64,
    may_start: bool,
    next: Option<i64>,
    queue: (i64, i64),
}

/// How a node would start a build the moment it is submitted (see [`Store::insert_builds`]).
#[derive(Debug, Clone)]
pub struct StartAtOnce {
    /// The node's id and how long its lease lasts.
    pub owner: String,
    pub until_ms: i64,
    /// The project's `concurrentBuildLimit`.
    pub limit: Option<i64>,
    /// Who the build's credentials act as, and for how many seconds.
    pub principal: Principal,
    pub duration_s: i64,
}

/// One build for [`Store::insert_builds`]: its project, how to make its row from its number,
/// and how this node would start it at once.
pub struct NewBuild {
    pub project: String,
    pub make: Box<dyn FnOnce(i64) -> BuildRow + Send>,
    pub start: Option<StartAtOnce>,
}

/// A queued build a node would claim (see [`Store::claim_builds`]).
#[derive(Debug, Clone)]
pub struct Claim {
    pub build_id: String,
    pub project: String,
    /// The project's `concurrentBuildLimit`.
    pub limit: Option<i64>,
    /// Who the build's credentials act as, and for how many seconds.
    pub principal: Principal,
    pub duration_s: i64,
}

/// How many builds of a project run, counted inside a write transaction with the project's
/// row locked until it ends (a no-op update: the one row lock both engines take the same way).
async fn running_in(tx: &mut crate::WriteTx, project: &str) -> Result<i64, StoreError> {
    sqlx::query("UPDATE cb_projects SET build_counter = build_counter WHERE project_name = $1")
        .bind(project)
        .execute(&mut **tx)
        .await?;
    Ok(sqlx::query(
        "SELECT COUNT(*) FROM cb_builds WHERE project_name = $1 AND queue_state = 'RUNNING'",
    )
    .bind(project)
    .fetch_one(&mut **tx)
    .await?
    .get(0))
}

impl Store {
    /// Creates a project; `Conflict` when the name is taken.
    pub async fn create_project(&self, p: &ProjectRow) -> Result<(), StoreError> {
        sqlx::query(&format!(
            "INSERT INTO cb_projects ({PROJECT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"
        ))
        .bind(&p.name)
        .bind(&p.arn)
        .bind(&p.definition)
        .bind(p.build_counter)
        .bind(p.created_ms)
        .bind(p.modified_ms)
        .execute(&mut *self.writer().await?)
        .await
        .map_err(|e| StoreError::from_insert(e, &p.name))?;
        Ok(())
    }

    /// A project by name.
    pub async fn project(&self, name: &str) -> Result<Option<ProjectRow>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {PROJECT_COLUMNS} FROM cb_projects WHERE project_name = $1"
        ))
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(project_of))
    }

    /// Every project (names and times; the API sorts and pages them).
    pub async fn projects(&self) -> Result<Vec<ProjectRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {PROJECT_COLUMNS} FROM cb_projects ORDER BY project_name"
        ))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(project_of).collect())
    }

    /// Replaces a project's definition; `NotFound` when absent.
    pub async fn update_project(
        &self,
        name: &str,
        definition: &str,
        modified_ms: i64,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE cb_projects SET definition = $1, modified_ms = $2 WHERE project_name = $3",
        )
        .bind(definition)
        .bind(modified_ms)
        .bind(name)
        .execute(&mut *self.writer().await?)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Deletes a project (its builds stay, as on AWS); whether it existed.
    pub async fn delete_project(&self, name: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM cb_projects WHERE project_name = $1")
            .bind(name)
            .execute(&mut *self.writer().await?)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Numbers new builds and records them, in one transaction (StartBuild requests that
    /// arrived together), in order. `make` builds each row from its number. With `start`, a
    /// build is also claimed in that transaction when it may start at once (no build of its
    /// project waits before it and the project's limit has room), and its credentials are
    /// issued: they are in its answer exactly when it was claimed. Each answer is that
    /// build's, `NotFound` when its project is gone; any other error fails them all, and
    /// nothing is recorded.
    pub async fn insert_builds(
        &self,
        builds: Vec<NewBuild>,
    ) -> Result<Vec<Result<(BuildRow, Option<IssuedSession>), StoreError>>, StoreError> {
        let mut tx = self.begin_write().await?;
        // Per project: its numbers taken at once (moving the counter locks the project's row
        // until the transaction ends), and, when one of its builds may start at once, its
        // builds waiting and running before these.
        let mut projects: Vec<Numbering> = Vec::new();
        for nb in &builds {
            match projects.iter_mut().find(|p| p.project == nb.project) {
                Some(p) => {
                    p.count += 1;
                    p.may_start |= nb.start.is_some();
                }
                None => projects.push(Numbering {
                    project: nb.project.clone(),
                    count: 1,
                    may_start: nb.start.is_some(),
                    next: None,
                    queue: (0, 0),
                }),
            }
        }
        // Rows locked in name order, so that two nodes recording builds of the same projects
        // at once cannot each hold a row the other waits for.
        projects.sort_by(|a, b| a.project.cmp(&b.project));
        for p in &mut projects {
            let last = take_numbers(&mut tx, "build_counter", &p.project, p.count).await?;
            p.next = last.map(|last| last - p.count + 1);
            if p.next.is_some() && p.may_start {
                let counts = sqlx::query(
                    "SELECT (SELECT COUNT(*) FROM cb_builds WHERE project_name = $1 AND queue_state = 'QUEUED'), \
                            (SELECT COUNT(*) FROM cb_builds WHERE project_name = $1 AND queue_state = 'RUNNING')",
                )
                .bind(&p.project)
                .fetch_one(&mut *tx)
                .await?;
                p.queue = (counts.get(0), counts.get(1));
            }
        }
        // Each build in order: its number, and whether it starts at once (none of its
        // project's builds waits before it, and its limit has room).
        let mut made: Vec<Result<(BuildRow, Option<StartAtOnce>), StoreError>> = Vec::new();
        for nb in builds {
            let Some(p) = projects.iter_mut().find(|p| p.project == nb.project) else {
                unreachable!("every build's project is numbered above");
            };
            let Some(number) = p.next.as_mut() else {
                made.push(Err(StoreError::NotFound));
                continue;
            };
            let mut b = (nb.make)(*number);
            *number += 1;
            let (waiting, running) = &mut p.queue;
            let mut start_now = None;
            if let Some(st) = nb.start
                && *waiting == 0
                && st.limit.is_none_or(|limit| *running < limit)
            {
                b.queue_state = "RUNNING".into();
                start_now = Some(st);
            }
            match b.queue_state.as_str() {
                "QUEUED" => *waiting += 1,
                "RUNNING" => *running += 1,
                _ => {}
            }
            made.push(Ok((b, start_now)));
        }
        let rows: Vec<&(BuildRow, Option<StartAtOnce>)> =
            made.iter().filter_map(|m| m.as_ref().ok()).collect();
        for chunk in rows.chunks(crate::rows::PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO cb_builds ({BUILD_COLUMNS}, lease_owner, lease_until_ms) VALUES {}",
                crate::rows::values(self.backend(), chunk.len(), &[""; 10])
            );
            let mut q = sqlx::query(&sql);
            for (b, start_now) in chunk {
                q = q
                    .bind(&b.build_id)
                    .bind(&b.project_name)
                    .bind(b.build_number)
                    .bind(&b.queue_state)
                    .bind(&b.document)
                    .bind(&b.settings)
                    .bind(b.submitted_ms)
                    .bind(i64::from(b.stop_requested))
                    .bind(start_now.as_ref().map(|st| st.owner.clone()))
                    .bind(start_now.as_ref().map(|st| st.until_ms));
            }
            q.execute(&mut *tx).await?;
        }
        let wanted: Vec<(&Principal, i64)> = rows
            .iter()
            .filter_map(|(_, st)| st.as_ref().map(|st| (&st.principal, st.duration_s)))
            .collect();
        let mut sessions = self.issue_sessions(&mut tx, &wanted).await?.into_iter();
        tx.commit().await?;
        Ok(made
            .into_iter()
            .map(|m| {
                m.map(|(b, st)| {
                    let session = st.and_then(|_| sessions.next());
                    (b, session)
                })
            })
            .collect())
    }

    /// A build by id.
    pub async fn build(&self, id: &str) -> Result<Option<BuildRow>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {BUILD_COLUMNS} FROM cb_builds WHERE build_id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(build_of))
    }

    /// The builds among `ids` that exist, in no particular order (one query per hundred ids).
    pub async fn builds(&self, ids: &[&str]) -> Result<Vec<BuildRow>, StoreError> {
        let mut found = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(100) {
            let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT {BUILD_COLUMNS} FROM cb_builds WHERE build_id IN ({})",
                marks.join(", ")
            );
            let mut q = sqlx::query(&sql);
            for id in chunk {
                q = q.bind(*id);
            }
            found.extend(q.fetch_all(&self.pool).await?.iter().map(build_of));
        }
        Ok(found)
    }

    /// Saves several builds' documents in one transaction (a group commit): each entry is
    /// `(build id, queue state, document)`, each id once.
    pub async fn save_builds(&self, builds: &[(String, String, String)]) -> Result<(), StoreError> {
        if builds.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_background_write().await?;
        for chunk in builds.chunks(crate::rows::PER_STATEMENT) {
            let sql = format!(
                "WITH saved (build_id, queue_state, document) AS (VALUES {}) \
                 UPDATE cb_builds SET queue_state = saved.queue_state, document = saved.document \
                 FROM saved WHERE cb_builds.build_id = saved.build_id",
                crate::rows::values(self.backend(), chunk.len(), &["", "", ""])
            );
            let mut q = sqlx::query(&sql);
            for (id, queue_state, document) in chunk {
                q = q.bind(id).bind(queue_state).bind(document);
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Running builds leased by `owner` that somebody asked to stop.
    pub async fn stop_requests_of(&self, owner: &str) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT build_id FROM cb_builds WHERE lease_owner = $1 AND queue_state = 'RUNNING' \
             AND stop_requested <> 0",
        )
        .bind(owner)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    /// Asks a build to stop; whether it exists.
    pub async fn request_build_stop(&self, id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE cb_builds SET stop_requested = 1 WHERE build_id = $1")
            .bind(id)
            .execute(&mut *self.writer().await?)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Build ids, all projects, in id order (`ascending`) after `after`.
    pub async fn build_ids(
        &self,
        ascending: bool,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<String>, StoreError> {
        let (cmp, order) = if ascending {
            (">", "ASC")
        } else {
            ("<", "DESC")
        };
        let rows = match after {
            Some(a) => {
                sqlx::query(&format!("SELECT build_id FROM cb_builds WHERE build_id {cmp} $1 ORDER BY build_id {order} LIMIT $2"))
                    .bind(a)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?
            }
            None => {
                sqlx::query(&format!(
                    "SELECT build_id FROM cb_builds ORDER BY build_id {order} LIMIT $1"
                ))
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
            }
        };
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    /// A project's build ids by build number (`ascending` or newest first), after a number.
    pub async fn project_build_ids(
        &self,
        project: &str,
        ascending: bool,
        after_number: Option<i64>,
        limit: i64,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        let (cmp, order) = if ascending {
            (">", "ASC")
        } else {
            ("<", "DESC")
        };
        let bound = after_number.unwrap_or(if ascending { i64::MIN } else { i64::MAX });
        let rows = sqlx::query(&format!(
            "SELECT build_id, build_number FROM cb_builds WHERE project_name = $1 AND build_number {cmp} $2 \
             ORDER BY build_number {order} LIMIT $3"
        ))
        .bind(project)
        .bind(bound)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// Deletes finished builds; returns the ids that were deleted.
    pub async fn delete_builds(&self, ids: &[String]) -> Result<Vec<String>, StoreError> {
        let mut deleted = Vec::new();
        for id in ids {
            let done =
                sqlx::query("DELETE FROM cb_builds WHERE build_id = $1 AND queue_state = 'DONE'")
                    .bind(id)
                    .execute(&mut *self.writer().await?)
                    .await?;
            if done.rows_affected() > 0 {
                deleted.push(id.clone());
            }
        }
        Ok(deleted)
    }

    /// Builds in a queue state, oldest first.
    pub async fn builds_in_state(&self, state: &str) -> Result<Vec<BuildRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {BUILD_COLUMNS} FROM cb_builds WHERE queue_state = $1 ORDER BY submitted_ms, build_id"
        ))
        .bind(state)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(build_of).collect())
    }

    /// Claims queued builds for `owner` until `until_ms` and issues each its temporary
    /// credentials, all in one transaction. A build whose project runs as many builds as its
    /// limit allows is not claimed (the project's row is locked while it is counted, so nodes
    /// claiming at once cannot both take the last place), nor one another node claimed first
    /// or that left the queue. The answer holds the builds claimed with their credentials.
    pub async fn claim_builds(
        &self,
        claims: &[Claim],
        owner: &str,
        until_ms: i64,
    ) -> Result<Vec<(String, IssuedSession)>, StoreError> {
        let mut tx = self.begin_write().await?;
        crate::iam::forget_expired_sessions(&mut tx).await?;
        let mut got = Vec::with_capacity(claims.len());
        // Per limited project: its running builds, counted once, then kept up here.
        let mut running: std::collections::HashMap<&str, i64> = std::collections::HashMap::new();
        for c in claims {
            if let Some(limit) = c.limit {
                let n = match running.get(c.project.as_str()) {
                    Some(n) => *n,
                    None => running_in(&mut tx, &c.project).await?,
                };
                running.insert(&c.project, n);
                if n >= limit {
                    continue;
                }
            }
            let done = sqlx::query(
                "UPDATE cb_builds SET queue_state = 'RUNNING', lease_owner = $1, lease_until_ms = $2 \
                 WHERE build_id = $3 AND queue_state = 'QUEUED'",
            )
            .bind(owner)
            .bind(until_ms)
            .bind(&c.build_id)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() > 0 {
                if let Some(n) = running.get_mut(c.project.as_str()) {
                    *n += 1;
                }
                got.push(c);
            }
        }
        let wanted: Vec<(&Principal, i64)> =
            got.iter().map(|c| (&c.principal, c.duration_s)).collect();
        let sessions = self.issue_sessions(&mut tx, &wanted).await?;
        tx.commit().await?;
        Ok(got
            .into_iter()
            .map(|c| c.build_id.clone())
            .zip(sessions)
            .collect())
    }

    /// Extends the lease on running builds of `owner`.
    pub async fn renew_build_leases(&self, owner: &str, until_ms: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE cb_builds SET lease_until_ms = $1 WHERE lease_owner = $2 AND queue_state = 'RUNNING'")
            .bind(until_ms)
            .bind(owner)
            .execute(&mut *self.writer().await?)
            .await?;
        Ok(())
    }

    /// Running builds whose lease has expired at `now_ms` (their node is gone).
    pub async fn orphaned_builds(&self, now_ms: i64) -> Result<Vec<BuildRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {BUILD_COLUMNS} FROM cb_builds WHERE queue_state = 'RUNNING' AND (lease_until_ms IS NULL OR lease_until_ms < $1)"
        ))
        .bind(now_ms)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(build_of).collect())
    }

    /// How many builds of a project are running.
    pub async fn running_builds_of(&self, project: &str) -> Result<i64, StoreError> {
        Ok(sqlx::query(
            "SELECT COUNT(*) FROM cb_builds WHERE project_name = $1 AND queue_state = 'RUNNING'",
        )
        .bind(project)
        .fetch_one(&self.pool)
        .await?
        .get(0))
    }
}

/// A stored batch build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchRow {
    pub batch_id: String,
    pub project_name: String,
    pub batch_number: i64,
    pub queue_state: String,
    pub document: String,
    pub settings: String,
    pub submitted_ms: i64,
}

const BATCH_COLUMNS: &str =
    "batch_id, project_name, batch_number, queue_state, document, settings, submitted_ms";

fn batch_of(r: &sqlx::any::AnyRow) -> BatchRow {
    BatchRow {
        batch_id: r.get(0),
        project_name: r.get(1),
        batch_number: r.get(2),
        queue_state: r.get(3),
        document: r.get(4),
        settings: r.get(5),
        submitted_ms: r.get(6),
    }
}

impl Store {
    /// Numbers a new batch of a project and records it; `NotFound` when the project is gone.
    pub async fn insert_batch(
        &self,
        project: &str,
        make: impl FnOnce(i64) -> BatchRow,
    ) -> Result<BatchRow, StoreError> {
        let mut tx = self.begin_write().await?;
        let number = next_number(&mut tx, "batch_counter", project).await?;
        let b = make(number);
        sqlx::query(&format!(
            "INSERT INTO cb_batches ({BATCH_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        ))
        .bind(&b.batch_id)
        .bind(&b.project_name)
        .bind(b.batch_number)
        .bind(&b.queue_state)
        .bind(&b.document)
        .bind(&b.settings)
        .bind(b.submitted_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(b)
    }

    /// A batch by id.
    pub async fn batch(&self, id: &str) -> Result<Option<BatchRow>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {BATCH_COLUMNS} FROM cb_batches WHERE batch_id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(batch_of))
    }

    /// Saves a batch's document and queue state.
    pub async fn save_batch(
        &self,
        id: &str,
        queue_state: &str,
        document: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE cb_batches SET queue_state = $1, document = $2 WHERE batch_id = $3")
            .bind(queue_state)
            .bind(document)
            .bind(id)
            .execute(&mut *self.writer().await?)
            .await?;
        Ok(())
    }

    /// Batches, of one project or all, oldest first.
    pub async fn batches(&self, project: Option<&str>) -> Result<Vec<BatchRow>, StoreError> {
        let rows = match project {
            Some(p) => sqlx::query(&format!("SELECT {BATCH_COLUMNS} FROM cb_batches WHERE project_name = $1 ORDER BY batch_number"))
                .bind(p)
                .fetch_all(&self.pool)
                .await?,
            None => sqlx::query(&format!("SELECT {BATCH_COLUMNS} FROM cb_batches ORDER BY submitted_ms, batch_id"))
                .fetch_all(&self.pool)
                .await?,
        };
        Ok(rows.iter().map(batch_of).collect())
    }

    /// Batches in a queue state.
    pub async fn batches_in_state(&self, state: &str) -> Result<Vec<BatchRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {BATCH_COLUMNS} FROM cb_batches WHERE queue_state = $1 ORDER BY submitted_ms"
        ))
        .bind(state)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(batch_of).collect())
    }

    /// Deletes a batch; whether it existed.
    pub async fn delete_batch(&self, id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM cb_batches WHERE batch_id = $1")
            .bind(id)
            .execute(&mut *self.writer().await?)
            .await?;
        Ok(done.rows_affected() > 0)
    }
}

/// Source credentials to store.
#[derive(Debug, Clone, Copy)]
pub struct SourceCredentialRow<'a> {
    pub server_type: &'a str,
    pub arn: &'a str,
    pub auth_type: &'a str,
    pub username: Option<&'a str>,
    pub token: &'a str,
}

impl Store {
    /// Sets the resource policy of a project or report group.
    pub async fn put_resource_policy(&self, arn: &str, policy: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO cb_resource_policies (resource_arn, policy) VALUES ($1, $2) \
             ON CONFLICT (resource_arn) DO UPDATE SET policy = excluded.policy",
        )
        .bind(arn)
        .bind(policy)
        .execute(&mut *self.writer().await?)
        .await?;
        Ok(())
    }

    /// The resource policy of a project or report group.
    pub async fn resource_policy(&self, arn: &str) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query("SELECT policy FROM cb_resource_policies WHERE resource_arn = $1")
                .bind(arn)
                .fetch_optional(&self.pool)
                .await?
                .map(|r| r.get(0)),
        )
    }

    /// Removes a resource policy; whether there was one.
    pub async fn delete_resource_policy(&self, arn: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM cb_resource_policies WHERE resource_arn = $1")
            .bind(arn)
            .execute(&mut *self.writer().await?)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Stores source credentials for a server type (the token sealed); `Conflict` when some
    /// exist and `overwrite` is false.
    pub async fn put_source_credentials(
        &self,
        c: &SourceCredentialRow<'_>,
        overwrite: bool,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let (server_type, arn, auth_type, username, token) =
            (c.server_type, c.arn, c.auth_type, c.username, c.token);
        let sealed = self.secrets.seal(token);
        let sql = if overwrite {
            "INSERT INTO cb_source_credentials (server_type, arn, auth_type, username, token_enc, created_ms) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (server_type) DO UPDATE SET arn = excluded.arn, auth_type = excluded.auth_type, username = excluded.username, token_enc = excluded.token_enc, created_ms = excluded.created_ms"
        } else {
            "INSERT INTO cb_source_credentials (server_type, arn, auth_type, username, token_enc, created_ms) VALUES ($1, $2, $3, $4, $5, $6)"
        };
        sqlx::query(sql)
            .bind(server_type)
            .bind(arn)
            .bind(auth_type)
            .bind(username)
            .bind(sealed)
            .bind(now_ms)
            .execute(&mut *self.writer().await?)
            .await
            .map_err(|e| StoreError::from_insert(e, server_type))?;
        Ok(())
    }

    /// Stored source credentials: `(arn, server type, auth type)`.
    pub async fn source_credentials(&self) -> Result<Vec<(String, String, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT arn, server_type, auth_type FROM cb_source_credentials ORDER BY server_type",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect())
    }

    /// Deletes source credentials by ARN; whether they existed.
    pub async fn delete_source_credentials(&self, arn: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM cb_source_credentials WHERE arn = $1")
            .bind(arn)
            .execute(&mut *self.writer().await?)
            .await?;
        Ok(done.rows_affected() > 0)
    }
}
