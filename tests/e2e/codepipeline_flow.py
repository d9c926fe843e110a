"""The push-to-production loop with boto3, git and one `ferry agent`: a pipeline whose source
is a Ferry repository, built by CodeBuild (a variable from the source resolved into the build's
environment, the build's exported variable becoming an action output), held by a manual
approval, then deployed by CodeDeploy to the agent's host. CreatePipeline starts the first
execution; a git push starts the next one at once; approval and rejection, GetPipelineState,
GetPipelineExecution, ListPipelineExecutions, ListActionExecutions, stop, stage transitions,
tags, and the errors for bad declarations, tokens and names.

Run by crates/ferry/tests/e2e_codepipeline.rs. Exits non-zero on the first failed check."""

import json
import os
import subprocess
import tempfile
import time

import boto3

from helpers import check, done, expect_error, git

URL = os.environ["FERRY_URL"]
BIN = os.environ["FERRY_BIN"]
ACCOUNT = os.environ["FERRY_ACCOUNT"]
REGION = "us-east-1"
cp = boto3.client("codepipeline", endpoint_url=URL, region_name=REGION)
cc = boto3.client("codecommit", endpoint_url=URL, region_name=REGION)
cb = boto3.client("codebuild", endpoint_url=URL, region_name=REGION)
cd = boto3.client("codedeploy", endpoint_url=URL, region_name=REGION)
s3 = boto3.client("s3", endpoint_url=URL, region_name=REGION)
WORK = tempfile.mkdtemp(prefix="ferry-pipeline-")
ROOT = os.path.join(WORK, "host")
ROLE = f"arn:aws:iam::{ACCOUNT}:role/pipeline"


def wait(what, cond, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = cond()
        if got:
            return got
        time.sleep(0.1)
    check(False, f"timed out waiting for {what}")


def execution(eid):
    return cp.get_pipeline_execution(pipelineName="shop", pipelineExecutionId=eid)["pipelineExecution"]


def action_state(stage, action):
    for s in cp.get_pipeline_state(name="shop")["stageStates"]:
        if s["stageName"] == stage:
            for a in s["actionStates"]:
                if a["actionName"] == action:
                    return a.get("latestExecution", {})
    return {}


def waiting_approval(eid):
    def ready():
        st = cp.get_pipeline_state(name="shop")["stageStates"]
        approve = [s for s in st if s["stageName"] == "Approve"][0]
        latest = approve.get("latestExecution", {})
        token = approve["actionStates"][0].get("latestExecution", {}).get("token")
        return token if latest.get("pipelineExecutionId") == eid and token else None
    return wait(f"the approval of {eid}", ready)


def finished(eid, timeout=90):
    return wait(f"execution {eid} to end", lambda: (lambda e: e if e["status"] not in ("InProgress", "Stopping") else None)(execution(eid)), timeout)


# The repository: a buildspec that uses a pipeline variable and exports one, an appspec.
cc.create_repository(repositoryName="shop")
src = os.path.join(WORK, "src")
git("clone", f"{URL}/v1/repos/shop", src)
with open(os.path.join(src, "buildspec.yml"), "w") as f:
    f.write("""version: 0.2
env:
  exported-variables:
    - BUILT_FROM
    - TARGET_GROUP
phases:
  build:
    commands:
      - echo "building commit $SOURCE_COMMIT"
      - export BUILT_FROM="$SOURCE_COMMIT"
      - export TARGET_GROUP=prod
      - mkdir -p out && cp appspec.yml out/ && echo "release of $SOURCE_COMMIT" > out/index.html
artifacts:
  base-directory: out
  files:
    - '**/*'
""")
with open(os.path.join(src, "appspec.yml"), "w") as f:
    f.write(f"version: 0.0\nos: linux\nfiles:\n  - source: index.html\n    destination: {ROOT}/www\n")
git("add", ".", cwd=src)
git("commit", "-m", "first release", cwd=src)
git("push", "origin", "HEAD:main", cwd=src)
first_commit = git("rev-parse", "HEAD", cwd=src).strip()

# The build project and the deployment target (one agent registered with a token).
cb.create_project(name="shop-build", source={"type": "CODEPIPELINE"}, artifacts={"type": "CODEPIPELINE"},
                  environment={"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0", "computeType": "BUILD_GENERAL1_SMALL"},
                  serviceRole=ROLE)
token = subprocess.run([BIN, "admin", "--data-dir", os.environ["FERRY_DATA_DIR"], "create-agent-token"],
                       capture_output=True, text=True, check=True, env=os.environ).stdout.strip()
agent_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
agent_env.update(HOME=WORK, AWS_REGION=REGION, FERRY_LOG="warn")
agent = subprocess.Popen([BIN, "agent", "--endpoint", URL, "--name", "shop-host", "--root", ROOT, "--allow-root", ROOT,
                          "--tag", "app=shop", "--registration-token", token], env=agent_env,
                         stdout=open(os.path.join(WORK, "agent.log"), "w"), stderr=subprocess.STDOUT)
try:
    wait("the agent", lambda: "shop-host" in cd.list_on_premises_instances(registrationStatus="Registered")["instanceNames"])
    cd.create_application(applicationName="shop")
    cd.create_deployment_group(applicationName="shop", deploymentGroupName="prod", serviceRoleArn=ROLE,
                               onPremisesInstanceTagFilters=[{"Key": "app", "Value": "shop", "Type": "KEY_AND_VALUE"}])

    declaration = {
        "name": "shop", "roleArn": ROLE, "pipelineType": "V2", "executionMode": "SUPERSEDED",
        "artifactStore": {"type": "S3", "location": "shop-artifacts"},
        "stages": [
            {"name": "Source", "actions": [{
                "name": "Source", "namespace": "SourceVariables",
                "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "CodeCommit", "version": "1"},
                "configuration": {"RepositoryName": "shop", "BranchName": "main", "PollForSourceChanges": "false"},
                "outputArtifacts": [{"name": "SourceArtifact"}]}]},
            {"name": "Build", "actions": [{
                "name": "Build", "namespace": "BuildVariables",
                "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
                "configuration": {"ProjectName": "shop-build",
                                  "EnvironmentVariables": '[{"name":"SOURCE_COMMIT","value":"#{SourceVariables.CommitId}","type":"PLAINTEXT"}]'},
                "inputArtifacts": [{"name": "SourceArtifact"}], "outputArtifacts": [{"name": "BuildArtifact"}]}]},
            {"name": "Approve", "actions": [{
                "name": "Approval",
                "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"},
                "configuration": {"CustomData": "ship #{BuildVariables.BUILT_FROM}?"}}]},
            {"name": "Deploy", "actions": [{
                "name": "Deploy",
                "actionTypeId": {"category": "Deploy", "owner": "AWS", "provider": "CodeDeploy", "version": "1"},
                "configuration": {"ApplicationName": "shop", "DeploymentGroupName": "#{BuildVariables.TARGET_GROUP}"},
                "inputArtifacts": [{"name": "BuildArtifact"}]}]},
        ],
    }

    # Bad declarations change nothing.
    bad = dict(declaration, stages=[declaration["stages"][1], declaration["stages"][0]])
    expect_error("InvalidStageDeclarationException", cp.create_pipeline, pipeline=bad)
    bad = dict(declaration, stages=declaration["stages"][:1])
    expect_error("InvalidStructureException", cp.create_pipeline, pipeline=bad)
    unknown_input = [dict(s) for s in declaration["stages"]]
    unknown_input[3] = {"name": "Deploy", "actions": [dict(declaration["stages"][3]["actions"][0], inputArtifacts=[{"name": "Nope"}])]}
    expect_error("InvalidStructureException", cp.create_pipeline, pipeline=dict(declaration, stages=unknown_input))
    lambda_stage = {"name": "Invoke", "actions": [{"name": "Fn", "actionTypeId": {"category": "Invoke", "owner": "AWS", "provider": "Lambda", "version": "1"},
                                                   "configuration": {"FunctionName": "f"}}]}
    expect_error("InvalidActionDeclarationException", cp.create_pipeline,
                 pipeline=dict(declaration, stages=declaration["stages"][:1] + [lambda_stage]))
    check(cp.list_pipelines()["pipelines"] == [], "no pipeline was created by the bad declarations")
    expect_error("PipelineNotFoundException", cp.get_pipeline, name="shop")

    # CreatePipeline starts the first execution.
    created = cp.create_pipeline(pipeline=declaration, tags=[{"key": "team", "value": "web"}])
    check(created["pipeline"]["version"] == 1 and created["tags"] == [{"key": "team", "value": "web"}], f"created: {created['pipeline']['version']}")
    expect_error("PipelineNameInUseException", cp.create_pipeline, pipeline=declaration)
    first = wait("the first execution", lambda: cp.list_pipeline_executions(pipelineName="shop")["pipelineExecutionSummaries"])[0]
    check(first["trigger"]["triggerType"] == "CreatePipeline", f"the first execution's trigger: {first['trigger']}")
    first_id = first["pipelineExecutionId"]
    approval_token = waiting_approval(first_id)
    src_state = action_state("Source", "Source")
    check(src_state["status"] == "Succeeded" and src_state["externalExecutionId"] == first_commit, f"the source took the pushed commit: {src_state}")
    build_state = action_state("Build", "Build")
    check(build_state["status"] == "Succeeded" and build_state["externalExecutionId"].startswith("shop-build:"), f"the build ran: {build_state}")
    build = cb.batch_get_builds(ids=[build_state["externalExecutionId"]])["builds"][0]
    check(build["initiator"] == "codepipeline/shop" and build["source"]["type"] == "CODEPIPELINE",
          f"the build's initiator and source type: {build['initiator']} {build['source']}")
    exported = {v["name"]: v["value"] for v in build["exportedEnvironmentVariables"]}
    check(exported.get("BUILT_FROM") == first_commit, f"#{{SourceVariables.CommitId}} reached the build: {exported}")
    details = cp.list_action_executions(pipelineName="shop", filter={"pipelineExecutionId": first_id})["actionExecutionDetails"]
    by_name = {d["actionName"]: d for d in details}
    check(by_name["Source"]["output"]["outputVariables"]["CommitId"] == first_commit
          and by_name["Source"]["output"]["outputVariables"]["CommitMessage"] == "first release", f"source variables: {by_name['Source']['output']}")
    check(by_name["Build"]["output"]["outputVariables"] == {"BUILT_FROM": first_commit, "TARGET_GROUP": "prod"}, "the build's exported variables are the action's outputs")
    out_art = by_name["Build"]["output"]["outputArtifacts"][0]
    check(out_art["name"] == "BuildArtifact" and out_art["s3location"]["bucket"] == "shop-artifacts", f"artifact location: {out_art}")
    s3.head_object(Bucket="shop-artifacts", Key=out_art["s3location"]["key"])
    check(by_name["Approval"]["input"]["resolvedConfiguration"]["CustomData"] == f"ship {first_commit}?", "variables resolve in the approval's CustomData")
    check(by_name["Approval"]["status"] == "InProgress", "the approval waits")

    expect_error("InvalidApprovalTokenException", cp.put_approval_result, pipelineName="shop", stageName="Approve", actionName="Approval",
                 result={"summary": "no", "status": "Approved"}, token="00000000-0000-0000-0000-000000000000")
    time.sleep(1)
    check(execution(first_id)["status"] == "InProgress" and action_state("Approve", "Approval")["status"] == "InProgress",
          "the approval blocks the execution")
    approved = json.loads(subprocess.run(
        ["aws", "--endpoint-url", URL, "--region", REGION, "codepipeline", "put-approval-result", "--pipeline-name", "shop",
         "--stage-name", "Approve", "--action-name", "Approval", "--token", approval_token,
         "--result", "summary=looks good,status=Approved"], capture_output=True, text=True, check=True).stdout)
    check("approvedAt" in approved, "the approval is recorded (aws CLI)")
    expect_error("ApprovalAlreadyCompletedException", cp.put_approval_result, pipelineName="shop", stageName="Approve", actionName="Approval",
                 result={"summary": "again", "status": "Approved"}, token=approval_token)
    done_first = finished(first_id)
    check(done_first["status"] == "Succeeded", f"the first execution succeeds: {done_first}")
    deployed = open(os.path.join(ROOT, "www", "index.html")).read()
    check(deployed == f"release of {first_commit}\n", f"the build's artifact was deployed to the host: {deployed!r}")
    check(done_first["artifactRevisions"][0]["revisionId"] == first_commit, f"artifact revisions: {done_first['artifactRevisions']}")
    deploy_state = action_state("Deploy", "Deploy")
    dep = cd.get_deployment(deploymentId=deploy_state["externalExecutionId"])["deploymentInfo"]
    check(dep["status"] == "Succeeded" and dep["deploymentGroupName"] == "prod",
          "the action's external id is the deployment, to the group the build's variable named")
    targets = cp.list_deploy_action_execution_targets(pipelineName="shop", actionExecutionId=deploy_state["actionExecutionId"])["targets"]
    check(len(targets) == 1 and targets[0]["targetId"] == "shop-host" and targets[0]["status"] == "Succeeded"
          and any(e["name"] == "Install" and e["status"] == "Succeeded" for e in targets[0]["events"]), f"the deploy action's targets: {targets}")
    expect_error("ActionExecutionNotFoundException", cp.list_deploy_action_execution_targets, pipelineName="shop",
                 actionExecutionId=by_name["Build"]["actionExecutionId"])

    # A push starts the next execution at once; rejecting the approval fails it.
    with open(os.path.join(src, "README.md"), "w") as f:
        f.write("second\n")
    git("add", ".", cwd=src)
    git("commit", "-m", "second release", cwd=src)
    pushed_at = time.time()
    git("push", "origin", "HEAD:main", cwd=src)
    second_commit = git("rev-parse", "HEAD", cwd=src).strip()
    second = wait("the push's execution", lambda: [e for e in cp.list_pipeline_executions(pipelineName="shop")["pipelineExecutionSummaries"]
                                                   if e["pipelineExecutionId"] != first_id])[0]
    check(time.time() - pushed_at < 5, f"the push started an execution at once: {time.time() - pushed_at:.1f} s")
    check(second["trigger"]["triggerType"] == "CloudWatchEvent", f"push trigger: {second['trigger']}")
    second_id = second["pipelineExecutionId"]
    second_token = waiting_approval(second_id)
    check(action_state("Source", "Source")["externalExecutionId"] == second_commit, "the push's execution took the pushed commit")
    cp.put_approval_result(pipelineName="shop", stageName="Approve", actionName="Approval",
                           result={"summary": "not today", "status": "Rejected"}, token=second_token)
    rejected = finished(second_id)
    check(rejected["status"] == "Failed", f"a rejection fails the execution: {rejected['status']}")
    state = {s["stageName"]: s for s in cp.get_pipeline_state(name="shop")["stageStates"]}
    check(state["Approve"]["latestExecution"]["status"] == "Failed", "the stage failed")
    check(state["Deploy"]["latestExecution"]["pipelineExecutionId"] == first_id, "Deploy still shows the first execution")
    check(open(os.path.join(ROOT, "www", "index.html")).read() == deployed, "nothing was deployed")

    # Stop and abandon an execution waiting for approval; a disabled transition holds the next.
    third_id = cp.start_pipeline_execution(name="shop")["pipelineExecutionId"]
    waiting_approval(third_id)
    expect_error("PipelineExecutionNotStoppableException", cp.stop_pipeline_execution, pipelineName="shop", pipelineExecutionId=first_id)
    cp.stop_pipeline_execution(pipelineName="shop", pipelineExecutionId=third_id, abandon=True, reason="changed my mind")
    stopped = finished(third_id)
    check(stopped["status"] == "Stopped", f"stop and abandon: {stopped['status']}")
    summary = [e for e in cp.list_pipeline_executions(pipelineName="shop")["pipelineExecutionSummaries"] if e["pipelineExecutionId"] == third_id][0]
    check(summary["stopTrigger"]["reason"] == "changed my mind", f"the stop reason: {summary}")
    check(action_state("Approve", "Approval")["status"] == "Abandoned", "the waiting approval is abandoned")

    cp.disable_stage_transition(pipelineName="shop", stageName="Build", transitionType="Inbound", reason="freeze")
    fourth_id = cp.start_pipeline_execution(name="shop")["pipelineExecutionId"]
    held = wait("the held execution", lambda: [s for s in cp.get_pipeline_state(name="shop")["stageStates"]
                                             if s["stageName"] == "Build" and s.get("inboundExecution", {}).get("pipelineExecutionId") == fourth_id])
    check(held[0]["inboundTransitionState"]["enabled"] is False and held[0]["inboundTransitionState"]["disabledReason"] == "freeze", f"transition: {held[0]['inboundTransitionState']}")
    cp.enable_stage_transition(pipelineName="shop", stageName="Build", transitionType="Inbound")
    waiting_approval(fourth_id)
    cp.stop_pipeline_execution(pipelineName="shop", pipelineExecutionId=fourth_id, abandon=True)
    finished(fourth_id)

    # Lists, versions, tags.
    summaries = cp.list_pipeline_executions(pipelineName="shop")["pipelineExecutionSummaries"]
    check([e["pipelineExecutionId"] for e in summaries] == [fourth_id, third_id, second_id, first_id], "executions newest first")
    page1 = cp.list_pipeline_executions(pipelineName="shop", maxResults=3)
    page2 = cp.list_pipeline_executions(pipelineName="shop", maxResults=3, nextToken=page1["nextToken"])
    check([e["pipelineExecutionId"] for e in page1["pipelineExecutionSummaries"] + page2["pipelineExecutionSummaries"]] == [fourth_id, third_id, second_id, first_id], "pagination")
    succeeded = cp.list_pipeline_executions(pipelineName="shop", filter={"succeededInStage": {"stageName": "Deploy"}})["pipelineExecutionSummaries"]
    check([e["pipelineExecutionId"] for e in succeeded] == [first_id], "the succeededInStage filter")
    updated = dict(declaration)
    updated["stages"] = [dict(s) for s in declaration["stages"]]
    updated["stages"][2] = {"name": "Approve", "actions": [dict(declaration["stages"][2]["actions"][0], configuration={"CustomData": "v2"})]}
    check(cp.update_pipeline(pipeline=updated)["pipeline"]["version"] == 2, "UpdatePipeline bumps the version")
    check(cp.get_pipeline(name="shop", version=1)["pipeline"]["stages"][2]["actions"][0]["configuration"]["CustomData"].startswith("ship"), "version 1 is kept")
    got = cp.get_pipeline(name="shop")
    check(got["pipeline"]["version"] == 2 and got["metadata"]["pipelineArn"] == f"arn:aws:codepipeline:{REGION}:{ACCOUNT}:shop", f"metadata: {got['metadata']}")
    expect_error("PipelineVersionNotFoundException", cp.get_pipeline, name="shop", version=9)
    arn = got["metadata"]["pipelineArn"]
    cp.tag_resource(resourceArn=arn, tags=[{"key": "tier", "value": "1"}])
    cp.untag_resource(resourceArn=arn, tagKeys=["team"])
    check(cp.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "tier", "value": "1"}], "tags")
    types = cp.list_action_types(actionOwnerFilter="AWS")["actionTypes"]
    check({(t["id"]["category"], t["id"]["provider"]) for t in types} >= {("Source", "CodeCommit"), ("Build", "CodeBuild"), ("Deploy", "CodeDeploy"), ("Approval", "Manual")}, "action types")
    listed = cp.list_pipelines()["pipelines"]
    check([(p["name"], p["version"], p["pipelineType"]) for p in listed] == [("shop", 2, "V2")], f"list: {listed}")

    # The CLI users type.
    out = subprocess.run(["aws", "--endpoint-url", URL, "--region", REGION, "codepipeline", "list-pipeline-executions",
                          "--pipeline-name", "shop", "--page-size", "1", "--query", "length(pipelineExecutionSummaries)"],
                         capture_output=True, text=True, check=True).stdout.strip()
    check(out == "4", f"the CLI pages through every execution: {out}")
    cp.delete_pipeline(name="shop")
    expect_error("PipelineNotFoundException", cp.get_pipeline_state, name="shop")
    done()
finally:
    agent.terminate()
    agent.wait(timeout=30)
