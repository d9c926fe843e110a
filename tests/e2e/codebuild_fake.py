"""boto3 against a Ferry started with `--build-executor fake`: the build life cycle, phases,
logs and stop run the same while no command really executes (the fake executor's tiny
language: `echo`, `exit N`, `sleep S`), and a failed provisioning fails the build in
PROVISIONING.

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
MARKER = os.path.join(os.environ["FERRY_DATA_DIR"], "fake-ran-a-real-command")


def project(name, spec, image="aws/codebuild/standard:7.0"):
    cb.create_project(
        name=name,
        source={"type": "NO_SOURCE", "buildspec": spec},
        artifacts={"type": "NO_ARTIFACTS"},
        environment={"type": "LINUX_CONTAINER", "image": image, "computeType": "BUILD_GENERAL1_SMALL"},
        serviceRole=ROLE,
    )


def wait(build_id, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        b = cb.batch_get_builds(ids=[build_id])["builds"][0]
        if b["buildComplete"]:
            return b
        time.sleep(0.1)
    raise AssertionError(f"build {build_id} did not finish")


def statuses(b):
    return {p["phaseType"]: p.get("phaseStatus") for p in b["phases"]}


project(
    "fake-demo",
    f"""version: 0.2
phases:
  pre_build:
    commands:
      - echo preparing
      - touch {MARKER}
  build:
    commands:
      - echo building
      - exit 3
      - echo never
  post_build:
    commands:
      - echo after the failure
""",
)
b = wait(cb.start_build(projectName="fake-demo")["build"]["id"])
check(b["buildStatus"] == "FAILED", f"exit 3 fails the build: {b['buildStatus']}")
st = statuses(b)
check(st["PROVISIONING"] == "SUCCEEDED" and st["PRE_BUILD"] == "SUCCEEDED", f"phases: {st}")
check(st["BUILD"] == "FAILED" and st["POST_BUILD"] == "SUCCEEDED", f"post_build runs after a failed build: {st}")
ctx = [p for p in b["phases"] if p["phaseType"] == "BUILD"][0]["contexts"][0]["message"]
check("exit status 3" in ctx, f"the failure context names the status: {ctx}")
check(not os.path.exists(MARKER), "the fake executor ran no real command")
time.sleep(0.3)
ev = logs.get_log_events(logGroupName=b["logs"]["groupName"], logStreamName=b["logs"]["streamName"], startFromHead=True)
text = "\n".join(e["message"] for e in ev["events"])
for line in ["preparing", "building", "after the failure"]:
    check(f"\n{line}\n" in f"\n{text}\n", f"log has {line!r}")
check("\nnever\n" not in f"\n{text}\n", "commands after a failure do not run")

# Stop while a fake `sleep` runs.
project("fake-sleep", "version: 0.2\nphases:\n  build:\n    commands:\n      - sleep 30\n")
bid = cb.start_build(projectName="fake-sleep")["build"]["id"]
deadline = time.time() + 10
while cb.batch_get_builds(ids=[bid])["builds"][0].get("currentPhase") != "BUILD" and time.time() < deadline:
    time.sleep(0.05)
cb.stop_build(id=bid)
b = wait(bid)
check(b["buildStatus"] == "STOPPED", f"stopped: {b['buildStatus']}")

# An executor that cannot provision fails the build in PROVISIONING.
project("fake-unprovisionable", "version: 0.2\nphases:\n  build:\n    commands:\n      - echo hi\n", image="example/unprovisionable:1")
b = wait(cb.start_build(projectName="fake-unprovisionable")["build"]["id"])
st = statuses(b)
check(b["buildStatus"] == "FAILED" and st["PROVISIONING"] == "FAILED", f"provisioning fails: {b['buildStatus']} {st}")
check("BUILD" not in st, f"no command phase after a failed provisioning: {st}")
prov = [p for p in b["phases"] if p["phaseType"] == "PROVISIONING"][0]["contexts"][0]
check(prov["statusCode"] == "BUILD_CONTAINER_UNABLE_TO_PULL_IMAGE", f"context: {prov}")

done()
