"""Prints a wrk Lua script that replays one SigV4-signed JSON 1.1 request (a signature stays
valid for 15 minutes, so replaying it measures the server's full verification path).
Usage: sign.py ENDPOINT TARGET BODY"""

import os
import sys

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

endpoint, target, body = sys.argv[1], sys.argv[2], sys.argv[3]
creds = Credentials(os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"])
req = AWSRequest(method="POST", url=endpoint + "/", data=body.encode(),
                 headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target})
botocore.auth.SigV4Auth(creds, target.split("_")[0].lower(), "us-east-1").add_auth(req)
print('wrk.method = "POST"')
print(f"wrk.body = [[{body}]]")
for k, v in req.headers.items():
    print(f'wrk.headers["{k}"] = "{v}"')
