"""PyPI against Ferry's CodeArtifact: `aws codeartifact login --tool twine` and `--tool pip`, then
the real twine uploads a wheel and an sdist, and the real pip installs through a repository
whose upstream holds them (what it fetched is retained there); the simple API as PEP 503 HTML
(SHA-256 fragments, data-requires-python) and PEP 691 JSON, the redirect to a normalised
name, an Unlisted version served as yanked (PEP 592: skipped unless pinned), and the
refusals: a file uploaded twice, digests or names that disagree with the form, no token.

Run by crates/ferry/tests/e2e_codeartifact.rs. Exits non-zero on the first failed check."""

import base64
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile

import boto3

from helpers import check, done

URL = os.environ["FERRY_URL"]
HOME = os.environ["HOME"]
TWINE = os.environ.get("FERRY_TWINE", "twine")
ca = boto3.client("codeartifact", endpoint_url=URL, region_name="us-east-1")
WORK = tempfile.mkdtemp(prefix="ferry-pypi-")
ENV = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_CACHE_DIR="1", PYTHONDONTWRITEBYTECODE="1")

ca.create_domain(domain="py")
ca.create_repository(domain="py", repository="pypi-store")
ca.create_repository(domain="py", repository="team", upstreams=[{"repositoryName": "pypi-store"}])
STORE_EP = ca.get_repository_endpoint(domain="py", repository="pypi-store", format="pypi")["repositoryEndpoint"]
TEAM_EP = ca.get_repository_endpoint(domain="py", repository="team", format="pypi")["repositoryEndpoint"]
TOKEN = ca.get_authorization_token(domain="py")["authorizationToken"]


def run(*cmd, cwd=None, ok=True):
    r = subprocess.run(list(cmd), cwd=cwd, env=ENV, capture_output=True, text=True, timeout=180)
    if ok:
        check(r.returncode == 0, f"{' '.join(cmd)}: {r.stdout}\n{r.stderr}")
    return r


def http(method, url, body=None, headers=None, token=TOKEN):
    req = urllib.request.Request(url, data=body, method=method, headers=dict(headers or {}))
    if token:
        req.add_header("Authorization", "Basic " + base64.b64encode(f"aws:{token}".encode()).decode())

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k):
            return None

    try:
        with urllib.request.build_opener(NoRedirect).open(req) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


METADATA = """Metadata-Version: 2.1
Name: Friendly-Bard
Version: {version}
Summary: Says hello in verse
Requires-Python: >=3.8
Requires-Dist: Click (>=7) ; extra == 'cli'

A friendly bard.
"""


def wheel(version):
    path = os.path.join(WORK, f"friendly_bard-{version}-py3-none-any.whl")
    info = f"friendly_bard-{version}.dist-info"
    files = {"friendly_bard/__init__.py": f"VERSION = '{version}'\ndef hello(n):\n    return 'hail, ' + n\n",
             f"{info}/METADATA": METADATA.format(version=version),
             f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: hand\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    record = "".join(f"{n},sha256={base64.urlsafe_b64encode(hashlib.sha256(t.encode()).digest()).rstrip(b'=').decode()},{len(t.encode())}\n"
                     for n, t in files.items()) + f"{info}/RECORD,,\n"
    files[f"{info}/RECORD"] = record
    with zipfile.ZipFile(path, "w") as z:
        for n, t in files.items():
            z.writestr(n, t)
    return path


def sdist(version):
    path = os.path.join(WORK, f"friendly_bard-{version}.tar.gz")
    with tarfile.open(path, "w:gz") as t:
        for n, text in {f"friendly_bard-{version}/PKG-INFO": METADATA.format(version=version),
                        f"friendly_bard-{version}/friendly_bard/__init__.py": f"VERSION = '{version}'\n"}.items():
            data = text.encode()
            info = tarfile.TarInfo(n)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return path


# ---- twine uploads, configured by the aws CLI.
run("aws", "codeartifact", "login", "--tool", "twine", "--domain", "py", "--repository", "pypi-store")
pypirc = open(os.path.join(HOME, ".pypirc")).read()
check(f"repository = {STORE_EP}" in pypirc and "username = aws" in pypirc, f"login wrote .pypirc: {pypirc}")
files_v1 = [wheel("1.0.0"), sdist("1.0.0")]
run(TWINE, "upload", "--repository", "codeartifact", "--disable-progress-bar", *files_v1)
run(TWINE, "upload", "--repository", "codeartifact", "--disable-progress-bar", wheel("1.1.0"))
again = run(TWINE, "upload", "--repository", "codeartifact", "--disable-progress-bar", files_v1[0], ok=False)
check(again.returncode != 0 and "409" in again.stdout + again.stderr, f"a file cannot be uploaded twice: {again.stdout} {again.stderr}")
assets = ca.list_package_version_assets(domain="py", repository="pypi-store", format="pypi", package="friendly-bard",
                                        packageVersion="1.0.0")["assets"]
check(sorted(a["name"] for a in assets) == ["friendly_bard-1.0.0-py3-none-any.whl", "friendly_bard-1.0.0.tar.gz"],
      f"both files are the version's assets: {assets}")
check(ca.describe_package_version(domain="py", repository="pypi-store", format="pypi", package="Friendly_Bard",
                                  packageVersion="1.0.0")["packageVersion"]["packageName"] == "friendly-bard", "names are normalised")
deps = ca.list_package_version_dependencies(domain="py", repository="pypi-store", format="pypi", package="friendly-bard",
                                            packageVersion="1.0.0")["dependencies"]
check(deps and deps[0]["package"] == "click" and deps[0]["dependencyType"] == "extra", f"Requires-Dist became dependencies: {deps}")

# ---- the simple API.
status, _, body = http("GET", STORE_EP + "simple/friendly-bard/", headers={"accept": "text/html"})
page = body.decode()
sha = hashlib.sha256(open(files_v1[0], "rb").read()).hexdigest()
check(status == 200 and f"friendly_bard-1.0.0-py3-none-any.whl#sha256={sha}" in page and 'data-requires-python="&gt;=3.8"' in page,
      f"the PEP 503 page: {page}")
status, headers, _ = http("GET", STORE_EP + "simple/Friendly_Bard/")
check(status == 301 and headers.get("location", headers.get("Location", "")).endswith("/simple/friendly-bard/"), f"redirect to the normalised name: {status} {headers}")
status, headers, body = http("GET", STORE_EP + "simple/friendly-bard/", headers={"accept": "application/vnd.pypi.simple.v1+json"})
doc = json.loads(body)
check(status == 200 and doc["name"] == "friendly-bard" and len(doc["files"]) == 3 and all(f["hashes"]["sha256"] for f in doc["files"]),
      f"the PEP 691 page: {doc}")
status, _, body = http("GET", STORE_EP + "simple/", headers={"accept": "text/html"})
check(status == 200 and 'href="friendly-bard/"' in body.decode(), f"the index: {body[:300]}")
status, _, _ = http("GET", STORE_EP + "simple/friendly-bard/", token=None)
check(status == 401, f"no token: {status}")

# ---- pip through the team repository (upstream pypi-store), configured by the aws CLI.
run("aws", "codeartifact", "login", "--tool", "pip", "--domain", "py", "--repository", "team")
target = os.path.join(WORK, "site")
run(sys.executable, "-m", "pip", "install", "--target", target, "friendly-bard")
check(open(os.path.join(target, "friendly_bard", "__init__.py")).read().startswith("VERSION = '1.1.0'"), "pip installed the newest version")
kept = ca.list_packages(domain="py", repository="team")["packages"]
check([(p["package"], p["originConfiguration"]["restrictions"]["upstream"]) for p in kept] == [("friendly-bard", "ALLOW")],
      f"the fetched version is retained in team: {kept}")
check([v["version"] for v in ca.list_package_versions(domain="py", repository="team", format="pypi", package="friendly-bard")["versions"]] == ["1.1.0"],
      "only what was fetched")

# ---- an Unlisted version is yanked: skipped unless pinned.
ca.update_package_versions_status(domain="py", repository="pypi-store", format="pypi", package="friendly-bard",
                                  versions=["1.1.0"], targetStatus="Unlisted")
ca.delete_package(domain="py", repository="team", format="pypi", package="friendly-bard")
status, _, body = http("GET", TEAM_EP + "simple/friendly-bard/", headers={"accept": "text/html"})
check('friendly_bard-1.1.0-py3-none-any.whl#sha256=' in body.decode() and 'data-yanked=""' in body.decode(), f"yanked in the page: {body.decode()}")
target2 = os.path.join(WORK, "site2")
run(sys.executable, "-m", "pip", "install", "--target", target2, "friendly-bard")
check(open(os.path.join(target2, "friendly_bard", "__init__.py")).read().startswith("VERSION = '1.0.0'"), "an unpinned install skips the yanked version")
target3 = os.path.join(WORK, "site3")
run(sys.executable, "-m", "pip", "install", "--target", target3, "friendly-bard==1.1.0")
check(open(os.path.join(target3, "friendly_bard", "__init__.py")).read().startswith("VERSION = '1.1.0'"), "a pinned one takes it")

# ---- uploads that disagree with themselves change nothing.


def form(fields, filename, content):
    boundary = "ferryboundary"
    out = b""
    for k, v in fields.items():
        out += f"--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n".encode()
    out += f"--{boundary}\r\nContent-Disposition: form-data; name=\"content\"; filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n".encode()
    out += content + f"\r\n--{boundary}--\r\n".encode()
    return out, {"content-type": f"multipart/form-data; boundary={boundary}"}


data = open(wheel("2.0.0"), "rb").read()
body, headers = form({":action": "file_upload", "name": "friendly-bard", "version": "2.0.0", "sha256_digest": "0" * 64},
                     "friendly_bard-2.0.0-py3-none-any.whl", data)
status, _, answer = http("POST", STORE_EP, body, headers)
check(status == 400, f"a wrong sha256_digest: {status} {answer}")
body, headers = form({":action": "file_upload", "name": "other-project", "version": "2.0.0"}, "friendly_bard-2.0.0-py3-none-any.whl", data)
status, _, answer = http("POST", STORE_EP, body, headers)
check(status == 400, f"a file of another project: {status} {answer}")
body, headers = form({":action": "file_upload", "name": "friendly-bard", "version": "2.0.0"}, "../friendly_bard-2.0.0-py3-none-any.whl", data)
status, _, answer = http("POST", STORE_EP, body, headers)
check(status == 400, f"a file name with a path: {status} {answer}")
versions = [v["version"] for v in ca.list_package_versions(domain="py", repository="pypi-store", format="pypi", package="friendly-bard")["versions"]]
check("2.0.0" not in versions, f"nothing was stored: {versions}")
done()
