"""CodeBuild on the local executor, measured end to end through the API:
  1. StartBuild → first command running: the first command writes the wall clock (ns) to a
     file; the latency is that minus the time just before the StartBuild call (median of N)
  2. 20 concurrent trivial builds (a project with concurrentBuildLimit 20): wall time from the
     first StartBuild to the last completion, against running the same command list directly
     with `sh` 20 times in parallel (the overhead ratio)
  3. log lag: a command prints the wall clock and sleeps; the client polls GetLogEvents and
     records when the line appears (median of N)

moto has nothing to compare with (its builds never run), and AWS CodeBuild spends 90 s or more
in PROVISIONING alone, so the numbers are absolute. Starts its own `ferry serve` on 127.0.0.1.
Usage: codebuild.py FERRY_BIN WORKDIR   (BENCH_CB_RUNS sets N, default 20)"""

import concurrent.futures
import os
import statistics
import subprocess
import sys
import time
import urllib.request

import boto3

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

    # 2. 20 concurrent trivial builds vs the same commands directly
    cmds = ["echo build", "ls >/dev/null", "true"]
    project("many", "version: 0.2\nphases:\n  build:\n    commands:\n" + "".join(f"      - {c}\n" for c in cmds), limit=20)
    t0 = time.time()
    ids = [cb.start_build(projectName="many")["build"]["id"] for _ in range(20)]
    wait(ids)
    ferry_s = time.time() - t0
    done = cb.batch_get_builds(ids=ids)["builds"]
    span_s = (max(b["endTime"] for b in done) - min(b["startTime"] for b in done)).total_seconds()

    def direct(_):
        for c in cmds:
            subprocess.run(["sh", "-c", c], check=True, stdout=subprocess.DEVNULL)

    t0 = time.time()
    with concurrent.futures.ThreadPoolExecutor(20) as ex:
        list(ex.map(direct, range(20)))
    direct_s = time.time() - t0
    print(f"20 concurrent builds: {ferry_s * 1000:.0f} ms through the API from a boto3 client ({span_s * 1000:.0f} ms from the first build's start to the last one's end on the server) vs {direct_s * 1000:.0f} ms running the commands directly")

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
