//! Multipart uploads: CreateMultipartUpload, UploadPart, CompleteMultipartUpload (parts in
//! ascending order, ETags matching, every part but the last at least 5 MiB), Abort, ListParts,
//! ListMultipartUploads. The parts are assembled into one blob on completion.

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

pub async fn create(s3: &S3, req: &Req) -> Result<Response, S3Error> {
    s3.bucket(req.bucket_name()).await?;
    let upload = Upload {
        upload_id: ferry_types::ids::random_alnum(48),
        bucket: req.bucket_name().to_owned(),
        key: req.key_name().to_owned(),
        headers: stored_headers(&req.headers, &[]),
        initiator_arn: req.caller.principal_arn.clone(),
        initiated_ms: time::now_ms(),
    };
    s3.store.create_upload(&upload).await?;
    let mut x = XmlOut::new("InitiateMultipartUploadResult");
    x.leaf("Bucket", &upload.bucket)
        .leaf("Key", &upload.key)
        .leaf("UploadId", &upload.upload_id);
    Ok(xml(x.finish("InitiateMultipartUploadResult")))
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
    let got = body::ingest(&s3.blobs, &req.headers, body, &req.payload, MAX_PUT_SIZE).await?;
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
    let raw = body::small(&req.headers, body, &req.payload).await?;
    let doc = crate::xml::parse(&raw)?;
    if doc.name != "CompleteMultipartUpload" {
        return Err(S3Error::malformed_xml());
    }
    let mut wanted: Vec<(i64, String)> = Vec::new();
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
    let got = body::assemble(&s3.blobs, readers).await?;
    let etag = format!("{}-{}", hex::encode(md5s.finalize()), chosen.len());
    let object = NewObject {
        bucket: upload.bucket.clone(),
        key: upload.key.clone(),
        blob_key: Some(got.blob_key.clone()),
        size: got.size as i64,
        etag: etag.clone(),
        headers: upload.headers.clone(),
        modified_ms: time::now_ms(),
    };
    let written = match s3.store.complete_upload(&upload.upload_id, &object).await {
        Ok(w) => w,
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
    let mut r = xml(x.finish("CompleteMultipartUploadResult"));
    version_header(&mut r, &bucket.versioning, &written.version_id);
    Ok(r)
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
    let limit: i64 = req
        .q("max-uploads")
        .and_then(|m| m.parse::<i64>().ok())
        .filter(|m| *m >= 0)
        .map_or(1000, |m| m.min(1000));
    let mut uploads = s3
        .store
        .list_uploads(bucket, prefix, key_marker, limit + 1)
        .await?;
    let truncated = uploads.len() as i64 > limit;
    uploads.truncate(limit as usize);
    let mut x = XmlOut::new("ListMultipartUploadsResult");
    x.leaf("Bucket", bucket)
        .leaf("KeyMarker", key_marker)
        .leaf("UploadIdMarker", "")
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
