"""Stage rollback, automatic stage retry and pipeline variables (V2) with boto3 and git:
RollbackStage re-runs the
Build stage with the artifacts and variables of an earlier execution (a ROLLBACK execution that
runs that stage only); `onFailure: RETRY` retries a failed stage once by itself; `onFailure:
ROLLBACK` rolls a failed stage back to the last execution that succeeded in it; the errors for
the source stage and for a rollback as the target.

Run by crates/ferry/tests/e2e_codepipeline.rs. Exits non-zero on the first failed check."""

import os
import tempfile
import time

import boto3

from helpers import check, done, expect_error, git

URL = os.environ["FERRY_URL"]
ACCOUNT = os.environ["FERRY_ACCOUNT"]
REGION = "us-east-1"
cp = boto3.client("codepipeline", endpoint_url=URL, region_name=REGION)
cc = boto3.client("codecommit", endpoint_url=URL, region_name=REGION)
cb = boto3.client("codebuild", endpoint_url=URL, region_name=REGION)
ROLE = f"arn:aws:iam::{ACCOUNT}:role/pipeline"
WORK = tempfile.mkdtemp(prefix="ferry-rollback-")


def wait(what, cond, timeout=90):
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = cond()
        if got:
            return got
        time.sleep(0.1)
    check(False, f"timed out waiting for {what}")


def settled(name, count):
    def ok():
        ex = cp.list_pipeline_executions(pipelineName=name)["pipelineExecutionSummaries"]
        return ex if len(ex) >= count and all(e["status"] not in ("InProgress", "Stopping") for e in ex) else None
    return wait(f"{count} settled executions of {name}", ok)


def built_from(name, eid):
    details = cp.list_action_executions(pipelineName=name, filter={"pipelineExecutionId": eid})["actionExecutionDetails"]
    return [d for d in details if d["actionName"] == "Build"], details


def pipeline(name, project, on_failure=None):
    build_stage = {"name": "Build", "actions": [{
        "name": "Build", "namespace": "B",
        "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
        "configuration": {"ProjectName": project, "EnvironmentVariables":
                          '[{"name":"EXEC","value":"#{codepipeline.PipelineExecutionId}"},{"name":"COMMIT","value":"#{S.CommitId}"}]'},
        "inputArtifacts": [{"name": "Src"}]}]}
    if on_failure:
        build_stage["onFailure"] = on_failure
    cp.create_pipeline(pipeline={
        "name": name, "roleArn": ROLE, "pipelineType": "V2",
        "artifactStore": {"type": "S3", "location": "rollback-artifacts"},
        "stages": [{"name": "Source", "actions": [{
            "name": "Source", "namespace": "S",
            "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "CodeCommit", "version": "1"},
            "configuration": {"RepositoryName": name, "BranchName": "main"}, "outputArtifacts": [{"name": "Src"}]}]},
            build_stage]})


def repo(name):
    cc.create_repository(repositoryName=name)
    path = os.path.join(WORK, name)
    git("clone", f"{URL}/v1/repos/{name}", path)
    return path


def push(path, text):
    with open(os.path.join(path, "file.txt"), "w") as f:
        f.write(text)
    git("add", ".", cwd=path)
    git("commit", "-m", text, cwd=path)
    git("push", "origin", "HEAD:main", cwd=path)
    return git("rev-parse", "HEAD", cwd=path).strip()


def project(name, commands):
    spec = "version: 0.2\nenv:\n  exported-variables:\n    - BUILT\nphases:\n  build:\n    commands:\n" + "".join(f"      - {c}\n" for c in commands)
    cb.create_project(name=name, source={"type": "CODEPIPELINE", "buildspec": spec}, artifacts={"type": "CODEPIPELINE"}, serviceRole=ROLE,
                      environment={"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0", "computeType": "BUILD_GENERAL1_SMALL"})


# Manual rollback.
src = repo("manual")
a = push(src, "a")
project("echo", ["export BUILT=$COMMIT"])
pipeline("manual", "echo")
first = settled("manual", 1)[0]
b = push(src, "b")
second = settled("manual", 2)[0]
check(second["status"] == "Succeeded" and second["pipelineExecutionId"] != first["pipelineExecutionId"], "two executions succeeded")
expect_error("UnableToRollbackStageException", cp.rollback_stage, pipelineName="manual", stageName="Source",
             targetPipelineExecutionId=first["pipelineExecutionId"])
rid = cp.rollback_stage(pipelineName="manual", stageName="Build", targetPipelineExecutionId=first["pipelineExecutionId"])["pipelineExecutionId"]
rolled = wait("the rollback", lambda: (lambda e: e if e["status"] != "InProgress" else None)(
    cp.get_pipeline_execution(pipelineName="manual", pipelineExecutionId=rid)["pipelineExecution"]))
check(rolled["status"] == "Succeeded" and rolled["executionType"] == "ROLLBACK", f"the rollback execution: {rolled['status']} {rolled.get('executionType')}")
check(rolled["rollbackMetadata"]["rollbackTargetPipelineExecutionId"] == first["pipelineExecutionId"], "it names its target")
check(rolled["trigger"]["triggerType"] == "ManualRollback", f"trigger: {rolled['trigger']}")
builds, details = built_from("manual", rid)
check([d["actionName"] for d in details] == ["Build"], f"only the Build stage ran: {[d['actionName'] for d in details]}")
check(builds[0]["output"]["outputVariables"]["BUILT"] == a, "with the target's source revision and variables")
expect_error("UnableToRollbackStageException", cp.rollback_stage, pipelineName="manual", stageName="Build", targetPipelineExecutionId=rid)
state = {s["stageName"]: s for s in cp.get_pipeline_state(name="manual")["stageStates"]}
check(state["Build"]["latestExecution"]["pipelineExecutionId"] == rid, "the Build stage shows the rollback")

# Pipeline-level variables and a source revision chosen at the start.
cp.create_pipeline(pipeline={
    "name": "vars", "roleArn": ROLE, "pipelineType": "V2", "variables": [{"name": "Env", "defaultValue": "dev"}],
    "artifactStore": {"type": "S3", "location": "rollback-artifacts"},
    "stages": [{"name": "Source", "actions": [{
        "name": "Source", "namespace": "S",
        "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "CodeCommit", "version": "1"},
        "configuration": {"RepositoryName": "manual", "BranchName": "main"}, "outputArtifacts": [{"name": "Src"}]}]},
        {"name": "Build", "actions": [{
            "name": "Build", "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
            "configuration": {"ProjectName": "echo", "EnvironmentVariables": '[{"name":"COMMIT","value":"#{variables.Env}@#{S.CommitId}"}]'},
            "inputArtifacts": [{"name": "Src"}]}]}]})
default_run = settled("vars", 1)[0]
builds, _ = built_from("vars", default_run["pipelineExecutionId"])
check(builds[0]["output"]["outputVariables"]["BUILT"] == f"dev@{b}", f"the default value and the branch head: {builds[0]['output']}")
expect_error("ValidationException", cp.start_pipeline_execution, name="vars", variables=[{"name": "Nope", "value": "x"}])
eid = cp.start_pipeline_execution(name="vars", variables=[{"name": "Env", "value": "prod"}],
                                  sourceRevisions=[{"actionName": "Source", "revisionType": "COMMIT_ID", "revisionValue": a}])["pipelineExecutionId"]
settled("vars", 2)
builds, _ = built_from("vars", eid)
check(builds[0]["output"]["outputVariables"]["BUILT"] == f"prod@{a}", f"the given value and the given commit: {builds[0]['output']}")
got = cp.get_pipeline_execution(pipelineName="vars", pipelineExecutionId=eid)["pipelineExecution"]
check(got["variables"] == [{"name": "Env", "resolvedValue": "prod"}], f"the execution shows its variables: {got['variables']}")

# onFailure RETRY: the first attempt of each execution fails, the automatic retry passes.
src = repo("flaky")
push(src, "x")
marks = os.path.join(WORK, "marks")
os.makedirs(marks)
project("flaky", [f"if [ -f {marks}/$EXEC ]; then export BUILT=second; else touch {marks}/$EXEC; exit 1; fi"])
pipeline("flaky", "flaky", on_failure={"result": "RETRY", "retryConfiguration": {"retryMode": "FAILED_ACTIONS"}})
# The execution stays InProgress while its stage is retried: it is never seen Failed on the way.
seen = []


def flaky_settled():
    ex = cp.list_pipeline_executions(pipelineName="flaky")["pipelineExecutionSummaries"]
    seen.extend(e["status"] for e in ex)
    return ex if ex and all(e["status"] not in ("InProgress", "Stopping") for e in ex) else None


done_flaky = wait("the flaky execution", flaky_settled)[0]
check(done_flaky["status"] == "Succeeded", f"the automatic retry passes: {done_flaky['status']}")
check("Failed" not in seen, f"the execution was never shown Failed before its retry: {sorted(set(seen))}")
builds, _ = built_from("flaky", done_flaky["pipelineExecutionId"])
check(sorted(b["status"] for b in builds) == ["Failed", "Succeeded"], f"one failed attempt, one retry: {[b['status'] for b in builds]}")

# onFailure ROLLBACK: a build failing on a bad commit rolls the stage back to the last good
# execution, which rebuilds the good commit.
src = repo("guarded")
good = push(src, "good")
project("gated", ["if grep -q bad file.txt; then exit 1; fi", "export BUILT=$COMMIT"])
pipeline("guarded", "gated", on_failure={"result": "ROLLBACK"})
ok = settled("guarded", 1)[0]
check(ok["status"] == "Succeeded", "the first execution succeeds")
push(src, "bad")
ex = settled("guarded", 3)
by_type = {e["trigger"]["triggerType"]: e for e in ex}
check(by_type["CloudWatchEvent"]["status"] == "Failed", "the bad push fails")
auto = by_type.get("AutomatedRollback")
check(auto is not None and auto["rollbackMetadata"]["rollbackTargetPipelineExecutionId"] == ok["pipelineExecutionId"],
      f"an automated rollback to the last good execution: {[(e['trigger']['triggerType'], e['status']) for e in ex]}")
check(auto["status"] == "Succeeded", "the rollback succeeds")
builds, _ = built_from("guarded", auto["pipelineExecutionId"])
check(builds[0]["output"]["outputVariables"]["BUILT"] == good, "it rebuilt the good commit")
done()
