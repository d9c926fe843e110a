"""CodeCommit content operations on a large repository: Ferry's server time (from its
/metrics histograms) against the git CLI doing the same work, in the same run.

Builds a repository with 10,000 files and 20,000 commits with `git fast-import`, pushes it to a
running Ferry (FERRY_URL, AWS credentials in the environment), then times GetFile, GetFolder,
GetDifferences and a three-way merge of two branches with 100 changed files each.
Usage: content.py WORKDIR"""

import os
import re
import statistics
import subprocess
import sys
import time

import boto3
from botocore.config import Config

URL = os.environ["FERRY_URL"]
work = sys.argv[1]
cc = boto3.client("codecommit", endpoint_url=URL, config=Config(retries={"max_attempts": 1}))
FILES, COMMITS, CALLS = 10_000, 20_000, 200


def git(*args, cwd, input=None):
    return subprocess.run(["git", *args], cwd=cwd, input=input, capture_output=True, check=True).stdout


def fast_import_stream():
    out = []
    t = 1700000000
    def blob_cmd(path, data):
        out.append(f"M 100644 inline {path}\ndata {len(data)}\n".encode() + data + b"\n")
    out.append(f"commit refs/heads/main\ncommitter B <b@x> {t} +0000\ndata 4\nbase\n".encode())
    for i in range(FILES):
        blob_cmd(f"d{i // 100:03d}/f{i % 100:03d}.txt", f"file {i}\n".encode() * 20)
    for c in range(1, COMMITS):
        msg = f"c{c}".encode()
        out.append(f"commit refs/heads/main\ncommitter B <b@x> {t + c} +0000\ndata {len(msg)}\n".encode() + msg + b"\n")
        i = (c * 7919) % FILES
        blob_cmd(f"d{i // 100:03d}/f{i % 100:03d}.txt", f"file {i} v{c}\n".encode() * 20)
    return b"".join(out)


src = os.path.join(work, "big-src")
os.makedirs(src)
git("init", "-q", "-b", "main", cwd=src)
t0 = time.perf_counter()
git("fast-import", "--quiet", cwd=src, input=fast_import_stream())
git("checkout", "-q", "main", cwd=src)
# Two branches from one base, each changing 100 different files, for the merge.
base = git("rev-parse", "HEAD", cwd=src).decode().strip()
for branch, offset in [("left", 0), ("right", 5000)]:
    git("checkout", "-q", "-b", branch, base, cwd=src)
    for i in range(offset, offset + 100):
        path = os.path.join(src, f"d{i // 100:03d}/f{i % 100:03d}.txt")
        with open(path, "a") as fh:
            fh.write(f"{branch} change\n")
    git("-c", "user.name=B", "-c", "user.email=b@x", "commit", "-qam", f"{branch} changes", cwd=src)
git("checkout", "-q", "main", cwd=src)
print(f"generated {FILES} files, {COMMITS} commits in {time.perf_counter() - t0:.1f} s")

cc.create_repository(repositoryName="large")
helper = ["-c", "credential.helper=!aws codecommit credential-helper --ignore-host-check $@", "-c", "credential.UseHttpPath=true"]
git(*helper, "push", "-q", f"{URL}/v1/repos/large", "main", "left", "right", cwd=src)
head = git("rev-parse", "HEAD", cwd=src).decode().strip()
old = git("rev-parse", "HEAD~100", cwd=src).decode().strip()


def server_times(op):
    """(count, sum seconds, bucket counts) of one operation from /metrics."""
    import urllib.request
    text = urllib.request.urlopen(f"{URL}/metrics").read().decode()
    label = f'service="codecommit",operation="{op}"'
    count = float(re.search(rf'ferry_request_duration_seconds_count{{{label}}} (\S+)', text).group(1))
    total = float(re.search(rf'ferry_request_duration_seconds_sum{{{label}}} (\S+)', text).group(1))
    buckets = [(float(le), float(n)) for le, n in re.findall(rf'ferry_request_duration_seconds_bucket{{{label},le="([0-9.]+)"}} (\S+)', text)]
    return count, total, buckets


def measure(op, call, n=CALLS):
    before = server_times(op) if op_seen(op) else (0, 0.0, [])
    for _ in range(n):
        call()
    after = server_times(op)
    count = after[0] - before[0]
    mean_ms = (after[1] - before[1]) / count * 1000
    prev = dict(before[2])
    median_le = next(le for le, c in after[2] if c - prev.get(le, 0) >= count / 2)
    return mean_ms, median_le * 1000


def op_seen(op):
    import urllib.request
    return f'operation="{op}"' in urllib.request.urlopen(f"{URL}/metrics").read().decode()


def git_ms(args, n=50):
    times = []
    for _ in range(n):
        t = time.perf_counter()
        git(*args, cwd=src)
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


rows = []
f_mean, f_med = measure("GetFile", lambda: cc.get_file(repositoryName="large", filePath="d042/f017.txt"))
rows.append(("GetFile d042/f017.txt", f_mean, f_med, git_ms(["show", "HEAD:d042/f017.txt"])))
d_mean, d_med = measure("GetFolder", lambda: cc.get_folder(repositoryName="large", folderPath="d042"))
rows.append(("GetFolder d042 (100 files)", d_mean, d_med, git_ms(["ls-tree", "HEAD", "d042/"])))
r_mean, r_med = measure("GetFolder", lambda: cc.get_folder(repositoryName="large", folderPath="/"))
rows.append(("GetFolder / (100 folders)", r_mean, r_med, git_ms(["ls-tree", "HEAD"])))
g_mean, g_med = measure("GetDifferences", lambda: cc.get_differences(repositoryName="large", beforeCommitSpecifier=old, afterCommitSpecifier=head))
rows.append(("GetDifferences HEAD~100..HEAD", g_mean, g_med, git_ms(["diff-tree", "-r", old, head])))
m_mean, m_med = measure("GetMergeOptions", lambda: cc.get_merge_options(repositoryName="large", sourceCommitSpecifier="left",
                                                                       destinationCommitSpecifier="right",
                                                                       conflictDetailLevel="LINE_LEVEL"), n=20)
rows.append(("3-way merge, 100+100 files (GetMergeOptions)", m_mean, m_med, git_ms(["merge-tree", "--write-tree", "left", "right"], n=20)))
t = time.perf_counter()
cc.merge_branches_by_three_way(repositoryName="large", sourceCommitSpecifier="left", destinationCommitSpecifier="right",
                               conflictDetailLevel="LINE_LEVEL")
rows.append(("MergeBranchesByThreeWay (client wall time)", (time.perf_counter() - t) * 1000, float("nan"), float("nan")))

print(f"{'operation':48} {'ferry mean':>11} {'ferry p50<=':>12} {'git CLI p50':>12} {'git/ferry':>10}")
for name, mean, med, g in rows:
    ratio = g / mean if g == g else float("nan")
    print(f"{name:48} {mean:9.2f}ms {med:10.2f}ms {g:10.2f}ms {ratio:9.1f}x")
