//! Listings: ListObjectsV2, ListObjects (v1) and ListObjectVersions, with prefix, delimiter
//! (common prefixes are skipped over in one step each), page size, markers and continuation
//! tokens, and `encoding-type=url`. `max-keys=0` answers an empty page that is not truncated.

use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ferry_store::s3::{After, ObjectVersion, VersionsAfter};

use crate::error::S3Error;
use crate::reply::xml;
use crate::xml::XmlOut;
use crate::{Req, S3, time};

const MAX_KEYS: usize = 1000;

/// One entry of a listing page.
enum Entry {
    Object(ObjectVersion),
    Prefix(String),
}

/// The smallest string greater than every string that starts with `prefix`.
fn after_prefix(prefix: &str) -> String {
    format!("{prefix}\u{10FFFF}")
}

fn max_keys(req: &Req) -> Result<usize, S3Error> {
    match req
        .q("max-keys")
        .or(req.q("max-uploads"))
        .or(req.q("max-parts"))
    {
        None => Ok(MAX_KEYS),
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .map(|n| (n as usize).min(MAX_KEYS))
            .ok_or_else(|| {
                S3Error::invalid_argument(
                    "Provided max-keys not an integer or within integer range",
                )
            }),
    }
}

fn encoder(req: &Req) -> Result<impl Fn(&str) -> String, S3Error> {
    let url = match req.q("encoding-type") {
        None => false,
        Some("url") => true,
        Some(_) => {
            return Err(S3Error::invalid_argument(
                "Invalid Encoding Method specified in Request",
            ));
        }
    };
    Ok(move |s: &str| {
        if url {
            ferry_wire::sigv4::uri_encode(s, false)
        } else {
            s.to_owned()
        }
    })
}

/// Collects up to `limit` entries of latest objects after `after`; returns them and whether
/// more follow.
async fn collect_latest(
    s3: &S3,
    bucket: &str,
    prefix: &str,
    delimiter: &str,
    mut after: After,
    limit: usize,
) -> Result<(Vec<Entry>, bool), S3Error> {
    let mut out: Vec<Entry> = Vec::new();
    // `max-keys=0` is an empty page that is not truncated, as on S3.
    if limit == 0 {
        return Ok((out, false));
    }
    loop {
        let want = (limit - out.len()) as i64 + 1;
        let rows = s3.store.list_objects(bucket, prefix, &after, want).await?;
        let exhausted = (rows.len() as i64) < want;
        let mut rolled = None;
        for row in rows {
            if out.len() == limit {
                return Ok((out, true));
            }
            let common = (!delimiter.is_empty())
                .then(|| row.key[prefix.len()..].find(delimiter))
                .flatten()
                .map(|i| row.key[..prefix.len() + i + delimiter.len()].to_owned());
            match common {
                Some(p) => {
                    out.push(Entry::Prefix(p.clone()));
                    rolled = Some(p);
                    break;
                }
                None => {
                    after = After::Key(row.key.clone());
                    out.push(Entry::Object(row));
                }
            }
        }
        match rolled {
            Some(p) => after = After::From(after_prefix(&p)),
            None if exhausted => return Ok((out, false)),
            None => {}
        }
        if out.len() == limit {
            let more = !s3
                .store
                .list_objects(bucket, prefix, &after, 1)
                .await?
                .is_empty();
            return Ok((out, more));
        }
    }
}

fn entry_key(e: &Entry) -> &str {
    match e {
        Entry::Object(o) => &o.key,
        Entry::Prefix(p) => p,
    }
}

fn object_xml(
    x: &mut XmlOut,
    o: &ObjectVersion,
    enc: &impl Fn(&str) -> String,
    owner: Option<&Req>,
) {
    x.open("Contents")
        .leaf("Key", &enc(&o.key))
        .leaf("LastModified", &time::iso(o.modified_ms))
        .leaf("ETag", &format!("\"{}\"", o.etag))
        .leaf("Size", &o.size.to_string());
    if let Some(req) = owner {
        req.owner_xml(x, "Owner");
    }
    x.leaf("StorageClass", "STANDARD").close("Contents");
}

pub async fn objects_v2(s3: &S3, req: &Req) -> Result<Response, S3Error> {
    let bucket = req.bucket_name();
    s3.bucket(bucket).await?;
    let enc = encoder(req)?;
    let prefix = req.q("prefix").unwrap_or("");
    let delimiter = req.q("delimiter").unwrap_or("");
    let limit = max_keys(req)?;
    let token = req.q("continuation-token");
    let start_after = req.q("start-after").unwrap_or("");
    let after = match token {
        Some(t) => decode_token(t)?,
        None if !start_after.is_empty() => After::Key(start_after.to_owned()),
        None => After::Start,
    };
    let (entries, truncated) = collect_latest(s3, bucket, prefix, delimiter, after, limit).await?;
    let fetch_owner = req.q("fetch-owner") == Some("true");
    let mut x = XmlOut::new("ListBucketResult");
    x.leaf("Name", bucket)
        .leaf("Prefix", &enc(prefix))
        .leaf("KeyCount", &entries.len().to_string())
        .leaf("MaxKeys", &limit.to_string());
    if !delimiter.is_empty() {
        x.leaf("Delimiter", &enc(delimiter));
    }
    x.leaf("IsTruncated", if truncated { "true" } else { "false" });
    if let Some(t) = token {
        x.leaf("ContinuationToken", t);
    }
    if truncated && let Some(last) = entries.last() {
        x.leaf("NextContinuationToken", &encode_token(last));
    }
    if !start_after.is_empty() {
        x.leaf("StartAfter", &enc(start_after));
    }
    if req.q("encoding-type").is_some() {
        x.leaf("EncodingType", "url");
    }
    write_entries(&mut x, &entries, &enc, fetch_owner.then_some(req));
    Ok(xml(x.finish("ListBucketResult")))
}

pub async fn objects_v1(s3: &S3, req: &Req) -> Result<Response, S3Error> {
    let bucket = req.bucket_name();
    s3.bucket(bucket).await?;
    let enc = encoder(req)?;
    let prefix = req.q("prefix").unwrap_or("");
    let delimiter = req.q("delimiter").unwrap_or("");
    let marker = req.q("marker").unwrap_or("");
    let limit = max_keys(req)?;
    let after = if marker.is_empty() {
        After::Start
    } else {
        After::Key(marker.to_owned())
    };
    let (entries, truncated) = collect_latest(s3, bucket, prefix, delimiter, after, limit).await?;
    let mut x = XmlOut::new("ListBucketResult");
    x.leaf("Name", bucket)
        .leaf("Prefix", &enc(prefix))
        .leaf("Marker", &enc(marker))
        .leaf("MaxKeys", &limit.to_string());
    if !delimiter.is_empty() {
        x.leaf("Delimiter", &enc(delimiter));
    }
    x.leaf("IsTruncated", if truncated { "true" } else { "false" });
    if truncated
        && !delimiter.is_empty()
        && let Some(last) = entries.last()
    {
        x.leaf("NextMarker", &enc(entry_key(last)));
    }
    if req.q("encoding-type").is_some() {
        x.leaf("EncodingType", "url");
    }
    write_entries(&mut x, &entries, &enc, Some(req));
    Ok(xml(x.finish("ListBucketResult")))
}

fn write_entries(
    x: &mut XmlOut,
    entries: &[Entry],
    enc: &impl Fn(&str) -> String,
    owner: Option<&Req>,
) {
    for e in entries {
        if let Entry::Object(o) = e {
            object_xml(x, o, enc, owner);
        }
    }
    for e in entries {
        if let Entry::Prefix(p) = e {
            x.open("CommonPrefixes")
                .leaf("Prefix", &enc(p))
                .close("CommonPrefixes");
        }
    }
}

/// Continuation tokens name where the next page starts: after a key, or past a prefix.
fn encode_token(last: &Entry) -> String {
    match last {
        Entry::Object(o) => B64.encode(format!("k{}", o.key)),
        Entry::Prefix(p) => B64.encode(format!("p{p}")),
    }
}

fn decode_token(t: &str) -> Result<After, S3Error> {
    let invalid = || S3Error::invalid_argument("The continuation token provided is incorrect");
    let raw = B64.decode(t).map_err(|_| invalid())?;
    let text = String::from_utf8(raw).map_err(|_| invalid())?;
    match text.split_at_checked(1) {
        Some(("k", k)) => Ok(After::Key(k.to_owned())),
        Some(("p", p)) => Ok(After::From(after_prefix(p))),
        _ => Err(invalid()),
    }
}

pub async fn versions(s3: &S3, req: &Req) -> Result<Response, S3Error> {
    let bucket = req.bucket_name();
    s3.bucket(bucket).await?;
    let enc = encoder(req)?;
    let prefix = req.q("prefix").unwrap_or("");
    let delimiter = req.q("delimiter").unwrap_or("");
    let key_marker = req.q("key-marker").unwrap_or("");
    let version_marker = req.q("version-id-marker").unwrap_or("");
    let limit = max_keys(req)?;
    let mut after = match (key_marker.is_empty(), version_marker.is_empty()) {
        (true, _) => VersionsAfter::Start,
        (false, true) => VersionsAfter::Key(key_marker.to_owned()),
        (false, false) => {
            let v = s3
                .store
                .object_version(bucket, key_marker, Some(version_marker))
                .await?
                .ok_or_else(|| S3Error::invalid_argument("Invalid version id specified"))?;
            VersionsAfter::Version(v.key, v.seq)
        }
    };
    let mut out: Vec<Entry> = Vec::new();
    let mut truncated = false;
    'pages: loop {
        if limit == 0 {
            break;
        }
        let want = (limit - out.len()) as i64 + 1;
        let rows = s3
            .store
            .list_object_versions(bucket, prefix, &after, want)
            .await?;
        let exhausted = (rows.len() as i64) < want;
        let mut rolled = None;
        for row in rows {
            if out.len() == limit {
                truncated = true;
                break 'pages;
            }
            let common = (!delimiter.is_empty())
                .then(|| row.key[prefix.len()..].find(delimiter))
                .flatten()
                .map(|i| row.key[..prefix.len() + i + delimiter.len()].to_owned());
            match common {
                Some(p) => {
                    out.push(Entry::Prefix(p.clone()));
                    rolled = Some(p);
                    break;
                }
                None => {
                    after = VersionsAfter::Version(row.key.clone(), row.seq);
                    out.push(Entry::Object(row));
                }
            }
        }
        match rolled {
            Some(p) => after = VersionsAfter::From(after_prefix(&p)),
            None if exhausted => break,
            None => {}
        }
        if out.len() == limit {
            truncated = !s3
                .store
                .list_object_versions(bucket, prefix, &after, 1)
                .await?
                .is_empty();
            break;
        }
    }
    let mut x = XmlOut::new("ListVersionsResult");
    x.leaf("Name", bucket)
        .leaf("Prefix", &enc(prefix))
        .leaf("KeyMarker", &enc(key_marker))
        .leaf("VersionIdMarker", version_marker)
        .leaf("MaxKeys", &limit.to_string());
    if !delimiter.is_empty() {
        x.leaf("Delimiter", &enc(delimiter));
    }
    x.leaf("IsTruncated", if truncated { "true" } else { "false" });
    if truncated && let Some(last) = out.last() {
        match last {
            Entry::Object(o) => {
                x.leaf("NextKeyMarker", &enc(&o.key))
                    .leaf("NextVersionIdMarker", &o.version_id);
            }
            Entry::Prefix(p) => {
                x.leaf("NextKeyMarker", &enc(p));
            }
        }
    }
    if req.q("encoding-type").is_some() {
        x.leaf("EncodingType", "url");
    }
    for e in &out {
        let Entry::Object(o) = e else { continue };
        let tag = if o.is_delete_marker {
            "DeleteMarker"
        } else {
            "Version"
        };
        x.open(tag)
            .leaf("Key", &enc(&o.key))
            .leaf("VersionId", &o.version_id)
            .leaf("IsLatest", if o.is_latest { "true" } else { "false" })
            .leaf("LastModified", &time::iso(o.modified_ms));
        if !o.is_delete_marker {
            x.leaf("ETag", &format!("\"{}\"", o.etag))
                .leaf("Size", &o.size.to_string())
                .leaf("StorageClass", "STANDARD");
        }
        req.owner_xml(&mut x, "Owner");
        x.close(tag);
    }
    for e in &out {
        if let Entry::Prefix(p) = e {
            x.open("CommonPrefixes")
                .leaf("Prefix", &enc(p))
                .close("CommonPrefixes");
        }
    }
    Ok(xml(x.finish("ListVersionsResult")))
}
