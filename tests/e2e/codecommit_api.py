"""boto3 against a running Ferry: CodeCommit repository, branch, commit and tag operations,
pagination, typed exceptions, and bad input (malformed JSON, wrong shapes, bad signatures,
truncated pushes) that must get AWS errors and change nothing.

Run by crates/ferry/tests/e2e_boto3.rs with FERRY_URL, FERRY_ACCOUNT, FERRY_DATA_DIR and AWS
credentials in the environment. Exits non-zero on the first failed check."""

import base64
import datetime
import glob
import json
import os
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from unittest import mock

import boto3
import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from helpers import check, done, expect_error
from helpers import git_raw as git

URL = os.environ["FERRY_URL"]
ACCOUNT = os.environ["FERRY_ACCOUNT"]
DATA_DIR = os.environ["FERRY_DATA_DIR"]
CFG = Config(retries={"max_attempts": 1, "mode": "standard"})
cc = boto3.client("codecommit", endpoint_url=URL, config=CFG)






def raw(target, body, *, creds=None, service="codecommit", sign=True, when=None, path="/", method="POST", headers=None):
    """Sends a hand-made request; returns (status, headers, parsed JSON or bytes)."""
    h = {"Content-Type": "application/x-amz-json-1.1"}
    if target:
        h["X-Amz-Target"] = target
    h.update(headers or {})
    req = AWSRequest(method=method, url=URL + path, data=body, headers=h)
    if sign:
        c = creds or Credentials(os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"])
        signer = botocore.auth.SigV4Auth(c, service, "us-east-1")
        if when:
            with mock.patch.object(botocore.auth, "get_current_datetime", return_value=when):
                signer.add_auth(req)
        else:
            signer.add_auth(req)
    prepared = req.prepare()
    r = urllib.request.Request(prepared.url, data=prepared.body, headers=dict(prepared.headers), method=method)
    try:
        with urllib.request.urlopen(r) as resp:
            data = resp.read()
            status, hdrs = resp.status, resp.headers
    except urllib.error.HTTPError as e:
        data, status, hdrs = e.read(), e.code, e.headers
    try:
        return status, hdrs, json.loads(data or b"{}")
    except ValueError:
        return status, hdrs, data


def raw_error(expected_code, expected_status, *args, **kwargs):
    status, hdrs, body = raw(*args, **kwargs)
    check(status == expected_status, f"{args[:2]}: status {status} != {expected_status}: {body}")
    check(isinstance(body, dict) and body.get("__type") == expected_code, f"{args[:2]}: {body} is not {expected_code}")
    check(hdrs.get("x-amzn-RequestId"), "every answer carries a request id")
    return body




# --- repositories -------------------------------------------------------------------------
md = cc.create_repository(repositoryName="b3", repositoryDescription="boto3 repo", tags={"env": "test"})["repositoryMetadata"]
check(md["repositoryName"] == "b3" and md["accountId"] == ACCOUNT, "create_repository metadata")
check(isinstance(md["creationDate"], datetime.datetime), "timestamps parse as datetimes")
check(md["cloneUrlHttp"] == f"{URL}/v1/repos/b3", "clone URL")
try:
    cc.create_repository(repositoryName="b3")
    check(False, "duplicate must fail")
except cc.exceptions.RepositoryNameExistsException:
    check(True, "typed exception")
expect_error("InvalidRepositoryNameException", cc.create_repository, repositoryName="a" * 101)
expect_error("InvalidRepositoryNameException", cc.create_repository, repositoryName="..")
expect_error("InvalidRepositoryNameException", cc.get_repository, repositoryName="has space")
expect_error("RepositoryDoesNotExistException", cc.get_repository, repositoryName="absent")
expect_error("InvalidSystemTagUsageException", cc.create_repository, repositoryName="tagged", tags={"aws:x": "y"})
check("tagged" not in [r["repositoryName"] for r in cc.list_repositories()["repositories"]], "a refused create leaves nothing")

batch = cc.batch_get_repositories(repositoryNames=["b3", "absent"])
check([r["repositoryName"] for r in batch["repositories"]] == ["b3"], "batch found")
check(batch["repositoriesNotFound"] == ["absent"], "batch not found")
check(batch["errors"][0]["errorCode"] == "RepositoryDoesNotExistException", "batch errors")
expect_error("MaximumRepositoryNamesExceededException", cc.batch_get_repositories, repositoryNames=[f"r{i}" for i in range(26)])
expect_error("RepositoryNamesRequiredException", cc.batch_get_repositories, repositoryNames=[])

for name in ["zeta", "Alpha", "mid"]:
    cc.create_repository(repositoryName=name)
pages = list(cc.get_paginator("list_repositories").paginate(sortBy="repositoryName", order="ascending"))
names = [r["repositoryName"] for p in pages for r in p["repositories"]]
check(names == ["Alpha", "b3", "mid", "zeta"], f"sorted listing {names}")
by_date = [r["repositoryName"] for r in cc.list_repositories(sortBy="lastModifiedDate", order="descending")["repositories"]]
check(by_date[0] == "mid", f"most recently modified first {by_date}")
expect_error("InvalidContinuationTokenException", cc.list_repositories, nextToken="garbage")
for name in ["zeta", "Alpha", "mid"]:
    cc.delete_repository(repositoryName=name)
check(cc.delete_repository(repositoryName="zeta").get("repositoryId") is None, "deleting an absent repository succeeds empty")

# --- tags ---------------------------------------------------------------------------------
arn = md["Arn"]
cc.tag_resource(resourceArn=arn, tags={"team": "ferry", "tier": "1"})
check(cc.list_tags_for_resource(resourceArn=arn)["tags"] == {"env": "test", "team": "ferry", "tier": "1"}, "tags added")
cc.untag_resource(resourceArn=arn, tagKeys=["tier", "env"])
check(cc.list_tags_for_resource(resourceArn=arn)["tags"] == {"team": "ferry"}, "tags removed")
expect_error("InvalidResourceArnException", cc.list_tags_for_resource, resourceArn="arn:aws:s3:::bucket")
expect_error("RepositoryDoesNotExistException", cc.list_tags_for_resource, resourceArn=f"arn:aws:codecommit:us-east-1:{ACCOUNT}:absent")
expect_error("TooManyTagsException", cc.tag_resource, resourceArn=arn, tags={f"k{i}": "v" for i in range(60)})
check(cc.list_tags_for_resource(resourceArn=arn)["tags"] == {"team": "ferry"}, "refused tagging changes nothing")

# --- branches and commits through a real push ---------------------------------------------
work = tempfile.mkdtemp()
git("init", "-q", cwd=work)
with open(os.path.join(work, "a.txt"), "w") as f:
    f.write("a\n")
git("add", ".", cwd=work)
git("commit", "-q", "-m", "boto commit", cwd=work)
sha = git("rev-parse", "HEAD", cwd=work).decode().strip()
remote = f"{URL}/v1/repos/b3"
git("push", "-q", remote, "main", cwd=work)
check(cc.get_repository(repositoryName="b3")["repositoryMetadata"]["defaultBranch"] == "main", "default branch after push")
commit = cc.get_commit(repositoryName="b3", commitId=sha)["commit"]
check(commit["commitId"] == sha and commit["parents"] == [] and commit["message"] == "boto commit\n", "get_commit")
check(commit["committer"]["email"] == "boto@example.com", "committer")
expect_error("InvalidCommitIdException", cc.get_commit, repositoryName="b3", commitId="xyz")
expect_error("CommitIdDoesNotExistException", cc.get_commit, repositoryName="b3", commitId="0" * 40)
expect_error("CommitDoesNotExistException", cc.create_branch, repositoryName="b3", branchName="x", commitId="1" * 40)
expect_error("InvalidBranchNameException", cc.create_branch, repositoryName="b3", branchName="bad..name", commitId=sha)
expect_error("BranchDoesNotExistException", cc.get_branch, repositoryName="b3", branchName="nope")
expect_error("BranchDoesNotExistException", cc.update_default_branch, repositoryName="b3", defaultBranchName="nope")
for i in range(120):
    cc.create_branch(repositoryName="b3", branchName=f"feature/{i:03d}", commitId=sha)
pages = list(cc.get_paginator("list_branches").paginate(repositoryName="b3"))
branches = [b for p in pages for b in p["branches"]]
check(len(pages) == 2 and len(branches) == 121 and len(set(branches)) == 121, f"{len(pages)} pages, {len(branches)} branches")
check(cc.get_branch(repositoryName="b3", branchName="feature/007")["branch"]["commitId"] == sha, "get_branch")
refs = git("ls-remote", remote, cwd=work).decode()
check(refs.count("refs/heads/feature/") == 120, "API branches visible to git")

# --- bad input on the wire ----------------------------------------------------------------
raw_error("SerializationException", 400, "CodeCommit_20150413.GetRepository", b"{")
raw_error("SerializationException", 400, "CodeCommit_20150413.GetRepository", b"[1,2]")
raw_error("SerializationException", 400, "CodeCommit_20150413.GetRepository", b'{"repositoryName": 5}')
raw_error("RepositoryNameRequiredException", 400, "CodeCommit_20150413.GetRepository", b"{}")
raw_error("InvalidSortByException", 400, "CodeCommit_20150413.ListRepositories", b'{"sortBy": "size"}')
raw_error("UnknownOperationException", 400, "CodeCommit_20150413.NoSuchThing", b"{}")
raw_error("UnknownOperationException", 400, "Nope_20200101.GetRepository", b"{}")
raw_error("MissingAuthenticationTokenException", 403, "CodeCommit_20150413.ListRepositories", b"{}", sign=False)
create = json.dumps({"repositoryName": "forged"}).encode()
raw_error("InvalidSignatureException", 400, "CodeCommit_20150413.CreateRepository", create,
          creds=Credentials(os.environ["AWS_ACCESS_KEY_ID"], "wrong-secret"))
raw_error("UnrecognizedClientException", 400, "CodeCommit_20150413.CreateRepository", create,
          creds=Credentials("AKIANOSUCHKEY0000000", "whatever"))
old = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=20)
body = raw_error("InvalidSignatureException", 400, "CodeCommit_20150413.CreateRepository", create, when=old)
check("expired" in body["message"].lower(), "expired signature message")
raw_error("InvalidSignatureException", 400, "CodeCommit_20150413.CreateRepository", create, service="codebuild")
check("forged" not in [r["repositoryName"] for r in cc.list_repositories()["repositories"]], "refused requests change nothing")

# Services and operations not implemented yet answer so, without a 5xx.
cb = boto3.client("codebuild", endpoint_url=URL, config=CFG)
try:
    cb.list_fleets()
    check(False, "CodeBuild fleets are not implemented yet")
except cb.exceptions.ClientError as e:
    check(e.response["Error"]["Code"] == "NotImplementedException", "codebuild not implemented")
    check(e.response["ResponseMetadata"]["HTTPStatusCode"] == 400, "not implemented is not a 5xx")
ca = boto3.client("codeartifact", endpoint_url=URL, config=CFG)
try:
    ca.list_package_groups(domain="d1")
    check(False, "a domain that does not exist has no package groups")
except ca.exceptions.ClientError as e:
    check(e.response["Error"]["Code"] == "ResourceNotFoundException"
          and e.response["ResponseMetadata"]["HTTPStatusCode"] == 404, f"codeartifact routed: {e}")
raw_error("ValidationException", 400, None, b"", service="codeartifact", path="/v1/domain?domain=UPPER", method="GET")

# --- git transport refusals and a truncated push ------------------------------------------
try:
    urllib.request.urlopen(f"{URL}/v1/repos/b3/info/refs?service=git-upload-pack")
    check(False, "anonymous git must be refused")
except urllib.error.HTTPError as e:
    check(e.code == 401 and e.headers.get("WWW-Authenticate", "").startswith("Basic"), "401 with WWW-Authenticate")

host = URL.split("://", 1)[1]
cred = subprocess.run(["aws", "codecommit", "credential-helper", "--ignore-host-check", "get"],
                      input=f"protocol=http\nhost={host}\npath=v1/repos/b3\n\n", capture_output=True, text=True, check=True).stdout
fields = dict(line.split("=", 1) for line in cred.strip().splitlines())
auth = base64.b64encode(f"{fields['username']}:{fields['password']}".encode()).decode()
with open(os.path.join(work, "big.bin"), "wb") as f:
    f.write(os.urandom(2_000_000))
git("add", ".", cwd=work)
git("commit", "-q", "-m", "big", cwd=work)
new = git("rev-parse", "HEAD", cwd=work).decode().strip()
pack = git("pack-objects", "--stdout", "--revs", "-q", cwd=work, input=f"{new}\n^{sha}\n".encode())
cmd = f"{sha} {new} refs/heads/main\0 report-status\n".encode()
pkt = f"{len(cmd) + 4:04x}".encode() + cmd + b"0000"
req = urllib.request.Request(f"{URL}/v1/repos/b3/git-receive-pack", data=pkt + pack[: len(pack) // 2], method="POST",
                             headers={"Authorization": "Basic " + auth, "Content-Type": "application/x-git-receive-pack-request"})
with urllib.request.urlopen(req) as resp:
    answer = resp.read()
check(b"unpack ok" not in answer, f"a truncated pack is not accepted: {answer[:200]!r}")
check(cc.get_branch(repositoryName="b3", branchName="main")["branch"]["commitId"] == sha, "truncated push leaves the ref")
for d in glob.glob(os.path.join(DATA_DIR, "git", "*.git")):
    subprocess.run(["git", "--git-dir", d, "fsck", "--strict"], check=True, capture_output=True)
    check(not glob.glob(os.path.join(d, "objects", "incoming-*")), "no quarantine left behind")
git("push", "-q", remote, "main", cwd=work)
check(cc.get_branch(repositoryName="b3", branchName="main")["branch"]["commitId"] == new, "the full push then works")

# A gzip-compressed upload-pack request (git compresses large fetch negotiations).
import gzip
want = f"want {new} ofs-delta\n".encode()
negotiation = f"{len(want) + 4:04x}".encode() + want + b"0000" + b"0009done\n"
req = urllib.request.Request(f"{URL}/v1/repos/b3/git-upload-pack", data=gzip.compress(negotiation), method="POST",
                             headers={"Authorization": "Basic " + auth, "Content-Encoding": "gzip",
                                      "Content-Type": "application/x-git-upload-pack-request"})
with urllib.request.urlopen(req) as resp:
    check(resp.headers["Content-Type"] == "application/x-git-upload-pack-result", "upload-pack result type")
    check(b"PACK" in resp.read(), "a gzip request body is inflated and answered with a pack")

# --- repository triggers: a signed POST to an http:// destination on each push -------------
import hashlib
import hmac
import http.server
import queue
import threading

received = queue.Queue()


class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        received.put((self.path, self.headers.get("X-Ferry-Signature-256"), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


hook = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
threading.Thread(target=hook.serve_forever, daemon=True).start()
hook_url = f"http://127.0.0.1:{hook.server_address[1]}/hook"
triggers = [{"name": "web", "destinationArn": hook_url, "branches": ["main"], "events": ["updateReference"], "customData": "ci"},
            {"name": "topic", "destinationArn": f"arn:aws:sns:us-east-1:{ACCOUNT}:pushes", "events": ["all"]}]
conf = cc.put_repository_triggers(repositoryName="b3", triggers=triggers)["configurationId"]
got = cc.get_repository_triggers(repositoryName="b3")
check(got["configurationId"] == conf and [t["name"] for t in got["triggers"]] == ["web", "topic"], "triggers stored")
expect_error("InvalidRepositoryTriggerDestinationArnException", cc.put_repository_triggers, repositoryName="b3",
             triggers=[{"name": "x", "destinationArn": "ftp://nope", "events": ["all"]}])
expect_error("MaximumRepositoryTriggersExceededException", cc.put_repository_triggers, repositoryName="b3",
             triggers=[{"name": f"t{i}", "destinationArn": hook_url, "events": ["all"]} for i in range(11)])
check(cc.get_repository_triggers(repositoryName="b3")["configurationId"] == conf, "refused configurations change nothing")
tested = cc.test_repository_triggers(repositoryName="b3", triggers=triggers)
check(tested["successfulExecutions"] == ["web"] and tested["failedExecutions"][0]["trigger"] == "topic", f"test {tested}")
path, sig, body = received.get(timeout=10)
check(json.loads(body)["Records"][0]["eventName"] == "TriggerEventTest", "test event delivered")
secret = subprocess.run([os.environ["FERRY_BIN"], "admin", "--data-dir", DATA_DIR, "trigger-secret"], capture_output=True, text=True,
                        check=True).stdout.strip()
check(sig == "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(), "delivery is signed")
with open(os.path.join(work, "hooked.txt"), "w") as fh:
    fh.write("trigger me\n")
git("add", ".", cwd=work)
git("commit", "-q", "-m", "for the trigger", cwd=work)
git("push", "-q", remote, "main", cwd=work)
path, sig, body = received.get(timeout=10)
rec = json.loads(body)["Records"][0]
check(path == "/hook" and rec["eventName"] == "ReferenceChanges" and rec["customData"] == "ci", f"push event {rec}")
check(rec["codecommit"]["references"] == [{"ref": "refs/heads/main", "commit": git("rev-parse", "HEAD", cwd=work).decode().strip()}], "references")
check(rec["eventSourceARN"].endswith(":b3") and rec["eventTriggerConfigId"] == conf and rec["userIdentityARN"].endswith(":root"), "record fields")
hook.shutdown()

# --- STS GetCallerIdentity (Query protocol, XML) -----------------------------------------------
sts = boto3.client("sts", endpoint_url=URL, config=CFG)
me = sts.get_caller_identity()
check(me["Account"] == ACCOUNT and me["Arn"] == f"arn:aws:iam::{ACCOUNT}:root" and me["UserId"] == ACCOUNT, f"caller identity {me}")
forged = boto3.client("sts", endpoint_url=URL, config=CFG, aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"], aws_secret_access_key="wrong")
expect_error("SignatureDoesNotMatch", forged.get_caller_identity)  # the Query protocol spelling
expect_error("NotImplemented", sts.decode_authorization_message, EncodedMessage="x")

# --- health and metrics -------------------------------------------------------------------
check(urllib.request.urlopen(f"{URL}/healthz").status == 200, "healthz")
metrics = urllib.request.urlopen(f"{URL}/metrics").read().decode()
check('ferry_requests_total{service="codecommit",operation="CreateBranch"} 122' in metrics, "metrics count operations (120 created, 2 refused)")

done()
