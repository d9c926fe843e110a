"""S3 against moto_server, in the same run on the same machine:
  1. small-object GET at 8 connections: wrk replaying a SigV4 presigned GET URL of a 1 KiB object
  2. 100 MB put_object (streamed from a file) and get_object (streamed to a file) with boto3:
     wall time for both servers, and how much Ferry's peak RSS (VmHWM) grows
  3. `aws s3 cp` of 200 MB (multipart, default 8 MB parts) up and down: wall time for both

Starts its own `ferry serve` (fresh data dir, so the peak RSS is this section's own) and
`moto_server`, both on 127.0.0.1. Credentials come from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY
(bench/run exports them) and are made Ferry's root credentials.
Usage: s3.py FERRY_BIN WORKDIR   (BENCH_SECONDS sets the wrk duration, default 10)"""

import hashlib
import os
import re
import subprocess
import sys
import time
import urllib.request

import boto3
from botocore.config import Config

binary, work = sys.argv[1], sys.argv[2]
DUR = int(os.environ.get("BENCH_SECONDS", "10"))
BIG_MB = int(os.environ.get("BENCH_S3_BIG_MB", "100"))
CP_MB = int(os.environ.get("BENCH_S3_CP_MB", "200"))
AKID = os.environ.get("AWS_ACCESS_KEY_ID", "AKIAFERRYBENCH000001")
SECRET = os.environ.get("AWS_SECRET_ACCESS_KEY", "benchSecret000000000000000000000000000001")
REGION = "us-east-1"
MIB = 1024 * 1024
env = dict(os.environ, AWS_ACCESS_KEY_ID=AKID, AWS_SECRET_ACCESS_KEY=SECRET, AWS_DEFAULT_REGION=REGION,
           AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null")
env.pop("AWS_ENDPOINT_URL", None)

servers = {"ferry": "http://127.0.0.1:4594", "moto": "http://127.0.0.1:4595"}
procs = {
    "ferry": subprocess.Popen([binary, "serve", "--data-dir", os.path.join(work, "s3-ferry"), "--listen", "127.0.0.1:4594"],
                              env=dict(env, FERRY_ROOT_ACCESS_KEY_ID=AKID, FERRY_ROOT_SECRET_ACCESS_KEY=SECRET, FERRY_LOG="warn"),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
    "moto": subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", "4595"],
                             env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
}


def wait_healthy(url):
    for _ in range(200):
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"{url} did not come up")


def status_kb(pid, field):
    with open(f"/proc/{pid}/status") as f:
        return int(next(l.split()[1] for l in f if l.startswith(field + ":")))


def write_random(path, mb):
    with open(path, "wb") as f:
        for _ in range(mb):
            f.write(os.urandom(MIB))


def md5_file(path):
    h = hashlib.md5()
    with open(path, "rb") as f:
        while chunk := f.read(MIB):
            h.update(chunk)
    return h.hexdigest()


def timed(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


try:
    wait_healthy(servers["ferry"] + "/healthz")
    wait_healthy(servers["moto"] + "/moto-api/")
    clients = {name: boto3.client("s3", endpoint_url=url, region_name=REGION, aws_access_key_id=AKID,
                                  aws_secret_access_key=SECRET,
                                  config=Config(signature_version="s3v4", retries={"max_attempts": 1}))
               for name, url in servers.items()}
    for s3 in clients.values():
        s3.create_bucket(Bucket="bench")

    # --- 1. small-object GET through a presigned URL ------------------------------------------
    print(f"== S3 1. GET of a 1 KiB object by presigned URL, 8 connections, {DUR}s each")
    rps = {}
    small = os.urandom(1024)
    for name, s3 in clients.items():
        s3.put_object(Bucket="bench", Key="small.bin", Body=small)
        url = s3.generate_presigned_url("get_object", Params={"Bucket": "bench", "Key": "small.bin"}, ExpiresIn=3600)
        with urllib.request.urlopen(url) as r:
            assert r.read() == small, f"{name}: presigned GET returned other bytes"
        out = subprocess.run(["wrk", "-t2", "-c8", f"-d{DUR}s", url], capture_output=True, text=True, check=True).stdout
        bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        if bad:
            sys.exit(f"{name}: {bad.group(1)} non-2xx answers under wrk:\n{out}")
        rps[name] = float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1))
    print(f"ferry: {rps['ferry']:.0f} req/s   moto_server: {rps['moto']:.0f} req/s   "
          f"ratio: {rps['ferry'] / rps['moto']:.1f}x")

    # --- 2. 100 MB put_object / get_object, and Ferry's peak RSS ------------------------------
    print(f"== S3 2. {BIG_MB} MB put_object from a file and get_object to a file (boto3)")
    big = os.path.join(work, "s3-big.bin")
    write_random(big, BIG_MB)
    big_md5 = md5_file(big)
    for name, s3 in clients.items():
        pid = procs[name].pid
        hwm0 = status_kb(pid, "VmHWM")

        def put():
            with open(big, "rb") as f:
                s3.put_object(Bucket="bench", Key="big.bin", Body=f)
        t_put = timed(put)
        hwm1 = status_kb(pid, "VmHWM")
        out = os.path.join(work, f"s3-big-{name}.out")

        def get():
            body = s3.get_object(Bucket="bench", Key="big.bin")["Body"]
            with open(out, "wb") as f:
                for chunk in body.iter_chunks(MIB):
                    f.write(chunk)
        t_get = timed(get)
        hwm2 = status_kb(pid, "VmHWM")
        assert md5_file(out) == big_md5, f"{name}: downloaded bytes differ"
        os.remove(out)
        print(f"{name}: put {t_put:.2f} s ({BIG_MB / t_put:.0f} MB/s), get {t_get:.2f} s ({BIG_MB / t_get:.0f} MB/s); "
              f"peak RSS {hwm0 / 1024:.1f} -> {hwm1 / 1024:.1f} MB after put (+{(hwm1 - hwm0) / 1024:.1f}), "
              f"-> {hwm2 / 1024:.1f} MB after get (+{(hwm2 - hwm0) / 1024:.1f} in all)")
    os.remove(big)

    # --- 3. aws s3 cp, multipart ---------------------------------------------------------------
    print(f"== S3 3. aws s3 cp of {CP_MB} MB up and down (multipart, 8 MB parts)")
    cp_src = os.path.join(work, "s3-cp.bin")
    write_random(cp_src, CP_MB)
    cp_md5 = md5_file(cp_src)
    for name, url in servers.items():
        pid = procs[name].pid
        hwm0 = status_kb(pid, "VmHWM")
        dst = os.path.join(work, f"s3-cp-{name}.out")
        aws = ["aws", "--endpoint-url", url, "s3", "cp", "--only-show-errors"]
        t_up = timed(lambda: subprocess.run(aws + [cp_src, "s3://bench/cp.bin"], env=env, check=True))
        t_down = timed(lambda: subprocess.run(aws + ["s3://bench/cp.bin", dst], env=env, check=True))
        hwm1 = status_kb(pid, "VmHWM")
        assert md5_file(dst) == cp_md5, f"{name}: aws s3 cp downloaded other bytes"
        os.remove(dst)
        print(f"{name}: up {t_up:.2f} s ({CP_MB / t_up:.0f} MB/s), down {t_down:.2f} s ({CP_MB / t_down:.0f} MB/s); "
              f"peak RSS {hwm0 / 1024:.1f} -> {hwm1 / 1024:.1f} MB")
    os.remove(cp_src)
finally:
    for p in procs.values():
        p.terminate()
        p.wait()
