"""Custom actions and the job-worker protocol with boto3: a custom Test action type, a pipeline
that uses it, and a worker written here that polls for the job, acknowledges it with its nonce,
reads its input artifact with the job's credentials, reports progress with a continuation
token, then succeeds with output variables that a later action resolves; a failing job fails
the stage; the errors for unknown types, wrong nonces, unknown jobs and finished jobs; and a
webhook whose signed JSON events start executions when they pass its filters; an S3 source
(versioned bucket) deployed by an S3 deploy action.

Run by crates/ferry/tests/e2e_codepipeline.rs. Exits non-zero on the first failed check."""

import hashlib
import hmac
import io
import json
import os
import urllib.error
import urllib.request
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
ROLE = f"arn:aws:iam::{ACCOUNT}:role/pipeline"
TYPE = {"category": "Test", "owner": "Custom", "provider": "FerryChecker", "version": "1"}


def wait(what, cond, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = cond()
        if got:
            return got
        time.sleep(0.1)
    check(False, f"timed out waiting for {what}")


def execution(name, eid):
    return cp.get_pipeline_execution(pipelineName=name, pipelineExecutionId=eid)["pipelineExecution"]


expect_error("ActionTypeNotFoundException", cp.poll_for_jobs, actionTypeId=TYPE)
created = cp.create_custom_action_type(category="Test", provider="FerryChecker", version="1",
                                       configurationProperties=[{"name": "Rule", "required": True, "key": True, "secret": False}],
                                       inputArtifactDetails={"minimumCount": 1, "maximumCount": 1},
                                       outputArtifactDetails={"minimumCount": 0, "maximumCount": 0})
check(created["actionType"]["id"] == TYPE, f"the custom type: {created['actionType']['id']}")
listed = [t["id"] for t in cp.list_action_types(actionOwnerFilter="Custom")["actionTypes"]]
check(listed == [TYPE], f"ListActionTypes shows it: {listed}")

cc.create_repository(repositoryName="checked")
src = tempfile.mkdtemp(prefix="ferry-jobs-")
git("clone", f"{URL}/v1/repos/checked", src)
with open(os.path.join(src, "rules.txt"), "w") as f:
    f.write("no-tabs\n")
git("add", ".", cwd=src)
git("commit", "-m", "rules", cwd=src)
git("push", "origin", "HEAD:main", cwd=src)

stage_check = {"name": "Check", "actions": [{"name": "Checker", "namespace": "CheckVars", "actionTypeId": TYPE,
                                             "configuration": {"Rule": "#{SourceVariables.BranchName}-strict"},
                                             "inputArtifacts": [{"name": "Src"}]}]}
stage_after = {"name": "Approve", "actions": [{"name": "Approval",
                                               "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"},
                                               "configuration": {"CustomData": "score #{CheckVars.Score}"}}]}
decl = {"name": "checked", "roleArn": ROLE, "artifactStore": {"type": "S3", "location": "jobs-artifacts"},
        "stages": [{"name": "Source", "actions": [{
            "name": "Source", "namespace": "SourceVariables",
            "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "CodeCommit", "version": "1"},
            "configuration": {"RepositoryName": "checked", "BranchName": "main"}, "outputArtifacts": [{"name": "Src"}]}]},
            stage_check, stage_after]}
missing = {**decl, "stages": [decl["stages"][0], {**stage_check, "actions": [{**stage_check["actions"][0], "configuration": {}}]}]}
expect_error("InvalidActionDeclarationException", cp.create_pipeline, pipeline=missing)
cp.create_pipeline(pipeline=decl)
first = wait("the execution", lambda: cp.list_pipeline_executions(pipelineName="checked")["pipelineExecutionSummaries"])[0]["pipelineExecutionId"]

# The worker: poll, acknowledge, read the input with the job's credentials, continue once, succeed.
jobs = wait("a job", lambda: cp.poll_for_jobs(actionTypeId=TYPE, maxBatchSize=5)["jobs"])
check(len(jobs) == 1, f"one job: {len(jobs)}")
job = jobs[0]
data = job["data"]
check(data["actionConfiguration"]["configuration"] == {"Rule": "main-strict"}, f"the configuration is resolved: {data['actionConfiguration']}")
check(data["pipelineContext"]["pipelineName"] == "checked" and data["pipelineContext"]["stage"]["name"] == "Check"
      and data["pipelineContext"]["pipelineExecutionId"] == first, f"pipeline context: {data['pipelineContext']}")
check(cp.poll_for_jobs(actionTypeId=TYPE)["jobs"] == [], "a dispatched job is not handed out twice")
expect_error("InvalidNonceException", cp.acknowledge_job, jobId=job["id"], nonce="wrong")
check(cp.acknowledge_job(jobId=job["id"], nonce=job["nonce"])["status"] == "InProgress", "acknowledged")
creds = data["artifactCredentials"]
loc = data["inputArtifacts"][0]["location"]["s3Location"]
worker_s3 = boto3.client("s3", endpoint_url=URL, region_name=REGION, aws_access_key_id=creds["accessKeyId"],
                         aws_secret_access_key=creds["secretAccessKey"], aws_session_token=creds["sessionToken"])
with zipfile.ZipFile(io.BytesIO(worker_s3.get_object(Bucket=loc["bucketName"], Key=loc["objectKey"])["Body"].read())) as z:
    check(z.read("rules.txt") == b"no-tabs\n", "the worker reads the input artifact with the job's credentials")
check(cp.get_job_details(jobId=job["id"])["jobDetails"]["data"]["pipelineContext"]["action"]["name"] == "Checker", "GetJobDetails")
cp.put_job_success_result(jobId=job["id"], continuationToken="step-2", executionDetails={"summary": "halfway", "percentComplete": 50})
expect_error("InvalidJobStateException", cp.put_job_success_result, jobId=job["id"])
again = wait("the continuation job", lambda: cp.poll_for_jobs(actionTypeId=TYPE)["jobs"])[0]
check(again["data"]["continuationToken"] == "step-2" and again["id"] != job["id"], "a continuation token hands out a new job")
cp.acknowledge_job(jobId=again["id"], nonce=again["nonce"])
cp.put_job_success_result(jobId=again["id"], executionDetails={"summary": "all good", "externalExecutionId": "check-42"},
                          outputVariables={"Score": "97"})
token = wait("the approval", lambda: [a for s in cp.get_pipeline_state(name="checked")["stageStates"] if s["stageName"] == "Approve"
                                      for a in s["actionStates"] if a.get("latestExecution", {}).get("token")])
details = cp.list_action_executions(pipelineName="checked", filter={"pipelineExecutionId": first})["actionExecutionDetails"]
by = {d["actionName"]: d for d in details}
check(by["Checker"]["status"] == "Succeeded" and by["Checker"]["output"]["executionResult"]["externalExecutionId"] == "check-42",
      f"the worker's result: {by['Checker']['output']}")
check(by["Checker"]["output"]["outputVariables"] == {"Score": "97"}, "its output variables")
check(by["Approval"]["input"]["resolvedConfiguration"]["CustomData"] == "score 97", "which a later action resolves")
cp.stop_pipeline_execution(pipelineName="checked", pipelineExecutionId=first, abandon=True)

# A failing job fails the stage.
second = cp.start_pipeline_execution(name="checked")["pipelineExecutionId"]
job = wait("the second job", lambda: cp.poll_for_jobs(actionTypeId=TYPE)["jobs"])[0]
cp.acknowledge_job(jobId=job["id"], nonce=job["nonce"])
cp.put_job_failure_result(jobId=job["id"], failureDetails={"type": "JobFailed", "message": "tabs found in main.c", "externalExecutionId": "check-43"})
failed = wait("the failed execution", lambda: (lambda e: e if e["status"] not in ("InProgress", "Stopping") else None)(execution("checked", second)))
check(failed["status"] == "Failed", f"a failed job fails the execution: {failed['status']}")
state = [a for s in cp.get_pipeline_state(name="checked")["stageStates"] if s["stageName"] == "Check" for a in s["actionStates"]][0]
check(state["latestExecution"]["errorDetails"]["message"] == "tabs found in main.c", f"with the worker's message: {state['latestExecution']}")
expect_error("JobNotFoundException", cp.get_job_details, jobId="00000000-0000-0000-0000-000000000000")
# A webhook starts an execution for a JSON event that passes its filters and is signed.
cp.create_pipeline(pipeline={"name": "hooked", "roleArn": ROLE, "artifactStore": {"type": "S3", "location": "jobs-artifacts"},
                             "stages": [decl["stages"][0], {**stage_after, "actions": [{**stage_after["actions"][0], "configuration": {}}]}]})
wait("the first hooked execution", lambda: cp.list_pipeline_executions(pipelineName="hooked")["pipelineExecutionSummaries"])
expect_error("ValidationException", cp.put_webhook, webhook={"name": "gh", "targetPipeline": "hooked", "targetAction": "Nope",
             "filters": [{"jsonPath": "$.ref"}], "authentication": "UNAUTHENTICATED", "authenticationConfiguration": {}})
hook = cp.put_webhook(webhook={"name": "gh", "targetPipeline": "hooked", "targetAction": "Source",
                               "filters": [{"jsonPath": "$.ref", "matchEquals": "refs/heads/{BranchName}"}],
                               "authentication": "GITHUB_HMAC", "authenticationConfiguration": {"SecretToken": "s3cret"}})["webhook"]
check(hook["url"].startswith(URL + "/webhooks/trigger?t=") and hook["arn"].endswith(":webhook:gh"), f"the webhook: {hook['url']} {hook.get('arn')}")


def post(url, event, secret="s3cret"):
    body = json.dumps(event).encode()
    sig = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    req = urllib.request.Request(url, data=body, method="POST", headers={"content-type": "application/json", "x-hub-signature-256": sig})
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


status, body = post(hook["url"], {"ref": "refs/heads/main"}, secret="wrong")
check(status == 403, f"a bad signature is refused: {status} {body}")
status, body = post(hook["url"], {"ref": "refs/heads/dev"})
check(status == 200 and body["pipelineExecutionId"] is None, f"an event the filters reject starts nothing: {body}")
status, body = post(hook["url"], {"ref": "refs/heads/main"})
check(status == 200 and body["pipelineExecutionId"], f"a matching event starts an execution: {body}")
started = execution("hooked", body["pipelineExecutionId"])
check(started["trigger"]["triggerType"] == "Webhook" and started["trigger"]["triggerDetail"] == hook["arn"], f"trigger: {started['trigger']}")
check([w["definition"]["name"] for w in cp.list_webhooks()["webhooks"]] == ["gh"], "ListWebhooks")
cp.delete_webhook(name="gh")
check(cp.list_webhooks()["webhooks"] == [], "deleted")
status, _ = post(hook["url"], {"ref": "refs/heads/main"})
check(status == 403, "the old URL is dead")

# S3 source (a versioned bucket) and S3 deploy (extracted under a prefix).
s3 = boto3.client("s3", endpoint_url=URL, region_name=REGION)
s3.create_bucket(Bucket="app-src")
s3.put_bucket_versioning(Bucket="app-src", VersioningConfiguration={"Status": "Enabled"})
s3.create_bucket(Bucket="app-site")


def site_zip(text):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("index.html", text)
        z.writestr("css/site.css", "body{}")
    return buf.getvalue()


v1 = s3.put_object(Bucket="app-src", Key="site.zip", Body=site_zip("v1"))["VersionId"]
cp.create_pipeline(pipeline={"name": "static", "roleArn": ROLE, "artifactStore": {"type": "S3", "location": "jobs-artifacts"},
                             "stages": [{"name": "Source", "actions": [{
                                 "name": "Source", "namespace": "Obj",
                                 "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
                                 "configuration": {"S3Bucket": "app-src", "S3ObjectKey": "site.zip"}, "outputArtifacts": [{"name": "Site"}]}]},
                                 {"name": "Publish", "actions": [{
                                     "name": "Publish", "actionTypeId": {"category": "Deploy", "owner": "AWS", "provider": "S3", "version": "1"},
                                     "configuration": {"BucketName": "app-site", "Extract": "true", "ObjectKey": "web"},
                                     "inputArtifacts": [{"name": "Site"}]}]}]})
bad = {"name": "bad-s3", "roleArn": ROLE, "artifactStore": {"type": "S3", "location": "jobs-artifacts"},
       "stages": [{"name": "Source", "actions": [{"name": "Source", "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
                                                  "configuration": {"S3Bucket": "app-src", "S3ObjectKey": "site.zip"}, "outputArtifacts": [{"name": "Site"}]}]},
                  {"name": "Publish", "actions": [{"name": "Publish", "actionTypeId": {"category": "Deploy", "owner": "AWS", "provider": "S3", "version": "1"},
                                                   "configuration": {"BucketName": "app-site", "Extract": "false"}, "inputArtifacts": [{"name": "Site"}]}]}]}
expect_error("InvalidActionDeclarationException", cp.create_pipeline, pipeline=bad)
first_static = wait("the static execution", lambda: (lambda l: l[0] if l and l[0]["status"] != "InProgress" else None)(
    cp.list_pipeline_executions(pipelineName="static")["pipelineExecutionSummaries"]))
check(first_static["status"] == "Succeeded", f"S3 source -> S3 deploy: {first_static}")
check(s3.get_object(Bucket="app-site", Key="web/index.html")["Body"].read() == b"v1", "the artifact was extracted under the prefix")
check(s3.get_object(Bucket="app-site", Key="web/css/site.css")["Body"].read() == b"body{}", "nested files too")
src_detail = [d for d in cp.list_action_executions(pipelineName="static")["actionExecutionDetails"] if d["actionName"] == "Source"][0]
check(src_detail["output"]["outputVariables"]["VersionId"] == v1, f"source variables: {src_detail['output']['outputVariables']}")
s3.put_object(Bucket="app-src", Key="site.zip", Body=site_zip("v2"))
eid = cp.start_pipeline_execution(name="static")["pipelineExecutionId"]
wait("v2", lambda: execution("static", eid)["status"] == "Succeeded")
check(s3.get_object(Bucket="app-site", Key="web/index.html")["Body"].read() == b"v2", "a manual start takes the latest version")
eid = cp.start_pipeline_execution(name="static", sourceRevisions=[{"actionName": "Source", "revisionType": "S3_OBJECT_VERSION_ID", "revisionValue": v1}])["pipelineExecutionId"]
wait("v1 again", lambda: execution("static", eid)["status"] == "Succeeded")
check(s3.get_object(Bucket="app-site", Key="web/index.html")["Body"].read() == b"v1", "or the version it is started with")

cp.delete_custom_action_type(category="Test", provider="FerryChecker", version="1")
expect_error("ActionTypeNotFoundException", cp.delete_custom_action_type, category="Test", provider="FerryChecker", version="1")
done()
