"""CodeArtifact against the anchors the issue names, in the same run on this machine:
  1. npm packument GET (a package with 30 versions) at 8 and 20 connections: Ferry vs Verdaccio
     6.8.0 (requests per second and p99 latency, wrk)
  2. PyPI `/simple/<project>/` (30 files) at 8 connections: Ferry vs pypiserver
  3. `npm install` of an app with 20 dependencies from a warm registry, fresh npm cache each
     run: Ferry vs Verdaccio (median of 3)
  4. a 2 MB tarball GET at 8 connections: Ferry vs Verdaccio (MB/s)
Both registries require a token (Verdaccio: packages readable by authenticated users only, its
tokens JWTs rather than its legacy ones, so that checking one costs an HMAC, not bcrypt);
pypiserver runs without authentication, as it is usually run. Verdaccio is installed with npm
(an `overrides` entry pins node-fetch to 2.7.0) and pypiserver with pip, into BENCH_CACHE
(default ~/.cache/ferry-bench). Everything listens on 127.0.0.1.
Usage: codeartifact.py FERRY_BIN WORKDIR"""

import base64
import hashlib
import io
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import time
import urllib.request
import zipfile

import boto3

binary, work = sys.argv[1], sys.argv[2]
DUR = os.environ.get("BENCH_SECONDS", "10")
CACHE = os.environ.get("BENCH_CACHE", os.path.expanduser("~/.cache/ferry-bench"))
AKID = os.environ.get("AWS_ACCESS_KEY_ID", "AKIAFERRYBENCH000001")
SECRET = os.environ.get("AWS_SECRET_ACCESS_KEY", "benchSecret000000000000000000000000000001")
FERRY_PORT, VERDACCIO_PORT, PYPISERVER_PORT = 4601, 4602, 4603
FERRY = f"http://127.0.0.1:{FERRY_PORT}"
VERDACCIO = f"http://127.0.0.1:{VERDACCIO_PORT}/"
PYPISERVER = f"http://127.0.0.1:{PYPISERVER_PORT}/"
procs = []


def sh(*cmd, **kw):
    r = subprocess.run(list(cmd), capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{r.stdout}\n{r.stderr}")
    return r


def install_peers():
    vd = os.path.join(CACHE, "verdaccio")
    if not os.path.exists(os.path.join(vd, "node_modules/.bin/verdaccio")):
        os.makedirs(vd, exist_ok=True)
        with open(os.path.join(vd, "package.json"), "w") as f:
            json.dump({"name": "bench-verdaccio", "version": "1.0.0", "private": True,
                       "dependencies": {"verdaccio": "6.8.0"}, "overrides": {"node-fetch": "2.7.0"}}, f)
        sh("npm", "install", "--no-audit", "--no-fund", "--loglevel=error", cwd=vd)
    venv = os.path.join(CACHE, "pypiserver")
    if not os.path.exists(os.path.join(venv, "bin/pypi-server")):
        sh(sys.executable, "-m", "venv", venv)
        sh(os.path.join(venv, "bin/pip"), "install", "-q", "--disable-pip-version-check", "pypiserver==2.4.2")
    return os.path.join(vd, "node_modules/.bin/verdaccio"), os.path.join(venv, "bin/pypi-server")


def wait_for(url):
    for _ in range(300):
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except urllib.error.HTTPError:
            return
        except Exception:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not come up")


def http(method, url, body=None, headers=None):
    req = urllib.request.Request(url, data=body, method=method, headers=dict(headers or {}))
    with urllib.request.urlopen(req) as r:
        return r.status, r.read()


def tgz(name, version, payload=b""):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        files = {"package/package.json": json.dumps({"name": name, "version": version, "main": "index.js"}).encode(),
                 "package/index.js": f"module.exports = '{name}@{version}';\n".encode()}
        if payload:
            files["package/blob.bin"] = payload
        for path, data in files.items():
            info = tarfile.TarInfo(path)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def publish_doc(base, name, version, data, deps=None):
    return json.dumps({
        "_id": name, "name": name, "dist-tags": {"latest": version},
        "versions": {version: {"name": name, "version": version, "main": "index.js", "dependencies": deps or {},
                               "description": f"{name} for the benchmark",
                               "dist": {"tarball": f"{base}{name}/-/{name}-{version}.tgz",
                                        "shasum": hashlib.sha1(data).hexdigest(),
                                        "integrity": "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()}}},
        "_attachments": {f"{name}-{version}.tgz": {"content_type": "application/octet-stream",
                                                    "data": base64.b64encode(data).decode(), "length": len(data)}},
    }).encode()


def wrk(url, token_header, connections):
    script = os.path.join(work, f"wrk-{connections}.lua")
    with open(script, "w") as f:
        f.write(f'wrk.headers["Authorization"] = "{token_header}"\n' if token_header else "")
    out = sh("wrk", f"-t2", f"-c{connections}", f"-d{DUR}s", "--latency", "-s", script, url).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    p99_ms = float(p99.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[p99.group(2)]
    transfer = re.search(r"Transfer/sec:\s+([\d.]+)(KB|MB|GB)", out)
    mbs = float(transfer.group(1)) * {"KB": 1 / 1024, "MB": 1, "GB": 1024}[transfer.group(2)]
    return rps, p99_ms, mbs


def main():
    verdaccio_bin, pypiserver_bin = install_peers()
    # --- Ferry
    env = dict(os.environ, FERRY_ROOT_ACCESS_KEY_ID=AKID, FERRY_ROOT_SECRET_ACCESS_KEY=SECRET, FERRY_LOG="warn")
    procs.append(subprocess.Popen([binary, "serve", "--data-dir", os.path.join(work, "ca-ferry"), "--listen", f"127.0.0.1:{FERRY_PORT}"],
                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    # --- Verdaccio
    vd_dir = os.path.join(work, "verdaccio")
    os.makedirs(vd_dir, exist_ok=True)
    with open(os.path.join(vd_dir, "config.yaml"), "w") as f:
        f.write(f"""storage: {vd_dir}/storage
auth:
  htpasswd:
    file: {vd_dir}/htpasswd
    max_users: 1000
security:
  api:
    legacy: false
    jwt:
      sign:
        expiresIn: 7d
uplinks: {{}}
packages:
  '**':
    access: $authenticated
    publish: $authenticated
log: {{ type: stdout, format: pretty, level: error }}
""")
    procs.append(subprocess.Popen([verdaccio_bin, "--config", os.path.join(vd_dir, "config.yaml"), "--listen", f"127.0.0.1:{VERDACCIO_PORT}"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    # --- pypiserver
    pkgs = os.path.join(work, "pypiserver-packages")
    os.makedirs(pkgs, exist_ok=True)
    procs.append(subprocess.Popen([pypiserver_bin, "run", "-p", str(PYPISERVER_PORT), "-i", "127.0.0.1", "-a", ".", "-P", ".", pkgs],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    wait_for(FERRY + "/healthz")
    wait_for(VERDACCIO + "-/ping")
    wait_for(PYPISERVER)

    ca = boto3.client("codeartifact", endpoint_url=FERRY, region_name="us-east-1", aws_access_key_id=AKID, aws_secret_access_key=SECRET)
    ca.create_domain(domain="bench")
    ca.create_repository(domain="bench", repository="store")
    ferry_npm = ca.get_repository_endpoint(domain="bench", repository="store", format="npm")["repositoryEndpoint"]
    ferry_pypi = ca.get_repository_endpoint(domain="bench", repository="store", format="pypi")["repositoryEndpoint"]
    token = ca.get_authorization_token(domain="bench")["authorizationToken"]
    _, body = http("PUT", VERDACCIO + "-/user/org.couchdb.user:bench", json.dumps({"name": "bench", "password": "bench-pass-1"}).encode(),
                   {"content-type": "application/json"})
    vd_token = json.loads(body)["token"]
    registries = {"ferry": (ferry_npm, f"Bearer {token}"), "verdaccio": (VERDACCIO, f"Bearer {vd_token}")}

    # Publish the same packages to both npm registries.
    big = os.urandom(2 * 1024 * 1024)
    for name, (base, auth) in registries.items():
        for i in range(30):
            v = f"1.{i}.0"
            http("PUT", base + "bench-pkg", publish_doc(base, "bench-pkg", v, tgz("bench-pkg", v)), {"content-type": "application/json", "authorization": auth})
        for i in range(20):
            n = f"bench-dep-{i:02d}"
            http("PUT", base + n, publish_doc(base, n, "1.0.0", tgz(n, "1.0.0")), {"content-type": "application/json", "authorization": auth})
        http("PUT", base + "bench-big", publish_doc(base, "bench-big", "1.0.0", tgz("bench-big", "1.0.0", big)),
             {"content-type": "application/json", "authorization": auth})

    print("== 1. npm packument GET (30 versions)")
    for c in (8, 20):
        got = {}
        for name, (base, auth) in registries.items():
            got[name] = wrk(base + "bench-pkg", auth, c)
        f, v = got["ferry"], got["verdaccio"]
        print(f"{c} connections: ferry {f[0]:.0f} req/s (p99 {f[1]:.2f} ms), verdaccio {v[0]:.0f} req/s (p99 {v[1]:.2f} ms): ratio {f[0] / v[0]:.1f}x")

    print("== 2. PyPI /simple/<project>/ (30 files), 8 connections")
    boundary = "benchboundary"
    for i in range(30):
        v = f"1.{i}"
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("bench_pkg/__init__.py", f"VERSION = '{v}'\n")
            z.writestr(f"bench_pkg-{v}.dist-info/METADATA", f"Metadata-Version: 2.1\nName: bench-pkg\nVersion: {v}\n")
        data = buf.getvalue()
        file = f"bench_pkg-{v}-py3-none-any.whl"
        with open(os.path.join(pkgs, file), "wb") as f:
            f.write(data)
        form = b""
        for k, val in {":action": "file_upload", "name": "bench-pkg", "version": v, "requires_python": ">=3.8"}.items():
            form += f"--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{val}\r\n".encode()
        form += f"--{boundary}\r\nContent-Disposition: form-data; name=\"content\"; filename=\"{file}\"\r\n\r\n".encode() + data + f"\r\n--{boundary}--\r\n".encode()
        http("POST", ferry_pypi, form, {"content-type": f"multipart/form-data; boundary={boundary}", "authorization": f"Bearer {token}"})
    basic = "Basic " + base64.b64encode(f"aws:{token}".encode()).decode()
    f = wrk(ferry_pypi + "simple/bench-pkg/", basic, 8)
    p = wrk(PYPISERVER + "simple/bench-pkg/", None, 8)
    print(f"ferry {f[0]:.0f} req/s (p99 {f[1]:.2f} ms), pypiserver {p[0]:.0f} req/s (p99 {p[1]:.2f} ms): ratio {f[0] / p[0]:.1f}x")

    print("== 3. npm install of an app with 20 dependencies, fresh cache each run (median of 3)")
    times = {}
    for name, (base, auth) in registries.items():
        runs = []
        for r in range(3):
            app = os.path.join(work, f"app-{name}-{r}")
            os.makedirs(app)
            with open(os.path.join(app, "package.json"), "w") as fh:
                json.dump({"name": "app", "version": "1.0.0", "private": True,
                           "dependencies": {f"bench-dep-{i:02d}": "1.0.0" for i in range(20)}}, fh)
            host_path = base.split("://", 1)[1]
            with open(os.path.join(app, ".npmrc"), "w") as fh:
                fh.write(f"registry={base}\n//{host_path}:_authToken={auth.split(' ', 1)[1]}\n")
            cache = os.path.join(work, f"npm-cache-{name}-{r}")
            t0 = time.time()
            sh("npm", "install", "--no-audit", "--no-fund", "--loglevel=error", f"--cache={cache}", cwd=app)
            runs.append(time.time() - t0)
        times[name] = statistics.median(runs)
    print(f"ferry {times['ferry']:.2f} s, verdaccio {times['verdaccio']:.2f} s: ferry/verdaccio {times['ferry'] / times['verdaccio']:.2f}")

    print("== 4. 2 MB tarball GET, 8 connections")
    f = wrk(ferry_npm + "bench-big/-/bench-big-1.0.0.tgz", registries["ferry"][1], 8)
    v = wrk(VERDACCIO + "bench-big/-/bench-big-1.0.0.tgz", registries["verdaccio"][1], 8)
    print(f"ferry {f[2]:.0f} MB/s (p99 {f[1]:.1f} ms), verdaccio {v[2]:.0f} MB/s (p99 {v[1]:.1f} ms): ratio {f[2] / v[2]:.1f}x")


try:
    main()
finally:
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
