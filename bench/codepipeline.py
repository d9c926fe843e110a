"""CodePipeline end to end on a release build, with git over HTTPS (git credentials, so no aws
CLI start-up in the push) and one `ferry agent` on loopback:
  1. git push -> execution InProgress: the wall time from the start of `git push` until the new
     execution is visible through the API, against the same push to a repository no pipeline
     watches (the difference is what the trigger adds)
  2. Source -> Build (trivial buildspec) -> Deploy (1 agent): StartPipelineExecution -> Succeeded
  3. orchestration overhead per action: the execution's wall time minus the time spent inside
     the build (its own start to end) and the deployment (its own create to complete), divided
     by the number of actions

AWS for comparison (its documentation and users' reports): an event-based start takes seconds
to tens of seconds, and each CodeBuild action costs about a minute of provisioning and
orchestration before and after the build itself. moto cannot start an execution.
Starts its own `ferry serve` on 127.0.0.1. Usage: codepipeline.py FERRY_BIN WORKDIR"""

import io
import os
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import boto3

binary, work = sys.argv[1], sys.argv[2]
AKID = os.environ.get("AWS_ACCESS_KEY_ID", "AKIAFERRYBENCH000001")
SECRET = os.environ.get("AWS_SECRET_ACCESS_KEY", "benchSecret000000000000000000000000000001")
PORT = 4598
URL = f"http://127.0.0.1:{PORT}"
RUNS = int(os.environ.get("BENCH_CP_RUNS", "5"))
data = os.path.join(work, "cp-ferry")
env = dict(os.environ, FERRY_ROOT_ACCESS_KEY_ID=AKID, FERRY_ROOT_SECRET_ACCESS_KEY=SECRET, FERRY_LOG="warn")
server = subprocess.Popen([binary, "serve", "--data-dir", data, "--listen", f"127.0.0.1:{PORT}"],
                          env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
agent = None
try:
    for _ in range(200):
        try:
            urllib.request.urlopen(URL + "/healthz", timeout=1).read()
            break
        except OSError:
            time.sleep(0.05)
    kw = dict(endpoint_url=URL, region_name="us-east-1", aws_access_key_id=AKID, aws_secret_access_key=SECRET)
    cp, cc, cb, cd = (boto3.client(s, **kw) for s in ("codepipeline", "codecommit", "codebuild", "codedeploy"))
    iam = boto3.client("iam", **kw)
    iam.create_user(UserName="pusher")
    cred = iam.create_service_specific_credential(UserName="pusher", ServiceName="codecommit.amazonaws.com")["ServiceSpecificCredential"]
    auth = f"{urllib.parse.quote(cred['ServiceUserName'], safe='')}:{urllib.parse.quote(cred['ServicePassword'], safe='')}"
    genv = dict(os.environ, GIT_TERMINAL_PROMPT="0", GIT_CONFIG_NOSYSTEM="1", HOME=work)
    ident = ["-c", "user.name=Bench", "-c", "user.email=bench@example.com", "-c", "init.defaultBranch=main"]

    def git(*args, cwd=None):
        return subprocess.run(["git", *ident, *args], cwd=cwd, env=genv, check=True, capture_output=True).stdout.decode()

    def repo(name):
        cc.create_repository(repositoryName=name)
        path = os.path.join(work, f"cp-{name}")
        git("clone", f"http://{auth}@127.0.0.1:{PORT}/v1/repos/{name}", path)
        with open(os.path.join(path, "appspec.yml"), "w") as f:
            f.write("version: 0.0\nos: linux\n")
        git("add", ".", cwd=path)
        git("commit", "-m", "start", cwd=path)
        git("push", "origin", "HEAD:main", cwd=path)
        return path

    def commit(path, i):
        with open(os.path.join(path, "n.txt"), "w") as f:
            f.write(f"{i}\n")
        git("add", ".", cwd=path)
        git("commit", "-qm", f"change {i}", cwd=path)

    app, plain = repo("app"), repo("plain")
    role = "arn:aws:iam::123456789012:role/bench"
    cb.create_project(name="trivial", source={"type": "CODEPIPELINE", "buildspec": "version: 0.2\nphases:\n  build:\n    commands:\n      - echo built\nartifacts:\n  files:\n    - appspec.yml\n"},
                      artifacts={"type": "CODEPIPELINE"}, serviceRole=role,
                      environment={"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0", "computeType": "BUILD_GENERAL1_SMALL"})
    token = subprocess.run([binary, "admin", "--data-dir", data, "create-agent-token"], env=env, capture_output=True, text=True, check=True).stdout.strip()
    aenv = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    aenv.update(HOME=work, FERRY_LOG="warn")
    root = os.path.join(work, "cp-agent")
    agent = subprocess.Popen([binary, "agent", "--endpoint", URL, "--name", "cp-host", "--root", root, "--allow-root", root,
                              "--tag", "role=cp", "--registration-token", token], env=aenv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while "cp-host" not in cd.list_on_premises_instances(registrationStatus="Registered")["instanceNames"]:
        time.sleep(0.05)
    cd.create_application(applicationName="app")
    cd.create_deployment_group(applicationName="app", deploymentGroupName="g", serviceRoleArn=role,
                               onPremisesInstanceTagFilters=[{"Key": "role", "Value": "cp", "Type": "KEY_AND_VALUE"}])
    action = lambda cat, prov, cfg, ins=(), outs=(): {  # noqa: E731
        "name": prov, "actionTypeId": {"category": cat, "owner": "AWS", "provider": prov, "version": "1"}, "configuration": cfg,
        "inputArtifacts": [{"name": n} for n in ins], "outputArtifacts": [{"name": n} for n in outs]}
    cp.create_pipeline(pipeline={
        "name": "app", "roleArn": role, "pipelineType": "V2", "executionMode": "QUEUED",
        "artifactStore": {"type": "S3", "location": "cp-artifacts"},
        "stages": [
            {"name": "Source", "actions": [action("Source", "CodeCommit", {"RepositoryName": "app", "BranchName": "main"}, outs=["Src"])]},
            {"name": "Build", "actions": [action("Build", "CodeBuild", {"ProjectName": "trivial"}, ins=["Src"], outs=["Out"])]},
            {"name": "Deploy", "actions": [action("Deploy", "CodeDeploy", {"ApplicationName": "app", "DeploymentGroupName": "g"}, ins=["Out"])]},
        ]})

    def wait_done(eid):
        while True:
            e = cp.get_pipeline_execution(pipelineName="app", pipelineExecutionId=eid)["pipelineExecution"]
            if e["status"] not in ("InProgress", "Stopping"):
                if e["status"] != "Succeeded":
                    raise SystemExit(f"execution {eid}: {e['status']} {e.get('statusSummary')}")
                return
            time.sleep(0.005)

    def known():
        return {e["pipelineExecutionId"] for e in cp.list_pipeline_executions(pipelineName="app")["pipelineExecutionSummaries"]}

    wait_done(next(iter(known())))

    # 1. push -> InProgress, against a push nobody watches.
    trig, base = [], []
    for i in range(RUNS):
        commit(plain, i)
        t0 = time.time()
        git("push", "origin", "HEAD:main", cwd=plain)
        base.append(time.time() - t0)
        before = known()
        commit(app, i)
        t0 = time.time()
        git("push", "origin", "HEAD:main", cwd=app)
        while True:
            new = known() - before
            if new:
                break
            time.sleep(0.002)
        trig.append(time.time() - t0)
        wait_done(new.pop())
    print(f"git push -> execution InProgress: median {statistics.median(trig) * 1000:.0f} ms vs the same push to an unwatched repository "
          f"{statistics.median(base) * 1000:.0f} ms: the trigger adds {(statistics.median(trig) - statistics.median(base)) * 1000:.0f} ms")

    # 2 and 3. Start -> Succeeded, and what the orchestration costs per action.
    total, overhead = [], []
    for _ in range(RUNS):
        t0 = time.time()
        eid = cp.start_pipeline_execution(name="app")["pipelineExecutionId"]
        wait_done(eid)
        wall = time.time() - t0
        total.append(wall)
        details = cp.list_action_executions(pipelineName="app", filter={"pipelineExecutionId": eid})["actionExecutionDetails"]
        ext = {d["actionName"]: d["output"]["executionResult"]["externalExecutionId"] for d in details}
        b = cb.batch_get_builds(ids=[ext["CodeBuild"]])["builds"][0]
        dep = cd.get_deployment(deploymentId=ext["CodeDeploy"])["deploymentInfo"]
        inside = (b["endTime"] - b["startTime"]).total_seconds() + (dep["completeTime"] - dep["createTime"]).total_seconds()
        overhead.append((wall - inside) / len(details))
    print(f"Source -> Build -> Deploy (1 agent): median {statistics.median(total) * 1000:.0f} ms StartPipelineExecution -> Succeeded ({RUNS} runs)")
    print(f"orchestration overhead per action (not inside the build or the deployment): median {statistics.median(overhead) * 1000:.0f} ms")
finally:
    if agent:
        agent.terminate()
    server.terminate()
    server.wait()
