"""boto3 against a Ferry running as root with the local executor: `run-as` at the top of a
buildspec and per phase runs the commands as that user (a phase's own `run-as` wins), the
variables one user's commands export reach the other's, the source directory stays readable
but not writable to the other user (AWS grants read and execute), and an unknown user fails
the phase with a message that names it.

Run by crates/ferry/tests/e2e_codebuild.rs. Exits non-zero on the first failed check."""

import os
import time

import boto3

from helpers import check, done

URL = os.environ["FERRY_URL"]
ACCOUNT = os.environ["FERRY_ACCOUNT"]
cb = boto3.client("codebuild", endpoint_url=URL, region_name="us-east-1")
logs = boto3.client("logs", endpoint_url=URL, region_name="us-east-1")
ROLE = f"arn:aws:iam::{ACCOUNT}:role/cb"


def run(name, spec):
    cb.create_project(name=name, source={"type": "NO_SOURCE", "buildspec": spec}, artifacts={"type": "NO_ARTIFACTS"},
                      environment={"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0", "computeType": "BUILD_GENERAL1_SMALL"},
                      serviceRole=ROLE)
    bid = cb.start_build(projectName=name)["build"]["id"]
    deadline = time.time() + 60
    while time.time() < deadline:
        b = cb.batch_get_builds(ids=[bid])["builds"][0]
        if b["buildComplete"]:
            time.sleep(0.3)
            ev = logs.get_log_events(logGroupName=b["logs"]["groupName"], logStreamName=b["logs"]["streamName"], startFromHead=True)
            return b, "\n".join(e["message"] for e in ev["events"])
        time.sleep(0.1)
    raise AssertionError(f"{bid} did not finish")


check(os.geteuid() == 0, "this test runs as root, like the server it starts")
b, text = run("run-as", """version: 0.2
run-as: nobody
phases:
  install:
    run-as: root
    commands:
      - echo "install as $(id -u)"
      - export FROM_ROOT=yes
      - echo secret-ish > root-file
  build:
    commands:
      - echo "build as $(id -u) sees $FROM_ROOT"
      - export FROM_NOBODY=also
      - cat root-file
      - touch "$CODEBUILD_SRC_DIR/by-nobody" 2>/dev/null || echo cannot-write-source
  post_build:
    run-as: root
    commands:
      - echo "post as $(id -u) sees $FROM_NOBODY"
""")
check(b["buildStatus"] == "SUCCEEDED", f"the build succeeds: {b['buildStatus']} {[p.get('contexts') for p in b['phases'] if p.get('phaseStatus') == 'FAILED']}")
check("install as 0" in text, "a phase's own run-as wins over the top-level one")
check("build as 65534 sees yes" in text, f"the top-level run-as applies, and root's exports reach it: {text}")
check("secret-ish" in text and "cannot-write-source" in text, "the source is readable, not writable, to the other user")
check("post as 0 sees also" in text, "the other user's exports reach root's phase")
check("not supported" not in text, "no 'unsupported' notice any more")

b, text = run("run-as-unknown", """version: 0.2
phases:
  build:
    run-as: no-such-user-ferry
    commands:
      - echo never
""")
ctx = [p for p in b["phases"] if p["phaseType"] == "BUILD"][0]["contexts"][0]["message"]
check(b["buildStatus"] == "FAILED" and "no-such-user-ferry does not exist" in ctx, f"an unknown user fails the phase: {ctx}")
check("\nnever\n" not in f"\n{text}\n", "nothing ran")
done()
