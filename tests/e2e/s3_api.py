"""boto3 against a running Ferry: S3 buckets, objects, ranges, conditions, metadata, checksums,
listings with delimiters and pagination, versioning, multipart uploads, copies, batch deletes,
presigned URLs, virtual-hosted addressing, hand-built aws-chunked uploads (signed chunks and
trailers), and bad input that must get S3's errors and store nothing.

Run by crates/ferry/tests/e2e_s3.rs with FERRY_URL, FERRY_DATA_DIR and AWS credentials in the
environment. Exits non-zero on the first failed check."""

import base64
import datetime
import glob
import hashlib
import hmac
import os
import socket
import urllib.error
import urllib.parse
import urllib.request
import zlib

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from helpers import check, done, expect_error

URL = os.environ["FERRY_URL"]
DATA = os.environ["FERRY_DATA_DIR"]
AKID = os.environ["AWS_ACCESS_KEY_ID"]
SECRET = os.environ["AWS_SECRET_ACCESS_KEY"]
REGION = "us-east-1"
s3 = boto3.client("s3", endpoint_url=URL, region_name=REGION)


def blob_count():
    return len([p for p in glob.glob(os.path.join(DATA, "blobs", "s3", "**", "*"), recursive=True) if os.path.isfile(p)])


def tmp_count():
    return len(os.listdir(os.path.join(DATA, "blobs", ".tmp")))


def http(method, url, data=None, headers=None):
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)


def crc_b64(data):
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


# --- buckets --------------------------------------------------------------------------------
s3.create_bucket(Bucket="alpha")
s3.create_bucket(Bucket="beta.v2", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
check(names == ["alpha", "beta.v2"], f"list_buckets {names}")
check(s3.get_bucket_location(Bucket="alpha")["LocationConstraint"] is None, "us-east-1 location is empty")
check(s3.get_bucket_location(Bucket="beta.v2")["LocationConstraint"] == "eu-west-1", "location constraint")
s3.head_bucket(Bucket="alpha")
s3.create_bucket(Bucket="alpha")  # us-east-1 answers success to the owner, as S3 does
for bad in ["ab", "UPPER", "-dash", "a..b", "192.168.0.1", "under_score", "x" * 64]:
    expect_error("InvalidBucketName", s3.create_bucket, Bucket=bad)
expect_error("InvalidLocationConstraint", s3.create_bucket, Bucket="gamma",
             CreateBucketConfiguration={"LocationConstraint": "us-east-1"})
page1 = s3.list_buckets(MaxBuckets=1)
check([b["Name"] for b in page1["Buckets"]] == ["alpha"] and page1.get("ContinuationToken"), f"max-buckets {page1}")
page2 = s3.list_buckets(MaxBuckets=1, ContinuationToken=page1["ContinuationToken"])
check([b["Name"] for b in page2["Buckets"]] == ["beta.v2"] and "ContinuationToken" not in page2, "second bucket page")
check([b["Name"] for b in s3.list_buckets(BucketRegion="eu-west-1")["Buckets"]] == ["beta.v2"], "bucket-region filter")
expect_error("404", s3.head_bucket, Bucket="missing-bucket")
expect_error("NoSuchBucket", s3.list_objects_v2, Bucket="missing-bucket")
expect_error("NoSuchBucket", s3.put_object, Bucket="missing-bucket", Key="k", Body=b"x")

# --- objects: put/get/head, metadata, ranges, conditions, checksums ----------------------------
body = b"hello ferry\n" * 1000
put = s3.put_object(Bucket="alpha", Key="docs/readme.txt", Body=body, ContentType="text/plain",
                    Metadata={"owner": "team-a"}, CacheControl="max-age=60")
md5 = hashlib.md5(body).hexdigest()
check(put["ETag"] == f'"{md5}"', "ETag is the MD5")
check("VersionId" not in put, "no version id before versioning")
got = s3.get_object(Bucket="alpha", Key="docs/readme.txt")
check(got["Body"].read() == body, "get returns the bytes")
check(got["ContentType"] == "text/plain" and got["Metadata"] == {"owner": "team-a"}, "metadata kept")
check(got["CacheControl"] == "max-age=60" and got["ContentLength"] == len(body), "headers kept")
head = s3.head_object(Bucket="alpha", Key="docs/readme.txt")
check(head["ETag"] == f'"{md5}"' and head["ContentLength"] == len(body), "head")
r = s3.get_object(Bucket="alpha", Key="docs/readme.txt", Range="bytes=6-10")
check(r["Body"].read() == b"ferry" and r["ContentRange"] == f"bytes 6-10/{len(body)}", "range")
check(s3.get_object(Bucket="alpha", Key="docs/readme.txt", Range="bytes=-3")["Body"].read() == b"ry\n", "suffix range")
expect_error("InvalidRange", s3.get_object, Bucket="alpha", Key="docs/readme.txt", Range=f"bytes={len(body)}-")
expect_error("PreconditionFailed", s3.get_object, Bucket="alpha", Key="docs/readme.txt", IfMatch='"nope"')
expect_error("304", s3.get_object, Bucket="alpha", Key="docs/readme.txt", IfNoneMatch=f'"{md5}"')
check(s3.get_object(Bucket="alpha", Key="docs/readme.txt", IfMatch=f'"{md5}"')["ContentLength"] == len(body), "if-match ok")
future = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
expect_error("304", s3.get_object, Bucket="alpha", Key="docs/readme.txt", IfModifiedSince=future)
# 304 carries the validators and no body; 412 names the condition that failed.
nm = expect_error("304", s3.head_object, Bucket="alpha", Key="docs/readme.txt", IfNoneMatch=f'"{md5}"')
nm_headers = nm.response["ResponseMetadata"]["HTTPHeaders"]
check(nm_headers.get("etag") == f'"{md5}"' and "last-modified" in nm_headers, f"304 validators {nm_headers}")
past = datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc)
pf = expect_error("PreconditionFailed", s3.get_object, Bucket="alpha", Key="docs/readme.txt", IfUnmodifiedSince=past)
check(pf.response["Error"].get("Condition") == "If-Unmodified-Since", f"412 condition {pf.response['Error']}")
# RFC 7232: a matching If-Match overrides a failing If-Unmodified-Since; a failing
# If-None-Match wins over If-Modified-Since.
ok = s3.get_object(Bucket="alpha", Key="docs/readme.txt", IfMatch=f'"{md5}"', IfUnmodifiedSince=past)
check(ok["ResponseMetadata"]["HTTPStatusCode"] == 200, "If-Match overrides If-Unmodified-Since")
expect_error("304", s3.get_object, Bucket="alpha", Key="docs/readme.txt", IfNoneMatch=f'"{md5}"', IfModifiedSince=past)
status, data, hdrs = http("GET", s3.generate_presigned_url("get_object", Params={"Bucket": "alpha", "Key": "docs/readme.txt"}),
                          headers={"If-None-Match": f'"{md5}"'})
hdrs = {k.lower(): v for k, v in hdrs.items()}
check(status == 304 and data == b"" and hdrs.get("etag") == f'"{md5}"' and "content-type" not in hdrs, f"raw 304 {status} {data[:80]} {hdrs}")
# Conditional writes.
expect_error("PreconditionFailed", s3.put_object, Bucket="alpha", Key="docs/readme.txt", Body=b"clobber", IfNoneMatch="*")
s3.put_object(Bucket="alpha", Key="cond/new", Body=b"first", IfNoneMatch="*")
cur = s3.head_object(Bucket="alpha", Key="cond/new")["ETag"]
expect_error("PreconditionFailed", s3.put_object, Bucket="alpha", Key="cond/new", Body=b"x", IfMatch='"00000000000000000000000000000000"')
s3.put_object(Bucket="alpha", Key="cond/new", Body=b"second", IfMatch=cur)
check(s3.get_object(Bucket="alpha", Key="cond/new")["Body"].read() == b"second", "If-Match write")
expect_error("NoSuchKey", s3.put_object, Bucket="alpha", Key="cond/absent", Body=b"x", IfMatch=cur)
over = s3.get_object(Bucket="alpha", Key="docs/readme.txt", ResponseContentType="application/x-test",
                     ResponseContentDisposition="attachment")
check(over["ContentType"] == "application/x-test" and over["ContentDisposition"] == "attachment", "response overrides")
expect_error("NoSuchKey", s3.get_object, Bucket="alpha", Key="docs/missing")
expect_error("404", s3.head_object, Bucket="alpha", Key="docs/missing")
# Checksums: the client's CRC32 (botocore's default) and SHA256 are verified and returned.
crc = s3.put_object(Bucket="alpha", Key="sum/crc", Body=b"abc", ChecksumAlgorithm="CRC32")
check(crc.get("ChecksumCRC32") == base64.b64encode(zlib.crc32(b"abc").to_bytes(4, "big")).decode(), f"crc32 {crc}")
sha = s3.put_object(Bucket="alpha", Key="sum/sha", Body=b"abc", ChecksumAlgorithm="SHA256")
check(sha.get("ChecksumSHA256") == base64.b64encode(hashlib.sha256(b"abc").digest()).decode(), "sha256 checksum")
g = s3.get_object(Bucket="alpha", Key="sum/sha", ChecksumMode="ENABLED")
check(g["Body"].read() == b"abc" and g.get("ChecksumSHA256"), "checksum returned and validated by botocore")
expect_error("BadDigest", s3.put_object, Bucket="alpha", Key="sum/bad", Body=b"abc", ChecksumCRC32="AAAAAA==")
expect_error("BadDigest", s3.put_object, Bucket="alpha", Key="sum/bad", Body=b"abc",
             ContentMD5=base64.b64encode(hashlib.md5(b"xyz").digest()).decode())
expect_error("InvalidDigest", s3.put_object, Bucket="alpha", Key="sum/bad", Body=b"abc", ContentMD5="not-md5")
expect_error("404", s3.head_object, Bucket="alpha", Key="sum/bad")
# Keys that look like paths are names, never paths on disk.
for k in ["../../../etc/passwd", "a/../../b", "/leading", "sp ace+plus%25", "ünï/çødé", "x" * 1024]:
    s3.put_object(Bucket="alpha", Key=f"odd/{k}"[:1024], Body=k.encode())
    check(s3.get_object(Bucket="alpha", Key=f"odd/{k}"[:1024])["Body"].read() == k.encode(), f"odd key {k[:20]}")
expect_error("KeyTooLongError", s3.put_object, Bucket="alpha", Key="k" * 1025, Body=b"x")
check(not os.path.exists(os.path.join(DATA, "etc")), "no file escaped the blob store")
s3.put_object(Bucket="alpha", Key="empty", Body=b"")
check(s3.get_object(Bucket="alpha", Key="empty")["Body"].read() == b"", "empty object")

# --- listings ---------------------------------------------------------------------------------
for i in range(25):
    s3.put_object(Bucket="beta.v2", Key=f"logs/2026/{i:02d}.log", Body=b"l")
for d in ["a", "b", "c"]:
    s3.put_object(Bucket="beta.v2", Key=f"tree/{d}/file", Body=b"t")
s3.put_object(Bucket="beta.v2", Key="tree/top", Body=b"t")
page = s3.list_objects_v2(Bucket="beta.v2", Prefix="tree/", Delimiter="/")
check([p["Prefix"] for p in page["CommonPrefixes"]] == ["tree/a/", "tree/b/", "tree/c/"], "common prefixes")
check([o["Key"] for o in page["Contents"]] == ["tree/top"], "contents beside prefixes")
check(page["KeyCount"] == 4, "key count counts prefixes")
keys = []
for p in s3.get_paginator("list_objects_v2").paginate(Bucket="beta.v2", Prefix="logs/", PaginationConfig={"PageSize": 7}):
    check(p["KeyCount"] <= 7, "page size honoured")
    keys += [o["Key"] for o in p.get("Contents", [])]
check(keys == [f"logs/2026/{i:02d}.log" for i in range(25)], "paginated listing in order, complete")
pref = []
for p in s3.get_paginator("list_objects_v2").paginate(Bucket="beta.v2", Delimiter="/", PaginationConfig={"PageSize": 1}):
    pref += [c["Prefix"] for c in p.get("CommonPrefixes", [])]
check(pref == ["logs/", "tree/"], f"prefix pages {pref}")
sa = s3.list_objects_v2(Bucket="beta.v2", StartAfter="logs/2026/22.log", Prefix="logs/")
check([o["Key"] for o in sa["Contents"]] == ["logs/2026/23.log", "logs/2026/24.log"], "start-after")
v1 = s3.list_objects(Bucket="beta.v2", Prefix="tree/", Delimiter="/", MaxKeys=2)
check(v1["IsTruncated"] and v1["NextMarker"] == "tree/b/", f"v1 listing {v1.get('NextMarker')}")
enc = s3.list_objects_v2(Bucket="alpha", Prefix="odd/sp")
check(enc["Contents"][0]["Key"] == "odd/sp ace+plus%25", "url-encoded listing decoded by botocore")
expect_error("InvalidArgument", s3.list_objects_v2, Bucket="beta.v2", ContinuationToken="!!!")
zero = s3.list_objects_v2(Bucket="beta.v2", MaxKeys=0)
check(zero["KeyCount"] == 0 and not zero["IsTruncated"] and "NextContinuationToken" not in zero, f"max-keys=0 {zero}")
check(not s3.list_objects(Bucket="beta.v2", MaxKeys=0)["IsTruncated"], "v1 max-keys=0")
# Delimiters other than "/", and a prefix that contains the delimiter.
dash = s3.list_objects_v2(Bucket="beta.v2", Prefix="logs/2026/0", Delimiter="0")
check([c["Prefix"] for c in dash.get("CommonPrefixes", [])] == ["logs/2026/00"], f"delimiter 0 {dash.get('CommonPrefixes')}")
check([o["Key"] for o in dash.get("Contents", [])][:1] == ["logs/2026/01.log"], "keys beside the delimiter")
# A control character is a legal key byte: url-encoded for boto3, a character reference otherwise.
s3.put_object(Bucket="alpha", Key="ctl/a\x01b", Body=b"c")
check([o["Key"] for o in s3.list_objects_v2(Bucket="alpha", Prefix="ctl/")["Contents"]] == ["ctl/a\x01b"], "control char key listed")

# --- versioning -------------------------------------------------------------------------------
check("Status" not in s3.get_bucket_versioning(Bucket="alpha"), "versioning off")
s3.put_bucket_versioning(Bucket="alpha", VersioningConfiguration={"Status": "Enabled"})
check(s3.get_bucket_versioning(Bucket="alpha")["Status"] == "Enabled", "versioning on")
v_a = s3.put_object(Bucket="alpha", Key="ver/k", Body=b"one")["VersionId"]
v_b = s3.put_object(Bucket="alpha", Key="ver/k", Body=b"two")["VersionId"]
check(v_a != v_b and len(v_a) == 32, "new version ids")
check(s3.get_object(Bucket="alpha", Key="ver/k")["Body"].read() == b"two", "latest wins")
check(s3.get_object(Bucket="alpha", Key="ver/k", VersionId=v_a)["Body"].read() == b"one", "old version readable")
d = s3.delete_object(Bucket="alpha", Key="ver/k")
check(d["DeleteMarker"] and d["VersionId"], "delete marker")
expect_error("NoSuchKey", s3.get_object, Bucket="alpha", Key="ver/k")
expect_error("MethodNotAllowed", s3.get_object, Bucket="alpha", Key="ver/k", VersionId=d["VersionId"])
hm = expect_error("404", s3.head_object, Bucket="alpha", Key="ver/k")
hm_headers = hm.response["ResponseMetadata"]["HTTPHeaders"]
check(hm_headers.get("x-amz-delete-marker") == "true" and hm_headers.get("x-amz-version-id") == d["VersionId"], f"HEAD on a delete marker {hm_headers}")
hv = expect_error("405", s3.head_object, Bucket="alpha", Key="ver/k", VersionId=d["VersionId"])
hv_headers = hv.response["ResponseMetadata"]["HTTPHeaders"]
check(hv_headers.get("x-amz-delete-marker") == "true" and "last-modified" in hv_headers, f"HEAD of a marker version {hv_headers}")
expect_error("InvalidRequest", s3.copy_object, Bucket="alpha", Key="x", CopySource={"Bucket": "alpha", "Key": "ver/k", "VersionId": d["VersionId"]})
vs = s3.list_object_versions(Bucket="alpha", Prefix="ver/")
check([v["VersionId"] for v in vs["Versions"]] == [v_b, v_a], "versions newest first")
check(vs["DeleteMarkers"][0]["IsLatest"] and not vs["Versions"][0]["IsLatest"], "marker is latest")
s3.delete_object(Bucket="alpha", Key="ver/k", VersionId=d["VersionId"])
check(s3.get_object(Bucket="alpha", Key="ver/k")["Body"].read() == b"two", "removing the marker restores")
s3.delete_object(Bucket="alpha", Key="ver/k", VersionId=v_b)
check(s3.get_object(Bucket="alpha", Key="ver/k")["Body"].read() == b"one", "removing latest promotes the previous")
expect_error("NoSuchVersion", s3.get_object, Bucket="alpha", Key="ver/k", VersionId="A" * 32)
expect_error("InvalidArgument", s3.get_object, Bucket="alpha", Key="ver/k", VersionId="bad/version")
paged = []
for p in s3.get_paginator("list_object_versions").paginate(Bucket="alpha", PaginationConfig={"PageSize": 2}):
    paged += [(v["Key"], v["VersionId"]) for v in p.get("Versions", []) + p.get("DeleteMarkers", [])]
check(len(paged) == len(set(paged)) and ("ver/k", v_a) in paged, "version pages complete without repeats")
s3.put_bucket_versioning(Bucket="alpha", VersioningConfiguration={"Status": "Suspended"})
n1 = s3.put_object(Bucket="alpha", Key="ver/k", Body=b"null-1")
check(n1.get("VersionId") == "null", "suspended writes the null version")
s3.put_object(Bucket="alpha", Key="ver/k", Body=b"null-2")
vs = s3.list_object_versions(Bucket="alpha", Prefix="ver/k")["Versions"]
check([v["VersionId"] for v in vs] == ["null", v_a], "null version replaced in place")
expect_error("MalformedXML", s3.put_bucket_versioning, Bucket="alpha", VersioningConfiguration={"Status": "Sometimes"})

# --- copies -------------------------------------------------------------------------------------
c = s3.copy_object(Bucket="beta.v2", Key="copied.txt", CopySource={"Bucket": "alpha", "Key": "docs/readme.txt"})
check(c["CopyObjectResult"]["ETag"] == f'"{md5}"', "copy keeps the bytes")
check(s3.head_object(Bucket="beta.v2", Key="copied.txt")["Metadata"] == {"owner": "team-a"}, "copy keeps metadata")
s3.copy_object(Bucket="beta.v2", Key="copied.txt", CopySource={"Bucket": "beta.v2", "Key": "copied.txt"},
               MetadataDirective="REPLACE", Metadata={"owner": "team-b"}, ContentType="text/markdown")
h = s3.head_object(Bucket="beta.v2", Key="copied.txt")
check(h["Metadata"] == {"owner": "team-b"} and h["ContentType"] == "text/markdown", "replace metadata")
expect_error("InvalidRequest", s3.copy_object, Bucket="beta.v2", Key="copied.txt", CopySource={"Bucket": "beta.v2", "Key": "copied.txt"})
expect_error("NoSuchKey", s3.copy_object, Bucket="beta.v2", Key="x", CopySource={"Bucket": "alpha", "Key": "nope"})
expect_error("PreconditionFailed", s3.copy_object, Bucket="beta.v2", Key="x", CopySource={"Bucket": "alpha", "Key": "docs/readme.txt"},
             CopySourceIfMatch='"nope"')
expect_error("PreconditionFailed", s3.copy_object, Bucket="beta.v2", Key="x", CopySource={"Bucket": "alpha", "Key": "docs/readme.txt"},
             CopySourceIfNoneMatch=f'"{md5}"')
s3.copy_object(Bucket="beta.v2", Key="x", CopySource={"Bucket": "alpha", "Key": "docs/readme.txt"}, CopySourceIfMatch=f'"{md5}"')
s3.delete_object(Bucket="beta.v2", Key="x")
old = s3.copy_object(Bucket="beta.v2", Key="old-one", CopySource={"Bucket": "alpha", "Key": "ver/k", "VersionId": v_a})
check(s3.get_object(Bucket="beta.v2", Key="old-one")["Body"].read() == b"one", "copy of a version")
check(old.get("CopySourceVersionId") == v_a, "copy source version reported")

# --- multipart -----------------------------------------------------------------------------------
MB = 1024 * 1024
parts_data = [os.urandom(5 * MB), os.urandom(5 * MB), os.urandom(123)]
mp = s3.create_multipart_upload(Bucket="beta.v2", Key="big/blob.bin", ContentType="application/x-blob")
uid = mp["UploadId"]
check(s3.list_multipart_uploads(Bucket="beta.v2")["Uploads"][0]["UploadId"] == uid, "upload listed")
etags = []
for i, data in enumerate(parts_data, start=1):
    etags.append(s3.upload_part(Bucket="beta.v2", Key="big/blob.bin", UploadId=uid, PartNumber=i, Body=data)["ETag"])
lp = s3.list_parts(Bucket="beta.v2", Key="big/blob.bin", UploadId=uid, MaxParts=2)
check([p["PartNumber"] for p in lp["Parts"]] == [1, 2] and lp["IsTruncated"], "list parts paginates")
expect_error("InvalidPartOrder", s3.complete_multipart_upload, Bucket="beta.v2", Key="big/blob.bin", UploadId=uid,
             MultipartUpload={"Parts": [{"PartNumber": 2, "ETag": etags[1]}, {"PartNumber": 1, "ETag": etags[0]}]})
expect_error("InvalidPart", s3.complete_multipart_upload, Bucket="beta.v2", Key="big/blob.bin", UploadId=uid,
             MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etags[0]}, {"PartNumber": 4, "ETag": etags[1]}]})
expect_error("InvalidPart", s3.complete_multipart_upload, Bucket="beta.v2", Key="big/blob.bin", UploadId=uid,
             MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": '"0123"'}]})
expect_error("404", s3.head_object, Bucket="beta.v2", Key="big/blob.bin")
expect_error("InvalidArgument", s3.upload_part, Bucket="beta.v2", Key="big/blob.bin", UploadId=uid, PartNumber=10001, Body=b"x")
done_mp = s3.complete_multipart_upload(Bucket="beta.v2", Key="big/blob.bin", UploadId=uid,
                                       MultipartUpload={"Parts": [{"PartNumber": i + 1, "ETag": e} for i, e in enumerate(etags)]})
want = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts_data)).hexdigest() + "-3"
check(done_mp["ETag"] == f'"{want}"', "multipart ETag")
whole = s3.get_object(Bucket="beta.v2", Key="big/blob.bin")
check(whole["Body"].read() == b"".join(parts_data) and whole["ContentType"] == "application/x-blob", "assembled object")
expect_error("NoSuchUpload", s3.list_parts, Bucket="beta.v2", Key="big/blob.bin", UploadId=uid)
small = s3.create_multipart_upload(Bucket="beta.v2", Key="small")["UploadId"]
e1 = s3.upload_part(Bucket="beta.v2", Key="small", UploadId=small, PartNumber=1, Body=b"tiny")["ETag"]
e2 = s3.upload_part(Bucket="beta.v2", Key="small", UploadId=small, PartNumber=2, Body=b"tiny")["ETag"]
expect_error("EntityTooSmall", s3.complete_multipart_upload, Bucket="beta.v2", Key="small", UploadId=small,
             MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
s3.abort_multipart_upload(Bucket="beta.v2", Key="small", UploadId=small)
expect_error("NoSuchUpload", s3.abort_multipart_upload, Bucket="beta.v2", Key="small", UploadId=small)
expect_error("NoSuchUpload", s3.upload_part, Bucket="beta.v2", Key="small", UploadId=small, PartNumber=1, Body=b"x")
check("Uploads" not in s3.list_multipart_uploads(Bucket="beta.v2"), "no uploads left")
# Two uploads of one key page by upload id marker.
u1 = s3.create_multipart_upload(Bucket="beta.v2", Key="same")["UploadId"]
u2 = s3.create_multipart_upload(Bucket="beta.v2", Key="same")["UploadId"]
ids = []
for p in s3.get_paginator("list_multipart_uploads").paginate(Bucket="beta.v2", PaginationConfig={"PageSize": 1}):
    ids += [u["UploadId"] for u in p.get("Uploads", [])]
check(sorted(ids) == sorted([u1, u2]), f"upload pages {ids}")
for u in (u1, u2):
    s3.abort_multipart_upload(Bucket="beta.v2", Key="same", UploadId=u)
# CRC32 multipart uploads as s3transfer sends them: composite checksum of the part checksums.
ck = s3.create_multipart_upload(Bucket="beta.v2", Key="crc/mp", ChecksumAlgorithm="CRC32")
check(ck.get("ChecksumAlgorithm") == "CRC32" and ck.get("ChecksumType") == "COMPOSITE", f"create with checksum {ck}")
cparts = [os.urandom(5 * MB), b"tail"]
done_parts = []
for i, data in enumerate(cparts, start=1):
    up = s3.upload_part(Bucket="beta.v2", Key="crc/mp", UploadId=ck["UploadId"], PartNumber=i, Body=data, ChecksumAlgorithm="CRC32")
    check(up.get("ChecksumCRC32") == crc_b64(data), "part crc32")
    done_parts.append({"PartNumber": i, "ETag": up["ETag"], "ChecksumCRC32": up["ChecksumCRC32"]})
expect_error("InvalidPart", s3.complete_multipart_upload, Bucket="beta.v2", Key="crc/mp", UploadId=ck["UploadId"],
             MultipartUpload={"Parts": [dict(done_parts[0], ChecksumCRC32="AAAAAA=="), done_parts[1]]})
fin = s3.complete_multipart_upload(Bucket="beta.v2", Key="crc/mp", UploadId=ck["UploadId"], MultipartUpload={"Parts": done_parts})
composite = crc_b64(b"".join(base64.b64decode(p["ChecksumCRC32"]) for p in done_parts)) + "-2"
check(fin.get("ChecksumCRC32") == composite and fin.get("ChecksumType") == "COMPOSITE", f"composite checksum {fin}")
got = s3.get_object(Bucket="beta.v2", Key="crc/mp", ChecksumMode="ENABLED")
check(got["Body"].read() == b"".join(cparts) and got.get("ChecksumCRC32") == composite, "composite checksum on GET")
full = s3.create_multipart_upload(Bucket="beta.v2", Key="crc/full", ChecksumAlgorithm="CRC32", ChecksumType="FULL_OBJECT")
fp = s3.upload_part(Bucket="beta.v2", Key="crc/full", UploadId=full["UploadId"], PartNumber=1, Body=b"whole", ChecksumAlgorithm="CRC32")
fin = s3.complete_multipart_upload(Bucket="beta.v2", Key="crc/full", UploadId=full["UploadId"], ChecksumCRC32=crc_b64(b"whole"),
                                   ChecksumType="FULL_OBJECT",
                                   MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": fp["ETag"], "ChecksumCRC32": fp["ChecksumCRC32"]}]})
check(fin.get("ChecksumCRC32") == crc_b64(b"whole") and fin.get("ChecksumType") == "FULL_OBJECT", f"full-object checksum {fin}")
s3.delete_objects(Bucket="beta.v2", Delete={"Objects": [{"Key": "crc/mp"}, {"Key": "crc/full"}]})

# --- batch delete, bucket deletion ------------------------------------------------------------
res = s3.delete_objects(Bucket="beta.v2", Delete={"Objects": [{"Key": f"logs/2026/{i:02d}.log"} for i in range(25)] + [{"Key": "never-existed"}]})
check(len(res["Deleted"]) == 26 and "Errors" not in res, "delete_objects")
check("Contents" not in s3.list_objects_v2(Bucket="beta.v2", Prefix="logs/"), "batch deleted")
q = s3.delete_objects(Bucket="beta.v2", Delete={"Objects": [{"Key": "tree/top"}], "Quiet": True})
check("Deleted" not in q, "quiet delete")
expect_error("BucketNotEmpty", s3.delete_bucket, Bucket="beta.v2")

# --- presigned URLs (SigV4 and the legacy form) ------------------------------------------------
v4 = boto3.client("s3", endpoint_url=URL, region_name=REGION, config=Config(signature_version="s3v4"))
url = v4.generate_presigned_url("get_object", Params={"Bucket": "alpha", "Key": "docs/readme.txt"}, ExpiresIn=60)
status, data, _ = http("GET", url)
check(status == 200 and data == body, "presigned v4 GET")
put_url = v4.generate_presigned_url("put_object", Params={"Bucket": "alpha", "Key": "up/presigned"}, ExpiresIn=60)
status, _, _ = http("PUT", put_url, data=b"via presigned put")
check(status == 200, f"presigned PUT {status}")
check(s3.get_object(Bucket="alpha", Key="up/presigned")["Body"].read() == b"via presigned put", "presigned PUT stored")
status, data, _ = http("GET", url.replace("docs/readme.txt", "docs/other.txt"))
check(status == 403 and b"SignatureDoesNotMatch" in data, "tampered presigned URL refused")
expired = v4.generate_presigned_url("get_object", Params={"Bucket": "alpha", "Key": "docs/readme.txt"}, ExpiresIn=1)
parsed = urllib.parse.urlparse(expired)
qs = urllib.parse.parse_qs(parsed.query)
check(qs["X-Amz-Expires"] == ["1"], "short expiry")
v2 = boto3.client("s3", endpoint_url=URL, region_name=REGION, config=Config(signature_version="s3"))
status, data, _ = http("GET", v2.generate_presigned_url("get_object", Params={"Bucket": "alpha", "Key": "docs/readme.txt"}))
check(status == 200 and data == body, "presigned v2 GET")
status, data, _ = http("GET", f"{URL}/alpha/docs/readme.txt")
check(status != 200, "unsigned requests are not served")

# --- virtual-hosted addressing (bucket.localhost) -----------------------------------------------
real_getaddrinfo = socket.getaddrinfo


def local_getaddrinfo(host, *args, **kwargs):
    if isinstance(host, str) and host.endswith(".localhost"):
        host = "127.0.0.1"
    return real_getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = local_getaddrinfo
port = urllib.parse.urlparse(URL).port
vh = boto3.client("s3", endpoint_url=f"http://localhost:{port}", region_name=REGION,
                  config=Config(s3={"addressing_style": "virtual"}))
vh.put_object(Bucket="alpha", Key="vhost/k", Body=b"virtual")
check(s3.get_object(Bucket="alpha", Key="vhost/k")["Body"].read() == b"virtual", "virtual-hosted PUT")
check([o["Key"] for o in vh.list_objects_v2(Bucket="alpha", Prefix="vhost/")["Contents"]] == ["vhost/k"], "virtual-hosted list")
socket.getaddrinfo = real_getaddrinfo


# --- hand-built aws-chunked uploads (what SDKs other than botocore send) ------------------------
def sign(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def signing_key(date):
    k = sign(("AWS4" + SECRET).encode(), date)
    k = sign(k, REGION)
    k = sign(k, "s3")
    return sign(k, "aws4_request")


def chunked_put(key, chunks, mode, trailer=None, tamper=False, decoded_len=None):
    now = datetime.datetime.now(datetime.timezone.utc)
    amz_date, date = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    host = urllib.parse.urlparse(URL).netloc
    scope = f"{date}/{REGION}/s3/aws4_request"
    total = sum(len(c) for c in chunks)
    headers = {
        "host": host,
        "x-amz-date": amz_date,
        "x-amz-content-sha256": mode,
        "content-encoding": "aws-chunked",
        "x-amz-decoded-content-length": str(decoded_len if decoded_len is not None else total),
    }
    if trailer:
        headers["x-amz-trailer"] = trailer[0]
    signed = sorted(headers)
    path = f"/alpha/{urllib.parse.quote(key)}"
    canonical = "\n".join(["PUT", path, "", *[f"{h}:{headers[h]}" for h in signed], "", ";".join(signed), mode])
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    skey = signing_key(date)
    seed = hmac.new(skey, sts.encode(), hashlib.sha256).hexdigest()
    prev = seed
    out = b""
    signed_chunks = mode.startswith("STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
    for c in list(chunks) + [b""]:
        line = f"{len(c):x}".encode()
        if signed_chunks:
            csts = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, prev, hashlib.sha256(b"").hexdigest(), hashlib.sha256(c).hexdigest()])
            prev = hmac.new(skey, csts.encode(), hashlib.sha256).hexdigest()
            line += f";chunk-signature={prev}".encode()
        out += line + b"\r\n" + (c + b"\r\n" if c else b"")
    if trailer:
        out += f"{trailer[0]}:{trailer[1]}\r\n".encode()
        if signed_chunks:
            tsts = "\n".join(["AWS4-HMAC-SHA256-TRAILER", amz_date, scope, prev, hashlib.sha256(f"{trailer[0]}:{trailer[1]}\n".encode()).hexdigest()])
            out += f"x-amz-trailer-signature:{hmac.new(skey, tsts.encode(), hashlib.sha256).hexdigest()}\r\n".encode()
    out += b"\r\n"
    if tamper:
        out = out.replace(b"chunk-one", b"chunk-ONE")
    auth = f"AWS4-HMAC-SHA256 Credential={AKID}/{scope}, SignedHeaders={';'.join(signed)}, Signature={seed}"
    send = {k: v for k, v in headers.items() if k != "host"}
    send["Authorization"] = auth
    return http("PUT", URL + path, data=out, headers=send)


chunks = [b"chunk-one" * 1000, b"chunk-two" * 10]
whole_c = b"".join(chunks)
status, data, _ = chunked_put("chunked/signed", chunks, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
check(status == 200, f"signed chunked upload {status} {data[:200]}")
check(s3.get_object(Bucket="alpha", Key="chunked/signed")["Body"].read() == whole_c, "signed chunks decoded")
status, _, _ = chunked_put("chunked/unsigned-trailer", chunks, "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
                           trailer=("x-amz-checksum-crc32", crc_b64(whole_c)))
check(status == 200, "unsigned payload with trailer")
check(s3.get_object(Bucket="alpha", Key="chunked/unsigned-trailer")["Body"].read() == whole_c, "trailer upload stored")
status, _, _ = chunked_put("chunked/signed-trailer", chunks, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
                           trailer=("x-amz-checksum-crc32", crc_b64(whole_c)))
check(status == 200, "signed payload with signed trailer")
before_blobs, before_tmp = blob_count(), tmp_count()
status, data, _ = chunked_put("chunked/tampered", chunks, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", tamper=True)
check(status == 403 and b"SignatureDoesNotMatch" in data, f"tampered chunk refused {status}")
status, data, _ = chunked_put("chunked/badcrc", chunks, "STREAMING-UNSIGNED-PAYLOAD-TRAILER", trailer=("x-amz-checksum-crc32", "AAAAAA=="))
check(status == 400 and b"BadDigest" in data, "bad trailer checksum refused")
status, data, _ = chunked_put("chunked/short", chunks, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", decoded_len=99999)
check(status == 400 and b"IncompleteBody" in data, "decoded length mismatch refused")
check(blob_count() == before_blobs and tmp_count() == before_tmp, "refused uploads left no bytes behind")
expect_error("404", s3.head_object, Bucket="alpha", Key="chunked/tampered")

# --- a body that does not match its signed SHA-256 ------------------------------------------------
now = datetime.datetime.now(datetime.timezone.utc)
amz_date, date = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
claimed = hashlib.sha256(b"what was signed").hexdigest()
hdrs = {"host": urllib.parse.urlparse(URL).netloc, "x-amz-content-sha256": claimed, "x-amz-date": amz_date}
signed = sorted(hdrs)
canonical = "\n".join(["PUT", "/alpha/mismatch", "", *[f"{h}:{hdrs[h]}" for h in signed], "", ";".join(signed), claimed])
scope = f"{date}/{REGION}/s3/aws4_request"
sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
sig = hmac.new(signing_key(date), sts.encode(), hashlib.sha256).hexdigest()
status, data, _ = http("PUT", f"{URL}/alpha/mismatch", data=b"what was sent", headers={
    "x-amz-content-sha256": claimed, "x-amz-date": amz_date,
    "Authorization": f"AWS4-HMAC-SHA256 Credential={AKID}/{scope}, SignedHeaders={';'.join(signed)}, Signature={sig}"})
check(status == 400 and b"XAmzContentSHA256Mismatch" in data, f"sha256 mismatch {status} {data[:120]}")
expect_error("404", s3.head_object, Bucket="alpha", Key="mismatch")
check(blob_count() == before_blobs and tmp_count() == before_tmp, "mismatched body stored nothing")

# --- malformed XML, unsupported subresources, bad credentials -------------------------------
status, data, _ = http("POST", f"{URL}/alpha?delete", data=b"<Delete><Object>")
check(status in (403, 404), f"unsigned POST refused before parsing {status}")


def raw_signed(method, path_q, body):
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    req = AWSRequest(method=method, url=URL + path_q, data=body)
    S3SigV4Auth(Credentials(AKID, SECRET), "s3", REGION).add_auth(req)
    p = req.prepare()
    return http(method, p.url, data=body, headers=dict(p.headers))


status, data, _ = raw_signed("POST", "/alpha?delete", b"<Delete><Object><Key>x</Key></Object>")
check(status == 400 and b"MalformedXML" in data, f"malformed delete xml {status}")
status, data, _ = raw_signed("PUT", "/alpha?versioning", b"<VersioningConfiguration><Status>Enabled</Status>")
check(status == 400 and b"MalformedXML" in data, "malformed versioning xml")
status, data, _ = raw_signed("GET", "/alpha?list-type=2&prefix=ctl%2F", b"")
check(status == 200 and b"<Key>ctl/a&#x1;b</Key>" in data, f"control character as a reference {data[:300]}")
status, data, _ = raw_signed("GET", "/alpha?acl", b"")
check(status == 501 and b"NotImplemented" in data, "unsupported subresource is explicit")
bad = boto3.client("s3", endpoint_url=URL, region_name=REGION, aws_access_key_id=AKID, aws_secret_access_key="wrong" * 8)
expect_error("SignatureDoesNotMatch", bad.list_buckets)
nokey = boto3.client("s3", endpoint_url=URL, region_name=REGION, aws_access_key_id="AKIANOTAKEY000000000", aws_secret_access_key="x" * 40)
expect_error("InvalidAccessKeyId", nokey.list_buckets)

# --- emptying and deleting buckets ------------------------------------------------------------------
for page in s3.get_paginator("list_object_versions").paginate(Bucket="beta.v2"):
    objs = [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
    if objs:
        s3.delete_objects(Bucket="beta.v2", Delete={"Objects": objs})
s3.delete_bucket(Bucket="beta.v2")
expect_error("NoSuchBucket", s3.delete_bucket, Bucket="beta.v2")
check([b["Name"] for b in s3.list_buckets()["Buckets"]] == ["alpha"], "bucket gone")
done()
