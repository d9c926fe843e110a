//! Variable references in action configuration values: `#{namespace.name}`, resolved just
//! before an action starts from the execution's action outputs (by namespace), the
//! pipeline-level variables (`#{variables.name}`) and `#{codepipeline.PipelineExecutionId}`.
//! Compute actions also have their commands and environment variable values resolved. A
//! reference that cannot be resolved fails the action.

use std::collections::BTreeMap;

use ferry_model::codepipeline::ActionDeclaration;

use crate::record::ExecRecord;

/// `text` with every `#{ns.name}` replaced, or the first reference that has no value.
pub fn resolve(text: &str, e: &ExecRecord) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("#{") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[at..]);
            return Ok(out);
        };
        let reference = &after[..end];
        out.push_str(&lookup(reference, e).ok_or_else(|| reference.to_owned())?);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn lookup(reference: &str, e: &ExecRecord) -> Option<String> {
    let (ns, name) = reference.split_once('.')?;
    match ns {
        "codepipeline" if name == "PipelineExecutionId" => Some(e.id.clone()),
        "variables" => e.pipeline_variables.get(name).cloned(),
        _ => e.variables.get(ns).and_then(|v| v.get(name)).cloned(),
    }
}

/// Every value of `config` resolved; the error names the first unresolved reference.
pub fn resolve_all(
    config: &BTreeMap<String, String>,
    e: &ExecRecord,
) -> Result<BTreeMap<String, String>, String> {
    config
        .iter()
        .map(|(k, v)| resolve(v, e).map(|r| (k.clone(), r)))
        .collect()
}

/// The `commands` and `environmentVariables` values of a compute action resolved in place.
pub fn resolve_compute(d: &mut ActionDeclaration, e: &ExecRecord) -> Result<(), String> {
    for c in d.commands.iter_mut().flatten() {
        *c = resolve(c, e)?;
    }
    for v in d.environment_variables.iter_mut().flatten() {
        v.value = resolve(&v.value, e)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{ExecRecord, Position};

    fn exec() -> ExecRecord {
        let mut e: ExecRecord = serde_json::from_value(serde_json::json!({
            "id": "exec-1", "pipeline": "p", "pipelineVersion": 1, "status": "InProgress",
            "statusSummary": null, "triggerType": "x", "triggerDetail": null, "executionMode": "SUPERSEDED",
            "startedMs": 0, "updatedMs": 0, "position": {"at": "done"}, "stages": [],
            "artifacts": {}, "variables": {}, "pipelineVariables": {}, "sourceOverrides": {},
            "sourceRevisions": [], "stop": null
        }))
        .unwrap();
        assert_eq!(e.position, Position::Done);
        e.variables.insert(
            "Src".into(),
            [("CommitId".to_owned(), "abc".to_owned())].into(),
        );
        e.pipeline_variables.insert("Env".into(), "prod".into());
        e
    }

    #[test]
    fn references_resolve_or_name_the_missing_one() {
        let e = exec();
        assert_eq!(
            resolve(
                "c=#{Src.CommitId} e=#{variables.Env} x=#{codepipeline.PipelineExecutionId}",
                &e
            )
            .unwrap(),
            "c=abc e=prod x=exec-1"
        );
        assert_eq!(
            resolve("plain #{ unterminated", &e).unwrap(),
            "plain #{ unterminated"
        );
        assert_eq!(resolve("#{Src.Nope}", &e).unwrap_err(), "Src.Nope");
        assert_eq!(resolve("#{NoDot}", &e).unwrap_err(), "NoDot");
    }
}
