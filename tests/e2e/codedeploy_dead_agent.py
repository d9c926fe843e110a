"""CodeDeploy with an agent that never answers: an instance registered through the API whose
agent is not running fails within the server's heartbeat window (FERRY_DEPLOY_HEARTBEAT_SECS,
2 s in this test) with a message that says so, instead of waiting for an hour; the deployment
fails with HEALTH_CONSTRAINTS and the group records it.

Run by crates/ferry/tests/e2e_codedeploy.rs. Exits non-zero on the first failed check."""

import os
import time

import boto3

from helpers import check, done

URL = os.environ["FERRY_URL"]
cd = boto3.client("codedeploy", endpoint_url=URL, region_name="us-east-1")
iam = boto3.client("iam", endpoint_url=URL, region_name="us-east-1")

arn = iam.create_user(UserName="silent-host")["User"]["Arn"]
cd.register_on_premises_instance(instanceName="silent", iamUserArn=arn)
cd.add_tags_to_on_premises_instances(instanceNames=["silent"], tags=[{"Key": "role", "Value": "silent"}])
cd.create_application(applicationName="dead")
cd.create_deployment_group(applicationName="dead", deploymentGroupName="g", serviceRoleArn="arn:aws:iam::123456789012:role/cd",
                           onPremisesInstanceTagFilters=[{"Key": "role", "Value": "silent", "Type": "KEY_AND_VALUE"}])
started = time.time()
dep = cd.create_deployment(applicationName="dead", deploymentGroupName="g",
                           revision={"revisionType": "S3", "s3Location": {"bucket": "none", "key": "none.zip", "bundleType": "zip"}})["deploymentId"]
while time.time() - started < 30:
    info = cd.get_deployment(deploymentId=dep)["deploymentInfo"]
    if info["status"] in ("Succeeded", "Failed", "Stopped"):
        break
    time.sleep(0.2)
took = time.time() - started
check(info["status"] == "Failed" and info["errorInformation"]["code"] == "HEALTH_CONSTRAINTS", f"the deployment fails: {info['status']} {info.get('errorInformation')}")
check(took < 10, f"within the heartbeat window, not an hour: {took:.1f} s")
summary = cd.get_deployment_instance(deploymentId=dep, instanceId="silent")["instanceSummary"]
first = summary["lifecycleEvents"][0]
check(first["status"] == "Failed" and "has not contacted Ferry" in first["diagnostics"]["message"], f"the event says why: {first}")
check(all(e["status"] == "Skipped" for e in summary["lifecycleEvents"][1:]), "the rest is skipped")
group = cd.get_deployment_group(applicationName="dead", deploymentGroupName="g")["deploymentGroupInfo"]
check(group["lastAttemptedDeployment"]["deploymentId"] == dep and "lastSuccessfulDeployment" not in group, f"group bookkeeping {group.get('lastAttemptedDeployment')}")
done()
