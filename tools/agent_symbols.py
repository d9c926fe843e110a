#!/usr/bin/env python3
"""Records which functions `ferry agent` runs, for the linker's symbol ordering.

The agent is a code path of the big `ferry` binary; a page of machine code counts in a
process's RSS once any function on it (or near it: the kernel maps 64 KB around each fault)
has run. Grouping the functions the agent runs at the start of `.text` keeps its resident
code small. This script runs a release `ferry serve`, then one `ferry agent` under
`valgrind --tool=callgrind` through what an agent does (register with a token, poll, two
deployments with files and every hook, an idle long poll, shutdown), and writes the mangled
names of every function it ran, one per line, to crates/ferry/agent-symbols.order, which
crates/ferry/build.rs hands to the linker (`--symbol-ordering-file`; names that no longer
exist are ignored, so a stale list costs only memory, never correctness).

Usage: tools/agent_symbols.py target/release/ferry [OUTPUT]"""

import io
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import zipfile

import boto3

BIN = os.path.abspath(sys.argv[1])
OUT = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), "..", "crates", "ferry", "agent-symbols.order")
WORK = tempfile.mkdtemp(prefix="ferry-agent-symbols-")
AKID, SECRET = "AKIAFERRYSYMBOLS0001", "symbolsSecret0000000000000000000000000001"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


port = free_port()
url = f"http://127.0.0.1:{port}"
env = dict(os.environ, FERRY_ROOT_ACCESS_KEY_ID=AKID, FERRY_ROOT_SECRET_ACCESS_KEY=SECRET, FERRY_LOG="warn",
           AWS_ACCESS_KEY_ID=AKID, AWS_SECRET_ACCESS_KEY=SECRET, AWS_REGION="us-east-1")
data = os.path.join(WORK, "data")
server = subprocess.Popen([BIN, "serve", "--data-dir", data, "--listen", f"127.0.0.1:{port}"], env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
agent = None
try:
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    cd = boto3.client("codedeploy", endpoint_url=url, region_name="us-east-1", aws_access_key_id=AKID, aws_secret_access_key=SECRET)
    s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id=AKID, aws_secret_access_key=SECRET)
    token = subprocess.run([BIN, "admin", "--data-dir", data, "create-agent-token"], env=env, capture_output=True,
                           text=True, check=True).stdout.strip()
    root = os.path.join(WORK, "root")
    profile = os.path.join(WORK, "callgrind.out")
    agent_env = {k: v for k, v in env.items() if not k.startswith("AWS_")}
    agent_env.update(HOME=WORK, FERRY_LOG="info")
    agent = subprocess.Popen(["valgrind", "--tool=callgrind", "--demangle=no", f"--callgrind-out-file={profile}",
                              BIN, "agent", "--endpoint", url, "--name", "symbols", "--root", root, "--allow-root", root,
                              "--tag", "role=symbols", "--registration-token", token],
                             env=agent_env, stdout=open(os.path.join(WORK, "agent.log"), "w"), stderr=subprocess.STDOUT)
    deadline = time.time() + 120
    while "symbols" not in cd.list_on_premises_instances(registrationStatus="Registered")["instanceNames"]:
        if time.time() > deadline:
            raise SystemExit("the agent did not register")
        time.sleep(0.5)
    s3.create_bucket(Bucket="symbols")
    cd.create_application(applicationName="symbols")
    cd.create_deployment_group(applicationName="symbols", deploymentGroupName="g", serviceRoleArn="arn:aws:iam::123456789012:role/cd",
                               onPremisesInstanceTagFilters=[{"Key": "role", "Value": "symbols", "Type": "KEY_AND_VALUE"}])
    hooks = "".join(f"  {h}:\n    - location: hook.sh\n      timeout: 120\n" for h in
                    ("ApplicationStop", "BeforeInstall", "AfterInstall", "ApplicationStart", "ValidateService"))
    for n in (1, 2):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("appspec.yml", f"version: 0.0\nos: linux\nfiles:\n  - source: site\n    destination: {root}/site\n"
                       f"permissions:\n  - object: {root}/site\n    mode: 755\n    type:\n      - directory\nhooks:\n{hooks}")
            info = zipfile.ZipInfo("hook.sh")
            info.external_attr = 0o100755 << 16
            z.writestr(info, "#!/bin/sh\necho \"$LIFECYCLE_EVENT of $DEPLOYMENT_ID\"\n")
            z.writestr("site/index.html", f"version {n}\n")
        etag = s3.put_object(Bucket="symbols", Key=f"r{n}.zip", Body=buf.getvalue())["ETag"].strip('"')
        dep = cd.create_deployment(applicationName="symbols", deploymentGroupName="g", revision={
            "revisionType": "S3", "s3Location": {"bucket": "symbols", "key": f"r{n}.zip", "bundleType": "zip", "eTag": etag}})["deploymentId"]
        deadline = time.time() + 300
        while cd.get_deployment(deploymentId=dep)["deploymentInfo"]["status"] not in ("Succeeded", "Failed", "Stopped"):
            if time.time() > deadline:
                raise SystemExit(f"{dep} did not finish")
            time.sleep(0.5)
    time.sleep(25)  # one idle long poll
    agent.send_signal(signal.SIGTERM)
    agent.wait(timeout=120)
    agent = None
    names, seen = [], set()
    for line in open(profile, errors="replace"):
        m = re.match(r"^c?fn=\(\d+\)\s+(\S+)", line)
        if m and m.group(1).startswith("_ZN") and m.group(1) not in seen:
            seen.add(m.group(1))
            names.append(m.group(1))
    with open(OUT, "w") as f:
        f.write("\n".join(names) + "\n")
    print(f"{len(names)} functions written to {OUT}")
finally:
    if agent:
        agent.kill()
    server.terminate()
    server.wait()
    shutil.rmtree(WORK, ignore_errors=True)
