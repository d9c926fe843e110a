"""Cold start to healthy on an empty data dir, and idle memory. Usage: cold_start.py FERRY_BIN"""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

binary = sys.argv[1]
times = []
rss = []
for i in range(10):
    d = tempfile.mkdtemp()
    port = 4700 + i
    env = dict(os.environ, FERRY_LOG="warn")
    start = time.perf_counter()
    p = subprocess.Popen([binary, "serve", "--data-dir", d, "--listen", f"127.0.0.1:{port}"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    while True:
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).status == 200:
                break
        except OSError:
            time.sleep(0.001)
    times.append((time.perf_counter() - start) * 1000)
    time.sleep(1.0)
    with open(f"/proc/{p.pid}/status") as f:
        rss.append(next(int(l.split()[1]) for l in f if l.startswith("VmRSS")) / 1024)
    p.terminate()
    p.wait()
    shutil.rmtree(d)
print(f"cold start to healthy: median {statistics.median(times):.1f} ms (min {min(times):.1f}, max {max(times):.1f}) over {len(times)} starts")
print(f"idle RSS: median {statistics.median(rss):.1f} MB")
