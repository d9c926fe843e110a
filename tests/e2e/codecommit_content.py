"""boto3 against a running Ferry: files, folders, blobs, differences and commits without a work
tree (PutFile, DeleteFile, CreateCommit), hostile paths, lost-update protection, and `git clone`
seeing exactly the commits the API reports.

Run by crates/ferry/tests/e2e_boto3.rs; exits non-zero on the first failed check."""

import os
import subprocess
import tempfile
import threading

import boto3
from botocore.config import Config

from helpers import check, done, expect_error, git

URL = os.environ["FERRY_URL"]
cc = boto3.client("codecommit", endpoint_url=URL, config=Config(retries={"max_attempts": 1, "mode": "standard"}))








def tip(branch="main"):
    return cc.get_branch(repositoryName="content", branchName=branch)["branch"]["commitId"]


cc.create_repository(repositoryName="content")

# --- the first PutFile creates the branch of an empty repository ----------------------------
c1 = cc.put_file(repositoryName="content", branchName="main", filePath="/README.md", fileContent=b"# hello\n",
                 commitMessage="add readme", name="Ana", email="ana@example.com")
check(cc.get_repository(repositoryName="content")["repositoryMetadata"]["defaultBranch"] == "main", "first write sets the default branch")
check(tip() == c1["commitId"], "branch at the new commit")
commit = cc.get_commit(repositoryName="content", commitId=c1["commitId"])["commit"]
check(commit["message"] == "add readme" and commit["author"]["name"] == "Ana" and commit["author"]["email"] == "ana@example.com", f"commit {commit}")
check(commit["parents"] == [] and commit["treeId"] == c1["treeId"], "root commit")

# --- parent commit checks: never a lost update ---------------------------------------------
expect_error("ParentCommitIdRequiredException", cc.put_file, repositoryName="content", branchName="main", filePath="x", fileContent=b"x")
expect_error("InvalidParentCommitIdException", cc.put_file, repositoryName="content", branchName="main", filePath="x", fileContent=b"x", parentCommitId="abc")
expect_error("ParentCommitDoesNotExistException", cc.put_file, repositoryName="content", branchName="main", filePath="x", fileContent=b"x", parentCommitId="1" * 40)
expect_error("SameFileContentException", cc.put_file, repositoryName="content", branchName="main", filePath="README.md", fileContent=b"# hello\n", parentCommitId=c1["commitId"])
expect_error("BranchDoesNotExistException", cc.put_file, repositoryName="content", branchName="nope", filePath="x", fileContent=b"x", parentCommitId=c1["commitId"])
binary = bytes(range(256)) * 3 + b"\x00\xff\xfe not utf-8 \xc3\x28"
c2 = cc.put_file(repositoryName="content", branchName="main", filePath="bin/data.bin", fileContent=binary, parentCommitId=c1["commitId"])
expect_error("ParentCommitIdOutdatedException", cc.put_file, repositoryName="content", branchName="main", filePath="y", fileContent=b"y", parentCommitId=c1["commitId"])

# Two writers with the same parent: exactly one wins.
results = []
def writer(n):
    try:
        cc.put_file(repositoryName="content", branchName="main", filePath=f"race{n}.txt", fileContent=b"r", parentCommitId=c2["commitId"])
        results.append("ok")
    except cc.exceptions.ClientError as e:
        results.append(e.response["Error"]["Code"])
threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
[t.start() for t in threads]
[t.join() for t in threads]
check(results.count("ok") == 1 and results.count("ParentCommitIdOutdatedException") == 3, f"one writer wins: {results}")
c3 = tip()

# --- reads: files, blobs, folders, byte-exact binary content ------------------------------
f = cc.get_file(repositoryName="content", filePath="bin/data.bin")
check(f["fileContent"] == binary and f["fileSize"] == len(binary) and f["fileMode"] == "NORMAL", "binary file round-trips byte-exact")
check(f["commitId"] == c3, "default specifier is the default branch")
check(cc.get_blob(repositoryName="content", blobId=f["blobId"])["content"] == binary, "get_blob")
for spec in ["main", "refs/heads/main", "HEAD", c1["commitId"]]:
    check(cc.get_file(repositoryName="content", filePath="README.md", commitSpecifier=spec)["fileContent"] == b"# hello\n", f"specifier {spec}")
expect_error("FileDoesNotExistException", cc.get_file, repositoryName="content", filePath="bin/data.bin", commitSpecifier=c1["commitId"])
expect_error("CommitDoesNotExistException", cc.get_file, repositoryName="content", filePath="README.md", commitSpecifier="no-such-branch")
expect_error("FileDoesNotExistException", cc.get_file, repositoryName="content", filePath="bin")
expect_error("BlobIdDoesNotExistException", cc.get_blob, repositoryName="content", blobId="2" * 40)
expect_error("InvalidBlobIdException", cc.get_blob, repositoryName="content", blobId="zz")

# --- CreateCommit: puts, a move, a delete, modes, symlinks ---------------------------------
c4 = cc.create_commit(
    repositoryName="content", branchName="main", parentCommitId=c3, authorName="Bo", email="bo@example.com",
    commitMessage="many changes",
    putFiles=[
        {"filePath": "src/run.sh", "fileContent": b"#!/bin/sh\necho hi\n", "fileMode": "EXECUTABLE"},
        {"filePath": "src/lib/util.py", "fileContent": b"X = 1\n"},
        {"filePath": "link", "fileContent": b"src/run.sh", "fileMode": "SYMLINK"},
        {"filePath": "docs/README.md", "sourceFile": {"filePath": "README.md", "isMove": True}},
    ],
    setFileModes=[{"filePath": "bin/data.bin", "fileMode": "EXECUTABLE"}],
)
added = sorted(x["absolutePath"] for x in c4["filesAdded"])
check(added == ["docs/README.md", "link", "src/lib/util.py", "src/run.sh"], f"filesAdded {added}")
check([x["absolutePath"] for x in c4["filesDeleted"]] == ["README.md"], "a move deletes the source")
check([(x["absolutePath"], x["fileMode"]) for x in c4["filesUpdated"]] == [("bin/data.bin", "EXECUTABLE")], "mode change")
root = cc.get_folder(repositoryName="content", folderPath="/")
check(sorted(x["relativePath"] for x in root["subFolders"]) == ["bin", "docs", "src"], "sub-folders")
check([x["absolutePath"] for x in root["symbolicLinks"]] == ["link"], f"symbolic links {root}")
check([x["relativePath"] for x in root["files"]] == [r for r in ("race0.txt", "race1.txt", "race2.txt", "race3.txt") if r in str(root["files"])], "files")
check(len(root["files"]) == 1 and root["files"][0]["relativePath"].startswith("race"), f"only the race winner's file at the root {root['files']}")
src = cc.get_folder(repositoryName="content", folderPath="src")
check([(x["relativePath"], x["fileMode"]) for x in src["files"]] == [("run.sh", "EXECUTABLE")], "executable listed")
check(src["subFolders"][0]["absolutePath"] == "src/lib", "nested folder")
expect_error("FolderDoesNotExistException", cc.get_folder, repositoryName="content", folderPath="nope")

expect_error("FileEntryRequiredException", cc.create_commit, repositoryName="content", branchName="main", parentCommitId=c4["commitId"])
expect_error("MaximumFileEntriesExceededException", cc.create_commit, repositoryName="content", branchName="main", parentCommitId=c4["commitId"],
             putFiles=[{"filePath": f"f{i}", "fileContent": b"x"} for i in range(101)])
expect_error("SamePathRequestException", cc.create_commit, repositoryName="content", branchName="main", parentCommitId=c4["commitId"],
             putFiles=[{"filePath": "a", "fileContent": b"1"}], deleteFiles=[{"filePath": "a"}])
expect_error("FileDoesNotExistException", cc.create_commit, repositoryName="content", branchName="main", parentCommitId=c4["commitId"],
             deleteFiles=[{"filePath": "missing.txt"}])
expect_error("NoChangeException", cc.create_commit, repositoryName="content", branchName="main", parentCommitId=c4["commitId"],
             putFiles=[{"filePath": "src/lib/util.py", "fileContent": b"X = 1\n"}])
expect_error("DirectoryNameConflictsWithFileNameException", cc.put_file, repositoryName="content", branchName="main",
             filePath="link/inner.txt", fileContent=b"x", parentCommitId=c4["commitId"])
expect_error("FileNameConflictsWithDirectoryNameException", cc.put_file, repositoryName="content", branchName="main",
             filePath="src", fileContent=b"x", parentCommitId=c4["commitId"])
expect_error("FileContentSizeLimitExceededException", cc.put_file, repositoryName="content", branchName="main",
             filePath="huge.bin", fileContent=b"0" * (6 * 1024 * 1024 + 1), parentCommitId=c4["commitId"])
for bad in ["../escape", "a/../../b", "src/.git/config", ".git/hooks/pre-receive", "a//b", "nul\x00byte"]:
    expect_error("InvalidPathException", cc.put_file, repositoryName="content", branchName="main", filePath=bad, fileContent=b"x",
                 parentCommitId=c4["commitId"])
check(tip() == c4["commitId"], "refused writes change nothing")

# --- DeleteFile keeps emptied folders on request --------------------------------------------
d = cc.delete_file(repositoryName="content", branchName="main", filePath="src/lib/util.py", parentCommitId=c4["commitId"], keepEmptyFolders=True)
check(d["filePath"] == "src/lib/util.py" and d["blobId"], "delete_file output")
lib = cc.get_folder(repositoryName="content", folderPath="src/lib")
check([x["relativePath"] for x in lib["files"]] == [".gitkeep"], "keepEmptyFolders writes .gitkeep")
expect_error("FileDoesNotExistException", cc.delete_file, repositoryName="content", branchName="main", filePath="src/lib/util.py", parentCommitId=d["commitId"])

# --- differences -------------------------------------------------------------------------
diff = cc.get_differences(repositoryName="content", beforeCommitSpecifier=c3, afterCommitSpecifier=c4["commitId"])["differences"]
kinds = {(x.get("afterBlob") or x.get("beforeBlob"))["path"]: x["changeType"] for x in diff}
check(kinds == {"README.md": "D", "bin/data.bin": "M", "docs/README.md": "A", "link": "A", "src/lib/util.py": "A", "src/run.sh": "A"}, f"differences {kinds}")
mode_change = next(x for x in diff if x["changeType"] == "M")
check(mode_change["beforeBlob"]["mode"] == "100644" and mode_change["afterBlob"]["mode"] == "100755", "modes as git octal")
pages = list(cc.get_paginator("get_differences").paginate(repositoryName="content", beforeCommitSpecifier=c3,
                                                         afterCommitSpecifier=c4["commitId"], PaginationConfig={"PageSize": 2}))
check(len(pages) == 3 and sum(len(p["differences"]) for p in pages) == 6, "GetDifferences paginates with MaxResults/NextToken")
only_src = cc.get_differences(repositoryName="content", beforeCommitSpecifier=c3, afterCommitSpecifier=c4["commitId"], afterPath="src")["differences"]
check(sorted(x["afterBlob"]["path"] for x in only_src) == ["src/lib/util.py", "src/run.sh"], "afterPath limits the differences")
everything = cc.get_differences(repositoryName="content", afterCommitSpecifier=c1["commitId"])["differences"]
check([(x["changeType"], x["afterBlob"]["path"]) for x in everything] == [("A", "README.md")], "without a before commit, all is added")
expect_error("PathDoesNotExistException", cc.get_differences, repositoryName="content", afterCommitSpecifier=c1["commitId"], afterPath="nope")

batch = cc.batch_get_commits(repositoryName="content", commitIds=[c1["commitId"], c4["commitId"], "3" * 40])
check([c["commitId"] for c in batch["commits"]] == [c1["commitId"], c4["commitId"]], "batch_get_commits found")
check(batch["errors"][0]["commitId"] == "3" * 40, "batch_get_commits errors")

# --- git sees exactly what the API reports ------------------------------------------------
work = tempfile.mkdtemp()
git("clone", "-q", f"{URL}/v1/repos/content", "c", cwd=work)
clone = os.path.join(work, "c")
log = git("log", "--format=%H", cwd=clone).split()
chain, cur = [], d["commitId"]
while cur:
    chain.append(cur)
    parents = cc.get_commit(repositoryName="content", commitId=cur)["commit"]["parents"]
    cur = parents[0] if parents else None
check(log == chain, f"git log {log} == API chain {chain}")
with open(os.path.join(clone, "bin/data.bin"), "rb") as fh:
    check(fh.read() == binary, "cloned binary is byte-exact")
check(os.access(os.path.join(clone, "src/run.sh"), os.X_OK) and os.path.islink(os.path.join(clone, "link")), "modes in the clone")
# and what git pushes, the API reads
with open(os.path.join(clone, "pushed.txt"), "w") as fh:
    fh.write("from git\n")
git("add", ".", cwd=clone)
git("-c", "user.name=G", "-c", "user.email=g@example.com", "commit", "-q", "-m", "from git", cwd=clone)
git("push", "-q", "origin", "main", cwd=clone)
check(cc.get_file(repositoryName="content", filePath="pushed.txt")["fileContent"] == b"from git\n", "API reads what git pushed")

# --- merges ------------------------------------------------------------------------------
def put(branch, path, content, msg="change"):
    return cc.put_file(repositoryName="content", branchName=branch, filePath=path, fileContent=content,
                       parentCommitId=tip(branch), commitMessage=msg)["commitId"]

base = tip()
cc.create_branch(repositoryName="content", branchName="ff", commitId=base)
ff_tip = put("ff", "ff.txt", b"fast\n")
opts = cc.get_merge_options(repositoryName="content", sourceCommitSpecifier="ff", destinationCommitSpecifier="main")
check(opts["mergeOptions"] == ["FAST_FORWARD_MERGE", "SQUASH_MERGE", "THREE_WAY_MERGE"] and opts["baseCommitId"] == base, f"merge options {opts}")
ffm = cc.merge_branches_by_fast_forward(repositoryName="content", sourceCommitSpecifier="ff", destinationCommitSpecifier="main")
check(ffm["commitId"] == ff_tip and tip() == ff_tip, "fast-forward moves main")

lines = b"".join(f"line {n}\n".encode() for n in range(10))
put("main", "shared.txt", lines)
cc.create_branch(repositoryName="content", branchName="topic", commitId=tip())
put("topic", "shared.txt", lines.replace(b"line 1\n", b"line one\n"))
put("main", "shared.txt", lines.replace(b"line 8\n", b"line eight\n"))
expect_error("ManualMergeRequiredException", cc.merge_branches_by_fast_forward, repositoryName="content", sourceCommitSpecifier="topic", destinationCommitSpecifier="main")
file_level = cc.get_merge_conflicts(repositoryName="content", sourceCommitSpecifier="topic", destinationCommitSpecifier="main", mergeOption="THREE_WAY_MERGE")
check(not file_level["mergeable"] and [c["filePath"] for c in file_level["conflictMetadataList"]] == ["shared.txt"], f"file level {file_level}")
line_level = cc.get_merge_conflicts(repositoryName="content", sourceCommitSpecifier="topic", destinationCommitSpecifier="main",
                                    mergeOption="THREE_WAY_MERGE", conflictDetailLevel="LINE_LEVEL")
check(line_level["mergeable"] and line_level["conflictMetadataList"] == [], "line level: different lines merge")
expect_error("ManualMergeRequiredException", cc.merge_branches_by_three_way, repositoryName="content", sourceCommitSpecifier="topic", destinationCommitSpecifier="main")
before_merge = tip()
m3 = cc.merge_branches_by_three_way(repositoryName="content", sourceCommitSpecifier="topic", destinationCommitSpecifier="main",
                                    conflictResolutionStrategy="AUTOMERGE", commitMessage="merge topic")
merged = cc.get_commit(repositoryName="content", commitId=m3["commitId"])["commit"]
m3_source = tip("topic")
check(merged["parents"] == [before_merge, m3_source] and tip() == m3["commitId"], "three-way merge commit has both parents")
content = cc.get_file(repositoryName="content", filePath="shared.txt")["fileContent"]
check(b"line one\n" in content and b"line eight\n" in content, "automerge keeps both sides' lines")

cc.create_branch(repositoryName="content", branchName="clash", commitId=tip())
put("clash", "shared.txt", content.replace(b"line 5\n", b"line five (clash)\n"))
put("main", "shared.txt", content.replace(b"line 5\n", b"line five (main)\n"))
hard = cc.get_merge_conflicts(repositoryName="content", sourceCommitSpecifier="clash", destinationCommitSpecifier="main",
                              mergeOption="SQUASH_MERGE", conflictDetailLevel="LINE_LEVEL")
check(not hard["mergeable"], "same line changed on both sides conflicts at line level")
expect_error("ManualMergeRequiredException", cc.merge_branches_by_squash, repositoryName="content", sourceCommitSpecifier="clash",
             destinationCommitSpecifier="main", conflictDetailLevel="LINE_LEVEL", conflictResolutionStrategy="AUTOMERGE")
before_squash = tip()
sq = cc.merge_branches_by_squash(repositoryName="content", sourceCommitSpecifier="clash", destinationCommitSpecifier="main",
                                 conflictResolutionStrategy="ACCEPT_SOURCE")
check(cc.get_commit(repositoryName="content", commitId=sq["commitId"])["commit"]["parents"] == [before_squash], "squash has one parent")
check(b"line five (clash)\n" in cc.get_file(repositoryName="content", filePath="shared.txt")["fileContent"], "ACCEPT_SOURCE takes the source side")

cc.create_repository(repositoryName="other")
cc.put_file(repositoryName="other", branchName="main", filePath="a", fileContent=b"a")
cc.create_branch(repositoryName="content", branchName="orphan", commitId=tip())
orphan = cc.create_commit(repositoryName="content", branchName="orphan", parentCommitId=tip("orphan"),
                          deleteFiles=[{"filePath": "shared.txt"}])["commitId"]
check(orphan, "branch with a deletion")
expect_error("CommitDoesNotExistException", cc.get_merge_options, repositoryName="content", sourceCommitSpecifier="gone", destinationCommitSpecifier="main")

# --- history, merge commits, unreferenced merges, encryption key -----------------------------
hist = cc.list_file_commit_history(repositoryName="content", filePath="shared.txt", commitSpecifier=before_squash)["revisionDag"]
ids = [v["commit"]["commitId"] for v in hist]
check(ids[0] == before_squash and m3["commitId"] in ids and len(ids) >= 4, f"file history {ids}")
check(hist[0]["revisionChildren"] == [] and hist[1]["revisionChildren"] == [ids[0]], "revision children")
check(all(v["path"] == "shared.txt" and v["blobId"] for v in hist), "history entries")
paged, token = [], None
while True:
    kw = {"nextToken": token} if token else {}
    page = cc.list_file_commit_history(repositoryName="content", filePath="shared.txt", commitSpecifier=before_squash, maxResults=1, **kw)
    paged += [v["commit"]["commitId"] for v in page["revisionDag"]]
    token = page.get("nextToken")
    if not token:
        break
check(paged == ids, "history pages with nextToken")
mc = cc.get_merge_commit(repositoryName="content", sourceCommitSpecifier=m3_source, destinationCommitSpecifier="main")
check(mc["mergedCommitId"] == m3["commitId"] and mc["sourceCommitId"] == m3_source, f"get_merge_commit {mc}")
cc.create_branch(repositoryName="content", branchName="side", commitId=tip())
put("side", "side.txt", b"side\n")
put("main", "main2.txt", b"main\n")
before_unref = tip()
un = cc.create_unreferenced_merge_commit(repositoryName="content", sourceCommitSpecifier="side", destinationCommitSpecifier="main",
                                         mergeOption="THREE_WAY_MERGE", commitMessage="unreferenced")
uc = cc.get_commit(repositoryName="content", commitId=un["commitId"])["commit"]
check(uc["parents"] == [before_unref, tip("side")] and tip() == before_unref, "unreferenced merge commit moves no branch")
check(cc.get_file(repositoryName="content", filePath="side.txt", commitSpecifier=un["commitId"])["fileContent"] == b"side\n", "its tree has both sides")
enc = cc.update_repository_encryption_key(repositoryName="content", kmsKeyId="alias/ferry-test")
check(enc["kmsKeyId"] == "alias/ferry-test" and "originalKmsKeyId" not in enc, f"encryption key {enc}")
check(cc.get_repository(repositoryName="content")["repositoryMetadata"]["kmsKeyId"] == "alias/ferry-test", "key recorded")

git("fetch", "-q", "origin", cwd=clone)
graph = git("log", "--format=%H %P", "origin/main", cwd=clone).splitlines()
check(any(line.split()[0] == m3["commitId"] and len(line.split()) == 3 for line in graph), "git sees the three-way merge commit")

done()
