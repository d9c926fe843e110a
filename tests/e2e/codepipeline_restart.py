"""CodePipeline across a server restart. Phase `start` (PHASE=start): one pipeline whose build
is running and one waiting for a manual approval; prints their execution ids, the build id and
the approval token. The test then restarts the server. Phase `finish`: the interrupted build is
re-attached, not started again (one build for the project, the action's external id unchanged),
and the action fails with the build's reason; a stage retry then succeeds; the approval waiting
across the restart takes the same token and its execution finishes.

Run by crates/ferry/tests/e2e_codepipeline.rs. Exits non-zero on the first failed check."""

import os
import tempfile
import time

import boto3

from helpers import check, done, git

URL = os.environ["FERRY_URL"]
ACCOUNT = os.environ["FERRY_ACCOUNT"]
REGION = "us-east-1"
cp = boto3.client("codepipeline", endpoint_url=URL, region_name=REGION)
cc = boto3.client("codecommit", endpoint_url=URL, region_name=REGION)
cb = boto3.client("codebuild", endpoint_url=URL, region_name=REGION)
ROLE = f"arn:aws:iam::{ACCOUNT}:role/pipeline"


def wait(what, cond, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            got = cond()
        except Exception:  # the server may be restarting
            got = None
        if got:
            return got
        time.sleep(0.1)
    check(False, f"timed out waiting for {what}")


def latest(name, stage, action):
    for s in cp.get_pipeline_state(name=name)["stageStates"]:
        if s["stageName"] == stage:
            return s["actionStates"][0].get("latestExecution", {})
    return {}


def declaration(name, second):
    return {"name": name, "roleArn": ROLE, "artifactStore": {"type": "S3", "location": "restart-artifacts"},
            "stages": [{"name": "Source", "actions": [{
                "name": "Source", "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "CodeCommit", "version": "1"},
                "configuration": {"RepositoryName": "restart", "BranchName": "main"}, "outputArtifacts": [{"name": "Src"}]}]},
                second]}


if os.environ["PHASE"] == "start":
    cc.create_repository(repositoryName="restart")
    src = tempfile.mkdtemp(prefix="ferry-restart-")
    git("clone", f"{URL}/v1/repos/restart", src)
    with open(os.path.join(src, "README"), "w") as f:
        f.write("x\n")
    git("add", ".", cwd=src)
    git("commit", "-m", "one", cwd=src)
    git("push", "origin", "HEAD:main", cwd=src)
    cb.create_project(name="slow", source={"type": "CODEPIPELINE", "buildspec": "version: 0.2\nphases:\n  build:\n    commands:\n      - sleep 20\n"},
                      artifacts={"type": "CODEPIPELINE"}, serviceRole=ROLE,
                      environment={"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0", "computeType": "BUILD_GENERAL1_SMALL"})
    cp.create_pipeline(pipeline=declaration("building", {"name": "Build", "actions": [{
        "name": "Build", "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
        "configuration": {"ProjectName": "slow"}, "inputArtifacts": [{"name": "Src"}]}]}))
    cp.create_pipeline(pipeline=declaration("approving", {"name": "Approve", "actions": [{
        "name": "Approval", "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"}}]}))
    build = wait("the running build", lambda: (lambda a: a if a.get("status") == "InProgress" and a.get("externalExecutionId") else None)(latest("building", "Build", "Build")))
    token = wait("the approval token", lambda: latest("approving", "Approve", "Approval").get("token"))
    building = cp.list_pipeline_executions(pipelineName="building")["pipelineExecutionSummaries"][0]["pipelineExecutionId"]
    approving = cp.list_pipeline_executions(pipelineName="approving")["pipelineExecutionSummaries"][0]["pipelineExecutionId"]
    print(f"BUILDING={building}")
    print(f"BUILD_ID={build['externalExecutionId']}")
    print(f"APPROVING={approving}")
    print(f"TOKEN={token}")
    done()
else:
    building, build_id = os.environ["BUILDING"], os.environ["BUILD_ID"]
    ex = wait("the interrupted execution", lambda: (lambda e: e if e["status"] != "InProgress" else None)(
        cp.get_pipeline_execution(pipelineName="building", pipelineExecutionId=building)["pipelineExecution"]))
    check(ex["status"] == "Failed", f"the execution whose build was cut short fails: {ex['status']}")
    action = latest("building", "Build", "Build")
    check(action["externalExecutionId"] == build_id, "the action re-attached to its build")
    check("interrupted" in action["errorDetails"]["message"], f"with the build's reason: {action['errorDetails']}")
    check(cb.list_builds_for_project(projectName="slow")["ids"] == [build_id], "nothing ran twice")
    cb.update_project(name="slow", source={"type": "CODEPIPELINE", "buildspec": "version: 0.2\nphases:\n  build:\n    commands:\n      - echo quick\n"})
    cp.retry_stage_execution(pipelineName="building", stageName="Build", pipelineExecutionId=building, retryMode="FAILED_ACTIONS")
    again = wait("the retry", lambda: (lambda e: e if e["status"] != "InProgress" else None)(
        cp.get_pipeline_execution(pipelineName="building", pipelineExecutionId=building)["pipelineExecution"]))
    check(again["status"] == "Succeeded", f"the retry after the restart succeeds: {again['status']}")

    approving, token = os.environ["APPROVING"], os.environ["TOKEN"]
    check(latest("approving", "Approve", "Approval").get("token") == token, "the approval still waits with its token")
    cp.put_approval_result(pipelineName="approving", stageName="Approve", actionName="Approval",
                           result={"summary": "after the restart", "status": "Approved"}, token=token)
    ok = wait("the approved execution", lambda: (lambda e: e if e["status"] != "InProgress" else None)(
        cp.get_pipeline_execution(pipelineName="approving", pipelineExecutionId=approving)["pipelineExecution"]))
    check(ok["status"] == "Succeeded", f"the approval across the restart completes: {ok['status']}")
    done()
