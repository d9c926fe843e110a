"""The CodeArtifact control plane with boto3: domains (name rules, describe, ListDomains paged by
hand and by the boto3 paginator, deletion refused while repositories remain), repositories
(upstreams replaced whole by UpdateRepository, cycles and an eleventh upstream refused, prefix
filters and pages, deletion refused while another repository uses it as an upstream), external
connections, authorization tokens, repository endpoints per format, generic packages (publish
with a checked SHA-256 and all four hashes, unfinished versions, downloads, bad asset names),
package and version inspection and lifecycle (status updates and their per-version failures,
archive, dispose, delete and publish again, origin controls, DeletePackage), CopyPackageVersions,
tags, and domain and repository permissions policies; then the aws CLI publishes and fetches a
generic package, and disposing it frees its bytes on disk.

Run by crates/ferry/tests/e2e_codeartifact.rs. Exits non-zero on the first failed check.
"""

import hashlib
import json
import os
import re
import subprocess
import tempfile
import time
from datetime import datetime, timezone

import boto3

from helpers import check, done, expect_error

URL = os.environ["FERRY_URL"]
ACCOUNT = os.environ["FERRY_ACCOUNT"]
REGION = "us-east-1"
ca = boto3.client("codeartifact", endpoint_url=URL, region_name=REGION)
ARN = f"arn:aws:codeartifact:{REGION}:{ACCOUNT}"
GEN = {"domain": "acme", "repository": "pkgs", "format": "generic", "namespace": "tools"}


def pages(method, key, **kwargs):
    """Follows nextToken by hand; returns every item of `key` and the first page."""
    items, first, token = [], None, None
    for _ in range(50):
        resp = method(**kwargs, **({"nextToken": token} if token else {}))
        first = first or resp
        items += resp[key]
        token = resp.get("nextToken")
        if not token:
            return items, first
    check(False, f"{method.__name__} pages never end")


def publish(package, version, content, asset, repo="pkgs", **kwargs):
    return ca.publish_package_version(**{**GEN, "repository": repo}, package=package, packageVersion=version,
                                      assetContent=content, assetName=asset,
                                      assetSHA256=hashlib.sha256(content).hexdigest(), **kwargs)


def version(package, v, repo="pkgs"):
    return ca.describe_package_version(**{**GEN, "repository": repo}, package=package, packageVersion=v)["packageVersion"]


def download(package, v, asset, repo="pkgs"):
    return ca.get_package_version_asset(**{**GEN, "repository": repo}, package=package, packageVersion=v, asset=asset)


def statuses(package, **kwargs):
    return {v["version"]: v["status"] for v in ca.list_package_versions(**GEN, package=package, **kwargs)["versions"]}


def names(items, field="name"):
    return sorted(i[field] for i in items)


# ---- 1. Domains.
for bad in ["Acme", "acme-", "9acme", "ac_me", "a" * 51]:
    expect_error("ValidationException", ca.create_domain, domain=bad)
created = ca.create_domain(domain="acme", tags=[{"key": "team", "value": "core"}])["domain"]
check(created["name"] == "acme" and created["arn"] == f"{ARN}:domain/acme", f"the created domain: {created}")
ca.create_domain(domain="other")
ca.create_domain(domain="spare")
expect_error("ConflictException", ca.create_domain, domain="acme")
dom = ca.describe_domain(domain="acme")["domain"]
check(dom["name"] == "acme" and dom["owner"] == ACCOUNT and dom["arn"] == f"{ARN}:domain/acme", f"the domain's identity: {dom}")
check(dom["status"] == "Active" and dom["repositoryCount"] == 0 and dom["assetSizeBytes"] == 0, f"a new domain is empty: {dom}")
expect_error("ResourceNotFoundException", ca.describe_domain, domain="nowhere")
listed, first = pages(ca.list_domains, "domains", maxResults=1)
check(len(first["domains"]) == 1 and first.get("nextToken"), f"maxResults=1 gives one domain and a token: {first}")
check(names(listed) == ["acme", "other", "spare"], f"the pages hold every domain once: {names(listed)}")
summary = next(d for d in listed if d["name"] == "acme")
check(summary["owner"] == ACCOUNT and summary["arn"] == f"{ARN}:domain/acme" and summary["status"] == "Active", f"the summary: {summary}")
paged = [d["name"] for p in ca.get_paginator("list_domains").paginate(PaginationConfig={"PageSize": 2}) for d in p["domains"]]
check(sorted(paged) == ["acme", "other", "spare"], f"the boto3 paginator: {paged}")
gone = ca.delete_domain(domain="spare")["domain"]
check(gone["name"] == "spare", f"DeleteDomain returns the domain: {gone}")
expect_error("ResourceNotFoundException", ca.describe_domain, domain="spare")
check(names(ca.list_domains()["domains"]) == ["acme", "other"], "the deleted domain is not listed")

# ---- 2. Repositories and upstreams.
for bad in ["-base", "has space", "a/b", "x" * 101]:
    expect_error("ValidationException", ca.create_repository, domain="acme", repository=bad)
base = ca.create_repository(domain="acme", repository="base", description="shared base")["repository"]
check(base["name"] == "base" and base["description"] == "shared base" and base["upstreams"] == [], f"the created repository: {base}")
ca.create_repository(domain="acme", repository="lib", description="library")
ca.create_repository(domain="acme", repository="app", description="the app", upstreams=[{"repositoryName": "base"}])
expect_error("ConflictException", ca.create_repository, domain="acme", repository="base")
expect_error("ResourceNotFoundException", ca.create_repository, domain="acme", repository="stray", upstreams=[{"repositoryName": "ghost"}])
expect_error("ResourceNotFoundException", ca.describe_repository, domain="acme", repository="stray")
expect_error("ResourceNotFoundException", ca.create_repository, domain="nowhere", repository="base")
twin = ca.create_repository(domain="other", repository="base")["repository"]
check(twin["arn"] == f"{ARN}:repository/other/base", f"the same name in another domain is another repository: {twin}")
app = ca.describe_repository(domain="acme", repository="app")["repository"]
check(app["name"] == "app" and app["domainName"] == "acme" and app["domainOwner"] == ACCOUNT
      and app["administratorAccount"] == ACCOUNT, f"the repository's owners: {app}")
check(app["arn"] == f"{ARN}:repository/acme/app" and app["description"] == "the app", f"arn and description: {app}")
check(app["upstreams"] == [{"repositoryName": "base"}] and app.get("externalConnections") == [], f"upstreams and connections: {app}")

upd = ca.update_repository(domain="acme", repository="app", description="the app, v2",
                           upstreams=[{"repositoryName": "lib"}, {"repositoryName": "base"}])["repository"]
check(upd["description"] == "the app, v2" and upd["upstreams"] == [{"repositoryName": "lib"}, {"repositoryName": "base"}],
      f"UpdateRepository replaces the list, in priority order: {upd}")
check(ca.describe_repository(domain="acme", repository="app")["repository"]["upstreams"] == upd["upstreams"], "and it is stored")
expect_error("ValidationException", ca.update_repository, domain="acme", repository="base", upstreams=[{"repositoryName": "app"}])
expect_error("ValidationException", ca.update_repository, domain="acme", repository="lib", upstreams=[{"repositoryName": "lib"}])
check(ca.describe_repository(domain="acme", repository="base")["repository"]["upstreams"] == [], "the refused cycle changed nothing")
for i in range(11):
    ca.create_repository(domain="other", repository=f"u{i:02}")
ca.create_repository(domain="other", repository="hub")
ups = [{"repositoryName": f"u{i:02}"} for i in range(11)]
expect_error("ValidationException", ca.update_repository, domain="other", repository="hub", upstreams=ups)
hub = ca.update_repository(domain="other", repository="hub", upstreams=ups[:10])["repository"]
check(hub["upstreams"] == ups[:10], f"ten upstreams are allowed: {hub['upstreams']}")

u0 = names(ca.list_repositories(repositoryPrefix="u0")["repositories"])
check(u0 == [f"u{i:02}" for i in range(10)], f"ListRepositories by prefix: {u0}")
every, first = pages(ca.list_repositories, "repositories", maxResults=4)
want = sorted([("acme", n) for n in ["app", "base", "lib"]] + [("other", n) for n in ["base", "hub"] + [f"u{i:02}" for i in range(11)]])
check(len(first["repositories"]) == 4 and first.get("nextToken"), f"the first page of four: {first['repositories']}")
check(sorted((r["domainName"], r["name"]) for r in every) == want, f"ListRepositories pages: {every}")
in_acme = ca.list_repositories_in_domain(domain="acme")["repositories"]
check(names(in_acme) == ["app", "base", "lib"], f"ListRepositoriesInDomain: {names(in_acme)}")
sapp = next(r for r in in_acme if r["name"] == "app")
check(sapp["arn"] == f"{ARN}:repository/acme/app" and sapp["description"] == "the app, v2" and sapp["domainOwner"] == ACCOUNT
      and sapp["administratorAccount"] == ACCOUNT, f"the summary: {sapp}")
ba = names(ca.list_repositories_in_domain(domain="other", repositoryPrefix="ba")["repositories"])
check(ba == ["base"], f"ListRepositoriesInDomain by prefix: {ba}")
in_other, first = pages(ca.list_repositories_in_domain, "repositories", domain="other", maxResults=5)
check(len(in_other) == 13 and len(first["repositories"]) == 5, f"ListRepositoriesInDomain pages: {names(in_other)}")
check(ca.describe_domain(domain="acme")["domain"]["repositoryCount"] == 3, "the domain counts its repositories")

expect_error("ConflictException", ca.delete_repository, domain="acme", repository="lib")
expect_error("ConflictException", ca.delete_domain, domain="acme")
ca.update_repository(domain="acme", repository="app", upstreams=[{"repositoryName": "base"}])
gone = ca.delete_repository(domain="acme", repository="lib")["repository"]
check(gone["name"] == "lib" and gone["description"] == "library", f"DeleteRepository returns the repository: {gone}")
expect_error("ResourceNotFoundException", ca.describe_repository, domain="acme", repository="lib")
expect_error("ResourceNotFoundException", ca.delete_repository, domain="acme", repository="lib")

# ---- 3. External connections.
ca.create_repository(domain="acme", repository="npm-store")
STORE = {"domain": "acme", "repository": "npm-store"}
expect_error("ValidationException", ca.associate_external_connection, **STORE, externalConnection="public:nope")
npmjs = [{"externalConnectionName": "public:npmjs", "packageFormat": "npm", "status": "Available"}]
linked = ca.associate_external_connection(**STORE, externalConnection="public:npmjs")["repository"]
check(linked["externalConnections"] == npmjs, f"the associated connection: {linked}")
expect_error("ValidationException", ca.associate_external_connection, **STORE, externalConnection="public:pypi")
check(ca.describe_repository(**STORE)["repository"]["externalConnections"] == npmjs, "one connection per repository")
unlinked = ca.disassociate_external_connection(**STORE, externalConnection="public:npmjs")["repository"]
check(unlinked["externalConnections"] == [], f"the connection is removed: {unlinked}")
expect_error("ResourceNotFoundException", ca.disassociate_external_connection, **STORE, externalConnection="public:npmjs")

# ---- 4. Authorization tokens.
before = datetime.now(timezone.utc)
tok = ca.get_authorization_token(domain="acme", durationSeconds=900)
check(re.fullmatch(r"[A-Za-z0-9._~-]+", tok["authorizationToken"]), f"the token is URL-safe: {tok['authorizationToken']!r}")
left = (tok["expiration"] - before).total_seconds()
check(14 * 60 <= left <= 16 * 60, f"the token lasts 15 minutes: {left}s")
expect_error("ValidationException", ca.get_authorization_token, domain="acme", durationSeconds=100)
expect_error("ResourceNotFoundException", ca.get_authorization_token, domain="nowhere")

# ---- 5. Repository endpoints.
for fmt in ["npm", "pypi", "maven", "cargo", "generic"]:
    ep = ca.get_repository_endpoint(domain="acme", repository="app", format=fmt)["repositoryEndpoint"]
    check(ep.startswith(URL) and ep.endswith("/") and f"/{fmt}/app/" in ep, f"the {fmt} endpoint: {ep}")

# ---- 6. Generic packages.
ca.create_repository(domain="acme", repository="pkgs")
ca.create_repository(domain="acme", repository="mirror")
CLI = b"#!/bin/sh\necho cli 1.0.0\n" * 64
pub = publish("cli", "1.0.0", CLI, "cli.tar.gz")
check(pub["format"] == "generic" and pub["namespace"] == "tools" and pub["package"] == "cli" and pub["version"] == "1.0.0"
      and pub["status"] == "Published" and pub["versionRevision"], f"the published version: {pub}")
hashes = {"MD5": hashlib.md5(CLI).hexdigest(), "SHA-1": hashlib.sha1(CLI).hexdigest(),
          "SHA-256": hashlib.sha256(CLI).hexdigest(), "SHA-512": hashlib.sha512(CLI).hexdigest()}
check(pub["asset"] == {"name": "cli.tar.gz", "size": len(CLI), "hashes": hashes}, f"the asset summary: {pub['asset']}")
rev1 = pub["versionRevision"]
expect_error("ValidationException", ca.publish_package_version, **GEN, package="cli", packageVersion="1.0.1", assetContent=CLI,
             assetName="cli.tar.gz", assetSHA256=hashlib.sha256(b"other bytes").hexdigest())
expect_error("ResourceNotFoundException", ca.describe_package_version, **GEN, package="cli", packageVersion="1.0.1")

time.sleep(1.1)  # distinct published times for sortBy=PUBLISHED_TIME below
part1 = publish("cli", "2.0.0", b"part one\n", "part1.bin", unfinished=True)
check(part1["status"] == "Unfinished" and version("cli", "2.0.0")["status"] == "Unfinished", f"an unfinished version: {part1}")
part2 = publish("cli", "2.0.0", b"part two, longer\n", "part2.bin")
check(part2["status"] == "Published" and part2["versionRevision"] != part1["versionRevision"],
      f"the last asset publishes the version with a new revision: {part1} {part2}")
expect_error("ConflictException", publish, "cli", "2.0.0", b"part two, longer\n", "part2.bin")
expect_error("ConflictException", publish, "cli", "2.0.0", b"a third part\n", "part3.bin")  # a finished version's assets are fixed
assets = ca.list_package_version_assets(**GEN, package="cli", packageVersion="2.0.0")
check({a["name"]: a["size"] for a in assets["assets"]} == {"part1.bin": 9, "part2.bin": 17}
      and assets["versionRevision"] == part2["versionRevision"], f"ListPackageVersionAssets: {assets}")
got = download("cli", "1.0.0", "cli.tar.gz")
body = got["asset"].read()
check(body == CLI, f"GetPackageVersionAsset returns the bytes: {len(body)} bytes")
check(got["assetName"] == "cli.tar.gz" and got["packageVersion"] == "1.0.0" and got["packageVersionRevision"] == rev1,
      f"and names them in headers: {got}")
expect_error("ResourceNotFoundException", download, "cli", "1.0.0", "missing.bin")
for bad in ["dir/cli.tar.gz", ".."]:
    expect_error("ValidationException", publish, "cli", "2.5.0", CLI, bad)

# ---- 7. Packages and versions.
publish("cli", "3.0.0", b"three\n", "cli.tar.gz", unfinished=True)
publish("cli-docs", "1.0.0", b"docs\n", "docs.zip")
publish("agent", "1.0.0", b"agent\n", "agent.bin")
time.sleep(1.1)
publish("cli", "0.9.0", b"backport\n", "cli.tar.gz")
pkgs = ca.list_packages(domain="acme", repository="pkgs", format="generic")["packages"]
check(names(pkgs, "package") == ["agent", "cli", "cli-docs"] and all(p["namespace"] == "tools" for p in pkgs), f"ListPackages: {pkgs}")
pre = names(ca.list_packages(domain="acme", repository="pkgs", packagePrefix="cli")["packages"], "package")
check(pre == ["cli", "cli-docs"], f"ListPackages by prefix: {pre}")
check(ca.list_packages(domain="acme", repository="pkgs", format="npm")["packages"] == [], "ListPackages by format")
pkg = ca.describe_package(**GEN, package="cli")["package"]
check(pkg["format"] == "generic" and pkg["namespace"] == "tools" and pkg["name"] == "cli"
      and pkg["originConfiguration"]["restrictions"] == {"publish": "ALLOW", "upstream": "BLOCK"}, f"DescribePackage: {pkg}")
all_versions = ca.list_package_versions(**GEN, package="cli")["versions"]
check({v["version"]: v["status"] for v in all_versions} == {"0.9.0": "Published", "1.0.0": "Published", "2.0.0": "Published",
      "3.0.0": "Unfinished"} and all(v.get("revision") for v in all_versions), f"ListPackageVersions: {all_versions}")
check(list(statuses("cli", status="Unfinished")) == ["3.0.0"], "ListPackageVersions by status")
by_time = [v["version"] for v in ca.list_package_versions(**GEN, package="cli", status="Published", sortBy="PUBLISHED_TIME")["versions"]]
check(by_time in (["1.0.0", "2.0.0", "0.9.0"], ["0.9.0", "2.0.0", "1.0.0"]), f"sorted by published time, not version: {by_time}")
v1 = version("cli", "1.0.0")
check(v1["status"] == "Published" and v1["displayName"] == "cli" and v1["packageName"] == "cli" and v1["namespace"] == "tools"
      and v1["version"] == "1.0.0" and v1["revision"] == rev1, f"DescribePackageVersion: {v1}")
check(isinstance(v1["publishedTime"], datetime) and v1["origin"]["originType"] == "INTERNAL", f"time and origin: {v1}")

up = ca.update_package_versions_status(**GEN, package="cli", versions=["1.0.0"], targetStatus="Unlisted")
check(up["successfulVersions"] == {"1.0.0": {"revision": rev1, "status": "Unlisted"}} and not up.get("failedVersions"),
      f"UpdatePackageVersionsStatus: {up}")
check(download("cli", "1.0.0", "cli.tar.gz")["asset"].read() == CLI, "an unlisted version still downloads")
up = ca.update_package_versions_status(**GEN, package="cli", versions=["1.0.0"], expectedStatus="Published", targetStatus="Archived")
check(up["failedVersions"].get("1.0.0", {}).get("errorCode") == "MISMATCHED_STATUS" and not up.get("successfulVersions"),
      f"a mismatched expectedStatus fails the version, not the call: {up}")
check(version("cli", "1.0.0")["status"] == "Unlisted", "and changes nothing")
up = ca.update_package_versions_status(**GEN, package="cli", versions=["9.9.9"], targetStatus="Archived")
check(up["failedVersions"].get("9.9.9", {}).get("errorCode") == "NOT_FOUND", f"an unknown version: {up}")
up = ca.update_package_versions_status(**GEN, package="cli", versions=["1.0.0"], expectedStatus="Unlisted", targetStatus="Archived")
check(up["successfulVersions"].get("1.0.0", {}).get("status") == "Archived", f"archived: {up}")
expect_error("ResourceNotFoundException", download, "cli", "1.0.0", "cli.tar.gz")

dis = ca.dispose_package_versions(**GEN, package="cli", versions=["2.0.0"])
check(dis["successfulVersions"].get("2.0.0", {}).get("status") == "Disposed", f"DisposePackageVersions: {dis}")
check(version("cli", "2.0.0")["status"] == "Disposed", "the version is disposed")
remaining = ca.list_package_version_assets(**GEN, package="cli", packageVersion="2.0.0")["assets"]
check(remaining == [], f"its assets are gone: {remaining}")
expect_error("ResourceNotFoundException", download, "cli", "2.0.0", "part1.bin")

dele = ca.delete_package_versions(**GEN, package="cli", versions=["1.0.0"])
check(dele["successfulVersions"].get("1.0.0", {}).get("status") == "Deleted", f"DeletePackageVersions: {dele}")
expect_error("ResourceNotFoundException", ca.describe_package_version, **GEN, package="cli", packageVersion="1.0.0")
CLI2 = b"#!/bin/sh\necho cli 1.0.0, rebuilt\n" * 64
again = publish("cli", "1.0.0", CLI2, "cli.tar.gz")
check(again["status"] == "Published" and again["versionRevision"] != rev1, f"a deleted version can be published again: {again}")
check(download("cli", "1.0.0", "cli.tar.gz")["asset"].read() == CLI2, "with its new bytes")

blocked = {"publish": "BLOCK", "upstream": "ALLOW"}
origin = ca.put_package_origin_configuration(**GEN, package="locked", restrictions=blocked)
check(origin["originConfiguration"]["restrictions"] == blocked, f"PutPackageOriginConfiguration: {origin}")
locked = ca.describe_package(**GEN, package="locked")["package"]
check(locked["name"] == "locked" and locked["originConfiguration"]["restrictions"] == blocked, f"it creates the package: {locked}")
expect_error("AccessDeniedException", publish, "locked", "1.0.0", b"x\n", "x.bin")
check(ca.list_package_versions(**GEN, package="locked")["versions"] == [], "the blocked publish stored nothing")

dp = ca.delete_package(**GEN, package="cli-docs")["deletedPackage"]
check(dp["package"] == "cli-docs" and dp["format"] == "generic" and dp["namespace"] == "tools", f"DeletePackage: {dp}")
expect_error("ResourceNotFoundException", ca.describe_package, **GEN, package="cli-docs")
check("cli-docs" not in names(ca.list_packages(domain="acme", repository="pkgs")["packages"], "package"), "nor listed")

# ---- 8. Copying versions between repositories.
COPY = {"domain": "acme", "sourceRepository": "pkgs", "destinationRepository": "mirror", "format": "generic",
        "namespace": "tools", "package": "cli", "versions": ["1.0.0"]}
cp = ca.copy_package_versions(**COPY)
check(list(cp["successfulVersions"]) == ["1.0.0"] and cp["successfulVersions"]["1.0.0"]["status"] == "Published"
      and not cp.get("failedVersions"), f"CopyPackageVersions: {cp}")
cp = ca.copy_package_versions(**COPY)
check(cp["failedVersions"].get("1.0.0", {}).get("errorCode") == "ALREADY_EXISTS" and not cp.get("successfulVersions"),
      f"a second copy without allowOverwrite: {cp}")
check(download("cli", "1.0.0", "cli.tar.gz", repo="mirror")["asset"].read() == CLI2, "the copy has the source's bytes")
ca.delete_package(**GEN, package="cli")
check(download("cli", "1.0.0", "cli.tar.gz", repo="mirror")["asset"].read() == CLI2, "and keeps them when the source goes")
check(ca.describe_domain(domain="acme")["domain"]["assetSizeBytes"] >= len(CLI2), "the domain counts its asset bytes")

# ---- 9. Tags.
tags = ca.list_tags_for_resource(resourceArn=f"{ARN}:domain/acme")["tags"]
check(tags == [{"key": "team", "value": "core"}], f"the tags given to CreateDomain: {tags}")
APP = f"{ARN}:repository/acme/app"
ca.tag_resource(resourceArn=APP, tags=[{"key": "env", "value": "dev"}, {"key": "tier", "value": "1"}])
ca.tag_resource(resourceArn=APP, tags=[{"key": "env", "value": "prod"}])
ca.untag_resource(resourceArn=APP, tagKeys=["tier"])
tags = ca.list_tags_for_resource(resourceArn=APP)["tags"]
check(tags == [{"key": "env", "value": "prod"}], f"tagged, retagged and untagged: {tags}")
expect_error("ResourceNotFoundException", ca.list_tags_for_resource, resourceArn=f"{ARN}:repository/acme/nothing")


# ---- 10. Permissions policies.
def policy(action):
    return json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*",
                                                               "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}}]})


for kind, where, arn in [("domain", {"domain": "acme"}, f"{ARN}:domain/acme"),
                         ("repository", {"domain": "acme", "repository": "app"}, APP)]:
    put, get, delete = (getattr(ca, f"{verb}_{kind}_permissions_policy") for verb in ("put", "get", "delete"))
    expect_error("ResourceNotFoundException", get, **where)
    p1 = put(**where, policyDocument=policy("codeartifact:ReadFromRepository"))["policy"]
    check(p1["resourceArn"] == arn and p1["revision"] and json.loads(p1["document"]) == json.loads(policy("codeartifact:ReadFromRepository")),
          f"the put {kind} policy: {p1}")
    check(get(**where)["policy"] == p1, f"Get{kind}PermissionsPolicy returns it")
    p2 = put(**where, policyDocument=policy("codeartifact:*"), policyRevision=p1["revision"])["policy"]
    check(p2["revision"] != p1["revision"] and json.loads(p2["document"])["Statement"][0]["Action"] == "codeartifact:*",
          f"a put at the current revision replaces it: {p2}")
    removed = delete(**where)["policy"]
    check(removed["resourceArn"] == arn and removed["revision"] == p2["revision"], f"the deleted {kind} policy: {removed}")
    expect_error("ResourceNotFoundException", get, **where)

# ---- 11. Generic packages with the aws CLI, and the space a disposed version frees.
cli_dir = tempfile.mkdtemp(prefix="ferry-ca-cli-")
blob = os.urandom(300_000)
with open(os.path.join(cli_dir, "tool.bin"), "wb") as f:
    f.write(blob)
used_before = ca.describe_domain(domain="acme")["domain"]["assetSizeBytes"]
out = subprocess.run(["aws", "codeartifact", "publish-package-version", "--domain", "acme", "--repository", "pkgs", "--format", "generic",
                      "--namespace", "cli", "--package", "tool", "--package-version", "3.0.0", "--asset-name", "tool.bin",
                      "--asset-content", os.path.join(cli_dir, "tool.bin"), "--asset-sha256", hashlib.sha256(blob).hexdigest()],
                     capture_output=True, text=True)
check(out.returncode == 0 and json.loads(out.stdout)["status"] == "Published", f"aws codeartifact publish-package-version: {out.stdout} {out.stderr}")
out = subprocess.run(["aws", "codeartifact", "get-package-version-asset", "--domain", "acme", "--repository", "pkgs", "--format", "generic",
                      "--namespace", "cli", "--package", "tool", "--package-version", "3.0.0", "--asset", "tool.bin",
                      os.path.join(cli_dir, "fetched.bin")], capture_output=True, text=True)
check(out.returncode == 0 and open(os.path.join(cli_dir, "fetched.bin"), "rb").read() == blob, f"aws codeartifact get-package-version-asset: {out.stderr}")
used = ca.describe_domain(domain="acme")["domain"]["assetSizeBytes"]
check(used == used_before + len(blob), f"the domain counts the new content once: {used_before} -> {used}")
blobs = os.path.join(os.environ["FERRY_DATA_DIR"], "blobs")
on_disk = lambda: sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(blobs) for f in fs)
disk_before = on_disk()
ca.dispose_package_versions(domain="acme", repository="pkgs", format="generic", namespace="cli", package="tool", versions=["3.0.0"])
check(ca.describe_domain(domain="acme")["domain"]["assetSizeBytes"] == used_before, "disposing frees the domain's count")
check(disk_before - on_disk() == len(blob), f"and the bytes on disk: {disk_before} -> {on_disk()}")

done()
