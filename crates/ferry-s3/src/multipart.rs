//! Multipart uploads: CreateMultipartUpload, UploadPart, CompleteMultipartUpload (parts in
//! ascending order, ETags and any per-part checksums matching, every part but the last at
//! least 5 MiB), Abort, ListParts, ListMultipartUploads (paged by key and upload id
//! markers). The parts are assembled into one blob on completion, if any `If-None-Match: *` /
//! `If-Match` condition holds.
//!
//! An upload started with `x-amz-checksum-algorithm` records that checksum for every part and
//! gives the object a `COMPOSITE` checksum (the checksum of the parts' checksums, `-N`) or,
//! for CRC32 with `x-amz-checksum-type: FULL_OBJECT`, the checksum of the whole object. The
//! upload keeps its algorithm and type among its stored headers under the names of the
//! headers that set them.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::response::Response;
use ferry_store::StoreError;
use ferry_store::s3::{NewObject, Part, Upload};
use md5::{Digest, Md5};

use crate::error::S3Error;
use crate::objects::{stored_headers, version_header};
use crate::reply::{empty, set, xml};
use crate::xml::XmlOut;
use crate::{MAX_PUT_SIZE, Req, S3, body, time};

/// The smallest part S3 accepts except the last.
pub const MIN_PART_SIZE: i64 = 5 * 1024 * 1024;
const MAX_PART_NUMBER: i64 = 10_000;

const ALGORITHM: &str = "x-amz-checksum-algorithm";
const CHECKSUM_TYPE: &str = "x-amz-checksum-type";

/// The checksum algorithm (lower case) and type a CreateMultipartUpload asks for.
fn checksum_request(req: &Req) -> Result<Option<(String, &'static str)>, S3Error> {
    let invalid = |m: String| S3Error::new("InvalidRequest", 400, m);
    let alg = match req.header(ALGORITHM) {
        None => None,
        Some(a) => {
            let a = a.trim().to_ascii_lowercase();
            body::check_algorithm(&a)?;
            Some(a)
        }
    };
    let Some(alg) = alg else {
        return match req.header(CHECKSUM_TYPE) {
            None => Ok(None),
            Some(_) => Err(invalid(
                "The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.".into(),
            )),
        };
    };
    let kind = match req.header(CHECKSUM_TYPE) {
        None | Some("COMPOSITE") => "COMPOSITE",
        Some("FULL_OBJECT") if alg == "crc32" => "FULL_OBJECT",
        Some("FULL_OBJECT") => {
            return Err(invalid(format!(
                "The FULL_OBJECT checksum type cannot be used with the {} checksum algorithm.",
                alg.to_ascii_uppercase()
            )));
        }
        Some(_) => {
            return Err(invalid(
                "Value for x-amz-checksum-type header is invalid.".into(),
            ));
        }
    };
    Ok(Some((alg, kind)))
}

/// The checksum algorithm (lower case) and type an upload was started with.
fn upload_checksum(u: &Upload) -> Option<(String, String)> {
    let map: BTreeMap<String, String> = serde_json::from_str(&u.headers).ok()?;
    let alg = map.get(ALGORITHM)?.to_ascii_lowercase();
    let kind = map
        .get(CHECKSUM_TYPE)
        .cloned()
        .unwrap_or_else(|| "COMPOSITE".into());
    Some((alg, kind))
}

/// A part's recorded checksums: `x-amz-checksum-<alg>` names and base64 values.
fn part_checksums(p: &Part) -> Vec<(String, String)> {
    serde_json::from_str(&p.headers).unwrap_or_default()
}

pub async fn create(s3: &S3, req: &Req) -> Result<Response, S3Error> {
    s3.bucket(req.bucket_name()).await?;
    let checksum = checksum_request(req)?;
    let kept: Vec<(String, String)> = checksum
        .iter()
        .flat_map(|(a, k)| {
            [
                (ALGORITHM.to_owned(), a.to_ascii_uppercase()),
                (CHECKSUM_TYPE.to_owned(), (*k).to_owned()),
            ]
        })
        .collect();
    let upload = Upload {
        upload_id: ferry_types::ids::random_alnum(48),
        bucket: req.bucket_name().to_owned(),
        key: req.key_name().to_owned(),
        headers: stored_headers(&req.headers, &kept),
        initiator_arn: req.caller.principal_arn.clone(),
        initiated_ms: time::now_ms(),
    };
    s3.store.create_upload(&upload).await?;
    let mut x = XmlOut::new("InitiateMultipartUploadResult");
    x.leaf("Bucket", &upload.bucket)
        .leaf("Key", &upload.key)
        .leaf("UploadId", &upload.upload_id);
    let mut r = xml(x.finish("InitiateMultipartUploadResult"));
    for (k, v) in &kept {
        set(&mut r, k, v);
    }
    Ok(r)
}

async fn find_upload(s3: &S3, req: &Req) -> Result<Upload, S3Error> {
    s3.bucket(req.bucket_name()).await?;
    let id = req.q("uploadId").unwrap_or("");
    s3.store
        .upload(req.bucket_name(), req.key_name(), id)
        .await?
        .ok_or_else(|| S3Error::no_such_upload(id))
}

pub async fn upload_part(s3: &S3, req: &Req, body: &mut Body) -> Result<Response, S3Error> {
    if req.header("x-amz-copy-source").is_some() {
        return Err(S3Error::not_implemented("UploadPartCopy"));
    }
    let number: i64 = req
        .q("partNumber")
        .and_then(|n| n.parse().ok())
        .filter(|n| (1..=MAX_PART_NUMBER).contains(n))
        .ok_or_else(|| {
            S3Error::invalid_argument(
                "Part number must be an integer between 1 and 10000, inclusive",
            )
        })?;
    let upload = find_upload(s3, req).await?;
    let wanted = upload_checksum(&upload);
    let got = body::ingest(
        &s3.blobs,
        &req.headers,
        body,
        &req.payload,
        MAX_PUT_SIZE,
        wanted.as_ref().map(|(a, _)| a.as_str()),
    )
    .await?;
    if let Some((alg, _)) = &wanted
        && let Some((other, _)) = got
            .checksums
            .iter()
            .find(|(n, _)| n.strip_prefix("x-amz-checksum-") != Some(alg.as_str()))
    {
        s3.drop_blobs(std::slice::from_ref(&got.blob_key)).await;
        return Err(S3Error::new(
            "InvalidRequest",
            400,
            format!(
                "Checksum Type mismatch occurred, expected checksum Type: {alg}, actual checksum Type: {}",
                other.trim_start_matches("x-amz-checksum-")
            ),
        ));
    }
    let part = Part {
        part_number: number,
        blob_key: got.blob_key.clone(),
        size: got.size as i64,
        etag: got.etag(),
        headers: serde_json::to_string(&got.checksums).unwrap_or_else(|_| "[]".into()),
        modified_ms: time::now_ms(),
    };
    match s3.store.put_part(&upload.upload_id, &part).await {
        Ok(old) => s3.drop_blobs(&old.into_iter().collect::<Vec<_>>()).await,
        Err(e) => {
            s3.drop_blobs(std::slice::from_ref(&got.blob_key)).await;
            return Err(match e {
                StoreError::NotFound => S3Error::no_such_upload(&upload.upload_id),
                e => e.into(),
            });
        }
    }
    let mut r = empty(200);
    set(&mut r, "etag", &format!("\"{}\"", part.etag));
    for (k, v) in &got.checksums {
        set(&mut r, k, v);
    }
    Ok(r)
}

async fn all_parts(s3: &S3, upload_id: &str) -> Result<Vec<Part>, S3Error> {
    let mut parts = Vec::new();
    loop {
        let after = parts.last().map_or(0, |p: &Part| p.part_number);
        let page = s3.store.parts(upload_id, after, 1000).await?;
        let done = page.len() < 1000;
        parts.extend(page);
        if done {
            return Ok(parts);
        }
    }
}

pub async fn complete(s3: &S3, req: &Req, body: &mut Body) -> Result<Response, S3Error> {
    let upload = find_upload(s3, req).await?;
    let cond = crate::objects::write_condition(req)?;
    let raw = body::small_with(&req.headers, body, &req.payload, false).await?;
    let doc = crate::xml::parse(&raw)?;
    if doc.name != "CompleteMultipartUpload" {
        return Err(S3Error::malformed_xml());
    }
    let checksum = upload_checksum(&upload);
    let mut wanted: Vec<(i64, String)> = Vec::new();
    // Per-part checksums the client lists: (part number, header name, value).
    let mut listed: Vec<(i64, String, String)> = Vec::new();
    for p in doc.all("Part") {
        let n: i64 = p
            .text_of("PartNumber")
            .and_then(|n| n.trim().parse().ok())
            .ok_or_else(S3Error::malformed_xml)?;
        let etag = p
            .text_of("ETag")
            .unwrap_or("")
            .trim()
            .trim_matches('"')
            .to_owned();
        for c in &p.children {
            if let Some(alg) = c.name.strip_prefix("Checksum") {
                listed.push((
                    n,
                    format!("x-amz-checksum-{}", alg.to_ascii_lowercase()),
                    c.text.trim().to_owned(),
                ));
            }
        }
        wanted.push((n, etag));
    }
    if wanted.is_empty() {
        return Err(S3Error::malformed_xml());
    }
    if wanted.windows(2).any(|w| w[0].0 >= w[1].0) {
        return Err(S3Error::new(
            "InvalidPartOrder",
            400,
            "The list of parts was not in ascending order. Parts must be ordered by part number.",
        ));
    }
    let stored = all_parts(s3, &upload.upload_id).await?;
    let invalid_part = |n: i64| {
        S3Error::new(
            "InvalidPart",
            400,
            "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
        )
        .with("UploadId", upload.upload_id.clone())
        .with("PartNumber", n.to_string())
    };
    let mut chosen = Vec::with_capacity(wanted.len());
    for (n, etag) in &wanted {
        let p = stored
            .iter()
            .find(|p| p.part_number == *n)
            .filter(|p| p.etag == *etag)
            .ok_or_else(|| invalid_part(*n))?;
        let sums = part_checksums(p);
        for (_, name, value) in listed.iter().filter(|(ln, _, _)| ln == n) {
            let stored = sums.iter().find(|(k, _)| k == name).map(|(_, v)| v);
            if stored.is_some_and(|s| s != value) || (stored.is_none() && checksum.is_some()) {
                return Err(invalid_part(*n));
            }
        }
        chosen.push(p);
    }
    if let Some(small) = chosen[..chosen.len() - 1]
        .iter()
        .find(|p| p.size < MIN_PART_SIZE)
    {
        return Err(S3Error::new(
            "EntityTooSmall",
            400,
            "Your proposed upload is smaller than the minimum allowed object size.",
        )
        .with("PartNumber", small.part_number.to_string())
        .with("ProposedSize", small.size.to_string())
        .with("MinSizeAllowed", MIN_PART_SIZE.to_string()));
    }
    let mut readers = Vec::with_capacity(chosen.len());
    let mut md5s = Md5::new();
    for p in &chosen {
        readers.push(s3.blobs.open_range(&p.blob_key, 0, p.size as u64).await?);
        md5s.update(hex::decode(&p.etag).map_err(S3Error::internal)?);
    }
    let full_object = checksum
        .as_ref()
        .filter(|(_, kind)| kind == "FULL_OBJECT")
        .map(|(alg, _)| alg.as_str());
    let got = body::assemble(&s3.blobs, readers, full_object).await?;
    let etag = format!("{}-{}", hex::encode(md5s.finalize()), chosen.len());
    let final_checksum = match &checksum {
        None => None,
        Some((alg, kind)) => match object_checksum(alg, kind, &chosen, &got) {
            Some(v) => Some((alg.clone(), kind.clone(), v)),
            None => {
                s3.drop_blobs(std::slice::from_ref(&got.blob_key)).await;
                return Err(S3Error::internal(
                    "a part of a checksummed upload has no checksum",
                ));
            }
        },
    };
    // A whole-object checksum the client sends must match the one computed.
    if let Some((alg, _, v)) = &final_checksum
        && let Some(given) = req.header(&format!("x-amz-checksum-{alg}"))
        && given.trim() != v
    {
        s3.drop_blobs(std::slice::from_ref(&got.blob_key)).await;
        return Err(S3Error::new(
            "BadDigest",
            400,
            format!(
                "The {} you specified did not match the calculated checksum.",
                alg.to_ascii_uppercase()
            ),
        ));
    }
    let mut headers: BTreeMap<String, String> =
        serde_json::from_str(&upload.headers).unwrap_or_default();
    headers.remove(ALGORITHM);
    headers.remove(CHECKSUM_TYPE);
    if let Some((alg, kind, v)) = &final_checksum {
        headers.insert(format!("x-amz-checksum-{alg}"), v.clone());
        headers.insert(CHECKSUM_TYPE.to_owned(), kind.clone());
    }
    let object = NewObject {
        bucket: upload.bucket.clone(),
        key: upload.key.clone(),
        blob_key: Some(got.blob_key.clone()),
        size: got.size as i64,
        etag: etag.clone(),
        headers: serde_json::to_string(&headers).map_err(S3Error::internal)?,
        modified_ms: time::now_ms(),
    };
    let written = match s3
        .store
        .complete_upload_if(&upload.upload_id, &object, &cond)
        .await
    {
        Ok(Ok(w)) => w,
        Ok(Err(r)) => {
            s3.drop_blobs(std::slice::from_ref(&got.blob_key)).await;
            return Err(crate::objects::refused(r, &upload.key));
        }
        Err(e) => {
            s3.drop_blobs(std::slice::from_ref(&got.blob_key)).await;
            return Err(match e {
                StoreError::NotFound => S3Error::no_such_upload(&upload.upload_id),
                e => e.into(),
            });
        }
    };
    s3.drop_blobs(&written.orphaned).await;
    let bucket = s3.bucket(&upload.bucket).await?;
    let mut x = XmlOut::new("CompleteMultipartUploadResult");
    x.leaf("Location", &format!("/{}/{}", upload.bucket, upload.key))
        .leaf("Bucket", &upload.bucket)
        .leaf("Key", &upload.key)
        .leaf("ETag", &format!("\"{etag}\""));
    if let Some((alg, kind, v)) = &final_checksum {
        x.leaf(&format!("Checksum{}", alg.to_ascii_uppercase()), v)
            .leaf("ChecksumType", kind);
    }
    let mut r = xml(x.finish("CompleteMultipartUploadResult"));
    version_header(&mut r, &bucket.versioning, &written.version_id);
    Ok(r)
}

/// The object checksum of a completed upload: for `COMPOSITE`, the checksum of the parts'
/// binary checksums with `-<parts>`; for `FULL_OBJECT`, the one computed over the bytes.
fn object_checksum(
    alg: &str,
    kind: &str,
    parts: &[&Part],
    assembled: &body::Ingested,
) -> Option<String> {
    use base64::Engine;
    let name = format!("x-amz-checksum-{alg}");
    if kind == "FULL_OBJECT" {
        return assembled
            .checksums
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone());
    }
    let mut joined = Vec::new();
    for p in parts {
        let sums = part_checksums(p);
        let (_, v) = sums.iter().find(|(n, _)| *n == name)?;
        joined.extend(base64::engine::general_purpose::STANDARD.decode(v).ok()?);
    }
    Some(format!(
        "{}-{}",
        body::checksum_of(alg, &joined)?,
        parts.len()
    ))
}

pub async fn abort(s3: &S3, req: &Req) -> Result<Response, S3Error> {
    let upload = find_upload(s3, req).await?;
    match s3.store.abort_upload(&upload.upload_id).await {
        Ok(blobs) => {
            s3.drop_blobs(&blobs).await;
            Ok(empty(204))
        }
        Err(StoreError::NotFound) => Err(S3Error::no_such_upload(&upload.upload_id)),
        Err(e) => Err(e.into()),
    }
}

pub async fn list_parts(s3: &S3, req: &Req) -> Result<Response, S3Error> {
    let upload = find_upload(s3, req).await?;
    let marker: i64 = match req.q("part-number-marker") {
        None | Some("") => 0,
        Some(m) => m
            .parse()
            .map_err(|_| S3Error::invalid_argument("Part number marker must be an integer"))?,
    };
    let limit: i64 = match req.q("max-parts") {
        None => 1000,
        Some(m) => m
            .parse::<i64>()
            .ok()
            .filter(|m| *m >= 0)
            .map(|m| m.min(1000))
            .ok_or_else(|| S3Error::invalid_argument("max-parts must be an integer"))?,
    };
    let mut parts = s3.store.parts(&upload.upload_id, marker, limit + 1).await?;
    let truncated = parts.len() as i64 > limit;
    parts.truncate(limit as usize);
    let mut x = XmlOut::new("ListPartsResult");
    x.leaf("Bucket", &upload.bucket)
        .leaf("Key", &upload.key)
        .leaf("UploadId", &upload.upload_id)
        .leaf("PartNumberMarker", &marker.to_string());
    if let Some(last) = parts.last() {
        x.leaf("NextPartNumberMarker", &last.part_number.to_string());
    }
    x.leaf("MaxParts", &limit.to_string())
        .leaf("IsTruncated", if truncated { "true" } else { "false" });
    x.open("Initiator")
        .leaf("ID", &upload.initiator_arn)
        .leaf("DisplayName", &upload.initiator_arn)
        .close("Initiator");
    req.owner_xml(&mut x, "Owner");
    x.leaf("StorageClass", "STANDARD");
    if let Some((alg, kind)) = upload_checksum(&upload) {
        x.leaf("ChecksumAlgorithm", &alg.to_ascii_uppercase())
            .leaf("ChecksumType", &kind);
    }
    for p in &parts {
        x.open("Part")
            .leaf("PartNumber", &p.part_number.to_string())
            .leaf("LastModified", &time::iso(p.modified_ms))
            .leaf("ETag", &format!("\"{}\"", p.etag))
            .leaf("Size", &p.size.to_string());
        let sums: Vec<(String, String)> = serde_json::from_str(&p.headers).unwrap_or_default();
        for (k, v) in sums {
            if let Some(alg) = k.strip_prefix("x-amz-checksum-") {
                x.leaf(&format!("Checksum{}", alg.to_ascii_uppercase()), &v);
            }
        }
        x.close("Part");
    }
    Ok(xml(x.finish("ListPartsResult")))
}

pub async fn list_uploads(s3: &S3, req: &Req) -> Result<Response, S3Error> {
    let bucket = req.bucket_name();
    s3.bucket(bucket).await?;
    let prefix = req.q("prefix").unwrap_or("");
    let key_marker = req.q("key-marker").unwrap_or("");
    let upload_id_marker = req
        .q("upload-id-marker")
        .filter(|m| !m.is_empty() && !key_marker.is_empty());
    let limit: i64 = req
        .q("max-uploads")
        .and_then(|m| m.parse::<i64>().ok())
        .filter(|m| *m >= 0)
        .map_or(1000, |m| m.min(1000));
    let mut uploads = s3
        .store
        .list_uploads(bucket, prefix, key_marker, upload_id_marker, limit + 1)
        .await?;
    let truncated = uploads.len() as i64 > limit;
    uploads.truncate(limit as usize);
    let mut x = XmlOut::new("ListMultipartUploadsResult");
    x.leaf("Bucket", bucket)
        .leaf("KeyMarker", key_marker)
        .leaf("UploadIdMarker", upload_id_marker.unwrap_or(""))
        .leaf("Prefix", prefix)
        .leaf("MaxUploads", &limit.to_string())
        .leaf("IsTruncated", if truncated { "true" } else { "false" });
    if truncated && let Some(last) = uploads.last() {
        x.leaf("NextKeyMarker", &last.key)
            .leaf("NextUploadIdMarker", &last.upload_id);
    }
    for u in &uploads {
        x.open("Upload")
            .leaf("Key", &u.key)
            .leaf("UploadId", &u.upload_id);
        x.open("Initiator")
            .leaf("ID", &u.initiator_arn)
            .leaf("DisplayName", &u.initiator_arn)
            .close("Initiator");
        req.owner_xml(&mut x, "Owner");
        x.leaf("StorageClass", "STANDARD")
            .leaf("Initiated", &time::iso(u.initiated_ms))
            .close("Upload");
    }
    Ok(xml(x.finish("ListMultipartUploadsResult")))
}
