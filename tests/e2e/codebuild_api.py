"""boto3 against a running Ferry: CodeBuild projects and builds that really run — a buildspec
from a Ferry repository with variables from SSM and Secrets Manager, `exported-variables`,
`finally`, `on-failure: CONTINUE`, the AWS phase sequence and failure rules, logs in
CloudWatch Logs, artifacts in S3, StopBuild, timeouts, YAML errors, and bad input.

Run by crates/ferry/tests/e2e_codebuild.rs with FERRY_URL, FERRY_ACCOUNT and AWS credentials
in the environment. Exits non-zero on the first failed check."""

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
cb = boto3.client("codebuild", endpoint_url=URL, region_name=REGION)
cc = boto3.client("codecommit", endpoint_url=URL, region_name=REGION)
s3 = boto3.client("s3", endpoint_url=URL, region_name=REGION)
logs = boto3.client("logs", endpoint_url=URL, region_name=REGION)
ssm = boto3.client("ssm", endpoint_url=URL, region_name=REGION)
sm = boto3.client("secretsmanager", endpoint_url=URL, region_name=REGION)
ROLE = f"arn:aws:iam::{ACCOUNT}:role/service-role/codebuild-demo"
ENV = {"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0", "computeType": "BUILD_GENERAL1_SMALL"}


def wait(build_id, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        b = cb.batch_get_builds(ids=[build_id])["builds"][0]
        if b["buildComplete"]:
            return b
        time.sleep(0.2)
    raise AssertionError(f"build {build_id} did not finish: {b['currentPhase']}")


def phases(b):
    return [(p["phaseType"], p.get("phaseStatus")) for p in b["phases"]]


def log_text(b):
    time.sleep(0.3)
    ev = logs.get_log_events(logGroupName=b["logs"]["groupName"], logStreamName=b["logs"]["streamName"], startFromHead=True)
    return "\n".join(e["message"] for e in ev["events"])


# --- a repository with a buildspec ------------------------------------------------------------
BUILDSPEC = """version: 0.2
env:
  shell: bash
  variables:
    GREETING: "hello from the buildspec"
    PYVER: 3.10
  parameter-store:
    DB_HOST: /demo/db-host
  secrets-manager:
    DB_PASSWORD: demo/db:password
  exported-variables:
    - IMAGE_TAG
    - GREETING
phases:
  install:
    runtime-versions:
      python: 3.x
    commands:
      - echo "install in $CODEBUILD_SRC_DIR"
  pre_build:
    commands:
      - cd app
      - IMAGE_TAG=v-$(cat VERSION)
      - echo "pyver=$PYVER host=$DB_HOST password=$DB_PASSWORD"
  build:
    on-failure: CONTINUE
    commands:
      - echo "building $IMAGE_TAG in $(basename $(pwd))"
      - test "$CODEBUILD_BUILD_SUCCEEDING" = 1
      - mkdir -p ../dist && echo "artifact $IMAGE_TAG" > ../dist/out.txt && cp VERSION ../dist/
      - false
    finally:
      - echo "finally ran"
  post_build:
    commands:
      - echo "succeeding=$CODEBUILD_BUILD_SUCCEEDING"
      - aws sts get-caller-identity --query Arn --output text
artifacts:
  files:
    - '**/*'
  base-directory: dist
"""
with tempfile.TemporaryDirectory() as tmp:
    url = cc.create_repository(repositoryName="build-demo")["repositoryMetadata"]["cloneUrlHttp"]
    work = os.path.join(tmp, "w")
    git("clone", "-q", url, work)
    os.makedirs(os.path.join(work, "app"))
    open(os.path.join(work, "buildspec.yml"), "w").write(BUILDSPEC)
    open(os.path.join(work, "app", "VERSION"), "w").write("1.2.3")
    git("add", ".", cwd=work)
    git("commit", "-q", "-m", "buildspec", cwd=work)
    git("push", "-q", "origin", "HEAD:main", cwd=work)
    commit_id = git("rev-parse", "HEAD", cwd=work).strip()

ssm.put_parameter(Name="/demo/db-host", Value="db.internal", Type="String")
sm.create_secret(Name="demo/db", SecretString='{"password": "s3cr3t-pw", "user": "app"}')
s3.create_bucket(Bucket="build-artifacts")

p = cb.create_project(
    name="demo", source={"type": "CODECOMMIT", "location": url}, sourceVersion="main",
    artifacts={"type": "S3", "location": "build-artifacts", "packaging": "ZIP", "name": "demo.zip", "namespaceType": "BUILD_ID"},
    environment=ENV, serviceRole=ROLE,
)["project"]
check(p["arn"] == f"arn:aws:codebuild:{REGION}:{ACCOUNT}:project/demo" and p["timeoutInMinutes"] == 60, f"create_project {p}")
expect_error("ResourceAlreadyExistsException", cb.create_project, name="demo", source={"type": "NO_SOURCE", "buildspec": "version: 0.2"},
             artifacts={"type": "NO_ARTIFACTS"}, environment=ENV, serviceRole=ROLE)
expect_error("InvalidInputException", cb.create_project, name="nosrc", source={"type": "NO_SOURCE"},
             artifacts={"type": "NO_ARTIFACTS"}, environment=ENV, serviceRole=ROLE)
expect_error("InvalidInputException", cb.create_project, name="-bad", source={"type": "NO_SOURCE", "buildspec": "version: 0.2"},
             artifacts={"type": "NO_ARTIFACTS"}, environment=ENV, serviceRole=ROLE)
got = cb.batch_get_projects(names=["demo", "missing", p["arn"]])
check(len(got["projects"]) == 2 and got["projectsNotFound"] == ["missing"], "batch_get_projects by name and ARN")

started = cb.start_build(projectName="demo")["build"]
check(started["buildStatus"] == "IN_PROGRESS" and started["buildNumber"] == 1, f"start_build {started['currentPhase']}")
check(started["id"].startswith("demo:") and started["arn"].endswith(started["id"]), "build id and ARN")
b = wait(started["id"])
want = [("SUBMITTED", "SUCCEEDED"), ("QUEUED", "SUCCEEDED"), ("PROVISIONING", "SUCCEEDED"), ("DOWNLOAD_SOURCE", "SUCCEEDED"),
        ("INSTALL", "SUCCEEDED"), ("PRE_BUILD", "SUCCEEDED"), ("BUILD", "FAILED"), ("POST_BUILD", "SUCCEEDED"),
        ("UPLOAD_ARTIFACTS", "SUCCEEDED"), ("FINALIZING", "SUCCEEDED"), ("COMPLETED", None)]
check(phases(b) == want, f"phase sequence {phases(b)}")
check(b["buildStatus"] == "FAILED" and b["currentPhase"] == "COMPLETED", "a failed BUILD fails the build")
ctx = [p for p in b["phases"] if p["phaseType"] == "BUILD"][0]["contexts"][0]
check(ctx["statusCode"] == "COMMAND_EXECUTION_ERROR" and "Error while executing command: false. Reason: exit status 1" in ctx["message"], f"context {ctx}")
check(b["resolvedSourceVersion"] == commit_id, "resolved source version is the commit")
exported = {e["name"]: e["value"] for e in b["exportedEnvironmentVariables"]}
check(exported == {"IMAGE_TAG": "v-1.2.3", "GREETING": "hello from the buildspec"}, f"exported variables {exported}")
text = log_text(b)
for needle in ["Entering phase BUILD", "Running command echo \"building $IMAGE_TAG in $(basename $(pwd))\"", "building v-1.2.3 in app",
               "pyver=3.10 host=*** password=***", "finally ran", "succeeding=0", "Phase complete: BUILD State: FAILED",
               f"arn:aws:sts::{ACCOUNT}:assumed-role/codebuild-demo/AWSCodeBuild-"]:
    check(needle in text, f"log has {needle!r}:\n{text}")
check("s3cr3t-pw" not in text and "db.internal" not in text, "secrets masked in logs")
uuid = b["id"].split(":", 1)[1]
check(b["artifacts"]["location"] == f"arn:aws:s3:::build-artifacts/{uuid}/demo.zip", f"artifact location {b['artifacts']}")
obj = s3.get_object(Bucket="build-artifacts", Key=f"{uuid}/demo.zip")
zf = zipfile.ZipFile(io.BytesIO(obj["Body"].read()))
check(sorted(zf.namelist()) == ["VERSION", "out.txt"] and zf.read("out.txt") == b"artifact v-1.2.3\n", f"artifact zip {zf.namelist()}")
check(obj["Metadata"]["codebuild-content-md5"] == b["artifacts"]["md5sum"], "artifact md5 recorded")

# --- failure rules, overrides, stop, timeout, YAML errors --------------------------------------
def run(buildspec, **kw):
    return wait(cb.start_build(projectName="demo", buildspecOverride=buildspec, artifactsOverride={"type": "NO_ARTIFACTS"}, **kw)["build"]["id"])


b = run("version: 0.2\nphases:\n  pre_build:\n    commands:\n      - exit 3\n  build:\n    commands:\n      - echo never\n")
check([p for p, _ in phases(b)] == ["SUBMITTED", "QUEUED", "PROVISIONING", "DOWNLOAD_SOURCE", "INSTALL", "PRE_BUILD", "FINALIZING", "COMPLETED"],
      f"PRE_BUILD failure skips to FINALIZING: {phases(b)}")
b = run("version: 0.2\nphases:\n  build:\n    commands:\n      - echo ok\n", environmentVariablesOverride=[{"name": "X", "value": "1"}])
check(b["buildStatus"] == "SUCCEEDED" and b["buildNumber"] >= 3, "a clean build succeeds")
b = run("version: 0.2\nphases:\n  build:\n    commands:\n      - echo \"$GREETING $FROM_PROJECT\"\n",
        environmentVariablesOverride=[{"name": "FROM_PROJECT", "value": "over"}, {"name": "PW", "value": "demo/db:user", "type": "SECRETS_MANAGER"}])
check("over" in log_text(b), "override variables reach commands")
b = run(f"version: 0.2\nenv:\n  git-credential-helper: yes\n  exported-variables:\n    - AWS_REGION\n    - OK_VAR\nphases:\n  build:\n    commands:\n      - git clone -q {url} cloned && test -f cloned/buildspec.yml\n      - OK_VAR=yes\n")
check(b["buildStatus"] == "SUCCEEDED", f"git through the credential helper with the build's temporary credentials: {log_text(b)[-600:]}")
check([e["name"] for e in b.get("exportedEnvironmentVariables", [])] == ["OK_VAR"], "AWS_* variables are not exported")
b = run("version: 0.2\nphases:\n  build:\n    commands:\n      - echo to-s3-logs\n",
        logsConfigOverride={"cloudWatchLogs": {"status": "ENABLED"}, "s3Logs": {"status": "ENABLED", "location": "build-artifacts/logs"}})
uuid2 = b["id"].split(":", 1)[1]
check(b["logs"]["s3LogsArn"] == f"arn:aws:s3:::build-artifacts/logs/{uuid2}.gz", f"s3 logs arn {b['logs']}")
import gzip
gz = gzip.decompress(s3.get_object(Bucket="build-artifacts", Key=f"logs/{uuid2}.gz")["Body"].read()).decode()
check("to-s3-logs" in gz and "Entering phase BUILD" in gz, "the log is also in S3, gzipped")
b = run("version: 0.2\nphases:\n  build:\n    commands:\n      - echo: broken\n")
dl = [p for p in b["phases"] if p["phaseType"] == "DOWNLOAD_SOURCE"][0]
check(dl["phaseStatus"] == "FAILED" and dl["contexts"][0]["statusCode"] == "YAML_FILE_ERROR", f"YAML error in DOWNLOAD_SOURCE {dl}")
b = run("version: 0.9\nphases:\n  build:\n    commands:\n      - echo x\n")
check(b["buildStatus"] == "FAILED" and [p for p in b["phases"] if p["phaseType"] == "DOWNLOAD_SOURCE"][0]["contexts"][0]["statusCode"] == "YAML_FILE_ERROR", "wrong version")
b = run("version: 0.2\nenv:\n  parameter-store:\n    X: /does/not/exist\nphases:\n  build:\n    commands:\n      - echo x\n")
dl = [p for p in b["phases"] if p["phaseType"] == "DOWNLOAD_SOURCE"][0]
check(dl["contexts"][0]["statusCode"] == "CLIENT_ERROR" and "/does/not/exist" in dl["contexts"][0]["message"], f"missing parameter {dl}")
long = cb.start_build(projectName="demo", buildspecOverride="version: 0.2\nphases:\n  build:\n    commands:\n      - echo started\n      - sleep 60\n",
                      artifactsOverride={"type": "NO_ARTIFACTS"})["build"]["id"]
deadline = time.time() + 20
while cb.batch_get_builds(ids=[long])["builds"][0]["currentPhase"] != "BUILD" and time.time() < deadline:
    time.sleep(0.1)
t0 = time.time()
cb.stop_build(id=long)
b = wait(long, 20)
check(b["buildStatus"] == "STOPPED" and time.time() - t0 < 10, f"stop_build {b['buildStatus']}")
check([p for p in b["phases"] if p["phaseType"] == "BUILD"][0]["phaseStatus"] == "STOPPED", "the running phase is STOPPED")

# --- secondary sources and artifacts, S3 caches ------------------------------------------------
with tempfile.TemporaryDirectory() as tmp:
    lib_url = cc.create_repository(repositoryName="shared-lib")["repositoryMetadata"]["cloneUrlHttp"]
    work = os.path.join(tmp, "lib")
    git("clone", "-q", lib_url, work)
    open(os.path.join(work, "lib.txt"), "w").write("library v7")
    git("add", ".", cwd=work)
    git("commit", "-q", "-m", "lib", cwd=work)
    git("push", "-q", "origin", "HEAD:main", cwd=work)
MULTI = """version: 0.2
phases:
  build:
    commands:
      - cat $CODEBUILD_SRC_DIR_lib/lib.txt
      - if test -f deps/cached.txt; then echo "cache hit $(cat deps/cached.txt)"; else echo "cache miss"; fi
      - mkdir -p deps out extra && echo v1 > deps/cached.txt && echo p > out/p.txt && echo e > extra/e.txt
artifacts:
  files:
    - '**/*'
  base-directory: out
  secondary-artifacts:
    extra:
      files:
        - e.txt
      base-directory: extra
cache:
  paths:
    - 'deps/**/*'
"""
cb.create_project(
    name="multi", source={"type": "NO_SOURCE", "buildspec": MULTI},
    secondarySources=[{"type": "CODECOMMIT", "location": lib_url, "sourceIdentifier": "lib"}],
    secondarySourceVersions=[{"sourceIdentifier": "lib", "sourceVersion": "main"}],
    artifacts={"type": "S3", "location": "build-artifacts", "name": "primary.zip", "packaging": "ZIP"},
    secondaryArtifacts=[{"type": "S3", "location": "build-artifacts", "name": "extra", "packaging": "NONE", "artifactIdentifier": "extra"}],
    cache={"type": "S3", "location": "build-artifacts/caches"},
    environment=ENV, serviceRole=ROLE,
)
b = wait(cb.start_build(projectName="multi")["build"]["id"])
text = log_text(b)
check(b["buildStatus"] == "SUCCEEDED" and "library v7" in text and "cache miss" in text, f"secondary source, cold cache: {text}")
check(b["secondaryArtifacts"][0]["artifactIdentifier"] == "extra", f"secondary artifacts {b.get('secondaryArtifacts')}")
check(s3.get_object(Bucket="build-artifacts", Key="extra/e.txt")["Body"].read() == b"e\n", "secondary artifact uploaded as files")
check(zipfile.ZipFile(io.BytesIO(s3.get_object(Bucket="build-artifacts", Key="primary.zip")["Body"].read())).namelist() == ["p.txt"], "primary zip")
b = wait(cb.start_build(projectName="multi")["build"]["id"])
check("cache hit v1" in log_text(b), "the cache is restored in the next build")
cb.invalidate_project_cache(projectName="multi")
b = wait(cb.start_build(projectName="multi")["build"]["id"])
check("cache miss" in log_text(b), "invalidated cache is gone")

# --- batch builds: a build graph -----------------------------------------------------------
GRAPH = """version: 0.2
batch:
  build-graph:
    - identifier: lint
    - identifier: test
      depend-on:
        - lint
      env:
        variables:
          SUITE: unit
    - identifier: flaky
      ignore-failure: yes
      env:
        variables:
          FAIL: "1"
phases:
  build:
    commands:
      - echo "batch build $CODEBUILD_BATCH_BUILD_IDENTIFIER suite=$SUITE"
      - test "$FAIL" != 1 && test "$CODEBUILD_BATCH_BUILD_IDENTIFIER$LINT_FAILS" != lint1
"""
cb.create_project(name="graph", source={"type": "NO_SOURCE", "buildspec": GRAPH}, artifacts={"type": "NO_ARTIFACTS"},
                  environment=ENV, serviceRole=ROLE)


def wait_batch(bid, timeout=90):
    deadline = time.time() + timeout
    while time.time() < deadline:
        bb = cb.batch_get_build_batches(ids=[bid])["buildBatches"][0]
        if bb.get("complete"):
            return bb
        time.sleep(0.3)
    raise AssertionError(f"batch {bid} did not finish")


bb = cb.start_build_batch(projectName="graph", environmentVariablesOverride=[{"name": "LINT_FAILS", "value": "0"}])["buildBatch"]
check(bb["buildBatchStatus"] == "IN_PROGRESS" and bb["buildBatchNumber"] == 1, f"start_build_batch {bb.get('currentPhase')}")
bb = wait_batch(bb["id"])
check(bb["buildBatchStatus"] == "SUCCEEDED", f"graph succeeds with an ignored failure: {bb['buildBatchStatus']} {bb.get('phases')}")
check([p["phaseType"] for p in bb["phases"]] == ["SUBMITTED", "DOWNLOAD_BATCHSPEC", "IN_PROGRESS", "SUCCEEDED"], f"batch phases {bb['phases']}")
groups = {g["identifier"]: g for g in bb["buildGroups"]}
check(set(groups) == {"lint", "test", "flaky"} and groups["test"]["dependsOn"] == ["lint"], f"groups {groups}")
check(groups["flaky"]["currentBuildSummary"]["buildStatus"] == "FAILED" and groups["test"]["currentBuildSummary"]["buildStatus"] == "SUCCEEDED", "group statuses")
lint = cb.batch_get_builds(ids=[groups["lint"]["currentBuildSummary"]["arn"]])["builds"][0]
test_b = cb.batch_get_builds(ids=[groups["test"]["currentBuildSummary"]["arn"]])["builds"][0]
check(test_b["startTime"] >= lint["endTime"], "test starts after lint finished")
check(test_b["buildBatchArn"] == bb["arn"] and "batch build test suite=unit" in log_text(test_b), "batch identifier and variables reach the build")
bb2 = wait_batch(cb.start_build_batch(projectName="graph", environmentVariablesOverride=[{"name": "LINT_FAILS", "value": "1"}])["buildBatch"]["id"])
groups2 = {g["identifier"]: g for g in bb2["buildGroups"]}
check(bb2["buildBatchStatus"] == "FAILED" and "currentBuildSummary" not in groups2["test"], f"a failed dependency stops its dependents {groups2}")
check(cb.list_build_batches_for_project(projectName="graph")["ids"] == [bb2["id"], bb["id"]], "batches newest first")
check(cb.list_build_batches(filter={"status": "FAILED"})["ids"] == [bb2["id"]], "list_build_batches by status")
r = cb.retry_build_batch(id=bb2["id"])["buildBatch"]
check(r["buildBatchNumber"] == 3, "retry_build_batch starts a new batch")
wait_batch(r["id"])
d = cb.delete_build_batch(id=bb["id"])
check(d["statusCode"] == "BATCH_DELETED" and len(d["buildsDeleted"]) == 3, f"delete_build_batch {d}")
check(cb.batch_get_build_batches(ids=[bb["id"]])["buildBatchesNotFound"] == [bb["id"]], "batch gone")
bad = wait_batch(cb.start_build_batch(projectName="demo", buildspecOverride="version: 0.2\nphases:\n  build:\n    commands:\n      - echo\n")["buildBatch"]["id"])
check(bad["buildBatchStatus"] == "FAILED", "a buildspec without a batch section fails the batch")

ids = cb.list_builds_for_project(projectName="demo")["ids"]
check(ids[0] == long and len(ids) >= 8, "newest build first")
check(cb.list_builds_for_project(projectName="demo", sortOrder="ASCENDING")["ids"][0] == started["id"], "ascending by number")
check(set(ids) <= set(cb.list_builds()["ids"]), "list_builds")
expect_error("ResourceNotFoundException", cb.start_build, projectName="nope")
expect_error("ResourceNotFoundException", cb.list_builds_for_project, projectName="nope")
nf = cb.batch_get_builds(ids=["demo:00000000-0000-0000-0000-000000000000"])
check(nf["buildsNotFound"] == ["demo:00000000-0000-0000-0000-000000000000"], "builds not found")
r = cb.retry_build(id=started["id"])["build"]
check(r["id"] != started["id"] and r["projectName"] == "demo", "retry_build starts a new build")
wait(r["id"])
d = cb.batch_delete_builds(ids=[started["id"]])
check(d["buildsDeleted"] == [started["id"]], "batch_delete_builds")
# --- policies, source credentials, images, visibility ----------------------------------------
policy = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "codebuild:BatchGetProjects", "Resource": "*"}]}'
cb.put_resource_policy(policy=policy, resourceArn=p["arn"])
check(cb.get_resource_policy(resourceArn=p["arn"])["policy"] == policy, "resource policy stored")
cb.delete_resource_policy(resourceArn=p["arn"])
expect_error("ResourceNotFoundException", cb.get_resource_policy, resourceArn=p["arn"])
expect_error("InvalidInputException", cb.put_resource_policy, policy="{not json", resourceArn=p["arn"])
expect_error("ResourceNotFoundException", cb.put_resource_policy, policy=policy, resourceArn=p["arn"] + "-missing")
cred = cb.import_source_credentials(token="ghp_secret_token_value", serverType="GITHUB", authType="PERSONAL_ACCESS_TOKEN")["arn"]
listed = cb.list_source_credentials()["sourceCredentialsInfos"]
check([(c["arn"], c["serverType"], c["authType"]) for c in listed] == [(cred, "GITHUB", "PERSONAL_ACCESS_TOKEN")], f"source credentials {listed}")
expect_error("ResourceAlreadyExistsException", cb.import_source_credentials, token="t", serverType="GITHUB", authType="PERSONAL_ACCESS_TOKEN", shouldOverwrite=False)
cb.delete_source_credentials(arn=cred)
check(cb.list_source_credentials()["sourceCredentialsInfos"] == [], "source credentials deleted")
images = cb.list_curated_environment_images()["platforms"]
check(any(i["name"] == "aws/codebuild/standard:7.0" for pl in images for l in pl["languages"] for i in l["images"]), "curated images")
check(cb.list_shared_projects()["projects"] == [] and cb.list_shared_report_groups()["reportGroups"] == [], "nothing is shared in one account")
vis = cb.update_project_visibility(projectArn=p["arn"], projectVisibility="PUBLIC_READ")
check(vis["projectVisibility"] == "PUBLIC_READ" and vis["publicProjectAlias"], f"visibility {vis}")
check(cb.batch_get_projects(names=["demo"])["projects"][0]["projectVisibility"] == "PUBLIC_READ", "visibility stored")

cb.update_project(name="demo", description="updated", timeoutInMinutes=5)
check(cb.batch_get_projects(names=["demo"])["projects"][0]["description"] == "updated", "update_project")
check("demo" in cb.list_projects()["projects"], "list_projects")
cb.delete_project(name="demo")
check(cb.batch_get_projects(names=["demo"])["projectsNotFound"] == ["demo"], "delete_project")
expect_error("NotImplementedException", cb.list_fleets)
done()
