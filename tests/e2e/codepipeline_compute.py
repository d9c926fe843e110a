"""Compute in pipelines with boto3 and git: a V2 Commands action (commands with resolved
variables, environment variables, exported output variables, an output artifact of chosen
files deployed by S3) on a managed project users do not see; a CodeCommit source with
OutputArtifactFormat CODEBUILD_CLONE_REF that a CodeBuild action clones with its history; a
CodeBuild action with BatchEnabled, its builds' artifacts as separate output artifacts and
combined into one; a third-party action type registered with UpdateActionType, read with
GetActionType and run by a worker speaking the third-party job protocol; PutActionRevision;
and the declaration errors (unknown configuration keys, Commands outside V2, commands on
other actions, a clone reference given to a deploy action).

Run by crates/ferry/tests/e2e_codepipeline.rs. Exits non-zero on the first failed check."""

import io
import os
import tempfile
import time
import zipfile

import boto3

from helpers import check, done, expect_error, git

URL = os.environ["FERRY_URL"]
ACCOUNT = os.environ["FERRY_ACCOUNT"]
REGION = "us-east-1"
cp = boto3.client("codepipeline", endpoint_url=URL, region_name=REGION)
cc = boto3.client("codecommit", endpoint_url=URL, region_name=REGION)
cb = boto3.client("codebuild", endpoint_url=URL, region_name=REGION)
s3 = boto3.client("s3", endpoint_url=URL, region_name=REGION)
ROLE = f"arn:aws:iam::{ACCOUNT}:role/pipeline"
STORE = {"type": "S3", "location": "compute-artifacts"}


def kind(category, provider, owner="AWS"):
    return {"category": category, "owner": owner, "provider": provider, "version": "1"}


def wait(what, cond, timeout=90):
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = cond()
        if got:
            return got
        time.sleep(0.1)
    check(False, f"timed out waiting for {what}")


def execution(name, eid):
    return cp.get_pipeline_execution(pipelineName=name, pipelineExecutionId=eid)["pipelineExecution"]


def finished(name, eid=None):
    def ended():
        runs = cp.list_pipeline_executions(pipelineName=name)["pipelineExecutionSummaries"]
        run = next((r for r in runs if eid is None or r["pipelineExecutionId"] == eid), None)
        return run if run and run["status"] not in ("InProgress", "Stopping") else None
    return wait(f"{name} to finish", ended)


def actions(name, eid):
    details = cp.list_action_executions(pipelineName=name, filter={"pipelineExecutionId": eid})["actionExecutionDetails"]
    return {d["actionName"]: d for d in details}


def read_zip(location):
    body = s3.get_object(Bucket=location["bucket"], Key=location["key"])["Body"].read()
    with zipfile.ZipFile(io.BytesIO(body)) as z:
        return {n: z.read(n).decode() for n in z.namelist() if not n.endswith("/")}


def failure(name, eid):
    return [a for a in actions(name, eid).values() if a["status"] == "Failed"]


cc.create_repository(repositoryName="calc")
src = tempfile.mkdtemp(prefix="ferry-compute-")
git("clone", f"{URL}/v1/repos/calc", src)
for i, text in enumerate(["one", "two"]):
    with open(os.path.join(src, "app.txt"), "w") as f:
        f.write(text + "\n")
    os.makedirs(os.path.join(src, "docs"), exist_ok=True)
    with open(os.path.join(src, "docs", "notes.md"), "w") as f:
        f.write(f"notes {i}\n")
    git("add", ".", cwd=src)
    git("commit", "-m", f"commit {text}", cwd=src)
git("push", "origin", "HEAD:main", cwd=src)
head = git("rev-parse", "HEAD", cwd=src).strip()
parent = git("rev-parse", "HEAD~1", cwd=src).strip()
source = {"name": "Source", "namespace": "Src", "actionTypeId": kind("Source", "CodeCommit"),
          "configuration": {"RepositoryName": "calc", "BranchName": "main", "PollForSourceChanges": "false"},
          "outputArtifacts": [{"name": "Code"}]}
s3.create_bucket(Bucket="calc-site")

# ---- The Commands action.
commands = {"name": "Compile", "namespace": "Cmd", "actionTypeId": kind("Compute", "Commands"),
            "commands": ["mkdir -p dist/pages", "cp app.txt dist/app.txt",
                         "echo built from #{Src.CommitId} > dist/pages/origin.txt",
                         "export SIZE=$(wc -c < app.txt)", "export GREETING=\"$GREETING from $(cat app.txt)\"",
                         "echo scratch > not-shipped.txt"],
            "environmentVariables": [{"name": "GREETING", "value": "hello", "type": "PLAINTEXT"}],
            "outputVariables": ["SIZE", "GREETING"],
            "inputArtifacts": [{"name": "Code"}], "outputArtifacts": [{"name": "Dist", "files": ["dist/**/*"]}]}
publish = {"name": "Publish", "actionTypeId": kind("Deploy", "S3"),
           "configuration": {"BucketName": "calc-site", "Extract": "true", "ObjectKey": "size-#{Cmd.SIZE}"},
           "inputArtifacts": [{"name": "Dist"}]}
compute = {"name": "calc-commands", "roleArn": ROLE, "pipelineType": "V2", "artifactStore": STORE,
           "stages": [{"name": "Source", "actions": [source]}, {"name": "Compile", "actions": [commands]},
                      {"name": "Publish", "actions": [publish]}]}

# Bad declarations first: nothing is stored.
typo = {**compute, "stages": [compute["stages"][0], {"name": "Compile", "actions": [
    {"name": "Build", "actionTypeId": kind("Build", "CodeBuild"), "configuration": {"ProjectNme": "x"},
     "inputArtifacts": [{"name": "Code"}]}]}]}
err = expect_error("InvalidActionDeclarationException", cp.create_pipeline, pipeline=typo)
check("ProjectNme" in str(err), f"the unknown key is named: {err}")
expect_error("ValidationException", cp.create_pipeline, pipeline={**compute, "pipelineType": "V1"})
stray = {**compute, "stages": [compute["stages"][0], {"name": "Compile", "actions": [
    {"name": "Build", "actionTypeId": kind("Build", "CodeBuild"), "configuration": {"ProjectName": "x"},
     "commands": ["make"], "inputArtifacts": [{"name": "Code"}]}]}]}
expect_error("InvalidActionDeclarationException", cp.create_pipeline, pipeline=stray)
multiline = {**compute, "stages": [compute["stages"][0], {"name": "Compile", "actions": [{**commands, "commands": ["echo a\necho b"]}]}]}
expect_error("InvalidActionDeclarationException", cp.create_pipeline, pipeline=multiline)
gated = {**compute, "stages": [compute["stages"][0], {**compute["stages"][1], "beforeEntry": {"conditions": [{"result": "FAIL", "rules": [
    {"name": "Window", "ruleTypeId": {"category": "Rule", "owner": "AWS", "provider": "DeploymentWindow", "version": "1"},
     "configuration": {"Cron": "0 0 9 ? * MON-FRI *"}}]}]}}, compute["stages"][2]]}
err = expect_error("ValidationException", cp.create_pipeline, pipeline=gated)
check("beforeEntry" in str(err), f"stage conditions are refused, not ignored: {err}")
dangling = {**compute, "stages": [compute["stages"][0], {"name": "Compile", "actions": [{**commands, "commands": ["echo #{Nope.Thing}"]}]},
                                   compute["stages"][2]]}
err = expect_error("InvalidActionDeclarationException", cp.create_pipeline, pipeline=dangling)
check("Nope.Thing" in str(err), f"a reference nothing provides is named: {err}")
later = {**compute, "stages": [compute["stages"][0], {"name": "Compile", "actions": [{**commands, "commands": ["echo #{Cmd.SIZE}"]}]},
                                compute["stages"][2]]}
expect_error("InvalidActionDeclarationException", cp.create_pipeline, pipeline=later)  # its own namespace is not yet set
undeclared = {**compute, "stages": compute["stages"][:2] + [{"name": "Publish", "actions": [
    {**publish, "configuration": {**publish["configuration"], "ObjectKey": "#{variables.release}"}}]}]}
expect_error("InvalidActionDeclarationException", cp.create_pipeline, pipeline=undeclared)
check(cp.list_pipelines()["pipelines"] == [], "no pipeline was stored by the bad declarations")

cp.create_pipeline(pipeline=compute)
run = finished("calc-commands")
by = actions("calc-commands", run["pipelineExecutionId"])
check(run["status"] == "Succeeded", f"the Commands pipeline succeeded: {run} {failure('calc-commands', run['pipelineExecutionId'])}")
compiled = by["Compile"]
check(compiled["output"]["outputVariables"] == {"SIZE": "4", "GREETING": "hello from two"},
      f"the exported output variables: {compiled['output'].get('outputVariables')}")
build_id = compiled["output"]["executionResult"]["externalExecutionId"]
build = cb.batch_get_builds(ids=[build_id])["builds"][0]
check(build["buildStatus"] == "SUCCEEDED" and build["logs"]["groupName"] == "/aws/codepipeline/calc-commands",
      f"the build logs to the pipeline's group: {build['logs'].get('groupName')}")
check(not any("/" in p for p in cb.list_projects()["projects"]), f"the managed project is not listed: {cb.list_projects()['projects']}")
check(build_id not in cb.list_builds()["ids"], "nor its builds")
dist = read_zip(by["Compile"]["output"]["outputArtifacts"][0]["s3location"])
check(sorted(dist) == ["dist/app.txt", "dist/pages/origin.txt"], f"the output artifact holds only the chosen files: {sorted(dist)}")
check(dist["dist/pages/origin.txt"] == f"built from {head}\n", f"commands see resolved variables: {dist['dist/pages/origin.txt']}")
check(s3.get_object(Bucket="calc-site", Key="size-4/dist/app.txt")["Body"].read() == b"two\n",
      "a later action resolves the output variable and deploys the artifact")
check(s3.get_object(Bucket="calc-site", Key="size-4/dist/pages/origin.txt")["Body"].read().decode().strip().endswith(head), "nested files")

failing = {**compute, "name": "calc-failing", "stages": [compute["stages"][0], {"name": "Compile", "actions": [
    {**{k: v for k, v in commands.items() if k not in ("outputVariables", "outputArtifacts")},
     "commands": ["echo about to fail", "exit 3"]}]}]}
cp.create_pipeline(pipeline=failing)
run = finished("calc-failing")
check(run["status"] == "Failed", f"a failing command fails the execution: {run['status']}")
check(failure("calc-failing", run["pipelineExecutionId"])[0]["actionName"] == "Compile", "at the Commands action")

# ---- CODEBUILD_CLONE_REF: the build gets a clone with history at the source commit.
cb.create_project(name="calc-history", source={"type": "CODEPIPELINE", "buildspec": "\n".join([
    "version: 0.2", "env:", "  exported-variables: [COMMITS, HEAD_SHA, ORIGIN]", "phases:", "  build:", "    commands:",
    "      - export COMMITS=$(git rev-list --count HEAD)", "      - export HEAD_SHA=$(git rev-parse HEAD)",
    "      - export ORIGIN=$(git remote get-url origin)"])},
    artifacts={"type": "CODEPIPELINE"}, environment={"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0",
                                                      "computeType": "BUILD_GENERAL1_SMALL"}, serviceRole=ROLE)
expect_error("InvalidInputException", cb.start_build, projectName="calc-history")  # CODEPIPELINE projects build only in pipelines
ref_source = {**source, "configuration": {**source["configuration"], "OutputArtifactFormat": "CODEBUILD_CLONE_REF"}}
history = {"name": "calc-history", "roleArn": ROLE, "pipelineType": "V2", "artifactStore": STORE,
           "stages": [{"name": "Source", "actions": [ref_source]},
                      {"name": "Build", "actions": [{"name": "Build", "namespace": "B", "actionTypeId": kind("Build", "CodeBuild"),
                                                     "configuration": {"ProjectName": "calc-history"},
                                                     "inputArtifacts": [{"name": "Code"}]}]}]}
to_deploy = {**history, "stages": [history["stages"][0], {"name": "Deploy", "actions": [
    {"name": "Deploy", "actionTypeId": kind("Deploy", "S3"), "configuration": {"BucketName": "calc-site", "Extract": "true"},
     "inputArtifacts": [{"name": "Code"}]}]}]}
err = expect_error("InvalidActionDeclarationException", cp.create_pipeline, pipeline=to_deploy)
check("CODEBUILD_CLONE_REF" in str(err), f"a clone reference goes only to CodeBuild: {err}")
bad_format = {**history, "stages": [{"name": "Source", "actions": [
    {**source, "configuration": {**source["configuration"], "OutputArtifactFormat": "TARBALL"}}]}, history["stages"][1]]}
expect_error("InvalidActionDeclarationException", cp.create_pipeline, pipeline=bad_format)
cp.create_pipeline(pipeline=history)
run = finished("calc-history")
check(run["status"] == "Succeeded", f"the clone-ref pipeline succeeded: {failure('calc-history', run['pipelineExecutionId'])}")
got = actions("calc-history", run["pipelineExecutionId"])["Build"]["output"]["outputVariables"]
check(got["COMMITS"] == "2" and got["HEAD_SHA"] == head, f"the build has the history at the commit: {got}")
check(got["ORIGIN"] == f"{URL}/v1/repos/calc", f"and the repository as origin: {got['ORIGIN']}")

# ---- BatchEnabled: two builds of a build-list, their artifacts apart or combined.
cb.create_project(name="calc-batch", source={"type": "CODEPIPELINE", "buildspec": "\n".join([
    "version: 0.2", "batch:", "  build-list:", "    - identifier: linux", "      env:", "        variables:", "          OS: linux",
    "    - identifier: mac", "      env:", "        variables:", "          OS: mac",
    "phases:", "  build:", "    commands:", "      - mkdir -p out", "      - echo \"$OS $(cat app.txt)\" > out/$OS.txt",
    "artifacts:", "  base-directory: out", "  files: ['**/*']"])},
    artifacts={"type": "CODEPIPELINE"}, environment={"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0",
                                                      "computeType": "BUILD_GENERAL1_SMALL"}, serviceRole=ROLE)


def batch_pipeline(name, outputs, combine):
    config = {"ProjectName": "calc-batch", "BatchEnabled": "true"}
    if combine:
        config["CombineArtifacts"] = "true"
    return {"name": name, "roleArn": ROLE, "pipelineType": "V2", "artifactStore": STORE,
            "stages": [{"name": "Source", "actions": [source]},
                       {"name": "Build", "actions": [{"name": "Build", "actionTypeId": kind("Build", "CodeBuild"), "configuration": config,
                                                      "inputArtifacts": [{"name": "Code"}],
                                                      "outputArtifacts": [{"name": n} for n in outputs]}]}]}


cp.create_pipeline(pipeline=batch_pipeline("calc-batch-apart", ["linux", "mac"], False))
cp.create_pipeline(pipeline=batch_pipeline("calc-batch-combined", ["All"], True))
run = finished("calc-batch-apart")
check(run["status"] == "Succeeded", f"the batch pipeline succeeded: {failure('calc-batch-apart', run['pipelineExecutionId'])}")
built = actions("calc-batch-apart", run["pipelineExecutionId"])["Build"]
batch_id = built["output"]["executionResult"]["externalExecutionId"]
batch = cb.batch_get_build_batches(ids=[batch_id])["buildBatches"][0]
check(batch["buildBatchStatus"] == "SUCCEEDED" and len(batch["buildGroups"]) == 2, f"the action ran one batch: {batch['buildBatchStatus']}")
outs = {a["name"]: read_zip(a["s3location"]) for a in built["output"]["outputArtifacts"]}
check(outs == {"linux": {"linux.txt": "linux two\n"}, "mac": {"mac.txt": "mac two\n"}},
      f"each output artifact is the build named after it: {outs}")
run = finished("calc-batch-combined")
check(run["status"] == "Succeeded", f"the combined batch pipeline succeeded: {failure('calc-batch-combined', run['pipelineExecutionId'])}")
built = actions("calc-batch-combined", run["pipelineExecutionId"])["Build"]
combined = read_zip(built["output"]["outputArtifacts"][0]["s3location"])
check(combined == {"linux/linux.txt": "linux two\n", "mac/mac.txt": "mac two\n"}, f"one artifact with a folder per build: {combined}")
cp.create_pipeline(pipeline=batch_pipeline("calc-batch-wrong", ["windows"], False))
run = finished("calc-batch-wrong")
check(run["status"] == "Failed", "an output artifact named after no build of the batch fails the action")
state = [a for st in cp.get_pipeline_state(name="calc-batch-wrong")["stageStates"] if st["stageName"] == "Build" for a in st["actionStates"]][0]
check("windows" in state["latestExecution"]["errorDetails"]["message"], f"and says which: {state['latestExecution']}")

# ---- A third-party action type and its job protocol.
aws_type = cp.get_action_type(category="Build", owner="AWS", provider="CodeBuild", version="1")["actionType"]
names = {p["name"]: p["optional"] for p in aws_type["properties"]}
check(names.get("ProjectName") is False and names.get("BatchEnabled") is True, f"GetActionType of an AWS type: {names}")
expect_error("ActionTypeNotFoundException", cp.get_action_type, category="Test", owner="ThirdParty", provider="Lint", version="1")
declaration = {"id": {"category": "Test", "owner": "ThirdParty", "provider": "Lint", "version": "1"},
               "description": "Lints the source",
               "executor": {"type": "JobWorker", "configuration": {"jobWorkerExecutorConfiguration": {"pollingAccounts": [ACCOUNT]}}},
               "inputArtifactDetails": {"minimumCount": 1, "maximumCount": 1},
               "outputArtifactDetails": {"minimumCount": 0, "maximumCount": 0},
               "properties": [{"name": "Level", "optional": False, "key": True, "noEcho": False, "description": "how strict"}],
               "urls": {"configurationUrl": "https://lint.example/config"}}
expect_error("ValidationException", cp.update_action_type,
             actionType={**declaration, "executor": {"type": "Lambda", "configuration": {"lambdaExecutorConfiguration": {"lambdaFunctionArn": "arn:aws:lambda:us-east-1:1:function:f"}}}})
expect_error("AccessDeniedException", cp.update_action_type, actionType={**declaration, "id": {**declaration["id"], "owner": "AWS"}})
cp.update_action_type(actionType=declaration)
read = cp.get_action_type(category="Test", owner="ThirdParty", provider="Lint", version="1")["actionType"]
check(read["description"] == "Lints the source" and read["properties"][0]["name"] == "Level"
      and read["urls"]["configurationUrl"] == "https://lint.example/config", f"GetActionType returns the declaration: {read}")
listed = [t["id"]["provider"] for t in cp.list_action_types(actionOwnerFilter="ThirdParty")["actionTypes"]]
check(listed == ["Lint"], f"ListActionTypes shows it: {listed}")
lint_type = kind("Test", "Lint", owner="ThirdParty")
linted = {"name": "calc-lint", "roleArn": ROLE, "artifactStore": STORE,
          "stages": [{"name": "Source", "actions": [source]},
                     {"name": "Lint", "actions": [{"name": "Lint", "actionTypeId": lint_type, "configuration": {"Level": "strict"},
                                                   "inputArtifacts": [{"name": "Code"}]}]}]}
expect_error("InvalidActionDeclarationException", cp.create_pipeline,
             pipeline={**linted, "stages": [linted["stages"][0], {"name": "Lint", "actions": [
                 {**linted["stages"][1]["actions"][0], "configuration": {"Level": "strict", "Color": "red"}}]}]})
cp.create_pipeline(pipeline=linted)
jobs = wait("a third-party job", lambda: cp.poll_for_third_party_jobs(actionTypeId=lint_type, maxBatchSize=5)["jobs"])
check(len(jobs) == 1 and set(jobs[0]) == {"clientId", "jobId"}, f"a third-party poll names the job and its client: {jobs}")
job = jobs[0]
expect_error("ValidationException", cp.poll_for_third_party_jobs, actionTypeId=kind("Test", "Lint", owner="Custom"))
expect_error("InvalidClientTokenException", cp.get_third_party_job_details, jobId=job["jobId"], clientToken="not-mine")
details = cp.get_third_party_job_details(jobId=job["jobId"], clientToken=job["clientId"])["jobDetails"]
check(details["data"]["actionConfiguration"]["configuration"] == {"Level": "strict"}
      and details["data"]["pipelineContext"]["pipelineName"] == "calc-lint", f"the job's details: {details['data'].get('pipelineContext')}")
check(details["data"]["inputArtifacts"][0]["name"] == "Code" and details["data"]["artifactCredentials"]["accessKeyId"], "with inputs and credentials")
expect_error("InvalidNonceException", cp.acknowledge_third_party_job, jobId=job["jobId"], nonce="x", clientToken=job["clientId"])
status = cp.acknowledge_third_party_job(jobId=job["jobId"], nonce=details["nonce"], clientToken=job["clientId"])["status"]
check(status == "InProgress", f"acknowledged: {status}")
expect_error("InvalidClientTokenException", cp.put_third_party_job_success_result, jobId=job["jobId"], clientToken="not-mine")
cp.put_third_party_job_success_result(jobId=job["jobId"], clientToken=job["clientId"],
                                      executionDetails={"summary": "0 findings", "externalExecutionId": "lint-7"})
run = finished("calc-lint")
lint = actions("calc-lint", run["pipelineExecutionId"])["Lint"]
check(run["status"] == "Succeeded" and lint["output"]["executionResult"]["externalExecutionId"] == "lint-7",
      f"the worker's success ends the action: {lint['output']}")
second = cp.start_pipeline_execution(name="calc-lint")["pipelineExecutionId"]
job = wait("the second job", lambda: cp.poll_for_third_party_jobs(actionTypeId=lint_type)["jobs"])[0]
cp.put_third_party_job_failure_result(jobId=job["jobId"], clientToken=job["clientId"],
                                      failureDetails={"type": "JobFailed", "message": "3 findings"})
run = finished("calc-lint", second)
check(run["status"] == "Failed", "the worker's failure fails it")
expect_error("JobNotFoundException", cp.get_third_party_job_details, jobId="00000000-0000-0000-0000-000000000000", clientToken="x")
expect_error("ValidationException", cp.update_action_type, actionType={**declaration, "id": {**declaration["id"], "owner": "Custom"}})

# ---- PutActionRevision on the CodeCommit source.
latest = cp.list_pipeline_executions(pipelineName="calc-lint")["pipelineExecutionSummaries"][0]
same = cp.put_action_revision(pipelineName="calc-lint", stageName="Source", actionName="Source",
                              actionRevision={"revisionId": head, "revisionChangeId": head, "created": time.time()})
check(same["newRevision"] is False and "pipelineExecutionId" not in same, f"the revision it already took starts nothing: {same}")
check(cp.list_pipeline_executions(pipelineName="calc-lint")["pipelineExecutionSummaries"][0]["pipelineExecutionId"] == latest["pipelineExecutionId"],
      "no new execution")
older = cp.put_action_revision(pipelineName="calc-lint", stageName="Source", actionName="Source",
                               actionRevision={"revisionId": parent, "revisionChangeId": parent, "created": time.time()})
check(older["newRevision"] is True and older["pipelineExecutionId"], f"another revision starts an execution: {older}")
started = execution("calc-lint", older["pipelineExecutionId"])
check(started["trigger"]["triggerType"] == "PutActionRevision", f"its trigger: {started['trigger']}")
wait("the source to take the revision", lambda: any(r["revisionId"] == parent for r in
                                                      execution("calc-lint", older["pipelineExecutionId"]).get("artifactRevisions", [])))
expect_error("ActionNotFoundException", cp.put_action_revision, pipelineName="calc-lint", stageName="Source", actionName="Nope",
             actionRevision={"revisionId": head, "revisionChangeId": head, "created": time.time()})
expect_error("StageNotFoundException", cp.put_action_revision, pipelineName="calc-lint", stageName="Nope", actionName="Source",
             actionRevision={"revisionId": head, "revisionChangeId": head, "created": time.time()})
done()
