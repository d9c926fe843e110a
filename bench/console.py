"""The web console on a large repository: server-side page times, against the issue's target of
< 50 ms. A repository of 12,000 files (2,000 at its root, 100 folders of 100) is pushed with git;
then, signed in, each page is fetched 30 times over loopback and the median and 90th percentile
of the whole request are reported: the root tree (2,100 entries), a folder, a file, the commit
log and the repository list. There is no peer to compare with in the same run (no forge is
installed here); the number stands against the target.
Usage: console.py FERRY_BIN WORKDIR"""

import http.cookiejar
import os
import re
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import boto3

binary, work = sys.argv[1], sys.argv[2]
PORT = 4611
URL = f"http://127.0.0.1:{PORT}"
data = os.path.join(work, "console-data")
env = dict(os.environ, FERRY_ROOT_PASSWORD="bench-password", FERRY_LOG="warn",
           FERRY_ROOT_ACCESS_KEY_ID="AKIAFERRYBENCH000002", FERRY_ROOT_SECRET_ACCESS_KEY="benchSecret000000000000000000000000000002")
server = subprocess.Popen([binary, "serve", "--listen", f"127.0.0.1:{PORT}", "--data-dir", data], env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    for _ in range(100):
        try:
            urllib.request.urlopen(URL + "/healthz", timeout=1)
            break
        except OSError:
            time.sleep(0.05)
    cc = boto3.client("codecommit", endpoint_url=URL, region_name="us-east-1",
                      aws_access_key_id=env["FERRY_ROOT_ACCESS_KEY_ID"], aws_secret_access_key=env["FERRY_ROOT_SECRET_ACCESS_KEY"])
    cc.create_repository(repositoryName="big")
    src = os.path.join(work, "console-src")
    os.makedirs(src)
    for d in range(1, 101):
        os.makedirs(os.path.join(src, f"d{d}"))
        for f in range(1, 101):
            with open(os.path.join(src, f"d{d}", f"f{f}.txt"), "w") as fh:
                fh.write(f"file {d} {f}\n")
    for f in range(1, 2001):
        with open(os.path.join(src, f"top{f}.txt"), "w") as fh:
            fh.write(f"top {f}\n")
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com"]
    subprocess.run(git + ["init", "-q", "-b", "main"], cwd=src, check=True)
    subprocess.run(git + ["add", "-A"], cwd=src, check=True)
    subprocess.run(git + ["commit", "-qm", "12,000 files"], cwd=src, check=True)
    creds = subprocess.run([binary, "admin", "--data-dir", data, "create-git-credential", "root"], env=env,
                           capture_output=True, text=True, check=True).stdout
    user = re.search(r"username = (\S+)", creds).group(1)
    password = re.search(r"password = (\S+)", creds).group(1)
    q = lambda s: urllib.parse.quote(s, safe="")
    subprocess.run(git + ["push", "-q", f"http://{q(user)}:{q(password)}@127.0.0.1:{PORT}/v1/repos/big", "main"], cwd=src, check=True)

    jar = http.cookiejar.CookieJar()
    web = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = web.open(URL + "/console/sign-in").read().decode()
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    web.open(URL + "/console/sign-in", data=urllib.parse.urlencode({"user": "root", "password": "bench-password", "csrf": csrf}).encode())
    for path in ["/console/repos/big", "/console/repos/big/tree/d50", "/console/repos/big/blob/d50/f50.txt",
                 "/console/repos/big/commits", "/console/repos"]:
        times = []
        for _ in range(30):
            t = time.perf_counter()
            body = web.open(URL + path).read()
            times.append((time.perf_counter() - t) * 1000)
        times.sort()
        print(f"{path}: median {statistics.median(times):.1f} ms, p90 {times[26]:.1f} ms ({len(body)} bytes; target < 50 ms)")
finally:
    server.terminate()
    server.wait(timeout=30)
