"""CodeDeploy with real `ferry agent` hosts against a running Ferry: four agents, each its own
host (its own mount namespace with a tmpfs at /srv/ferry-e2e, where the appspec installs a
small web site that a Python web server serves on the host's own port), deployments with
AllAtOnce, HalfAtATime, OneAtATime and a custom 75 % configuration when one host's
ValidateService fails (outcome, skipped hosts, automatic rollback restoring the previous
version everywhere), StopDeployment with rollback, blue/green between two tag sets, and the
failing script's log tail in GetDeploymentInstance.

Run by crates/ferry/tests/e2e_codedeploy.rs with FERRY_URL, FERRY_ACCOUNT, FERRY_BIN, AWS
credentials in the environment; needs root (unshare, mount). Exits non-zero on the first
failed check and prints DEPLOY_FAILED_ID=<id> for the CLI checks that follow."""

import io
import json
import os
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import zipfile

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from helpers import check, done, expect_error

URL = os.environ["FERRY_URL"]
BIN = os.environ["FERRY_BIN"]
REGION = "us-east-1"
cd = boto3.client("codedeploy", endpoint_url=URL, region_name=REGION)
iam = boto3.client("iam", endpoint_url=URL, region_name=REGION)
s3 = boto3.client("s3", endpoint_url=URL, region_name=REGION)
ROLE = "arn:aws:iam::123456789012:role/codedeploy"
MOUNT = "/srv/ferry-e2e"
work = tempfile.mkdtemp(prefix="ferry-cd-")
os.makedirs(MOUNT, exist_ok=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- hosts -------------------------------------------------------------------------------------
HOSTS = {}


def start_agent(name, tags):
    user = iam.create_user(UserName=f"{name}-agent")["User"]
    key = iam.create_access_key(UserName=user["UserName"])["AccessKey"]
    port = free_port()
    env = dict(os.environ, AWS_ACCESS_KEY_ID=key["AccessKeyId"], AWS_SECRET_ACCESS_KEY=key["SecretAccessKey"],
               AWS_REGION=REGION, HOST_NAME=name, HOST_PORT=str(port), FERRY_LOG="warn")
    env.pop("AWS_SESSION_TOKEN", None)
    args = [BIN, "agent", "--endpoint", URL, "--name", name, "--root", f"{MOUNT}/agent", "--allow-root", MOUNT]
    for k, v in tags.items():
        args += ["--tag", f"{k}={v}"]
    log = open(os.path.join(work, f"{name}.log"), "w")
    # Each host gets its own view of /srv/ferry-e2e: a private tmpfs in its own mount namespace.
    p = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                          f"mount -t tmpfs tmpfs {MOUNT} && exec \"$0\" \"$@\"", *args],
                         env=env, stdout=log, stderr=subprocess.STDOUT)
    HOSTS[name] = {"proc": p, "port": port, "arn": user["Arn"]}


def stop_agents():
    for h in HOSTS.values():
        try:
            with open(f"/proc/{h['proc'].pid}/root{MOUNT}/run/http.pid") as f:
                os.kill(int(f.read().strip()), 15)
        except (OSError, ValueError):
            pass
        h["proc"].terminate()
    for h in HOSTS.values():
        try:
            h["proc"].wait(timeout=10)
        except subprocess.TimeoutExpired:
            h["proc"].kill()


def live_version(name):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{HOSTS[name]['port']}/version.txt", timeout=2) as r:
            return r.read().decode().strip()
    except OSError:
        return None


def command_call(op, body, key):
    """Calls the agents' command plane signed with `key` (an IAM access key dict)."""
    req = AWSRequest(method="POST", url=URL + "/", data=json.dumps(body),
                     headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": f"CodeDeployCommandService_v20141006.{op}"})
    SigV4Auth(Credentials(key["AccessKeyId"], key["SecretAccessKey"]), "codedeploy-commands", REGION).add_auth(req)
    r = urllib.request.Request(URL + "/", data=req.body, headers=dict(req.headers), method="POST")
    try:
        with urllib.request.urlopen(r, timeout=30) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


# --- bundles -----------------------------------------------------------------------------------
def bundle(version, fail_on=None, slow=False):
    files = {
        "appspec.yml": f"""version: 0.0
os: linux
files:
  - source: site
    destination: {MOUNT}/www
file_exists_behavior: OVERWRITE
hooks:
  ApplicationStop:
    - location: scripts/stop.sh
      timeout: 30
  BeforeInstall:
    - location: scripts/before_install.sh
      timeout: 30
  ApplicationStart:
    - location: scripts/start.sh
      timeout: 30
  ValidateService:
    - location: scripts/validate.sh
      timeout: 30
""",
        "site/version.txt": f"{version}\n",
        "site/index.html": f"<h1>{version}</h1>\n",
        "scripts/stop.sh": f"#!/bin/sh\nif [ -f {MOUNT}/run/http.pid ]; then kill $(cat {MOUNT}/run/http.pid) 2>/dev/null; rm -f {MOUNT}/run/http.pid; fi\necho stopped\n",
        "scripts/before_install.sh": "#!/bin/sh\necho \"installing on $HOST_NAME for $DEPLOYMENT_ID ($LIFECYCLE_EVENT)\"\n" + ("sleep 2\n" if slow else ""),
        "scripts/start.sh": f"#!/bin/sh\nmkdir -p {MOUNT}/run\nsetsid python3 -m http.server \"$HOST_PORT\" --bind 127.0.0.1 --directory {MOUNT}/www > {MOUNT}/run/http.log 2>&1 < /dev/null &\necho $! > {MOUNT}/run/http.pid\n",
        "scripts/validate.sh": "#!/bin/sh\nfor i in $(seq 100); do\n  got=$(curl -fsS \"http://127.0.0.1:$HOST_PORT/version.txt\" 2>/dev/null) && break\n  sleep 0.05\ndone\n"
                               f"echo \"validating $HOST_NAME: got '$got'\"\n[ \"$got\" = \"{version}\" ] || exit 1\n"
                               + (f"if [ \"$HOST_NAME\" = \"{fail_on}\" ]; then echo \"health check failed on $HOST_NAME\" >&2; exit 7; fi\n" if fail_on else ""),
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for path, text in files.items():
            info = zipfile.ZipInfo(path)
            info.external_attr = (0o100755 if path.endswith(".sh") else 0o100644) << 16
            z.writestr(info, text)
    key = f"shop/{version}{'-fail-' + fail_on if fail_on else ''}{'-slow' if slow else ''}.zip"
    etag = s3.put_object(Bucket="bundles", Key=key, Body=buf.getvalue())["ETag"].strip('"')
    return {"revisionType": "S3", "s3Location": {"bucket": "bundles", "key": key, "bundleType": "zip", "eTag": etag}}


def wait(dep_id, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        info = cd.get_deployment(deploymentId=dep_id)["deploymentInfo"]
        if info["status"] in ("Succeeded", "Failed", "Stopped"):
            return info
        time.sleep(0.1)
    raise AssertionError(f"{dep_id} did not finish: {info['status']} {info.get('deploymentOverview')}")


def target_statuses(dep_id):
    ids = cd.list_deployment_targets(deploymentId=dep_id)["targetIds"]
    got = cd.batch_get_deployment_targets(deploymentId=dep_id, targetIds=ids)["deploymentTargets"]
    return {t["instanceTarget"]["targetId"]: t["instanceTarget"]["status"] for t in got}


def deploy(group, revision, config=None, **kw):
    args = dict(applicationName="shop", deploymentGroupName=group, revision=revision, **kw)
    if config:
        args["deploymentConfigName"] = config
    return cd.create_deployment(**args)["deploymentId"]


try:
    s3.create_bucket(Bucket="bundles")
    cd.create_application(applicationName="shop")
    cd.create_deployment_config(deploymentConfigName="Ferry.Percent75", minimumHealthyHosts={"type": "FLEET_PERCENT", "value": 75})
    for i in range(1, 5):
        start_agent(f"host{i}", {"role": "web", "color": "blue" if i <= 2 else "green"})
    deadline = time.time() + 30
    while time.time() < deadline and len(cd.list_on_premises_instances(registrationStatus="Registered")["instanceNames"]) < 4:
        time.sleep(0.1)
    names = cd.list_on_premises_instances(registrationStatus="Registered")["instanceNames"]
    check(names == ["host1", "host2", "host3", "host4"], f"the agents registered themselves: {names}")
    infos = {i["instanceName"]: i for i in cd.batch_get_on_premises_instances(instanceNames=names)["instanceInfos"]}
    check(infos["host1"]["iamUserArn"] == HOSTS["host1"]["arn"], "registered under the agent's own IAM user")
    check({"Key": "color", "Value": "green"} in infos["host3"]["tags"], f"with its tags {infos['host3']['tags']}")

    v1 = bundle("v1")
    v2_bad = bundle("v2", fail_on="host3")
    rollback = {"enabled": True, "events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_REQUEST"]}
    expected = {  # config -> (deployment status, host3, host4)
        "CodeDeployDefault.AllAtOnce": ("Succeeded", "Failed", "Succeeded"),
        "CodeDeployDefault.HalfAtATime": ("Succeeded", "Failed", "Succeeded"),
        "CodeDeployDefault.OneAtATime": ("Failed", "Failed", "Skipped"),
        "Ferry.Percent75": ("Failed", "Failed", "Skipped"),
    }
    failed_id = None
    for n, (config, (status, h3, h4)) in enumerate(expected.items()):
        group = f"web-{n}"
        cd.create_deployment_group(applicationName="shop", deploymentGroupName=group, serviceRoleArn=ROLE,
                                   deploymentConfigName=config, autoRollbackConfiguration=rollback,
                                   onPremisesInstanceTagFilters=[{"Key": "role", "Value": "web", "Type": "KEY_AND_VALUE"}])
        good = wait(deploy(group, v1))
        check(good["status"] == "Succeeded", f"{config}: v1 deploys {good['status']} {good.get('errorInformation')}")
        check(all(live_version(h) == "v1" for h in HOSTS), f"{config}: every host serves v1 {[live_version(h) for h in HOSTS]}")
        bad_id = deploy(group, v2_bad)
        bad = wait(bad_id)
        targets = target_statuses(bad_id)
        check(bad["status"] == status, f"{config}: v2 with a failing host ends {bad['status']} (expected {status}) {targets}")
        check(targets["host3"] == h3 and targets["host4"] == h4, f"{config}: host3 {targets['host3']}, host4 {targets['host4']}")
        check(targets["host1"] == "Succeeded", f"{config}: host1 took v2 {targets}")
        if status == "Failed":
            failed_id = bad_id
            check(bad["errorInformation"]["code"] == "HEALTH_CONSTRAINTS", f"{config}: error {bad['errorInformation']}")
            rb_id = bad["rollbackInfo"]["rollbackDeploymentId"]
            rb = wait(rb_id)
            check(rb["status"] == "Succeeded" and rb["creator"] == "codeDeployRollback", f"{config}: rollback {rb['status']} {rb.get('creator')}")
            check(rb["rollbackInfo"]["rollbackTriggeringDeploymentId"] == bad_id, "the rollback names what triggered it")
            check(all(live_version(h) == "v1" for h in HOSTS), f"{config}: rollback restored v1 everywhere {[live_version(h) for h in HOSTS]}")
        else:
            check("rollbackInfo" not in bad or "rollbackDeploymentId" not in bad["rollbackInfo"], f"{config}: no rollback after success")
            check(live_version("host1") == "v2" and live_version("host4") == "v2", f"{config}: the healthy hosts serve v2")
        g = cd.get_deployment_group(applicationName="shop", deploymentGroupName=group)["deploymentGroupInfo"]
        check(g["lastAttemptedDeployment"]["deploymentId"] in (bad_id, bad.get("rollbackInfo", {}).get("rollbackDeploymentId")), "last attempted deployment")

    # The failing script's output, per event.
    summary = cd.get_deployment_instance(deploymentId=failed_id, instanceId="host3")["instanceSummary"]
    events = {e["lifecycleEventName"]: e for e in summary["lifecycleEvents"]}
    check(summary["status"] == "Failed" and events["ValidateService"]["status"] == "Failed", f"host3 events {[(k, e['status']) for k, e in events.items()]}")
    diag = events["ValidateService"]["diagnostics"]
    check(diag["errorCode"] == "ScriptFailed" and diag["scriptName"] == "scripts/validate.sh", f"diagnostics {diag}")
    check("health check failed on host3" in diag["logTail"], f"log tail {diag['logTail']!r}")
    check(events["Install"]["status"] == "Succeeded" and events["AfterAllowTraffic"]["status"] == "Skipped", "events around the failure")
    check(events["BlockTraffic"]["status"] == "Succeeded", "traffic events are the service's own")

    # StopDeployment with rollback.
    stop_group = "web-stop"
    cd.create_deployment_group(applicationName="shop", deploymentGroupName=stop_group, serviceRoleArn=ROLE,
                               deploymentConfigName="CodeDeployDefault.OneAtATime",
                               onPremisesInstanceTagFilters=[{"Key": "role", "Value": "web", "Type": "KEY_AND_VALUE"}])
    check(wait(deploy(stop_group, v1))["status"] == "Succeeded", "stop group starts on v1")
    slow_id = deploy(stop_group, bundle("v3", slow=True))
    deadline = time.time() + 30
    while time.time() < deadline and cd.get_deployment(deploymentId=slow_id)["deploymentInfo"]["deploymentOverview"].get("InProgress", 0) == 0:
        time.sleep(0.05)
    stopped = cd.stop_deployment(deploymentId=slow_id, autoRollbackEnabled=True)
    check(stopped["status"] == "Pending", f"stop answers Pending {stopped}")
    info = wait(slow_id)
    check(info["status"] == "Stopped", f"stopped deployment {info['status']}")
    skipped = [h for h, s in target_statuses(slow_id).items() if s == "Skipped"]
    check(len(skipped) >= 2, f"hosts not reached are skipped {target_statuses(slow_id)}")
    rb = wait(info["rollbackInfo"]["rollbackDeploymentId"])
    check(rb["status"] == "Succeeded" and all(live_version(h) == "v1" for h in HOSTS), f"stop rollback restored v1 {[live_version(h) for h in HOSTS]}")

    # Blue/green between two tag sets: blue hosts (color=blue) stay, green ones get v4.
    cd.create_deployment_group(applicationName="shop", deploymentGroupName="bg", serviceRoleArn=ROLE,
                               deploymentConfigName="CodeDeployDefault.AllAtOnce",
                               deploymentStyle={"deploymentType": "BLUE_GREEN", "deploymentOption": "WITHOUT_TRAFFIC_CONTROL"},
                               blueGreenDeploymentConfiguration={"terminateBlueInstancesOnDeploymentSuccess": {"action": "KEEP_ALIVE"},
                                                                 "deploymentReadyOption": {"actionOnTimeout": "CONTINUE_DEPLOYMENT"}},
                               onPremisesInstanceTagFilters=[{"Key": "color", "Value": "blue", "Type": "KEY_AND_VALUE"}])
    bg_id = deploy("bg", bundle("v4"), targetInstances={"tagFilters": [{"Key": "color", "Value": "green", "Type": "KEY_AND_VALUE"}]})
    bg = wait(bg_id)
    check(bg["status"] == "Succeeded", f"blue/green {bg['status']} {bg.get('errorInformation')}")
    got = cd.batch_get_deployment_targets(deploymentId=bg_id, targetIds=["host1", "host3"])["deploymentTargets"]
    labels = {t["instanceTarget"]["targetId"]: (t["instanceTarget"]["instanceLabel"], [e["lifecycleEventName"] for e in t["instanceTarget"]["lifecycleEvents"]]) for t in got}
    check(labels["host1"] == ("Blue", ["BeforeBlockTraffic", "BlockTraffic", "AfterBlockTraffic"]), f"blue host events {labels['host1']}")
    check(labels["host3"][0] == "Green" and labels["host3"][1][0] == "ApplicationStop", f"green host events {labels['host3']}")
    check(live_version("host3") == "v4" and live_version("host4") == "v4" and live_version("host1") == "v1", "green hosts serve v4, blue ones keep v1")
    green = cd.list_deployment_targets(deploymentId=bg_id, targetFilters={"ServerInstanceLabel": ["Green"]})["targetIds"]
    check(sorted(green) == ["host3", "host4"], f"targets by label {green}")

    # Blue/green that waits for ContinueDeployment before rerouting traffic.
    cd.create_deployment_group(applicationName="shop", deploymentGroupName="bg-wait", serviceRoleArn=ROLE,
                               deploymentConfigName="CodeDeployDefault.AllAtOnce",
                               deploymentStyle={"deploymentType": "BLUE_GREEN", "deploymentOption": "WITHOUT_TRAFFIC_CONTROL"},
                               blueGreenDeploymentConfiguration={"terminateBlueInstancesOnDeploymentSuccess": {"action": "KEEP_ALIVE"},
                                                                 "deploymentReadyOption": {"actionOnTimeout": "STOP_DEPLOYMENT", "waitTimeInMinutes": 60}},
                               onPremisesInstanceTagFilters=[{"Key": "color", "Value": "blue", "Type": "KEY_AND_VALUE"}])
    wait_id = deploy("bg-wait", bundle("v6"), targetInstances={"tagFilters": [{"Key": "color", "Value": "green", "Type": "KEY_AND_VALUE"}]})
    deadline = time.time() + 60
    while time.time() < deadline and cd.get_deployment(deploymentId=wait_id)["deploymentInfo"]["status"] != "Ready":
        time.sleep(0.1)
    info = cd.get_deployment(deploymentId=wait_id)["deploymentInfo"]
    check(info["status"] == "Ready" and info["deploymentOverview"]["Ready"] == 2, f"replacements ready, waiting: {info['status']} {info['deploymentOverview']}")
    check(live_version("host3") == "v6" and live_version("host1") == "v1", "installed on the replacements only")
    expect_error("DeploymentIsNotInReadyStateException", cd.continue_deployment, deploymentId=wait_id, deploymentWaitType="TERMINATION_WAIT")
    cd.continue_deployment(deploymentId=wait_id, deploymentWaitType="READY_WAIT")
    done_wait = wait(wait_id)
    check(done_wait["status"] == "Succeeded", f"continued blue/green {done_wait['status']} {target_statuses(wait_id)}")
    expect_error("DeploymentAlreadyCompletedException", cd.continue_deployment, deploymentId=wait_id, deploymentWaitType="READY_WAIT")

    # An agent cannot act for another host: host2's key asking for host1's commands is refused.
    other = iam.create_access_key(UserName="host2-agent")["AccessKey"]
    code, answer = command_call("PollHostCommand", {"HostIdentifier": HOSTS["host1"]["arn"]}, other)
    check(code == 400 and answer.get("__type", "").endswith("ClientException"), f"impersonation refused: {code} {answer}")

    # The flow users type: aws deploy push, create-deployment, wait deployment-successful.
    cd.create_deployment_group(applicationName="shop", deploymentGroupName="cli", serviceRoleArn=ROLE,
                               deploymentConfigName="CodeDeployDefault.AllAtOnce",
                               onPremisesInstanceTagFilters=[{"Key": "role", "Value": "web", "Type": "KEY_AND_VALUE"}])
    src = os.path.join(work, "cli-app")
    os.makedirs(os.path.join(src, "site"))
    os.makedirs(os.path.join(src, "scripts"))
    with open(os.path.join(src, "appspec.yml"), "w") as f:
        f.write(f"version: 0.0\nos: linux\nfiles:\n  - source: site\n    destination: {MOUNT}/www\nfile_exists_behavior: OVERWRITE\n"
                "hooks:\n  AfterInstall:\n    - location: scripts/after.sh\n")
    with open(os.path.join(src, "site", "version.txt"), "w") as f:
        f.write("v5\n")
    with open(os.path.join(src, "scripts", "after.sh"), "w") as f:
        f.write("#!/bin/sh\necho \"after install of $APPLICATION_NAME on $HOST_NAME\"\n")
    os.chmod(os.path.join(src, "scripts", "after.sh"), 0o755)
    pushed = subprocess.run(["aws", "deploy", "push", "--application-name", "shop", "--s3-location", "s3://bundles/cli-app.zip",
                             "--source", src, "--description", "pushed by the CLI"], capture_output=True, text=True)
    check(pushed.returncode == 0 and "aws deploy create-deployment" in pushed.stdout, f"aws deploy push: {pushed.stdout} {pushed.stderr}")
    location = pushed.stdout.split("--s3-location ", 1)[1].split()[0]
    check(location.startswith("bucket=bundles,key=cli-app.zip,bundleType=zip,eTag="), f"push names the revision: {location}")
    rev = cd.get_application_revision(applicationName="shop", revision={"revisionType": "S3", "s3Location": {
        "bucket": "bundles", "key": "cli-app.zip", "bundleType": "zip", "eTag": location.split("eTag=")[1]}})
    check(rev["revisionInfo"]["description"] == "pushed by the CLI", f"registered revision {rev['revisionInfo']}")
    created = subprocess.run(["aws", "deploy", "create-deployment", "--application-name", "shop", "--deployment-group-name", "cli",
                              "--s3-location", location, "--query", "deploymentId", "--output", "text"], capture_output=True, text=True)
    cli_id = created.stdout.strip()
    check(created.returncode == 0 and cli_id.startswith("d-"), f"aws deploy create-deployment: {created.stdout} {created.stderr}")
    # The waiter polls every 15 s; wait here first so that its first look sees the end.
    wait(cli_id)
    waited = subprocess.run(["aws", "deploy", "wait", "deployment-successful", "--deployment-id", cli_id], capture_output=True, text=True)
    check(waited.returncode == 0, f"aws deploy wait deployment-successful: {waited.stderr}")
    check(all(live_version(h) == "v5" for h in ["host1", "host2"]), "the pushed revision is live")
    shown = subprocess.run(["aws", "deploy", "get-deployment-instance", "--deployment-id", failed_id, "--instance-id", "host3"],
                           capture_output=True, text=True)
    check(shown.returncode == 0 and "health check failed on host3" in shown.stdout and "ScriptFailed" in shown.stdout,
          f"aws deploy get-deployment-instance shows the failing script's output: {shown.stdout[-800:]} {shown.stderr}")
    print(f"DEPLOY_FAILED_ID={failed_id}")
finally:
    stop_agents()
    for name in HOSTS:
        try:
            print(f"--- {name} agent log (tail)")
            print(open(os.path.join(work, f"{name}.log")).read()[-1500:])
        except OSError:
            pass
done()
