"""Cargo against Ferry's CodeArtifact: a sparse registry whose token comes from the aws CLI
(`cargo:token-from-stdout aws codeartifact get-authorization-token`), then the real cargo
publishes crates, builds a binary that depends on one through a repository whose upstream
holds it (what it fetched is retained there), yanks and unyanks a version; the sparse index
lines and their checksums; and the refusals: a republished version, a crate named like another
but for its case, a malformed publish, no token.

Run by crates/ferry/tests/e2e_codeartifact.rs. Exits non-zero on the first failed check."""

import hashlib
import json
import os
import subprocess
import tempfile
import urllib.error
import urllib.request

import boto3

from helpers import check, done

URL = os.environ["FERRY_URL"]
ca = boto3.client("codeartifact", endpoint_url=URL, region_name="us-east-1")
WORK = tempfile.mkdtemp(prefix="ferry-cargo-")
CARGO_HOME = os.path.join(WORK, "cargo-home")
os.makedirs(CARGO_HOME)

ca.create_domain(domain="rs")
ca.create_repository(domain="rs", repository="crates")
ca.create_repository(domain="rs", repository="team", upstreams=[{"repositoryName": "crates"}])
STORE_EP = ca.get_repository_endpoint(domain="rs", repository="crates", format="cargo")["repositoryEndpoint"]
TEAM_EP = ca.get_repository_endpoint(domain="rs", repository="team", format="cargo")["repositoryEndpoint"]
TOKEN = ca.get_authorization_token(domain="rs")["authorizationToken"]
PROVIDER = "cargo:token-from-stdout aws codeartifact get-authorization-token --domain rs --query authorizationToken --output text"
with open(os.path.join(CARGO_HOME, "config.toml"), "w") as f:
    f.write(f"""[registries.store]
index = "sparse+{STORE_EP}"
credential-provider = "{PROVIDER}"

[registries.team]
index = "sparse+{TEAM_EP}"
credential-provider = "{PROVIDER}"

[net]
retry = 0
""")
ENV = dict(os.environ, CARGO_HOME=CARGO_HOME, CARGO_TARGET_DIR=os.path.join(WORK, "target"), CARGO_TERM_COLOR="never")


def cargo(*args, cwd, ok=True):
    r = subprocess.run(["cargo", *args], cwd=cwd, env=ENV, capture_output=True, text=True, timeout=300)
    if ok:
        check(r.returncode == 0, f"cargo {' '.join(args)}: {r.stdout}\n{r.stderr}")
    return r


def crate(name, version, lib=None, deps="", main=None):
    d = tempfile.mkdtemp(dir=WORK)
    os.makedirs(os.path.join(d, "src"))
    with open(os.path.join(d, "Cargo.toml"), "w") as f:
        f.write(f'[package]\nname = "{name}"\nversion = "{version}"\nedition = "2021"\ndescription = "{name} for tests"\n'
                f'license = "MIT"\n\n[dependencies]\n{deps}')
    if lib is not None:
        with open(os.path.join(d, "src/lib.rs"), "w") as f:
            f.write(lib)
    if main is not None:
        with open(os.path.join(d, "src/main.rs"), "w") as f:
            f.write(main)
    return d


def http(method, url, body=None, token=TOKEN):
    req = urllib.request.Request(url, data=body, method=method)
    if token:
        req.add_header("Authorization", token)
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


# ---- cargo publish.
cargo("publish", "--registry", "store", "--no-verify", "--allow-dirty", cwd=crate("ferry-demo", "0.1.0", lib="pub fn answer() -> u32 { 42 }\n"))
cargo("publish", "--registry", "store", "--no-verify", "--allow-dirty", cwd=crate("ferry-demo", "0.2.0", lib="pub fn answer() -> u32 { 43 }\n"))
again = cargo("publish", "--registry", "store", "--no-verify", "--allow-dirty", cwd=crate("ferry-demo", "0.2.0", lib=""), ok=False)
check(again.returncode != 0 and "already exists" in again.stderr, f"a version cannot be published twice: {again.stderr}")
case = cargo("publish", "--registry", "store", "--no-verify", "--allow-dirty", cwd=crate("Ferry-Demo", "0.3.0", lib=""), ok=False)
check(case.returncode != 0, f"a name that differs only by case is refused: {case.stderr}")
versions = [v["version"] for v in ca.list_package_versions(domain="rs", repository="crates", format="cargo", package="ferry-demo")["versions"]]
check(versions == ["0.1.0", "0.2.0"], f"the API sees the versions: {versions}")

# ---- the sparse index.
status, config = http("GET", STORE_EP + "config.json")
config = json.loads(config)
check(status == 200 and config["auth-required"] is True and config["dl"] == STORE_EP + "api/v1/crates", f"config.json: {config}")
status, index = http("GET", STORE_EP + "fe/rr/ferry-demo")
lines = [json.loads(line) for line in index.decode().splitlines()]
check(status == 200 and [line["vers"] for line in lines] == ["0.1.0", "0.2.0"], f"the index file: {index}")
status, data = http("GET", STORE_EP + "api/v1/crates/ferry-demo/0.1.0/download")
check(status == 200 and hashlib.sha256(data).hexdigest() == lines[0]["cksum"], "the download matches the index's checksum")

# ---- a binary that depends on the crate, built through the team repository (upstream crates).
app = crate("ferry-app", "1.0.0", deps='ferry-demo = { version = "0.1", registry = "team" }\n',
            main="fn main() { println!(\"{}\", ferry_demo::answer()); }\n")
said = cargo("run", "-q", cwd=app).stdout.strip()
check(said == "42", f"the app runs with the registry's crate: {said}")
kept = [(p["package"], p["originConfiguration"]["restrictions"]["upstream"]) for p in ca.list_packages(domain="rs", repository="team")["packages"]]
check(kept == [("ferry-demo", "ALLOW")], f"the fetched version is retained in team: {kept}")

# ---- yank and unyank.
cargo("yank", "--registry", "store", "ferry-demo@0.2.0", cwd=WORK)
status, index = http("GET", STORE_EP + "fe/rr/ferry-demo")
check([json.loads(line)["yanked"] for line in index.decode().splitlines()] == [False, True], f"yanked in the index: {index}")
check(ca.describe_package_version(domain="rs", repository="crates", format="cargo", package="ferry-demo",
                                  packageVersion="0.2.0")["packageVersion"]["status"] == "Unlisted", "a yanked version is Unlisted")
newer = crate("ferry-newer", "1.0.0", deps='ferry-demo = { version = "0.2", registry = "store" }\n', main="fn main() {}\n")
r = cargo("generate-lockfile", cwd=newer, ok=False)
check(r.returncode != 0, f"a yanked version is not chosen: {r.stderr}")
cargo("yank", "--registry", "store", "--undo", "ferry-demo@0.2.0", cwd=WORK)
cargo("generate-lockfile", cwd=newer)
check('version = "0.2.0"' in open(os.path.join(newer, "Cargo.lock")).read(), "unyanked, it is chosen again")

# ---- refusals.
status, _ = http("GET", STORE_EP + "fe/rr/ferry-demo", token=None)
check(status == 401, f"no token: {status}")
status, body = http("PUT", STORE_EP + "api/v1/crates/new", b"\x05\x00\x00\x00{bad}")
check(status == 400, f"a malformed publish: {status} {body}")
status, _ = http("GET", STORE_EP + "../../etc/passwd")
check(status in (400, 404), f"an index path that climbs: {status}")
done()
