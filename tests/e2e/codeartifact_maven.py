"""Maven against Ferry's CodeArtifact: the real `mvn deploy` publishes a release and, twice, a
SNAPSHOT (Unfinished until its maven-metadata.xml arrives, then Published), and `mvn compile`
of a consumer resolves them through a repository whose upstream holds them (what it fetched
is retained there); maven-metadata.xml is generated (latest, release, versions; the snapshot's
newest build), every file has its checksums, `mvn dependency:get` fetches the newest snapshot
build; and the refusals: a released version cannot be
overwritten, paths that climb out or name another artifact, a checksum that disagrees, no token.

Run by crates/ferry/tests/e2e_codeartifact.rs. Exits non-zero on the first failed check."""

import base64
import hashlib
import os
import re
import subprocess
import tempfile
import urllib.error
import urllib.request

import boto3

from helpers import check, done

URL = os.environ["FERRY_URL"]
ca = boto3.client("codeartifact", endpoint_url=URL, region_name="us-east-1")
WORK = tempfile.mkdtemp(prefix="ferry-maven-")
M2 = os.path.join(WORK, "m2")

ca.create_domain(domain="jvm")
ca.create_repository(domain="jvm", repository="maven-store")
ca.create_repository(domain="jvm", repository="team", upstreams=[{"repositoryName": "maven-store"}])
STORE_EP = ca.get_repository_endpoint(domain="jvm", repository="maven-store", format="maven")["repositoryEndpoint"]
TEAM_EP = ca.get_repository_endpoint(domain="jvm", repository="team", format="maven")["repositoryEndpoint"]
TOKEN = ca.get_authorization_token(domain="jvm")["authorizationToken"]
ENV = dict(os.environ, CODEARTIFACT_AUTH_TOKEN=TOKEN)
PLUGINS = "".join(f"<plugin><groupId>org.apache.maven.plugins</groupId><artifactId>{a}</artifactId><version>{v}</version></plugin>"
                  for a, v in [("maven-compiler-plugin", "3.10.1"), ("maven-resources-plugin", "3.3.0"),
                               ("maven-surefire-plugin", "2.22.3"), ("maven-jar-plugin", "3.3.0"),
                               ("maven-install-plugin", "3.1.0"), ("maven-deploy-plugin", "3.0.0")])


def settings(endpoint):
    # Plugins come from Debian's packaged repository (Maven Central is out of reach here).
    path = os.path.join(WORK, f"settings-{abs(hash(endpoint))}.xml")
    with open(path, "w") as f:
        f.write(f"""<settings>
  <servers><server><id>codeartifact</id><username>aws</username><password>${{env.CODEARTIFACT_AUTH_TOKEN}}</password></server></servers>
  <mirrors><mirror><id>packaged</id><mirrorOf>*,!codeartifact</mirrorOf><url>file:///usr/share/maven-repo</url></mirror></mirrors>
  <profiles><profile><id>ca</id><repositories><repository><id>codeartifact</id><url>{endpoint}</url>
    <snapshots><enabled>true</enabled><updatePolicy>always</updatePolicy></snapshots></repository></repositories></profile></profiles>
  <activeProfiles><activeProfile>ca</activeProfile></activeProfiles>
</settings>
""")
    return path


def project(artifact, version, java, deps=""):
    d = tempfile.mkdtemp(dir=WORK)
    os.makedirs(os.path.join(d, "src/main/java/com/acme"))
    with open(os.path.join(d, "pom.xml"), "w") as f:
        f.write(f"""<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>com.acme</groupId><artifactId>{artifact}</artifactId><version>{version}</version><packaging>jar</packaging>
  <properties><maven.compiler.source>11</maven.compiler.source><maven.compiler.target>11</maven.compiler.target>
    <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding></properties>
  <dependencies>{deps}</dependencies>
  <distributionManagement>
    <repository><id>codeartifact</id><url>{STORE_EP}</url></repository>
    <snapshotRepository><id>codeartifact</id><url>{STORE_EP}</url></snapshotRepository>
  </distributionManagement>
  <build><plugins>{PLUGINS}</plugins></build>
</project>
""")
    for name, text in java.items():
        with open(os.path.join(d, "src/main/java/com/acme", name), "w") as f:
            f.write(text)
    return d


def mvn(cwd, endpoint, *goals, ok=True, local=M2):
    r = subprocess.run(["mvn", "-B", "-q", "-s", settings(endpoint), f"-Dmaven.repo.local={local}", *goals], cwd=cwd, env=ENV,
                       capture_output=True, text=True, timeout=300)
    if ok:
        check(r.returncode == 0, f"mvn {goals}: {r.stdout[-3000:]}\n{r.stderr[-2000:]}")
    return r


def http(method, url, body=None, token=TOKEN):
    req = urllib.request.Request(url, data=body, method=method)
    if token:
        req.add_header("Authorization", "Basic " + base64.b64encode(f"aws:{token}".encode()).decode())
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def status_of(version):
    return ca.describe_package_version(domain="jvm", repository="maven-store", format="maven", namespace="com.acme",
                                       package="greeting", packageVersion=version)["packageVersion"]["status"]


# ---- a release, deployed with mvn.
lib = project("greeting", "1.0.0", {"Greeting.java": "package com.acme;\npublic class Greeting { public static String hello(String n) { return \"hello \" + n; } }\n"})
mvn(lib, STORE_EP, "deploy")
check(status_of("1.0.0") == "Published", "the release is published once its metadata arrived")
assets = sorted(a["name"] for a in ca.list_package_version_assets(domain="jvm", repository="maven-store", format="maven", namespace="com.acme",
                                                                 package="greeting", packageVersion="1.0.0")["assets"])
check("greeting-1.0.0.jar" in assets and "greeting-1.0.0.pom" in assets, f"jar and pom are the version's assets: {assets}")
status, jar = http("GET", STORE_EP + "com/acme/greeting/1.0.0/greeting-1.0.0.jar")
check(status == 200 and jar[:2] == b"PK", f"the jar downloads: {status}")
for ext, fn in [("md5", hashlib.md5), ("sha1", hashlib.sha1), ("sha256", hashlib.sha256), ("sha512", hashlib.sha512)]:
    status, body = http("GET", STORE_EP + f"com/acme/greeting/1.0.0/greeting-1.0.0.jar.{ext}")
    check(status == 200 and body.decode().strip() == fn(jar).hexdigest(), f"the jar's {ext}: {status} {body[:80]}")
status, meta = http("GET", STORE_EP + "com/acme/greeting/maven-metadata.xml")
check(status == 200 and b"<release>1.0.0</release>" in meta and b"<version>1.0.0</version>" in meta, f"generated metadata: {meta}")
status, sha1 = http("GET", STORE_EP + "com/acme/greeting/maven-metadata.xml.sha1")
check(sha1.decode() == hashlib.sha1(meta).hexdigest(), "and its checksum")

# ---- a SNAPSHOT, deployed twice.
snap = project("greeting", "1.1.0-SNAPSHOT", {"Greeting.java": "package com.acme;\npublic class Greeting { public static String hello(String n) { return \"hi \" + n; } }\n"})
mvn(snap, STORE_EP, "deploy")
mvn(snap, STORE_EP, "deploy")
check(status_of("1.1.0-SNAPSHOT") == "Published", "the snapshot is published")
status, smeta = http("GET", STORE_EP + "com/acme/greeting/1.1.0-SNAPSHOT/maven-metadata.xml")
check(status == 200 and b"<buildNumber>2</buildNumber>" in smeta, f"the snapshot's newest build is the second: {smeta}")
stamp = re.search(rb"<value>(1\.1\.0-[0-9.]+-2)</value>", smeta)
check(stamp is not None, f"with a timestamped value: {smeta}")
status, _ = http("GET", STORE_EP + f"com/acme/greeting/1.1.0-SNAPSHOT/greeting-{stamp.group(1).decode()}.jar")
check(status == 200, f"whose jar downloads: {status}")

# ---- a consumer resolves through the team repository (upstream maven-store).
app = project("app", "1.0.0", {"App.java": "package com.acme;\npublic class App { public static void main(String[] a) { System.out.println(Greeting.hello(\"ferry\")); } }\n"},
              deps="<dependency><groupId>com.acme</groupId><artifactId>greeting</artifactId><version>1.0.0</version></dependency>")
status, body = http("GET", TEAM_EP + "com/acme/greeting/1.0.0/greeting-1.0.0.pom")
check(status == 200, f"the POM through team: {status} {body[:300]}")
# mvn dependency:get through the team repository (upstream maven-store), into an empty local repository.
GET_M2 = os.path.join(WORK, "get-m2")
mvn(WORK, TEAM_EP, "org.apache.maven.plugins:maven-dependency-plugin:3.5.0:get", "-Dartifact=com.acme:greeting:1.1.0-SNAPSHOT",
    "-Dtransitive=false", local=GET_M2)
got = [f for f in os.listdir(os.path.join(GET_M2, "com/acme/greeting/1.1.0-SNAPSHOT")) if f.endswith(".jar")]
check(any(stamp.group(1).decode() in f for f in got), f"mvn dependency:get resolved the newest snapshot build: {got}")
CONSUMER_M2 = os.path.join(WORK, "consumer-m2")  # deploying installed the jar into M2; the consumer starts empty
mvn(app, TEAM_EP, "compile", local=CONSUMER_M2)
cp = os.path.join(app, "target/classes") + ":" + os.path.join(CONSUMER_M2, "com/acme/greeting/1.0.0/greeting-1.0.0.jar")
said = subprocess.run(["java", "-cp", cp, "com.acme.App"], capture_output=True, text=True).stdout.strip()
check(said == "hello ferry", f"the consumer runs with the resolved jar: {said}")
kept = [(p["namespace"], p["package"]) for p in ca.list_packages(domain="jvm", repository="team")["packages"]]
check(kept == [("com.acme", "greeting")], f"the fetched version is retained in team: {kept}")

# ---- refusals.
status, _ = http("PUT", STORE_EP + "com/acme/greeting/1.0.0/greeting-1.0.0.jar", b"not the jar")
check(status == 409, f"a released version cannot be overwritten: {status}")
status, _ = http("PUT", STORE_EP + "com/acme/greeting/1.0.0/greeting-1.0.0-extra.jar", b"more")
check(status == 409, f"nor take new files: {status}")
status, _ = http("PUT", STORE_EP + "com/acme/../../etc/1.0/x-1.0.jar", b"x")
check(status == 400, f"a path that climbs out: {status}")
status, _ = http("PUT", STORE_EP + "com/acme/greeting/2.0.0/other-2.0.0.jar", b"x")
check(status == 400, f"a file named after another artifact: {status}")
status, _ = http("PUT", STORE_EP + "com/acme/widget/2.0.0/widget-2.0.0.jar", b"widget bytes")
check(status == 201 and ca.describe_package_version(domain="jvm", repository="maven-store", format="maven", namespace="com.acme",
                                                    package="widget", packageVersion="2.0.0")["packageVersion"]["status"] == "Unfinished",
      "a version without metadata is Unfinished")
status, _ = http("GET", STORE_EP + "com/acme/widget/2.0.0/widget-2.0.0.jar")
check(status == 404, f"and is not served: {status}")
status, _ = http("PUT", STORE_EP + "com/acme/widget/2.0.0/widget-2.0.0.jar.sha1", b"0" * 40)
check(status == 400, f"a checksum that disagrees: {status}")
status, _ = http("PUT", STORE_EP + "com/acme/widget/2.0.0/widget-2.0.0.jar.sha1", hashlib.sha1(b"widget bytes").hexdigest().encode())
check(status == 200, f"one that agrees: {status}")
status, _ = http("GET", STORE_EP + "com/acme/greeting/maven-metadata.xml", token=None)
check(status == 401, f"no token: {status}")
done()
