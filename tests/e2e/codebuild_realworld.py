"""Real-world buildspecs on Ferry, from Ferry repositories: a Python project tested with pytest
that produces a JUnit report and Cobertura coverage (report groups, test cases, coverage,
trends), and a Node.js project built with npm whose output is a zip artifact in S3.

Run by crates/ferry/tests/e2e_codebuild.rs with FERRY_URL, FERRY_ACCOUNT and AWS credentials in
the environment; prints `TEST_REPORT_ARN=<arn>` for the CLI checks that follow. Exits non-zero
on the first failed check."""

import io
import json
import os
import tempfile
import time
import zipfile

import boto3

from helpers import check, done, git

URL = os.environ["FERRY_URL"]
ACCOUNT = os.environ["FERRY_ACCOUNT"]
REGION = "us-east-1"
cb = boto3.client("codebuild", endpoint_url=URL, region_name=REGION)
cc = boto3.client("codecommit", endpoint_url=URL, region_name=REGION)
s3 = boto3.client("s3", endpoint_url=URL, region_name=REGION)
ROLE = f"arn:aws:iam::{ACCOUNT}:role/codebuild"
ENV = {"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0", "computeType": "BUILD_GENERAL1_SMALL"}


def repo_with(name, files):
    url = cc.create_repository(repositoryName=name)["repositoryMetadata"]["cloneUrlHttp"]
    with tempfile.TemporaryDirectory() as tmp:
        work = os.path.join(tmp, "w")
        git("clone", "-q", url, work)
        for path, text in files.items():
            full = os.path.join(work, path)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "w") as f:
                f.write(text)
        git("add", ".", cwd=work)
        git("commit", "-q", "-m", "project", cwd=work)
        git("push", "-q", "origin", "HEAD:main", cwd=work)
    return url


def build(project, timeout=180):
    bid = cb.start_build(projectName=project)["build"]["id"]
    deadline = time.time() + timeout
    while time.time() < deadline:
        b = cb.batch_get_builds(ids=[bid])["builds"][0]
        if b["buildComplete"]:
            return b
        time.sleep(0.3)
    raise AssertionError(f"{bid} did not finish")


# --- Python with pytest: JUnit report and Cobertura coverage -----------------------------------
PY_BUILDSPEC = """version: 0.2
phases:
  install:
    runtime-versions:
      python: 3.11
    commands:
      - python3 -m pytest --version
  build:
    commands:
      - python3 -m pytest --junitxml=reports/junit.xml --cov=calc --cov-branch --cov-report=xml:reports/coverage.xml || echo "tests failed"
reports:
  pytest:
    files:
      - junit.xml
    base-directory: reports
    file-format: JUNITXML
  coverage:
    files:
      - coverage.xml
    base-directory: reports
    file-format: COBERTURAXML
"""
url = repo_with("py-app", {
    "buildspec.yml": PY_BUILDSPEC,
    "calc.py": "def add(a, b):\n    return a + b\n\n\ndef div(a, b):\n    if b == 0:\n        raise ZeroDivisionError('no')\n    return a / b\n\n\ndef unused():\n    return 42\n",
    "test_calc.py": "import pytest\nimport calc\n\n\ndef test_add():\n    assert calc.add(2, 3) == 5\n\n\ndef test_div_fails():\n    assert calc.div(1, 2) == 0.75\n\n\n@pytest.mark.skip(reason='later')\ndef test_skipped():\n    pass\n",
})
cb.create_project(name="py-app", source={"type": "CODECOMMIT", "location": url}, sourceVersion="main",
                  artifacts={"type": "NO_ARTIFACTS"}, environment=ENV, serviceRole=ROLE)
b = build("py-app")
check(b["buildStatus"] == "SUCCEEDED", f"pytest build {b['buildStatus']} {[(p['phaseType'], p.get('contexts')) for p in b['phases']]}")
arns = b.get("reportArns", [])
check(len(arns) == 2, f"two reports {arns}")
reports = {r["name"]: r for r in cb.batch_get_reports(reportArns=arns)["reports"]}
check(set(reports) == {"py-app-pytest", "py-app-coverage"}, f"report names {set(reports)}")
test_report = reports["py-app-pytest"]
check(test_report["type"] == "TEST" and test_report["status"] == "FAILED" and test_report["executionId"] == b["arn"], f"test report {test_report}")
summary = test_report["testSummary"]
check(summary["total"] == 3 and summary["statusCounts"].get("SUCCEEDED") == 1 and summary["statusCounts"].get("FAILED") == 1
      and summary["statusCounts"].get("SKIPPED") == 1, f"summary {summary}")
cases = cb.describe_test_cases(reportArn=test_report["arn"])["testCases"]
by_name = {c["name"]: c for c in cases}
check(by_name["test_div_fails"]["status"] == "FAILED" and "0.75" in by_name["test_div_fails"].get("message", ""), f"failed case {by_name.get('test_div_fails')}")
check(by_name["test_add"]["prefix"] == "test_calc" and by_name["test_add"]["status"] == "SUCCEEDED", f"prefix {by_name['test_add']}")
failed = cb.describe_test_cases(reportArn=test_report["arn"], filter={"status": "FAILED"})["testCases"]
check([c["name"] for c in failed] == ["test_div_fails"], "filter by status")
check([c["name"] for c in cb.describe_test_cases(reportArn=test_report["arn"], filter={"keyword": "add"})["testCases"]] == ["test_add"], "filter by keyword")
cov_report = reports["py-app-coverage"]
cs = cov_report["codeCoverageSummary"]
check(cov_report["type"] == "CODE_COVERAGE" and 0 < cs["lineCoveragePercentage"] < 100 and cs["linesMissed"] >= 1, f"coverage summary {cs}")
files = cb.describe_code_coverages(reportArn=cov_report["arn"])["codeCoverages"]
check([f["filePath"] for f in files] == ["calc.py"] and files[0]["linesCovered"] == cs["linesCovered"], f"per-file coverage {files}")
group = test_report["reportGroupArn"]
check(group == f"arn:aws:codebuild:{REGION}:{ACCOUNT}:report-group/py-app-pytest", "auto-created report group")
check(cb.batch_get_report_groups(reportGroupArns=[group])["reportGroups"][0]["type"] == "TEST", "group type from the format")
check(cb.list_reports_for_report_group(reportGroupArn=group)["reports"] == [test_report["arn"]], "reports of the group")
trend = cb.get_report_group_trend(reportGroupArn=group, trendField="PASS_RATE")
check(trend["stats"]["average"] in ("33.33", "33.3") and len(trend["rawData"]) == 1, f"trend {trend}")
print(f"TEST_REPORT_ARN={test_report['arn']}")

# --- Node.js with npm: a zip artifact ----------------------------------------------------------
NODE_BUILDSPEC = """version: 0.2
phases:
  install:
    runtime-versions:
      nodejs: 20
  pre_build:
    commands:
      - node --version
      - npm --version
  build:
    commands:
      - npm test
      - npm run build
artifacts:
  files:
    - '**/*'
  base-directory: dist
  name: site-$CODEBUILD_BUILD_NUMBER.zip
"""
url = repo_with("node-app", {
    "buildspec.yml": NODE_BUILDSPEC,
    "package.json": json.dumps({"name": "node-app", "version": "1.0.0", "private": True,
                                "scripts": {"test": "node test.js", "build": "node build.js"}}),
    "lib.js": "exports.greet = (n) => `hello ${n}`;\n",
    "test.js": "const assert = require('assert');\nassert.strictEqual(require('./lib').greet('ferry'), 'hello ferry');\nconsole.log('tests passed');\n",
    "build.js": "const fs = require('fs');\nfs.mkdirSync('dist/assets', {recursive: true});\nfs.writeFileSync('dist/index.html', require('./lib').greet('world'));\nfs.writeFileSync('dist/assets/app.js', '1');\n",
})
s3.create_bucket(Bucket="sites")
cb.create_project(name="node-app", source={"type": "CODECOMMIT", "location": url}, sourceVersion="main",
                  artifacts={"type": "S3", "location": "sites", "packaging": "ZIP", "name": "site.zip", "overrideArtifactName": True},
                  environment=ENV, serviceRole=ROLE)
b = build("node-app")
check(b["buildStatus"] == "SUCCEEDED", f"npm build {b['buildStatus']} {[(p['phaseType'], p.get('contexts')) for p in b['phases']]}")
key = f"site-{b['buildNumber']}.zip"
check(b["artifacts"]["location"] == f"arn:aws:s3:::sites/{key}", f"artifact name from the buildspec {b['artifacts']}")
z = zipfile.ZipFile(io.BytesIO(s3.get_object(Bucket="sites", Key=key)["Body"].read()))
check(sorted(z.namelist()) == ["assets/app.js", "index.html"] and z.read("index.html") == b"hello world", f"zip {z.namelist()}")
# --- Java with Maven: surefire's JUnit reports, the jar as a file artifact ---------------------
# Maven Central is out of reach here, so the project's settings.xml mirrors everything to
# Debian's packaged Maven repository (.ci/run installs the plugins), as a team would mirror to
# its CodeArtifact repository.
JAVA_BUILDSPEC = """version: 0.2
env:
  variables:
    MAVEN_OPTS: "-Xmx512m"
phases:
  install:
    runtime-versions:
      java: corretto17
  build:
    commands:
      - mvn -B -q -s settings.xml -Dmaven.repo.local=$CODEBUILD_SRC_DIR/.m2 -Dmaven.test.failure.ignore=true package
  post_build:
    commands:
      - ls target/*.jar
reports:
  surefire:
    files:
      - 'TEST-*.xml'
    base-directory: target/surefire-reports
    file-format: JUNITXML
artifacts:
  files:
    - target/greeter-1.0.jar
  discard-paths: yes
"""
POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>com.example</groupId><artifactId>greeter</artifactId><version>1.0</version>
  <properties>
    <maven.compiler.source>17</maven.compiler.source><maven.compiler.target>17</maven.compiler.target>
    <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>
  </properties>
  <dependencies>
    <dependency><groupId>junit</groupId><artifactId>junit</artifactId><version>4.13.2</version><scope>test</scope></dependency>
  </dependencies>
  <build><plugins>
    <plugin><groupId>org.apache.maven.plugins</groupId><artifactId>maven-compiler-plugin</artifactId><version>3.10.1</version></plugin>
    <plugin><groupId>org.apache.maven.plugins</groupId><artifactId>maven-resources-plugin</artifactId><version>3.3.0</version></plugin>
    <plugin><groupId>org.apache.maven.plugins</groupId><artifactId>maven-surefire-plugin</artifactId><version>2.22.3</version></plugin>
    <plugin><groupId>org.apache.maven.plugins</groupId><artifactId>maven-jar-plugin</artifactId><version>3.3.0</version></plugin>
  </plugins></build>
</project>
"""
url = repo_with("java-app", {
    "buildspec.yml": JAVA_BUILDSPEC,
    "pom.xml": POM,
    "settings.xml": "<settings><mirrors><mirror><id>packaged</id><mirrorOf>*</mirrorOf><url>file:///usr/share/maven-repo</url></mirror></mirrors></settings>\n",
    "src/main/java/com/example/Greeter.java": "package com.example;\n\npublic class Greeter {\n    public static String greet(String name) { return \"Hello, \" + name; }\n}\n",
    "src/test/java/com/example/GreeterTest.java": "package com.example;\n\nimport static org.junit.Assert.assertEquals;\nimport org.junit.Test;\n\npublic class GreeterTest {\n    @Test public void greets() { assertEquals(\"Hello, Ferry\", Greeter.greet(\"Ferry\")); }\n    @Test public void shouts() { assertEquals(\"HELLO, FERRY\", Greeter.greet(\"Ferry\")); }\n}\n",
})
s3.create_bucket(Bucket="jars")
cb.create_project(name="java-app", source={"type": "CODECOMMIT", "location": url}, sourceVersion="main",
                  artifacts={"type": "S3", "location": "jars", "packaging": "NONE", "path": "releases", "name": "greeter"},
                  environment=ENV, serviceRole=ROLE)
b = build("java-app", timeout=300)
check(b["buildStatus"] == "SUCCEEDED", f"maven build {b['buildStatus']} {[(p['phaseType'], p.get('contexts')) for p in b['phases']]}")
reports = cb.batch_get_reports(reportArns=b.get("reportArns", []))["reports"]
check(len(reports) == 1 and reports[0]["name"] == "java-app-surefire", f"surefire report {[r['name'] for r in reports]}")
summary = reports[0]["testSummary"]
check(summary["total"] == 2 and summary["statusCounts"].get("SUCCEEDED") == 1 and summary["statusCounts"].get("FAILED") == 1, f"surefire summary {summary}")
cases = {c["name"]: c for c in cb.describe_test_cases(reportArn=reports[0]["arn"])["testCases"]}
check(cases["shouts"]["status"] == "FAILED" and cases["shouts"]["prefix"] == "com.example.GreeterTest", f"surefire cases {cases}")
jar = s3.get_object(Bucket="jars", Key="releases/greeter/greeter-1.0.jar")["Body"].read()
names = zipfile.ZipFile(io.BytesIO(jar)).namelist()
check("com/example/Greeter.class" in names, f"the jar holds the class {names}")
print("JAR_KEY=releases/greeter/greeter-1.0.jar")

done()
