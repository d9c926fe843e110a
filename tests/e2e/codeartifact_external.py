"""External connections: Ferry started with `public:npmjs`, `public:pypi`, `public:maven-central`
and `public:crates-io` pointing at a small
registry this script serves on loopback (UPSTREAM_PORT). A repository holding the connection
fetches metadata lazily and caches it for the configured time, ingests a file only when a
client asks for it (checked against the hash the metadata declares), keeps it as an EXTERNAL
version, and a repository downstream retains what it fetched; npm install and pip install go
through a chain of three repositories (app -> team -> npm-store); a version the upstream drops
is flagged, not silently served (npm deprecates it, PyPI yanks it with the reason, Cargo yanks
it, Maven leaves it out of its metadata); a package published internally is never shadowed by a public
namesake (dependency confusion); a forced refresh
reads the upstream at once; a tampered upstream file is refused and stored nowhere; a package
group closing a name prefix to the public registry; origin
controls keep a blocked package from being fetched at all.

Run by crates/ferry/tests/e2e_codeartifact.rs. Exits non-zero on the first failed check."""

import base64
import hashlib
import http.server
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import urllib.error
import urllib.request
import zipfile

import boto3

from helpers import check, done

URL = os.environ["FERRY_URL"]
PORT = int(os.environ["UPSTREAM_PORT"])
UP = f"http://127.0.0.1:{PORT}"
ca = boto3.client("codeartifact", endpoint_url=URL, region_name="us-east-1")
WORK = tempfile.mkdtemp(prefix="ferry-external-")
ENV = dict(os.environ, npm_config_cache=os.path.join(WORK, "npm-cache"), npm_config_update_notifier="false",
           npm_config_audit="false", npm_config_fund="false", PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_CACHE_DIR="1")


def tgz(name, version):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        for path, text in {"package/package.json": json.dumps({"name": name, "version": version, "main": "index.js"}),
                           "package/index.js": f"module.exports = (s, n) => ' '.repeat(n) + s; // {version}\n"}.items():
            data = text.encode()
            info = tarfile.TarInfo(path)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def whl(version):
    buf = io.BytesIO()
    info = f"up_lib-{version}.dist-info"
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("up_lib/__init__.py", f"VERSION = '{version}'\n")
        z.writestr(f"{info}/METADATA", f"Metadata-Version: 2.1\nName: up-lib\nVersion: {version}\n")
        z.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: hand\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        z.writestr(f"{info}/RECORD", "")
    return buf.getvalue()


# ---- the upstream registry.
FILES = {}
NPM_VERSIONS = {}
hits = {}


def npm_version(v, data, tarball=None):
    FILES[f"/npm/left-pad/-/left-pad-{v}.tgz"] = tarball if tarball is not None else data
    NPM_VERSIONS[v] = {"name": "left-pad", "version": v, "main": "index.js", "description": "pads strings",
                       "dist": {"tarball": f"{UP}/npm/left-pad/-/left-pad-{v}.tgz", "shasum": hashlib.sha1(data).hexdigest(),
                                "integrity": "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()}}


npm_version("1.0.0", tgz("left-pad", "1.0.0"))
npm_version("1.1.0", tgz("left-pad", "1.1.0"))
npm_version("1.2.0", tgz("left-pad", "1.2.0"), tarball=tgz("left-pad", "6.6.6"))  # served bytes differ from the integrity
PY_FILES = {}
for v in ["1.0", "2.0"]:
    data = whl(v)
    FILES[f"/pypi/files/up_lib-{v}-py3-none-any.whl"] = data
    PY_FILES[v] = {"filename": f"up_lib-{v}-py3-none-any.whl", "url": f"../../files/up_lib-{v}-py3-none-any.whl",
                   "hashes": {"sha256": hashlib.sha256(data).hexdigest()}, "requires-python": ">=3.6", "yanked": v == "2.0"}


# Maven and Cargo.
JAR = b"PK\x03\x04 a jar from the upstream"
FILES["/maven/com/ext/lib/1.0.0/lib-1.0.0.jar"] = JAR
FILES["/maven/com/ext/lib/1.0.0/lib-1.0.0.jar.sha1"] = hashlib.sha1(JAR).hexdigest().encode()
FILES["/maven/com/ext/lib/1.1.0/lib-1.1.0.jar"] = b"tampered"
FILES["/maven/com/ext/lib/1.1.0/lib-1.1.0.jar.sha1"] = hashlib.sha1(b"the original").hexdigest().encode()
FILES["/maven/com/ext/lib/maven-metadata.xml"] = (b"<metadata><groupId>com.ext</groupId><artifactId>lib</artifactId><versioning>"
                                                  b"<versions><version>1.0.0</version><version>1.1.0</version></versions></versioning></metadata>")
CRATE = b"a crate from the upstream"
FILES["/cargo/config.json"] = json.dumps({"dl": f"{UP}/cargo/dl"}).encode()
FILES["/cargo/ex/t-/ext-crate"] = (json.dumps({"name": "ext-crate", "vers": "0.1.0", "deps": [], "features": {}, "yanked": False,
                                               "cksum": hashlib.sha256(CRATE).hexdigest()}) + "\n").encode()
FILES["/cargo/dl/ext-crate/0.1.0/download"] = CRATE


class Upstream(http.server.BaseHTTPRequestHandler):
    extra = {}

    def log_message(self, *a):
        pass

    def do_GET(self):
        hits[self.path] = hits.get(self.path, 0) + 1
        if self.path == "/npm/left-pad":
            body = json.dumps({"name": "left-pad", "dist-tags": {"latest": max(NPM_VERSIONS)}, "versions": NPM_VERSIONS,
                               "time": {v: "2020-01-01T00:00:00.000Z" for v in NPM_VERSIONS}}).encode()
            kind = "application/json"
        elif self.path == "/pypi/simple/up-lib/":
            body = json.dumps({"meta": {"api-version": "1.0"}, "name": "up-lib", "files": list(PY_FILES.values())}).encode()
            kind = "application/vnd.pypi.simple.v1+json"
        elif self.path in Upstream.extra:
            body, kind = Upstream.extra[self.path], "application/json"
        elif self.path in FILES:
            body, kind = FILES[self.path], "application/octet-stream"
        else:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("content-type", kind)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


server = http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Upstream)
threading.Thread(target=server.serve_forever, daemon=True).start()


def run(*cmd, cwd=None, ok=True):
    r = subprocess.run(list(cmd), cwd=cwd, env=ENV, capture_output=True, text=True, timeout=180)
    if ok:
        check(r.returncode == 0, f"{' '.join(cmd)}: {r.stdout}\n{r.stderr}")
    return r


def get(url, token):
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


ca.create_domain(domain="pub")
ca.create_repository(domain="pub", repository="npm-store")
ca.associate_external_connection(domain="pub", repository="npm-store", externalConnection="public:npmjs")
ca.create_repository(domain="pub", repository="pypi-store")
ca.associate_external_connection(domain="pub", repository="pypi-store", externalConnection="public:pypi")
ca.create_repository(domain="pub", repository="maven-store")
ca.associate_external_connection(domain="pub", repository="maven-store", externalConnection="public:maven-central")
ca.create_repository(domain="pub", repository="cargo-store")
ca.associate_external_connection(domain="pub", repository="cargo-store", externalConnection="public:crates-io")
ca.create_repository(domain="pub", repository="team", upstreams=[{"repositoryName": r} for r in ["npm-store", "pypi-store", "maven-store", "cargo-store"]])
ca.create_repository(domain="pub", repository="app", upstreams=[{"repositoryName": "team"}])
TEAM_NPM = ca.get_repository_endpoint(domain="pub", repository="team", format="npm")["repositoryEndpoint"]
APP_NPM = ca.get_repository_endpoint(domain="pub", repository="app", format="npm")["repositoryEndpoint"]
STORE_NPM = ca.get_repository_endpoint(domain="pub", repository="npm-store", format="npm")["repositoryEndpoint"]
TOKEN = ca.get_authorization_token(domain="pub")["authorizationToken"]

# ---- metadata is fetched lazily and cached; nothing is ingested until a file is asked for.
status, body = get(APP_NPM + "left-pad", TOKEN)
doc = json.loads(body)
check(status == 200 and sorted(doc["versions"]) == ["1.0.0", "1.1.0", "1.2.0"], f"the upstream's versions through app: {status} {body[:200]}")
check(doc["versions"]["1.0.0"]["dist"]["tarball"] == APP_NPM + "left-pad/-/left-pad-1.0.0.tgz", f"tarballs point at Ferry: {doc['versions']['1.0.0']['dist']}")
get(APP_NPM + "left-pad", TOKEN)
check(hits.get("/npm/left-pad") == 1, f"the packument is cached: {hits}")
expect_none = ca.list_packages(domain="pub", repository="npm-store")["packages"]
check(expect_none == [], f"nothing ingested yet: {expect_none}")

# ---- npm install through app ingests the version into npm-store and retains it in app.
run("aws", "codeartifact", "login", "--tool", "npm", "--domain", "pub", "--repository", "app")
project = tempfile.mkdtemp(dir=WORK)
with open(os.path.join(project, "package.json"), "w") as f:
    json.dump({"name": "p", "version": "1.0.0", "private": True, "dependencies": {"left-pad": "1.1.0"}}, f)
run("npm", "install", cwd=project)
said = run("node", "-e", "console.log(JSON.stringify(require('left-pad')('x', 2)))", cwd=project).stdout.strip()
check(said == '"  x"', f"the installed package runs: {said}")
stored = ca.describe_package_version(domain="pub", repository="npm-store", format="npm", package="left-pad", packageVersion="1.1.0")["packageVersion"]
check(stored["origin"] == {"domainEntryPoint": {"externalConnectionName": "public:npmjs"}, "originType": "EXTERNAL"},
      f"ingested as EXTERNAL through public:npmjs: {stored['origin']}")
pkg = ca.describe_package(domain="pub", repository="npm-store", format="npm", package="left-pad")["package"]
check(pkg["originConfiguration"]["restrictions"] == {"publish": "BLOCK", "upstream": "ALLOW"}, f"origin controls of an external package: {pkg}")
check([v["version"] for v in ca.list_package_versions(domain="pub", repository="app", format="npm", package="left-pad")["versions"]] == ["1.1.0"],
      "retained in app")
check(ca.list_packages(domain="pub", repository="team")["packages"] == [], "and not in team, which the lookup only passed through")
check(hits.get("/npm/left-pad/-/left-pad-1.1.0.tgz") == 1 and "/npm/left-pad/-/left-pad-1.0.0.tgz" not in hits, f"only the file asked for was fetched: {hits}")

# ---- a tampered upstream file is refused and stored nowhere.
status, _ = get(STORE_NPM + "left-pad/-/left-pad-1.2.0.tgz", TOKEN)
check(status == 502, f"a tarball that does not match its integrity: {status}")
versions = [v["version"] for v in ca.list_package_versions(domain="pub", repository="npm-store", format="npm", package="left-pad")["versions"]]
check(versions == ["1.1.0"], f"nothing stored for it: {versions}")

# ---- the upstream drops 1.1.0: after a refresh the packument flags it instead of hiding or vouching for it.
def refresh():
    req = urllib.request.Request(STORE_NPM + "-/ferry/refresh/left-pad", method="POST", headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(req) as r:
        check(r.status == 200, "refresh")


refresh()
get(STORE_NPM + "left-pad", TOKEN)  # fresh metadata, cached for the next 2 s
before = hits["/npm/left-pad"]
del NPM_VERSIONS["1.1.0"]
status, body = get(STORE_NPM + "left-pad", TOKEN)
check("deprecated" not in json.loads(body)["versions"]["1.1.0"] and hits["/npm/left-pad"] == before,
      "within the cache time the cached metadata stands")
refresh()
doc = json.loads(get(STORE_NPM + "left-pad", TOKEN)[1])
check("no longer in the upstream registry" in doc["versions"]["1.1.0"].get("deprecated", ""), f"flagged: {doc['versions']['1.1.0']}")
check(hits["/npm/left-pad"] == before + 1, f"the refresh read the upstream again: {hits}")
time.sleep(2.2)  # the configured cache time is 2 s
get(STORE_NPM + "left-pad", TOKEN)
check(hits["/npm/left-pad"] == before + 2, f"and so does an expired cache: {hits}")

# ---- dependency confusion: an internal package published to team is never shadowed by a public
#      namesake with a higher version, because publishing set its upstream control to BLOCK.
FILES["/npm/acme-internal/-/acme-internal-9.9.9.tgz"] = evil = tgz("acme-internal", "9.9.9")
NPM_VERSIONS_EVIL = {"9.9.9": {"name": "acme-internal", "version": "9.9.9",
                               "dist": {"tarball": f"{UP}/npm/acme-internal/-/acme-internal-9.9.9.tgz",
                                        "integrity": "sha512-" + base64.b64encode(hashlib.sha512(evil).digest()).decode()}}}
Upstream.extra = {"/npm/acme-internal": json.dumps({"name": "acme-internal", "dist-tags": {"latest": "9.9.9"}, "versions": NPM_VERSIONS_EVIL}).encode()}
good = tgz("acme-internal", "1.0.0")
doc = json.dumps({"name": "acme-internal", "dist-tags": {"latest": "1.0.0"},
                  "versions": {"1.0.0": {"name": "acme-internal", "version": "1.0.0", "main": "index.js",
                                         "dist": {"shasum": hashlib.sha1(good).hexdigest()}}},
                  "_attachments": {"acme-internal-1.0.0.tgz": {"data": base64.b64encode(good).decode(), "length": len(good)}}}).encode()
req = urllib.request.Request(TEAM_NPM + "acme-internal", data=doc, method="PUT",
                             headers={"Authorization": f"Bearer {TOKEN}", "content-type": "application/json"})
with urllib.request.urlopen(req) as r:
    check(r.status == 201, "the internal package is published to team")
status, body = get(APP_NPM + "acme-internal", TOKEN)
check(status == 200 and list(json.loads(body)["versions"]) == ["1.0.0"], f"only the internal version is seen through app: {body[:300]}")
check("/npm/acme-internal" not in hits, f"the public registry was not even asked: {hits}")
status, _ = get(APP_NPM + "acme-internal/-/acme-internal-9.9.9.tgz", TOKEN)
check(status == 404 and "/npm/acme-internal/-/acme-internal-9.9.9.tgz" not in hits, f"nor its tarball: {status}")

# ---- origin controls: a package whose upstream is blocked is never fetched.
ca.put_package_origin_configuration(domain="pub", repository="npm-store", format="npm", package="blocked-pkg",
                                    restrictions={"publish": "ALLOW", "upstream": "BLOCK"})
status, _ = get(STORE_NPM + "blocked-pkg", TOKEN)
check(status == 404 and "/npm/blocked-pkg" not in hits, f"a blocked package is not looked up upstream: {status} {hits}")

# ---- a package group closes a whole name prefix to the public registry (EXTERNAL_UPSTREAM),
#      then opens it for one repository only.
Upstream.extra["/npm/acme-tools"] = json.dumps({"name": "acme-tools", "dist-tags": {"latest": "1.0.0"}, "versions": NPM_VERSIONS_EVIL}).encode()
ca.create_package_group(domain="pub", packageGroup="/npm//acme~")
ca.update_package_group_origin_configuration(domain="pub", packageGroup="/npm//acme~", restrictions={"EXTERNAL_UPSTREAM": "BLOCK"})
status, _ = get(APP_NPM + "acme-tools", TOKEN)
check(status == 404 and "/npm/acme-tools" not in hits, f"the group keeps acme-* from the public registry: {status} {hits}")
ca.update_package_group_origin_configuration(
    domain="pub", packageGroup="/npm//acme~", restrictions={"EXTERNAL_UPSTREAM": "ALLOW_SPECIFIC_REPOSITORIES"},
    addAllowedRepositories=[{"repositoryName": "npm-store", "originRestrictionType": "EXTERNAL_UPSTREAM"}])
status, _ = get(APP_NPM + "acme-tools", TOKEN)
check(status == 200 and hits.get("/npm/acme-tools") == 1, f"allowed for npm-store, it is fetched: {status} {hits}")

# ---- pip through app: the yanked file is skipped, the other ingested into pypi-store.
run("aws", "codeartifact", "login", "--tool", "pip", "--domain", "pub", "--repository", "app")
target = os.path.join(WORK, "site")
run(sys.executable, "-m", "pip", "install", "--target", target, "up-lib")
check(open(os.path.join(target, "up_lib", "__init__.py")).read() == "VERSION = '1.0'\n", "pip took the version that is not yanked")
stored = ca.describe_package_version(domain="pub", repository="pypi-store", format="pypi", package="up-lib", packageVersion="1.0")["packageVersion"]
check(stored["origin"]["originType"] == "EXTERNAL", f"ingested into pypi-store: {stored}")
check("/pypi/files/up_lib-2.0-py3-none-any.whl" not in hits, f"the yanked file was never fetched: {hits}")
# ---- Maven and Cargo through the chain.
APP_MAVEN = ca.get_repository_endpoint(domain="pub", repository="app", format="maven")["repositoryEndpoint"]
APP_CARGO = ca.get_repository_endpoint(domain="pub", repository="app", format="cargo")["repositoryEndpoint"]
status, meta = get(APP_MAVEN + "com/ext/lib/maven-metadata.xml", TOKEN)
check(status == 200 and b"<version>1.0.0</version>" in meta and b"<version>1.1.0</version>" in meta, f"Maven metadata lists the upstream's versions: {meta}")
status, jar = get(APP_MAVEN + "com/ext/lib/1.0.0/lib-1.0.0.jar", TOKEN)
check(status == 200 and jar == JAR, f"a jar fetched through the chain: {status}")
origin = ca.describe_package_version(domain="pub", repository="maven-store", format="maven", namespace="com.ext", package="lib",
                                     packageVersion="1.0.0")["packageVersion"]["origin"]
check(origin["originType"] == "EXTERNAL" and origin["domainEntryPoint"]["externalConnectionName"] == "public:maven-central", f"kept as EXTERNAL: {origin}")
status, _ = get(APP_MAVEN + "com/ext/lib/1.1.0/lib-1.1.0.jar", TOKEN)
check(status == 502, f"a jar that does not match the upstream's SHA-1 is refused: {status}")
status, index = get(APP_CARGO + "ex/t-/ext-crate", TOKEN)
check(status == 200 and json.loads(index.decode().splitlines()[0])["vers"] == "0.1.0", f"the upstream's index lines: {index}")
status, crate_bytes = get(APP_CARGO + "api/v1/crates/ext-crate/0.1.0/download", TOKEN)
check(status == 200 and crate_bytes == CRATE, f"a crate downloaded through the chain: {status}")
check(ca.describe_package_version(domain="pub", repository="cargo-store", format="cargo", package="ext-crate",
                                  packageVersion="0.1.0")["packageVersion"]["origin"]["originType"] == "EXTERNAL", "kept as EXTERNAL")

# ---- the upstream drops what was ingested: PyPI yanks the file saying why, Cargo marks the
#      index line yanked, Maven leaves the version out of its metadata; the files still serve
#      a build pinned to them.
def forget(endpoint, package):
    req = urllib.request.Request(endpoint + "-/ferry/refresh/" + package, method="POST", headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(req) as r:
        check(r.status == 200, "refresh")


APP_PYPI = ca.get_repository_endpoint(domain="pub", repository="app", format="pypi")["repositoryEndpoint"]
del PY_FILES["1.0"]
forget(APP_PYPI, "up-lib")
req = urllib.request.Request(APP_PYPI + "simple/up-lib/", headers={"Authorization": f"Bearer {TOKEN}", "Accept": "application/vnd.pypi.simple.v1+json"})
with urllib.request.urlopen(req) as r:
    page = json.loads(r.read())
kept = {f["filename"]: f["yanked"] for f in page["files"]}
check("no longer in the upstream registry (public:pypi)" in str(kept.get("up_lib-1.0-py3-none-any.whl")), f"PyPI flags the dropped file: {kept}")
status, html = get(APP_PYPI + "simple/up-lib/", TOKEN)
check(b'up_lib-1.0-py3-none-any.whl' in html and b'data-yanked="This file is no longer' in html, f"in the HTML page too: {html}")
fresh = os.path.join(WORK, "site2")
r = run(sys.executable, "-m", "pip", "install", "--no-cache-dir", "--target", fresh, "up-lib", ok=False)
check(r.returncode != 0, f"pip no longer picks the dropped version unpinned: {r.stdout}")
run(sys.executable, "-m", "pip", "install", "--no-cache-dir", "--target", fresh, "up-lib==1.0")
FILES.pop("/cargo/ex/t-/ext-crate")
forget(APP_CARGO, "ext-crate")
status, index = get(APP_CARGO + "ex/t-/ext-crate", TOKEN)
line = json.loads(index.decode().splitlines()[0])
check(status == 200 and line["vers"] == "0.1.0" and line["yanked"] is True, f"Cargo yanks the crate gone upstream: {index}")
FILES["/maven/com/ext/lib/maven-metadata.xml"] = (b"<metadata><groupId>com.ext</groupId><artifactId>lib</artifactId><versioning>"
                                                  b"<versions><version>1.1.0</version></versions></versioning></metadata>")
forget(APP_MAVEN, "com.ext:lib")
status, meta = get(APP_MAVEN + "com/ext/lib/maven-metadata.xml", TOKEN)
check(status == 200 and b"<version>1.0.0</version>" not in meta and b"<version>1.1.0</version>" in meta, f"Maven metadata drops it: {meta}")
status, jar = get(APP_MAVEN + "com/ext/lib/1.0.0/lib-1.0.0.jar", TOKEN)
check(status == 200 and jar == JAR, f"a pinned build still gets the jar: {status}")
done()
