"""npm against Ferry's CodeArtifact: `aws codeartifact login --tool npm`, then the real npm CLI
publishes scoped and unscoped packages, views them, moves dist-tags, deprecates and unpublishes
a version (npm's rules after it: no republishing the version, no new version for 24 hours
after the whole package goes), and installs a project through a repository whose upstream holds the packages (the
versions it fetched are retained there); a tree of 50 dependencies published over the
registry API installs with `npm ci` from its lockfile; status changes made with boto3 show in
what npm sees; and the refusals: no token, another domain's token, a republished version, a
tarball that does not match its declared integrity, a blocked origin, an upload cut off
midway (nothing is left); and a long-lived token from `ferry admin create-artifact-token`.

Run by crates/ferry/tests/e2e_codeartifact.rs. Exits non-zero on the first failed check."""

import base64
import hashlib
import io
import json
import os
import shutil
import socket
import subprocess
import tarfile
import tempfile
import urllib.error
import urllib.request

import boto3

from helpers import check, done, expect_error

URL = os.environ["FERRY_URL"]
ACCOUNT = os.environ["FERRY_ACCOUNT"]
HOME = os.environ["HOME"]
ca = boto3.client("codeartifact", endpoint_url=URL, region_name="us-east-1")
WORK = tempfile.mkdtemp(prefix="ferry-npm-")
ENV = dict(os.environ, npm_config_cache=os.path.join(WORK, "cache"), npm_config_update_notifier="false",
           npm_config_audit="false", npm_config_fund="false", npm_config_loglevel="warn")

ca.create_domain(domain="shop")
ca.create_domain(domain="elsewhere")
ca.create_repository(domain="shop", repository="npm-store")
ca.create_repository(domain="shop", repository="app", upstreams=[{"repositoryName": "npm-store"}])
STORE_EP = ca.get_repository_endpoint(domain="shop", repository="npm-store", format="npm")["repositoryEndpoint"]
APP_EP = ca.get_repository_endpoint(domain="shop", repository="app", format="npm")["repositoryEndpoint"]


def run(*cmd, cwd=None, ok=True):
    r = subprocess.run(list(cmd), cwd=cwd, env=ENV, capture_output=True, text=True, timeout=180)
    if ok:
        check(r.returncode == 0, f"{' '.join(cmd)}: {r.stdout}\n{r.stderr}")
    return r


def login(repository):
    run("aws", "codeartifact", "login", "--tool", "npm", "--domain", "shop", "--repository", repository)


def package(name, version, deps=None, body="module.exports = () => 'hi';\n"):
    d = tempfile.mkdtemp(dir=WORK)
    with open(os.path.join(d, "package.json"), "w") as f:
        json.dump({"name": name, "version": version, "main": "index.js", "description": f"{name} for tests",
                   "dependencies": deps or {}}, f)
    with open(os.path.join(d, "index.js"), "w") as f:
        f.write(body)
    with open(os.path.join(d, "README.md"), "w") as f:
        f.write(f"# {name}\n")
    return d


def http(method, url, token, body=None, headers=None):
    req = urllib.request.Request(url, data=body, method=method, headers=dict(headers or {}))
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def tarball(name, version, deps):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        for path, text in {"package/package.json": json.dumps({"name": name, "version": version, "main": "index.js", "dependencies": deps}),
                           "package/index.js": f"module.exports = '{name}@{version}';\n"}.items():
            data = text.encode()
            info = tarfile.TarInfo(path)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def publish_doc(name, version, deps, data, shasum=None):
    return json.dumps({
        "_id": name, "name": name, "dist-tags": {"latest": version},
        "versions": {version: {"name": name, "version": version, "main": "index.js", "dependencies": deps,
                               "dist": {"shasum": shasum or hashlib.sha1(data).hexdigest(),
                                        "integrity": "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()}}},
        "_attachments": {f"{name.split('/')[-1]}-{version}.tgz": {"content_type": "application/octet-stream",
                                                                  "data": base64.b64encode(data).decode(), "length": len(data)}},
    }).encode()


# ---- login writes the registry and the token into ~/.npmrc.
login("npm-store")
npmrc = open(os.path.join(HOME, ".npmrc")).read()
host_path = STORE_EP.split("://", 1)[1]
check(f"registry={STORE_EP}" in npmrc and f"//{host_path}:_authToken=ferryca." in npmrc, f"the login configured npm: {npmrc}")
token = npmrc.split(":_authToken=")[1].split()[0]

# ---- publish with the npm CLI: scoped and unscoped, two versions.
run("npm", "publish", cwd=package("@shop/util", "1.0.0", body="module.exports = (s) => s.toUpperCase();\n"))
run("npm", "publish", cwd=package("greet", "1.0.0", {"@shop/util": "^1.0.0"}))
run("npm", "publish", cwd=package("greet", "1.1.0", {"@shop/util": "^1.0.0"},
                                  body="const up = require('@shop/util'); module.exports = (n) => up('hello ' + n);\n"))
again = run("npm", "publish", cwd=package("greet", "1.1.0"), ok=False)
check(again.returncode != 0 and "cannot publish over" in again.stderr, f"npm will not publish over a version: {again.stderr}")
versions = json.loads(run("npm", "view", "greet", "versions", "--json").stdout)
check(versions == ["1.0.0", "1.1.0"], f"npm view sees both versions: {versions}")
view = json.loads(run("npm", "view", "@shop/util", "--json").stdout)
check(view["name"] == "@shop/util" and view["dist-tags"]["latest"] == "1.0.0" and view["dist"]["tarball"].startswith(STORE_EP),
      f"a scoped package's packument: {view.get('dist')}")
described = ca.describe_package_version(domain="shop", repository="npm-store", format="npm", namespace="shop",
                                       package="util", packageVersion="1.0.0")["packageVersion"]
check(described["status"] == "Published" and described["displayName"] == "@shop/util", f"the API sees it: {described}")
deps = ca.list_package_version_dependencies(domain="shop", repository="npm-store", format="npm", package="greet",
                                            packageVersion="1.1.0")["dependencies"]
check(deps == [{"namespace": "shop", "package": "util", "dependencyType": "regular", "versionRequirement": "^1.0.0"}],
      f"its dependencies: {deps}")
assets = ca.list_package_version_assets(domain="shop", repository="npm-store", format="npm", package="greet", packageVersion="1.1.0")["assets"]
check([a["name"] for a in assets] == ["greet-1.1.0.tgz"], f"the tarball is the version's asset: {assets}")

# ---- dist-tags.
run("npm", "dist-tag", "add", "greet@1.0.0", "stable")
tags = run("npm", "dist-tag", "ls", "greet").stdout
check("stable: 1.0.0" in tags and "latest: 1.1.0" in tags, f"dist-tag ls: {tags}")
run("npm", "dist-tag", "rm", "greet", "stable")
check("stable" not in run("npm", "dist-tag", "ls", "greet").stdout, "dist-tag rm")

# ---- deprecate.
run("npm", "deprecate", "greet@1.0.0", "use 1.1 instead")
check(run("npm", "view", "greet@1.0.0", "deprecated").stdout.strip() == "use 1.1 instead", "npm deprecate")

# ---- unpublish one version of a throwaway package.
run("npm", "publish", cwd=package("scratch", "0.1.0"))
run("npm", "publish", cwd=package("scratch", "0.2.0"))
run("npm", "unpublish", "scratch@0.2.0")
check(json.loads(run("npm", "view", "scratch", "versions", "--json").stdout) in (["0.1.0"], "0.1.0"), "npm unpublish removed the version")
expect_error("ResourceNotFoundException", ca.describe_package_version, domain="shop", repository="npm-store", format="npm",
             package="scratch", packageVersion="0.2.0")
# npm's rules after an unpublish: the version never comes back; a package unpublished whole
# takes no new version for 24 hours.
again = run("npm", "publish", cwd=package("scratch", "0.2.0"), ok=False)
check(again.returncode != 0 and "E403" in again.stderr and "unpublished" in again.stderr,
      f"an unpublished version cannot be published again: {again.stderr}")
run("npm", "publish", cwd=package("scratch", "0.3.0"))
run("npm", "unpublish", "scratch", "--force")
gone = run("npm", "view", "scratch", "versions", "--json", ok=False)
check(gone.returncode != 0 and "E404" in gone.stderr, f"the whole package is gone: {gone.stderr}")
late = run("npm", "publish", cwd=package("scratch", "0.4.0"), ok=False)
check(late.returncode != 0 and "E403" in late.stderr and "24 hours" in late.stderr,
      f"no new version within 24 hours of unpublishing the package: {late.stderr}")

# ---- install through the app repository, which has npm-store upstream.
login("app")
project = tempfile.mkdtemp(dir=WORK)
with open(os.path.join(project, "package.json"), "w") as f:
    json.dump({"name": "site", "version": "1.0.0", "private": True, "dependencies": {"greet": "^1.1.0"}}, f)
shutil.rmtree(ENV["npm_config_cache"], ignore_errors=True)  # publishing cached the tarballs; fetch them again
run("npm", "install", cwd=project)
said = run("node", "-e", "console.log(require('greet')('ferry'))", cwd=project).stdout.strip()
check(said == "HELLO FERRY", f"the installed tree runs: {said}")
lock = json.load(open(os.path.join(project, "package-lock.json")))
check(lock["packages"]["node_modules/greet"]["resolved"].startswith(APP_EP), f"resolved through the app repository: {lock['packages']['node_modules/greet']}")
kept = {(p.get("namespace"), p["package"]): p["originConfiguration"]["restrictions"]
        for p in ca.list_packages(domain="shop", repository="app")["packages"]}
check(kept == {(None, "greet"): {"publish": "BLOCK", "upstream": "ALLOW"}, ("shop", "util"): {"publish": "BLOCK", "upstream": "ALLOW"}},
      f"the fetched versions are retained in app with upstream-style origin controls: {kept}")

# ---- a 50-package tree published over the registry API, installed with npm ci.
leaves = {}
for i in range(50):
    name = f"leaf-{i:02d}"
    deps = {f"leaf-{i + 1:02d}": "1.0.0"} if i % 10 != 9 else {}
    data = tarball(name, "1.0.0", deps)
    status, body = http("PUT", STORE_EP + name, token, publish_doc(name, "1.0.0", deps, data), {"content-type": "application/json"})
    check(status == 201, f"publish {name}: {status} {body}")
    leaves[name] = "1.0.0"
tree = tempfile.mkdtemp(dir=WORK)
with open(os.path.join(tree, "package.json"), "w") as f:
    json.dump({"name": "tree", "version": "1.0.0", "private": True,
               "dependencies": {f"leaf-{i:02d}": "1.0.0" for i in range(0, 50, 10)}}, f)
run("npm", "install", cwd=tree)
installed = sorted(d for d in os.listdir(os.path.join(tree, "node_modules")) if d.startswith("leaf-"))
check(installed == sorted(leaves), f"all 50 packages installed: {len(installed)}")
shutil.rmtree(os.path.join(tree, "node_modules"))
run("npm", "ci", cwd=tree)
check(len([d for d in os.listdir(os.path.join(tree, "node_modules")) if d.startswith("leaf-")]) == 50, "npm ci from the lockfile")

# ---- what boto3 changes, npm sees: an Unlisted version leaves the packument, its tarball stays.
ca.update_package_versions_status(domain="shop", repository="npm-store", format="npm", package="greet",
                                  versions=["1.0.0"], targetStatus="Unlisted")
login("npm-store")
check(json.loads(run("npm", "view", "greet", "versions", "--json").stdout) in (["1.1.0"], "1.1.0"), "an Unlisted version is not listed")
status, _ = http("GET", STORE_EP + "greet/-/greet-1.0.0.tgz", token)
check(status == 200, f"but its tarball still downloads: {status}")
ca.update_package_versions_status(domain="shop", repository="npm-store", format="npm", package="greet",
                                  versions=["1.0.0"], targetStatus="Archived")
status, _ = http("GET", STORE_EP + "greet/-/greet-1.0.0.tgz", token)
check(status == 404, f"an Archived one does not: {status}")
abbreviated = json.loads(http("GET", STORE_EP + "greet", token, headers={"accept": "application/vnd.npm.install-v1+json"})[1])
check(set(abbreviated) == {"name", "modified", "dist-tags", "versions"} and "readme" not in abbreviated["versions"]["1.1.0"],
      f"the abbreviated packument: {sorted(abbreviated)}")

# ---- refusals.
status, _ = http("GET", STORE_EP + "greet", None)
check(status == 401, f"no token: {status}")
other = ca.get_authorization_token(domain="elsewhere")["authorizationToken"]
status, _ = http("GET", STORE_EP + "greet", other)
check(status == 403, f"another domain's token: {status}")
status, _ = http("GET", STORE_EP + "greet", "ferryca.forged")
check(status == 401, f"a forged token: {status}")
data = tarball("tampered", "1.0.0", {})
status, body = http("PUT", STORE_EP + "tampered", token, publish_doc("tampered", "1.0.0", {}, data, shasum="0" * 40),
                    {"content-type": "application/json"})
check(status == 400, f"a tarball that does not match its shasum: {status} {body}")
expect_error("ResourceNotFoundException", ca.describe_package_version, domain="shop", repository="npm-store", format="npm",
             package="tampered", packageVersion="1.0.0")
status, body = http("PUT", STORE_EP + "Bad-Name", token, publish_doc("Bad-Name", "1.0.0", {}, data), {"content-type": "application/json"})
check(status == 400, f"a name npm would refuse: {status} {body}")
ca.put_package_origin_configuration(domain="shop", repository="npm-store", format="npm", package="locked",
                                    restrictions={"publish": "BLOCK", "upstream": "ALLOW"})
data = tarball("locked", "1.0.0", {})
status, body = http("PUT", STORE_EP + "locked", token, publish_doc("locked", "1.0.0", {}, data), {"content-type": "application/json"})
check(status == 403, f"publishing a package whose origin blocks it: {status} {body}")
data = tarball("greet", "1.1.0", {})
status, body = http("PUT", STORE_EP + "greet", token, publish_doc("greet", "1.1.0", {}, data), {"content-type": "application/json"})
check(status == 409, f"the registry refuses a republished version with a conflict: {status} {body}")

# ---- an upload cut off midway leaves nothing behind.
host, port = URL.split("://", 1)[1].split(":")
doc = publish_doc("cutoff", "1.0.0", {}, tarball("cutoff", "1.0.0", {}))
with socket.create_connection((host, int(port))) as sock:
    path = STORE_EP.split(f"{port}", 1)[1] + "cutoff"
    sock.sendall(f"PUT {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
                 f"Content-Type: application/json\r\nContent-Length: {len(doc)}\r\n\r\n".encode() + doc[: len(doc) // 2])
expect_error("ResourceNotFoundException", ca.describe_package, domain="shop", repository="npm-store", format="npm", package="cutoff")

# ---- a long-lived token minted by the operator (a Ferry extension).
admin = [os.environ["FERRY_BIN"], "admin", "--data-dir", os.environ["FERRY_DATA_DIR"]]
if os.environ.get("FERRY_DATABASE_URL"):
    admin += ["--database-url", os.environ["FERRY_DATABASE_URL"]]
minted = subprocess.run(admin + ["create-artifact-token", "--domain", "shop", "--days", "30"], capture_output=True, text=True)
check(minted.returncode == 0 and minted.stdout.startswith("ferryca."), f"create-artifact-token: {minted.stdout} {minted.stderr}")
long_lived = minted.stdout.split()[0]
status, _ = http("GET", STORE_EP + "greet", long_lived)
check(status == 200, f"the long-lived token reads the registry: {status}")
refused = subprocess.run(admin + ["create-artifact-token", "--domain", "nope"], capture_output=True, text=True)
check(refused.returncode != 0, "no token for a domain that does not exist")
done()
