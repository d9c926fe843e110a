//! Starting an execution: a new record waiting before the first stage, pinned to the
//! pipeline's current version, with its trigger, the source revisions asked for and the
//! pipeline-level variables resolved (declared defaults, overridden by the start's values).

use std::collections::BTreeMap;

use ferry_wire::AwsError;

use crate::record::{ExecRecord, Position, status};
use crate::service::{PipelineService, now_ms};

impl PipelineService {
    /// Starts an execution of `name`; returns its id.
    pub async fn start_execution(
        &self,
        name: &str,
        trigger_type: &str,
        trigger_detail: Option<String>,
        source_overrides: BTreeMap<String, (String, String)>,
        variables: BTreeMap<String, String>,
    ) -> Result<String, AwsError> {
        let (version, stored) = self.stored(name).await?;
        let decl = &stored.pipeline;
        let mut resolved = BTreeMap::new();
        for v in decl.variables.iter().flatten() {
            match variables.get(&v.name).or(v.default_value.as_ref()) {
                Some(value) => {
                    resolved.insert(v.name.clone(), value.clone());
                }
                None => {
                    return Err(AwsError::new(
                        "ValidationException",
                        format!(
                            "The pipeline variable {} has no default value and was not given",
                            v.name
                        ),
                    ));
                }
            }
        }
        for k in variables.keys() {
            if !decl.variables.iter().flatten().any(|v| &v.name == k) {
                return Err(AwsError::new(
                    "ValidationException",
                    format!("The pipeline does not declare the variable {k}"),
                ));
            }
        }
        let now = now_ms();
        let e = ExecRecord {
            id: uuid::Uuid::new_v4().to_string(),
            pipeline: name.to_owned(),
            pipeline_version: version,
            status: status::IN_PROGRESS.into(),
            status_summary: None,
            trigger_type: trigger_type.to_owned(),
            trigger_detail,
            execution_mode: crate::step::mode_of(decl).as_str().to_owned(),
            started_ms: now,
            updated_ms: now,
            position: Position::Waiting { stage: 0 },
            stages: Vec::new(),
            artifacts: BTreeMap::new(),
            variables: BTreeMap::new(),
            pipeline_variables: resolved,
            source_overrides,
            source_revisions: Vec::new(),
            stop: None,
            execution_type: "STANDARD".into(),
            rollback_target: None,
            only_stage: None,
            auto_retries: 0,
        };
        {
            let lock = self.lock(name);
            let _guard = lock.lock().await;
            self.save(&e).await?;
        }
        self.poke(name);
        Ok(e.id)
    }
}
