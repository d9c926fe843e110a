"""boto3 against a running Ferry: the JSON 1.1 companion services CloudWatch Logs, SSM
Parameter Store and Secrets Manager — breadth (groups, streams, events, tokens, filters,
retention; parameters, versions, labels, paths; secrets, versions, stages, deletion and
restore), pagination through boto3's paginators, and bad input that must get AWS's errors.

Run by crates/ferry/tests/e2e_boto3.rs with FERRY_URL, FERRY_ACCOUNT, FERRY_DATA_DIR and AWS
credentials in the environment. Exits non-zero on the first failed check."""

import datetime
import glob
import os
import re
import time

import boto3
from botocore.config import Config

from helpers import check, done, expect_error

URL = os.environ["FERRY_URL"]
ACCOUNT = os.environ["FERRY_ACCOUNT"]
DATA_DIR = os.environ["FERRY_DATA_DIR"]
CFG = Config(retries={"max_attempts": 1, "mode": "standard"})
logs = boto3.client("logs", endpoint_url=URL, config=CFG)
ssm = boto3.client("ssm", endpoint_url=URL, config=CFG)
sm = boto3.client("secretsmanager", endpoint_url=URL, config=CFG)

NOW = int(time.time() * 1000)
DAY = 86_400_000


def paged(client, op, key, **kwargs):
    out = []
    for page in client.get_paginator(op).paginate(**kwargs):
        out += page[key]
    return out


def sqlite_bytes():
    """The SQLite database files of the server (empty on PostgreSQL)."""
    data = b""
    if os.environ.get("FERRY_DATABASE_URL"):
        return data
    for path in glob.glob(os.path.join(DATA_DIR, "ferry.db*")):
        with open(path, "rb") as f:
            data += f.read()
    return data


# ---------------------------------------------------------------------------------------------
# CloudWatch Logs: groups and streams

logs.create_log_group(logGroupName="/ferry/app", tags={"team": "ferry"})
logs.create_log_group(logGroupName="/ferry/other")
logs.create_log_group(logGroupName="zeta")
expect_error("ResourceAlreadyExistsException", logs.create_log_group, logGroupName="/ferry/app")
e = expect_error("InvalidParameterException", logs.create_log_group, logGroupName="bad name!")
check("logGroupName" in e.response["Error"]["Message"], "the validation message names the member")

groups = logs.describe_log_groups(logGroupNamePrefix="/ferry/")["logGroups"]
check([g["logGroupName"] for g in groups] == ["/ferry/app", "/ferry/other"], f"prefix: {groups}")
g = groups[0]
check(g["arn"] == f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/ferry/app:*", g["arn"])
check(g["logGroupArn"] == f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/ferry/app", g["logGroupArn"])
check(abs(g["creationTime"] - NOW) < 60_000 and "retentionInDays" not in g, g)
names = [g["logGroupName"] for g in paged(logs, "describe_log_groups", "logGroups", PaginationConfig={"PageSize": 1})]
check(names == ["/ferry/app", "/ferry/other", "zeta"], f"paged groups: {names}")
page = logs.describe_log_groups(limit=2)
check(len(page["logGroups"]) == 2 and "nextToken" in page, "a short page has a token")
check(
    [g["logGroupName"] for g in logs.describe_log_groups(logGroupNamePattern="OTH")["logGroups"]] == ["/ferry/other"],
    "name pattern is a case-insensitive substring",
)
expect_error("InvalidParameterException", logs.describe_log_groups, logGroupNamePrefix="/", logGroupNamePattern="x")
expect_error("InvalidParameterException", logs.describe_log_groups, nextToken="garbage")

for s in ["web-1", "web-2", "worker"]:
    logs.create_log_stream(logGroupName="/ferry/app", logStreamName=s)
expect_error("ResourceAlreadyExistsException", logs.create_log_stream, logGroupName="/ferry/app", logStreamName="web-1")
expect_error("ResourceNotFoundException", logs.create_log_stream, logGroupName="/nope", logStreamName="s")
expect_error("InvalidParameterException", logs.create_log_stream, logGroupName="/ferry/app", logStreamName="a:b")

# ---------------------------------------------------------------------------------------------
# Events

r = logs.put_log_events(
    logGroupName="/ferry/app",
    logStreamName="web-1",
    logEvents=[
        {"timestamp": NOW - 5000, "message": "GET /index 200"},
        {"timestamp": NOW - 4000, "message": "ERROR db timeout"},
        {"timestamp": NOW - 3000, "message": "GET /health 200"},
        {"timestamp": NOW - 2000, "message": "WARN slow query in db"},
    ],
)
check("rejectedLogEventsInfo" not in r, f"nothing rejected: {r}")
logs.put_log_events(
    logGroupName="/ferry/app",
    logStreamName="web-2",
    logEvents=[{"timestamp": NOW - 4500, "message": "ERROR refused"}, {"timestamp": NOW - 1000, "message": "GET /a 200"}],
)
logs.put_log_events(logGroupName="/ferry/app", logStreamName="worker", logEvents=[{"timestamp": NOW - 4200, "message": "job started"}])

e = expect_error(
    "InvalidParameterException",
    logs.put_log_events,
    logGroupName="/ferry/app",
    logStreamName="web-1",
    logEvents=[{"timestamp": NOW, "message": "b"}, {"timestamp": NOW - 1, "message": "a"}],
)
check("chronological" in e.response["Error"]["Message"], e.response["Error"]["Message"])
expect_error(
    "InvalidParameterException",
    logs.put_log_events,
    logGroupName="/ferry/app",
    logStreamName="web-1",
    logEvents=[{"timestamp": NOW - 2 * DAY, "message": "a"}, {"timestamp": NOW, "message": "b"}],
)
expect_error("ResourceNotFoundException", logs.put_log_events, logGroupName="/ferry/app", logStreamName="nope", logEvents=[{"timestamp": NOW, "message": "x"}])
expect_error("ResourceNotFoundException", logs.put_log_events, logGroupName="/nope", logStreamName="web-1", logEvents=[{"timestamp": NOW, "message": "x"}])

logs.create_log_stream(logGroupName="/ferry/other", logStreamName="edge")
r = logs.put_log_events(
    logGroupName="/ferry/other",
    logStreamName="edge",
    logEvents=[{"timestamp": NOW - 15 * DAY, "message": "too old"}, {"timestamp": NOW - 15 * DAY + 10, "message": "too old too"}],
)
check(r.get("rejectedLogEventsInfo", {}).get("tooOldLogEventEndIndex") == 1, f"rejected as too old: {r}")
r = logs.put_log_events(
    logGroupName="/ferry/other",
    logStreamName="edge",
    logEvents=[{"timestamp": NOW - 1000, "message": "fine"}, {"timestamp": NOW + 3 * 3_600_000, "message": "too new"}],
)
check(r.get("rejectedLogEventsInfo", {}) == {"tooNewLogEventStartIndex": 1}, f"rejected as too new: {r}")
ev = logs.get_log_events(logGroupName="/ferry/other", logStreamName="edge", startFromHead=True)["events"]
check([e["message"] for e in ev] == ["fine"], f"only the accepted event is stored: {ev}")

# GetLogEvents: from the head, forward tokens, the same token at the end, backward tokens.
r = logs.get_log_events(logGroupName="/ferry/app", logStreamName="web-1", startFromHead=True, limit=2)
check([e["message"] for e in r["events"]] == ["GET /index 200", "ERROR db timeout"], f"head: {r['events']}")
check(r["nextForwardToken"].startswith("f/") and r["nextBackwardToken"].startswith("b/"), "token forms")
check(all("ingestionTime" in e for e in r["events"]), "ingestionTime")
r2 = logs.get_log_events(logGroupName="/ferry/app", logStreamName="web-1", nextToken=r["nextForwardToken"], limit=2)
check([e["message"] for e in r2["events"]] == ["GET /health 200", "WARN slow query in db"], f"next: {r2['events']}")
r3 = logs.get_log_events(logGroupName="/ferry/app", logStreamName="web-1", nextToken=r2["nextForwardToken"])
check(r3["events"] == [] and r3["nextForwardToken"] == r2["nextForwardToken"], "the end answers the same forward token")
back = logs.get_log_events(logGroupName="/ferry/app", logStreamName="web-1", nextToken=r2["nextBackwardToken"])
check([e["message"] for e in back["events"]] == ["GET /index 200", "ERROR db timeout"], f"backward: {back['events']}")
b2 = logs.get_log_events(logGroupName="/ferry/app", logStreamName="web-1", nextToken=back["nextBackwardToken"])
check(b2["events"] == [] and b2["nextBackwardToken"] == back["nextBackwardToken"], "the start answers the same backward token")
tail = logs.get_log_events(logGroupName="/ferry/app", logStreamName="web-1", limit=1)
check([e["message"] for e in tail["events"]] == ["WARN slow query in db"], "without startFromHead the newest events come")
win = logs.get_log_events(logGroupName="/ferry/app", logStreamName="web-1", startTime=NOW - 4000, endTime=NOW - 2000, startFromHead=True)
check([e["message"] for e in win["events"]] == ["ERROR db timeout", "GET /health 200"], f"time window (end exclusive): {win['events']}")
empty = logs.get_log_events(logGroupName="/ferry/app", logStreamName="web-1", startTime=NOW + 10_000)
check(empty["events"] == [], "nothing after now")
expect_error("ResourceNotFoundException", logs.get_log_events, logGroupName="/ferry/app", logStreamName="nope")
expect_error("InvalidParameterException", logs.get_log_events, logGroupName="/ferry/app", logStreamName="web-1", nextToken="f/zz")
r = logs.get_log_events(logGroupIdentifier=f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/ferry/app", logStreamName="web-2", startFromHead=True)
check(len(r["events"]) == 2, "a group ARN as identifier")

# FilterLogEvents: interleaved across streams, patterns, stream selection, pagination.
r = logs.filter_log_events(logGroupName="/ferry/app")
msgs = [e["message"] for e in r["events"]]
check(
    msgs == ["GET /index 200", "ERROR refused", "job started", "ERROR db timeout", "GET /health 200", "WARN slow query in db", "GET /a 200"],
    f"interleaved by time: {msgs}",
)
check("nextToken" not in r, "no token after the last page")
e0 = r["events"][0]
check(e0["logStreamName"] == "web-1" and e0["eventId"] and "ingestionTime" in e0, e0)
check(len({e["eventId"] for e in r["events"]}) == 7, "event ids are unique")
f = lambda p, **kw: [e["message"] for e in logs.filter_log_events(logGroupName="/ferry/app", filterPattern=p, **kw)["events"]]
check(f("ERROR") == ["ERROR refused", "ERROR db timeout"], "a term")
check(f("ERROR db") == ["ERROR db timeout"], "all terms")
check(f('"slow query"') == ["WARN slow query in db"], "a quoted phrase")
check(f("?WARN ?refused") == ["ERROR refused", "WARN slow query in db"], "optional terms")
check(f("GET -health") == ["GET /index 200", "GET /a 200"], "an excluded term")
check(f("error") == [], "terms are case-sensitive")
check(f("ERROR", logStreamNames=["web-2"]) == ["ERROR refused"], "by stream names")
check(f("", logStreamNamePrefix="wor") == ["job started"], "by stream prefix")
check(f("", startTime=NOW - 4200, endTime=NOW - 3000) == ["job started", "ERROR db timeout", "GET /health 200"], "time window (end inclusive)")
pages = list(logs.get_paginator("filter_log_events").paginate(logGroupName="/ferry/app", PaginationConfig={"PageSize": 3}))
check([len(p["events"]) for p in pages] == [3, 3, 1], f"pages: {[len(p['events']) for p in pages]}")
check(sum(([e["message"] for e in p["events"]] for p in pages), []) == msgs, "pages cover every event once")
expect_error("InvalidParameterException", logs.filter_log_events, logGroupName="/ferry/app", logStreamNames=["web-1"], logStreamNamePrefix="w")
expect_error("InvalidParameterException", logs.filter_log_events, logGroupName="/ferry/app", nextToken="bogus")
expect_error("InvalidParameterException", logs.filter_log_events, logGroupName="/ferry/app", filterPattern='"unclosed')
expect_error("ResourceNotFoundException", logs.filter_log_events, logGroupName="/nope")
expect_error("ResourceNotFoundException", logs.filter_log_events, logGroupName="/ferry/app", logStreamNames=["ghost"])

# DescribeLogStreams: order, times, sizes, pagination.
streams = logs.describe_log_streams(logGroupName="/ferry/app")["logStreams"]
check([s["logStreamName"] for s in streams] == ["web-1", "web-2", "worker"], "by name")
w1 = streams[0]
check(w1["firstEventTimestamp"] == NOW - 5000 and w1["lastEventTimestamp"] == NOW - 2000, w1)
check(w1["storedBytes"] > 0 and abs(w1["lastIngestionTime"] - NOW) < 60_000, w1)
check(w1["arn"] == f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/ferry/app:log-stream:web-1", w1["arn"])
by_time = logs.describe_log_streams(logGroupName="/ferry/app", orderBy="LastEventTime", descending=True)["logStreams"]
check([s["logStreamName"] for s in by_time] == ["web-2", "web-1", "worker"], f"by last event: {by_time}")
check([s["logStreamName"] for s in logs.describe_log_streams(logGroupName="/ferry/app", logStreamNamePrefix="web")["logStreams"]] == ["web-1", "web-2"], "prefix")
names = [s["logStreamName"] for s in paged(logs, "describe_log_streams", "logStreams", logGroupName="/ferry/app", PaginationConfig={"PageSize": 2})]
check(names == ["web-1", "web-2", "worker"], f"paged streams: {names}")
e = expect_error("InvalidParameterException", logs.describe_log_streams, logGroupName="/ferry/app", orderBy="LastEventTime", logStreamNamePrefix="w")
check("Cannot order by LastEventTime" in e.response["Error"]["Message"], e.response["Error"]["Message"])
expect_error("ResourceNotFoundException", logs.describe_log_streams, logGroupName="/nope")
stored = logs.describe_log_groups(logGroupNamePrefix="/ferry/app")["logGroups"][0]["storedBytes"]
check(stored > 0, "group size sums its streams")

# Retention: validated, reported, honoured on writes and reads.
e = expect_error("InvalidParameterException", logs.put_retention_policy, logGroupName="/ferry/app", retentionInDays=4)
check("retentionInDays" in e.response["Error"]["Message"], e.response["Error"]["Message"])
expect_error("ResourceNotFoundException", logs.put_retention_policy, logGroupName="/nope", retentionInDays=1)
logs.create_log_stream(logGroupName="/ferry/app", logStreamName="old")
logs.put_log_events(logGroupName="/ferry/app", logStreamName="old", logEvents=[{"timestamp": NOW - 3 * DAY, "message": "three days ago"}])
check(f("three") == ["three days ago"], "kept without retention")
logs.put_retention_policy(logGroupName="/ferry/app", retentionInDays=1)
check(logs.describe_log_groups(logGroupNamePrefix="/ferry/app")["logGroups"][0]["retentionInDays"] == 1, "retention reported")
check(f("three") == [], "events past retention are gone")
check(logs.get_log_events(logGroupName="/ferry/app", logStreamName="old", startFromHead=True)["events"] == [], "also for GetLogEvents")
r = logs.put_log_events(logGroupName="/ferry/app", logStreamName="old", logEvents=[{"timestamp": NOW - DAY - 3_600_000, "message": "expired"}, {"timestamp": NOW - DAY + 3_600_000, "message": "kept"}])
check(r.get("rejectedLogEventsInfo", {}) == {"expiredLogEventEndIndex": 0}, f"expired: {r}")
check(f("expired") == [] and f("kept") == ["kept"], "only the event within retention is stored")
logs.delete_retention_policy(logGroupName="/ferry/app")
check("retentionInDays" not in logs.describe_log_groups(logGroupNamePrefix="/ferry/app")["logGroups"][0], "retention removed")
expect_error("ResourceNotFoundException", logs.delete_retention_policy, logGroupName="/nope")

# Deletion.
logs.delete_log_stream(logGroupName="/ferry/app", logStreamName="worker")
expect_error("ResourceNotFoundException", logs.delete_log_stream, logGroupName="/ferry/app", logStreamName="worker")
check("job started" not in f(""), "a deleted stream's events are gone")
logs.delete_log_group(logGroupName="/ferry/other")
expect_error("ResourceNotFoundException", logs.delete_log_group, logGroupName="/ferry/other")
logs.create_log_group(logGroupName="/ferry/other")
check(logs.describe_log_streams(logGroupName="/ferry/other")["logStreams"] == [], "a re-created group starts empty")
expect_error("NotImplementedException", logs.describe_destinations)

# ---------------------------------------------------------------------------------------------
# SSM Parameter Store

r = ssm.put_parameter(Name="/app/db/host", Value="db.internal", Type="String", Description="database host")
check(r["Version"] == 1 and r["Tier"] == "Standard", r)
e = expect_error("ParameterAlreadyExists", ssm.put_parameter, Name="/app/db/host", Value="x", Type="String")
check(ssm.get_parameter(Name="/app/db/host")["Parameter"]["Value"] == "db.internal", "a refused put changes nothing")
r = ssm.put_parameter(Name="/app/db/host", Value="db2.internal", Overwrite=True)
check(r["Version"] == 2, "overwrite makes version 2 (type kept)")
p = ssm.get_parameter(Name="/app/db/host")["Parameter"]
check(p["Value"] == "db2.internal" and p["Version"] == 2 and p["Type"] == "String" and p["DataType"] == "text", p)
check(p["ARN"] == f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/app/db/host", p["ARN"])
check(isinstance(p["LastModifiedDate"], datetime.datetime), "LastModifiedDate is a timestamp")

SECRET_PLAIN = "s3cr3t-Parameter-Value-93817"
ssm.put_parameter(Name="/app/db/password", Value=SECRET_PLAIN, Type="SecureString", Tags=[{"Key": "env", "Value": "test"}])
p = ssm.get_parameter(Name="/app/db/password")["Parameter"]
check(p["Type"] == "SecureString" and p["Value"] != SECRET_PLAIN and SECRET_PLAIN not in p["Value"], "no decryption, no plaintext")
p = ssm.get_parameter(Name="/app/db/password", WithDecryption=True)["Parameter"]
check(p["Value"] == SECRET_PLAIN, "decrypted")
check(SECRET_PLAIN.encode() not in sqlite_bytes(), "SecureString values are sealed at rest")
ssm.put_parameter(Name="/app/hosts", Value="a,b,c", Type="StringList")
ssm.put_parameter(Name="/app/db/deep/flag", Value="on", Type="String")
ssm.put_parameter(Name="plain", Value="top", Type="String")

p = ssm.get_parameter(Name="/app/db/host:1")["Parameter"]
check(p["Value"] == "db.internal" and p["Selector"] == ":1" and p["Version"] == 1, p)
expect_error("ParameterVersionNotFound", ssm.get_parameter, Name="/app/db/host:9")
expect_error("ParameterNotFound", ssm.get_parameter, Name="/app/missing")
r = ssm.label_parameter_version(Name="/app/db/host", ParameterVersion=1, Labels=["stable", "1bad", "awsx"])
check(r["ParameterVersion"] == 1 and sorted(r["InvalidLabels"]) == ["1bad", "awsx"], r)
check(ssm.get_parameter(Name="/app/db/host:stable")["Parameter"]["Value"] == "db.internal", "by label")
r = ssm.label_parameter_version(Name="/app/db/host", Labels=["stable"])
check(r["ParameterVersion"] == 2, "labels the latest version by default")
check(ssm.get_parameter(Name="/app/db/host:stable")["Parameter"]["Version"] == 2, "a label moves")
expect_error("ParameterNotFound", ssm.get_parameter, Name="/app/db/host:nolabel")
expect_error("ParameterVersionNotFound", ssm.label_parameter_version, Name="/app/db/host", ParameterVersion=7, Labels=["x"])
expect_error("ParameterNotFound", ssm.label_parameter_version, Name="/nope", Labels=["x"])
expect_error(
    "ParameterVersionLabelLimitExceeded",
    ssm.label_parameter_version,
    Name="/app/db/host",
    Labels=[f"l{i}" for i in range(10)],
)

r = ssm.get_parameters(Names=["/app/db/host", "/app/missing", "/app/db/password", "/app/db/host:1"], WithDecryption=True)
check(sorted(p["Name"] for p in r["Parameters"]) == ["/app/db/host", "/app/db/host", "/app/db/password"], r)
check(r["InvalidParameters"] == ["/app/missing"], r)
check([p["Value"] for p in r["Parameters"] if p["Name"] == "/app/db/password"] == [SECRET_PLAIN], "decrypted in batch")

names = lambda ps: sorted(p["Name"] for p in ps)
check(names(ssm.get_parameters_by_path(Path="/app")["Parameters"]) == ["/app/hosts"], "one level")
everything = paged(ssm, "get_parameters_by_path", "Parameters", Path="/app", Recursive=True, PaginationConfig={"PageSize": 1})
check(names(everything) == ["/app/db/deep/flag", "/app/db/host", "/app/db/password", "/app/hosts"], f"recursive: {names(everything)}")
check(SECRET_PLAIN not in [p["Value"] for p in everything], "by path without decryption")
secure = ssm.get_parameters_by_path(Path="/app/", Recursive=True, WithDecryption=True, ParameterFilters=[{"Key": "Type", "Values": ["SecureString"]}])["Parameters"]
check([(p["Name"], p["Value"]) for p in secure] == [("/app/db/password", SECRET_PLAIN)], secure)
check(names(ssm.get_parameters_by_path(Path="/app/db")["Parameters"]) == ["/app/db/host", "/app/db/password"], "a sub-path")
labeled = ssm.get_parameters_by_path(Path="/app", Recursive=True, ParameterFilters=[{"Key": "Label", "Values": ["stable"]}])["Parameters"]
check(names(labeled) == ["/app/db/host"], "by label")
expect_error("ValidationException", ssm.get_parameters_by_path, Path="app")
expect_error("InvalidFilterKey", ssm.get_parameters_by_path, Path="/app", ParameterFilters=[{"Key": "Name", "Values": ["x"]}])
expect_error("InvalidNextToken", ssm.get_parameters_by_path, Path="/app", NextToken="nope")

d = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Option": "BeginsWith", "Values": ["/app/db"]}])["Parameters"]
check(names(d) == ["/app/db/deep/flag", "/app/db/host", "/app/db/password"], f"BeginsWith: {names(d)}")
pw = [m for m in d if m["Name"] == "/app/db/password"][0]
check(pw["Type"] == "SecureString" and pw["KeyId"] == "alias/aws/ssm" and pw["Version"] == 1 and pw["Tier"] == "Standard", pw)
check("Value" not in pw and pw["LastModifiedUser"].startswith("arn:aws:iam::"), pw)
host = [m for m in d if m["Name"] == "/app/db/host"][0]
check(host["Description"] == "database host", "description kept across overwrite")
d = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": ["plain"]}])["Parameters"]
check(names(d) == ["plain"], "Equals")
d = ssm.describe_parameters(ParameterFilters=[{"Key": "Type", "Values": ["StringList"]}])["Parameters"]
check(names(d) == ["/app/hosts"], "by type")
d = ssm.describe_parameters(Filters=[{"Key": "Type", "Values": ["SecureString"]}])["Parameters"]
check(names(d) == ["/app/db/password"], "old-style filters")
d = ssm.describe_parameters(ParameterFilters=[{"Key": "Path", "Option": "OneLevel", "Values": ["/app"]}])["Parameters"]
check(names(d) == ["/app/hosts"], "by path")
d = ssm.describe_parameters(ParameterFilters=[{"Key": "tag:env", "Values": ["test"]}])["Parameters"]
check(names(d) == ["/app/db/password"], "by tag")
all_params = paged(ssm, "describe_parameters", "Parameters", PaginationConfig={"PageSize": 2})
check(len(all_params) == 5, f"paged describe: {names(all_params)}")
expect_error("ValidationException", ssm.describe_parameters, Filters=[{"Key": "Type", "Values": ["String"]}], ParameterFilters=[{"Key": "Type", "Values": ["String"]}])
expect_error("InvalidFilterOption", ssm.describe_parameters, ParameterFilters=[{"Key": "Type", "Option": "BeginsWith", "Values": ["String"]}])

h = ssm.get_parameter_history(Name="/app/db/host")["Parameters"]
check([v["Version"] for v in h] == [1, 2] and [v["Value"] for v in h] == ["db.internal", "db2.internal"], h)
check(h[1]["Labels"] == ["stable"] and h[0]["Labels"] == [], "labels in history")
ssm.put_parameter(Name="/app/db/password", Value="rotated-value-1", Overwrite=True)
h = ssm.get_parameter_history(Name="/app/db/password", WithDecryption=True)["Parameters"]
check([v["Value"] for v in h] == [SECRET_PLAIN, "rotated-value-1"], "history decrypted")
h = ssm.get_parameter_history(Name="/app/db/password")["Parameters"]
check(SECRET_PLAIN not in [v["Value"] for v in h], "history without decryption")
check(len(paged(ssm, "get_parameter_history", "Parameters", Name="/app/db/host", PaginationConfig={"PageSize": 1})) == 2, "paged history")
expect_error("ParameterNotFound", ssm.get_parameter_history, Name="/nope")

expect_error("ValidationException", ssm.put_parameter, Name="awsthing", Value="x", Type="String")
expect_error("ValidationException", ssm.put_parameter, Name="/SSM/x", Value="x", Type="String")
expect_error("ValidationException", ssm.put_parameter, Name="a/b", Value="x", Type="String")
expect_error("ValidationException", ssm.put_parameter, Name="/a b", Value="x", Type="String")
expect_error("ValidationException", ssm.put_parameter, Name="/new/one", Value="x")
expect_error("HierarchyLevelLimitExceededException", ssm.put_parameter, Name="/l" * 16, Value="x", Type="String")
ssm.put_parameter(Name="/l" * 15, Value="x", Type="String")
expect_error("ParameterPatternMismatchException", ssm.put_parameter, Name="/num", Value="abc", Type="String", AllowedPattern="^[0-9]+$")
ssm.put_parameter(Name="/num", Value="123", Type="String", AllowedPattern="^[0-9]+$")
expect_error("ParameterPatternMismatchException", ssm.put_parameter, Name="/num", Value="x", Overwrite=True)
expect_error("ValidationException", ssm.put_parameter, Name="/toolong", Value="x" * 4097, Type="String")
expect_error("ValidationException", ssm.put_parameter, Name="/tagged", Value="x", Type="String", Overwrite=True, Tags=[{"Key": "k", "Value": "v"}])
expect_error("HierarchyTypeMismatchException", ssm.put_parameter, Name="/app/hosts", Value="x", Type="SecureString", Overwrite=True)
expect_error("ValidationException", ssm.put_parameter, Name="/dt", Value="x", Type="String", DataType="aws:ec2:image")

ssm.delete_parameter(Name="plain")
expect_error("ParameterNotFound", ssm.delete_parameter, Name="plain")
expect_error("ParameterNotFound", ssm.get_parameter, Name="plain")
r = ssm.delete_parameters(Names=["/num", "/nope", "/app/hosts"])
check(sorted(r["DeletedParameters"]) == ["/app/hosts", "/num"] and r["InvalidParameters"] == ["/nope"], r)
ssm.put_parameter(Name="/num", Value="1", Type="String")
check(ssm.get_parameter(Name="/num")["Parameter"]["Version"] == 1, "a re-created parameter starts at version 1")
expect_error("NotImplementedException", ssm.list_documents)

# ---------------------------------------------------------------------------------------------
# Secrets Manager

SECRET = "hunter2-Secret-Value-55121"
TOKEN1 = "11111111-1111-1111-1111-111111111111"
r = sm.create_secret(Name="prod/db", SecretString=SECRET, Description="db creds", ClientRequestToken=TOKEN1, Tags=[{"Key": "team", "Value": "ferry"}])
arn = r["ARN"]
check(re.fullmatch(rf"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:prod/db-[A-Za-z0-9]{{6}}", arn), arn)
check(r["Name"] == "prod/db" and r["VersionId"] == TOKEN1, r)
again = sm.create_secret(Name="prod/db", SecretString=SECRET, ClientRequestToken=TOKEN1)
check(again["ARN"] == arn and again["VersionId"] == TOKEN1, "an idempotent retry answers the same")
expect_error("ResourceExistsException", sm.create_secret, Name="prod/db", SecretString="other")
expect_error("ResourceExistsException", sm.create_secret, Name="prod/db", SecretString="other", ClientRequestToken=TOKEN1)
check(SECRET.encode() not in sqlite_bytes(), "secret values are sealed at rest")

for ident in ["prod/db", arn, arn[:-7]]:
    v = sm.get_secret_value(SecretId=ident)
    check(v["SecretString"] == SECRET and v["ARN"] == arn and v["VersionStages"] == ["AWSCURRENT"], f"by {ident}")
check(isinstance(v["CreatedDate"], datetime.datetime), "CreatedDate")
expect_error("ResourceNotFoundException", sm.get_secret_value, SecretId="prod/nope")
expect_error("ResourceNotFoundException", sm.get_secret_value, SecretId=arn[:-7] + "-ZZZZZZ")

r = sm.put_secret_value(SecretId="prod/db", SecretString="second-value")
v2 = r["VersionId"]
check(r["VersionStages"] == ["AWSCURRENT"] and v2 != TOKEN1, r)
check(sm.get_secret_value(SecretId="prod/db")["SecretString"] == "second-value", "current moved")
prev = sm.get_secret_value(SecretId="prod/db", VersionStage="AWSPREVIOUS")
check(prev["SecretString"] == SECRET and prev["VersionId"] == TOKEN1, "the old version is AWSPREVIOUS")
check(sm.get_secret_value(SecretId="prod/db", VersionId=TOKEN1)["SecretString"] == SECRET, "by version id")
expect_error("ResourceNotFoundException", sm.get_secret_value, SecretId="prod/db", VersionId=TOKEN1, VersionStage="AWSCURRENT")
expect_error("ResourceNotFoundException", sm.get_secret_value, SecretId="prod/db", VersionStage="NOPE")
expect_error("ResourceNotFoundException", sm.get_secret_value, SecretId="prod/db", VersionId="22222222-2222-2222-2222-222222222222")
r = sm.put_secret_value(SecretId="prod/db", SecretString="second-value", ClientRequestToken=v2)
check(r["VersionId"] == v2, "an idempotent put")
expect_error("ResourceExistsException", sm.put_secret_value, SecretId="prod/db", SecretString="changed", ClientRequestToken=v2)
expect_error("InvalidParameterException", sm.put_secret_value, SecretId="prod/db")
r = sm.put_secret_value(SecretId="prod/db", SecretString="staged", VersionStages=["AWSPENDING"])
check(sm.get_secret_value(SecretId="prod/db")["SecretString"] == "second-value", "a pending version is not current")
check(sm.get_secret_value(SecretId="prod/db", VersionStage="AWSPENDING")["SecretString"] == "staged", "by custom stage")

r = sm.update_secret(SecretId="prod/db", Description="new description", SecretString="third-value")
check(r["VersionId"] and r["ARN"] == arn, r)
d = sm.describe_secret(SecretId=arn)
check(d["Description"] == "new description" and d["Name"] == "prod/db", d)
stages = d["VersionIdsToStages"]
check(stages[r["VersionId"]] == ["AWSCURRENT"] and stages[v2] == ["AWSPREVIOUS"] and TOKEN1 not in stages, stages)
check(d["Tags"] == [{"Key": "team", "Value": "ferry"}], d["Tags"])
check(all(isinstance(d[k], datetime.datetime) for k in ["CreatedDate", "LastChangedDate", "LastAccessedDate"]), d)
check("DeletedDate" not in d, "not deleted")
r = sm.update_secret(SecretId="prod/db", Description="only metadata")
check("VersionId" not in r, "no new version without a value")
vers = sm.list_secret_version_ids(SecretId="prod/db")["Versions"]
check(len(vers) == 3, f"versions with stages: {vers}")
check(len(sm.list_secret_version_ids(SecretId="prod/db", IncludeDeprecated=True)["Versions"]) == 4, "with deprecated")

BIN = bytes(range(256))
sm.create_secret(Name="bin", SecretBinary=BIN)
v = sm.get_secret_value(SecretId="bin")
check(v["SecretBinary"] == BIN and "SecretString" not in v, "binary round trip")
sm.create_secret(Name="empty")
e = expect_error("ResourceNotFoundException", sm.get_secret_value, SecretId="empty")
check("AWSCURRENT" in e.response["Error"]["Message"], e.response["Error"]["Message"])
expect_error("InvalidParameterException", sm.create_secret, Name="both", SecretString="a", SecretBinary=b"b")
expect_error("InvalidParameterException", sm.create_secret, Name="bad name!", SecretString="a")

for i in range(3):
    sm.create_secret(Name=f"svc/app{i}", SecretString=f"v{i}")
listed = paged(sm, "list_secrets", "SecretList", PaginationConfig={"PageSize": 2})
check([s["Name"] for s in listed] == ["prod/db", "bin", "empty", "svc/app0", "svc/app1", "svc/app2"], f"by creation: {[s['Name'] for s in listed]}")
flt = sm.list_secrets(Filters=[{"Key": "name", "Values": ["svc/"]}])["SecretList"]
check([s["Name"] for s in flt] == ["svc/app0", "svc/app1", "svc/app2"], f"name filter: {flt}")
flt = sm.list_secrets(Filters=[{"Key": "tag-key", "Values": ["team"]}])["SecretList"]
check([s["Name"] for s in flt] == ["prod/db"], "tag filter")
flt = sm.list_secrets(Filters=[{"Key": "name", "Values": ["!svc"]}], SortOrder="desc")["SecretList"]
check([s["Name"] for s in flt] == ["empty", "bin", "prod/db"], f"negated, descending: {[s['Name'] for s in flt]}")
entry = [s for s in listed if s["Name"] == "prod/db"][0]
check(entry["ARN"] == arn and "AWSCURRENT" in sum(entry["SecretVersionsToStages"].values(), []), entry)
expect_error("InvalidNextTokenException", sm.list_secrets, NextToken="garbage")

expect_error("InvalidParameterException", sm.delete_secret, SecretId="svc/app0", RecoveryWindowInDays=5)
expect_error("InvalidParameterException", sm.delete_secret, SecretId="svc/app0", RecoveryWindowInDays=7, ForceDeleteWithoutRecovery=True)
r = sm.delete_secret(SecretId="svc/app0", RecoveryWindowInDays=7)
days = (r["DeletionDate"] - datetime.datetime.now(datetime.timezone.utc)).total_seconds() / 86400
check(6.9 < days < 7.1, f"deletion in 7 days: {r}")
e = expect_error("InvalidRequestException", sm.get_secret_value, SecretId="svc/app0")
check("marked for deletion" in e.response["Error"]["Message"], e.response["Error"]["Message"])
expect_error("InvalidRequestException", sm.put_secret_value, SecretId="svc/app0", SecretString="x")
expect_error("InvalidRequestException", sm.create_secret, Name="svc/app0", SecretString="x")
check("DeletedDate" in sm.describe_secret(SecretId="svc/app0"), "describe shows the deletion")
check("svc/app0" not in [s["Name"] for s in sm.list_secrets()["SecretList"]], "hidden from lists")
check("svc/app0" in [s["Name"] for s in sm.list_secrets(IncludePlannedDeletion=True)["SecretList"]], "unless asked")
r = sm.restore_secret(SecretId="svc/app0")
check(r["Name"] == "svc/app0", r)
check(sm.get_secret_value(SecretId="svc/app0")["SecretString"] == "v0", "restored")
r = sm.delete_secret(SecretId="svc/app1")
days = (r["DeletionDate"] - datetime.datetime.now(datetime.timezone.utc)).total_seconds() / 86400
check(29.9 < days < 30.1, "30 days by default")
sm.delete_secret(SecretId="svc/app2", ForceDeleteWithoutRecovery=True)
expect_error("ResourceNotFoundException", sm.get_secret_value, SecretId="svc/app2")
expect_error("ResourceNotFoundException", sm.describe_secret, SecretId="svc/app2")
sm.create_secret(Name="svc/app2", SecretString="again")
check(sm.get_secret_value(SecretId="svc/app2")["SecretString"] == "again", "the name is free after a forced delete")
expect_error("ResourceNotFoundException", sm.delete_secret, SecretId="nope")
expect_error("ResourceNotFoundException", sm.restore_secret, SecretId="nope")
expect_error("NotImplementedException", sm.rotate_secret, SecretId="prod/db")

done()
