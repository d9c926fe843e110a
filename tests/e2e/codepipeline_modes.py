"""Execution modes, V2 push filters and stage retry with boto3 and git: three rapid pushes to
one branch watched by a SUPERSEDED, a QUEUED and a PARALLEL pipeline (Source → a build that
takes a few seconds); a V2 trigger with a file-path filter that ignores a push touching only
docs/; and a build that fails until an SSM parameter is fixed, then RetryStageExecution
(FAILED_ACTIONS) succeeds in the same execution.

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
ssm = boto3.client("ssm", endpoint_url=URL, region_name=REGION)
ROLE = f"arn:aws:iam::{ACCOUNT}:role/pipeline"
WORK = tempfile.mkdtemp(prefix="ferry-modes-")
BUILD_SECONDS = 6


def wait(what, cond, timeout=90):
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = cond()
        if got:
            return got
        time.sleep(0.2)
    check(False, f"timed out waiting for {what}")


def executions(name):
    return cp.list_pipeline_executions(pipelineName=name)["pipelineExecutionSummaries"]


def settled(name, count):
    def ok():
        ex = executions(name)
        return ex if len(ex) >= count and all(e["status"] not in ("InProgress", "Stopping") for e in ex) else None
    return wait(f"{count} settled executions of {name}", ok, timeout=120)


def builds_of(name, execution_ids):
    """(execution id, build start, build end) of each execution's Build action."""
    out = []
    for eid in execution_ids:
        details = cp.list_action_executions(pipelineName=name, filter={"pipelineExecutionId": eid})["actionExecutionDetails"]
        build = [d for d in details if d["actionName"] == "Build"]
        if build:
            b = cb.batch_get_builds(ids=[build[0]["output"]["executionResult"]["externalExecutionId"]])["builds"][0]
            out.append((eid, b["startTime"].timestamp(), b["endTime"].timestamp()))
    return out


def pipeline(name, mode, project, repo="modes", triggers=None):
    decl = {
        "name": name, "roleArn": ROLE, "pipelineType": "V2", "executionMode": mode,
        "artifactStore": {"type": "S3", "location": "modes-artifacts"},
        "stages": [
            {"name": "Source", "actions": [{
                "name": "Source",
                "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "CodeCommit", "version": "1"},
                "configuration": {"RepositoryName": repo, "BranchName": "main"},
                "outputArtifacts": [{"name": "Src"}]}]},
            {"name": "Build", "actions": [{
                "name": "Build",
                "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
                "configuration": {"ProjectName": project},
                "inputArtifacts": [{"name": "Src"}]}]},
        ],
    }
    if triggers:
        decl["triggers"] = triggers
    cp.create_pipeline(pipeline=decl)


def push(src, path, text, message):
    os.makedirs(os.path.dirname(os.path.join(src, path)) or src, exist_ok=True)
    with open(os.path.join(src, path), "w") as f:
        f.write(text)
    git("add", ".", cwd=src)
    git("commit", "-m", message, cwd=src)
    git("push", "origin", "HEAD:main", cwd=src)
    return git("rev-parse", "HEAD", cwd=src).strip()


def project(name, spec):
    cb.create_project(name=name, source={"type": "CODEPIPELINE", "buildspec": spec}, artifacts={"type": "CODEPIPELINE"},
                      environment={"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0", "computeType": "BUILD_GENERAL1_SMALL"},
                      serviceRole=ROLE)


cc.create_repository(repositoryName="modes")
src = os.path.join(WORK, "modes")
git("clone", f"{URL}/v1/repos/modes", src)
push(src, "src/app.txt", "0\n", "start")
project("slow", f"version: 0.2\nphases:\n  build:\n    commands:\n      - sleep {BUILD_SECONDS}\n")
for name, mode in [("superseded", "SUPERSEDED"), ("queued", "QUEUED"), ("parallel", "PARALLEL")]:
    pipeline(name, mode, "slow")
for name in ["superseded", "queued", "parallel"]:
    settled(name, 1)

# Three rapid pushes.
commits = [push(src, "src/app.txt", f"{i}\n", f"change {i}") for i in (1, 2, 3)]
sup = settled("superseded", 4)
new = [e for e in sup if e["trigger"]["triggerType"] == "CloudWatchEvent"]
check(len(new) == 3, f"every push started an execution: {[e['trigger'] for e in sup]}")
statuses = [e["status"] for e in sorted(new, key=lambda e: e["startTime"])]
check(statuses == ["Succeeded", "Superseded", "Succeeded"], f"SUPERSEDED: the middle execution is replaced while it waits: {statuses}")

que = settled("queued", 4)
qnew = sorted([e for e in que if e["trigger"]["triggerType"] == "CloudWatchEvent"], key=lambda e: e["startTime"])
check([e["status"] for e in qnew] == ["Succeeded"] * 3, f"QUEUED: every execution runs: {[e['status'] for e in qnew]}")
qb = builds_of("queued", [e["pipelineExecutionId"] for e in qnew])
check(all(qb[i][2] <= qb[i + 1][1] + 0.05 for i in range(2)), f"QUEUED: the builds ran one after another, in push order: {qb}")
took = {}
for e in qnew:
    details = cp.list_action_executions(pipelineName="queued", filter={"pipelineExecutionId": e["pipelineExecutionId"]})["actionExecutionDetails"]
    took[e["pipelineExecutionId"]] = [d for d in details if d["actionName"] == "Source"][0]["output"]["outputVariables"]["CommitId"]
check([took[e["pipelineExecutionId"]] for e in qnew] == commits, "QUEUED: each execution built its own push")

par = settled("parallel", 4)
pnew = sorted([e for e in par if e["trigger"]["triggerType"] == "CloudWatchEvent"], key=lambda e: e["startTime"])
check([e["status"] for e in pnew] == ["Succeeded"] * 3, "PARALLEL: every execution runs")
pb = builds_of("parallel", [e["pipelineExecutionId"] for e in pnew])
check(pb[2][1] < pb[0][2], f"PARALLEL: the builds overlapped: {pb}")

# A V2 trigger with a file-path filter.
cc.create_repository(repositoryName="filtered")
fsrc = os.path.join(WORK, "filtered")
git("clone", f"{URL}/v1/repos/filtered", fsrc)
push(fsrc, "src/a.txt", "a\n", "initial")
project("quick", "version: 0.2\nphases:\n  build:\n    commands:\n      - echo ok\n")
pipeline("paths", "QUEUED", "quick", repo="filtered",
         triggers=[{"providerType": "CodeStarSourceConnection", "gitConfiguration": {
             "sourceActionName": "Source",
             "push": [{"branches": {"includes": ["main"]}, "filePaths": {"includes": ["src/**"], "excludes": ["**/*.md"]}}]}}])
pipeline("all-pushes", "QUEUED", "quick", repo="filtered")
settled("paths", 1)
settled("all-pushes", 1)
push(fsrc, "docs/guide.md", "guide\n", "docs only")
settled("all-pushes", 2)
time.sleep(1)
check(len(executions("paths")) == 1, "a push touching only docs/ does not start the filtered pipeline")
push(fsrc, "src/b.txt", "b\n", "code")
ex = settled("paths", 2)
check(ex[0]["trigger"]["triggerType"] == "WebhookV2", f"a push touching src/ does, as WebhookV2: {ex[0]['trigger']}")
bad_trigger = {"providerType": "CodeStarSourceConnection", "gitConfiguration": {"sourceActionName": "Nope", "push": [{"branches": {"includes": ["main"]}}]}}
expect_error("ValidationException", cp.update_pipeline, pipeline={**cp.get_pipeline(name="paths")["pipeline"], "triggers": [bad_trigger]})

# A failing build, fixed outside the artifact, retried in the same execution.
ssm.put_parameter(Name="/ferry/gate", Value="closed", Type="String")
project("gated", "version: 0.2\nenv:\n  parameter-store:\n    GATE: /ferry/gate\nphases:\n  build:\n    commands:\n      - test \"$GATE\" = open\n")
pipeline("retry", "SUPERSEDED", "gated", repo="filtered")
first = settled("retry", 1)[0]
check(first["status"] == "Failed", f"the gated build fails the execution: {first['status']}")
eid = first["pipelineExecutionId"]
expect_error("StageNotRetryableException", cp.retry_stage_execution, pipelineName="retry", stageName="Source",
             pipelineExecutionId=eid, retryMode="FAILED_ACTIONS")
ssm.put_parameter(Name="/ferry/gate", Value="open", Type="String", Overwrite=True)
out = cp.retry_stage_execution(pipelineName="retry", stageName="Build", pipelineExecutionId=eid, retryMode="FAILED_ACTIONS")
check(out["pipelineExecutionId"] == eid, "the retry continues the same execution")
again = wait("the retried execution", lambda: (lambda e: e if e["status"] != "InProgress" else None)(
    cp.get_pipeline_execution(pipelineName="retry", pipelineExecutionId=eid)["pipelineExecution"]))
check(again["status"] == "Succeeded", f"the retried stage succeeds: {again['status']}")
details = cp.list_action_executions(pipelineName="retry", filter={"pipelineExecutionId": eid})["actionExecutionDetails"]
builds = [d["status"] for d in details if d["actionName"] == "Build"]
check(sorted(builds) == ["Failed", "Succeeded"], f"both attempts are listed: {builds}")
expect_error("StageNotRetryableException", cp.retry_stage_execution, pipelineName="retry", stageName="Build",
             pipelineExecutionId=eid, retryMode="ALL_ACTIONS")
done()
