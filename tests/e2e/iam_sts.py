"""boto3 against a running Ferry: IAM users, access keys, service-specific (git) credentials,
SSH keys and roles; STS AssumeRole / GetSessionToken and calls signed with the temporary
credentials across the Query, JSON and S3 protocols and git; and bad input that must get IAM's
and STS's errors.

Run by crates/ferry/tests/e2e_iam_sts.rs with FERRY_URL, FERRY_ACCOUNT and AWS credentials in
the environment. Exits non-zero on the first failed check."""

import json
import os
import subprocess
import tempfile
import urllib.parse

import boto3
from botocore.exceptions import ClientError

from helpers import check, done, expect_error

URL = os.environ["FERRY_URL"]
ACCOUNT = os.environ["FERRY_ACCOUNT"]
REGION = "us-east-1"
iam = boto3.client("iam", endpoint_url=URL, region_name=REGION)
sts = boto3.client("sts", endpoint_url=URL, region_name=REGION)

# --- users ------------------------------------------------------------------------------------
u = iam.create_user(UserName="alice", Path="/devs/")["User"]
check(u["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/devs/alice" and u["Path"] == "/devs/", f"create_user {u}")
check(u["UserId"].startswith("AIDA") and len(u["UserId"]) == 21, "user id")
check(iam.get_user(UserName="alice")["User"]["UserId"] == u["UserId"], "stable user id")
iam.create_user(UserName="bob")
expect_error("EntityAlreadyExists", iam.create_user, UserName="alice")
expect_error("ValidationError", iam.create_user, UserName="bad/name")
expect_error("ValidationError", iam.create_user, UserName="x", Path="no-slashes")
expect_error("NoSuchEntity", iam.get_user, UserName="nobody")
names = [x["UserName"] for x in iam.list_users()["Users"]]
check({"alice", "bob"} <= set(names), f"list_users {names}")
check([x["UserName"] for x in iam.list_users(PathPrefix="/devs/")["Users"]] == ["alice"], "path prefix")
paged = []
for page in iam.get_paginator("list_users").paginate(PaginationConfig={"PageSize": 1}):
    paged += [x["UserName"] for x in page["Users"]]
check(paged == sorted(names), f"paginated users {paged}")

# --- access keys --------------------------------------------------------------------------------
k1 = iam.create_access_key(UserName="alice")["AccessKey"]
check(k1["AccessKeyId"].startswith("AKIA") and len(k1["SecretAccessKey"]) == 40 and k1["Status"] == "Active", "access key")
k2 = iam.create_access_key(UserName="alice")["AccessKey"]
expect_error("LimitExceeded", iam.create_access_key, UserName="alice")
listed = iam.list_access_keys(UserName="alice")["AccessKeyMetadata"]
check(sorted(k["AccessKeyId"] for k in listed) == sorted([k1["AccessKeyId"], k2["AccessKeyId"]]), "list keys")
check(all("SecretAccessKey" not in k for k in listed), "secrets are never listed")
alice = boto3.client("sts", endpoint_url=URL, region_name=REGION, aws_access_key_id=k1["AccessKeyId"], aws_secret_access_key=k1["SecretAccessKey"])
check(alice.get_caller_identity()["Arn"] == u["Arn"], "new key works")
iam.update_access_key(UserName="alice", AccessKeyId=k1["AccessKeyId"], Status="Inactive")
expect_error("InvalidClientTokenId", alice.get_caller_identity)
iam.update_access_key(UserName="alice", AccessKeyId=k1["AccessKeyId"], Status="Active")
check(alice.get_caller_identity()["Arn"] == u["Arn"], "reactivated key works at once")
expect_error("ValidationError", iam.update_access_key, UserName="alice", AccessKeyId=k1["AccessKeyId"], Status="Paused")
expect_error("NoSuchEntity", iam.delete_access_key, UserName="bob", AccessKeyId=k1["AccessKeyId"])
alice_iam = boto3.client("iam", endpoint_url=URL, region_name=REGION, aws_access_key_id=k1["AccessKeyId"], aws_secret_access_key=k1["SecretAccessKey"])
check(alice_iam.get_user()["User"]["UserName"] == "alice", "GetUser without a name is the caller")
check(len(alice_iam.list_access_keys()["AccessKeyMetadata"]) == 2, "ListAccessKeys defaults to the caller")

# --- service-specific (git) credentials and SSH keys -------------------------------------------
c = iam.create_service_specific_credential(UserName="alice", ServiceName="codecommit.amazonaws.com")["ServiceSpecificCredential"]
check(c["ServiceUserName"].startswith("alice-at-") and c["ServicePassword"] and c["ServiceSpecificCredentialId"].startswith("ACCA"), f"git credential {c}")
expect_error("ServiceNotSupported", iam.create_service_specific_credential, UserName="alice", ServiceName="cassandra.amazonaws.com")
listed = iam.list_service_specific_credentials(UserName="alice")["ServiceSpecificCredentials"]
check([x["ServiceSpecificCredentialId"] for x in listed] == [c["ServiceSpecificCredentialId"]] and "ServicePassword" not in listed[0], "list git credentials")
codecommit = boto3.client("codecommit", endpoint_url=URL, region_name=REGION)
clone_url = codecommit.create_repository(repositoryName="iam-demo")["repositoryMetadata"]["cloneUrlHttp"]


def git_clone(user, password, dest):
    parsed = urllib.parse.urlparse(clone_url)
    authed = parsed._replace(netloc=f"{urllib.parse.quote(user, safe='')}:{urllib.parse.quote(password, safe='')}@{parsed.netloc}").geturl()
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0", GIT_CONFIG_NOSYSTEM="1", HOME=tempfile.gettempdir())
    return subprocess.run(["git", "clone", "-q", authed, dest], env=env, capture_output=True)


with tempfile.TemporaryDirectory() as tmp:
    check(git_clone(c["ServiceUserName"], c["ServicePassword"], os.path.join(tmp, "a")).returncode == 0, "git clone with the IAM-issued credential")
    reset = iam.reset_service_specific_credential(UserName="alice", ServiceSpecificCredentialId=c["ServiceSpecificCredentialId"])["ServiceSpecificCredential"]
    check(reset["ServicePassword"] != c["ServicePassword"], "reset gives a new password")
    check(git_clone(c["ServiceUserName"], c["ServicePassword"], os.path.join(tmp, "b")).returncode != 0, "old password refused")
    check(git_clone(c["ServiceUserName"], reset["ServicePassword"], os.path.join(tmp, "c")).returncode == 0, "new password works")
SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl alice@laptop"
s = iam.upload_ssh_public_key(UserName="alice", SSHPublicKeyBody=SSH_KEY)["SSHPublicKey"]
check(s["SSHPublicKeyId"].startswith("APKA") and len(s["Fingerprint"].split(":")) == 16, f"ssh key {s}")
check(iam.list_ssh_public_keys(UserName="alice")["SSHPublicKeys"][0]["SSHPublicKeyId"] == s["SSHPublicKeyId"], "list ssh keys")
got = iam.get_ssh_public_key(UserName="alice", SSHPublicKeyId=s["SSHPublicKeyId"], Encoding="SSH")["SSHPublicKey"]
check(got["SSHPublicKeyBody"].startswith("ssh-ed25519 AAAAC3"), "get ssh key")
expect_error("InvalidPublicKey", iam.upload_ssh_public_key, UserName="alice", SSHPublicKeyBody="not a key")
expect_error("DeleteConflict", iam.delete_user, UserName="alice")
iam.delete_ssh_public_key(UserName="alice", SSHPublicKeyId=s["SSHPublicKeyId"])
iam.delete_service_specific_credential(UserName="alice", ServiceSpecificCredentialId=c["ServiceSpecificCredentialId"])
for k in (k1, k2):
    iam.delete_access_key(UserName="alice", AccessKeyId=k["AccessKeyId"])
expect_error("InvalidClientTokenId", alice.get_caller_identity)
iam.delete_user(UserName="alice")
expect_error("NoSuchEntity", iam.delete_user, UserName="alice")

# --- roles and STS ------------------------------------------------------------------------------
trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "codebuild.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
role = iam.create_role(RoleName="builder", Path="/ci/", AssumeRolePolicyDocument=json.dumps(trust), Description="builds", MaxSessionDuration=7200)["Role"]
check(role["Arn"] == f"arn:aws:iam::{ACCOUNT}:role/ci/builder" and role["RoleId"].startswith("AROA"), f"role {role}")
check(role["AssumeRolePolicyDocument"] == trust, "trust policy round-trips (URL-encoded on the wire)")
check(iam.get_role(RoleName="builder")["Role"]["MaxSessionDuration"] == 7200, "get_role")
check([r["RoleName"] for r in iam.list_roles(PathPrefix="/ci/")["Roles"]] == ["builder"], "list_roles")
expect_error("EntityAlreadyExists", iam.create_role, RoleName="builder", AssumeRolePolicyDocument=json.dumps(trust))
expect_error("MalformedPolicyDocument", iam.create_role, RoleName="broken", AssumeRolePolicyDocument="{not json")
expect_error("NoSuchEntity", iam.get_role, RoleName="ghost")

root = sts.get_caller_identity()
check(root["Account"] == ACCOUNT and root["Arn"] == f"arn:aws:iam::{ACCOUNT}:root", "root identity")
ar = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="build-42", DurationSeconds=7200)
cred = ar["Credentials"]
check(cred["AccessKeyId"].startswith("ASIA") and cred["SessionToken"], "temporary credentials")
check(ar["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/builder/build-42", "assumed role arn")
check(ar["AssumedRoleUser"]["AssumedRoleId"] == f"{role['RoleId']}:build-42", "assumed role id")
temp = dict(aws_access_key_id=cred["AccessKeyId"], aws_secret_access_key=cred["SecretAccessKey"], aws_session_token=cred["SessionToken"])
me = boto3.client("sts", endpoint_url=URL, region_name=REGION, **temp).get_caller_identity()
check(me["Arn"] == ar["AssumedRoleUser"]["Arn"] and me["UserId"] == ar["AssumedRoleUser"]["AssumedRoleId"], f"identity with temporary credentials {me}")
check(boto3.client("codecommit", endpoint_url=URL, region_name=REGION, **temp).get_repository(repositoryName="iam-demo")["repositoryMetadata"]["repositoryName"] == "iam-demo", "JSON API with temporary credentials")
s3t = boto3.client("s3", endpoint_url=URL, region_name=REGION, **temp)
s3t.create_bucket(Bucket="temp-creds")
s3t.put_object(Bucket="temp-creds", Key="k", Body=b"from a build")
check(s3t.get_object(Bucket="temp-creds", Key="k")["Body"].read() == b"from a build", "S3 with temporary credentials")
no_token = dict(temp)
del no_token["aws_session_token"]
expect_error("InvalidClientTokenId", boto3.client("sts", endpoint_url=URL, region_name=REGION, **no_token).get_caller_identity)
expect_error("UnrecognizedClientException", boto3.client("codecommit", endpoint_url=URL, region_name=REGION, **no_token).list_repositories)
wrong = dict(temp, aws_session_token=cred["SessionToken"][:-1] + "x")
expect_error("InvalidClientTokenId", boto3.client("sts", endpoint_url=URL, region_name=REGION, **wrong).get_caller_identity)
expect_error("InvalidAccessKeyId", boto3.client("s3", endpoint_url=URL, region_name=REGION, **wrong).list_buckets)
chained = boto3.client("sts", endpoint_url=URL, region_name=REGION, **temp)
expect_error("ValidationError", chained.assume_role, RoleArn=role["Arn"], RoleSessionName="again", DurationSeconds=7200)
check(chained.assume_role(RoleArn=role["Arn"], RoleSessionName="again")["Credentials"]["AccessKeyId"].startswith("ASIA"), "role chaining within an hour")
expect_error("AccessDenied", chained.get_session_token)
expect_error("ValidationError", sts.assume_role, RoleArn=role["Arn"], RoleSessionName="bad name!")
expect_error("ValidationError", sts.assume_role, RoleArn=role["Arn"], RoleSessionName="ok-name", DurationSeconds=9000)
expect_error("AccessDenied", sts.assume_role, RoleArn=f"arn:aws:iam::{ACCOUNT}:role/ghost", RoleSessionName="s1")
expect_error("AccessDenied", sts.assume_role, RoleArn=f"arn:aws:iam::{ACCOUNT}:role/builder", RoleSessionName="s1")
gst = sts.get_session_token(DurationSeconds=900)["Credentials"]
st_client = boto3.client("sts", endpoint_url=URL, region_name=REGION, aws_access_key_id=gst["AccessKeyId"], aws_secret_access_key=gst["SecretAccessKey"], aws_session_token=gst["SessionToken"])
check(st_client.get_caller_identity()["Arn"] == root["Arn"], "session token acts as its user")

# git over HTTPS with temporary credentials through the credential helper (`<akid>%<token>`).
with tempfile.TemporaryDirectory() as tmp:
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0", GIT_CONFIG_NOSYSTEM="1", HOME=tmp,
               AWS_ACCESS_KEY_ID=cred["AccessKeyId"], AWS_SECRET_ACCESS_KEY=cred["SecretAccessKey"], AWS_SESSION_TOKEN=cred["SessionToken"])
    helper = ["-c", "credential.helper=!aws codecommit credential-helper --ignore-host-check $@", "-c", "credential.UseHttpPath=true"]
    r = subprocess.run(["git", *helper, "clone", "-q", clone_url, os.path.join(tmp, "r")], env=env, capture_output=True)
    check(r.returncode == 0, f"git clone with temporary credentials: {r.stderr.decode()[-300:]}")
    env["AWS_SESSION_TOKEN"] = "forged"
    r = subprocess.run(["git", *helper, "clone", "-q", clone_url, os.path.join(tmp, "s")], env=env, capture_output=True)
    check(r.returncode != 0, "git refuses a forged session token")

# Unimplemented IAM actions say so.
expect_error("NotImplemented", iam.attach_role_policy, RoleName="builder", PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
iam.delete_role(RoleName="builder")
expect_error("AccessDenied", sts.assume_role, RoleArn=role["Arn"], RoleSessionName="after-delete")
done()
