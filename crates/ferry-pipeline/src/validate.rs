//! Checks a pipeline declaration the way CreatePipeline and UpdatePipeline do: names, the
//! role ARN, the artifact store, stage layout (sources first and only first), unique names,
//! artifacts produced before they are consumed, namespaces, per-provider configuration and
//! artifact counts, V2-only settings, and the action types Ferry runs.

use std::collections::{BTreeMap, BTreeSet};

use ferry_model::codepipeline::{
    ActionCategory, ActionDeclaration, ActionOwner, ActionType, ExecutionMode, PipelineDeclaration,
    PipelineType,
};
use ferry_wire::AwsError;

fn structure(message: impl Into<String>) -> AwsError {
    AwsError::new("InvalidStructureException", message)
}

fn stage_err(message: impl Into<String>) -> AwsError {
    AwsError::new("InvalidStageDeclarationException", message)
}

fn action_err(message: impl Into<String>) -> AwsError {
    AwsError::new("InvalidActionDeclarationException", message)
}

/// Pipeline, stage and action names: 1–100 of `[A-Za-z0-9.@_-]`.
pub fn valid_name(name: &str) -> bool {
    (1..=100).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".@_-".contains(c))
}

/// Artifact names and namespaces: 1–100 of `[A-Za-z0-9@_-]`.
fn valid_artifact(name: &str) -> bool {
    (1..=100).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "@_-".contains(c))
}

/// What an action of one type may carry: its configuration keys (required ones apart), and
/// the inclusive ranges of input and output artifacts.
struct Rules {
    required: Vec<String>,
    allowed: BTreeSet<String>,
    ins: (usize, usize),
    outs: (usize, usize),
}

/// The rules of `a`'s action type: an AWS type Ferry runs (as ListActionTypes shows it) or a
/// custom type created with CreateCustomActionType; `None` for any other type.
fn rules(a: &ActionDeclaration, custom: &[ActionType]) -> Option<Rules> {
    let t = &a.action_type_id;
    let declared = if t.owner != ActionOwner::Aws {
        custom.iter().find(|c| c.id == *t)?.clone()
    } else {
        crate::actions::action_types()
            .into_iter()
            .find(|c| c.id == *t)?
    };
    let props = declared.action_configuration_properties.unwrap_or_default();
    let count = |d: &ferry_model::codepipeline::ArtifactDetails| {
        (
            d.minimum_count.max(0) as usize,
            d.maximum_count.max(0) as usize,
        )
    };
    Some(Rules {
        required: props
            .iter()
            .filter(|p| p.required)
            .map(|p| p.name.clone())
            .collect(),
        allowed: props.iter().map(|p| p.name.clone()).collect(),
        ins: count(&declared.input_artifact_details),
        outs: count(&declared.output_artifact_details),
    })
}

/// The fields only compute (Commands) actions take, and their limits.
fn check_compute_fields(a: &ActionDeclaration, v2: bool) -> Result<(), AwsError> {
    let compute = a.action_type_id.category == ActionCategory::Compute;
    let commands = a.commands.as_deref().unwrap_or_default();
    if !compute {
        let stray = if !commands.is_empty() {
            Some("commands")
        } else if a.output_variables.as_ref().is_some_and(|v| !v.is_empty()) {
            Some("outputVariables")
        } else if a
            .output_artifacts
            .iter()
            .flatten()
            .any(|o| o.files.is_some())
        {
            Some("outputArtifacts[].files")
        } else {
            None
        };
        return match stray {
            Some(field) => Err(action_err(format!(
                "The action {} is not a Commands action and cannot have {field}",
                a.name
            ))),
            None => Ok(()),
        };
    }
    if !v2 {
        return Err(AwsError::new(
            "ValidationException",
            format!("The Commands action {} needs pipelineType V2", a.name),
        ));
    }
    if commands.is_empty() || commands.len() > 50 {
        return Err(action_err(format!(
            "The Commands action {} needs 1 to 50 commands",
            a.name
        )));
    }
    if let Some(c) = commands.iter().find(|c| c.contains('\n') || c.len() > 1000) {
        return Err(action_err(format!(
            "The Commands action {} has a command that spans lines or is over 1000 characters: {:?}",
            a.name,
            c.chars().take(80).collect::<String>()
        )));
    }
    let vars = a.output_variables.as_deref().unwrap_or_default();
    if vars.len() > 15 {
        return Err(action_err(format!(
            "The Commands action {} exports at most 15 outputVariables",
            a.name
        )));
    }
    if let Some(v) = vars
        .iter()
        .find(|v| v.is_empty() || !v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
    {
        return Err(action_err(format!(
            "The output variable {v:?} of {} is not a variable name",
            a.name
        )));
    }
    for o in a.output_artifacts.iter().flatten() {
        let files = o.files.as_deref().unwrap_or_default();
        if files.len() > 10 || files.iter().any(|f| f.is_empty() || f.len() > 128) {
            return Err(action_err(format!(
                "The output artifact {} of {} takes 1 to 10 file patterns of 1 to 128 characters",
                o.name, a.name
            )));
        }
    }
    Ok(())
}

/// Checks `d`; the error is what AWS would answer.
pub fn validate(d: &PipelineDeclaration, custom: &[ActionType]) -> Result<(), AwsError> {
    if !valid_name(&d.name) {
        return Err(AwsError::new(
            "ValidationException",
            format!(
                "The pipeline name {:?} must be 1 to 100 of A-Z a-z 0-9 . @ - _",
                d.name
            ),
        ));
    }
    let role_ok = d.role_arn.starts_with("arn:aws")
        && d.role_arn.contains(":iam::")
        && d.role_arn.contains(":role/");
    if !role_ok {
        return Err(AwsError::new(
            "ValidationException",
            format!("The roleArn {:?} is not an IAM role ARN", d.role_arn),
        ));
    }
    match (&d.artifact_store, &d.artifact_stores) {
        (Some(s), None) => {
            if !(3..=63).contains(&s.location.len()) {
                return Err(structure(
                    "The artifact store location must be a bucket name of 3 to 63 characters",
                ));
            }
        }
        (None, Some(_)) => {
            return Err(AwsError::new(
                "ValidationException",
                "Ferry keeps artifacts in one store: use artifactStore, not artifactStores",
            ));
        }
        (Some(_), Some(_)) => {
            return Err(structure(
                "artifactStore and artifactStores cannot both be set",
            ));
        }
        (None, None) => return Err(structure("The pipeline needs an artifactStore")),
    }
    let v2 = d.pipeline_type == Some(PipelineType::V2);
    if !v2 {
        if matches!(
            d.execution_mode,
            Some(ExecutionMode::Queued | ExecutionMode::Parallel)
        ) {
            return Err(AwsError::new(
                "ValidationException",
                "The QUEUED and PARALLEL execution modes need pipelineType V2",
            ));
        }
        if d.variables.as_ref().is_some_and(|v| !v.is_empty()) {
            return Err(AwsError::new(
                "ValidationException",
                "Pipeline variables need pipelineType V2",
            ));
        }
    }
    check_triggers(d, v2)?;
    for s in &d.stages {
        let conditions = if s.before_entry.is_some() {
            Some("beforeEntry")
        } else if s.on_success.is_some() {
            Some("onSuccess")
        } else if s.blockers.as_ref().is_some_and(|b| !b.is_empty()) {
            Some("blockers")
        } else {
            None
        };
        if let Some(field) = conditions {
            return Err(AwsError::new(
                "ValidationException",
                format!(
                    "The stage {} has {field}: Ferry does not run stage conditions or blockers yet",
                    s.name
                ),
            ));
        }
        let Some(rule) = &s.on_failure else {
            continue;
        };
        if !v2 {
            return Err(AwsError::new(
                "ValidationException",
                "A stage's onFailure needs pipelineType V2",
            ));
        }
        if rule.conditions.as_ref().is_some_and(|c| !c.is_empty()) {
            return Err(AwsError::new(
                "ValidationException",
                format!(
                    "The stage {} has onFailure conditions: Ferry does not run stage conditions yet",
                    s.name
                ),
            ));
        }
        let rollback = rule.result == Some(ferry_model::codepipeline::Result::Rollback);
        if rollback && d.execution_mode == Some(ExecutionMode::Parallel) {
            return Err(AwsError::new(
                "ValidationException",
                "PARALLEL pipelines cannot roll stages back",
            ));
        }
    }
    if d.stages.len() < 2 || d.stages.len() > 50 {
        return Err(structure("A pipeline has 2 to 50 stages"));
    }
    let mut stage_names = BTreeSet::new();
    let mut produced: BTreeMap<String, (usize, i32)> = BTreeMap::new();
    let mut namespaces = BTreeSet::new();
    let mut has_non_source = false;
    // Outputs first (an input may name an output of an earlier action anywhere before it).
    for (si, stage) in d.stages.iter().enumerate() {
        if !valid_name(&stage.name) {
            return Err(stage_err(format!(
                "The stage name {:?} is not valid",
                stage.name
            )));
        }
        if !stage_names.insert(stage.name.clone()) {
            return Err(stage_err(format!(
                "The stage name {} is used twice",
                stage.name
            )));
        }
        if stage.actions.is_empty() || stage.actions.len() > 50 {
            return Err(stage_err(format!(
                "The stage {} needs 1 to 50 actions",
                stage.name
            )));
        }
        let mut action_names = BTreeSet::new();
        for a in &stage.actions {
            if !valid_name(&a.name) {
                return Err(action_err(format!(
                    "The action name {:?} is not valid",
                    a.name
                )));
            }
            if !action_names.insert(a.name.clone()) {
                return Err(action_err(format!(
                    "The action name {} is used twice in stage {}",
                    a.name, stage.name
                )));
            }
            let order = a.run_order.unwrap_or(1);
            if !(1..=999).contains(&order) {
                return Err(action_err(format!(
                    "The runOrder of {} must be 1 to 999",
                    a.name
                )));
            }
            let source = a.action_type_id.category == ActionCategory::Source;
            if si == 0 && !source {
                return Err(stage_err("The first stage may hold only source actions"));
            }
            if si > 0 && source {
                return Err(stage_err(format!(
                    "Source actions belong in the first stage, not {}",
                    stage.name
                )));
            }
            has_non_source |= !source;
            let Some(Rules {
                required,
                allowed,
                ins: (in_min, in_max),
                outs: (out_min, out_max),
            }) = rules(a, custom)
            else {
                let t = &a.action_type_id;
                return Err(action_err(format!(
                    "Ferry does not run {}/{}/{} actions (it runs Source/AWS/CodeCommit, Build and Test/AWS/CodeBuild, Deploy/AWS/CodeDeploy, Approval/AWS/Manual, Source and Deploy/AWS/S3, Compute/AWS/Commands, all version 1, and the custom action types created with CreateCustomActionType)",
                    t.category.as_str(),
                    t.owner.as_str(),
                    t.provider
                )));
            };
            let config = a.configuration.clone().unwrap_or_default();
            if let Some(key) = config.keys().find(|k| !allowed.contains(*k)) {
                return Err(action_err(format!(
                    "Action configuration for action '{}' contains unknown configuration '{key}'",
                    a.name
                )));
            }
            check_compute_fields(a, v2)?;
            for key in &required {
                if config.get(key).is_none_or(|v| v.is_empty()) {
                    return Err(action_err(format!(
                        "The action {} needs the configuration key {key}",
                        a.name
                    )));
                }
            }
            let s3_deploy = a.action_type_id.category == ActionCategory::Deploy
                && a.action_type_id.provider == "S3";
            if s3_deploy
                && config
                    .get("Extract")
                    .is_some_and(|e| e.eq_ignore_ascii_case("false"))
                && config.get("ObjectKey").is_none_or(|k| k.is_empty())
            {
                return Err(action_err(format!(
                    "The action {} needs ObjectKey when Extract is false",
                    a.name
                )));
            }
            for (k, v) in &config {
                if k.len() > 50 || v.len() > 1000 {
                    return Err(action_err(format!(
                        "The configuration of {} has a key over 50 or a value over 1000 characters",
                        a.name
                    )));
                }
            }
            let ins = a.input_artifacts.as_ref().map_or(0, Vec::len);
            let outs = a.output_artifacts.as_ref().map_or(0, Vec::len);
            if ins < in_min || ins > in_max || outs < out_min || outs > out_max {
                return Err(action_err(format!(
                    "The action {} takes {in_min} to {in_max} input and {out_min} to {out_max} output artifacts",
                    a.name
                )));
            }
            for o in a.output_artifacts.iter().flatten() {
                if !valid_artifact(&o.name) {
                    return Err(action_err(format!(
                        "The artifact name {:?} is not valid",
                        o.name
                    )));
                }
                if produced.insert(o.name.clone(), (si, order)).is_some() {
                    return Err(structure(format!(
                        "The output artifact name {} is used twice",
                        o.name
                    )));
                }
            }
            if let Some(ns) = &a.namespace
                && (!valid_artifact(ns) || !namespaces.insert(ns.clone()))
            {
                return Err(action_err(format!(
                    "The namespace {ns} is not valid or is used twice"
                )));
            }
        }
    }
    if !has_non_source {
        return Err(structure(
            "A pipeline needs at least one action that is not a source",
        ));
    }
    for ns in &namespaces {
        if produced.contains_key(ns) {
            return Err(action_err(format!(
                "The namespace {ns} is also an artifact name"
            )));
        }
    }
    check_references(d)?;
    let clone_refs = clone_ref_artifacts(d)?;
    for (si, stage) in d.stages.iter().enumerate() {
        for a in &stage.actions {
            let order = a.run_order.unwrap_or(1);
            let codebuild = a.action_type_id.provider == "CodeBuild"
                && a.action_type_id.owner == ActionOwner::Aws;
            for i in a.input_artifacts.iter().flatten() {
                if clone_refs.contains(&i.name) && !codebuild {
                    return Err(action_err(format!(
                        "The input artifact {} of action {} is a CODEBUILD_CLONE_REF, which only a CodeBuild action can take",
                        i.name, a.name
                    )));
                }
                let earlier = produced
                    .get(&i.name)
                    .is_some_and(|(ps, po)| *ps < si || (*ps == si && *po < order));
                if !earlier {
                    return Err(structure(format!(
                        "The input artifact {} of action {} is not the output of an action that runs before it",
                        i.name, a.name
                    )));
                }
            }
        }
    }
    Ok(())
}

/// The `#{namespace.name}` references in `text`.
fn references(text: &str) -> Vec<(&str, &str)> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("#{") {
        let after = &rest[at + 2..];
        let Some(end) = after.find('}') else {
            break;
        };
        if let Some((ns, name)) = after[..end].split_once('.') {
            out.push((ns, name));
        }
        rest = &after[end + 1..];
    }
    out
}

/// Every variable reference in an action's configuration (and a compute action's commands and
/// environment) must be able to resolve: `#{codepipeline.PipelineExecutionId}`, a declared
/// pipeline variable, or a namespace of an action that runs before this one.
fn check_references(d: &PipelineDeclaration) -> Result<(), AwsError> {
    let declared: BTreeSet<&str> = d
        .variables
        .iter()
        .flatten()
        .map(|v| v.name.as_str())
        .collect();
    for (si, stage) in d.stages.iter().enumerate() {
        for a in &stage.actions {
            let order = a.run_order.unwrap_or(1);
            let earlier: BTreeSet<&str> = d.stages[..=si]
                .iter()
                .enumerate()
                .flat_map(|(i, s)| s.actions.iter().map(move |x| (i, x)))
                .filter(|(i, x)| *i < si || x.run_order.unwrap_or(1) < order)
                .filter_map(|(_, x)| x.namespace.as_deref())
                .collect();
            let texts = a
                .configuration
                .iter()
                .flat_map(|c| c.values())
                .chain(a.commands.iter().flatten())
                .chain(a.environment_variables.iter().flatten().map(|v| &v.value));
            for text in texts {
                for (ns, name) in references(text) {
                    let ok = match ns {
                        "codepipeline" => name == "PipelineExecutionId",
                        "variables" => declared.contains(name),
                        _ => earlier.contains(ns),
                    };
                    if !ok {
                        return Err(action_err(format!(
                            "The action {} refers to #{{{ns}.{name}}}, which no pipeline variable or namespace of an action that runs before it provides",
                            a.name
                        )));
                    }
                }
            }
        }
    }
    Ok(())
}

/// The output artifacts of CodeCommit sources whose `OutputArtifactFormat` is
/// `CODEBUILD_CLONE_REF`; any other format than that or `CODE_ZIP` is refused.
fn clone_ref_artifacts(d: &PipelineDeclaration) -> Result<BTreeSet<String>, AwsError> {
    let mut refs = BTreeSet::new();
    for a in d.stages.iter().flat_map(|s| &s.actions) {
        if a.action_type_id.provider != "CodeCommit" {
            continue;
        }
        match a
            .configuration
            .as_ref()
            .and_then(|c| c.get("OutputArtifactFormat"))
            .map(String::as_str)
        {
            None | Some("CODE_ZIP") => {}
            Some("CODEBUILD_CLONE_REF") => {
                refs.extend(a.output_artifacts.iter().flatten().map(|o| o.name.clone()))
            }
            Some(other) => {
                return Err(action_err(format!(
                    "The OutputArtifactFormat of {} must be CODE_ZIP or CODEBUILD_CLONE_REF, not {other:?}",
                    a.name
                )));
            }
        }
    }
    Ok(refs)
}

/// V2 triggers: each names a CodeCommit source action of the first stage (one trigger per
/// action) and has valid push filters.
fn check_triggers(d: &PipelineDeclaration, v2: bool) -> Result<(), AwsError> {
    let triggers = d.triggers.as_deref().unwrap_or_default();
    if triggers.is_empty() {
        return Ok(());
    }
    if !v2 {
        return Err(AwsError::new(
            "ValidationException",
            "Triggers need pipelineType V2",
        ));
    }
    let mut seen = BTreeSet::new();
    for t in triggers {
        let name = &t.git_configuration.source_action_name;
        let source = d
            .stages
            .first()
            .and_then(|s| s.actions.iter().find(|a| &a.name == name));
        if source.is_none_or(|a| a.action_type_id.provider != "CodeCommit") {
            return Err(AwsError::new(
                "ValidationException",
                format!(
                    "The trigger's sourceActionName {name} is not a CodeCommit source action of the first stage"
                ),
            ));
        }
        if !seen.insert(name.clone()) {
            return Err(AwsError::new(
                "ValidationException",
                format!("The source action {name} has more than one trigger"),
            ));
        }
        crate::filters::check(&t.git_configuration)
            .map_err(|m| AwsError::new("ValidationException", m))?;
    }
    Ok(())
}
