"""CodeDeploy across a server restart, and a hostile bundle, with one real `ferry agent` host.

Phase `start` (PHASE=start): registers a host (its agent is started detached and keeps running across the
phases; its pid is printed as AGENT_PID=), deploys a revision whose BeforeInstall sleeps, waits
until the deployment is in progress, prints DEPLOYMENT_ID=. The test then restarts the server.
Phase `finish` (PHASE=finish, DEPLOYMENT_ID=...): the same deployment ends Succeeded; then a bundle with an entry
`../escaped.txt` fails DownloadBundle on the host and writes nothing outside the deployment
directory.

Run by crates/ferry/tests/e2e_codedeploy.rs. Exits non-zero on the first failed check."""

import io
import os
import subprocess
import time
import zipfile

import boto3

from helpers import check, done, expect_error, git

URL = os.environ["FERRY_URL"]
REGION = "us-east-1"
cd = boto3.client("codedeploy", endpoint_url=URL, region_name=REGION)
iam = boto3.client("iam", endpoint_url=URL, region_name=REGION)
s3 = boto3.client("s3", endpoint_url=URL, region_name=REGION)
ROOT = os.path.join(os.environ["FERRY_DATA_DIR"], "..", "agent-root")


def zip_of(entries):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, text, mode in entries:
            info = zipfile.ZipInfo(name)
            info.external_attr = mode << 16
            z.writestr(info, text)
    return buf.getvalue()


def revision(key, body):
    etag = s3.put_object(Bucket="restart", Key=key, Body=body)["ETag"].strip('"')
    return {"revisionType": "S3", "s3Location": {"bucket": "restart", "key": key, "bundleType": "zip", "eTag": etag}}


def wait(dep_id, timeout=90):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            info = cd.get_deployment(deploymentId=dep_id)["deploymentInfo"]
        except Exception:  # the server may be restarting
            time.sleep(0.2)
            continue
        if info["status"] in ("Succeeded", "Failed", "Stopped"):
            return info
        time.sleep(0.1)
    raise AssertionError(f"{dep_id} did not finish")


if os.environ["PHASE"] == "start":
    user = iam.create_user(UserName="restart-host")["User"]
    key = iam.create_access_key(UserName="restart-host")["AccessKey"]
    env = dict(os.environ, AWS_ACCESS_KEY_ID=key["AccessKeyId"], AWS_SECRET_ACCESS_KEY=key["SecretAccessKey"],
               AWS_REGION=REGION, FERRY_LOG="warn")
    os.makedirs(ROOT, exist_ok=True)
    agent = subprocess.Popen([os.environ["FERRY_BIN"], "agent", "--endpoint", URL, "--name", "restart-host", "--root", ROOT,
                              "--allow-root", ROOT, "--tag", "role=restart"], env=env, start_new_session=True,
                             stdout=open(os.path.join(ROOT, "..", "agent.log"), "w"), stderr=subprocess.STDOUT)
    print(f"AGENT_PID={agent.pid}")
    deadline = time.time() + 30
    while time.time() < deadline and not cd.list_on_premises_instances(registrationStatus="Registered")["instanceNames"]:
        time.sleep(0.1)
    s3.create_bucket(Bucket="restart")
    cd.create_application(applicationName="restart")
    cd.create_deployment_group(applicationName="restart", deploymentGroupName="g", serviceRoleArn="arn:aws:iam::123456789012:role/cd",
                               onPremisesInstanceTagFilters=[{"Key": "role", "Value": "restart", "Type": "KEY_AND_VALUE"}])
    body = zip_of([("appspec.yml", "version: 0.0\nos: linux\nhooks:\n  BeforeInstall:\n    - location: slow.sh\n      timeout: 60\n", 0o100644),
                   ("slow.sh", "#!/bin/sh\necho sleeping through the restart\nsleep 3\necho woke up\n", 0o100755)])
    dep = cd.create_deployment(applicationName="restart", deploymentGroupName="g", revision=revision("slow.zip", body))["deploymentId"]
    deadline = time.time() + 30
    while time.time() < deadline:
        ids = cd.list_deployment_targets(deploymentId=dep)["targetIds"] if cd.get_deployment(deploymentId=dep)["deploymentInfo"]["status"] == "InProgress" else []
        events = cd.batch_get_deployment_targets(deploymentId=dep, targetIds=ids)["deploymentTargets"] if ids else []
        running = [e["lifecycleEventName"] for t in events for e in t["instanceTarget"]["lifecycleEvents"] if e["status"] == "InProgress"]
        if running == ["BeforeInstall"]:
            break
        time.sleep(0.05)
    check(running == ["BeforeInstall"], f"the slow hook is running before the restart: {running}")
    print(f"DEPLOYMENT_ID={dep}")
else:
    dep = os.environ["DEPLOYMENT_ID"]
    info = wait(dep)
    check(info["status"] == "Succeeded", f"the deployment finished across the restart: {info['status']} {info.get('errorInformation')}")
    summary = cd.get_deployment_instance(deploymentId=dep, instanceId="restart-host")["instanceSummary"]
    events = {e["lifecycleEventName"]: e for e in summary["lifecycleEvents"]}
    check(events["BeforeInstall"]["status"] == "Succeeded" and events["BeforeInstall"]["diagnostics"]["errorCode"] == "Success",
          f"the hook that ran through the restart succeeded: {events['BeforeInstall']}")
    check(events["ValidateService"]["status"] == "Succeeded", "and the events after it ran")
    # A hostile bundle: an entry that climbs out of the archive.
    body = zip_of([("appspec.yml", "version: 0.0\nos: linux\n", 0o100644), ("../escaped.txt", "gotcha", 0o100644)])
    bad = wait(cd.create_deployment(applicationName="restart", deploymentGroupName="g", revision=revision("evil.zip", body))["deploymentId"])
    check(bad["status"] == "Failed", f"the hostile bundle fails the deployment: {bad['status']}")
    summary = cd.get_deployment_instance(deploymentId=bad["deploymentId"], instanceId="restart-host")["instanceSummary"]
    events = {e["lifecycleEventName"]: e for e in summary["lifecycleEvents"]}
    check(events["DownloadBundle"]["status"] == "Failed", f"it fails in DownloadBundle: {[(k, e['status']) for k, e in events.items()]}")
    check(".." in events["DownloadBundle"]["diagnostics"]["message"], f"and says why: {events['DownloadBundle']['diagnostics']}")
    # An appspec of the wrong version fails the host with a clear message.
    body = zip_of([("appspec.yml", "version: 1.0\nos: linux\nhooks:\n  BeforeInstall:\n    - location: x.sh\n", 0o100644),
                   ("x.sh", "#!/bin/sh\necho should not run\n", 0o100755)])
    wrong = wait(cd.create_deployment(applicationName="restart", deploymentGroupName="g", revision=revision("v1.zip", body))["deploymentId"])
    summary = cd.get_deployment_instance(deploymentId=wrong["deploymentId"], instanceId="restart-host")["instanceSummary"]
    failed = [(e["lifecycleEventName"], e["diagnostics"]["message"]) for e in summary["lifecycleEvents"] if e["status"] == "Failed"]
    check(wrong["status"] == "Failed" and len(failed) == 1 and "version" in failed[0][1], f"a wrong appspec version is refused: {failed}")
    # A hook script that is not in the bundle.
    body = zip_of([("appspec.yml", "version: 0.0\nos: linux\nhooks:\n  AfterInstall:\n    - location: missing.sh\n", 0o100644)])
    missing = wait(cd.create_deployment(applicationName="restart", deploymentGroupName="g", revision=revision("missing.zip", body))["deploymentId"])
    summary = cd.get_deployment_instance(deploymentId=missing["deploymentId"], instanceId="restart-host")["instanceSummary"]
    events = {e["lifecycleEventName"]: e for e in summary["lifecycleEvents"]}
    check(events["AfterInstall"]["status"] == "Failed" and events["AfterInstall"]["diagnostics"]["errorCode"] == "ScriptMissing",
          f"a missing script is ScriptMissing: {events['AfterInstall']}")
    # A commit of a Ferry repository as the revision (a GitHub location without an owner).
    url = boto3.client("codecommit", endpoint_url=URL, region_name=REGION).create_repository(repositoryName="deploy-src")["repositoryMetadata"]["cloneUrlHttp"]
    src = os.path.join(ROOT, "..", "src-work")
    git("clone", "-q", url, src)
    os.makedirs(os.path.join(src, "hooks"), exist_ok=True)
    with open(os.path.join(src, "appspec.yml"), "w") as f:
        f.write("version: 0.0\nos: linux\nhooks:\n  AfterInstall:\n    - location: hooks/after.sh\n")
    marker = os.path.abspath(os.path.join(ROOT, "..", "from-codecommit.txt"))
    with open(os.path.join(src, "hooks", "after.sh"), "w") as f:
        f.write(f"#!/bin/sh\necho \"$DEPLOYMENT_ID\" > {marker}\n")
    os.chmod(os.path.join(src, "hooks", "after.sh"), 0o755)
    git("add", ".", cwd=src)
    git("commit", "-q", "-m", "deployable", cwd=src)
    git("push", "-q", "origin", "HEAD:main", cwd=src)
    sha = git("rev-parse", "HEAD", cwd=src).strip()
    from_repo = cd.create_deployment(applicationName="restart", deploymentGroupName="g",
                                     revision={"revisionType": "GitHub", "gitHubLocation": {"repository": "deploy-src", "commitId": sha[:10]}})["deploymentId"]
    info = wait(from_repo)
    check(info["status"] == "Succeeded", f"a CodeCommit commit deploys: {info['status']} {info.get('errorInformation')}")
    check(info["revision"]["gitHubLocation"] == {"repository": "deploy-src", "commitId": sha}, f"the revision names the full commit: {info['revision']}")
    check(open(marker).read().strip() == from_repo, "its hook ran on the host")
    expect_error("RevisionDoesNotExistException", cd.create_deployment, applicationName="restart", deploymentGroupName="g",
                 revision={"revisionType": "GitHub", "gitHubLocation": {"repository": "deploy-src", "commitId": "0" * 40}})
    expect_error("NotImplementedException", cd.create_deployment, applicationName="restart", deploymentGroupName="g",
                 revision={"revisionType": "GitHub", "gitHubLocation": {"repository": "octo/app", "commitId": sha}})
    escaped = [os.path.join(dirpath, f) for dirpath, _, files in os.walk(os.path.join(ROOT, "..")) for f in files if f == "escaped.txt"]
    check(escaped == [], f"nothing was written outside: {escaped}")
done()
