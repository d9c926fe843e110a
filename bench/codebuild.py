"""CodeBuild on the local executor, measured end to end through the API:
  1. StartBuild → first command running: the first command writes the wall clock (ns) to a
     file; the latency is that minus the time just before the StartBuild call (median of N)
  2. 20 concurrent trivial builds (a project with concurrentBuildLimit 20): wall time from 20
     StartBuild requests sent at once to the last build's endTime, against running the same
     command list directly with `sh` from 20 threads at once (the overhead ratio; median of 7
     rounds after a warm-up round, which is reported apart)
  3. log lag: a command prints the wall clock and sleeps; the client polls GetLogEvents and
     records when the line appears (median of N)

moto has nothing to compare with (its builds never run), and AWS CodeBuild spends 90 s or more
in PROVISIONING alone, so the numbers are absolute. Starts its own `ferry serve` on 127.0.0.1.
Usage: codebuild.py FERRY_BIN WORKDIR   (BENCH_CB_RUNS sets N, default 20)"""

import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

binary, work = sys.argv[1], sys.argv[2]
N = int(os.environ.get("BENCH_CB_RUNS", "20"))
AKID = os.environ.get("AWS_ACCESS_KEY_ID", "AKIAFERRYBENCH000001")
SECRET = os.environ.get("AWS_SECRET_ACCESS_KEY", "benchSecret000000000000000000000000000001")
URL = "http://127.0.0.1:4596"
env = dict(os.environ, FERRY_ROOT_ACCESS_KEY_ID=AKID, FERRY_ROOT_SECRET_ACCESS_KEY=SECRET, FERRY_LOG="warn")
server = subprocess.Popen([binary, "serve", "--data-dir", os.path.join(work, "cb-ferry"), "--listen", "127.0.0.1:4596"],
                          env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    for _ in range(200):
        try:
            urllib.request.urlopen(URL + "/healthz", timeout=1).read()
            break
        except OSError:
            time.sleep(0.05)
    kw = dict(endpoint_url=URL, region_name="us-east-1", aws_access_key_id=AKID, aws_secret_access_key=SECRET)
    cb = boto3.client("codebuild", **kw)
    logs = boto3.client("logs", **kw)
    ENV = {"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0", "computeType": "BUILD_GENERAL1_SMALL"}

    def project(name, buildspec, limit=None):
        args = dict(name=name, source={"type": "NO_SOURCE", "buildspec": buildspec}, artifacts={"type": "NO_ARTIFACTS"},
                    environment=ENV, serviceRole="arn:aws:iam::123456789012:role/bench")
        if limit:
            args["concurrentBuildLimit"] = limit
        cb.create_project(**args)

    def wait(ids):
        pending = set(ids)
        while pending:
            for b in cb.batch_get_builds(ids=list(pending))["builds"]:
                if b["buildComplete"]:
                    if b["buildStatus"] != "SUCCEEDED":
                        raise SystemExit(f"build {b['id']} ended {b['buildStatus']}")
                    pending.discard(b["id"])
            time.sleep(0.01)

    # 1. StartBuild → first command
    marker = os.path.join(work, "cb-first")
    project("first", f"version: 0.2\nphases:\n  build:\n    commands:\n      - date +%s%N > {marker}\n")
    lat = []
    for _ in range(N):
        if os.path.exists(marker):
            os.remove(marker)
        t0 = time.time_ns()
        bid = cb.start_build(projectName="first")["build"]["id"]
        wait([bid])
        lat.append((int(open(marker).read()) - t0) / 1e6)
    print(f"StartBuild -> first command: median {statistics.median(lat):.1f} ms, p90 {sorted(lat)[int(0.9 * len(lat)) - 1]:.1f} ms over {N} builds")

    # 2. 20 concurrent trivial builds vs the same commands directly. Both sides start together
    # from 20 threads: the builds by 20 StartBuild requests signed beforehand and sent at
    # once on open connections (so boto3's own time per call is not counted), the direct
    # run by 20 threads each running the commands with `sh -c`. A build is over at its
    # endTime; the clocks are the same machine's.
    cmds = ["echo build", "ls >/dev/null", "true"]
    project("many", "version: 0.2\nphases:\n  build:\n    commands:\n" + "".join(f"      - {c}\n" for c in cmds), limit=20)
    creds = Credentials(AKID, SECRET)
    host = URL.split("//")[1]

    def signed_start():
        req = AWSRequest(method="POST", url=URL + "/", data=json.dumps({"projectName": "many"}),
                         headers={"Content-Type": "application/x-amz-json-1.1",
                                  "X-Amz-Target": "CodeBuild_20161006.StartBuild"})
        SigV4Auth(creds, "codebuild", "us-east-1").add_auth(req)
        return req.prepare()

    def together(work_of):
        """Runs work_of(i) in 20 threads released at once; returns the release time."""
        gate = threading.Barrier(21)
        out = [None] * 20

        def one(i):
            prepared = work_of(i)
            gate.wait()
            out[i] = prepared()
        threads = [threading.Thread(target=one, args=(i,)) for i in range(20)]
        for t in threads:
            t.start()
        gate.wait()
        t0 = time.time()
        for t in threads:
            t.join()
        return t0, out

    def start_one(_):
        req = signed_start()
        conn = http.client.HTTPConnection(host)
        conn.connect()

        def send():
            conn.request("POST", "/", body=req.body, headers=dict(req.headers))
            r = conn.getresponse()
            body = json.loads(r.read())
            if r.status != 200:
                raise SystemExit(f"StartBuild answered {r.status}: {body}")
            return body["build"]["id"]
        return send

    def direct_one(_):
        def run():
            for c in cmds:
                subprocess.run(["sh", "-c", c], check=True, stdout=subprocess.DEVNULL)
        return run

    rounds = []
    # The first round is a warm-up for both sides and is reported apart: Ferry's first builds
    # make their workspaces and start their shells; later ones find them kept and started.
    for _ in range(8):
        # Each side starts on a quiet machine: what Ferry does after its builds end
        # (workspaces emptied, shells started ahead for the next builds) is not left to run
        # beside the direct side, nor the other way round.
        time.sleep(0.3)
        t0, ids = together(start_one)
        wait(ids)
        done = cb.batch_get_builds(ids=ids)["builds"]
        ferry_s = max(b["endTime"] for b in done).timestamp() - t0
        time.sleep(0.3)
        t0, _ = together(direct_one)
        direct_s = time.time() - t0
        rounds.append((ferry_s / direct_s, ferry_s, direct_s))
    first, rounds = rounds[0], rounds[1:]
    ratio, ferry_s, direct_s = sorted(rounds)[len(rounds) // 2]
    print(f"20 concurrent builds: {ferry_s * 1000:.0f} ms from the StartBuild requests to the last build's end vs {direct_s * 1000:.0f} ms running the commands directly: {ratio:.2f}x (median of {len(rounds)} rounds after a warm-up round; all: {', '.join(f'{r[0]:.2f}' for r in rounds)}; the warm-up round, from a fresh server: {first[1] * 1000:.0f} vs {first[2] * 1000:.0f} ms, {first[0]:.2f}x)")

    # 3. log lag
    project("lag", "version: 0.2\nphases:\n  build:\n    commands:\n      - echo \"stamp $(date +%s%N)\"; sleep 1\n")
    lags = []
    for _ in range(max(5, N // 4)):
        b = cb.start_build(projectName="lag")["build"]
        group, stream = b["logs"]["groupName"], b["logs"]["streamName"]
        seen = None
        deadline = time.time() + 10
        while seen is None and time.time() < deadline:
            try:
                ev = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)["events"]
            except logs.exceptions.ResourceNotFoundException:
                ev = []
            for e in ev:
                if e["message"].startswith("stamp "):
                    seen = (time.time_ns() - int(e["message"].split()[1])) / 1e6
                    break
            time.sleep(0.005)
        if seen is not None:
            lags.append(seen)
        wait([b["id"]])
    print(f"log lag (command output -> GetLogEvents): median {statistics.median(lags):.0f} ms over {len(lags)} builds")
finally:
    server.terminate()
    server.wait()
