"""Package groups against Ferry's CodeArtifact, with boto3, the aws CLI and the real npm CLI:
the root group every domain has; creating groups with the documented pattern forms and the
refusals (malformed patterns, duplicates, deleting the root); the hierarchy (parents,
sub-groups, INHERIT resolved with `inheritedFrom`); origin configuration with allowed
repositories; which group a package belongs to (strongly, or weakly after case and separator
folding); associated packages (and a preview); tags; and enforcement: PUBLISH restricted to
one repository refuses `npm publish` and generic publishing elsewhere, a weakly associated
name is refused outright, and INTERNAL_UPSTREAM keeps a repository from taking versions from
its upstream until it is allowed. Deleting a group re-parents its children.

Run by crates/ferry/tests/e2e_codeartifact.rs. Exits non-zero on the first failed check."""

import hashlib
import json
import os
import subprocess
import tempfile

import boto3

from helpers import check, done, expect_error

URL = os.environ["FERRY_URL"]
HOME = os.environ["HOME"]
ca = boto3.client("codeartifact", endpoint_url=URL, region_name="us-east-1")
WORK = tempfile.mkdtemp(prefix="ferry-groups-")
ENV = dict(os.environ, npm_config_cache=os.path.join(WORK, "cache"), npm_config_update_notifier="false",
           npm_config_audit="false", npm_config_fund="false", npm_config_loglevel="warn")


def run(*cmd, cwd=None, ok=True):
    r = subprocess.run(list(cmd), cwd=cwd, env=ENV, capture_output=True, text=True, timeout=180)
    if ok:
        check(r.returncode == 0, f"{' '.join(cmd)}: {r.stdout}\n{r.stderr}")
    return r


def package(name, version):
    d = tempfile.mkdtemp(dir=WORK)
    with open(os.path.join(d, "package.json"), "w") as f:
        json.dump({"name": name, "version": version, "main": "index.js"}, f)
    with open(os.path.join(d, "index.js"), "w") as f:
        f.write(f"module.exports = '{name}@{version}';\n")
    return d


def group(pattern):
    return ca.describe_package_group(domain="corp", packageGroup=pattern)["packageGroup"]


def modes(g):
    return {t: (r["mode"], r["effectiveMode"], r.get("inheritedFrom", {}).get("pattern"), r["repositoriesCount"])
            for t, r in g["originConfiguration"]["restrictions"].items()}


ca.create_domain(domain="corp")
ca.create_repository(domain="corp", repository="internal")
ca.create_repository(domain="corp", repository="scratch")
ca.create_repository(domain="corp", repository="app", upstreams=[{"repositoryName": "internal"}])

# ---- the root group exists with the domain and allows everything.
root = group("/*")
check(root["pattern"] == "/*" and "parent" not in root and root["domainName"] == "corp", f"the root group: {root}")
check(modes(root) == {t: ("ALLOW", "ALLOW", None, 0) for t in ["EXTERNAL_UPSTREAM", "INTERNAL_UPSTREAM", "PUBLISH"]},
      f"the root allows every origin: {modes(root)}")
check(root["arn"].endswith(":package-group/corp/%2a"), f"the root's ARN: {root['arn']}")

# ---- creating groups; the refusals.
for p in ["/npm/*", "/npm/acme/*", "/npm//left-pad$", "/generic/tools~"]:
    made = ca.create_package_group(domain="corp", packageGroup=p, contactInfo="platform@acme.example",
                                   description=f"group {p}", tags=[{"key": "team", "value": "platform"}])["packageGroup"]
    check(made["pattern"] == p and made["description"] == f"group {p}", f"created {p}: {made}")
for bad in ["npm/*", "/npm/ac*", "/npm/acme/widget", "/pypi/ns/x$", "/maven//core$", "/npm/@acme/*", "/pypi//My_Pkg$", "/nope/*"]:
    expect_error("ValidationException", ca.create_package_group, domain="corp", packageGroup=bad)
expect_error("ConflictException", ca.create_package_group, domain="corp", packageGroup="/npm/*")
expect_error("ConflictException", ca.create_package_group, domain="corp", packageGroup="/*")
expect_error("ValidationException", ca.delete_package_group, domain="corp", packageGroup="/*")
expect_error("ResourceNotFoundException", ca.describe_package_group, domain="corp", packageGroup="/npm/other/*")
expect_error("ResourceNotFoundException", ca.create_package_group, domain="nodomain", packageGroup="/npm/*")

# ---- the hierarchy: parents, sub-groups, INHERIT resolved upwards.
acme = group("/npm/acme/*")
check(acme["parent"]["pattern"] == "/npm/*" and acme["parent"]["arn"].endswith("package-group/corp/npm/%2a"), f"parent: {acme['parent']}")
check(modes(acme)["PUBLISH"] == ("INHERIT", "ALLOW", "/*", 0), f"a new group inherits: {modes(acme)}")
subs = [g["pattern"] for g in ca.list_sub_package_groups(domain="corp", packageGroup="/npm/*")["packageGroups"]]
check(subs == ["/npm//left-pad$", "/npm/acme/*"], f"direct sub-groups of /npm/*: {subs}")
subs = [g["pattern"] for g in ca.list_sub_package_groups(domain="corp", packageGroup="/*")["packageGroups"]]
check(subs == ["/generic/tools~", "/npm/*"], f"direct sub-groups of the root: {subs}")
listed = [g["pattern"] for g in ca.list_package_groups(domain="corp", prefix="/npm/")["packageGroups"]]
check(listed == ["/npm/*", "/npm//left-pad$", "/npm/acme/*"], f"groups by prefix: {listed}")
out = run("aws", "codeartifact", "list-package-groups", "--domain", "corp", "--page-size", "2", "--output", "json").stdout
check([g["pattern"] for g in json.loads(out)["packageGroups"]] == ["/*", "/generic/tools~", "/npm/*", "/npm//left-pad$", "/npm/acme/*"],
      f"the CLI pages through every group: {out}")

# ---- origin configuration: npm publishing only into `internal`; scoped packages then inherit it.
r = ca.update_package_group_origin_configuration(
    domain="corp", packageGroup="/npm/*", restrictions={"PUBLISH": "ALLOW_SPECIFIC_REPOSITORIES"},
    addAllowedRepositories=[{"repositoryName": "internal", "originRestrictionType": "PUBLISH"}])
check(r["allowedRepositoryUpdates"] == {"PUBLISH": {"ADDED": ["internal"]}}, f"the update reports what changed: {r['allowedRepositoryUpdates']}")
check(modes(r["packageGroup"])["PUBLISH"] == ("ALLOW_SPECIFIC_REPOSITORIES", "ALLOW_SPECIFIC_REPOSITORIES", None, 1), f"{modes(r['packageGroup'])}")
check(modes(group("/npm/acme/*"))["PUBLISH"] == ("INHERIT", "ALLOW_SPECIFIC_REPOSITORIES", "/npm/*", 0), "the sub-group inherits it")
allowed = ca.list_allowed_repositories_for_group(domain="corp", packageGroup="/npm/*", originRestrictionType="PUBLISH")["allowedRepositories"]
check(allowed == ["internal"], f"allowed repositories: {allowed}")
expect_error("ResourceNotFoundException", ca.update_package_group_origin_configuration, domain="corp", packageGroup="/npm/*",
             addAllowedRepositories=[{"repositoryName": "nosuch", "originRestrictionType": "PUBLISH"}])
expect_error("ValidationException", ca.update_package_group_origin_configuration, domain="corp", packageGroup="/npm/*",
             addAllowedRepositories=[{"repositoryName": "scratch", "originRestrictionType": "EXTERNAL_UPSTREAM"}])
expect_error("ValidationException", ca.update_package_group_origin_configuration, domain="corp", packageGroup="/*",
             restrictions={"PUBLISH": "INHERIT"})

# ---- npm publish follows it: into internal yes, into scratch no (naming the group).
run("aws", "codeartifact", "login", "--tool", "npm", "--domain", "corp", "--repository", "internal")
run("npm", "publish", cwd=package("@acme/widget", "1.0.0"))
run("aws", "codeartifact", "login", "--tool", "npm", "--domain", "corp", "--repository", "scratch")
refused = run("npm", "publish", cwd=package("@acme/gadget", "1.0.0"), ok=False)
check(refused.returncode != 0 and "E403" in refused.stderr and "/npm/acme/*" in refused.stderr,
      f"publishing into scratch is refused by the group: {refused.stderr}")
check(ca.list_packages(domain="corp", repository="scratch")["packages"] == [], "nothing was stored in scratch")

# ---- a weakly associated name is refused whatever its group allows.
assoc = ca.get_associated_package_group(domain="corp", format="npm", package="left-pad")
check(assoc["packageGroup"]["pattern"] == "/npm//left-pad$" and assoc["associationType"] == "STRONG", f"{assoc}")
assoc = ca.get_associated_package_group(domain="corp", format="npm", package="left_pad")
check(assoc["packageGroup"]["pattern"] == "/npm//left-pad$" and assoc["associationType"] == "WEAK", f"a lookalike: {assoc}")
assoc = ca.get_associated_package_group(domain="corp", format="pypi", package="Requests")
check(assoc["packageGroup"]["pattern"] == "/*" and assoc["associationType"] == "STRONG", f"other formats fall to the root: {assoc}")
run("aws", "codeartifact", "login", "--tool", "npm", "--domain", "corp", "--repository", "internal")
weak = run("npm", "publish", cwd=package("left_pad", "1.0.0"), ok=False)
check(weak.returncode != 0 and "E403" in weak.stderr and "/npm//left-pad$" in weak.stderr, f"a lookalike cannot be published: {weak.stderr}")

# ---- generic publishing follows groups too.
body = b"tool bytes"
ca.update_package_group_origin_configuration(domain="corp", packageGroup="/generic/tools~", restrictions={"PUBLISH": "BLOCK"})
expect_error("AccessDeniedException", ca.publish_package_version, domain="corp", repository="internal", format="generic",
             namespace="tools", package="cli", packageVersion="1.0.0", assetName="cli.bin", assetContent=body,
             assetSHA256=hashlib.sha256(body).hexdigest())
ca.publish_package_version(domain="corp", repository="internal", format="generic", namespace="toolsmith", package="cli",
                           packageVersion="1.0.0", assetName="cli.bin", assetContent=body, assetSHA256=hashlib.sha256(body).hexdigest())
check(ca.get_associated_package_group(domain="corp", format="generic", namespace="toolsmith", package="cli")["packageGroup"]["pattern"] == "/*",
      "a prefix matches at a word boundary only: toolsmith is not under tools~")

# ---- INTERNAL_UPSTREAM: app may not take @acme packages from its upstream until allowed.
APP = ca.get_repository_endpoint(domain="corp", repository="app", format="npm")["repositoryEndpoint"]
run("aws", "codeartifact", "login", "--tool", "npm", "--domain", "corp", "--repository", "app")
check("1.0.0" in run("npm", "view", "@acme/widget", "version", "--prefer-online").stdout, "app sees @acme/widget through its upstream")
ca.update_package_group_origin_configuration(domain="corp", packageGroup="/npm/acme/*", restrictions={"INTERNAL_UPSTREAM": "BLOCK"})
blocked = run("npm", "view", "@acme/widget", "version", "--prefer-online", ok=False)
check(blocked.returncode != 0 and "E404" in blocked.stderr, f"blocked from the upstream: {blocked.stderr}")
ca.update_package_group_origin_configuration(
    domain="corp", packageGroup="/npm/acme/*", restrictions={"INTERNAL_UPSTREAM": "ALLOW_SPECIFIC_REPOSITORIES"},
    addAllowedRepositories=[{"repositoryName": "app", "originRestrictionType": "INTERNAL_UPSTREAM"}])
project = tempfile.mkdtemp(dir=WORK)
with open(os.path.join(project, "package.json"), "w") as f:
    json.dump({"name": "site", "version": "1.0.0", "private": True, "dependencies": {"@acme/widget": "1.0.0"}}, f)
run("npm", "install", cwd=project)
said = run("node", "-e", "console.log(require('@acme/widget'))", cwd=project).stdout.strip()
check(said == "@acme/widget@1.0.0", f"allowed again, it installs through app: {said}")

# ---- associated packages, and a preview for a pattern that is no group.
pkgs = ca.list_associated_packages(domain="corp", packageGroup="/npm/acme/*")["packages"]
check(pkgs == [{"format": "npm", "namespace": "acme", "package": "widget", "associationType": "STRONG"}], f"associated: {pkgs}")
pkgs = ca.list_associated_packages(domain="corp", packageGroup="/npm/acme/widget~", preview=True)["packages"]
check([p["package"] for p in pkgs] == ["widget"], f"previewed: {pkgs}")
expect_error("ResourceNotFoundException", ca.list_associated_packages, domain="corp", packageGroup="/npm/acme/widget~")

# ---- tags on a group's ARN; updating its description.
arn = group("/npm/acme/*")["arn"]
ca.tag_resource(resourceArn=arn, tags=[{"key": "cost", "value": "7"}])
tags = {t["key"]: t["value"] for t in ca.list_tags_for_resource(resourceArn=arn)["tags"]}
check(tags == {"team": "platform", "cost": "7"}, f"tags: {tags}")
up = ca.update_package_group(domain="corp", packageGroup="/npm/acme/*", description="acme's own")["packageGroup"]
check(up["description"] == "acme's own" and up["contactInfo"] == "platform@acme.example", f"updated: {up}")

# ---- deleting a group re-parents its children; they then inherit from the root.
gone = ca.delete_package_group(domain="corp", packageGroup="/npm/*")["packageGroup"]
check(gone["pattern"] == "/npm/*", f"deleted: {gone}")
acme = group("/npm/acme/*")
check(acme["parent"]["pattern"] == "/*" and modes(acme)["PUBLISH"] == ("INHERIT", "ALLOW", "/*", 0), f"re-parented: {acme}")
run("aws", "codeartifact", "login", "--tool", "npm", "--domain", "corp", "--repository", "scratch")
run("npm", "publish", cwd=package("@acme/gadget", "1.0.0"))
expect_error("ResourceNotFoundException", ca.list_tags_for_resource, resourceArn=gone["arn"])

done()
