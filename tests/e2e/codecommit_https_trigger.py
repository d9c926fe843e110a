"""A repository trigger with an https:// destination: Ferry delivers the signed event over TLS
(the test's certificate authority is trusted through SSL_CERT_FILE given to Ferry).
Needs TLS_CERT and TLS_KEY (a certificate for 127.0.0.1)."""

import hashlib
import hmac
import http.server
import json
import os
import queue
import ssl
import subprocess
import tempfile
import threading

import boto3

from helpers import check, done

URL = os.environ["FERRY_URL"]
cc = boto3.client("codecommit", endpoint_url=URL)




received = queue.Queue()


class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        received.put((self.headers.get("X-Ferry-Signature-256"), body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(os.environ["TLS_CERT"], os.environ["TLS_KEY"])
server.socket = ctx.wrap_socket(server.socket, server_side=True)
threading.Thread(target=server.serve_forever, daemon=True).start()
hook = f"https://127.0.0.1:{server.server_address[1]}/hook"

cc.create_repository(repositoryName="tls")
cc.put_file(repositoryName="tls", branchName="main", filePath="a.txt", fileContent=b"a\n")
conf = cc.put_repository_triggers(repositoryName="tls", triggers=[{"name": "secure", "destinationArn": hook, "events": ["all"]}])
tested = cc.test_repository_triggers(repositoryName="tls", triggers=[{"name": "secure", "destinationArn": hook, "events": ["all"]}])
check(tested["successfulExecutions"] == ["secure"], f"https test delivery {tested}")
sig, body = received.get(timeout=10)
secret = subprocess.run([os.environ["FERRY_BIN"], "admin", "--data-dir", os.environ["FERRY_DATA_DIR"], "trigger-secret"],
                        capture_output=True, text=True, check=True).stdout.strip()
check(sig == "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(), "signed over TLS")
tip = cc.get_branch(repositoryName="tls", branchName="main")["branch"]["commitId"]
cc.put_file(repositoryName="tls", branchName="main", filePath="b.txt", fileContent=b"b\n", parentCommitId=tip)
sig, body = received.get(timeout=10)
record = json.loads(body)["Records"][0]
check(record["eventName"] == "ReferenceChanges" and record["eventTriggerConfigId"] == conf["configurationId"], f"API commit fires over https {record}")
server.shutdown()
done()
