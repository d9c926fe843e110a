"""A host registered with a registration token instead of an access key: `ferry admin
create-agent-token` mints a one-use token; `ferry agent --registration-token` with no AWS
credentials in its environment registers the host (as IAM user codedeploy-<name>, with its tags)
and deploys; the spent token registers nobody else; a restarted agent signs with the key it
kept in <root>/agent-credentials (mode 0600); an unknown token and a malformed body are refused
with AWS-style errors and change nothing.

Run by crates/ferry/tests/e2e_codedeploy.rs. Exits non-zero on the first failed check."""

import io
import json
import os
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import zipfile

import boto3

from helpers import check, done

URL = os.environ["FERRY_URL"]
BIN = os.environ["FERRY_BIN"]
REGION = "us-east-1"
cd = boto3.client("codedeploy", endpoint_url=URL, region_name=REGION)
iam = boto3.client("iam", endpoint_url=URL, region_name=REGION)
s3 = boto3.client("s3", endpoint_url=URL, region_name=REGION)
WORK = tempfile.mkdtemp(prefix="ferry-token-")
ROOT = os.path.join(WORK, "root")
HOME = os.path.join(WORK, "home")
os.makedirs(HOME)


def admin(*args):
    out = subprocess.run([BIN, "admin", "--data-dir", os.environ["FERRY_DATA_DIR"], *args],
                         capture_output=True, text=True, env=os.environ)
    check(out.returncode == 0, f"ferry admin {args}: {out.stderr}")
    return out.stdout.strip()


def agent_env():
    """No credentials at all: not in the environment, not in a shared file."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(HOME=HOME, AWS_REGION=REGION, FERRY_LOG="info")
    return env


def start_agent(name, root, *extra):
    log = open(os.path.join(WORK, f"{name}.log"), "a")
    return subprocess.Popen([BIN, "agent", "--endpoint", URL, "--name", name, "--root", root, "--allow-root", root,
                             "--tag", "role=token", *extra], env=agent_env(), stdout=log, stderr=subprocess.STDOUT)


def registered(name):
    return name in cd.list_on_premises_instances(registrationStatus="Registered")["instanceNames"]


def wait_for(cond, what, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.1)
    check(False, what)


def deploy(key, version):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("appspec.yml", f"version: 0.0\nos: linux\nfiles:\n  - source: v.txt\n    destination: {ROOT}/app\n")
        z.writestr("v.txt", version)
    etag = s3.put_object(Bucket="token", Key=key, Body=buf.getvalue())["ETag"].strip('"')
    dep = cd.create_deployment(applicationName="token", deploymentGroupName="g", revision={
        "revisionType": "S3", "s3Location": {"bucket": "token", "key": key, "bundleType": "zip", "eTag": etag}})["deploymentId"]
    deadline = time.time() + 60
    while time.time() < deadline:
        info = cd.get_deployment(deploymentId=dep)["deploymentInfo"]
        if info["status"] in ("Succeeded", "Failed", "Stopped"):
            return info
        time.sleep(0.1)
    check(False, f"{dep} did not finish")


def post(body):
    req = urllib.request.Request(URL + "/ferry/agent/register", data=body, method="POST",
                                 headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


token = admin("create-agent-token", "--uses", "1", "--ttl-hours", "1")
check(token.startswith("ferryreg-") and len(token) > 40, f"a token is printed: {token!r}")

s3.create_bucket(Bucket="token")
cd.create_application(applicationName="token")
cd.create_deployment_group(applicationName="token", deploymentGroupName="g", serviceRoleArn="arn:aws:iam::123456789012:role/cd",
                           onPremisesInstanceTagFilters=[{"Key": "role", "Value": "token", "Type": "KEY_AND_VALUE"}])

agent = start_agent("token-host", ROOT, "--registration-token", token)
wait_for(lambda: registered("token-host"), "the agent registers with the token")
info = cd.get_on_premises_instance(instanceName="token-host")["instanceInfo"]
check(info["iamUserArn"].endswith(":user/codedeploy-token-host"), f"registered as its own IAM user: {info}")
wait_for(lambda: cd.get_on_premises_instance(instanceName="token-host")["instanceInfo"]["tags"] == [{"Key": "role", "Value": "token"}],
         "the agent sets its tags with the key it got")
keys = iam.list_access_keys(UserName="codedeploy-token-host")["AccessKeyMetadata"]
check(len(keys) == 1, f"one access key for the host's user: {keys}")
kept = os.path.join(ROOT, "agent-credentials")
check(oct(os.stat(kept).st_mode & 0o777) == "0o600", "the kept key is private to the agent's user")
check(keys[0]["AccessKeyId"] in open(kept).read(), "the file holds that key")

first = deploy("one.zip", "one")
check(first["status"] == "Succeeded", f"a deployment to the token-registered host succeeds: {first.get('errorInformation')}")
check(open(os.path.join(ROOT, "app", "v.txt")).read() == "one", "the file is installed")

# The token was good for one host: a second one is refused, and nothing is left of it.
other_root = os.path.join(WORK, "other")
other = start_agent("other-host", other_root, "--registration-token", token)
code = other.wait(timeout=30)
check(code != 0, "an agent with a spent token stops")
check("AccessDeniedException" in open(os.path.join(WORK, "other-host.log")).read(), "and says the token was refused")
check(not registered("other-host"), "no instance for it")
users = [u["UserName"] for u in iam.list_users()["Users"]]
check("codedeploy-other-host" not in users, f"no IAM user for it: {users}")
check(not os.path.exists(os.path.join(other_root, "agent-credentials")), "no key kept")

# A restarted agent signs with the key it kept: no token needed, none spent.
agent.terminate()
agent.wait(timeout=30)
agent = start_agent("token-host", ROOT)
second = deploy("two.zip", "two")
check(second["status"] == "Succeeded", f"after the agent's restart it deploys with its kept key: {second.get('errorInformation')}")
check(open(os.path.join(ROOT, "app", "v.txt")).read() == "two", "the new file is installed")
check(len(iam.list_access_keys(UserName="codedeploy-token-host")["AccessKeyMetadata"]) == 1, "no new key was made")

# Direct calls: an unknown token, a bad body, an unusable name.
status, body = post(json.dumps({"token": "ferryreg-nope", "instanceName": "x"}).encode())
check(status == 403 and body["__type"].endswith("AccessDeniedException"), f"unknown token: {status} {body}")
status, body = post(b"{not json")
check(status == 400 and body["__type"].endswith("SerializationException"), f"malformed body: {status} {body}")
spare = admin("create-agent-token")
status, body = post(json.dumps({"token": spare, "instanceName": "bad/name"}).encode())
check(status == 400 and body["__type"].endswith("InvalidInstanceNameException"), f"bad name: {status} {body}")
status, body = post(json.dumps({"token": spare, "instanceName": "token-host"}).encode())
check(status == 400 and body["__type"].endswith("InstanceNameAlreadyRegisteredException"), f"a registered name: {status} {body}")
check(len(iam.list_access_keys(UserName="codedeploy-token-host")["AccessKeyMetadata"]) == 1, "the host's key is untouched")
status, body = post(json.dumps({"token": spare, "instanceName": "late-host"}).encode())
check(status == 200 and body["iamUserArn"].endswith(":user/codedeploy-late-host") and body["accessKeyId"],
      f"failed attempts gave the use back: {status} {body}")
check(registered("late-host"), "and the last one registered")
agent.terminate()
agent.wait(timeout=30)
done()
