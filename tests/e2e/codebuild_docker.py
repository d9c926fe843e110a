"""boto3 against a Ferry started with `--build-executor docker` and a Docker-compatible engine
(DOCKER_HOST; CI runs Podman's Docker API service): builds run in the project's image (an image
this script imports from a busybox root filesystem, so nothing is pulled), with the workspace
mounted, variables and directories carried between commands, artifacts uploaded from what the
container wrote, Ferry reachable at AWS_ENDPOINT_URL from inside; a daemon holding the output
open does not hang the build; StopBuild kills the container; an image that cannot be pulled
fails the build in PROVISIONING with BUILD_CONTAINER_UNABLE_TO_PULL_IMAGE; no container is left.

Run by crates/ferry/tests/e2e_codebuild.rs. Exits non-zero on the first failed check."""

import http.client
import io
import json
import os
import socket
import tarfile
import time
import urllib.parse
import zipfile

import boto3

from helpers import check, done

URL = os.environ["FERRY_URL"]
ACCOUNT = os.environ["FERRY_ACCOUNT"]
cb = boto3.client("codebuild", endpoint_url=URL, region_name="us-east-1")
logs = boto3.client("logs", endpoint_url=URL, region_name="us-east-1")
s3 = boto3.client("s3", endpoint_url=URL, region_name="us-east-1")
ROLE = f"arn:aws:iam::{ACCOUNT}:role/cb"
SOCKET = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock").removeprefix("unix://")
IMAGE = "localhost/ferry-e2e/busybox:latest"


class Engine(http.client.HTTPConnection):
    def __init__(self):
        super().__init__("localhost", timeout=120)

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(SOCKET)


def engine(method, path, body=None, headers=None):
    c = Engine()
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


def import_image():
    """A busybox root filesystem with a marker file, imported as IMAGE."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        def add_dir(name):
            info = tarfile.TarInfo(name)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        for d in ["bin", "etc", "tmp", "proc", "sys", "dev", "root"]:
            add_dir(d)
        tar.add("/bin/busybox", arcname="bin/busybox")
        for tool in ["sh", "echo", "cat", "sleep", "wget", "mkdir", "pwd", "ls", "env", "printf", "uname", "touch", "rm", "id", "true"]:
            info = tarfile.TarInfo(f"bin/{tool}")
            info.type, info.linkname = tarfile.SYMTYPE, "busybox"
            tar.addfile(info)
        marker = b"ferry e2e busybox image\n"
        info = tarfile.TarInfo("etc/ferry-image")
        info.size = len(marker)
        tar.addfile(info, io.BytesIO(marker))
    repo, tag = IMAGE.rsplit(":", 1)
    status, data = engine("POST", "/images/create?" + urllib.parse.urlencode({"fromSrc": "-", "repo": repo, "tag": tag}),
                          body=buf.getvalue(), headers={"Content-Type": "application/x-tar"})
    check(status == 200, f"the engine imports the test image: {status} {data[:300]}")


def build_containers():
    status, data = engine("GET", "/containers/json?" + urllib.parse.urlencode({"all": "true", "filters": json.dumps({"label": ["ferry.build-id"]})}))
    check(status == 200, f"list containers: {status}")
    return json.loads(data)


def project(name, spec, image=IMAGE, artifacts=None):
    cb.create_project(
        name=name,
        source={"type": "NO_SOURCE", "buildspec": spec},
        artifacts=artifacts or {"type": "NO_ARTIFACTS"},
        environment={"type": "LINUX_CONTAINER", "image": image, "computeType": "BUILD_GENERAL1_SMALL"},
        serviceRole=ROLE,
    )


def wait(build_id, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        b = cb.batch_get_builds(ids=[build_id])["builds"][0]
        if b["buildComplete"]:
            return b
        time.sleep(0.1)
    raise AssertionError(f"build {build_id} did not finish")


def log_text(b):
    time.sleep(0.3)
    ev = logs.get_log_events(logGroupName=b["logs"]["groupName"], logStreamName=b["logs"]["streamName"], startFromHead=True)
    return "\n".join(e["message"] for e in ev["events"])


def statuses(b):
    return {p["phaseType"]: p.get("phaseStatus") for p in b["phases"]}


status, data = engine("GET", "/_ping")
check(status == 200, f"a Docker-compatible engine answers at {SOCKET}: {status} {data[:100]}")
import_image()
check(not os.path.exists("/etc/ferry-image"), "the marker exists only in the image")
s3.create_bucket(Bucket="docker-artifacts")

project("in-image", """version: 0.2
env:
  variables:
    GREETING: hello
phases:
  install:
    commands:
      - cat /etc/ferry-image
      - echo "path is $PATH"
      - mkdir -p out && cd out
      - export CARRIED=from-install
  build:
    commands:
      - echo "$GREETING $CARRIED in $(pwd)"
      - echo built-in-container > result.txt
      - wget -q -O - "$AWS_ENDPOINT_URL/healthz"
      - sleep 30 &
      - echo after the daemon
  post_build:
    commands:
      - echo "build status $CODEBUILD_BUILD_SUCCEEDING"
artifacts:
  files:
    - out/result.txt
""", artifacts={"type": "S3", "location": "docker-artifacts", "name": "result.zip", "packaging": "ZIP"})
started = time.time()
b = wait(cb.start_build(projectName="in-image")["build"]["id"])
took = time.time() - started
check(b["buildStatus"] == "SUCCEEDED", f"the build succeeds in the image: {b['buildStatus']} {[p.get('contexts') for p in b['phases'] if p.get('phaseStatus') == 'FAILED']}")
check(took < 25, f"the daemon holding the output does not hang the build: {took:.1f} s")
text = log_text(b)
check("ferry e2e busybox image" in text, "commands run inside the project's image")
check("path is /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" in text, f"PATH is the image's, not the server's: {[l for l in text.splitlines() if 'path is' in l]}")
check("hello from-install in " in text and "/out" in text, "variables and the directory carry over between phases")
check("\nok\n" in f"\n{text}\n", "Ferry answers at AWS_ENDPOINT_URL from inside the container")
check("after the daemon" in text and "build status 1" in text, "later commands and phases run")
st = statuses(b)
check(all(st[p] == "SUCCEEDED" for p in ["PROVISIONING", "INSTALL", "BUILD", "POST_BUILD", "UPLOAD_ARTIFACTS"]), f"phases: {st}")
obj = s3.get_object(Bucket="docker-artifacts", Key="result.zip")["Body"].read()
with zipfile.ZipFile(io.BytesIO(obj)) as z:
    check(z.read("out/result.txt") == b"built-in-container\n", f"the artifact holds what the container wrote: {z.namelist()}")

project("run-as-in-image", """version: 0.2
phases:
  build:
    run-as: "1234"
    commands:
      - echo "uid $(id -u)"
  post_build:
    commands:
      - echo "then uid $(id -u)"
""")
b = wait(cb.start_build(projectName="run-as-in-image")["build"]["id"])
text = log_text(b)
check(b["buildStatus"] == "SUCCEEDED" and "uid 1234" in text and "then uid 0" in text, f"run-as in a container: {b['buildStatus']} {text}")

project("fails-in-image", """version: 0.2
phases:
  build:
    commands:
      - echo about to fail
      - exit 4
""")
b = wait(cb.start_build(projectName="fails-in-image")["build"]["id"])
ctx = [p for p in b["phases"] if p["phaseType"] == "BUILD"][0]["contexts"][0]["message"]
check(b["buildStatus"] == "FAILED" and "exit status 4" in ctx, f"a failing command fails the build: {b['buildStatus']} {ctx}")

project("stopped-in-image", """version: 0.2
phases:
  build:
    commands:
      - echo sleeping
      - sleep 600
""")
bid = cb.start_build(projectName="stopped-in-image")["build"]["id"]
deadline = time.time() + 60
while time.time() < deadline:
    b = cb.batch_get_builds(ids=[bid])["builds"][0]
    if b.get("currentPhase") == "BUILD":
        break
    time.sleep(0.1)
time.sleep(1)
stop_at = time.time()
cb.stop_build(id=bid)
b = wait(bid)
check(b["buildStatus"] == "STOPPED", f"StopBuild stops a build in a container: {b['buildStatus']}")
check(time.time() - stop_at < 20, f"promptly: {time.time() - stop_at:.1f} s")

project("unpullable", "version: 0.2\nphases:\n  build:\n    commands:\n      - echo never\n", image="localhost:1/ferry-e2e/missing:1")
b = wait(cb.start_build(projectName="unpullable")["build"]["id"])
prov = [p for p in b["phases"] if p["phaseType"] == "PROVISIONING"][0]
check(b["buildStatus"] == "FAILED" and prov["phaseStatus"] == "FAILED", f"an image that cannot be pulled fails provisioning: {statuses(b)}")
check(prov["contexts"][0]["statusCode"] == "BUILD_CONTAINER_UNABLE_TO_PULL_IMAGE", f"with the AWS code: {prov['contexts']}")

deadline = time.time() + 20
while time.time() < deadline and build_containers():
    time.sleep(0.2)
check(build_containers() == [], f"no build container is left: {[c.get('Names') for c in build_containers()]}")
done()
