"""The web console in headless Chromium (Debian's, driven through ChromeDriver's WebDriver
protocol): a signed-out visitor only ever gets the sign-in page; a wrong password is refused;
root signs in with the password `FERRY_ROOT_PASSWORD` gave; the repository list, a pushed
repository's tree with its README rendered, a highlighted file with anchored line numbers, the commit log, a commit with its diff, and
the branches; pull requests (by another user: the diff, an approval rule satisfied by an
approval given on the page, a comment, a fast-forward merge, and a conflict notice); packages (a domain's
repositories, a repository's packages and endpoints, a version's install command, assets,
dependencies and readme, and its status changed through the console's form); builds (a project started from the
console, its log growing live while it runs, its phase timeline, retry and stop, a test
report with its failed case, and a zipped artifact downloaded); a pipeline
whose graph follows its execution without a reload, approved and its transition disabled from
the page, and a failed stage retried from the page; deployments (a host running `ferry agent` shown healthy, a failed hook's script and
log tail shown as text, the page following the deployment until it fails, and a long one stopped from its page); strings planted in a
file name, a commit message, a description and a file's content render as text (no script
runs, the page source has them escaped); a form without the CSRF token is refused; sign-out
ends the session; and the pages fit a phone's width. Screenshots of each page go to
FERRY_SCREENSHOTS (CI output, not committed).

Run by crates/ferry/tests/e2e_console.rs. Exits non-zero on the first failed check."""

import base64
import hashlib
import io
import json
import os
import socket
import subprocess
import tarfile
import tempfile
import time
import zipfile
import urllib.error
import urllib.request

import boto3

from helpers import check, done, git

URL = os.environ["FERRY_URL"]
PASSWORD = os.environ["FERRY_ROOT_PASSWORD"]
SHOTS = os.environ.get("FERRY_SCREENSHOTS") or tempfile.mkdtemp(prefix="ferry-shots-")
os.makedirs(SHOTS, exist_ok=True)
XSS = "<img src=x onerror=alert(1)>"
cc = boto3.client("codecommit", endpoint_url=URL, region_name="us-east-1")

# ---- a repository with hostile strings in it.
cc.create_repository(repositoryName="web-app", repositoryDescription=f"the shop {XSS}")
work = tempfile.mkdtemp(prefix="ferry-console-")
clone_url = cc.get_repository(repositoryName="web-app")["repositoryMetadata"]["cloneUrlHttp"]
git("clone", "-q", clone_url, work)
os.makedirs(os.path.join(work, "src"))
with open(os.path.join(work, "README.md"), "w") as f:
    f.write("# web-app\n\nA shop.\n")
with open(os.path.join(work, "src", "main.rs"), "w") as f:
    f.write("".join(f"// line {i}\n" for i in range(1, 120)) + f"fn main() {{ println!(\"{XSS}\"); }}\n")
with open(os.path.join(work, f"{XSS}.txt"), "w") as f:
    f.write("planted\n")
git("add", "-A", cwd=work)
git("commit", "-q", "-m", f"first <script>alert('commit')</script>", cwd=work)
git("push", "-q", "origin", "HEAD:main", cwd=work)


# ---- ChromeDriver and a headless Chromium.
def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


PORT = free_port()
driver = subprocess.Popen(["chromedriver", f"--port={PORT}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
WD = f"http://127.0.0.1:{PORT}"


def wd(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(WD + path, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.loads(r.read())["value"]
    except urllib.error.HTTPError as e:
        return {"error": json.loads(e.read())["value"].get("error")}


for _ in range(100):
    try:
        urllib.request.urlopen(WD + "/status", timeout=1)
        break
    except OSError:
        time.sleep(0.1)
profile = tempfile.mkdtemp(prefix="ferry-chromium-")
session = wd("POST", "/session", {"capabilities": {"alwaysMatch": {
    "browserName": "chrome",
    "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--window-size=1280,900"]}}}})
check("sessionId" in session, f"a browser session: {session}")
S = "/session/" + session["sessionId"]


def go(path):
    wd("POST", S + "/url", {"url": URL + path})


def here():
    return wd("GET", S + "/url")


def settle(want):
    """The URL once it satisfies `want` (a click's navigation can end after the click returns),
    or as it is after 5 s."""
    for _ in range(50):
        url = here()
        if want(url):
            return url
        time.sleep(0.1)
    return here()


def source():
    return wd("GET", S + "/source")


def find(css):
    el = wd("POST", S + "/element", {"using": "css selector", "value": css})
    if not isinstance(el, dict) or "error" in el:
        shot("failed-" + "".join(c for c in css if c.isalnum()))
    check(isinstance(el, dict) and "error" not in el, f"an element {css} on {here()}")
    return next(iter(el.values()))


def text_of(css):
    return wd("GET", f"{S}/element/{find(css)}/text")


def try_text(css):
    """The element's text, or "" while it is not there (say, during a navigation)."""
    el = wd("POST", S + "/element", {"using": "css selector", "value": css})
    if not isinstance(el, dict) or "error" in el:
        return ""
    got = wd("GET", f"{S}/element/{next(iter(el.values()))}/text")
    return got if isinstance(got, str) else ""


def shot(name):
    png = base64.b64decode(wd("GET", S + "/screenshot"))
    with open(os.path.join(SHOTS, f"{name}.png"), "wb") as f:
        f.write(png)


def imgs():
    """The img elements on the page (a planted tag that became one would be here)."""
    return wd("POST", S + "/elements", {"using": "css selector", "value": "img"})


def no_alert():
    got = wd("GET", S + "/alert/text")
    return isinstance(got, dict) and got.get("error") == "no such alert"


try:
    # ---- signed out: every page leads to the sign-in page.
    for path in ["/console", "/console/repos", "/console/repos/web-app/blob/README.md"]:
        go(path)
        check("/console/sign-in" in here(), f"{path} sends a visitor to sign in: {here()}")
    shot("01-sign-in")

    # ---- a wrong password, then the right one (back to the page asked for).
    find("input[name=user]")
    wd("POST", f"{S}/element/{find('input[name=user]')}/value", {"text": "root"})
    wd("POST", f"{S}/element/{find('input[name=password]')}/value", {"text": "not the password"})
    wd("POST", f"{S}/element/{find('button[type=submit]')}/click", {})
    settle(lambda u: True)
    check("not right" in text_of(".error"), "a wrong password is refused")
    wd("POST", f"{S}/element/{find('input[name=user]')}/value", {"text": "root"})
    wd("POST", f"{S}/element/{find('input[name=password]')}/value", {"text": PASSWORD})
    wd("POST", f"{S}/element/{find('button[type=submit]')}/click", {})
    url = settle(lambda u: u.endswith("/blob/README.md"))
    check(url.endswith("/console/repos/web-app/blob/README.md"), f"signed in, back where the visitor was going: {url}")

    # ---- the repository list.
    go("/console/repos")
    check("web-app" in text_of("table.list") and no_alert(), "the list shows the repository")
    check("&lt;img src=x onerror=alert(1)&gt;" in source() and not imgs(), "the planted description is escaped")
    shot("02-repositories")

    # ---- the tree, with the hostile file name as text.
    wd("POST", f"{S}/element/{find('table.list a')}/click", {})
    url = settle(lambda u: u.endswith("/console/repos/web-app"))
    check(url.endswith("/console/repos/web-app"), f"the repository page: {url}")
    tree = text_of("table.tree")
    check("src/" in tree and "README.md" in tree and XSS + ".txt" in tree, f"the tree: {tree}")
    check(no_alert() and not imgs() and "git clone " + clone_url in text_of("section.clone"), "clone instructions, nothing ran")
    check(text_of(".readme-rendered h1") == "web-app", "the README rendered as Markdown")
    shot("03-tree")

    # ---- a file, its lines anchored.
    go("/console/repos/web-app/blob/src/main.rs#L42")
    check(text_of("#L42 td.l") == "// line 42", f"line 42 by its anchor: {text_of('#L42 td.l')}")
    spans = wd("POST", S + "/elements", {"using": "css selector", "value": "#L120 td.l span"})
    check(len(spans) > 1, f"the Rust file is highlighted: {len(spans)} spans on line 120")
    check(no_alert() and "&lt;img src=x onerror=alert(1)&gt;" in source() and not imgs(), "the file's content is escaped")
    shot("04-file")
    go("/console/repos/web-app/blob/" + urllib.request.quote(XSS + ".txt"))
    check(text_of("#L1 td.l") == "planted" and no_alert(), "a file with a hostile name opens")

    # ---- a commit and its diff; the branches.
    go("/console/repos/web-app/commits")
    wd("POST", f"{S}/element/{find('table.list a')}/click", {})
    settle(lambda u: "/commit/" in u)
    check("first <script>alert('commit')</script>" in text_of("#message") and no_alert(), "the commit's message, as text")
    check("+ planted" in text_of("table.diff") or "planted" in text_of("table.diff"), f"its diff: {text_of('table.diff')}")
    shot("05b-commit")

    # ---- the commit log.
    go("/console/repos/web-app/commits")
    log = text_of("table.list")
    check("first <script>alert('commit')</script>" in log and no_alert(), f"the commit message as text: {log}")
    shot("05-commits")

    # ---- a pull request by another user: its diff, the approval rule, an approval, a comment
    #      and a merge from the page; a second one that conflicts shows the notice.
    iam = boto3.client("iam", endpoint_url=URL, region_name="us-east-1")
    iam.create_user(UserName="alice")
    key = iam.create_access_key(UserName="alice")["AccessKey"]
    alice = boto3.client("codecommit", endpoint_url=URL, region_name="us-east-1",
                         aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    base = git("rev-parse", "HEAD", cwd=work).strip()
    git("checkout", "-q", "-b", "feature", cwd=work)
    with open(os.path.join(work, "README.md"), "w") as f:
        f.write("# web-app\n\nA shop that sells things.\n")
    git("commit", "-q", "-am", "describe the shop", cwd=work)
    git("push", "-q", "origin", "feature", cwd=work)
    git("checkout", "-q", "-b", "clash", base, cwd=work)
    with open(os.path.join(work, "README.md"), "w") as f:
        f.write("# web-app\n\nA bakery.\n")
    git("commit", "-q", "-am", "a different story", cwd=work)
    git("push", "-q", "origin", "clash", cwd=work)
    pr = alice.create_pull_request(title=f"Describe {XSS}", description=f"Why: {XSS}",
                                   targets=[{"repositoryName": "web-app", "sourceReference": "feature", "destinationReference": "main"}])["pullRequest"]
    pid = pr["pullRequestId"]
    alice.create_pull_request_approval_rule(pullRequestId=pid, approvalRuleName="one-reviewer", approvalRuleContent=json.dumps(
        {"Version": "2018-11-08", "Statements": [{"Type": "Approvers", "NumberOfApprovalsNeeded": 1}]}))
    go("/console/repos/web-app/pulls")
    check(f"Describe {XSS}" in text_of("table.pulls") and no_alert() and not imgs(), "the pull request is listed, its title as text")
    go(f"/console/repos/web-app/pulls/{pid}")
    check(text_of("#approval-state") == "Rules not satisfied", f"the rule is not satisfied yet: {text_of('#approval-state')}")
    diff_text = text_of("table.diff")
    check("+ A shop that sells things." in diff_text and "- A shop." in diff_text, f"the diff: {diff_text}")
    shot("15-pull-request")
    wd("POST", f"{S}/element/{find('#approve')}/click", {})
    for _ in range(50):
        if try_text("#approval-state") == "Rules satisfied":
            break
        time.sleep(0.1)
    check(try_text("#approval-state") == "Rules satisfied" and "root" in text_of("#approvers"), "approved from the page")
    wd("POST", f"{S}/element/{find('textarea[name=content]')}/value", {"text": f"Looks good {XSS}"})
    wd("POST", f"{S}/element/{find('.comment-form button')}/click", {})
    for _ in range(50):
        if "Looks good" in try_text(".comments"):
            break
        time.sleep(0.1)
    check(f"Looks good {XSS}" in text_of(".comments") and not imgs() and no_alert(), "the comment, as text")
    wd("POST", f"{S}/element/{find('#merge')}/click", {})
    for _ in range(50):
        if try_text("#pr-status") == "Merged":
            break
        time.sleep(0.1)
    check(try_text("#pr-status") == "Merged", f"merged from the page: {try_text('#pr-status')}")
    merged = cc.get_pull_request(pullRequestId=pid)["pullRequest"]["pullRequestTargets"][0]["mergeMetadata"]
    check(merged["isMerged"] and merged["mergeOption"] == "FAST_FORWARD_MERGE", f"the API agrees: {merged}")
    clash = alice.create_pull_request(title="Bakery", targets=[{"repositoryName": "web-app", "sourceReference": "clash",
                                                                "destinationReference": "main"}])["pullRequest"]["pullRequestId"]
    go("/console/repos/web-app/branches")
    branches = text_of("table.branches")
    check("main" in branches and "default" in branches and "feature" in branches and "clash" in branches, f"the branches: {branches}")
    go(f"/console/repos/web-app/pulls/{clash}")
    check("conflict" in text_of("#conflict"), "a conflicting pull request says so instead of offering a merge")
    shot("16-pull-request-conflict")

    # ---- packages: a domain, a repository, an npm package whose readme carries a script.
    ca = boto3.client("codeartifact", endpoint_url=URL, region_name="us-east-1")
    ca.create_domain(domain="shop")
    ca.create_repository(domain="shop", repository="npm-store", description=f"store {XSS}")
    token = ca.get_authorization_token(domain="shop")["authorizationToken"]
    endpoint = ca.get_repository_endpoint(domain="shop", repository="npm-store", format="npm")["repositoryEndpoint"]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        data = json.dumps({"name": "greet", "version": "1.0.0"}).encode()
        info = tarfile.TarInfo("package/package.json")
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    tgz = buf.getvalue()
    doc = json.dumps({"name": "greet", "dist-tags": {"latest": "1.0.0"}, "readme": "# greet\n\nSays hello.\n\n<script>alert('readme')</script>\n",
                      "versions": {"1.0.0": {"name": "greet", "version": "1.0.0", "description": "says hello",
                                             "dependencies": {"left-pad": "^1.0.0"},
                                             "dist": {"shasum": hashlib.sha1(tgz).hexdigest()}}},
                      "_attachments": {"greet-1.0.0.tgz": {"data": base64.b64encode(tgz).decode(), "length": len(tgz)}}}).encode()
    req = urllib.request.Request(endpoint + "greet", data=doc, method="PUT",
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        check(r.status in (200, 201), "published greet")
    go("/console/packages")
    check("npm-store" in text_of("section.domain") and no_alert() and not imgs(), "the domain and its repository")
    shot("07-packages")
    wd("POST", f"{S}/element/{find('section.domain a')}/click", {})
    settle(lambda u: u.endswith("/npm-store"))
    check("greet" in text_of("table.list") and endpoint in text_of("section.clone"), "the repository's packages and endpoints")
    go("/console/packages/shop/npm-store/npm/greet/1.0.0")
    check(text_of("pre.install") == "npm install greet@1.0.0", f"the install command: {text_of('pre.install')}")
    scripts = wd("POST", S + "/elements", {"using": "css selector", "value": "#readme script"})
    check(text_of("#readme h1") == "greet" and "Says hello." in text_of("#readme") and scripts == [] and no_alert(),
          "the readme rendered as Markdown, its script dropped")
    check("left-pad" in text_of("table.deps") and "greet-1.0.0.tgz" in text_of("table.assets"), "dependencies and assets")
    shot("08-package-version")
    # The status form (CSRF-checked) archives the version, as the API then reports.
    wd("POST", f"{S}/element/{find('select[name=status] option:nth-child(3)')}/click", {})
    wd("POST", f"{S}/element/{find('form.status button')}/click", {})
    for _ in range(50):
        if try_text("strong.status") == "Archived":
            break
        time.sleep(0.1)
    check(text_of("strong.status") == "Archived", f"archived from the console: {text_of('strong.status')}")
    got = ca.describe_package_version(domain="shop", repository="npm-store", format="npm", package="greet",
                                      packageVersion="1.0.0")["packageVersion"]["status"]
    check(got == "Archived", f"and the API agrees: {got}")

    # ---- builds: start one from the console, watch its log grow live, then retry and stop.
    cb = boto3.client("codebuild", endpoint_url=URL, region_name="us-east-1")
    spec = ("version: 0.2\nphases:\n  build:\n    commands:\n      - echo first line\n"
            "      - echo '<script>alert(\"log\")</script>'\n      - sleep 3\n      - echo last line\n")
    cb.create_project(name="site", source={"type": "NO_SOURCE", "buildspec": spec}, artifacts={"type": "NO_ARTIFACTS"},
                      environment={"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0", "computeType": "BUILD_GENERAL1_SMALL"},
                      serviceRole="arn:aws:iam::000000000000:role/build")
    go("/console/builds")
    check("site" in text_of("table.list"), "the project is listed")
    wd("POST", f"{S}/element/{find('table.list form button')}/click", {})
    url = settle(lambda u: "/console/builds/site/site%3A" in u or "/console/builds/site/site:" in u)
    check("/console/builds/site/site" in url, f"the started build's page: {url}")
    growing = ""
    for _ in range(100):
        growing = try_text("#log")
        if "first line" in growing:
            break
        time.sleep(0.1)
    check("first line" in growing and "last line" not in growing, f"the log so far, while the build runs: {growing!r}")
    shot("09-build-running")
    for _ in range(150):
        done_log = try_text("#log")
        if "last line" in done_log and try_text("#status") == "SUCCEEDED":
            break
        time.sleep(0.1)
    check("last line" in text_of("#log") and text_of("#status") == "SUCCEEDED", f"the log grew to the end: {text_of('#log')!r}")
    check("<script>alert(\"log\")</script>" in text_of("#log") and no_alert(), "a script in the log is text")
    phases = text_of("table.phases")
    check("BUILD" in phases and "SUCCEEDED" in phases and "UPLOAD_ARTIFACTS" in phases, f"the phase timeline: {phases}")
    shot("10-build-done")
    wd("POST", f"{S}/element/{find('.actions form button')}/click", {})
    retried = settle(lambda u: u != url and "/console/builds/site/" in u)
    check(retried != url and "/console/builds/site/site" in retried, f"retry started a new build: {retried}")
    slow = spec.replace("sleep 3", "sleep 60")
    cb.update_project(name="site", source={"type": "NO_SOURCE", "buildspec": slow})
    go("/console/builds/site")
    wd("POST", f"{S}/element/{find('main form button')}/click", {})
    settle(lambda u: "/console/builds/site/site" in u)
    for _ in range(100):
        if "first line" in try_text("#log"):
            break
        time.sleep(0.1)
    wd("POST", f"{S}/element/{find('.actions form button')}/click", {})
    for _ in range(150):
        go(here().split("#")[0])
        if try_text("#status") == "STOPPED":
            break
        time.sleep(0.2)
    check(text_of("#status") == "STOPPED", f"the Stop button stopped it: {text_of('#status')}")
    for _ in range(100):
        statuses = [b["buildStatus"] for b in cb.batch_get_builds(ids=cb.list_builds_for_project(projectName="site")["ids"])["builds"]]
        if "IN_PROGRESS" not in statuses:
            break
        time.sleep(0.1)
    check(sorted(statuses) == ["STOPPED", "SUCCEEDED", "SUCCEEDED"], f"the API agrees: {statuses}")

    # ---- a build's test report: counts, the failed case first with its message, as text.
    junit = ("<testsuite name='s' tests='2' failures='1'><testcase classname='shop' name='adds' time='0.1'/>"
             "<testcase classname='shop' name='pays' time='0.2'><failure message='card &lt;b&gt;declined&lt;/b&gt;'>boom</failure>"
             "</testcase></testsuite>")
    tested = ("version: 0.2\nphases:\n  build:\n    commands:\n      - mkdir -p out\n"
              f"      - echo \"{junit}\" > out/junit.xml\nreports:\n  unit:\n    files:\n      - junit.xml\n    base-directory: out\n")
    cb.create_project(name="tested", source={"type": "NO_SOURCE", "buildspec": tested}, artifacts={"type": "NO_ARTIFACTS"},
                      environment={"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0", "computeType": "BUILD_GENERAL1_SMALL"},
                      serviceRole="arn:aws:iam::000000000000:role/build")
    tid = cb.start_build(projectName="tested")["build"]["id"]
    for _ in range(200):
        if cb.batch_get_builds(ids=[tid])["builds"][0]["buildComplete"]:
            break
        time.sleep(0.1)
    go(f"/console/builds/tested/{urllib.request.quote(tid)}")
    report = text_of("section.report")
    check("2 tests" in report and "1 failed" in report and "1 succeeded" in report, f"the report's counts: {report}")
    first = text_of("table.cases tr")
    check("pays" in first and "FAILED" in first and "card <b>declined</b>" in first and not imgs(), f"the failed case first, its message as text: {first}")
    shot("10b-build-report")

    # ---- a build's zipped artifact, downloaded from the page.
    boto3.client("s3", endpoint_url=URL, region_name="us-east-1").create_bucket(Bucket="build-out")
    packaged = ("version: 0.2\nphases:\n  build:\n    commands:\n      - echo '<h1>shop</h1>' > index.html\n"
                "artifacts:\n  files:\n    - index.html\n")
    cb.create_project(name="packaged", source={"type": "NO_SOURCE", "buildspec": packaged},
                      artifacts={"type": "S3", "location": "build-out", "packaging": "ZIP", "name": "site.zip"},
                      environment={"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0", "computeType": "BUILD_GENERAL1_SMALL"},
                      serviceRole="arn:aws:iam::000000000000:role/build")
    pkid = cb.start_build(projectName="packaged")["build"]["id"]
    for _ in range(200):
        if cb.batch_get_builds(ids=[pkid])["builds"][0]["buildComplete"]:
            break
        time.sleep(0.1)
    go(f"/console/builds/packaged/{urllib.request.quote(pkid)}")
    href = URL + wd("GET", f"{S}/element/{find('#download')}/attribute/href")
    session_cookie = next(c["value"] for c in wd("GET", S + "/cookie") if c["name"] == "ferry_session")
    with urllib.request.urlopen(urllib.request.Request(href, headers={"Cookie": f"ferry_session={session_cookie}"})) as r:
        check('filename="site.zip"' in r.headers.get("Content-Disposition", ""), f"a download: {r.headers}")
        with zipfile.ZipFile(io.BytesIO(r.read())) as z:
            check(z.read("index.html").decode().strip() == "<h1>shop</h1>", f"the artifact's files: {z.namelist()}")

    # ---- a pipeline: its graph follows the execution without a reload; the approval is
    #      granted from the page, and the pipeline finishes.
    cp = boto3.client("codepipeline", endpoint_url=URL, region_name="us-east-1")
    role = "arn:aws:iam::000000000000:role/pipeline"
    cb.create_project(name="pipe-build", source={"type": "CODEPIPELINE", "buildspec": "version: 0.2\nphases:\n  build:\n    commands:\n      - echo built\n"},
                      artifacts={"type": "CODEPIPELINE"},
                      environment={"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0", "computeType": "BUILD_GENERAL1_SMALL"},
                      serviceRole=role)
    cp.create_pipeline(pipeline={
        "name": "release", "roleArn": role, "artifactStore": {"type": "S3", "location": "release-artifacts"},
        "stages": [
            {"name": "Source", "actions": [{"name": "Source", "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "CodeCommit", "version": "1"},
                                            "configuration": {"RepositoryName": "web-app", "BranchName": "main", "PollForSourceChanges": "false"},
                                            "outputArtifacts": [{"name": "src"}]}]},
            {"name": "Approve", "actions": [{"name": "Gate", "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"}}]},
            {"name": "Build", "actions": [{"name": "Build", "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
                                           "configuration": {"ProjectName": "pipe-build"}, "inputArtifacts": [{"name": "src"}]}]},
        ]})
    go("/console/pipelines")
    check("release" in text_of("table.list"), "the pipeline is listed")
    go("/console/pipelines/release")
    for _ in range(150):
        if "Approve" in try_text("form.approval"):
            break
        time.sleep(0.2)
    check("Approve" in text_of("form.approval"), "the waiting approval shows its buttons (the page followed the execution)")
    check(text_of('[data-action="Source/Source"] [data-action-status]') == "Succeeded", "the source action succeeded")
    shot("11-pipeline-waiting")
    wd("POST", f"{S}/element/{find('form.approval button[value=approve]')}/click", {})
    settle(lambda u: u.endswith("/console/pipelines/release"))
    wd("POST", S + "/execute/sync", {"script": "window.__stay = 1; return 1", "args": []})
    status = ""
    for _ in range(150):
        status = try_text('[data-stage="Build"] [data-stage-status]')
        if status == "Succeeded":
            break
        time.sleep(0.2)
    check(status == "Succeeded", f"the build stage finished, seen on the page: {status}")
    stayed = wd("POST", S + "/execute/sync", {"script": "return window.__stay === 1", "args": []})
    check(stayed is True, "the page followed the build stage without reloading")
    go("/console/pipelines/release")
    check("Succeeded" in text_of("table.history"), "the execution history")
    shot("12-pipeline-done")
    got = cp.get_pipeline_state(name="release")["stageStates"][1]["actionStates"][0]["latestExecution"]
    check(got["status"] == "Succeeded" and "in the console" in got.get("summary", ""), f"approved through the console: {got}")
    # A failed stage retried from the page once its cause is fixed.
    cb.create_project(name="flaky", source={"type": "CODEPIPELINE", "buildspec": "version: 0.2\nphases:\n  build:\n    commands:\n      - exit 1\n"},
                      artifacts={"type": "CODEPIPELINE"},
                      environment={"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0", "computeType": "BUILD_GENERAL1_SMALL"},
                      serviceRole=role)
    cp.create_pipeline(pipeline={
        "name": "flaky-pipe", "roleArn": role, "artifactStore": {"type": "S3", "location": "release-artifacts"},
        "stages": [
            {"name": "Source", "actions": [{"name": "Source", "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "CodeCommit", "version": "1"},
                                            "configuration": {"RepositoryName": "web-app", "BranchName": "main", "PollForSourceChanges": "false"},
                                            "outputArtifacts": [{"name": "src"}]}]},
            {"name": "Build", "actions": [{"name": "Build", "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
                                           "configuration": {"ProjectName": "flaky"}, "inputArtifacts": [{"name": "src"}]}]},
        ]})
    go("/console/pipelines/flaky-pipe")
    for _ in range(150):
        if wd("POST", S + "/elements", {"using": "css selector", "value": "input[name=what][value=retry]"}):
            break
        time.sleep(0.2)
    cb.update_project(name="flaky", source={"type": "CODEPIPELINE", "buildspec": "version: 0.2\nphases:\n  build:\n    commands:\n      - echo fixed\n"})
    retry = wd("POST", S + "/element", {"using": "xpath", "value": "//input[@value='retry']/../button"})
    check(isinstance(retry, dict) and "error" not in retry,
          f"the failed stage offers a retry: {retry} {[(x['stageName'], x.get('latestExecution')) for x in cp.get_pipeline_state(name='flaky-pipe')['stageStates']]}")
    wd("POST", f"{S}/element/{next(iter(retry.values()))}/click", {})
    for _ in range(150):
        if try_text('[data-stage="Build"] [data-stage-status]') == "Succeeded":
            break
        time.sleep(0.2)
    check(try_text('[data-stage="Build"] [data-stage-status]') == "Succeeded", "the retried stage succeeded")
    go("/console/pipelines/release")
    # Disabling the transition into Build from the page.
    wd("POST", f"{S}/element/{find('.transition button')}/click", {})
    settle(lambda u: u.endswith("/console/pipelines/release"))
    enabled = cp.get_pipeline_state(name="release")["stageStates"][1]["inboundTransitionState"]["enabled"]
    check(enabled is False, "the transition into Approve was disabled from the page")

    # ---- deployments: a host running `ferry agent`; a deployment whose hook fails, its script's
    #      output shown as text on the page.
    cdp = boto3.client("codedeploy", endpoint_url=URL, region_name="us-east-1")
    s3 = boto3.client("s3", endpoint_url=URL, region_name="us-east-1")
    admin = [os.environ["FERRY_BIN"], "admin", "--data-dir", os.environ["FERRY_DATA_DIR"]]
    if os.environ.get("FERRY_DATABASE_URL"):
        admin += ["--database-url", os.environ["FERRY_DATABASE_URL"]]
    reg = subprocess.run(admin + ["create-agent-token"], capture_output=True, text=True).stdout.strip()
    agent_root = tempfile.mkdtemp(prefix="ferry-console-agent-")
    agent_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    agent_env.update(HOME=agent_root, AWS_REGION="us-east-1", FERRY_LOG="warn")
    agent = subprocess.Popen([os.environ["FERRY_BIN"], "agent", "--endpoint", URL, "--name", "web1", "--root", agent_root,
                              "--allow-root", agent_root, "--tag", "role=web", "--registration-token", reg],
                             env=agent_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            if "web1" in cdp.list_on_premises_instances(registrationStatus="Registered")["instanceNames"]:
                break
            time.sleep(0.1)
        s3.create_bucket(Bucket="bundles")
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("appspec.yml", "version: 0.0\nos: linux\nhooks:\n  ApplicationStart:\n    - location: scripts/start.sh\n")
            info = zipfile.ZipInfo("scripts/start.sh")
            info.external_attr = 0o100755 << 16
            z.writestr(info, "#!/bin/sh\necho 'starting <b>shop</b>'\necho 'port taken' >&2\nexit 3\n")
        etag = s3.put_object(Bucket="bundles", Key="shop.zip", Body=buf.getvalue())["ETag"].strip('"')
        cdp.create_application(applicationName="shop")
        cdp.create_deployment_group(applicationName="shop", deploymentGroupName="prod", serviceRoleArn=role,
                                    onPremisesInstanceTagFilters=[{"Key": "role", "Value": "web", "Type": "KEY_AND_VALUE"}])
        dep = cdp.create_deployment(applicationName="shop", deploymentGroupName="prod", revision={
            "revisionType": "S3", "s3Location": {"bucket": "bundles", "key": "shop.zip", "bundleType": "zip", "eTag": etag}})["deploymentId"]
        go(f"/console/deployments/d/{dep}")
        for _ in range(300):
            if try_text("#status") == "Failed":
                break
            time.sleep(0.2)
        check(try_text("#status") == "Failed", f"the deployment page followed it to Failed: {try_text('#status')}")
        events = text_of("table.events")
        check("ApplicationStart" in events and "scripts/start.sh" in events, f"the failed hook and its script: {events}")
        tail = text_of("pre.log")
        check("starting <b>shop</b>" in tail and "port taken" in tail, f"the script's log tail, as text: {tail!r}")
        bold = wd("POST", S + "/elements", {"using": "css selector", "value": "pre.log b"})
        check(bold == [] and no_alert(), "no markup from the script's output")
        shot("13-deployment-failed")
        go("/console/deployments")
        wd("POST", f"{S}/element/{find('section.domain a')}/click", {})
        settle(lambda u: u.endswith("/console/deployments/shop/prod"))
        check("web1" in text_of("table.instances") and "healthy" in text_of("table.instances"), f"the instance and its agent: {text_of('table.instances')}")
        check(dep in text_of("table.deployments") and "Failed" in text_of("table.deployments"), "the group's deployments")
        shot("14-deployment-group")
        # A long deployment stopped from its page.
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("appspec.yml", "version: 0.0\nos: linux\nhooks:\n  ApplicationStart:\n    - location: scripts/start.sh\n      timeout: 120\n")
            info = zipfile.ZipInfo("scripts/start.sh")
            info.external_attr = 0o100755 << 16
            z.writestr(info, "#!/bin/sh\nsleep 6\n")
        etag = s3.put_object(Bucket="bundles", Key="slow.zip", Body=buf.getvalue())["ETag"].strip('"')
        slow = cdp.create_deployment(applicationName="shop", deploymentGroupName="prod", revision={
            "revisionType": "S3", "s3Location": {"bucket": "bundles", "key": "slow.zip", "bundleType": "zip", "eTag": etag}})["deploymentId"]
        for _ in range(100):
            if cdp.get_deployment(deploymentId=slow)["deploymentInfo"]["status"] == "InProgress":
                break
            time.sleep(0.1)
        go(f"/console/deployments/d/{slow}")
        stopped = False
        for _ in range(50):
            button = wd("POST", S + "/elements", {"using": "css selector", "value": "form.actions button"})
            if button:
                wd("POST", f"{S}/element/{next(iter(button[0].values()))}/click", {})
                stopped = True
                break
            time.sleep(0.2)
        check(stopped, "the running deployment offers a stop button")
        # The hook that runs finishes first, as on AWS; nothing after it starts.
        for _ in range(300):
            if cdp.get_deployment(deploymentId=slow)["deploymentInfo"]["status"] == "Stopped":
                break
            time.sleep(0.2)
        check(cdp.get_deployment(deploymentId=slow)["deploymentInfo"]["status"] == "Stopped", "stopped from the page")
    finally:
        agent.terminate()
        agent.wait(timeout=30)

    # ---- phone width.
    wd("POST", S + "/window/rect", {"width": 390, "height": 844})
    go("/console/repos/web-app")
    width = wd("POST", S + "/execute/sync", {"script": "return document.documentElement.scrollWidth", "args": []})
    check(width <= 390, f"the page fits a phone's width: {width}")
    shot("06-phone")
    wd("POST", S + "/window/rect", {"width": 1280, "height": 900})

    # ---- a form without the session's CSRF token is refused; nor does one from elsewhere sign in.
    cookie = next(c["value"] for c in wd("GET", S + "/cookie") if c["name"] == "ferry_session")
    req = urllib.request.Request(URL + "/console/sign-out", data=b"csrf=forged", method="POST",
                                 headers={"Cookie": f"ferry_session={cookie}", "Content-Type": "application/x-www-form-urlencoded"})
    try:
        urllib.request.urlopen(req)
        check(False, "a forged sign-out was accepted")
    except urllib.error.HTTPError as e:
        check(e.code == 403, f"a forged sign-out is refused: {e.code}")
    req = urllib.request.Request(URL + "/console/packages/shop/npm-store/npm/greet/1.0.0/status", data=b"status=Published",
                                 method="POST", headers={"Cookie": f"ferry_session={cookie}",
                                                         "Content-Type": "application/x-www-form-urlencoded"})
    try:
        urllib.request.urlopen(req)
        check(False, "a status change without the form's token was accepted")
    except urllib.error.HTTPError as e:
        check(e.code == 403, f"a status change without the form's token is refused: {e.code}")
    check(ca.describe_package_version(domain="shop", repository="npm-store", format="npm", package="greet",
                                      packageVersion="1.0.0")["packageVersion"]["status"] == "Archived", "and changed nothing")
    req = urllib.request.Request(URL + "/console/sign-in", data=f"user=root&password={PASSWORD}&csrf=x".encode(), method="POST",
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    try:
        urllib.request.urlopen(req)
        check(False, "a sign-in from elsewhere was accepted")
    except urllib.error.HTTPError as e:
        check(e.code == 403, f"a sign-in without the form's token is refused: {e.code}")
    go("/console/repos")
    check(here().endswith("/console/repos"), "the session survived the forged requests")

    # ---- sign out.
    wd("POST", f"{S}/element/{find('form.signout button')}/click", {})
    url = settle(lambda u: "/console/sign-in" in u)
    check("/console/sign-in" in url, f"signed out: {url}")
    go("/console/repos")
    check("/console/sign-in" in here(), "the old session no longer opens pages")
    req = urllib.request.Request(URL + "/console/repos", headers={"Cookie": f"ferry_session={cookie}"})
    with urllib.request.urlopen(req) as r:
        check("/console/sign-in" in r.url, f"nor does its cookie: {r.url}")

    # ---- `ferry admin set-password` replaces the password (read from standard input).
    admin = [os.environ["FERRY_BIN"], "admin", "--data-dir", os.environ["FERRY_DATA_DIR"]]
    if os.environ.get("FERRY_DATABASE_URL"):
        admin += ["--database-url", os.environ["FERRY_DATABASE_URL"]]
    short = subprocess.run(admin + ["set-password", "root"], input="short\n", capture_output=True, text=True)
    check(short.returncode != 0, "a password under 8 characters is refused")
    changed = subprocess.run(admin + ["set-password", "root"], input="a new console password\n", capture_output=True, text=True)
    check(changed.returncode == 0, f"set-password: {changed.stderr}")

    def sign_in_with(password):
        go("/console/sign-in")
        wd("POST", f"{S}/element/{find('input[name=user]')}/value", {"text": "root"})
        wd("POST", f"{S}/element/{find('input[name=password]')}/value", {"text": password})
        wd("POST", f"{S}/element/{find('button[type=submit]')}/click", {})
        return settle(lambda u: u.endswith("/console/repos")).endswith("/console/repos")

    check(not sign_in_with(PASSWORD), "the old password no longer signs in")
    check(sign_in_with("a new console password"), "the new one does")
finally:
    wd("DELETE", S)
    driver.terminate()
print(f"screenshots in {SHOTS}")
done()
