"""The README's quickstart (tools/quickstart.py) against a spawned server, as a user runs it:
it must end with the app served by every host, from the commit it pushed, and a later commit
must deploy again. The hosts and their app servers are stopped afterwards.

Run by crates/ferry/tests/e2e_codepipeline.rs. Exits non-zero on the first failed check."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import boto3

from helpers import check, done

URL = os.environ["FERRY_URL"]
DATA = os.environ["FERRY_DATA_DIR"]
TOOL = os.path.join(os.path.dirname(__file__), "..", "..", "tools", "quickstart.py")


def free_port_pair():
    while True:
        with socket.socket() as a:
            a.bind(("127.0.0.1", 0))
            port = a.getsockname()[1]
        try:
            with socket.socket() as b:
                b.bind(("127.0.0.1", port + 1))
            return port
        except OSError:
            continue


port = free_port_pair()
run = subprocess.run([sys.executable, TOOL, "--endpoint", URL, "--data-dir", DATA, "--ferry", os.environ["FERRY_BIN"],
                      "--port", str(port), "--approval"], capture_output=True, text=True, timeout=300)
out = run.stdout
agents = [int(p) for p in re.findall(r"agent pid (\d+)", out)]
hosts_dir = os.path.abspath(os.path.join(DATA, "..", "quickstart-hosts"))
try:
    check(run.returncode == 0, f"the quickstart succeeds: {out[-2000:]} {run.stderr[-2000:]}")
    check("4/4 stages" in out and "deployed in" in out, "it draws the pipeline's progress to the end")
    cc = boto3.client("codecommit", endpoint_url=URL, region_name="us-east-1")
    cp = boto3.client("codepipeline", endpoint_url=URL, region_name="us-east-1")
    head = cc.get_branch(repositoryName="quickstart", branchName="main")["branch"]["commitId"]
    for p in (port, port + 1):
        check(f"http://127.0.0.1:{p}/" in out, f"it prints where host on {p} serves")
        page = urllib.request.urlopen(f"http://127.0.0.1:{p}/", timeout=5).read().decode()
        check(f"Release {head}" in page, f"the host on {p} serves the pushed commit: {page}")
    page = cc.get_file(repositoryName="quickstart", filePath="app/index.html")["fileContent"].decode()
    cc.put_file(repositoryName="quickstart", branchName="main", filePath="app/index.html", parentCommitId=head,
                fileContent=page.replace("Hello from Ferry", "Hello again").encode())
    deadline = time.time() + 60
    approved = False
    while time.time() < deadline:
        execs = cp.list_pipeline_executions(pipelineName="quickstart")["pipelineExecutionSummaries"]
        if len(execs) == 2 and execs[0]["status"] != "InProgress":
            break
        for s in cp.get_pipeline_state(name="quickstart")["stageStates"]:
            token = s["actionStates"][0].get("latestExecution", {}).get("token") if s["stageName"] == "Approve" else None
            if token and not approved:
                cp.put_approval_result(pipelineName="quickstart", stageName="Approve", actionName="Approval",
                                       result={"summary": "ok", "status": "Approved"}, token=token)
                approved = True
        time.sleep(0.1)
    check(execs[0]["status"] == "Succeeded", f"a later commit deploys again: {execs[0]['status']}")
    page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).read().decode()
    check("Hello again" in page, "the new page is served")
    done()
finally:
    for pid in agents:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    for i in (1, 2):
        try:
            os.kill(int(open(os.path.join(hosts_dir, f"host{i}", "app.pid")).read()), signal.SIGTERM)
        except (OSError, ValueError):
            pass
