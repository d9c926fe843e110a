#!/usr/bin/env python3
"""The push-to-production loop on one machine, against a running `ferry serve`:

  python3 tools/quickstart.py [--endpoint http://127.0.0.1:4590] [--data-dir ferry-data]
                              [--agents 2] [--port 8081] [--approval] [--ferry target/release/ferry]

It creates a repository `quickstart` holding a small web app (a page and a tiny Python
server), a CodeBuild project that stamps the commit into the page, a CodeDeploy application
whose deployment group is the local hosts, starts one `ferry agent` per host (registered with a
one-use token from `ferry admin create-agent-token`, each with its own root and port), and a
pipeline Source -> Build -> (Approval) -> Deploy. Creating the pipeline starts it; the script
draws its progress until the app is deployed and prints where it is served. The agents keep
running: push to the repository (the clone URL is printed) and the pipeline deploys again.
Needs boto3 (`pip install boto3`)."""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request

import boto3

p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
p.add_argument("--endpoint", default="http://127.0.0.1:4590")
p.add_argument("--data-dir", default="ferry-data")
p.add_argument("--agents", type=int, default=2)
p.add_argument("--port", type=int, default=8081, help="the first host's app port")
p.add_argument("--approval", action="store_true", help="add a manual approval before Deploy (approved here)")
p.add_argument("--ferry", default=shutil.which("ferry") or "target/release/ferry", help="the ferry binary")
args = p.parse_args()

# The root key Ferry generated on its first start, else the usual AWS credentials.
kw = dict(endpoint_url=args.endpoint, region_name="us-east-1")
generated = os.path.join(args.data_dir, "root-credentials")
if os.path.exists(generated):
    with open(generated) as f:
        creds = dict(line.strip().split(" = ", 1) for line in f if " = " in line)
    kw.update(aws_access_key_id=creds["aws_access_key_id"], aws_secret_access_key=creds["aws_secret_access_key"])
cc, cb, cd, cp, sts = (boto3.client(s, **kw) for s in ("codecommit", "codebuild", "codedeploy", "codepipeline", "sts"))
account = sts.get_caller_identity()["Account"]
role = f"arn:aws:iam::{account}:role/quickstart"
work = os.path.abspath(os.path.join(args.data_dir, "..", "quickstart-hosts"))

SERVER = """import http.server, os, sys
os.chdir(os.path.dirname(os.path.abspath(__file__)))
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), http.server.SimpleHTTPRequestHandler).serve_forever()
"""
PAGE = "<!doctype html><title>Ferry quickstart</title><h1>Hello from Ferry</h1><p>Release COMMIT, built by BUILD.</p>\n"
BUILDSPEC = """version: 0.2
phases:
  build:
    commands:
      - mkdir -p out && cp -r appspec.yml scripts app out/
      - sed -i "s/COMMIT/$COMMIT_ID/; s/BUILD/$CODEBUILD_BUILD_ID/" out/app/index.html
artifacts:
  base-directory: out
  files:
    - '**/*'
"""
# No `files` section: several hosts share this machine, so each serves the app straight from
# its own copy of the revision (the agent keeps it under its root).
APPSPEC = """version: 0.0
os: linux
hooks:
  ApplicationStop:
    - location: scripts/stop.sh
  ApplicationStart:
    - location: scripts/start.sh
  ValidateService:
    - location: scripts/check.sh
      timeout: 30
"""
# QUICKSTART_PORT and QUICKSTART_PIDFILE come from each agent's environment.
START = """#!/bin/sh
cd "$(dirname "$0")/../app" || exit 1
setsid nohup python3 server.py "$QUICKSTART_PORT" > /dev/null 2>&1 < /dev/null &
echo $! > "$QUICKSTART_PIDFILE"
"""
STOP = """#!/bin/sh
[ -f "$QUICKSTART_PIDFILE" ] && kill "$(cat "$QUICKSTART_PIDFILE")" 2>/dev/null
rm -f "$QUICKSTART_PIDFILE"
exit 0
"""
CHECK = """#!/bin/sh
for i in $(seq 1 50); do
  python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$QUICKSTART_PORT/')" 2>/dev/null && exit 0
  sleep 0.1
done
echo "the app does not answer on port $QUICKSTART_PORT"
exit 1
"""


def step(text):
    print(f"==> {text}", flush=True)


step("a repository, quickstart, holding a small web app")
try:
    cc.create_repository(repositoryName="quickstart", repositoryDescription="Ferry quickstart web app")
except cc.exceptions.RepositoryNameExistsException:
    sys.exit("a repository named quickstart exists already: the quickstart runs once per data dir")
files = {"app/index.html": PAGE, "app/server.py": SERVER, "buildspec.yml": BUILDSPEC, "appspec.yml": APPSPEC,
         "scripts/start.sh": START, "scripts/stop.sh": STOP, "scripts/check.sh": CHECK}
cc.create_commit(repositoryName="quickstart", branchName="main", authorName="Ferry Quickstart", email="quickstart@ferry.invalid",
                 commitMessage="A small web app", putFiles=[
                     {"filePath": k, "fileContent": v.encode(), "fileMode": "EXECUTABLE" if k.endswith(".sh") else "NORMAL"}
                     for k, v in files.items()])

step("a build project, quickstart-build")
cb.create_project(name="quickstart-build", source={"type": "CODEPIPELINE"}, artifacts={"type": "CODEPIPELINE"}, serviceRole=role,
                  environment={"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0", "computeType": "BUILD_GENERAL1_SMALL"})

step(f"{args.agents} hosts, each a `ferry agent` with its own root and port")
token = subprocess.run([args.ferry, "admin", "--data-dir", args.data_dir, "create-agent-token", "--uses", str(args.agents)],
                       capture_output=True, text=True, check=True).stdout.strip()
hosts = []
for i in range(args.agents):
    root = os.path.join(work, f"host{i + 1}")
    os.makedirs(root, exist_ok=True)
    port = args.port + i
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(QUICKSTART_PORT=str(port), QUICKSTART_PIDFILE=os.path.join(root, "app.pid"), FERRY_LOG="warn")
    agent = subprocess.Popen([args.ferry, "agent", "--endpoint", args.endpoint, "--name", f"quickstart-host{i + 1}", "--root", root,
                              "--allow-root", root, "--tag", "app=quickstart", "--registration-token", token],
                             env=env, start_new_session=True, stdout=open(os.path.join(root, "agent.log"), "a"), stderr=subprocess.STDOUT)
    hosts.append((f"quickstart-host{i + 1}", port, agent.pid))
deadline = time.time() + 30
while len([n for n in cd.list_on_premises_instances(registrationStatus="Registered")["instanceNames"] if n.startswith("quickstart-")]) < args.agents:
    if time.time() > deadline:
        sys.exit(f"the agents did not register: see {work}/host*/agent.log")
    time.sleep(0.1)

step("an application with a deployment group of those hosts")
cd.create_application(applicationName="quickstart")
cd.create_deployment_group(applicationName="quickstart", deploymentGroupName="local", serviceRoleArn=role,
                           deploymentConfigName="CodeDeployDefault.OneAtATime",
                           onPremisesInstanceTagFilters=[{"Key": "app", "Value": "quickstart", "Type": "KEY_AND_VALUE"}])


def action(category, provider, config, ins=(), outs=(), namespace=None):
    a = {"name": provider if category != "Approval" else "Approval",
         "actionTypeId": {"category": category, "owner": "AWS", "provider": provider, "version": "1"},
         "configuration": config, "inputArtifacts": [{"name": n} for n in ins], "outputArtifacts": [{"name": n} for n in outs]}
    if namespace:
        a["namespace"] = namespace
    return a


stages = [
    {"name": "Source", "actions": [action("Source", "CodeCommit", {"RepositoryName": "quickstart", "BranchName": "main"},
                                          outs=["Source"], namespace="SourceVariables")]},
    {"name": "Build", "actions": [action("Build", "CodeBuild", {
        "ProjectName": "quickstart-build",
        "EnvironmentVariables": json.dumps([{"name": "COMMIT_ID", "value": "#{SourceVariables.CommitId}", "type": "PLAINTEXT"}])},
        ins=["Source"], outs=["Site"])]},
]
if args.approval:
    stages.append({"name": "Approve", "actions": [action("Approval", "Manual", {"CustomData": "Ship it?"})]})
stages.append({"name": "Deploy", "actions": [action("Deploy", "CodeDeploy", {"ApplicationName": "quickstart", "DeploymentGroupName": "local"},
                                                    ins=["Site"])]})
step("a pipeline, quickstart: " + " -> ".join(s["name"] for s in stages))
cp.create_pipeline(pipeline={"name": "quickstart", "roleArn": role, "pipelineType": "V2",
                             "artifactStore": {"type": "S3", "location": f"quickstart-artifacts-{account}"}, "stages": stages})

execution = None
while not execution:
    found = cp.list_pipeline_executions(pipelineName="quickstart")["pipelineExecutionSummaries"]
    execution = found[0]["pipelineExecutionId"] if found else None
    time.sleep(0.1)
started = time.time()
approved = False
while True:
    e = cp.get_pipeline_execution(pipelineName="quickstart", pipelineExecutionId=execution)["pipelineExecution"]
    states = cp.get_pipeline_state(name="quickstart")["stageStates"]
    done_stages = sum(1 for s in states if s.get("latestExecution", {}).get("pipelineExecutionId") == execution
                      and s["latestExecution"]["status"] == "Succeeded")
    current = next((s["stageName"] for s in states if s.get("latestExecution", {}).get("pipelineExecutionId") == execution
                    and s["latestExecution"]["status"] == "InProgress"), "")
    width = 30
    filled = width * done_stages // len(states)
    sys.stdout.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done_stages}/{len(states)} stages  {current:<10} {time.time() - started:5.1f} s")
    sys.stdout.flush()
    if args.approval and current == "Approve" and not approved:
        token = next(s for s in states if s["stageName"] == "Approve")["actionStates"][0].get("latestExecution", {}).get("token")
        if token:
            cp.put_approval_result(pipelineName="quickstart", stageName="Approve", actionName="Approval",
                                   result={"summary": "approved by the quickstart", "status": "Approved"}, token=token)
            approved = True
    if e["status"] not in ("InProgress", "Stopping"):
        break
    time.sleep(0.2)
print()
if e["status"] != "Succeeded":
    sys.exit(f"the pipeline ended {e['status']}: {e.get('statusSummary', '')} (see `aws codepipeline get-pipeline-state --name quickstart`)")
step(f"deployed in {time.time() - started:.1f} s; the app is served at:")
for name, port, pid in hosts:
    page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).read().decode()
    release = page.split("Release ")[1].split(",")[0] if "Release " in page else "?"
    print(f"    http://127.0.0.1:{port}/   ({name}, release {release[:12]}, agent pid {pid})")
print(f"""
Push to deploy again:  git clone {args.endpoint}/v1/repos/quickstart   (credentials: see the README)
Stop the hosts:        kill {' '.join(str(h[2]) for h in hosts)}""")
