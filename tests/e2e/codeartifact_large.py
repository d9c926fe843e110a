"""Large package files against Ferry's CodeArtifact: a 300 MB Maven artifact and a 200 MB
wheel (a twine-style multipart upload) go up as streams and come back byte for byte with
their Content-Length, while the server's peak memory grows by far less than either file
(uploads are spooled to disk while hashed, downloads streamed from the blob store); and a
wheel upload cut off midway leaves no version and no temporary file behind.

Run by crates/ferry/tests/e2e_codeartifact.rs with FERRY_PID set. Exits non-zero on the
first failed check."""

import hashlib
import http.client
import os
import socket
import time
import urllib.parse

import boto3

from helpers import check, done, expect_error

URL = os.environ["FERRY_URL"]
PID = os.environ["FERRY_PID"]
TMP = os.path.join(os.environ["FERRY_DATA_DIR"], "blobs", ".tmp")
MB = 1 << 20
ca = boto3.client("codeartifact", endpoint_url=URL, region_name="us-east-1")


def peak_rss_mb():
    for line in open(f"/proc/{PID}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    raise RuntimeError("no VmHWM")


def chunks(size_mb, seed):
    """`size_mb` MB of bytes that differ from chunk to chunk, and their SHA-1 and SHA-256."""
    block = hashlib.sha512(seed.encode()).digest() * (MB // 64)
    out = []
    for i in range(size_mb):
        out.append(i.to_bytes(4, "big") + block[4:])
    return out


def digests(parts):
    s1, s256 = hashlib.sha1(), hashlib.sha256()
    for p in parts:
        s1.update(p)
        s256.update(p)
    return s1.hexdigest(), s256.hexdigest()


def send(method, url, token, parts, headers):
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=300)
    conn.putrequest(method, u.path)
    conn.putheader("Authorization", f"Bearer {token}")
    conn.putheader("Content-Length", str(sum(len(p) for p in parts)))
    for k, v in headers.items():
        conn.putheader(k, v)
    conn.endheaders()
    for p in parts:
        conn.send(p)
    r = conn.getresponse()
    return r.status, r.read()


def fetch(url, token):
    """Status, Content-Length header, SHA-1 and size of a download read in pieces."""
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=300)
    conn.request("GET", u.path, headers={"Authorization": f"Bearer {token}"})
    r = conn.getresponse()
    h, n = hashlib.sha1(), 0
    while True:
        piece = r.read(MB)
        if not piece:
            break
        h.update(piece)
        n += len(piece)
    return r.status, r.getheader("Content-Length"), h.hexdigest(), n


ca.create_domain(domain="big")
ca.create_repository(domain="big", repository="files")
TOKEN = ca.get_authorization_token(domain="big")["authorizationToken"]
MAVEN = ca.get_repository_endpoint(domain="big", repository="files", format="maven")["repositoryEndpoint"]
PYPI = ca.get_repository_endpoint(domain="big", repository="files", format="pypi")["repositoryEndpoint"]
before = peak_rss_mb()

# ---- a 300 MB jar up and down.
jar = chunks(300, "jar")
jar_sha1, _ = digests(jar)
status, body = send("PUT", MAVEN + "com/big/huge/1.0/huge-1.0.jar", TOKEN, jar, {"Content-Type": "application/java-archive"})
check(status in (200, 201), f"the jar was stored: {status} {body[:200]}")
del jar
meta = (b"<metadata><groupId>com.big</groupId><artifactId>huge</artifactId><versioning><versions>"
        b"<version>1.0</version></versions></versioning></metadata>")
status, body = send("PUT", MAVEN + "com/big/huge/maven-metadata.xml", TOKEN, [meta], {"Content-Type": "text/xml"})
check(status in (200, 201), f"the metadata publishes the version: {status} {body[:200]}")
status, length, sha1, size = fetch(MAVEN + "com/big/huge/1.0/huge-1.0.jar", TOKEN)
check(status == 200 and length == str(300 * MB) and size == 300 * MB and sha1 == jar_sha1,
      f"the jar comes back whole: {status} {length} {size} {sha1} vs {jar_sha1}")
status, stated = send("GET", MAVEN + "com/big/huge/1.0/huge-1.0.jar.sha1", TOKEN, [], {})
check(stated.decode().strip() == jar_sha1, f"its SHA-1 as Ferry hashed it on the way in: {stated}")

# ---- a 200 MB wheel, uploaded the way twine does it.
wheel = chunks(200, "wheel")
_, wheel_sha256 = digests(wheel)
boundary = "ferryboundary7d1"
fields = {":action": "file_upload", "protocol_version": "1", "name": "huge", "version": "1.0",
          "filetype": "bdist_wheel", "sha256_digest": wheel_sha256}
head = b"".join(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n".encode() for k, v in fields.items())
head += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"content\"; filename=\"huge-1.0-py3-none-any.whl\"\r\n"
         f"Content-Type: application/octet-stream\r\n\r\n").encode()
tail = f"\r\n--{boundary}--\r\n".encode()
status, body = send("POST", PYPI, TOKEN, [head, *wheel, tail], {"Content-Type": f"multipart/form-data; boundary={boundary}"})
check(status == 200, f"the wheel was uploaded: {status} {body[:200]}")
del wheel
assets = ca.list_package_version_assets(domain="big", repository="files", format="pypi", package="huge", packageVersion="1.0")["assets"]
check([(a["name"], a["size"], a["hashes"]["SHA-256"]) for a in assets] == [("huge-1.0-py3-none-any.whl", 200 * MB, wheel_sha256)],
      f"the wheel as stored: {assets}")

grown = peak_rss_mb() - before
check(grown < 120, f"the server's peak memory grew by {grown} MB for 300 and 200 MB files")
print(f"peak RSS growth: {grown} MB")

# ---- a wheel upload cut off midway: no version, no temporary file.
u = urllib.parse.urlsplit(PYPI)
cut_head = head.replace(b"huge-1.0-py3", b"huge-2.0-py3").replace(b"\r\n1.0\r\n", b"\r\n2.0\r\n")
with socket.create_connection((u.hostname, u.port)) as sock:
    sock.sendall(f"POST {u.path} HTTP/1.1\r\nHost: {u.hostname}:{u.port}\r\nAuthorization: Bearer {TOKEN}\r\n"
                 f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {len(cut_head) + 50 * MB}\r\n\r\n".encode()
                 + cut_head + b"x" * (5 * MB))
expect_error("ResourceNotFoundException", ca.describe_package_version, domain="big", repository="files", format="pypi",
             package="huge", packageVersion="2.0")
for _ in range(50):
    left = os.listdir(TMP) if os.path.isdir(TMP) else []
    if not left:
        break
    time.sleep(0.1)
check(left == [], f"no temporary file is left: {left}")
done()
